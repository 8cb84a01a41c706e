"""Exercise checkers: each returns a :class:`Verdict` with friendly feedback.

One module per notebook (``utils.checks.nb00`` ...). A checker never raises on a wrong
answer, so a learner's half-done exercise does not stop the notebook; the verdict shows
what is right, or a hint, and is truthy only when the answer is right (``assert check(...)``).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

__all__ = ["Verdict", "feedback", "error_of", "as_number"]


@dataclass(frozen=True)
class Verdict:
    """The outcome of a check: ``ok`` and the message a notebook shows."""
    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return self.message


def feedback(ok: bool, praise: str, hint: str) -> Verdict:
    """A verdict that shows ``praise`` if ``ok`` else ``hint``."""
    return Verdict(bool(ok), f"✅ Correct. {praise}" if ok else f"❌ Not yet. {hint}")


def error_of(call) -> str | None:
    """Run ``call()``; return ``'ErrorType: message'`` of what it raised, or ``None``.

    The Pitfalls sections use it to show the installed PyTorch's own error messages."""
    try:
        call()
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return None


def as_number(answer: object) -> float | None:
    """A learner's answer as a finite ``float`` (a real number, a NumPy scalar or a
    one-element tensor), or ``None`` for anything else, ``bool`` included."""
    if hasattr(answer, "numel") and hasattr(answer, "item"):
        if answer.numel() != 1:
            return None
        answer = answer.item()
    if isinstance(answer, bool) or not isinstance(answer, numbers.Real):
        return None
    return float(answer) if math.isfinite(answer) else None

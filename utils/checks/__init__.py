"""Exercise checkers: each returns a :class:`Verdict` with friendly feedback.

One module per notebook (``utils.checks.nb00`` ...). A checker never raises on a wrong
answer, so a learner's half-done exercise does not stop the notebook; the verdict shows
what is right, or a hint, and is truthy only when the answer is right (``assert check(...)``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Verdict", "feedback"]


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

"""Exercise checkers: each returns a :class:`Verdict` with friendly feedback.

One module per notebook (``utils.checks.nb00`` ...). A checker never raises on a wrong
answer, so a learner's half-done exercise does not stop the notebook; the verdict shows
what is right, or a hint, and is truthy only when the answer is right (``assert check(...)``).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["Verdict", "feedback", "error_of", "as_number", "as_whole_number", "as_shape"]


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
    """A learner's answer as a finite ``float`` (a Python number, a NumPy scalar, a
    one-element array or tensor of any real dtype), or ``None`` for anything else, ``bool``
    included. Every checker reads a numeric answer through it, so ``48``, ``48.0``,
    ``np.int64(48)`` and ``torch.tensor(48)`` are the same answer."""
    if isinstance(answer, torch.Tensor):
        if answer.numel() != 1:
            return None
        answer = answer.item()
    elif isinstance(answer, (np.ndarray, np.generic)):
        if answer.size != 1:
            return None
        answer = answer.item()
    if isinstance(answer, bool) or not isinstance(answer, numbers.Real):
        return None
    return float(answer) if math.isfinite(answer) else None


def as_whole_number(answer: object) -> int | None:
    """:func:`as_number`, as an ``int`` when its value is a whole number (``48.0`` is 48);
    ``None`` otherwise."""
    value = as_number(answer)
    return int(value) if value is not None and value.is_integer() else None


def as_shape(answer: object) -> tuple[int, ...] | None:
    """A shape given as a ``torch.Size``, a tuple or a list of whole numbers (of any numeric
    type), as a tuple of ``int``; ``None`` otherwise. Checkers that read a pair of whole
    numbers (``(stop_epoch, restored_epoch)``) use it too, so ``[8, 5]`` is ``(8, 5)``."""
    if not isinstance(answer, (tuple, list)):  # torch.Size is a tuple
        return None
    dims = tuple(as_whole_number(d) for d in answer)
    return None if None in dims else dims

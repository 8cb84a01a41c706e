"""Checkers for the exercises of notebook 00."""

from __future__ import annotations

import torch

from . import Verdict, feedback

__all__ = ["check_output_shape", "check_mse_denominator"]


def check_output_shape(answer: object, batch: int = 16, output_size: int = 1) -> Verdict:
    """Exercise 00.1: the shape of the classic model's prediction."""
    expected = (batch, output_size)
    if isinstance(answer, torch.Size):
        answer = tuple(answer)
    if not isinstance(answer, tuple):
        return feedback(False, "", f"give the shape as a tuple such as (2, 3), got {answer!r}.")
    return feedback(answer == expected,
                    f"The head maps the last step's hidden vector of each of the {batch} "
                    f"sequences to {output_size} number(s): {expected}.",
                    f"{answer} is not it. The LSTM's output is (batch, seq, hidden); the head "
                    "sees only the last step, out[:, -1], which is (batch, hidden).")


def check_mse_denominator(answer: object, batch: int = 16, output_size: int = 3) -> Verdict:
    """Exercise 00.2: what MSELoss(reduction='mean') divides by."""
    expected = batch * output_size
    if isinstance(answer, bool) or not isinstance(answer, int):
        return feedback(False, "", f"give a whole number, got {answer!r}.")
    return feedback(answer == expected,
                    f"'mean' averages over all {batch} x {output_size} = {expected} elements.",
                    f"{answer} is not it. Count elements, not samples: batch x output_size.")

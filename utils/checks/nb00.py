"""Checkers for the exercises of notebook 00."""

from __future__ import annotations

from . import Verdict, as_shape, as_whole_number, feedback

__all__ = ["check_output_shape", "check_mse_denominator"]


def check_output_shape(answer: object, batch: int = 16, output_size: int = 1) -> Verdict:
    """Exercise 00.1: the shape of the classic model's prediction."""
    expected = (batch, output_size)
    shape = as_shape(answer)
    if shape is None:
        return feedback(False, "", f"give the shape as a tuple of whole numbers such as "
                                   f"(2, 3), got {answer!r}.")
    return feedback(shape == expected,
                    f"The head maps the last step's hidden vector of each of the {batch} "
                    f"sequences to {output_size} number(s): {expected}.",
                    f"{shape} is not it. The LSTM's output is (batch, seq, hidden); the head "
                    "sees only the last step, out[:, -1], which is (batch, hidden).")


def check_mse_denominator(answer: object, batch: int = 16, output_size: int = 3) -> Verdict:
    """Exercise 00.2: what MSELoss(reduction='mean') divides by."""
    expected = batch * output_size
    count = as_whole_number(answer)
    if count is None:
        return feedback(False, "", f"give a whole number, got {answer!r}.")
    return feedback(count == expected,
                    f"'mean' averages over all {batch} x {output_size} = {expected} elements.",
                    f"{count} is not it. Count elements, not samples: batch x output_size.")

"""Checkers for the exercises of notebook 14 (speed)."""

from __future__ import annotations

import math

from . import Verdict, as_number, as_shape, feedback

__all__ = ["check_projection_counts", "check_forget_preactivation_grad", "check_time_at"]


def check_projection_counts(answer: object, steps: int = 100) -> Verdict:
    """Exercise 14.1: how many ``x @ W_ih^T`` matmuls a loop over ``nn.LSTMCell`` and the
    hoisted loop run for ``steps`` steps, as a pair: ``(steps, 1)``."""
    pair = as_shape(answer)
    if pair is None or len(pair) != 2:
        return feedback(False, "", f"give a pair of whole numbers (cell loop, hoisted loop), "
                        f"got {answer!r}.")
    return feedback(pair == (steps, 1),
                    f"A cell projects one step's input per call, {steps} times; hoisting stacks "
                    f"all {steps} steps as rows of one (T*B, I) matrix: one larger matmul.",
                    f"{pair} is not it. nn.LSTMCell computes x_t @ W_ih^T inside every call; "
                    "the hoisted loop does it once, before the loop, for all steps.")


def check_forget_preactivation_grad(answer: object, dc: float = 0.5, c_prev: float = 2.0,
                                    f: float = 0.8) -> Verdict:
    """Exercise 14.2: ∂loss/∂(forget pre-activation) = dc * c_prev * f * (1 - f)."""
    expected = dc * c_prev * f * (1 - f)
    value = as_number(answer)
    if value is None:
        return feedback(False, "", f"give a number, got {answer!r}.")
    return feedback(math.isclose(value, expected, rel_tol=1e-3, abs_tol=1e-9),
                    f"c_t = f * c_(t-1) + i * g gives ∂c_t/∂f = c_(t-1) = {c_prev:g}, and "
                    f"sigmoid' = f (1 - f) = {f * (1 - f):.3g}: {dc:g} * {c_prev:g} * "
                    f"{f * (1 - f):.3g} = {expected:.3g}.",
                    f"{value:.4g} is not it. Chain two factors onto dc: ∂c_t/∂f (what multiplies "
                    "f in the cell update) and the sigmoid's slope f (1 - f).")


def check_time_at(answer: object, slope: float, intercept: float, steps: int = 400) -> Verdict:
    """Exercise 14.3: the fitted line's time at ``steps`` steps, ``slope * steps + intercept``
    (within 1 %)."""
    expected = slope * steps + intercept
    value = as_number(answer)
    if value is None:
        return feedback(False, "", f"give a number of milliseconds, got {answer!r}.")
    return feedback(math.isclose(value, expected, rel_tol=0.01),
                    f"{slope:.3g} ms per step * {steps} + {intercept:.3g} ms = {expected:.1f} ms: "
                    "a sequence's steps run one after another, so time grows linearly with T.",
                    f"{value:.4g} ms is not it. Evaluate the fitted line: slope * {steps} + "
                    "intercept (both printed above, in ms).")

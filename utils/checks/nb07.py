"""Checkers for the exercises of notebook 07. Each computes its expected value with torch."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from . import Verdict, as_number, feedback

__all__ = ["check_accumulated_grad", "check_first_adam_step", "check_adamw_shrink",
           "check_clipped_gradients"]


def check_accumulated_grad(answer: object, grad_a: float = 0.5, grad_b: float = -0.2) -> Verdict:
    """Exercise 07.1: ``p.grad`` after backward on two losses without zero_grad in between."""
    p = torch.zeros((), dtype=torch.float64, requires_grad=True)
    (grad_a * p).backward()   # d(grad_a * p)/dp = grad_a
    (grad_b * p).backward()
    expected = p.grad.item()
    value = as_number(answer)
    if value is None:
        return feedback(False, "", f"give a number, got {answer!r}.")
    return feedback(math.isclose(value, expected, rel_tol=1e-6, abs_tol=1e-9),
                    f"backward adds into .grad: {grad_a} + ({grad_b}) = {expected:g}.",
                    f"{value:g} is not it. backward does not replace .grad, it adds to it.")


def check_first_adam_step(answer: object, grad: float = 123.4, lr: float = 0.01) -> Verdict:
    """Exercise 07.2: the size of a fresh Adam's first step on a weight with gradient ``grad``."""
    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    p.grad = torch.full_like(p, grad)
    torch.optim.Adam([p], lr=lr).step()
    expected = abs(p.item())
    value = as_number(answer)
    if value is None:
        return feedback(False, "", f"give a number, got {answer!r}.")
    return feedback(math.isclose(value, expected, rel_tol=1e-6),
                    f"At t = 1, m_hat = g and sqrt(v_hat) = |g|, so the step is "
                    f"lr * g / (|g| + eps) = {expected:.6g}: the learning rate, whatever g is.",
                    f"{value:g} is not it. Compute m_1 and v_1 from zero, apply the bias "
                    f"correction with t = 1, then the update lr * m_hat / (sqrt(v_hat) + eps).")


def check_adamw_shrink(answer: object, lr: float = 0.1, weight_decay: float = 0.1,
                       steps: int = 100) -> Verdict:
    """Exercise 07.3: the factor AdamW multiplies a weight by in ``steps`` zero-gradient steps.

    The expected value is ``(1 - lr * weight_decay) ** steps``, measured on torch's AdamW; three
    significant digits pass (relative tolerance 1e-3). With the defaults it is 0.99 ** 100 =
    0.3660, while the continuous decay exp(-lr * weight_decay * steps) = exp(-1) = 0.3679 lies
    0.5 % away, five times the tolerance: the checker tells the two formulas apart."""
    p = torch.ones(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.AdamW([p], lr=lr, weight_decay=weight_decay)
    for _ in range(steps):
        p.grad = torch.zeros_like(p)
        opt.step()
    expected = p.item()
    value = as_number(answer)
    if value is None:
        return feedback(False, "", f"give a number, got {answer!r}.")
    factor = 1 - lr * weight_decay

    def close(x: float) -> bool:
        return math.isclose(value, x, rel_tol=1e-3, abs_tol=1e-9)
    if close(expected):
        return feedback(True, f"Each step multiplies the weight by 1 - lr * weight_decay = "
                        f"{factor:g}; the Adam part adds nothing while m = 0: "
                        f"{factor:g} ** {steps} = {expected:.4f}.", "")
    continuous = math.exp(-lr * weight_decay * steps)
    if close(continuous):
        hint = (f"that is exp(-lr * weight_decay * steps) = {continuous:.4f}, the decay of "
                f"continuous time. AdamW shrinks in {steps} discrete steps, by the same factor "
                "each time.")
    elif close(1 - lr * weight_decay * steps):
        hint = "the shrinking compounds: each step multiplies what the last one left."
    else:
        hint = (f"{value:g} is not it. AdamW first does p -= lr * weight_decay * p; with a "
                "zero gradient, m and v stay 0 and the Adam step is 0.")
    return feedback(False, "", hint)


def check_clipped_gradients(answer: object, grads: tuple[float, float] = (3.0, 4.0),
                            max_norm: float = 1.0) -> Verdict:
    """Exercise 07.4: the gradients after ``clip_grad_norm_(params, max_norm)``."""
    params = [nn.Parameter(torch.zeros((), dtype=torch.float64)) for _ in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = torch.tensor(g, dtype=torch.float64)
    total = nn.utils.clip_grad_norm_(params, max_norm).item()
    expected = [p.grad.item() for p in params]
    if isinstance(answer, (torch.Tensor, np.ndarray)):
        answer = answer.tolist()
    if not isinstance(answer, (tuple, list)) or len(answer) != len(grads) \
            or any(as_number(a) is None for a in answer):
        return feedback(False, "", f"give a pair of numbers such as (0.1, 0.2), got {answer!r}.")
    values = [as_number(a) for a in answer]
    ok = all(math.isclose(v, e, rel_tol=1e-5) for v, e in zip(values, expected, strict=True))
    return feedback(ok,
                    f"The total norm is {total:g}; every gradient is multiplied by "
                    f"max_norm / (norm + 1e-6), so the direction stays: "
                    f"({expected[0]:.6g}, {expected[1]:.6g}).",
                    f"{tuple(values)} is not it. Take the norm of all gradients together, "
                    f"sqrt(3**2 + 4**2), and scale every gradient so that it becomes {max_norm:g}.")

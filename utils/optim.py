"""Adam and AdamW written out, one readable update each.

Adam (Kingma & Ba, 2015) keeps two running averages per parameter: ``m`` of the gradient
and ``v`` of its square. It corrects both for starting at zero, then moves each number by
``lr * m_hat / (sqrt(v_hat) + eps)``: a step of about ``lr`` whatever the gradient's scale.
``weight_decay`` in :class:`Adam` is *coupled* L2 (``wd * p`` joins the gradient, so the
moments rescale it); :class:`AdamW` *decouples* it (``p -= lr * wd * p`` before the update).
``tests/test_optim.py`` proves both equal to ``torch.optim.Adam``/``AdamW`` step for step.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

import torch

__all__ = ["Adam", "AdamW"]


def _check_number(name: str, value: object, low: float, high: float | None = None) -> float:
    """Return ``value`` as a float if it is a finite real number in [low, high) (or >= low)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} ({value!r})")
    expected = f"in [{low}, {high})" if high is not None else f">= {low}"
    if not (value >= low and (high is None or value < high)):  # also rejects nan
        raise ValueError(f"{name} must be {expected}, got {value}")
    if not math.isfinite(value):  # inf: every step would make the weights inf or nan
        raise ValueError(f"{name} must be a finite number {expected}, got {value}")
    return float(value)


def _check_params(params: object) -> list[torch.Tensor]:
    """A non-empty list of distinct leaf tensors, e.g. from ``model.parameters()``."""
    if isinstance(params, torch.Tensor) or not isinstance(params, Iterable):
        raise TypeError(f"params must be an iterable of tensors such as model.parameters(), "
                        f"got {type(params).__name__}")
    params = list(params)
    if not params:
        raise ValueError("params is empty: expected at least one tensor (a generator such as "
                         "model.parameters() is used up after one pass)")
    for index, p in enumerate(params):
        if not isinstance(p, torch.Tensor):
            raise TypeError(f"params[{index}] must be a torch.Tensor, got {type(p).__name__}"
                            + (" (parameter groups are not supported)" if isinstance(p, dict)
                               else ""))
        if not p.is_leaf:
            raise ValueError(f"params[{index}] is not a leaf tensor (shape {tuple(p.shape)}): "
                             f"an optimizer updates leaves such as nn.Parameter")
    if len({id(p) for p in params}) != len(params):
        raise ValueError("params lists a tensor more than once: it would be updated twice")
    return params


class Adam:
    """Adam with coupled L2 ``weight_decay``, like ``torch.optim.Adam``.

    ``state[i]`` holds parameter ``i``'s step count ``t`` and moments ``m`` and ``v``;
    a parameter whose ``.grad`` is ``None`` is skipped and its ``t`` does not advance.
    """

    decoupled_weight_decay = False

    def __init__(self, params: Iterable[torch.Tensor], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        self.params = _check_params(params)
        self.lr = _check_number("lr", lr, 0.0)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (_check_number("betas[0]", betas[0], 0.0, 1.0),
                      _check_number("betas[1]", betas[1], 0.0, 1.0))
        self.eps = _check_number("eps", eps, 0.0)
        self.weight_decay = _check_number("weight_decay", weight_decay, 0.0)
        self.state = [{"t": 0, "m": torch.zeros_like(p), "v": torch.zeros_like(p)}
                      for p in self.params]

    def zero_grad(self) -> None:
        """Forget the gradients (set ``.grad`` to ``None``, as torch.optim does by default)."""
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        lr, (beta1, beta2), eps, wd = self.lr, self.betas, self.eps, self.weight_decay
        for p, state in zip(self.params, self.state, strict=True):
            if p.grad is None:
                continue
            grad, m, v = p.grad, state["m"], state["v"]
            if self.decoupled_weight_decay:
                p -= lr * wd * p                             # AdamW: shrink the weight itself
            else:
                grad = grad + wd * p                         # Adam: L2 term joins the gradient
            state["t"] += 1
            t = state["t"]
            m.mul_(beta1).add_((1 - beta1) * grad)           # running mean of gradients
            v.mul_(beta2).add_((1 - beta2) * grad * grad)    # running mean of squared gradients
            m_hat = m / (1 - beta1 ** t)                     # undo the pull towards the zero start
            v_hat = v / (1 - beta2 ** t)
            p -= lr * m_hat / (v_hat.sqrt() + eps)           # eps AFTER the square root


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019), like ``torch.optim.AdamW``:
    every step first multiplies each weight by ``1 - lr * weight_decay``, then does plain Adam."""

    decoupled_weight_decay = True

    def __init__(self, params: Iterable[torch.Tensor], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

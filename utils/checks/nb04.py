"""Checkers for the exercises of notebook 04 (parameter initialisation)."""

from __future__ import annotations

import math

import torch
from torch import nn

from . import Verdict, as_number, feedback

__all__ = ["check_default_bound", "check_forget_bias", "check_orthogonal_blocks"]

GATES = ("i", "f", "g", "o")


def check_default_bound(answer: object, hidden_size: int = 64) -> Verdict:
    """Exercise 04.1: the bound k of nn.LSTM's default U(-k, k) for this hidden size."""
    expected = 1 / math.sqrt(hidden_size)
    value = as_number(answer)
    if value is None:
        return feedback(False, "", f"give one number, got {answer!r}.")
    if math.isclose(value, expected, rel_tol=1e-4):
        return feedback(True, f"k = 1/sqrt({hidden_size}) = {expected:.4f}, for every weight "
                        "and both biases, whatever the input size.", "")
    xavier = math.sqrt(6 / (hidden_size + 4 * hidden_size))
    if math.isclose(value, xavier, rel_tol=1e-3):
        hint = ("that is Xavier's bound for weight_hh (sqrt(6 / (fan_in + fan_out))); "
                "nn.LSTM does not use Xavier.")
    elif math.isclose(value, 1 / hidden_size, rel_tol=1e-4):
        hint = "close: the bound is one over the *square root* of hidden_size."
    else:
        hint = f"{value:g} is not it. Read reset_parameters: stdv = 1.0 / math.sqrt(...)."
    return feedback(False, "", hint)


def _redrawn(lstm: nn.LSTM, seed: int) -> nn.LSTM:
    """An ``nn.LSTM`` configured like ``lstm``, drawn right after ``torch.manual_seed(seed)``,
    leaving the caller's random stream as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return nn.LSTM(lstm.input_size, lstm.hidden_size, lstm.num_layers, bias=lstm.bias,
                       batch_first=lstm.batch_first, bidirectional=lstm.bidirectional,
                       proj_size=lstm.proj_size)


def _layout(lstm: object) -> dict[str, tuple[int, ...]] | None:
    """Each parameter's name and shape, or ``None`` for anything but an ``nn.LSTM``."""
    if not isinstance(lstm, nn.LSTM):
        return None
    return {name: tuple(p.shape) for name, p in lstm.named_parameters()}


def _changed_outside_forget(lstm: nn.LSTM, original: nn.LSTM) -> str | None:
    """``None`` if every parameter of ``lstm`` but the forget rows of its biases equals
    ``original``'s; else which parameter (and rows) changed."""
    H = lstm.hidden_size
    reference = dict(original.named_parameters())
    for name, p in lstm.named_parameters():
        before = reference[name].detach().to(device="cpu", dtype=p.dtype)
        now = p.detach().cpu()
        if name.startswith("bias"):
            changed = [g for k, g in enumerate(GATES)
                       if g != "f" and not torch.equal(now[k * H:(k + 1) * H],
                                                       before[k * H:(k + 1) * H])]
            if changed:
                return f"the {', '.join(changed)} rows of {name}"
        elif not torch.equal(now, before):
            return name
    return None


def check_forget_bias(lstm: object, seed: int = 0, original: nn.LSTM | None = None) -> Verdict:
    """Exercise 04.2: every layer and direction's forget gate sees a bias of exactly 1, and
    nothing else changed.

    "Nothing else" is judged against ``original``, a copy of the LSTM taken before the change
    (``copy.deepcopy(lstm)``), or, when it is not given, against an LSTM of the same
    configuration drawn right after ``torch.manual_seed(seed)``: the exercise cell builds its
    LSTM that way, with seed 0. The weights and the i, g, o rows of both bias vectors must be
    exactly as drawn; the forget rows of ``bias_ih`` and ``bias_hh`` must add up to 1."""
    if not isinstance(lstm, nn.LSTM):
        return feedback(False, "", f"pass the nn.LSTM you changed, got {type(lstm).__name__}.")
    if not lstm.bias:
        return feedback(False, "", "this LSTM has bias=False: it has no bias to set.")
    if original is not None and _layout(original) != _layout(lstm):
        return feedback(False, "", "original must be a copy of the same nn.LSTM, taken before "
                        "you changed it (copy.deepcopy(lstm)).")
    H = lstm.hidden_size
    forget = slice(H, 2 * H)
    directions = ("", "_reverse") if lstm.bidirectional else ("",)
    for layer in range(lstm.num_layers):
        for d in directions:
            s = f"_l{layer}{d}"
            total = (getattr(lstm, f"bias_ih{s}") + getattr(lstm, f"bias_hh{s}")).detach()
            seen = total[forget]
            if torch.allclose(seen, torch.full_like(seen, 2.0)):
                return feedback(False, "", f"layer {layer}{d or ''}: the forget gate sees 2, "
                                "not 1. nn.LSTM adds bias_ih and bias_hh; fill only one of them "
                                "(and zero the other's forget slice).")
            if not torch.allclose(seen, torch.ones_like(seen), atol=1e-6):
                where = f"bias_ih{s}[{H}:{2 * H}] + bias_hh{s}[{H}:{2 * H}]"
                return feedback(False, "", f"{where} should be all ones, but ranges from "
                                f"{seen.min().item():.3f} to {seen.max().item():.3f}. Rows "
                                f"{H}..{2 * H - 1} are the forget gate (order i, f, g, o); "
                                "did you set every layer and direction?")
    reference = _redrawn(lstm, seed) if original is None else original
    changed = _changed_outside_forget(lstm, reference)
    if changed is not None:
        against = ("original" if original is not None else
                   f"the LSTM drawn right after torch.manual_seed({seed}), as in the exercise "
                   "cell")
        return feedback(False, "", f"the forget gates are right, but {changed} changed "
                        f"(compared with {against}): leave the weights and the i, g, o rows "
                        f"(all but {H}..{2 * H - 1}) of both bias vectors as they were.")
    return feedback(True, "The forget gate of every layer and direction starts at "
                    "sigmoid(1) = 0.73: memory decays slowly until training says otherwise, "
                    "and nothing else changed.", "")


def check_orthogonal_blocks(weight_hh: object, hidden_size: int = 16) -> Verdict:
    """Exercise 04.3: each of the four (H, H) gate blocks of weight_hh is orthogonal."""
    if not isinstance(weight_hh, torch.Tensor):
        return feedback(False, "", f"pass the weight tensor, got {type(weight_hh).__name__}.")
    H = hidden_size
    if tuple(weight_hh.shape) != (4 * H, H):
        return feedback(False, "", f"expected weight_hh of shape ({4 * H}, {H}), "
                        f"got {tuple(weight_hh.shape)}.")
    w = weight_hh.detach().double()
    eye = torch.eye(H, dtype=torch.float64)
    bad = [g for k, g in enumerate(GATES)
           if not torch.allclose(w[k * H:(k + 1) * H] @ w[k * H:(k + 1) * H].T, eye, atol=1e-5)]
    if not bad:
        return feedback(True, "Each gate's recurrent block Q has Q Q^T = I: it keeps the norm of "
                        "h, so no gate's signal shrinks or grows from step to step at first.", "")
    if torch.allclose(w.T @ w, eye, atol=1e-5):
        return feedback(False, "", "the whole (4H, H) matrix has orthonormal columns, but its "
                        f"blocks {bad} are not orthogonal. Call nn.init.orthogonal_ on each "
                        "block weight_hh[k*H:(k+1)*H] in turn.")
    return feedback(False, "", f"the blocks of gates {bad} are not orthogonal (Q Q^T != I). "
                    "Use nn.init.orthogonal_ on each (H, H) block, under torch.no_grad().")

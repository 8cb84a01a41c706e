"""Checkers for the exercises of notebook 17 (regularising an LSTM)."""

from __future__ import annotations

import math

import torch

from . import Verdict, as_number, as_whole_number, error_of, feedback

__all__ = ["check_tying_saving", "check_kept_every_step", "check_locked_dropout", "LOCKED_PS",
           "AR_TAR_DROPPED", "AR_TAR_RAW", "check_ar_tar"]


def check_tying_saving(answer: object, vocab_size: int = 65, hidden_size: int = 64) -> Verdict:
    """Exercise 17.1: how many parameters weight tying saves (the head's weight matrix)."""
    expected = vocab_size * hidden_size
    count = as_whole_number(answer)
    if count is None:
        return feedback(False, "", f"give a whole number, got {answer!r}.")
    if count == expected + vocab_size:
        hint = "the head's bias is not shared: only its weight matrix becomes the embedding's."
    elif count == 2 * expected:
        hint = "one matrix disappears, not two: the embedding stays and the head reuses it."
    else:
        hint = (f"{count} is not it. The head's weight has shape (vocab_size, hidden_size); "
                f"tied, it is the embedding matrix itself.")
    return feedback(count == expected,
                    f"{vocab_size} x {hidden_size} = {expected:,}: the head's weight matrix is "
                    f"the embedding's; its {vocab_size} biases remain its own.", hint)


def check_kept_every_step(answer: object, p: float = 0.25, steps: int = 64) -> Verdict:
    """Exercise 17.2: the probability that a unit escapes a per-step mask at every step
    (accepted within 1 %, so the rounded 1.0e-8 of the solution passes)."""
    expected = (1 - p) ** steps
    number = as_number(answer)
    if number is None:
        return feedback(False, "", f"give one number (a probability), got {answer!r}.")
    if math.isclose(number, 1 - p, rel_tol=1e-6):
        hint = (f"{1 - p} is the answer for a locked mask, drawn once per sequence; a per-step "
                f"mask is drawn {steps} times, independently.")
    elif math.isclose(number, p ** steps, rel_tol=1e-3):
        hint = "that is the probability of being dropped at every step; you want kept."
    elif math.isclose(number, 1 - p ** steps, rel_tol=1e-6) or \
            math.isclose(number, 1 - expected, rel_tol=1e-6):
        hint = "that is the probability of the complement; multiply the per-step keep chances."
    else:
        hint = f"{number:g} is not it. Each step keeps the unit with probability {1 - p}."
    return feedback(math.isclose(number, expected, rel_tol=0.01),
                    f"(1 - {p}) ** {steps} = {expected:.2e}: with a new mask at every step "
                    f"almost no unit's recurrent input survives a whole sequence; a locked "
                    f"mask keeps {1 - p:.0%} of the units for all of it.", hint)


LOCKED_PS = (0.25, 0.6)                 # p = 0.5 would hide a swapped p and 1 - p


def _run_locked(fn, x: torch.Tensor, p: float):
    """Two training calls and one eval call of fn, or the message of what went wrong."""
    for training in (True, False):
        failed = error_of(lambda training=training: fn(x, p, training))
        if failed is not None:
            return f"calling fn(x, {p}, {training}) raised {failed}."
    first, second, off = fn(x, p, True), fn(x, p, True), fn(x, p, False)
    for out in (first, second, off):
        if not isinstance(out, torch.Tensor) or out.shape != x.shape:
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            return f"fn must return a tensor of x's shape {tuple(x.shape)}, got {got}."
    return first, second, off


def _locked_mistake(x, p, first, second, off) -> str | None:
    zero = first == 0
    if not zero.any():
        return f"nothing was dropped with p = {p} in training."
    if not (zero == zero[:, :1]).all():
        return ("the mask changes from step to step: draw one mask of shape (batch, 1, "
                "features) and let it broadcast over time.")
    mask = zero[:, 0]                                        # (batch, features)
    if (mask == mask[:1]).all():
        return ("every sequence of the batch has the same mask: a (1, 1, features) mask is "
                "shared by the batch; draw one per sequence, (batch, 1, features).")
    if (mask == mask[:, :1]).all():
        return ("within a sequence every feature is dropped or kept together: a (batch, 1, 1) "
                "mask; draw one per sequence and feature, (batch, 1, features).")
    share = mask.float().mean().item()
    if abs(share - p) > 0.05:
        swapped = (" bernoulli_ takes the probability of keeping, 1 - p."
                   if abs(share - (1 - p)) < 0.05 else " Is p hard-coded?")
        return f"with p = {p} you dropped {share:.0%} of the features, not about {p:.0%}.{swapped}"
    ratio = (first[~zero] / x[~zero]).mean().item()
    if not torch.allclose(first[~zero], x[~zero] / (1 - p)):
        return (f"the kept values must be scaled by 1 / (1 - p) = {1 / (1 - p):.4g} at p = {p}, "
                f"so that the expected output equals the input; yours are x times {ratio:.4g}.")
    if torch.equal(first, second):
        return ("two calls gave the same mask: draw a new one at each call (each batch), e.g. "
                "with bernoulli_.")
    if not torch.equal(off, x):
        return "with training=False the input must come back unchanged."
    return None


def check_locked_dropout(fn: object) -> Verdict:
    """Exercise 17.3: ``fn(x, p, training)`` must be locked dropout on ``(batch, seq, feat)``.

    Runs ``fn`` on a fixed ``(64, 10, 32)`` input at p = 0.25 and p = 0.6, inside
    ``torch.random.fork_rng`` (the notebook's random state is left as it was), and checks:
    the mask is shared by every time step but differs across sequences and across features,
    about a fraction p is dropped, kept values are scaled by ``1 / (1 - p)``, two calls draw
    different masks and ``training=False`` returns the input unchanged."""
    if not callable(fn):
        return feedback(False, "", f"give a function fn(x, p, training), got {fn!r}.")
    x = torch.rand(64, 10, 32, generator=torch.Generator().manual_seed(0)) + 0.5
    shares = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(17)
        for p in LOCKED_PS:
            outputs = _run_locked(fn, x, p)
            if isinstance(outputs, str):
                return feedback(False, "", outputs)
            mistake = _locked_mistake(x, p, *outputs)
            if mistake is not None:
                return feedback(False, "", mistake)
            shares.append((outputs[0] == 0)[:, 0].float().mean().item())
    return feedback(True, f"one mask per sequence and feature, shared by all 10 steps, "
                          f"{shares[0]:.0%} dropped at p = 0.25 and {shares[1]:.0%} at p = 0.6, "
                          f"kept values x / (1 - p), and off outside training.", "")


AR_TAR_DROPPED = ((0.0, 2.0), (1.0, -1.0), (3.0, 0.0))     # one sequence, 3 steps, 2 units
AR_TAR_RAW = ((0.5, 1.0), (1.0, -0.5), (1.5, 0.0))


def check_ar_tar(answer: object, alpha: float = 2.0, beta: float = 1.0) -> Verdict:
    """Exercise 17.4: ``(AR, TAR)`` for :data:`AR_TAR_DROPPED` and :data:`AR_TAR_RAW` (one
    sequence of 3 steps and 2 units each) with ``alpha`` and ``beta``."""
    dropped, raw = torch.tensor(AR_TAR_DROPPED), torch.tensor(AR_TAR_RAW)
    ar = alpha * dropped.pow(2).mean().item()
    tar = beta * (raw[1:] - raw[:-1]).pow(2).mean().item()
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        return feedback(False, "", f"give a pair (AR, TAR), got {answer!r}.")
    got = tuple(as_number(a) for a in answer)
    if None in got:
        return feedback(False, "", f"give two numbers, got {answer!r}.")
    right = math.isclose(got[0], ar, rel_tol=1e-4) and math.isclose(got[1], tar, rel_tol=1e-4)
    if math.isclose(got[0], tar, rel_tol=1e-4) and math.isclose(got[1], ar, rel_tol=1e-4):
        hint = "the two are swapped: AR first, then TAR."
    elif math.isclose(got[0], ar / alpha, rel_tol=1e-4) or \
            math.isclose(got[1], tar / beta, rel_tol=1e-4) and beta != 1:
        hint = f"multiply by the weights: alpha = {alpha} for AR, beta = {beta} for TAR."
    elif math.isclose(got[0], alpha * raw.pow(2).mean().item(), rel_tol=1e-4):
        hint = "AR is taken on the dropped outputs, the ones the head reads."
    elif math.isclose(got[1], beta * (dropped[1:] - dropped[:-1]).pow(2).mean().item(),
                      rel_tol=1e-4):
        hint = "TAR is taken on the raw outputs, before dropout."
    elif math.isclose(got[0], alpha * dropped.pow(2).sum().item(), rel_tol=1e-4):
        hint = "both are means over every element, not sums."
    else:
        hint = ("AR = alpha * mean(dropped ** 2); TAR = beta * mean((raw[t + 1] - raw[t]) ** 2) "
                "over the 2 differences of 2 units.")
    return feedback(right, f"AR = {alpha} x {ar / alpha:.4g} = {ar:.4g}; TAR = {beta} x "
                           f"{tar / beta:.4g} = {tar:.4g}.", hint)

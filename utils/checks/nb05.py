"""Checkers for the exercises of notebook 05 (last-step output)."""

from __future__ import annotations

import torch

from ..sequences import bidirectional_summary, check_lengths, last_valid_step, masked_mean
from . import Verdict, feedback

__all__ = ["check_bidirectional_summary", "check_last_valid_step", "check_masked_mean"]


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a, b, atol=1e-6))


def _tensor_of_shape(answer: object, expected: tuple[int, ...]) -> Verdict | None:
    """A hint if ``answer`` is not a tensor of shape ``expected``; ``None`` if it is."""
    if not isinstance(answer, torch.Tensor):
        return feedback(False, "", f"give a torch.Tensor of shape {expected}, "
                                   f"got {type(answer).__name__}.")
    if tuple(answer.shape) != expected:
        return feedback(False, "", f"the summary should have shape {expected} (batch, "
                                   f"features), got {tuple(answer.shape)}.")
    return None


def check_bidirectional_summary(answer: object, h_n: torch.Tensor, num_layers: int,
                                out: torch.Tensor | None = None) -> Verdict:
    """Exercise 05.1: the summary of a bidirectional LSTM from its ``h_n``."""
    expected = bidirectional_summary(h_n, num_layers).detach()
    if isinstance(answer, torch.Tensor) and tuple(answer.shape) == tuple(h_n.shape[1:]):
        return feedback(False, "", f"{tuple(answer.shape)} holds one direction only; the "
                                   "summary joins the forward and the backward final states.")
    wrong = _tensor_of_shape(answer, tuple(expected.shape))
    if wrong is not None:
        return wrong
    answer = answer.detach()
    if _same(answer, torch.cat([h_n[-1], h_n[-2]], dim=-1).detach()):
        return feedback(False, "", "both halves are there but swapped: h_n[-2] is the top "
                                   "layer's forward direction and comes first, as in out.")
    if num_layers > 1 and _same(answer, torch.cat([h_n[0], h_n[1]], dim=-1).detach()):
        return feedback(False, "", "h_n[0] and h_n[1] are the bottom layer; the top layer's "
                                   "two directions are the last two entries.")
    if out is not None and _same(answer, out[:, -1].detach()):
        return feedback(False, "", "out[:, -1]'s backward half has only just started: the "
                                   "backward direction reads the sequence from its end.")
    return feedback(_same(answer, expected),
                    "torch.cat([h_n[-2], h_n[-1]], dim=-1): the top layer's forward state "
                    "after the last step and its backward state after the first step.",
                    "take the top layer's two directions from h_n (the last two entries) and "
                    "join them along the feature dimension.")


def check_last_valid_step(answer: object, out: torch.Tensor, lengths: object) -> Verdict:
    """Exercise 05.2: ``out`` at each sequence's own last real step (batch_first)."""
    expected = last_valid_step(out, lengths).detach()
    wrong = _tensor_of_shape(answer, tuple(expected.shape))
    if wrong is not None:
        return wrong
    answer = answer.detach()
    lengths = check_lengths(lengths, out.shape[0], out.shape[1])
    if not _same(expected, out[:, -1].detach()) and _same(answer, out[:, -1].detach()):
        return feedback(False, "", "that is out[:, -1]: it reads padding for every sequence "
                                   "shorter than the batch.")
    if (lengths < out.shape[1]).all():
        rows = torch.arange(out.shape[0])
        if _same(answer, out[rows, lengths].detach()):
            return feedback(False, "", "off by one: a sequence of length n ends at index "
                                       "n - 1.")
    return feedback(_same(answer, expected),
                    "out[torch.arange(B), lengths - 1] (or a gather) reads each sequence's "
                    "own last step: the same as running it alone.",
                    "index the time dimension with lengths - 1, one index per row: "
                    "out[torch.arange(len(lengths)), lengths - 1].")


def check_masked_mean(answer: object, out: torch.Tensor, lengths: object) -> Verdict:
    """Exercise 05.3: the mean of ``out`` over each sequence's real steps (batch_first)."""
    expected = masked_mean(out, lengths).detach()
    wrong = _tensor_of_shape(answer, tuple(expected.shape))
    if wrong is not None:
        return wrong
    answer = answer.detach()
    lengths = check_lengths(lengths, out.shape[0], out.shape[1])
    mask = (torch.arange(out.shape[1]) < lengths.unsqueeze(1)).unsqueeze(-1)
    if _same(answer, out.detach().mean(dim=1)):
        return feedback(False, "", "out.mean(dim=1) averages the padding steps too.")
    if _same(answer, (out.detach() * mask).sum(dim=1) / out.shape[1]):
        return feedback(False, "", "the padding is masked out, but you divided by the padded "
                                   "length; divide by each sequence's own length.")
    return feedback(_same(answer, expected),
                    "sum over the real steps (a mask zeroes the rest), divided by each length.",
                    "build a mask t < lengths[b], zero the padding steps, sum over time, and "
                    "divide by lengths (as a column).")

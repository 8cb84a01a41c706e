"""Checkers for the exercises of notebook 13 (sequence to sequence)."""

from __future__ import annotations

import torch

from . import Verdict, as_shape, as_whole_number, feedback

__all__ = ["check_decoder_state_shape", "check_exhaustive_count", "check_source_mask",
           "check_length_normalised_choice"]


def check_decoder_state_shape(answer: object, num_layers: int = 2, hidden_size: int = 32,
                              batch: int = 256) -> Verdict:
    """Exercise 13.1: the decoder's initial ``h`` after ``bridge_state`` for a bidirectional
    encoder with ``num_layers`` layers of ``hidden_size`` units, on a batch of ``batch``."""
    shape = as_shape(answer)
    expected = (num_layers, batch, 2 * hidden_size)
    if shape is None:
        return feedback(False, "", f"give a shape as a tuple of whole numbers, got {answer!r}.")
    if shape == (2 * num_layers, batch, hidden_size):
        return feedback(False, "", f"{shape} is the encoder's h_n itself: "
                        "(directions * num_layers, batch, hidden). bridge_state joins each "
                        "layer's two directions side by side.")
    if shape == (1, batch, 2 * hidden_size) and num_layers > 1:
        return feedback(False, "", "that keeps only the top layer; bridge_state keeps every "
                        "layer, and the decoder has as many layers as the encoder.")
    return feedback(shape == expected,
                    f"{expected}: one entry per layer, and each layer's forward and backward "
                    f"states concatenated, {hidden_size} + {hidden_size} = {2 * hidden_size} "
                    "units.",
                    f"{shape} is not it. h_n is (2 * num_layers, batch, hidden); for each layer "
                    "the two directions are concatenated along the last dimension.")


def check_exhaustive_count(answer: object, writable: int = 11, max_len: int = 11) -> Verdict:
    """Exercise 13.2: the number of outputs of at most ``max_len`` tokens, ``<eos>`` last, over
    ``writable`` tokens besides ``<eos>``: ``sum_{n < max_len} writable ** n``."""
    expected = sum(writable ** n for n in range(max_len))
    value = as_whole_number(answer)
    if value is None:
        return feedback(False, "", f"give a whole number, got {answer!r}.")
    if value == writable ** max_len or value == (writable + 1) ** max_len:
        return feedback(False, "", "every output ends with <eos>, so an output of n + 1 "
                        f"tokens has n free tokens (n from 0 to {max_len - 1}), each one of "
                        f"{writable}; add up the counts for every n.")
    if value == writable ** (max_len - 1):
        return feedback(False, "", "that counts only the outputs of exactly "
                        f"{max_len} tokens; the shorter ones are outputs too.")
    return feedback(value == expected,
                    f"{expected:,} outputs: even at a million a second, about "
                    f"{expected / 1e6 / 3600:.0f} hours for one source. Beam search with width "
                    "5 scores 5 x 14 candidates per step instead.",
                    f"{value:,} is not it. Sum {writable}^n over n = 0 .. {max_len - 1}: n "
                    "free tokens, then <eos>.")


def check_source_mask(mask: object, lengths=(5, 2, 3), width: int = 5) -> Verdict:
    """Exercise 13.3: the ``(B, width)`` bool mask, True at the real source positions."""
    lengths = torch.as_tensor(lengths)
    expected = torch.arange(width).unsqueeze(0) < lengths.unsqueeze(1)
    if not isinstance(mask, torch.Tensor):
        return feedback(False, "", f"give a tensor, got {type(mask).__name__}.")
    if tuple(mask.shape) != tuple(expected.shape):
        return feedback(False, "", f"the mask needs one row per source and one column per "
                        f"position: shape {tuple(expected.shape)}, got {tuple(mask.shape)}.")
    if mask.dtype != torch.bool:
        return feedback(False, "", f"masked_fill needs a bool mask, got dtype {mask.dtype}; "
                        "a comparison such as positions < lengths gives one.")
    if torch.equal(mask, ~expected):
        return feedback(False, "", "it is inverted: True must mark the real characters (the "
                        "attention scores are filled with -inf where the mask is False).")
    return feedback(torch.equal(mask, expected),
                    "torch.arange(width) < lengths[:, None] broadcasts to exactly this mask.",
                    "row b must be True at positions 0 .. lengths[b] - 1 and False after.")


def check_length_normalised_choice(answer: object) -> Verdict:
    """Exercise 13.4: hypothesis A (log-probability -1.2, 3 tokens) or B (-1.8, 6 tokens), with
    ``length_penalty = 1``: B, since -1.8 / 6 = -0.3 > -1.2 / 3 = -0.4."""
    if not isinstance(answer, str) or answer.strip().upper() not in ("A", "B"):
        return feedback(False, "", f"answer 'A' or 'B', got {answer!r}.")
    return feedback(answer.strip().upper() == "B",
                    "B: -1.8 / 6 = -0.30 beats -1.2 / 3 = -0.40. Without normalisation "
                    "(length_penalty = 0) A would win, -1.2 > -1.8: every extra token lowers "
                    "the raw log-probability.",
                    "A has the higher raw log-probability, but with length_penalty = 1 the "
                    "score is log_prob / length: compare -1.2 / 3 with -1.8 / 6.")

"""Checkers for the exercises of notebook 03 (state initialisation).

Each checker runs the exercise's LSTM on the learner's answer, so the verdict is what PyTorch
does, not a typed-in value.
"""

from __future__ import annotations

import torch
from torch import nn

from . import Verdict, as_whole_number, feedback

__all__ = ["exercise_lstm", "exercise_chunks", "check_h0", "check_chunked_output",
           "check_gradient_reach"]

CHUNK = 10  # exercises 03.2 and 03.3: a sequence of 40 steps, read in chunks of 10


def exercise_lstm() -> tuple[nn.LSTM, torch.Tensor]:
    """Exercise 03.1: a 2-layer bidirectional batch-first LSTM and a batch ``(8, 30, 4)``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        lstm = nn.LSTM(4, 16, num_layers=2, bidirectional=True, batch_first=True)
        x = torch.randn(8, 30, 4)
    return lstm, x


def check_h0(answer: object) -> Verdict:
    """Exercise 03.1: a zero ``h0`` that ``exercise_lstm()`` accepts for its batch."""
    lstm, x = exercise_lstm()
    if not isinstance(answer, torch.Tensor):
        return feedback(False, "", f"give a tensor, e.g. torch.zeros(...), got "
                                   f"{type(answer).__name__}.")
    if answer.dtype != x.dtype:
        return feedback(False, "", f"the state must have the input's dtype {x.dtype}, got "
                                   f"{answer.dtype}: use torch.zeros(..., dtype=x.dtype) or "
                                   "x.new_zeros(...).")
    try:
        with torch.no_grad():
            expected, _ = lstm(x)
            output, _ = lstm(x, (answer, torch.zeros_like(answer)))
    except RuntimeError as error:
        hint = f"nn.LSTM says: {error}."
        if answer.dim() == 3 and answer.shape[0] == x.shape[0]:
            hint += " batch_first does not apply to the states: the batch is their 2nd dim."
        return feedback(False, "", hint)
    if not torch.equal(output, expected):
        return feedback(False, "", f"the shape {tuple(answer.shape)} is right, but the state "
                                   "is not all zeros.")
    return feedback(True, f"{tuple(answer.shape)}: D * num_layers = 2 * 2 rows, then the "
                          "batch, then hidden_size; and it gives exactly the default output.",
                    "")


def exercise_chunks() -> tuple[nn.LSTM, torch.Tensor]:
    """Exercises 03.2 and 03.3: an LSTM and a batch ``(2, 40, 3)`` to read in chunks of 10."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(4)
        lstm = nn.LSTM(3, 16, batch_first=True)
        x = torch.randn(2, 40, 3)
    return lstm, x


def check_chunked_output(answer: object) -> Verdict:
    """Exercise 03.2: the outputs of the four chunks, concatenated along time, state carried."""
    lstm, x = exercise_chunks()
    with torch.no_grad():
        whole, _ = lstm(x)
        reset = torch.cat([lstm(chunk)[0] for chunk in x.split(CHUNK, dim=1)], dim=1)
    if not isinstance(answer, torch.Tensor):
        return feedback(False, "", f"give a tensor (torch.cat of the chunk outputs), got "
                                   f"{type(answer).__name__}.")
    if tuple(answer.shape) != tuple(whole.shape):
        return feedback(False, "", f"expected shape {tuple(whole.shape)}, got "
                                   f"{tuple(answer.shape)}: concatenate the chunk outputs "
                                   "along the time dimension, dim=1.")
    answer = answer.detach()
    if torch.allclose(answer, reset, atol=1e-6):
        return feedback(False, "", "each chunk started from zeros: pass the (h, c) that one "
                                   "chunk returns into the next call.")
    return feedback(torch.allclose(answer, whole, atol=1e-6),
                    "the chunked run equals running the 40 steps at once.",
                    "the values differ from running the whole sequence: start from no state "
                    "(None), then pass each chunk's returned (h, c) to the next chunk, in order.")


def reached_chunks(detach: bool) -> set[int]:
    """The chunks (1-4) whose inputs get a non-zero gradient from the LAST chunk's loss."""
    lstm, x = exercise_chunks()
    chunks = [chunk.clone().requires_grad_() for chunk in x.split(CHUNK, dim=1)]
    state = None
    for chunk in chunks:
        if state is not None and detach:
            state = tuple(s.detach() for s in state)
        output, state = lstm(chunk, state)
    output.pow(2).sum().backward()
    return {k + 1 for k, chunk in enumerate(chunks)
            if chunk.grad is not None and chunk.grad.abs().sum() > 0}


def check_gradient_reach(answer: object) -> Verdict:
    """Exercise 03.3: with the state detached between chunks, which chunks' inputs does the
    last chunk's loss send gradient to?"""
    chunks = ({as_whole_number(k) for k in answer} if isinstance(answer, (set, frozenset))
              else {None})
    if None in chunks:
        return feedback(False, "", f"give a set of chunk numbers such as {{1, 2}}, got "
                                   f"{answer!r}.")
    expected = reached_chunks(detach=True)
    if chunks == reached_chunks(detach=False) and chunks != expected:
        hint = "that is what happens WITHOUT detach: the graph then reaches every chunk."
    else:
        hint = ("detach() cuts the state off the graph of the chunks before it; only one "
                "chunk is left.")
    return feedback(chunks == expected,
                    f"{sorted(expected)}: truncated back-propagation through time; earlier "
                    "chunks still shape the state's value, but get no gradient.",
                    f"{sorted(chunks)} is not it: {hint}")

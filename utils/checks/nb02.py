"""Checkers for the exercises of notebook 02 (tensor shapes).

Each expected answer is computed by a real forward pass of the exercise's LSTM, never typed in.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from . import Verdict, as_shape, feedback

__all__ = ["EXERCISE_LSTM", "EXERCISE_INPUT", "exercise_shapes", "exercise_series",
           "check_output_shape", "check_state_shapes", "check_univariate_input"]

# Exercises 02.1 and 02.2: nn.LSTM(**EXERCISE_LSTM) reads a batch of shape EXERCISE_INPUT.
EXERCISE_LSTM = {"input_size": 8, "hidden_size": 32, "num_layers": 3, "batch_first": True,
                 "bidirectional": True}
EXERCISE_INPUT = (4, 12, 8)
SERIES_SHAPE = (32, 50)  # exercise 02.3: 32 univariate series of 50 steps


def exercise_shapes(proj_size: int = 0) -> dict[str, tuple[int, ...]]:
    """The shapes of ``output``, ``h_n`` and ``c_n`` of the exercises' LSTM, by running it."""
    with torch.random.fork_rng(devices=[]), torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="LSTM with projections is not supported")
        torch.manual_seed(0)
        lstm = nn.LSTM(**EXERCISE_LSTM, proj_size=proj_size)
        output, (h_n, c_n) = lstm(torch.randn(*EXERCISE_INPUT))
    return {"output": tuple(output.shape), "h_n": tuple(h_n.shape), "c_n": tuple(c_n.shape)}


def check_output_shape(answer: object) -> Verdict:
    """Exercise 02.1: the shape of ``output`` for the bidirectional 3-layer LSTM."""
    shapes = exercise_shapes()
    expected = shapes["output"]
    shape = as_shape(answer)
    if shape is None:
        return feedback(False, "", f"give the shape as a tuple of ints such as (2, 3), "
                                   f"got {answer!r}.")
    batch, seq_len, _ = EXERCISE_INPUT
    hidden = EXERCISE_LSTM["hidden_size"]
    if shape == (batch, seq_len, hidden):
        hint = ("a bidirectional LSTM concatenates the forward and the backward hidden vector "
                "of each step along the last dimension: D * hidden_size.")
    elif shape == (seq_len, batch, expected[2]):
        hint = "batch_first=True: output keeps the input's order, (batch, seq, feature)."
    elif shape in (shapes["h_n"], (batch, seq_len, 2 * 3 * hidden)):
        hint = ("output holds only the top layer, at every step; the layers show up in h_n, "
                "not in output.")
    else:
        hint = "output is (batch, seq_len, D * H_out) when batch_first=True."
    return feedback(shape == expected,
                    f"{expected}: every step of every sequence, both directions side by side; "
                    "the number of layers does not show.", f"{shape} is not it: {hint}")


def check_state_shapes(answer: object) -> Verdict:
    """Exercise 02.2: ``(h_n.shape, c_n.shape)`` of the same LSTM with ``proj_size=16``."""
    shapes = exercise_shapes(proj_size=16)
    expected = (shapes["h_n"], shapes["c_n"])
    if not (isinstance(answer, (tuple, list)) and len(answer) == 2) or \
            as_shape(answer[0]) is None or as_shape(answer[1]) is None:
        return feedback(False, "", "give a pair of shapes, (h_n shape, c_n shape), e.g. "
                                   f"((1, 2, 3), (1, 2, 3)); got {answer!r}.")
    h_shape, c_shape = as_shape(answer[0]), as_shape(answer[1])
    rows, batch, _ = expected[0]
    if (h_shape, c_shape) == expected:
        return feedback(True, f"h_n {expected[0]} and c_n {expected[1]}: D * num_layers = "
                              f"{rows} rows, batch second even with batch_first=True, and "
                              "the projection shrinks h but not c.", "")
    if (c_shape, h_shape) == expected:
        hint = "the two are swapped: proj_size shrinks h, c keeps hidden_size."
    elif len(h_shape) != 3 or len(c_shape) != 3:
        hint = "each state has 3 dimensions: (D * num_layers, batch, size)."
    elif h_shape[:1] == (batch,) or c_shape[:1] == (batch,):
        hint = ("batch_first does not apply to h_n and c_n: they are always "
                "(D * num_layers, batch, ...).")
    elif h_shape[0] != rows or c_shape[0] != rows:
        hint = "the first dimension counts every layer of every direction: D * num_layers."
    elif h_shape[2] == c_shape[2]:
        hint = "with proj_size set, h and c no longer have the same last dimension."
    else:
        hint = "h_n is (D * num_layers, batch, proj_size); c_n is (D * num_layers, batch, H)."
    return feedback(False, "", f"({h_shape}, {c_shape}) is not it: {hint}")


def exercise_series() -> torch.Tensor:
    """Exercise 02.3's data: 32 univariate series of 50 steps, shape ``(32, 50)``."""
    return torch.randn(*SERIES_SHAPE, generator=torch.Generator().manual_seed(2))


def check_univariate_input(answer: object) -> Verdict:
    """Exercise 02.3: ``exercise_series()`` reshaped for ``nn.LSTM(1, 16, batch_first=True)``."""
    series = exercise_series()
    expected = series.unsqueeze(-1)
    if not isinstance(answer, torch.Tensor):
        return feedback(False, "", f"give a tensor made from exercise_series(), got "
                                   f"{type(answer).__name__}.")
    shape = tuple(answer.shape)
    if shape == tuple(expected.shape) and torch.equal(answer, expected):
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            output, _ = nn.LSTM(1, 16, batch_first=True)(answer)
        return feedback(True, f"{shape}: 32 sequences, 50 steps, 1 feature; the LSTM returns "
                              f"{tuple(output.shape)}.", "")
    if shape == tuple(expected.shape):
        hint = ("the shape is right but the values moved: add the feature dimension with "
                "unsqueeze(-1), without transposing or reshaping across sequences.")
    elif shape == (series.shape[1], series.shape[0], 1):
        hint = "with batch_first=True the batch comes first: (32, 50, 1)."
    elif shape == tuple(series.shape):
        hint = ("a 2-D tensor is read as ONE unbatched sequence of 32 steps with 50 "
                "features; add a feature dimension of size 1 at the end.")
    elif shape == (1, *series.shape):
        hint = "that is one sequence of 32 steps with 50 features each; the 1 goes last."
    else:
        hint = "the LSTM wants (batch, seq_len, input_size) = (32, 50, 1)."
    return feedback(False, "", f"{shape} is not it: {hint}")

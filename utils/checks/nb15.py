"""Checkers for the exercises of notebook 15 (export and deployment)."""

from __future__ import annotations

import numpy as np
import torch

from ..deploy import InferenceLSTM
from . import Verdict, as_whole_number, feedback

__all__ = ["check_lstm_bytes", "check_dynamic_shapes", "check_streamed_state"]


def check_lstm_bytes(answer: object, input_size: int = 64, hidden_size: int = 256,
                     bytes_per_value: int = 4) -> Verdict:
    """Exercise 15.1: the bytes that the parameters of ``nn.LSTM(input_size, hidden_size)``
    take at ``bytes_per_value`` bytes each: two weight matrices ``4H x I`` and ``4H x H`` and
    two bias vectors of ``4H``."""
    four_h = 4 * hidden_size
    count = four_h * input_size + four_h * hidden_size + 2 * four_h
    expected = count * bytes_per_value
    value = as_whole_number(answer)
    if value is None:
        return feedback(False, "", f"give a whole number of bytes, got {answer!r}.")
    if value == count and value != expected:
        return feedback(False, "", f"{value:,} is the number of parameters; each one "
                        f"takes {bytes_per_value} bytes.")
    if value in (expected - four_h * bytes_per_value, expected - 2 * four_h * bytes_per_value):
        return feedback(False, "", "close: nn.LSTM has two bias vectors per layer, bias_ih_l0 "
                        "and bias_hh_l0, of 4H each. Count both.")
    if value == expected - four_h * input_size * bytes_per_value:
        return feedback(False, "", "you left out weight_ih_l0, the (4H, I) matrix that reads "
                        "the input.")
    return feedback(value == expected,
                    f"4H(I + H) + 8H = {count:,} parameters x {bytes_per_value} bytes = "
                    f"{expected:,} bytes. torch.save adds a little for names and layout.",
                    f"{value:,} is not it. weight_ih_l0 is (4H, I), weight_hh_l0 (4H, H), and "
                    f"bias_ih_l0 and bias_hh_l0 have 4H each, with H = {hidden_size} and "
                    f"I = {input_size}; then multiply by {bytes_per_value} bytes.")


def _dim_name(dim: object) -> str | None:
    """The name of a ``torch.export.Dim`` (``None`` for anything else)."""
    return dim.__name__ if isinstance(dim, torch.export.dynamic_shapes.Dim) else None


def check_dynamic_shapes(answer: object) -> Verdict:
    """Exercise 15.2: the ``dynamic_shapes`` of ``InferenceLSTM.forward(ids, h0, c0)`` with a
    dynamic batch and time: ``{"ids": {0: batch, 1: time}, "h0": {1: batch}, "c0": {1:
    batch}}``, where ``batch`` and ``time`` are ``torch.export.Dim`` objects and the three
    batch entries are one Dim (the same object or the same name)."""
    if not isinstance(answer, dict):
        return feedback(False, "", f"give a dict keyed by the argument names 'ids', 'h0', "
                        f"'c0', got {type(answer).__name__}.")
    if set(answer) != {"ids", "h0", "c0"}:
        return feedback(False, "", f"the keys must be forward's argument names 'ids', 'h0' "
                        f"and 'c0', got {sorted(map(str, answer))}.")
    if not all(isinstance(spec, dict) for spec in answer.values()):
        return feedback(False, "", "each value must be a dict from a dimension index to a "
                        "torch.export.Dim, such as {0: batch, 1: time}.")
    ids, h0, c0 = answer["ids"], answer["h0"], answer["c0"]
    names = {key: {d: _dim_name(v) for d, v in spec.items()} for key, spec in answer.items()}
    if any(name is None for spec in names.values() for name in spec.values()):
        return feedback(False, "", "use torch.export.Dim objects, such as batch = "
                        "torch.export.Dim('batch', min=1), for every dynamic dimension.")
    if set(ids) != {0, 1}:
        return feedback(False, "", f"ids is (batch, seq_len): both dimension 0 and dimension 1 "
                        f"are dynamic, got dimensions {sorted(ids)}.")
    if names["ids"][0] == names["ids"][1]:
        return feedback(False, "", "batch and time are separate sizes: give them two Dims "
                        "with different names.")
    for key, spec in (("h0", h0), ("c0", c0)):
        if 0 in spec or 2 in spec:
            return feedback(False, "", f"{key} is (num_layers, batch, hidden_size): only "
                            f"dimension 1, the batch, varies; num_layers and hidden_size are "
                            f"fixed by the weights.")
        if set(spec) != {1}:
            return feedback(False, "", f"{key} needs its batch dimension, 1, marked dynamic.")
        if names[key][1] != names["ids"][0]:
            return feedback(False, "", f"{key}'s batch must be the same Dim as ids' dimension 0: "
                            f"the sizes must agree, and one Dim says so.")
    return feedback(True, "One Dim for the batch in all three inputs, one for the time in ids; "
                    "num_layers and hidden_size stay fixed.", "")


def check_streamed_state(answer: object, model: InferenceLSTM, ids: torch.Tensor) -> Verdict:
    """Exercise 15.3: the final hidden state ``h_n`` after streaming ``ids`` ``(batch,
    seq_len)`` one step at a time from a zero state, as running ``model`` on the whole
    sequence gives it, to 1e-5. ``(num_layers, batch, hidden_size)`` or, for one layer,
    ``(batch, hidden_size)``; a tensor or a NumPy array."""
    if not isinstance(model, InferenceLSTM):
        return feedback(False, "", f"the checker needs the InferenceLSTM, got "
                        f"{type(model).__name__}.")
    if isinstance(answer, np.ndarray) and answer.dtype.kind in "fiu":
        answer = torch.from_numpy(answer)
    if not isinstance(answer, torch.Tensor) or not answer.is_floating_point():
        return feedback(False, "", f"give the final h as a float tensor or array, got "
                        f"{type(answer).__name__}.")
    with torch.inference_mode():
        _, h_n, c_n = model(ids, *model.initial_state(ids.shape[0]))
    answer = answer.detach().to(torch.float32)
    if model.num_layers == 1 and tuple(answer.shape) == tuple(h_n.shape[1:]):
        answer = answer.unsqueeze(0)
    if tuple(answer.shape) != tuple(h_n.shape):
        return feedback(False, "", f"h_n has shape {tuple(h_n.shape)} (num_layers, batch, "
                        f"hidden_size), got {tuple(answer.shape)}.")
    if torch.allclose(answer, c_n, rtol=0, atol=1e-5):
        return feedback(False, "", "that is the cell state c; the exercise asks for h, the "
                        "second output of the session (the first is the logits).")
    error = (answer - h_n).abs().max().item()
    return feedback(error <= 1e-5,
                    f"Streamed step by step, the final h matches the whole sequence at once "
                    f"(largest difference {error:.1e}).",
                    f"the largest difference from the whole-sequence h_n is {error:.2g}. Start "
                    f"from zeros, feed ids[:, t] with the h and c the previous step returned, "
                    f"for every t in order.")

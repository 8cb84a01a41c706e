"""Checkers for the exercises of notebook 01 (model definition)."""

from __future__ import annotations

import torch
from torch import nn

from . import Verdict, as_whole_number, feedback

__all__ = ["check_forget_rows", "check_parameter_count", "check_lstm_step"]


def check_forget_rows(answer: object, hidden_size: int = 20) -> Verdict:
    """Exercise 01.1: the rows of ``weight_ih_l0`` that hold the forget gate, as a slice."""
    H = hidden_size
    if isinstance(answer, range):
        answer = slice(answer.start, answer.stop, answer.step if answer.step != 1 else None)
    if not isinstance(answer, slice):
        return feedback(False, "", f"give a slice such as slice(0, 5), got {answer!r}.")
    bounds = [None if b is None else as_whole_number(b)
              for b in (answer.start, answer.stop, answer.step)]
    if any(b is None and given is not None
           for b, given in zip(bounds, (answer.start, answer.stop, answer.step), strict=True)) \
            or bounds[2] == 0:
        return feedback(False, "", f"give a slice of whole numbers such as slice(0, 5), "
                                   f"got {answer!r}.")
    rows = list(range(4 * H))[slice(*bounds)]
    blocks = {"i": range(0, H), "f": range(H, 2 * H), "g": range(2 * H, 3 * H),
              "o": range(3 * H, 4 * H)}
    for gate, block in blocks.items():
        if gate != "f" and rows == list(block):
            return feedback(False, "", f"rows {block.start}:{block.stop} are the {gate} gate. "
                                       "The order of the blocks is i, f, g, o.")
    return feedback(rows == list(blocks["f"]),
                    f"weight_ih_l0[{H}:{2 * H}]: the second of the four blocks i, f, g, o, "
                    f"each hidden_size = {H} rows tall.",
                    f"{len(rows)} rows starting at {rows[0] if rows else None} is not it. "
                    f"weight_ih_l0 has 4 * {H} rows: four blocks of {H}, in the order i, f, g, o.")


def check_parameter_count(answer: object, input_size: int = 8, hidden_size: int = 20,
                          num_layers: int = 2, bidirectional: bool = True,
                          proj_size: int = 5) -> Verdict:
    """Exercise 01.2: the number of parameters of an ``nn.LSTM`` (counted on a real one)."""
    lstm = nn.LSTM(input_size, hidden_size, num_layers, bidirectional=bidirectional,
                   proj_size=proj_size, device="meta")  # shapes only: no memory, no RNG draw
    expected = sum(p.numel() for p in lstm.parameters())
    count = as_whole_number(answer)
    if count is None:
        return feedback(False, "", f"give a whole number, got {answer!r}.")
    H, D, H_out = hidden_size, 1 + bidirectional, proj_size or hidden_size
    no_projection = sum(p.numel() for p in nn.LSTM(input_size, H, num_layers, device="meta",
                                                   bidirectional=bidirectional).parameters())
    # The same formula with every layer reading input_size (a common slip).
    same_input = D * num_layers * (4 * H * (input_size + H_out + 2) + proj_size * H)
    hints = {no_projection: f"that is the count without proj_size: with proj_size={proj_size} "
                            f"h has {proj_size} entries, so weight_hh is (4H, {proj_size}), the "
                            "upper layers read D * proj_size features, and each direction "
                            f"adds weight_hr ({proj_size}, {H}).",
             same_input: f"layer 1 and above read the layer below's output, D * H_out = "
                         f"{D * H_out} features, not input_size = {input_size}.",
             expected // D: "count both directions: each has its own weights."}
    if count in hints and count != expected:
        return feedback(False, "", hints[count])
    return feedback(count == expected,
                    f"{expected}: per layer and direction 4H(I_layer + H_out + 2) + P*H, "
                    f"with I_layer = {input_size} for layer 0 and D * H_out = {D * H_out} above.",
                    f"{count} is not it. Per layer and direction: 4H * (inputs of that layer) "
                    "+ 4H * H_out + two biases of 4H + the projection's P * H.")


def check_lstm_step(answer: object, seed: int = 0) -> Verdict:
    """Exercise 01.3: ``answer(x, h, c, lstm)`` computes one step of a 1-layer ``nn.LSTM``."""
    if not callable(answer):
        return feedback(False, "", f"give a function step(x, h, c, lstm) -> (h, c), "
                                   f"got {answer!r}.")
    with torch.random.fork_rng(devices=[]):  # leave the learner's random stream alone
        torch.manual_seed(seed)
        lstm = nn.LSTM(3, 4)
        x, h, c = torch.randn(2, 3), torch.randn(2, 4), torch.randn(2, 4)
    with torch.no_grad():
        _, (h_ref, c_ref) = lstm(x.unsqueeze(0), (h.unsqueeze(0), c.unsqueeze(0)))
        try:
            got = answer(x, h, c, lstm)
            new_h, new_c = got
        except Exception as error:  # the learner's code: report, never crash the notebook
            return feedback(False, "", f"your function raised {type(error).__name__}: {error}")
    if not all(isinstance(t, torch.Tensor) and t.shape == (2, 4) for t in (new_h, new_c)):
        return feedback(False, "", "return (h, c), two tensors of shape (batch, hidden_size) "
                                   "= (2, 4).")
    h_ok = torch.allclose(new_h, h_ref[0], atol=1e-6)
    c_ok = torch.allclose(new_c, c_ref[0], atol=1e-6)
    if not c_ok:
        hint = ("c is wrong: c = f * c_prev + i * g, where the rows of weight_ih_l0, "
                "weight_hh_l0 and both biases are the blocks i, f, g, o (in that order); "
                "g uses tanh, the others sigmoid; add both biases.")
    else:
        hint = "c is right but h is not: h = o * tanh(c), with the new c."
    return feedback(h_ok and c_ok, "your step equals nn.LSTM's: the same equations, the same "
                                   "gate order.", hint)

"""Checkers for the exercises of notebook 09 (why LSTM: long memory)."""

from __future__ import annotations

import math

import torch
from torch import nn

from ..memory import matching_hidden_size, recurrent_parameter_count
from . import Verdict, as_number, as_whole_number, feedback

__all__ = ["check_baseline_mse", "check_memory_fraction", "check_forget_bias",
           "check_matching_hidden_size"]


def check_baseline_mse(answer: object) -> Verdict:
    """Exercise 09.1: the MSE of always predicting 1 on the adding problem (exactly 1/6)."""
    value = as_number(answer)
    if value is None:
        return feedback(False, "", f"give a number, got {answer!r}.")
    return feedback(abs(value - 1 / 6) < 2e-3,
                    "The target is a sum of two independent U(0, 1) values: its mean is 1 and "
                    "its variance 1/12 + 1/12 = 1/6, which is the MSE of predicting the mean.",
                    f"{value:.4g} is not it. Predicting the target's mean scores its variance; "
                    "the variance of one U(0, 1) is 1/12, and variances of independent values "
                    "add up.")


def check_memory_fraction(answer: object, forget_bias: float = 1.0, steps: int = 50) -> Verdict:
    """Exercise 09.2: the fraction of a cell value left after ``steps`` steps with the input
    gate closed and the forget gate at sigmoid(forget_bias): sigmoid(b) ** steps."""
    expected = (1 / (1 + math.exp(-forget_bias))) ** steps
    value = as_number(answer)
    if value is None:
        return feedback(False, "", f"give a number, got {answer!r}.")
    return feedback(math.isclose(value, expected, rel_tol=1e-3),
                    f"sigmoid({forget_bias:g}) = {1 / (1 + math.exp(-forget_bias)):.4f}, and "
                    f"c_t = f * c_(t-1) multiplies the cell by it at every step: "
                    f"{expected:.3g} of it survives {steps} steps.",
                    f"{value:.4g} is not it. With i = 0 the update is c_t = f * c_(t-1): apply "
                    f"f = sigmoid({forget_bias:g}) once per step, {steps} times.")


def check_forget_bias(lstm: object, seed: int = 0, input_size: int = 2,
                      hidden_size: int = 8) -> Verdict:
    """Exercise 09.3: the learner's ``nn.LSTM(input_size, hidden_size)``, drawn after
    ``torch.manual_seed(seed)``, must have effective forget bias 1 and nothing else changed.

    The reference is drawn on the CPU in float32 and compared in the answer's dtype on the CPU
    (as ``nb04``'s checker does), so a right answer moved to ``float64`` or to another device is
    still right; an LSTM on the ``meta`` device has no values to check and gets a hint."""
    if not isinstance(lstm, nn.LSTM):
        return feedback(False, "", f"pass the nn.LSTM itself, got {type(lstm).__name__}.")
    built = (lstm.input_size, lstm.hidden_size, lstm.num_layers, lstm.bias, lstm.bidirectional,
             lstm.proj_size)
    if built != (input_size, hidden_size, 1, True, False, 0):
        return feedback(False, "", f"build it as nn.LSTM({input_size}, {hidden_size}) right "
                        f"after torch.manual_seed({seed}).")
    if any(p.is_meta for p in lstm.parameters()):
        return feedback(False, "", "this LSTM lives on the meta device: its parameters have "
                        "shapes but no values to check. Build it as nn.LSTM("
                        f"{input_size}, {hidden_size}) on the CPU, without device='meta'.")
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    reference = nn.LSTM(input_size, hidden_size)
    torch.random.set_rng_state(state)
    h = hidden_size
    dtype = lstm.weight_ih_l0.dtype
    ours = {name: p.detach().cpu() for name, p in lstm.named_parameters()}
    drawn = {name: p.detach().to(dtype=ours[name].dtype)
             for name, p in reference.named_parameters()}
    effective = ours["bias_ih_l0"] + ours["bias_hh_l0"]
    expected = drawn["bias_ih_l0"] + drawn["bias_hh_l0"]
    expected[h:2 * h] = 1.0
    weights_kept = (torch.equal(ours["weight_ih_l0"], drawn["weight_ih_l0"])
                    and torch.equal(ours["weight_hh_l0"], drawn["weight_hh_l0"]))
    # a split such as 0.3 + 0.7 adds up to 1 within float32 rounding; half precision needs more
    atol = max(1e-6, 4 * torch.finfo(dtype).eps)
    forget = effective[h:2 * h]
    if torch.allclose(forget, torch.full_like(forget, 2.0)):
        return feedback(False, "", "the forget gate's effective bias is 2: nn.LSTM adds "
                        "bias_ih and bias_hh, and you set both to 1. Set one to 1, the other "
                        "to 0.")
    if not torch.allclose(forget, torch.ones_like(forget), atol=atol):
        return feedback(False, "", "the forget block, rows hidden_size to 2*hidden_size of "
                        "bias_ih_l0 + bias_hh_l0, should add up to 1 in every unit (gate "
                        "order i, f, g, o).")
    if not weights_kept or not torch.allclose(effective, expected, atol=atol):
        return feedback(False, "", "the forget block is right, but something else changed: "
                        "leave the weights and the i, g, o blocks of the biases as they were.")
    return feedback(True, "Every unit's forget gate now starts at sigmoid(1) = 0.73, and only "
                    "the forget gate changed.", "")


def check_matching_hidden_size(answer: object, lstm_hidden_size: int = 32,
                               input_size: int = 2) -> Verdict:
    """Exercise 09.4: the GRU hidden size whose regressor has about as many parameters as the
    LSTM regressor with ``lstm_hidden_size`` units."""
    target = recurrent_parameter_count("lstm", input_size, lstm_hidden_size)
    expected = matching_hidden_size("gru", target, input_size)
    units = as_whole_number(answer)
    if units is None:
        return feedback(False, "", f"give a whole number, got {answer!r}.")
    got = recurrent_parameter_count("gru", input_size, units) if units > 0 else None
    return feedback(units == expected,
                    f"A GRU has 3 gate blocks to the LSTM's 4: {expected} units give "
                    f"{recurrent_parameter_count('gru', input_size, expected)} parameters "
                    f"against the LSTM's {target}.",
                    f"{units} units give {got} parameters against the LSTM's {target}. "
                    "Count 3H(I + H + 2) for the GRU core plus H + 1 for the head, and find "
                    "the H that comes closest.")

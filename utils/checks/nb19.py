"""Checkers for the exercises of notebook 19 (relatives and successors of the LSTM)."""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from . import Verdict, as_number, as_whole_number, feedback

__all__ = ["check_gru_parameters", "check_stabiliser", "check_kv_cache_floats",
           "check_log_d"]


def _count(gates: int, input_size: int, hidden_size: int, num_layers: int, biases: int) -> int:
    return sum(gates * hidden_size * ((input_size if layer == 0 else hidden_size)
                                      + hidden_size + biases) for layer in range(num_layers))


def check_gru_parameters(answer: object, input_size: int = 10, hidden_size: int = 20,
                         num_layers: int = 2) -> Verdict:
    """Exercise 19.1: the number of parameters of ``nn.GRU(input_size, hidden_size,
    num_layers)``: per layer 3 gate blocks of ``hidden_size`` rows reading the layer's input
    and ``h``, and two bias vectors."""
    expected = _count(3, input_size, hidden_size, num_layers, 2)
    value = as_whole_number(answer)
    if value is None:
        return feedback(False, "", f"give a whole number, got {answer!r}.")
    if value == expected:                  # first: a wrong-answer pattern may coincide with it
        return feedback(True, f"{expected:,}: 3 x {hidden_size} x ({input_size} + "
                        f"{hidden_size} + 2) for the first layer, then 3 x {hidden_size} x "
                        f"({hidden_size} + {hidden_size} + 2) per layer above; sum(p.numel() "
                        "for p in gru.parameters()) agrees.", "")
    if value == _count(4, input_size, hidden_size, num_layers, 2):
        return feedback(False, "", "that is the LSTM's count: four gate blocks. The GRU has "
                        "three, r, z and n.")
    if value == _count(3, input_size, hidden_size, num_layers, 1):
        return feedback(False, "", "nn.GRU has two bias vectors per gate block, bias_ih and "
                        "bias_hh, like nn.LSTM (b_hn even sits inside the reset gate's "
                        "product).")
    if value == num_layers * 3 * hidden_size * (input_size + hidden_size + 2):
        return feedback(False, "", f"the layers above the first read the layer below, "
                        f"{hidden_size} features, not the input's {input_size}.")
    if value == _count(3, input_size, hidden_size, 1, 2):
        return feedback(False, "", f"that is one layer; the GRU has {num_layers}.")
    return feedback(False, "",
                    f"{value:,} is not it. Per layer: 3 gate blocks x hidden_size x (inputs "
                    "read + hidden_size + 2 biases).")


def check_stabiliser(answer: object, m_prev: float = 2.0, log_f: float = -0.5,
                     i_pre: float = 3.0) -> Verdict:
    """Exercise 19.2: one step of the sLSTM's stabiliser, given ``m_{t-1}``, ``log f_t`` and
    ``ĩ_t``: the pair ``(m_t, f'_t)`` with ``m_t = max(log f_t + m_{t-1}, ĩ_t)`` and ``f'_t =
    exp(log f_t + m_{t-1} - m_t)``."""
    m = max(log_f + m_prev, i_pre)
    f_stable = math.exp(log_f + m_prev - m)
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        return feedback(False, "", f"give a pair (m_t, f_t'), got {answer!r}.")
    m_answer, f_answer = (as_number(a) for a in answer)
    if m_answer is None or f_answer is None:
        return feedback(False, "", f"give two numbers, got {answer!r}.")
    right = (f"m_t = {m:g} and f'_t = exp({log_f} + {m_prev} - {m:g}) = {f_stable:.4f}; the "
             f"input gate i'_t = exp(ĩ_t - m_t) = {math.exp(i_pre - m):.4g}. One of the two "
             "is always exactly 1.")
    if math.isclose(m_answer, m, rel_tol=1e-4, abs_tol=1e-6) and \
            math.isclose(f_answer, f_stable, rel_tol=1e-4):          # first: see below
        return feedback(True, right, "")
    if not math.isclose(m_answer, m, rel_tol=1e-4, abs_tol=1e-6):
        if math.isclose(m_answer, min(log_f + m_prev, i_pre), rel_tol=1e-4):
            return feedback(False, "", "m_t is the larger of the two candidates, not the "
                            "smaller: it is the log of the largest gate, kept as the scale.")
        return feedback(False, "", f"m_t = {m_answer:g} is not it: m_t = max(log f_t + "
                        f"m_(t-1), ĩ_t) = max({log_f} + {m_prev}, {i_pre}).")
    if math.isclose(f_answer, math.exp(log_f), rel_tol=1e-4):
        return feedback(False, "", "that is the unstabilised f_t = exp(log f_t). The "
                        "stabilised one is exp(log f_t + m_(t-1) - m_t).")
    return feedback(False, "",
                    f"m_t = {m:g} is right; f'_t = {f_answer:g} is not: f'_t = exp(log f_t "
                    "+ m_(t-1) - m_t).")


def check_kv_cache_floats(answer: object, num_layers: int = 12, d_model: int = 768,
                          context: int = 2048, batch: int = 1) -> Verdict:
    """Exercise 19.3: the numbers a key-value cache holds after ``context`` positions:
    a key and a value of ``d_model`` numbers per position and layer, 2 L T d (per sequence)."""
    expected = 2 * num_layers * context * d_model * batch
    value = as_whole_number(answer)
    if value is None:
        return feedback(False, "", f"give a whole number, got {answer!r}.")
    if value == expected:                  # first: with one layer, expected // L == expected
        return feedback(True, f"{expected:,} numbers (2 x {num_layers} x {context} x "
                        f"{d_model}), {expected * 2 / 2 ** 20:.0f} MiB in 16-bit floats, and "
                        "growing with every character; a 2-layer LSTM of 1,024 units keeps "
                        "4,096 whatever the context.", "")
    if value == expected // 2:
        return feedback(False, "", "that counts the keys only; the values are cached too.")
    if value == expected // num_layers:
        return feedback(False, "", "every layer has its own keys and values: multiply by the "
                        "number of layers.")
    if value == 2 * expected:
        return feedback(False, "", "that is the size in bytes at 16 bits per number; the "
                        "question asks for the numbers.")
    return feedback(False, "",
                    f"{value:,} is not it. Per position and layer, a key and a value of "
                    "d_model numbers each: 2 x layers x context x d_model.")


def check_log_d(answer: object, i_pre=(0.5, -1.0, 2.0, 0.0),
                f_pre=(1.0, 0.0, -2.0, 3.0)) -> Verdict:
    """Exercise 19.4: the mLSTM's ``log D`` for one sequence: ``log D[t, s] = Σ_{j=s+1..t}
    log σ(f̃_j) + ĩ_s`` for ``s <= t`` and ``-inf`` above the diagonal, a ``(T, T)`` tensor."""
    i_pre = torch.tensor(i_pre, dtype=torch.float64)
    cumulative = torch.cumsum(F.logsigmoid(torch.tensor(f_pre, dtype=torch.float64)), 0)
    steps = len(i_pre)
    unmasked = cumulative[:, None] - cumulative[None, :] + i_pre[None, :]
    upper = ~torch.ones(steps, steps, dtype=torch.bool).tril()
    lower = ~upper
    expected = unmasked.masked_fill(upper, float("-inf"))
    if not isinstance(answer, torch.Tensor):
        return feedback(False, "", f"give a tensor, got {type(answer).__name__}.")
    if tuple(answer.shape) != (steps, steps) or not answer.is_floating_point():
        return feedback(False, "", f"log D is a ({steps}, {steps}) floating tensor, one row "
                        f"per step t and one column per step s; got {tuple(answer.shape)}, "
                        f"{answer.dtype}.")
    answer = answer.detach().double()
    right = "exp(log D[t, s]) = f_(s+1) ... f_t i_s: how much of step s's write is left at " \
        "step t. With cumulative sums it is one subtraction per entry, which is what makes " \
        "the parallel form fast."
    if torch.isneginf(answer[upper]).all() and \
            torch.allclose(answer[lower], expected[lower], atol=1e-6):
        return feedback(True, right, "")
    # rows and columns swapped: the whole matrix transposed (so -inf below the diagonal), or
    # the transposed formula F[s] - F[t] + i[t] with -inf above it; tested before the -inf
    # test, which the first of these fails too
    if torch.allclose(answer, expected.T, atol=1e-6) or (
            torch.isneginf(answer[upper]).all()
            and torch.allclose(answer[lower], unmasked.T[lower], atol=1e-6)):
        return feedback(False, "", "rows and columns are swapped: row t (the step that "
                        "reads), column s (the step that wrote).")
    if not torch.isneginf(answer[upper]).all():
        return feedback(False, "", "above the diagonal (s > t) log D must be -inf: step t "
                        "cannot read what is written later, and exp(-inf) = 0.")
    if torch.allclose(answer[lower], (expected - i_pre[None, :])[lower], atol=1e-6):
        return feedback(False, "", "add the input gate ĩ_s of the step that wrote.")
    with_f_s = expected + F.logsigmoid(torch.tensor(f_pre, dtype=torch.float64))[None, :]
    if torch.allclose(answer[lower], with_f_s[lower], atol=1e-6):
        return feedback(False, "", "the forget gates run from j = s + 1 to t: step s's own "
                        "forget gate acts before its write, so it does not decay it.")
    return feedback(False, "", "not yet: with F = cumsum(logsigmoid(f_pre)), log D[t, s] = "
                    "F[t] - F[s] + i_pre[s] for s <= t.")

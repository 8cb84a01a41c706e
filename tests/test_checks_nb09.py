import math

import numpy as np
import torch
from torch import nn

from utils.checks.nb09 import (
    check_baseline_mse,
    check_forget_bias,
    check_matching_hidden_size,
    check_memory_fraction,
)


def test_baseline_mse():
    assert check_baseline_mse(1 / 6) and check_baseline_mse(0.1667)
    assert check_baseline_mse(torch.tensor(1 / 6)) and check_baseline_mse(np.float32(1 / 6))
    assert not check_baseline_mse(1 / 12) and not check_baseline_mse(0.25)
    assert not check_baseline_mse(None) and not check_baseline_mse(True)
    assert "variance" in repr(check_baseline_mse(1 / 12))


def test_memory_fraction():
    expected = (1 / (1 + math.exp(-1))) ** 50
    assert check_memory_fraction(expected) and check_memory_fraction(expected * 1.0005)
    assert not check_memory_fraction(0.9 ** 50) and not check_memory_fraction(1.0)
    assert check_memory_fraction(0.5 ** 10, forget_bias=0.0, steps=10)
    assert not check_memory_fraction("0.0") and "number" in repr(check_memory_fraction("0.0"))


def seeded_lstm(seed=0):
    torch.manual_seed(seed)
    return nn.LSTM(2, 8)


def test_forget_bias_right_answer():
    lstm = seeded_lstm()
    with torch.no_grad():
        lstm.bias_ih_l0[8:16] = 1.0
        lstm.bias_hh_l0[8:16] = 0.0
    assert check_forget_bias(lstm)
    other = seeded_lstm()  # the other split of the same effective bias is right too
    with torch.no_grad():
        other.bias_ih_l0[8:16] = 0.25
        other.bias_hh_l0[8:16] = 0.75
    assert check_forget_bias(other)


def test_forget_bias_wrong_answers_get_their_own_hint():
    untouched = seeded_lstm()
    assert not check_forget_bias(untouched)
    both = seeded_lstm()
    with torch.no_grad():
        both.bias_ih_l0[8:16] = 1.0
        both.bias_hh_l0[8:16] = 1.0
    assert not check_forget_bias(both) and "is 2" in repr(check_forget_bias(both))
    wrong_block = seeded_lstm()
    with torch.no_grad():
        wrong_block.bias_ih_l0[:8] = 1.0
        wrong_block.bias_hh_l0[:8] = 0.0
    assert not check_forget_bias(wrong_block) and "i, f, g, o" in repr(
        check_forget_bias(wrong_block))
    too_much = seeded_lstm()
    with torch.no_grad():
        too_much.bias_ih_l0.fill_(1.0)
        too_much.bias_hh_l0.zero_()
    assert not check_forget_bias(too_much) and "something else" in repr(
        check_forget_bias(too_much))
    assert not check_forget_bias(nn.GRU(2, 8)) and not check_forget_bias(nn.LSTM(2, 4))


def test_forget_bias_right_answer_in_another_dtype_is_right():
    for dtype in (torch.float64, torch.float16, torch.bfloat16):
        lstm = seeded_lstm()
        with torch.no_grad():
            lstm.bias_ih_l0[8:16] = 1.0
            lstm.bias_hh_l0[8:16] = 0.0
        assert check_forget_bias(lstm.to(dtype)), dtype
    built_in_float64 = seeded_lstm().double()          # set after the cast: still right
    with torch.no_grad():
        built_in_float64.bias_ih_l0[8:16] = 0.0
        built_in_float64.bias_hh_l0[8:16] = 1.0
    assert check_forget_bias(built_in_float64)
    wrong = seeded_lstm().double()                     # and a wrong one still wrong
    with torch.no_grad():
        wrong.bias_ih_l0.fill_(1.0)
        wrong.bias_hh_l0.zero_()
    assert not check_forget_bias(wrong) and "something else" in repr(check_forget_bias(wrong))


def test_forget_bias_never_raises():
    meta = nn.LSTM(2, 8, device="meta")
    verdict = check_forget_bias(meta)                  # no values: a hint, not an exception
    assert not verdict and "meta device" in repr(verdict)
    for odd in (nn.LSTM(2, 8, bias=False), nn.LSTM(2, 8, bidirectional=True),
                nn.LSTM(2, 8, proj_size=4), nn.LSTM(2, 8, num_layers=2), "lstm", None):
        verdict = check_forget_bias(odd)
        assert not verdict and "nn.LSTM" in repr(verdict)


def test_forget_bias_check_leaves_the_global_generator_alone():
    lstm = seeded_lstm()
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    check_forget_bias(lstm)
    assert torch.equal(torch.rand(3), expected)


def test_matching_hidden_size():
    assert check_matching_hidden_size(37)
    assert not check_matching_hidden_size(32) and not check_matching_hidden_size(38)
    assert "parameters" in repr(check_matching_hidden_size(32))
    for same in (37.0, np.int64(37), torch.tensor(37)):
        assert check_matching_hidden_size(same)
    assert not check_matching_hidden_size(37.5) and not check_matching_hidden_size(0)

"""Notebook 04's exercise checkers: right answers pass, the usual wrong ones get their hint."""

import math

import torch
from torch import nn

from utils.checks import nb04
from utils.initialisation import init_lstm


def test_default_bound():
    assert nb04.check_default_bound(1 / math.sqrt(64))
    assert nb04.check_default_bound(torch.tensor(0.125))
    assert nb04.check_default_bound(0.125, hidden_size=64)
    assert not nb04.check_default_bound(None)
    assert not nb04.check_default_bound(True)
    wrong = nb04.check_default_bound(1 / 64)
    assert not wrong and "square root" in wrong.message
    xavier = nb04.check_default_bound(math.sqrt(6 / (64 + 256)))
    assert not xavier and "Xavier" in xavier.message
    assert "Correct" in nb04.check_default_bound(0.125).message


def test_forget_bias():
    lstm = init_lstm(nn.LSTM(3, 5, num_layers=2, bidirectional=True), "forget_bias_1")
    assert nb04.check_forget_bias(lstm)

    both = init_lstm(nn.LSTM(3, 5, num_layers=2), "xavier_orthogonal")
    with torch.no_grad():
        for name, p in both.named_parameters():
            if "bias" in name:
                p[5:10] = 1.0
    verdict = nb04.check_forget_bias(both)
    assert not verdict and "sees 2" in verdict.message

    first_layer_only = init_lstm(nn.LSTM(3, 5, num_layers=2), "xavier_orthogonal")
    with torch.no_grad():
        first_layer_only.bias_ih_l0[5:10] = 1.0
    verdict = nb04.check_forget_bias(first_layer_only)
    assert not verdict and "bias_ih_l1" in verdict.message

    assert not nb04.check_forget_bias(None)
    assert not nb04.check_forget_bias(nn.LSTM(3, 5, bias=False))
    assert not nb04.check_forget_bias(nn.LSTM(3, 5))  # the default: random, not 1


def test_orthogonal_blocks():
    H = 16
    weight = torch.empty(4 * H, H)
    for k in range(4):
        nn.init.orthogonal_(weight[k * H:(k + 1) * H])
    assert nb04.check_orthogonal_blocks(weight, H)

    whole = nn.init.orthogonal_(torch.empty(4 * H, H))
    verdict = nb04.check_orthogonal_blocks(whole, H)
    assert not verdict and "whole (4H, H) matrix" in verdict.message

    default = nn.LSTM(4, H).weight_hh_l0
    verdict = nb04.check_orthogonal_blocks(default, H)
    assert not verdict and "not orthogonal" in verdict.message
    assert not nb04.check_orthogonal_blocks(torch.empty(H, H), H)
    assert not nb04.check_orthogonal_blocks([[1.0]], H)

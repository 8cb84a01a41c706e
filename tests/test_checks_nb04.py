"""Notebook 04's exercise checkers: right answers pass, the usual wrong ones get their hint."""

import math

import numpy as np
import torch
from torch import nn

from utils.checks import nb04
from utils.initialisation import init_lstm


def test_default_bound():
    assert nb04.check_default_bound(1 / math.sqrt(64))
    assert nb04.check_default_bound(torch.tensor(0.125))
    assert nb04.check_default_bound(np.float32(0.125))
    assert nb04.check_default_bound(np.float64(0.125))
    assert nb04.check_default_bound(0.125, hidden_size=64)
    assert not nb04.check_default_bound(None)
    assert not nb04.check_default_bound(True)
    wrong = nb04.check_default_bound(1 / 64)
    assert not wrong and "square root" in wrong.message
    xavier = nb04.check_default_bound(math.sqrt(6 / (64 + 256)))
    assert not xavier and "Xavier" in xavier.message
    assert "Correct" in nb04.check_default_bound(0.125).message


def exercise_lstm(seed=0):
    """The exercise cell's LSTM: drawn right after torch.manual_seed(seed)."""
    torch.manual_seed(seed)
    return nn.LSTM(4, 8, num_layers=2, bidirectional=True)


def biases(lstm):
    return [(name, p) for name, p in lstm.named_parameters() if name.startswith("bias")]


def right_answer(lstm):
    with torch.no_grad():
        for name, p in biases(lstm):
            p[8:16] = 1.0 if name.startswith("bias_ih") else 0.0
    return lstm


def test_forget_bias_accepts_the_right_answer_and_leaves_the_generator_alone():
    lstm = right_answer(exercise_lstm())
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    verdict = nb04.check_forget_bias(lstm)
    assert verdict and "nothing else changed" in repr(verdict)
    assert torch.equal(torch.rand(3), expected)
    split = exercise_lstm()                     # any split of 1 over the two vectors
    with torch.no_grad():
        for _, p in biases(split):
            p[8:16] = 0.5
    assert nb04.check_forget_bias(split)


def test_forget_bias_rejects_both_forget_rows_filled():
    lstm = exercise_lstm()
    with torch.no_grad():
        for _, p in biases(lstm):
            p[8:16] = 1.0
    verdict = nb04.check_forget_bias(lstm)
    assert not verdict and "sees 2" in verdict.message


def test_forget_bias_rejects_every_gate_set_to_one():
    lstm = exercise_lstm()
    with torch.no_grad():
        for name, p in biases(lstm):
            p.fill_(1.0) if name.startswith("bias_ih") else p.zero_()
    verdict = nb04.check_forget_bias(lstm)
    assert not verdict and "i, g, o rows of bias_ih_l0 changed" in verdict.message


def test_forget_bias_rejects_zeroed_weights():
    lstm = right_answer(exercise_lstm())
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            if name.startswith("weight"):
                p.zero_()
    verdict = nb04.check_forget_bias(lstm)
    assert not verdict and "weight_ih_l0 changed" in verdict.message


def test_forget_bias_rejects_a_redrawn_lstm_and_compares_with_original_when_given():
    import copy

    redrawn = init_lstm(exercise_lstm(), "forget_bias_1")  # zeroes the i, g, o biases
    verdict = nb04.check_forget_bias(redrawn)
    assert not verdict and "torch.manual_seed(0)" in verdict.message
    other_seed = exercise_lstm(seed=3)
    original = copy.deepcopy(other_seed)
    right_answer(other_seed)
    assert not nb04.check_forget_bias(other_seed)
    assert nb04.check_forget_bias(other_seed, seed=3)
    assert nb04.check_forget_bias(other_seed, original=original)
    verdict = nb04.check_forget_bias(other_seed, original=nn.LSTM(4, 8))
    assert not verdict and "copy of the same nn.LSTM" in verdict.message


def test_forget_bias_names_the_layer_left_out():
    first_layer_only = exercise_lstm()
    with torch.no_grad():
        first_layer_only.bias_ih_l0[8:16] = 1.0
        first_layer_only.bias_hh_l0[8:16] = 0.0
    verdict = nb04.check_forget_bias(first_layer_only)
    assert not verdict and "bias_ih_l0_reverse" in verdict.message

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

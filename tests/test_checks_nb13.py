"""Notebook 13's checkers accept the right answers (in any numeric form) and say why the
common wrong ones are wrong; the expected values agree with what utils.seq2seq computes."""

import re

import numpy as np
import pytest
import torch
from torch import nn

from utils.checks.nb13 import (
    check_decoder_state_shape,
    check_exhaustive_count,
    check_length_normalised_choice,
    check_source_mask,
)
from utils.seq2seq import TARGET_SPECIALS, Seq2Seq, bridge_state, exhaustive_search
from utils.sequences import length_mask


def test_decoder_state_shape_is_what_bridge_state_gives():
    lstm = nn.LSTM(4, 32, num_layers=2, bidirectional=True, batch_first=True)
    _, (h_n, c_n) = lstm(torch.zeros(256, 3, 4))
    h_0, _ = bridge_state(h_n, c_n, num_layers=2, bidirectional=True)
    assert check_decoder_state_shape(h_0.shape) and check_decoder_state_shape((2, 256, 64))
    assert check_decoder_state_shape((np.int64(2), 256.0, torch.tensor(64)))
    assert not check_decoder_state_shape(h_n.shape)
    assert "h_n itself" in repr(check_decoder_state_shape((4, 256, 32)))
    assert "top layer" in repr(check_decoder_state_shape((1, 256, 64)))
    assert not check_decoder_state_shape((2, 64, 256)) and not check_decoder_state_shape("2x256")
    assert check_decoder_state_shape((1, 8, 20), num_layers=1, hidden_size=10, batch=8)


def test_exhaustive_count_is_what_exhaustive_search_counts():
    model = Seq2Seq(5, 11 + len(TARGET_SPECIALS), 2, 2)
    with pytest.raises(ValueError, match=re.escape("would score 28,531,167,061 outputs")):
        exhaustive_search(model, torch.zeros(1, 2, dtype=torch.long), [2], 11)
    assert check_exhaustive_count(28_531_167_061) and check_exhaustive_count(2.8531167061e10)
    assert check_exhaustive_count((11 ** 11 - 1) // 10)
    for wrong in (11 ** 11, 12 ** 11):
        assert "<eos>" in repr(check_exhaustive_count(wrong))
    assert "shorter" in repr(check_exhaustive_count(11 ** 10))
    assert not check_exhaustive_count(None) and not check_exhaustive_count(True)
    assert check_exhaustive_count(31, writable=2, max_len=5)


def test_source_mask():
    assert check_source_mask(length_mask([5, 2, 3], 5))
    assert check_source_mask(torch.arange(5) < torch.tensor([5, 2, 3])[:, None])
    assert "inverted" in repr(check_source_mask(~length_mask([5, 2, 3], 5)))
    assert "bool" in repr(check_source_mask(length_mask([5, 2, 3], 5).float()))
    assert "shape (3, 5)" in repr(check_source_mask(length_mask([5, 2, 3], 6)))
    assert not check_source_mask(length_mask([5, 3, 3], 5))
    assert not check_source_mask([[True] * 5] * 3)


def test_length_normalised_choice():
    assert -1.8 / 6 > -1.2 / 3 and -1.2 > -1.8     # the exercise's numbers
    assert check_length_normalised_choice("B") and check_length_normalised_choice(" b ")
    assert not check_length_normalised_choice("A")
    assert "log_prob / length" in repr(check_length_normalised_choice("A"))
    assert not check_length_normalised_choice(2) and not check_length_normalised_choice(None)

import itertools
import warnings

import pytest
import torch
from torch import nn

from utils.states import LearnedInitialState, state_shapes, zero_state

GRID = list(itertools.product([1, 2], [False, True], [False, True], [0, 3], [False, True]))


def make_lstm(num_layers, batch_first, bidirectional, proj_size, dtype=torch.float32):
    torch.manual_seed(0)
    return nn.LSTM(4, 6, num_layers, batch_first=batch_first, bidirectional=bidirectional,
                   proj_size=proj_size).to(dtype)


@pytest.fixture(autouse=True)
def quiet_onednn():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="LSTM with projections is not supported")
        yield


@pytest.mark.parametrize("num_layers, batch_first, bidirectional, proj_size, unbatched", GRID)
def test_zero_state_has_the_shapes_nn_lstm_returns_and_changes_nothing(
        num_layers, batch_first, bidirectional, proj_size, unbatched):
    lstm = make_lstm(num_layers, batch_first, bidirectional, proj_size, torch.float64)
    x = torch.randn(3, 5, 4, dtype=torch.float64)
    if unbatched:
        x = x[0]
    out, (h_n, c_n) = lstm(x)
    h0, c0 = zero_state(lstm, x)
    assert (tuple(h0.shape), tuple(c0.shape)) == \
        state_shapes(lstm, None if unbatched else x.shape[0 if batch_first else 1]) == \
        (tuple(h_n.shape), tuple(c_n.shape))
    assert h0.dtype == c0.dtype == torch.float64 and not h0.any() and not c0.any()
    out_z, (h_z, c_z) = lstm(x, (h0, c0))
    assert torch.equal(out, out_z) and torch.equal(h_n, h_z) and torch.equal(c_n, c_z)


def test_zero_state_reads_the_batch_the_way_the_lstm_does():
    x = torch.randn(3, 5, 4)
    assert zero_state(make_lstm(2, True, False, 0), x)[0].shape == (2, 3, 6)
    assert zero_state(make_lstm(2, False, False, 0), x)[0].shape == (2, 5, 6)


@pytest.mark.parametrize("bad, error, text", [
    ("not a tensor", TypeError, "torch.Tensor"),
    (torch.zeros(4), ValueError, "got 1-D shape (4,)"),
    (torch.zeros(1, 2, 3, 4), ValueError, "got 4-D"),
])
def test_zero_state_rejects_bad_input(bad, error, text):
    with pytest.raises(error, match=text.replace("(", r"\(").replace(")", r"\)")):
        zero_state(make_lstm(1, True, False, 0), bad)


def test_state_shapes_checks_its_arguments():
    with pytest.raises(TypeError, match="nn.LSTM"):
        state_shapes(nn.GRU(4, 6), 3)
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        state_shapes(make_lstm(1, True, False, 0), 0)


@pytest.mark.parametrize("num_layers, batch_first, bidirectional, proj_size, unbatched", GRID)
def test_learned_state_starts_as_the_default_and_fits_nn_lstm(
        num_layers, batch_first, bidirectional, proj_size, unbatched):
    lstm = make_lstm(num_layers, batch_first, bidirectional, proj_size)
    learned = LearnedInitialState.like(lstm)
    x = torch.randn(3, 5, 4)
    if unbatched:
        x = x[0]
    batch = None if unbatched else x.shape[0 if batch_first else 1]
    h0, c0 = learned(batch)
    assert (tuple(h0.shape), tuple(c0.shape)) == state_shapes(lstm, batch)
    out, _ = lstm(x, (h0, c0))
    assert torch.equal(out, lstm(x)[0])


def test_learned_state_is_a_view_whose_gradient_sums_over_the_batch():
    lstm = make_lstm(2, True, False, 0)
    learned = LearnedInitialState.like(lstm)
    with torch.no_grad():
        learned.h0.normal_()
        learned.c0.normal_()
    h0, c0 = learned(4)
    assert h0.data_ptr() == learned.h0.data_ptr() and h0.stride(1) == 0  # no copy
    # the same state as independent leaves, one copy per sequence
    h_leaf = h0.detach().clone().requires_grad_()
    c_leaf = c0.detach().clone().requires_grad_()
    x = torch.randn(4, 5, 4)
    lstm(x, (h0, c0))[0].pow(2).sum().backward()
    lstm(x, (h_leaf, c_leaf))[0].pow(2).sum().backward()
    torch.testing.assert_close(learned.h0.grad, h_leaf.grad.sum(1, keepdim=True))
    torch.testing.assert_close(learned.c0.grad, c_leaf.grad.sum(1, keepdim=True))
    assert learned.h0.grad.abs().sum() > 0 and learned.c0.grad.abs().sum() > 0


def test_learned_state_moves_when_trained():
    lstm = make_lstm(1, True, False, 0)
    learned = LearnedInitialState.like(lstm)
    before = [p.detach().clone() for p in learned.parameters()]
    optimizer = torch.optim.SGD(learned.parameters(), lr=0.1)
    lstm(torch.randn(2, 3, 4), learned(2))[0].sum().backward()
    optimizer.step()
    assert all(not torch.equal(b, p) for b, p in zip(before, learned.parameters(), strict=True))


def test_learned_state_follows_the_lstm_dtype():
    learned = LearnedInitialState.like(make_lstm(1, True, False, 0, torch.float64))
    assert learned.h0.dtype == learned.c0.dtype == torch.float64


@pytest.mark.parametrize("kwargs, error, text", [
    ({"num_layers": 0, "hidden_size": 4}, ValueError, "num_layers must be >= 1, got 0"),
    ({"num_layers": 1, "hidden_size": 2.0}, TypeError, "hidden_size must be an int"),
    ({"num_layers": 1, "hidden_size": 4, "bidirectional": 1}, TypeError, "bidirectional"),
    ({"num_layers": 1, "hidden_size": 4, "proj_size": 4}, ValueError, "got 4"),
])
def test_learned_state_rejects_bad_sizes(kwargs, error, text):
    with pytest.raises(error, match=text):
        LearnedInitialState(**kwargs)


def test_learned_state_rejects_a_bad_batch_size():
    learned = LearnedInitialState(1, 4)
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        learned(0)
    with pytest.raises(TypeError, match="batch_size must be an int"):
        learned(2.0)

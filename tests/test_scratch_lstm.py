"""ScratchLSTM and ScratchLSTMCell are nn.LSTM and nn.LSTMCell: same parameters, same numbers.

Parity is checked in float64 within 1e-10 on the outputs, h_n, c_n and the gradients of every
parameter, of the input and of the given states, over every constructor option.
"""

from __future__ import annotations

import itertools
import math
import warnings

import pytest
import torch
from torch import nn

from utils.models import ScratchLSTM, ScratchLSTMCell, lstm_step

# torch's own notice when proj_size > 0 makes it leave its oneDNN kernel; not our concern here.
pytestmark = pytest.mark.filterwarnings(
    "ignore:LSTM with projections is not supported with oneDNN:UserWarning")
TOL = {"rtol": 0, "atol": 1e-10}
INPUT, HIDDEN, PROJ, BATCH = 3, 4, 2, 2


def twins(seed=0, **options):
    """An nn.LSTM (float64) and a ScratchLSTM holding its weights."""
    torch.manual_seed(seed)
    reference = nn.LSTM(INPUT, HIDDEN, **options).double()
    scratch = ScratchLSTM(INPUT, HIDDEN, **options).double()
    scratch.load_state_dict(reference.state_dict())
    return reference, scratch


def run(model, x, state, weights):
    """Forward, then backward of a random weighting of every output; returns all results."""
    for p in model.parameters():
        p.grad = None
    x = x.clone().requires_grad_()
    state = None if state is None else tuple(s.clone().requires_grad_() for s in state)
    output, (h_n, c_n) = model(x, state)
    loss = sum((t * w).sum() for t, w in zip((output, h_n, c_n), weights, strict=True))
    loss.backward()
    grads = {name: p.grad for name, p in model.named_parameters()}
    state_grads = () if state is None else tuple(s.grad for s in state)
    return output, h_n, c_n, x.grad, state_grads, grads


def assert_same(reference, scratch, x, state):
    out_ref, (h_ref, c_ref) = reference(x, state)
    torch.manual_seed(1)
    weights = [torch.randn_like(t) for t in (out_ref, h_ref, c_ref)]
    expected = run(reference, x, state, weights)
    got = run(scratch, x, state, weights)
    for name, e, g in zip(("output", "h_n", "c_n", "input grad"), expected[:4], got[:4],
                          strict=True):
        assert e.shape == g.shape, name
        torch.testing.assert_close(g, e, **TOL, msg=lambda m, name=name: f"{name}: {m}")
    for e, g in zip(expected[4], got[4], strict=True):
        torch.testing.assert_close(g, e, **TOL)
    assert expected[5].keys() == got[5].keys()
    for name in expected[5]:
        torch.testing.assert_close(got[5][name], expected[5][name], **TOL,
                                   msg=lambda m, name=name: f"grad of {name}: {m}")


GRID = list(itertools.product(
    [1, 2, 3],            # num_layers
    [True, False],        # bias
    [False, True],        # batch_first
    [False, True],        # bidirectional
    [0, PROJ],            # proj_size
    [False, True],        # unbatched 2-D input
    [False, True],        # given (h0, c0)
    [1, 4],               # seq_len
))


@pytest.mark.parametrize(
    "num_layers, bias, batch_first, bidirectional, proj_size, unbatched, given_state, seq_len",
    GRID)
def test_parity_with_nn_lstm_over_every_option(num_layers, bias, batch_first, bidirectional,
                                               proj_size, unbatched, given_state, seq_len):
    reference, scratch = twins(num_layers=num_layers, bias=bias, batch_first=batch_first,
                               bidirectional=bidirectional, proj_size=proj_size)
    generator = torch.Generator().manual_seed(2)
    if unbatched:
        shape, batch = (seq_len, INPUT), ()
    else:
        shape = (BATCH, seq_len, INPUT) if batch_first else (seq_len, BATCH, INPUT)
        batch = (BATCH,)
    x = torch.randn(shape, generator=generator, dtype=torch.float64)
    state = None
    if given_state:
        layers = num_layers * (2 if bidirectional else 1)
        state = (torch.randn(layers, *batch, proj_size or HIDDEN, generator=generator,
                             dtype=torch.float64),
                 torch.randn(layers, *batch, HIDDEN, generator=generator, dtype=torch.float64))
    assert_same(reference, scratch, x, state)


def test_parity_in_eval_mode_with_dropout():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reference, scratch = twins(num_layers=3, dropout=0.5, bidirectional=True)
    reference.eval()
    scratch.eval()
    x = torch.randn(5, BATCH, INPUT, dtype=torch.float64)
    assert_same(reference, scratch, x, None)


def test_training_dropout_acts_between_layers_only():
    x = torch.randn(6, BATCH, INPUT)
    with pytest.warns(UserWarning, match="num_layers=1"):
        one_layer = ScratchLSTM(INPUT, HIDDEN, num_layers=1, dropout=0.5)
    # One layer: nothing lies between layers, so training output equals eval output.
    torch.testing.assert_close(one_layer.train()(x)[0], one_layer.eval()(x)[0], rtol=0, atol=0)

    two_layers = ScratchLSTM(INPUT, HIDDEN, num_layers=2, dropout=0.5)
    out_eval = two_layers.eval()(x)[0]
    torch.manual_seed(3)
    out_train, (h_train, c_train) = two_layers.train()(x)
    assert not torch.allclose(out_train, out_eval)
    assert (out_train != 0).all(), "the last layer's output must not be dropped"
    # The same numbers by hand: layer 0, dropout of its whole output sequence, layer 1.
    layers = [ScratchLSTM(INPUT, HIDDEN), ScratchLSTM(HIDDEN, HIDDEN)]
    for index, layer in enumerate(layers):
        layer.load_state_dict({name.replace(f"_l{index}", "_l0"): value for name, value
                               in two_layers.state_dict().items() if f"_l{index}" in name})
    torch.manual_seed(3)
    out0, (h0, c0) = layers[0](x)
    out1, (h1, c1) = layers[1](nn.functional.dropout(out0, 0.5, training=True))
    torch.testing.assert_close(out_train, out1, rtol=0, atol=0)
    torch.testing.assert_close(h_train, torch.cat([h0, h1]), rtol=0, atol=0)
    torch.testing.assert_close(c_train, torch.cat([c0, c1]), rtol=0, atol=0)


def test_training_parity_with_dropout_one():
    """dropout=1 zeroes every input of the upper layers: deterministic, so nn.LSTM must agree."""
    reference, scratch = twins(num_layers=3, dropout=1.0, bidirectional=True)
    reference.train()
    scratch.train()
    x = torch.randn(4, BATCH, INPUT, dtype=torch.float64)
    assert_same(reference, scratch, x, None)


@pytest.mark.parametrize("options", [{}, {"num_layers": 3, "bidirectional": True},
                                     {"num_layers": 2, "proj_size": PROJ, "bias": False}])
def test_default_initialisation_is_torchs(options):
    torch.manual_seed(5)
    reference = nn.LSTM(INPUT, HIDDEN, **options)
    torch.manual_seed(5)
    scratch = ScratchLSTM(INPUT, HIDDEN, **options)
    names = [name for name, _ in reference.named_parameters()]
    assert [name for name, _ in scratch.named_parameters()] == names
    bound = 1 / math.sqrt(HIDDEN)
    for (name, p), q in zip(reference.named_parameters(), scratch.parameters(), strict=True):
        assert p.shape == q.shape and torch.equal(p, q), name
        assert q.abs().max() <= bound and q.min() < 0 < q.max(), name


@pytest.mark.parametrize("options", [{}, {"num_layers": 2, "bidirectional": True,
                                          "proj_size": PROJ}, {"bias": False}])
def test_load_state_dict_both_directions(options):
    torch.manual_seed(6)
    reference = nn.LSTM(INPUT, HIDDEN, **options)
    scratch = ScratchLSTM(INPUT, HIDDEN, **options)
    assert reference.state_dict().keys() == scratch.state_dict().keys()
    x = torch.randn(5, BATCH, INPUT)
    scratch.load_state_dict(reference.state_dict())          # nn.LSTM -> scratch
    torch.testing.assert_close(scratch(x), reference(x), atol=1e-6, rtol=0)
    fresh = nn.LSTM(INPUT, HIDDEN, **options)
    assert not torch.allclose(fresh(x)[0], scratch(x)[0])
    fresh.load_state_dict(scratch.state_dict())              # scratch -> nn.LSTM
    torch.testing.assert_close(fresh(x), scratch(x), atol=1e-6, rtol=0)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("batch", [(), (3,)])
@pytest.mark.parametrize("given_state", [False, True])
def test_cell_parity_with_nn_lstmcell(bias, batch, given_state):
    torch.manual_seed(7)
    reference = nn.LSTMCell(INPUT, HIDDEN, bias=bias).double()
    torch.manual_seed(7)
    scratch = ScratchLSTMCell(INPUT, HIDDEN, bias=bias).double()
    for (name, p), (name_s, q) in zip(reference.named_parameters(), scratch.named_parameters(),
                                      strict=True):
        assert name == name_s and torch.equal(p, q)  # same names, same default draw
    x = torch.randn(*batch, INPUT, dtype=torch.float64)
    state = (torch.randn(*batch, HIDDEN, dtype=torch.float64),
             torch.randn(*batch, HIDDEN, dtype=torch.float64)) if given_state else None
    weights = [torch.randn(*batch, HIDDEN, dtype=torch.float64) for _ in range(2)]
    results = []
    for model in (reference, scratch):
        xg = x.clone().requires_grad_()
        sg = None if state is None else tuple(s.clone().requires_grad_() for s in state)
        h, c = model(xg, sg)
        ((h * weights[0]).sum() + (c * weights[1]).sum()).backward()
        results.append([h, c, xg.grad, *(s.grad for s in sg or ()),
                        *(p.grad for p in model.parameters())])
    for expected, got in zip(*results, strict=True):
        torch.testing.assert_close(got, expected, **TOL)


def test_lstm_step_is_the_cell():
    cell = ScratchLSTMCell(INPUT, HIDDEN)
    x, h, c = torch.randn(2, INPUT), torch.randn(2, HIDDEN), torch.randn(2, HIDDEN)
    torch.testing.assert_close(
        cell(x, (h, c)), lstm_step(x, h, c, *cell.parameters()), rtol=0, atol=0)


def test_no_call_into_torchs_lstm_kernels(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the scratch LSTM called a fused LSTM kernel")
    for name in ("lstm", "lstm_cell"):
        monkeypatch.setattr(torch._VF, name, refuse)
    monkeypatch.setattr(nn.LSTM, "forward", refuse)
    monkeypatch.setattr(nn.LSTMCell, "forward", refuse)
    with pytest.raises(AssertionError, match="fused"):
        nn.LSTM(INPUT, HIDDEN)(torch.randn(2, 1, INPUT))  # the patch is in force
    out, _ = ScratchLSTM(INPUT, HIDDEN, num_layers=2, bidirectional=True)(torch.randn(2, 1, INPUT))
    h, _ = ScratchLSTMCell(INPUT, HIDDEN)(torch.randn(1, INPUT))
    assert out.shape == (2, 1, 2 * HIDDEN) and h.shape == (1, HIDDEN)


@pytest.mark.parametrize("options, x, state, expected, received", [
    ({}, torch.randn(5, 2, 7), None, "input_size=3", "(5, 2, 7)"),
    ({}, torch.randn(2, 5, 2, 3), None, "(seq_len, batch, input_size)", "(2, 5, 2, 3)"),
    ({"batch_first": True}, torch.randn(3), None, "(batch, seq_len, input_size)", "(3,)"),
    ({}, torch.randn(0, 2, 3), None, "at least one time step", "(0, 2, 3)"),
    ({"batch_first": True}, torch.randn(2, 0, 3), None, "at least one time step", "(2, 0, 3)"),
    ({}, torch.randn(5, 2, 3, dtype=torch.float64), None, "dtype torch.float32",
     "got torch.float64"),
    ({}, torch.randn(5, 2, 3), (torch.zeros(1, 2, 4, dtype=torch.float64), torch.zeros(1, 2, 4)),
     "h0 of dtype torch.float32", "got torch.float64"),
    ({"num_layers": 2}, torch.randn(5, 2, 3), (torch.zeros(1, 2, 4), torch.zeros(2, 2, 4)),
     "h0 of shape (2, 2, 4)", "(1, 2, 4)"),
    ({"batch_first": True}, torch.randn(2, 5, 3), (torch.zeros(1, 5, 4), torch.zeros(1, 5, 4)),
     "h0 of shape (1, 2, 4)", "(1, 5, 4)"),
    ({"proj_size": 2}, torch.randn(5, 2, 3), (torch.zeros(1, 2, 2), torch.zeros(1, 2, 2)),
     "c0 of shape (1, 2, 4)", "(1, 2, 2)"),
    ({"bidirectional": True}, torch.randn(5, 3), (torch.zeros(2, 1, 4), torch.zeros(2, 1, 4)),
     "h0 of shape (2, 4)", "(2, 1, 4)"),
])
def test_wrong_shapes_name_expected_and_received(options, x, state, expected, received):
    with pytest.raises(ValueError) as error:
        ScratchLSTM(INPUT, HIDDEN, **options)(x, state)
    assert expected in str(error.value) and received in str(error.value), str(error.value)


@pytest.mark.parametrize("x, state, expected, received", [
    (torch.randn(2, 5), None, "input_size=3", "(2, 5)"),
    (torch.randn(2, 1, 3), None, "(batch, input_size)", "(2, 1, 3)"),
    (torch.randn(2, 3), (torch.zeros(3, 4), torch.zeros(2, 4)), "h of shape (2, 4)", "(3, 4)"),
    (torch.randn(3), (torch.zeros(4), torch.zeros(1, 4)), "c of shape (4,)", "(1, 4)"),
    (torch.randn(2, 3).double(), None, "dtype torch.float32", "got torch.float64"),
])
def test_cell_wrong_shapes(x, state, expected, received):
    with pytest.raises(ValueError) as error:
        ScratchLSTMCell(INPUT, HIDDEN)(x, state)
    assert expected in str(error.value) and received in str(error.value), str(error.value)


def test_wrong_types():
    lstm = ScratchLSTM(INPUT, HIDDEN)
    with pytest.raises(TypeError, match="torch.Tensor"):
        lstm([[0.0] * INPUT])
    with pytest.raises(TypeError, match="floating-point"):
        lstm(torch.ones(5, 2, INPUT, dtype=torch.long))
    with pytest.raises(TypeError, match=r"tuple \(h0, c0\)"):
        lstm(torch.randn(5, 2, INPUT), torch.zeros(1, 2, HIDDEN))


@pytest.mark.parametrize("options, error, text", [
    ({"input_size": 0}, ValueError, "input_size must be >= 1, got 0"),
    ({"hidden_size": 2.0}, TypeError, "hidden_size must be an int"),
    ({"num_layers": 0}, ValueError, "num_layers must be >= 1, got 0"),
    ({"bias": 1}, TypeError, "bias must be a bool"),
    ({"batch_first": "yes"}, TypeError, "batch_first must be a bool"),
    ({"bidirectional": None}, TypeError, "bidirectional must be a bool"),
    ({"dropout": 1.5}, ValueError, "dropout must be a number in [0, 1], got 1.5"),
    ({"proj_size": 4}, ValueError, "hidden_size=4), got 4"),
    ({"proj_size": -1}, ValueError, "got -1"),
    ({"proj_size": 1.0}, TypeError, "proj_size must be an int"),
])
def test_constructor_validates(options, error, text):
    arguments = {"input_size": INPUT, "hidden_size": HIDDEN} | options
    with pytest.raises(error) as raised:
        ScratchLSTM(**arguments)
    assert text in str(raised.value)
    if error is ValueError and "proj_size" in options:
        with pytest.raises(ValueError, match="proj_size"):  # nn.LSTM refuses it too
            nn.LSTM(**arguments)


def test_repr_reads_like_nn_lstms():
    options = {"num_layers": 2, "batch_first": True, "bidirectional": True, "proj_size": 2}
    assert repr(ScratchLSTM(INPUT, HIDDEN, **options)) == \
        repr(nn.LSTM(INPUT, HIDDEN, **options)).replace("LSTM", "ScratchLSTM")
    assert repr(ScratchLSTMCell(INPUT, HIDDEN, bias=False)) == \
        repr(nn.LSTMCell(INPUT, HIDDEN, bias=False)).replace("LSTMCell", "ScratchLSTMCell")

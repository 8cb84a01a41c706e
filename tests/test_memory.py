import math

import numpy as np
import pytest
import torch
from torch import nn

from utils.data import adding_problem
from utils.memory import (
    AddingBatches,
    RecurrentRegressor,
    forget_gate_activations,
    init_input_weights,
    input_gradient_norms,
    lstm_gates,
    make_recurrent_regressor,
    matching_hidden_size,
    recurrent_parameter_count,
    set_forget_bias,
)


@pytest.mark.parametrize("kind, core", [("rnn", nn.RNN), ("gru", nn.GRU), ("lstm", nn.LSTM)])
def test_regressor_kinds_shapes_and_parameter_count(kind, core):
    model = make_recurrent_regressor(kind, 7, input_size=3, output_size=2, seed=0)
    assert isinstance(model.core, core) and model.core.batch_first
    assert model(torch.randn(5, 4, 3)).shape == (5, 2)
    assert sum(p.numel() for p in model.parameters()) == recurrent_parameter_count(kind, 3, 7, 2)
    if kind == "rnn":
        assert model.core.nonlinearity == "tanh"


def test_regressor_reads_the_last_step_of_its_core():
    model = make_recurrent_regressor("gru", 5, seed=1)
    x = torch.randn(3, 6, 2)
    out, _ = model.core(x)
    torch.testing.assert_close(model(x), model.head(out[:, -1]))


def test_seed_gives_identical_models_and_different_seeds_differ():
    a, b = (make_recurrent_regressor("lstm", 8, seed=3) for _ in range(2))
    c = make_recurrent_regressor("lstm", 8, seed=4)
    for (name, p), q, r in zip(a.named_parameters(), b.parameters(), c.parameters(), strict=True):
        assert torch.equal(p, q), name
        assert not torch.equal(p, r), name


def test_matching_hidden_size_is_closest():
    target = recurrent_parameter_count("lstm", 2, 32)
    for kind in ("rnn", "gru", "lstm"):
        h = matching_hidden_size(kind, target)
        best = min(range(1, 200), key=lambda k: abs(recurrent_parameter_count(kind, 2, k) - target))
        assert h == best, kind
    assert matching_hidden_size("lstm", target) == 32
    assert recurrent_parameter_count("rnn", 2, matching_hidden_size("rnn", target)) != target


def test_forget_bias_sets_the_effective_bias_of_the_forget_block_only():
    model = make_recurrent_regressor("lstm", 6, seed=0)
    before_ih, before_hh = model.core.bias_ih_l0.clone(), model.core.bias_hh_l0.clone()
    model = make_recurrent_regressor("lstm", 6, forget_bias=1.0, seed=0)
    lstm = model.core
    effective = lstm.bias_ih_l0 + lstm.bias_hh_l0
    torch.testing.assert_close(effective[6:12], torch.ones(6))
    for block in (slice(0, 6), slice(12, 24)):   # i, g, o untouched
        assert torch.equal(lstm.bias_ih_l0[block], before_ih[block])
        assert torch.equal(lstm.bias_hh_l0[block], before_hh[block])
    # Zero input and zero state: the forget gate is exactly sigmoid(effective forget bias).
    f = forget_gate_activations(lstm, torch.zeros(1, 1, 2))
    torch.testing.assert_close(f[0, 0], torch.sigmoid(torch.ones(6)))


def test_forget_bias_on_a_stacked_lstm_and_rejections():
    lstm = set_forget_bias(nn.LSTM(2, 4, num_layers=2), 2.0)
    for k in range(2):
        b = getattr(lstm, f"bias_ih_l{k}") + getattr(lstm, f"bias_hh_l{k}")
        torch.testing.assert_close(b[4:8], torch.full((4,), 2.0))
    with pytest.raises(TypeError, match="nn.LSTM"):
        set_forget_bias(nn.GRU(2, 4), 1.0)
    with pytest.raises(ValueError, match="bias=False"):
        set_forget_bias(nn.LSTM(2, 4, bias=False), 1.0)
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match=f"value must be a finite number, got {bad}"):
            set_forget_bias(nn.LSTM(2, 4), bad)
    with pytest.raises(TypeError, match="value must be a real number, got str"):
        set_forget_bias(nn.LSTM(2, 4), "1")
    assert set_forget_bias(nn.LSTM(2, 4), np.float32(1.0)).bias_ih_l0[4:8].eq(1).all()
    with pytest.raises(TypeError, match=r"one real number, got a Tensor of shape \(2,\)"):
        set_forget_bias(nn.LSTM(2, 4), torch.ones(2))


@pytest.mark.parametrize("value", [torch.tensor(2.0), torch.tensor([2.0]), np.float64(2.0),
                                   np.array([2.0]), np.int64(2), 2])
def test_forget_bias_accepts_any_real_scalar(value):
    lstm = set_forget_bias(nn.LSTM(2, 4), value)
    torch.testing.assert_close((lstm.bias_ih_l0 + lstm.bias_hh_l0)[4:8], torch.full((4,), 2.0))


def test_forget_bias_refuses_values_the_dtype_cannot_hold():
    with pytest.raises(ValueError, match=r"1e\+300 overflows this LSTM's dtype torch.float32.*"
                                         r"torch.finfo\(torch.float32\).max = 3.40282e\+38"):
        set_forget_bias(nn.LSTM(2, 4), 1e300)
    with pytest.raises(ValueError, match=r"float16.*max = 65504"):
        set_forget_bias(nn.LSTM(2, 4).half(), -1e5)
    big = set_forget_bias(nn.LSTM(2, 4).double(), 1e300)          # float64 holds it
    assert big.bias_ih_l0[4].item() == 1e300
    with pytest.raises(ValueError, match="LSTM only"):
        make_recurrent_regressor("rnn", 4, forget_bias=1.0)


def test_lstm_gates_reproduce_nn_lstm_and_the_cell_equations():
    torch.manual_seed(0)
    lstm = nn.LSTM(2, 5, batch_first=True)
    x = torch.randn(3, 7, 2)
    gates = lstm_gates(lstm, x)
    out, (h_n, c_n) = lstm(x)
    assert all(v.shape == (3, 7, 5) for v in gates.values())
    torch.testing.assert_close(gates["h"], out)
    torch.testing.assert_close(gates["c"][:, -1], c_n[0])
    # One step by hand, straight from the weight layout (rows: i, f, g, o).
    w_ih, w_hh, b = lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0 + lstm.bias_hh_l0
    pre = x[:, 3] @ w_ih.T + gates["h"][:, 2] @ w_hh.T + b
    torch.testing.assert_close(gates["f"][:, 3], torch.sigmoid(pre[:, 5:10]))
    torch.testing.assert_close(gates["g"][:, 3], torch.tanh(pre[:, 10:15]))
    torch.testing.assert_close(gates["c"][:, 3], gates["f"][:, 3] * gates["c"][:, 2]
                               + gates["i"][:, 3] * gates["g"][:, 3])
    assert 0 < gates["f"].min() and gates["f"].max() < 1
    assert not gates["f"].requires_grad
    torch.testing.assert_close(forget_gate_activations(lstm, x), gates["f"])


def test_lstm_gates_honour_a_sequence_first_lstm():
    torch.manual_seed(0)
    seq_first = nn.LSTM(2, 5)                       # batch_first=False, PyTorch's default
    batch_first = nn.LSTM(2, 5, batch_first=True)
    batch_first.load_state_dict(seq_first.state_dict())
    x = torch.randn(3, 7, 2)                        # 3 sequences of 7 steps, batch first
    by_batch = lstm_gates(batch_first, x)
    by_step = lstm_gates(seq_first, x.transpose(0, 1))
    out, _ = seq_first(x.transpose(0, 1))
    torch.testing.assert_close(by_step["h"], out)   # the LSTM's own layout, (seq, batch, H)
    for name, value in by_batch.items():
        assert by_step[name].shape == (7, 3, 5), name
        torch.testing.assert_close(by_step[name], value.transpose(0, 1), rtol=0, atol=0)
    torch.testing.assert_close(forget_gate_activations(seq_first, x.transpose(0, 1)),
                               by_batch["f"].transpose(0, 1), rtol=0, atol=0)
    with pytest.raises(ValueError, match=r"\(seq_len, batch, 3\)"):
        lstm_gates(nn.LSTM(3, 5), x)                # a batch of 2 features, not 3


def test_lstm_gates_rejects_what_it_cannot_compute():
    with pytest.raises(ValueError, match="num_layers=2"):
        lstm_gates(nn.LSTM(2, 4, num_layers=2), torch.zeros(1, 3, 2))
    with pytest.raises(ValueError, match="bidirectional=True"):
        lstm_gates(nn.LSTM(2, 4, bidirectional=True), torch.zeros(1, 3, 2))
    with pytest.raises(ValueError, match=r"\(seq_len, batch, 2\).*\(3, 2\)"):
        lstm_gates(nn.LSTM(2, 4), torch.zeros(3, 2))
    with pytest.raises(ValueError, match=r"\(batch, seq_len, 2\).*\(3, 2\)"):
        lstm_gates(nn.LSTM(2, 4, batch_first=True), torch.zeros(3, 2))
    with pytest.raises(TypeError, match="nn.LSTM"):
        lstm_gates(nn.GRU(2, 4), torch.zeros(1, 3, 2))


def test_lstm_gates_refuses_another_dtype_and_non_finite_input():
    lstm = nn.LSTM(2, 4, batch_first=True)                        # float32 weights
    with pytest.raises(TypeError, match="x has dtype torch.float64 but the LSTM's weights have "
                                        "dtype torch.float32"):
        lstm_gates(lstm, torch.zeros(1, 3, 2, dtype=torch.float64))
    for bad in (math.nan, math.inf):
        x = torch.zeros(2, 3, 2)
        x[1, 2, 0] = bad
        with pytest.raises(ValueError, match=r"x must be finite, got 1 NaN or infinite "
                                             r"value\(s\) out of 12"):
            lstm_gates(lstm, x)
    gates = lstm_gates(lstm.double(), torch.zeros(1, 3, 2, dtype=torch.float64))  # same dtype
    assert gates["h"].dtype == torch.float64


def test_input_gradient_norms_match_autograd_and_leave_params_alone():
    model = make_recurrent_regressor("lstm", 6, seed=0)
    x, y = adding_problem(4, 9, seed=0)
    norms = input_gradient_norms(model, x, y)
    assert norms.shape == (9,) and not norms.requires_grad
    assert all(p.grad is None for p in model.parameters())
    xr = x.clone().requires_grad_(True)
    nn.functional.mse_loss(model(xr), y).backward()
    assert norms.dtype == torch.float64
    torch.testing.assert_close(norms, xr.grad.double().pow(2).sum(dim=(0, 2)).sqrt())


def test_input_gradient_norms_see_only_steps_the_prediction_depends_on():
    class LastTwoSteps(nn.Module):
        def forward(self, x):
            return x[:, -2:, :1].sum(1)
    norms = input_gradient_norms(LastTwoSteps(), torch.rand(3, 6, 2), torch.zeros(3, 1))
    assert torch.all(norms[:-2] == 0) and torch.all(norms[-2:] > 0)


def test_rnn_gradient_vanishes_with_distance_at_initialisation():
    x, y = adding_problem(64, 100, seed=0)
    rnn = input_gradient_norms(make_recurrent_regressor("rnn", 66, seed=0), x, y)
    lstm = input_gradient_norms(make_recurrent_regressor("lstm", 32, forget_bias=1.0, seed=0), x, y)
    assert torch.all(rnn > 0)                  # tiny, yet not rounded to 0 (see the next test)
    assert rnn[0] / rnn[-1] < 1e-15            # the first step barely counts for the RNN
    assert lstm[0] / lstm[-1] > 1e6 * rnn[0] / rnn[-1]


def test_norms_of_tiny_float32_gradients_do_not_underflow():
    x, y = adding_problem(64, 100, seed=0)
    model = make_recurrent_regressor("rnn", 66, seed=0)
    in_float32 = input_gradient_norms(model, x, y)
    in_float64 = input_gradient_norms(model.double(), x.double(), y.double())
    torch.testing.assert_close(in_float32, in_float64, rtol=1e-3, atol=0)
    assert in_float32[0] < 1e-19                # its square is below float32's range
    xr = x.clone().requires_grad_(True)
    nn.functional.mse_loss(make_recurrent_regressor("rnn", 66, seed=0)(xr), y).backward()
    assert xr.grad[:, 0].norm() == 0 and xr.grad[:, 0].abs().max() > 0  # the float32 trap


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_fan_in_input_init_redraws_only_the_input_weights(kind):
    default = make_recurrent_regressor(kind, 32, seed=0)
    scaled = make_recurrent_regressor(kind, 32, input_init="fan_in", seed=0)
    bound = (3 / 2) ** 0.5                      # U(-sqrt(3/I), sqrt(3/I)), I = 2
    w = scaled.core.weight_ih_l0
    assert w.abs().max() <= bound and w.max() > 0.9 * bound and w.min() < -0.9 * bound
    assert default.core.weight_ih_l0.abs().max() <= 1 / 32 ** 0.5
    for (name, p), q in zip(default.named_parameters(), scaled.parameters(), strict=True):
        assert torch.equal(p, q) == (name != "core.weight_ih_l0"), name
    big = init_input_weights(nn.LSTM(2, 512)).weight_ih_l0       # 4096 draws
    torch.testing.assert_close(big.var(), torch.tensor(1 / 2), atol=0.03, rtol=0)  # 1 / fan_in
    with pytest.raises(TypeError, match="got Linear"):
        init_input_weights(nn.Linear(2, 3))


def test_adding_batches_are_fresh_each_epoch_and_repeatable():
    a, b = AddingBatches(3, 4, 10, seed=0), AddingBatches(3, 4, 10, seed=0)
    assert len(a) == 3 and iter(a) is not a
    first, again = list(a), list(a)
    assert [x.shape for x, _ in first] == [(4, 10, 2)] * 3
    assert all(y.shape == (4, 1) for _, y in first)
    assert not torch.equal(first[0][0], again[0][0])          # a new epoch: new sequences
    for (x1, y1), (x2, y2) in zip(first + again, list(b) + list(b), strict=True):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)    # same seed: same data, in order
    assert not torch.equal(next(iter(AddingBatches(1, 4, 10, seed=1)))[0], first[0][0])
    with pytest.raises(ValueError, match="seq_len must be >= 2.*got 1"):
        AddingBatches(3, 4, 1, seed=0)
    state = torch.random.get_rng_state()
    AddingBatches(3, 4, 10, seed=0)
    assert torch.equal(torch.random.get_rng_state(), state)  # the global generator untouched
    with pytest.raises(TypeError, match="seed"):
        AddingBatches(3, 4, 10, seed=None)


@pytest.mark.parametrize("call, error, match", [
    (lambda: make_recurrent_regressor("transformer", 4), ValueError, "'gru'"),
    (lambda: make_recurrent_regressor("lstm", 0), ValueError, "hidden_size"),
    (lambda: make_recurrent_regressor("lstm", 4.0), TypeError, "hidden_size"),
    (lambda: make_recurrent_regressor("lstm", 4)(torch.zeros(2, 5)), ValueError, r"\(2, 5\)"),
    (lambda: make_recurrent_regressor("lstm", 4)(torch.zeros(2, 5, 3)), ValueError, r"\(2, 5, 3\)"),
    (lambda: make_recurrent_regressor("lstm", 4)(torch.zeros(2, 5, 2, dtype=torch.long)),
     TypeError, "floating"),
    (lambda: input_gradient_norms(make_recurrent_regressor("lstm", 4), torch.zeros(2, 5, 2),
                                  torch.zeros(2)), ValueError, r"\(2, 1\).*\(2,\)"),
    (lambda: input_gradient_norms(make_recurrent_regressor("lstm", 4), torch.zeros(5, 2),
                                  torch.zeros(2, 1)), ValueError, r"\(5, 2\)"),
    (lambda: input_gradient_norms("model", torch.zeros(2, 5, 2), torch.zeros(2, 1)),
     TypeError, "nn.Module"),
    (lambda: matching_hidden_size("lstm", 0), ValueError, "n_parameters"),
    (lambda: make_recurrent_regressor("gru", 4, input_init="xavier"), ValueError, "fan_in"),
    (lambda: RecurrentRegressor("lstm", 2, 4, output_size=0), ValueError, "output_size"),
])
def test_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()

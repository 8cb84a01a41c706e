"""utils.relatives: each relative of the LSTM against PyTorch or against a second form of
itself, and every helper's error messages."""

import copy
import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from utils.relatives import (
    CharTransformer,
    CoupledGateLSTMCell,
    KVCache,
    LayerNormLSTMCell,
    OneBiasLSTMCell,
    PeepholeLSTMCell,
    SLSTMCell,
    gated_parameter_count,
    gru_step,
    gru_weights,
    mlstm_parallel,
    mlstm_recurrent,
    path_length,
    run_cell,
    scratch_gru,
    sinusoidal_positions,
    slstm_step,
    unrolled_function,
    windowed_nats_per_char,
)

# --------------------------------------------------------------------------------------- GRU


def test_scratch_gru_equals_nn_gru_and_chos_placement_differs():
    torch.manual_seed(0)
    gru = nn.GRU(4, 6, batch_first=True)
    x, h0 = torch.randn(2, 9, 4), torch.randn(1, 2, 6)
    out, h_n = gru(x, h0)
    ours, ours_h = scratch_gru(gru_weights(gru), x, h0[0])
    torch.testing.assert_close(ours, out)
    torch.testing.assert_close(ours_h, h_n[0])
    zero_start, _ = scratch_gru(gru_weights(gru), x)
    torch.testing.assert_close(zero_start, gru(x)[0])
    cho, _ = scratch_gru(gru_weights(gru), x, h0[0], reset="before")
    assert (cho - out).abs().max() > 1e-2


def test_gru_cell_weights_and_one_step():
    torch.manual_seed(1)
    cell = nn.GRUCell(3, 5)
    x, h = torch.randn(4, 3), torch.randn(4, 5)
    torch.testing.assert_close(gru_step(x, h, *gru_weights(cell)), cell(x, h))


def test_gru_errors():
    with pytest.raises(TypeError, match="nn.GRU or nn.GRUCell"):
        gru_weights(nn.LSTM(3, 4))
    with pytest.raises(ValueError, match="one layer"):
        gru_weights(nn.GRU(3, 4, num_layers=2))
    with pytest.raises(ValueError, match="biases"):
        gru_weights(nn.GRUCell(3, 4, bias=False))
    weights = gru_weights(nn.GRU(3, 4, batch_first=True))
    with pytest.raises(ValueError, match="reset must be"):
        scratch_gru(weights, torch.randn(2, 5, 3), reset="middle")
    with pytest.raises(TypeError, match="tuple"):
        scratch_gru(weights[:3], torch.randn(2, 5, 3))
    with pytest.raises(ValueError, match=r"\(batch, seq_len, input_size\)"):
        scratch_gru(weights, torch.randn(5, 3))
    with pytest.raises(ValueError, match="input size 7"):
        scratch_gru(weights, torch.randn(2, 5, 7))
    with pytest.raises(ValueError, match=r"\(2, 4\)"):
        scratch_gru(weights, torch.randn(2, 5, 3), torch.zeros(1, 2, 4))
    with pytest.raises(TypeError, match="floating"):
        scratch_gru(weights, torch.zeros(2, 5, 3, dtype=torch.long))
    with pytest.raises(TypeError, match="h must be a tensor"):
        scratch_gru(weights, torch.randn(2, 5, 3), [[0.0] * 4] * 2)


def test_gru_step_refuses_what_would_broadcast():
    weights = gru_weights(nn.GRUCell(3, 4))
    x, h = torch.randn(2, 3), torch.randn(2, 4)
    gru_step(x, h, *weights)                                        # the right shapes
    for bad_h in (torch.randn(4), torch.randn(1, 4), torch.randn(2, 5), torch.randn(1, 2, 4)):
        with pytest.raises(ValueError, match=r"h must have shape \(batch, hidden_size\) = \(2, 4\)"):
            gru_step(x, bad_h, *weights)
    for bad_x in (torch.randn(3), torch.randn(1, 2, 3)):
        with pytest.raises(ValueError, match=r"x must have shape \(batch, input_size\)"):
            gru_step(bad_x, h, *weights)
    with pytest.raises(ValueError, match="input size 5"):
        gru_step(torch.randn(2, 5), h, *weights)
    with pytest.raises(ValueError, match="must have shapes"):
        gru_step(x, h, weights[0], weights[1], weights[2][:6], weights[3])
    with pytest.raises(ValueError, match="weight_hh must have shape"):
        gru_step(x, h, weights[0], weights[1].flatten(), weights[2], weights[3])
    with pytest.raises(TypeError, match="4 tensors"):
        gru_step(x, h, weights[0], weights[1].tolist(), weights[2], weights[3])
    with pytest.raises(TypeError, match="h must be a floating tensor"):
        gru_step(x, h.long(), *weights)
    with pytest.raises(TypeError, match="x must be a tensor"):
        gru_step(x.tolist(), h, *weights)
    with pytest.raises(ValueError, match="reset must be"):
        gru_step(x, h, *weights, reset="never")


@pytest.mark.parametrize("sizes", [(5, 8, 1), (10, 20, 2), (3, 7, 3)])
def test_parameter_counts_match_torch(sizes):
    input_size, hidden, layers = sizes
    for module, gates in ((nn.GRU, 3), (nn.LSTM, 4), (nn.RNN, 1)):
        for bias, biases in ((True, 2), (False, 0)):
            m = module(input_size, hidden, layers, bias=bias)
            assert sum(p.numel() for p in m.parameters()) == \
                gated_parameter_count(gates, input_size, hidden, layers, biases)


def test_parameter_count_errors():
    with pytest.raises(ValueError, match="0, 1 or 2"):
        gated_parameter_count(4, 3, 4, biases=3)
    with pytest.raises(TypeError, match="hidden_size must be an int"):
        gated_parameter_count(4, 3, 4.0)
    with pytest.raises(ValueError, match="gates must be >= 1"):
        gated_parameter_count(0, 3, 4)


# ------------------------------------------------------------------------------- LSTM cells


def copy_lstm_cell(cell, target):
    with torch.no_grad():
        target.weight_ih.copy_(cell.weight_ih)
        target.weight_hh.copy_(cell.weight_hh)
        target.bias.copy_(cell.bias_ih + cell.bias_hh)
    return target


def test_one_bias_cell_is_nn_lstm_cell_with_4h_fewer_parameters():
    torch.manual_seed(0)
    cell = nn.LSTMCell(3, 5)
    one = copy_lstm_cell(cell, OneBiasLSTMCell(3, 5))
    x, state = torch.randn(2, 3), (torch.randn(2, 5), torch.randn(2, 5))
    for a, b in zip(one(x, state), cell(x, state), strict=True):
        torch.testing.assert_close(a, b)
    def count(m):
        return sum(p.numel() for p in m.parameters())
    assert count(cell) - count(one) == 4 * 5
    assert count(one) == gated_parameter_count(4, 3, 5, biases=1)


def test_peephole_zero_is_an_lstm_and_nonzero_is_not():
    torch.manual_seed(0)
    cell = nn.LSTMCell(3, 5)
    peep = copy_lstm_cell(cell, PeepholeLSTMCell(3, 5))
    with torch.no_grad():
        peep.peephole.zero_()
    x = torch.randn(2, 6, 3)
    torch.testing.assert_close(run_cell(peep, x)[0], run_cell(cell, x)[0])
    with torch.no_grad():
        peep.peephole.fill_(1.0)
    assert (run_cell(peep, x)[0] - run_cell(cell, x)[0]).abs().max() > 1e-3
    # the output gate reads the new c_t, the others the old c_{t-1}
    h0, c0 = torch.zeros(2, 5), torch.full((2, 5), 2.0)
    with torch.no_grad():
        peep.peephole.zero_()
        peep.peephole[2] = 5.0
    h, c = peep(x[:, 0], (h0, c0))
    pre = x[:, 0] @ peep.weight_ih.T + h0 @ peep.weight_hh.T + peep.bias
    _, _, _, o = pre.chunk(4, dim=-1)
    torch.testing.assert_close(h, torch.sigmoid(o + 5.0 * c) * torch.tanh(c))


def test_coupled_gate_ties_i_to_f():
    torch.manual_seed(0)
    cell = CoupledGateLSTMCell(3, 5)
    x, state = torch.randn(4, 3), (torch.randn(4, 5), torch.randn(4, 5))
    i, f, g, o = cell.gates(x, state)
    torch.testing.assert_close(i + f, torch.ones_like(i))
    h, c = cell(x, state)
    torch.testing.assert_close(c, f * state[1] + (1 - f) * g)
    torch.testing.assert_close(h, o * torch.tanh(c))
    assert sum(p.numel() for p in cell.parameters()) == gated_parameter_count(3, 3, 5, biases=1)


def test_layer_norm_cell_ignores_the_weights_scale():
    torch.manual_seed(0)
    cell = LayerNormLSTMCell(3, 5, eps=1e-12).double()
    x = torch.randn(2, 7, 3, dtype=torch.float64)
    before = run_cell(cell, x)[0]
    with torch.no_grad():
        cell.weight_ih.mul_(7.0)
        cell.weight_hh.mul_(0.2)
    torch.testing.assert_close(run_cell(cell, x)[0], before)
    with pytest.raises(ValueError, match="eps"):
        LayerNormLSTMCell(3, 5, eps=0)
    with pytest.raises(TypeError, match=r"eps must be a number in \(0, 1\), got str"):
        LayerNormLSTMCell(3, 5, eps="a")
    with pytest.raises(TypeError, match="eps"):
        LayerNormLSTMCell(3, 5, eps=True)


def test_layer_norm_invariance_needs_a_small_eps():
    torch.manual_seed(0)
    tiny = LayerNormLSTMCell(3, 5, eps=1e-12).double()
    default = LayerNormLSTMCell(3, 5).double()
    default.load_state_dict(tiny.state_dict())
    x = torch.randn(2, 7, 3, dtype=torch.float64)
    moved = []
    for cell in (tiny, default):
        before = run_cell(cell, x)[0]
        with torch.no_grad():
            cell.weight_ih.mul_(10.0)
            cell.weight_hh.mul_(0.01)          # W_hh h now has a variance near eps = 1e-5
        moved.append((run_cell(cell, x)[0] - before).abs().max())
    assert moved[0] < 1e-6 and moved[1] > 1e-2


@pytest.mark.parametrize("cell", [PeepholeLSTMCell(3, 4), CoupledGateLSTMCell(3, 4),
                                  LayerNormLSTMCell(3, 4), OneBiasLSTMCell(3, 4),
                                  nn.LSTMCell(3, 4), SLSTMCell(3, 4), SLSTMCell(3, 4, "exp")],
                         ids=lambda c: type(c).__name__)
def test_every_cell_passes_gradcheck(cell):
    function, inputs = unrolled_function(cell, steps=3)
    assert torch.autograd.gradcheck(function, inputs)
    assert all(t.dtype == torch.float64 and t.requires_grad for t in inputs)
    assert len(inputs) == 1 + getattr(cell, "state_size", 2) + len(list(cell.parameters()))


def test_gradcheck_catches_a_wrong_gradient():
    class Wrong(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return torch.tanh(x)

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * (1 - torch.tanh(x) ** 2) * 1.01       # 1 % off

    class WrongCell(OneBiasLSTMCell):
        def forward(self, x, state=None):
            h, c = super().forward(x, state)
            return Wrong.apply(h), c

    function, inputs = unrolled_function(WrongCell(3, 4))
    with pytest.raises(RuntimeError, match="Jacobian mismatch"):
        torch.autograd.gradcheck(function, inputs)


def test_cell_input_errors():
    cell = PeepholeLSTMCell(3, 4)
    with pytest.raises(ValueError, match=r"\(batch, 3\)"):
        cell(torch.randn(2, 5))
    with pytest.raises(ValueError, match=r"\(batch, 3\)"):
        cell(torch.randn(2, 4, 3))
    with pytest.raises(TypeError, match="tuple of 2 tensors"):
        cell(torch.randn(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"\(2, 4\)"):
        cell(torch.randn(2, 3), (torch.zeros(2, 4), torch.zeros(3, 4)))
    with pytest.raises(TypeError, match="input_size must be an int"):
        CoupledGateLSTMCell("3", 4)
    with pytest.raises(TypeError, match="nn.Module"):
        run_cell(lambda x, s: (x, x), torch.randn(2, 3, 3))
    with pytest.raises(ValueError, match="at least one step"):
        run_cell(cell, torch.randn(2, 0, 3))
    with pytest.raises(TypeError, match="nn.Module"):
        unrolled_function("cell")


def test_run_cell_with_nn_lstm_cell_equals_nn_lstm():
    torch.manual_seed(0)
    lstm = nn.LSTM(3, 4, batch_first=True)
    cell = nn.LSTMCell(3, 4)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(lstm, f"{name}_l0"))
    x = torch.randn(2, 8, 3)
    outputs, (h, c) = run_cell(cell, x)
    out, (h_n, c_n) = lstm(x)
    torch.testing.assert_close(outputs, out)
    torch.testing.assert_close(c, c_n[0])


# ------------------------------------------------------------------------------------ sLSTM


def run_slstm(cell, x, stabilised):
    state, hs = None, []
    for t in range(x.shape[1]):
        state = cell(x[:, t], state, stabilised=stabilised)
        hs.append(state)
    return [torch.stack(s, dim=1) for s in zip(*hs, strict=True)]


@pytest.mark.parametrize("forget", ["sigmoid", "exp"])
def test_slstm_stabilised_equals_unstabilised_where_finite(forget):
    torch.manual_seed(0)
    cell = SLSTMCell(3, 5, forget=forget).double()
    x = 3 * torch.randn(2, 30, 3, dtype=torch.float64)
    h_s, c_s, n_s, m_s = run_slstm(cell, x, True)
    h_u, c_u, n_u, _ = run_slstm(cell, x, False)
    torch.testing.assert_close(h_s, h_u)
    torch.testing.assert_close(c_s * m_s.exp(), c_u)
    torch.testing.assert_close(n_s * m_s.exp(), n_u)


def test_slstm_unstabilised_overflows_and_stabilised_does_not():
    torch.manual_seed(1)
    cell = SLSTMCell(3, 4, forget="exp")
    with torch.no_grad():
        cell.bias[8:12] += 2.0                                       # f block: exp(2) a step
    x = torch.randn(1, 120, 3)
    with torch.no_grad():
        h_u = run_slstm(cell, x, False)[0]
        h_s = run_slstm(cell, x, True)[0]
        reference = run_slstm(copy.deepcopy(cell).double(), x.double(), False)[0]
    assert torch.isnan(h_u).any() and torch.isfinite(h_s).all()
    torch.testing.assert_close(h_s.double(), reference, rtol=1e-4, atol=1e-5)


def test_slstm_step_by_hand():
    z, i, f, o = (torch.tensor([v], dtype=torch.float64) for v in (0.3, 2.0, 0.5, -1.0))
    c, n, m = (torch.tensor([v], dtype=torch.float64) for v in (0.4, 1.5, 1.0))
    h, c1, n1, m1 = slstm_step(z, i, f, o, c, n, m, stabilised=True, forget="sigmoid")
    log_f = math.log(1 / (1 + math.exp(-0.5)))
    m_expected = max(log_f + 1.0, 2.0)
    i_s, f_s = math.exp(2.0 - m_expected), math.exp(log_f + 1.0 - m_expected)
    assert m1.item() == pytest.approx(m_expected)
    assert c1.item() == pytest.approx(f_s * 0.4 + i_s * math.tanh(0.3))
    assert n1.item() == pytest.approx(f_s * 1.5 + i_s)
    assert h.item() == pytest.approx(1 / (1 + math.exp(1.0)) * c1.item() / n1.item())


def test_slstm_errors():
    with pytest.raises(ValueError, match="forget must be"):
        SLSTMCell(3, 4, forget="tanh")
    with pytest.raises(ValueError, match="forget must be"):
        slstm_step(*[torch.zeros(1)] * 7, forget="relu")
    with pytest.raises(TypeError, match="stabilised"):
        SLSTMCell(3, 4)(torch.randn(2, 3), stabilised=1)
    with pytest.raises(TypeError, match="tuple of 4 tensors"):
        SLSTMCell(3, 4)(torch.randn(2, 3), (torch.zeros(2, 4), torch.zeros(2, 4)))


def test_slstm_step_refuses_what_would_broadcast():
    args = [torch.zeros(2, 4) for _ in range(7)]
    slstm_step(*args)                                              # seven alike: fine
    slstm_step(*[torch.zeros(4)] * 7)                              # (H,) alike: fine
    names = ["z_pre", "i_pre", "f_pre", "o_pre", "c", "n", "m"]
    for index, bad in ((6, torch.tensor(0.0)), (4, torch.zeros(1, 4)), (5, torch.zeros(2, 3))):
        changed = list(args)
        changed[index] = bad
        with pytest.raises(ValueError, match=names[index]):
            slstm_step(*changed)
    with pytest.raises(ValueError, match=r"c must have the shape of z_pre, \(2, 4\)"):
        slstm_step(*args[:4], torch.zeros(1, 4), *args[5:])
    with pytest.raises(TypeError, match="m must be a tensor"):
        slstm_step(*args[:6], 0.0)
    with pytest.raises(TypeError, match="floating"):
        slstm_step(*args[:5], torch.zeros(2, 4, dtype=torch.long), args[6])
    with pytest.raises(TypeError, match="stabilised must be True or False"):
        slstm_step(*args, stabilised="yes")


# ------------------------------------------------------------------------------------ mLSTM


def mlstm_inputs(steps=10, d=4, gate_scale=2.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(2, steps, d, generator=g, dtype=torch.float64) for _ in range(3))
    i_pre = gate_scale * torch.randn(2, steps, generator=g, dtype=torch.float64)
    f_pre = gate_scale * torch.randn(2, steps, generator=g, dtype=torch.float64) + 1
    return q, k / math.sqrt(d), v, i_pre, f_pre


def test_mlstm_recurrent_equals_parallel_in_every_form():
    inputs = mlstm_inputs()
    reference = mlstm_recurrent(*inputs, stabilised=False)
    for function in (mlstm_recurrent, mlstm_parallel):
        for stabilised in (True, False):
            if (function, stabilised) != (mlstm_recurrent, False):
                torch.testing.assert_close(function(*inputs, stabilised=stabilised), reference)
    assert reference.abs().max() > 0.05


def test_mlstm_floor_acts_on_small_gates_and_every_form_keeps_it():
    q, k, v, i_pre, f_pre = mlstm_inputs(steps=12)
    small = i_pre - 2.0                                # |n^T q| < 1 at some steps
    reference = mlstm_recurrent(q, k, v, small, f_pre, stabilised=False)
    for function in (mlstm_recurrent, mlstm_parallel):
        for stabilised in (True, False):
            torch.testing.assert_close(function(q, k, v, small, f_pre, stabilised=stabilised),
                                       reference)
    cumulative = torch.cumsum(F.logsigmoid(f_pre), 1)
    log_d = (cumulative[:, :, None] - cumulative[:, None, :] + small[:, None, :]).masked_fill(
        ~torch.ones(12, 12, dtype=torch.bool).tril(), float("-inf"))
    s = (q @ k.transpose(1, 2)) * log_d.exp()
    denominator = s.sum(-1).abs()                      # |n_t^T q_t|
    assert (denominator < 1).any() and (denominator > 1).any()
    torch.testing.assert_close(reference, s @ v / denominator.clamp(min=1)[..., None])
    assert ((s @ v / denominator[..., None]) - reference).abs().max() > 0.1   # no floor: other


def test_mlstm_first_step_by_hand():
    q, k, v, i_pre, f_pre = mlstm_inputs(steps=1)
    h = mlstm_recurrent(q, k, v, i_pre, f_pre, stabilised=False)
    i = i_pre.exp()[:, 0]
    C = i[:, None, None] * v[:, 0, :, None] * k[:, 0, None, :]
    n = i[:, None] * k[:, 0]
    expected = (C @ q[:, 0, :, None]).squeeze(-1) / \
        torch.clamp((n * q[:, 0]).sum(-1).abs(), min=1)[:, None]
    torch.testing.assert_close(h[:, 0], expected)


def test_mlstm_stabilised_survives_huge_input_gates():
    q, k, v, i_pre, f_pre = mlstm_inputs()
    big = i_pre + 800
    assert torch.isnan(mlstm_parallel(q, k, v, big, f_pre, stabilised=False)).any()
    stable = mlstm_parallel(q, k, v, big, f_pre)
    assert torch.isfinite(stable).all()
    torch.testing.assert_close(stable, mlstm_recurrent(q, k, v, big, f_pre))


def test_mlstm_errors():
    q, k, v, i_pre, f_pre = mlstm_inputs()
    with pytest.raises(ValueError, match="same shape"):
        mlstm_parallel(q, k[:, :, :2], v, i_pre, f_pre)
    with pytest.raises(ValueError, match=r"i_pre must have shape \(batch, seq_len\) = \(2, 10\)"):
        mlstm_recurrent(q, k, v, i_pre[:, :5], f_pre)
    with pytest.raises(ValueError, match="f_pre must have shape"):
        mlstm_parallel(q, k, v, i_pre, f_pre[..., None])
    with pytest.raises(TypeError, match="q must be a tensor"):
        mlstm_parallel(q.tolist(), k, v, i_pre, f_pre)
    for function in (mlstm_parallel, mlstm_recurrent):
        with pytest.raises(TypeError, match="stabilised must be True or False, got str"):
            function(q, k, v, i_pre, f_pre, stabilised="no")
        with pytest.raises(TypeError, match="stabilised"):
            function(q, k, v, i_pre, f_pre, stabilised=0)


# ------------------------------------------------------------------------------ Transformer


def test_sinusoidal_positions():
    table = sinusoidal_positions(50, 8)
    assert table.shape == (50, 8)
    torch.testing.assert_close(table[0], torch.tensor([0.0, 1.0] * 4))
    torch.testing.assert_close(table[7, 0], torch.sin(torch.tensor(7.0)))
    torch.testing.assert_close(table[7, 3], torch.cos(torch.tensor(7.0 / 10000 ** (2 / 8))))
    torch.testing.assert_close(sinusoidal_positions(10, 8), table[:10])


@pytest.fixture(scope="module")
def tiny_transformer():
    torch.manual_seed(0)
    return CharTransformer(11, d_model=16, nhead=2, num_layers=2, max_len=40).eval()


def test_transformer_is_causal(tiny_transformer):
    ids = torch.randint(0, 11, (2, 20), generator=torch.Generator().manual_seed(1))
    changed = ids.clone()
    changed[:, 12] = (changed[:, 12] + 1) % 11
    with torch.no_grad():
        a, b = tiny_transformer(ids), tiny_transformer(changed)
    torch.testing.assert_close(a[:, :12], b[:, :12])
    assert (a[:, 12:] - b[:, 12:]).abs().max() > 1e-4
    assert isinstance(tiny_transformer.encoder, nn.TransformerEncoder)
    assert all(layer.norm_first for layer in tiny_transformer.encoder.layers)


def test_cached_steps_equal_the_whole_forward(tiny_transformer):
    ids = torch.randint(0, 11, (3, 25), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        full = tiny_transformer(ids)
        cache = tiny_transformer.new_cache(batch=3)
        stepped = torch.stack([tiny_transformer.step(ids[:, t], cache) for t in range(25)], 1)
    torch.testing.assert_close(stepped, full)
    assert cache.length == 25 and cache.floats() == 2 * 2 * 3 * 25 * 16
    # stepping again at an earlier position rewrites it and forgets what came after
    with torch.no_grad():
        again = tiny_transformer.step(ids[:, 10], cache, position=10)
    torch.testing.assert_close(again, full[:, 10])
    assert cache.length == 11


def test_transformer_trains_the_same_in_train_mode(tiny_transformer):
    model = copy.deepcopy(tiny_transformer).train()
    ids = torch.randint(0, 11, (2, 15), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        torch.testing.assert_close(model(ids), tiny_transformer(ids))   # no dropout


def test_transformer_errors(tiny_transformer):
    m = tiny_transformer
    with pytest.raises(ValueError, match="divisible"):
        CharTransformer(11, d_model=10, nhead=4)
    with pytest.raises(TypeError, match="LongTensor"):
        m(torch.zeros(2, 5))
    with pytest.raises(ValueError, match=r"\(batch, seq_len\)"):
        m(torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\[0, 10\]"):
        m(torch.full((1, 4), 11))
    with pytest.raises(ValueError, match="max_len = 40"):
        m(torch.zeros(1, 41, dtype=torch.long))
    cache = m.new_cache(batch=1)
    with pytest.raises(TypeError, match="KVCache"):
        m.step(torch.zeros(1, dtype=torch.long), {"keys": None})
    with pytest.raises(ValueError, match="position must be"):
        m.step(torch.zeros(1, dtype=torch.long), cache, position=3)
    with pytest.raises(ValueError, match="batch 1"):
        m.step(torch.zeros(2, dtype=torch.long), cache)
    with pytest.raises(TypeError, match="position must be an int, got float"):
        m.step(torch.zeros(1, dtype=torch.long), cache, position=0.0)
    assert isinstance(cache, KVCache) and cache.floats() == 0


# ------------------------------------------------------------------------- windowed scoring


class Bigram(nn.Module):
    """Logits that depend on the previous id only: any window gives the same score."""
    def __init__(self):
        super().__init__()
        self.table = nn.Embedding(7, 7)

    def forward(self, ids):
        return self.table(ids)


class CountsContext(nn.Module):
    """Logits that grow with how many positions the window has seen: tells windows apart."""
    def forward(self, ids):
        logits = torch.zeros(*ids.shape, 7)
        logits[..., 0] = torch.arange(ids.shape[1], dtype=torch.float32)
        return logits


def test_windowed_scoring_scores_every_target_once():
    torch.manual_seed(0)
    ids = torch.randint(0, 7, (103,))
    model = Bigram()
    expected = F.cross_entropy(model(ids[:-1].unsqueeze(0))[0], ids[1:]).item()
    for context, stride in ((10, 5), (10, 10), (16, 3), (102, 51)):
        assert windowed_nats_per_char(model, ids, context, stride) == pytest.approx(expected)
        nats, count = windowed_nats_per_char(model, ids, context, stride, return_count=True)
        assert count == 102 and nats == pytest.approx(expected)


def test_windowed_scoring_gives_each_target_the_promised_context():
    ids = torch.zeros(61, dtype=torch.long)          # every target is id 0
    context, stride = 10, 4
    score = windowed_nats_per_char(CountsContext(), ids, context, stride)
    # a target at position p of its window (p + 1 ids seen) costs -log softmax -> logit p
    position = []
    starts = list(range(0, 60 - context + 1, stride))
    starts.append(60 - context) if starts[-1] != 60 - context else None
    done = 0
    for s in starts:
        for p in range(context):
            if s + p + 1 > done:
                position.append(p)
        done = s + context
    assert len(position) == 60 and min(position[context:]) >= context - stride
    expected = sum(-torch.log_softmax(torch.tensor([float(p)] + [0.0] * 6), 0)[0].item()
                   for p in position) / 60
    assert score == pytest.approx(expected, rel=1e-6)


def test_windowed_scoring_errors_and_mode():
    model = Bigram().train()
    ids = torch.randint(0, 7, (50,))
    windowed_nats_per_char(model, ids, 8)
    assert model.training
    with pytest.raises(ValueError, match="stride"):
        windowed_nats_per_char(model, ids, 8, 9)
    with pytest.raises(ValueError, match="too few"):
        windowed_nats_per_char(model, ids[:5], 8)
    with pytest.raises(TypeError, match="got dtype torch.float32"):
        windowed_nats_per_char(model, ids.float(), 8)
    with pytest.raises(ValueError, match=r"got shape \(5, 10\)"):
        windowed_nats_per_char(model, ids.view(5, 10), 8)
    with pytest.raises(TypeError, match="got list"):
        windowed_nats_per_char(model, ids.tolist(), 8)
    with pytest.raises(TypeError, match="nn.Module"):
        windowed_nats_per_char(lambda x: x, ids, 8)
    with pytest.raises(TypeError, match="return_count must be True or False, got int"):
        windowed_nats_per_char(model, ids, 8, return_count=1)


# ------------------------------------------------------------------------------ path length


def test_path_length_counts_the_shortest_chain():
    a = torch.randn(3, requires_grad=True)
    b = torch.randn(3, requires_grad=True)
    long = torch.tanh(torch.sigmoid(a * 2))           # mul, sigmoid, tanh
    y = (long + b).sum()                              # add, sum
    assert path_length(y, a) == 5 and path_length(y, b) == 2
    shortcut = (long + a).sum()                       # a also reaches the add directly
    assert path_length(shortcut, a) == 2


def test_path_length_grows_along_a_recurrence():
    leaves = [torch.randn(1, 4, requires_grad=True) for _ in range(6)]
    h = torch.zeros(1, 4)
    w = torch.randn(4, 4)
    for leaf in leaves:
        h = torch.tanh(h @ w + leaf)                  # mm, add, tanh per step
    lengths = [path_length(h.sum(), leaf) for leaf in leaves]
    assert [a - b for a, b in zip(lengths, lengths[1:], strict=False)] == [3] * 5


def test_path_length_errors():
    a = torch.randn(3, requires_grad=True)
    other = torch.randn(3, requires_grad=True)
    with pytest.raises(ValueError, match="does not depend"):
        path_length((a * 2).sum(), other)
    with pytest.raises(ValueError, match="grad_fn"):
        path_length(torch.ones(1), a)
    with pytest.raises(ValueError, match="leaf"):
        path_length((a * 2).sum(), a * 3)
    with pytest.raises(TypeError, match="output must be a tensor, got int"):
        path_length(3, 4)
    with pytest.raises(TypeError, match="source must be a tensor, got int"):
        path_length((a * 2).sum(), 4)

"""utils.initialisation: each scheme's properties, the gate recorder, saturation, training."""

import itertools
import math

import pytest
import torch
from torch import nn

from utils.initialisation import (
    GATES,
    SCHEMES,
    adding_model,
    effective_bias,
    gate_activations,
    gate_slice,
    init_lstm,
    saturation_stats,
    train_on_adding,
)

CONFIGS = [dict(num_layers=n, bidirectional=b, proj_size=p, bias=bias)
           for n, b, p, bias in itertools.product((1, 2), (False, True), (0, 3), (True, False))]


def config_id(c):
    return f"L{c['num_layers']}-{'bi' if c['bidirectional'] else 'uni'}-P{c['proj_size']}" \
           f"-{'bias' if c['bias'] else 'nobias'}"


def make(input_size=5, H=6, seed=0, **kwargs):
    torch.manual_seed(seed)
    return nn.LSTM(input_size, H, **kwargs)


def suffixes(lstm):
    dirs = ("", "_reverse") if lstm.bidirectional else ("",)
    return [f"_l{k}{d}" for k in range(lstm.num_layers) for d in dirs]


def blocks_orthogonal(weight_hh, H, atol=1e-6):
    """Every (H, P) gate block has orthonormal columns (and rows too when square)."""
    for gate in GATES:
        block = weight_hh[gate_slice(gate, H)].double()
        eye = torch.eye(block.shape[1], dtype=torch.float64)
        if not torch.allclose(block.T @ block, eye, atol=atol):
            return False
        if block.shape[0] == block.shape[1] and not torch.allclose(block @ block.T, eye,
                                                                   atol=atol):
            return False
    return True


# -- argument checks ---------------------------------------------------------------------

@pytest.mark.parametrize("not_lstm", [nn.GRU(3, 4), nn.LSTMCell(3, 4), nn.Linear(3, 4),
                                      torch.zeros(3), "lstm"])
def test_rejects_what_is_not_an_lstm(not_lstm):
    with pytest.raises(TypeError, match="expected a torch.nn.LSTM, got"):
        init_lstm(not_lstm, "default")


def test_unknown_scheme_names_the_known_ones():
    with pytest.raises(ValueError, match="unknown scheme 'xavier'") as info:
        init_lstm(make(), "xavier")
    for scheme in SCHEMES:
        assert scheme in str(info.value)
    with pytest.raises(TypeError, match="scheme must be a str"):
        init_lstm(make(), 3)


def test_t_max_only_for_chrono_and_bias_needed():
    with pytest.raises(ValueError, match="needs t_max"):
        init_lstm(make(), "chrono")
    with pytest.raises(ValueError, match="needs t_max"):
        init_lstm(make(), "chrono", t_max=2)
    with pytest.raises(ValueError, match="only by scheme 'chrono'"):
        init_lstm(make(), "forget_bias_1", t_max=10)
    with pytest.raises(ValueError, match="bias=False"):
        init_lstm(make(bias=False), "forget_bias_1")
    with pytest.raises(ValueError, match="bias=False"):
        init_lstm(make(bias=False), "chrono", t_max=10)


def test_gate_slice_and_effective_bias_validate():
    assert gate_slice("g", 5) == slice(10, 15)
    with pytest.raises(ValueError, match="gate must be one of"):
        gate_slice("c", 5)
    with pytest.raises(ValueError, match="suffix must be one of"):
        effective_bias(make(), "f", "_l1")


# -- the schemes ---------------------------------------------------------------------------

def test_default_is_reset_parameters_bit_for_bit():
    lstm = make(num_layers=2, bidirectional=True, proj_size=3)
    torch.manual_seed(11)
    init_lstm(lstm, "default")
    expected = make(num_layers=2, bidirectional=True, proj_size=3)
    torch.manual_seed(11)
    expected.reset_parameters()
    for (name, p), q in zip(lstm.named_parameters(), expected.parameters(), strict=True):
        assert torch.equal(p, q), name
        assert p.abs().max() <= 1 / math.sqrt(lstm.hidden_size), name


@pytest.mark.parametrize("config", CONFIGS, ids=config_id)
def test_xavier_orthogonal_every_layer_and_direction(config):
    lstm = init_lstm(make(input_size=5, H=6, **config), "xavier_orthogonal")
    H = lstm.hidden_size
    for s in suffixes(lstm):
        w_ih = getattr(lstm, f"weight_ih{s}")
        bound = math.sqrt(6 / (w_ih.shape[1] + w_ih.shape[0]))  # fan_in + fan_out
        assert w_ih.abs().max() <= bound and w_ih.abs().max() > 0.5 * bound, s
        assert blocks_orthogonal(getattr(lstm, f"weight_hh{s}"), H), s
        if lstm.proj_size:
            w_hr = getattr(lstm, f"weight_hr{s}").double()
            torch.testing.assert_close(w_hr @ w_hr.T, torch.eye(lstm.proj_size,
                                                                 dtype=torch.float64),
                                       rtol=0, atol=1e-6)  # float32 values
        if lstm.bias:
            assert not getattr(lstm, f"bias_ih{s}").any() and not getattr(lstm, f"bias_hh{s}").any()


def test_whole_matrix_orthogonal_is_not_per_block():
    """The property test can fail: orthogonal_ on the whole (4H, H) matrix is not per block."""
    weight = torch.empty(4 * 6, 6)
    torch.manual_seed(0)
    nn.init.orthogonal_(weight)
    torch.testing.assert_close(weight.T @ weight, torch.eye(6), atol=1e-5, rtol=0)
    assert not blocks_orthogonal(weight, 6)


@pytest.mark.parametrize("config", [c for c in CONFIGS if c["bias"]], ids=config_id)
def test_forget_bias_1_is_exactly_one(config):
    lstm = init_lstm(make(**config), "forget_bias_1")
    for s in suffixes(lstm):
        assert torch.equal(effective_bias(lstm, "f", s), torch.ones(lstm.hidden_size)), s
        for gate in ("i", "g", "o"):
            assert torch.equal(effective_bias(lstm, gate, s), torch.zeros(lstm.hidden_size))
        assert not getattr(lstm, f"bias_hh{s}").any(), "only one of the two vectors is set"
        assert blocks_orthogonal(getattr(lstm, f"weight_hh{s}"), lstm.hidden_size)
    # the gate sees it: zero input and zero state give f = sigmoid(1) at the first step
    _, gates = gate_activations(lstm, torch.zeros(1, 2, lstm.input_size))
    torch.testing.assert_close(gates["f"][:, 0], torch.full_like(gates["f"][:, 0],
                                                               torch.sigmoid(torch.tensor(1.0))))


def test_chrono_bias_range():
    t_max = 30
    lstm = init_lstm(make(H=50, num_layers=2, bidirectional=True), "chrono", t_max=t_max)
    for s in suffixes(lstm):
        forget, input_ = effective_bias(lstm, "f", s), effective_bias(lstm, "i", s)
        assert forget.min() >= 0 and forget.max() <= math.log(t_max - 1)
        assert forget.std() > 0.3, "drawn, not constant"
        torch.testing.assert_close(input_, -forget)
        assert not effective_bias(lstm, "g", s).any() and not effective_bias(lstm, "o", s).any()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_deterministic_under_a_seed(scheme):
    kwargs = dict(t_max=20) if scheme == "chrono" else {}
    a, b, c = make(), make(), make()
    torch.manual_seed(3)
    init_lstm(a, scheme, **kwargs)
    torch.manual_seed(3)
    init_lstm(b, scheme, **kwargs)
    torch.manual_seed(4)
    init_lstm(c, scheme, **kwargs)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters(),
                                                     strict=True))
    # an explicit generator gives the same draws and leaves the global generator alone
    d = make()
    torch.manual_seed(99)
    before = torch.random.get_rng_state()
    init_lstm(d, scheme, generator=torch.Generator().manual_seed(3), **kwargs)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), d.parameters(), strict=True))


def test_init_does_not_track_gradients():
    lstm = init_lstm(make(), "forget_bias_1")
    assert all(p.is_leaf and p.grad_fn is None for p in lstm.parameters())


# -- gates and saturation -------------------------------------------------------------------

@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("config", CONFIGS, ids=config_id)
def test_gate_activations_reproduce_nn_lstm(config, batch_first):
    lstm = make(input_size=4, H=5, batch_first=batch_first, **config).double().eval()
    x = torch.randn(3, 7, 4, dtype=torch.float64)
    output, gates = gate_activations(lstm, x)
    expected, (h_n, _) = lstm(x)
    torch.testing.assert_close(output, expected, rtol=0, atol=1e-10)
    D = 2 if lstm.bidirectional else 1
    T, B = (7, 3) if batch_first else (3, 7)
    for name in GATES:
        assert gates[name].shape == (lstm.num_layers * D, T, B, 5)
        low = -1 if name == "g" else 0
        assert gates[name].min() > low and gates[name].max() < 1
    # unbatched 2-D input
    out2, gates2 = gate_activations(lstm, x[0])
    torch.testing.assert_close(out2, lstm(x[0])[0], rtol=0, atol=1e-10)
    assert gates2["i"].shape[2] == 1


def test_gate_activations_validate_input():
    lstm = make(input_size=4)
    with pytest.raises(ValueError, match=r"input_size=4, got shape \(3, 7, 5\)"):
        gate_activations(lstm, torch.randn(3, 7, 5))
    with pytest.raises(ValueError, match="got shape"):
        gate_activations(lstm, torch.randn(2, 3, 7, 4))
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        gate_activations(lstm, [[0.0] * 4])
    with pytest.raises(TypeError, match="expected a torch.nn.LSTM"):
        gate_activations(nn.GRU(4, 5), torch.randn(3, 7, 4))


def test_saturation_counts_the_tails():
    gates = {"i": torch.tensor([0.01, 0.5, 0.5, 0.99]), "f": torch.tensor([0.96, 0.97, 0.5, 0.5]),
             "g": torch.tensor([-0.95, 0.0, 0.0, 0.85]), "o": torch.full((4,), 0.5)}
    stats = saturation_stats(gates)
    assert stats["i"] == {"low": 0.25, "high": 0.25, "saturated": 0.5}
    assert stats["f"]["high"] == 0.5 and stats["f"]["low"] == 0
    assert stats["g"]["low"] == 0.25 and stats["g"]["high"] == 0  # 0.85 -> 0.925 < 0.95
    assert stats["o"]["saturated"] == 0
    assert saturation_stats(gates, low=0.4, high=0.6)["o"]["saturated"] == 0
    with pytest.raises(ValueError, match="keys"):
        saturation_stats({"i": gates["i"]})
    with pytest.raises(ValueError, match="low < high"):
        saturation_stats(gates, low=0.9, high=0.1)


def test_large_inputs_saturate_the_default_gates():
    lstm = make(input_size=8, H=16)
    x = torch.randn(20, 16, 8, generator=torch.Generator().manual_seed(0))
    small = saturation_stats(gate_activations(lstm, 0.1 * x)[1])
    large = saturation_stats(gate_activations(lstm, 10 * x)[1])
    for gate in GATES:
        assert small[gate]["saturated"] < 0.01 < large[gate]["saturated"], gate


# -- the training comparison ---------------------------------------------------------------

def test_adding_model_shares_the_head_across_schemes():
    torch.manual_seed(5)
    before = torch.random.get_rng_state()
    models = {scheme: adding_model(scheme, 3, seq_len=10, hidden_size=4) for scheme in SCHEMES}
    assert torch.equal(torch.random.get_rng_state(), before), "the global generator moved"
    heads = [head.weight for _, head in models.values()]
    assert all(torch.equal(heads[0], w) for w in heads[1:])
    lstms = [lstm.weight_hh_l0 for lstm, _ in models.values()]
    assert not any(torch.equal(lstms[0], w) for w in lstms[1:])
    assert not torch.equal(adding_model("default", 4, 10, 4)[1].weight, heads[0])
    with pytest.raises(ValueError, match="seed must be"):
        adding_model("default", -1)


def test_train_on_adding_is_reproducible_and_validates():
    kwargs = dict(seq_len=8, hidden_size=4, steps=5, batch=4, test_size=16)
    first = train_on_adding("forget_bias_1", 1, **kwargs)
    again = train_on_adding("forget_bias_1", 1, **kwargs)
    other = train_on_adding("default", 1, **kwargs)
    assert first == again
    assert len(first["losses"]) == 5 and math.isfinite(first["test_mse"])
    assert first["losses"] != other["losses"]
    with pytest.raises(ValueError, match="steps must be a positive int"):
        train_on_adding("default", 0, steps=0)
    with pytest.raises(ValueError, match="unknown scheme"):
        train_on_adding("glorot", 0, **kwargs)


def test_training_lowers_the_loss():
    result = train_on_adding("chrono", 0, seq_len=6, hidden_size=8, steps=60, batch=32,
                             lr=2e-2, test_size=200)
    first, last = sum(result["losses"][:10]) / 10, sum(result["losses"][-10:]) / 10
    assert last < first and result["test_mse"] < 1 / 6

import pytest
import torch
from torch import nn

from utils import speed


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    lstm = nn.LSTM(5, 6)
    cell = nn.LSTMCell(5, 6)
    cell.load_state_dict({k.removesuffix("_l0"): v for k, v in lstm.state_dict().items()})
    return lstm, cell, torch.randn(7, 3, 5)


def test_every_variant_gives_nn_lstms_outputs(setup):
    lstm, cell, x = setup
    weights = speed.lstm_weights(lstm)
    with torch.no_grad():
        reference = lstm(x)[0]
        outputs = [speed.cell_loop(cell, x), speed.scratch_loop(weights, x),
                   speed.hoisted_loop(weights, x), speed.fused_gates_loop(weights, x),
                   speed.scripted_loop(weights, x), speed.hand_lstm(weights, x),
                   speed.hand_lstm(weights, x, scripted=False)]
    for out in outputs:
        torch.testing.assert_close(out, reference, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("scripted", [True, False])
def test_hand_written_backward_passes_gradcheck(scripted):
    torch.manual_seed(1)
    lstm = nn.LSTM(3, 4).double()
    x = torch.randn(5, 2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, *w: speed.hand_lstm(w, x, scripted=scripted),
                                    (x, *speed.lstm_weights(lstm)))


def test_hand_written_backward_equals_autograd_in_float64():
    torch.manual_seed(2)
    lstm = nn.LSTM(4, 5).double()
    x = torch.randn(9, 3, 4, dtype=torch.float64, requires_grad=True)
    probe = torch.randn(9, 3, 5, dtype=torch.float64)
    leaves = (x, *speed.lstm_weights(lstm))
    auto = torch.autograd.grad((lstm(x)[0] * probe).sum(), leaves)
    hand = torch.autograd.grad((speed.hand_lstm(speed.lstm_weights(lstm), x) * probe).sum(),
                               leaves)
    for a, h in zip(auto, hand, strict=True):
        torch.testing.assert_close(h, a, rtol=1e-10, atol=1e-12)


def test_bad_inputs_are_refused_with_what_was_expected(setup):
    lstm, cell, x = setup
    weights = speed.lstm_weights(lstm)
    with pytest.raises(ValueError, match=r"\(T, B, 5\).*\(7, 3, 4\)"):
        speed.scratch_loop(weights, torch.randn(7, 3, 4))
    with pytest.raises(ValueError, match="time-major"):
        speed.hoisted_loop(weights, torch.randn(7, 5))
    with pytest.raises(TypeError, match="floating"):
        speed.fused_gates_loop(weights, torch.ones(7, 3, 5, dtype=torch.long))
    with pytest.raises(TypeError, match="torch.Tensor"):
        speed.scripted_loop(weights, [[1.0]])
    with pytest.raises(TypeError, match="tuple"):
        speed.hand_lstm(lstm, x)
    with pytest.raises(TypeError, match="LSTMCell"):
        speed.cell_loop(lstm, x)
    with pytest.raises(ValueError, match="one layer"):
        speed.lstm_weights(nn.LSTM(5, 6, num_layers=2))
    with pytest.raises(ValueError, match="min_run_time"):
        speed.time_call(lstm, x, min_run_time=0)
    with pytest.raises(ValueError, match="at least two"):
        speed.fit_slope([1], [2])
    with pytest.raises(TypeError, match="Measurement"):
        speed.median_ms(3.0)


def test_benchmark_helpers_measure_and_fit():
    m = speed.time_call(torch.mm, torch.randn(8, 8), torch.randn(8, 8), min_run_time=0.01)
    assert speed.median_ms(m) > 0 and len(m.times) >= 1
    got = speed.compare_ms({"a": (torch.relu, torch.randn(4))}, rounds=2, min_run_time=0.01)
    assert set(got) == {"a"} and got["a"] > 0
    slope, intercept = speed.fit_slope([1, 2, 3], [3.0, 5.0, 7.0])
    assert slope == pytest.approx(2.0) and intercept == pytest.approx(1.0)

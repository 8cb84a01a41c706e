import numpy as np
import pytest
import torch
from torch import nn

from utils.widgets.states import (
    FORGET_TOLERANCE,
    HIDDEN_SIZE,
    INITIAL_STATES,
    SIGNALS,
    WARM_UP_STEPS,
    input_signal,
    make_cell,
    state_explorer,
    state_trajectories,
    trajectories_svg,
)


def lstm_from_cell(cell: nn.LSTMCell) -> nn.LSTM:
    lstm = nn.LSTM(1, HIDDEN_SIZE)
    lstm.load_state_dict({f"{k}_l0": v for k, v in cell.state_dict().items()})
    return lstm


@pytest.mark.parametrize("signal", SIGNALS)
def test_zero_and_carried_trajectories_equal_nn_lstm(signal):
    seq_len, forget_bias = 30, 1.5
    result = state_trajectories(1.0, forget_bias, seq_len, 3, signal)
    lstm = lstm_from_cell(make_cell(forget_bias))
    x = input_signal(signal, 2 * WARM_UP_STEPS + seq_len)
    with torch.no_grad():
        out, (_, c_n) = lstm(x[2 * WARM_UP_STEPS:])                 # from zeros
        out_long, (_, c_long) = lstm(x[WARM_UP_STEPS:])             # warm-up, then the rest
    np.testing.assert_allclose(result["h"]["zeros"][1:], out[:, 3].numpy(), atol=1e-6)
    np.testing.assert_allclose(result["c"]["zeros"][-1], c_n[0, 3].item(), atol=1e-6)
    np.testing.assert_allclose(result["h"]["carried"][1:], out_long[-seq_len:, 3].numpy(),
                               atol=1e-5)
    np.testing.assert_allclose(result["c"]["carried"][-1], c_long[0, 3].item(), atol=1e-5)
    assert result["h"]["zeros"][0] == result["c"]["zeros"][0] == 0
    assert result["forgotten_after"]["zeros"] == 0


def test_the_large_state_is_saturated():
    result = state_trajectories(1.0, 0.0, 10, 0, "sine")
    assert result["h"]["large"][0] == 1.0 and result["c"]["large"][0] == 5.0
    assert state_trajectories(1.0, 0.0, 10, 1, "sine")["h"]["large"][0] == -1.0


def test_forgotten_after_reads_the_gap():
    result = state_trajectories(1.0, 0.0, 60, 0, "sine")
    for name in INITIAL_STATES[1:]:
        step, gap = result["forgotten_after"][name], result["gap"][name]
        assert step is not None and 0 < step <= 60
        assert (gap[step:] < FORGET_TOLERANCE).all() and gap[step - 1] >= FORGET_TOLERANCE


def test_the_drawing_has_three_panels_and_a_legend():
    svg = trajectories_svg(state_trajectories(1.0, 0.0, 20, 2, "square"))
    assert svg.startswith("<svg") and svg.count("<polyline") == 4 + 4 + 3
    assert "h of unit 2" in svg and "c of unit 2" in svg and all(n in svg for n in INITIAL_STATES)
    with pytest.raises(TypeError, match="state_trajectories"):
        trajectories_svg({})


@pytest.mark.parametrize("kwargs, error, name", [
    ({"scale": -1.0}, ValueError, "scale"), ({"scale": "big"}, TypeError, "scale"),
    ({"forget_bias": 11.0}, ValueError, "forget_bias"), ({"seq_len": 0}, ValueError, "seq_len"),
    ({"unit": HIDDEN_SIZE}, ValueError, "unit"), ({"signal": "chirp"}, ValueError, "signal"),
    ({"seq_len": 5.0}, TypeError, "seq_len")])
def test_bad_arguments_name_themselves(kwargs, error, name):
    arguments = {"scale": 1.0, "forget_bias": 0.0, "seq_len": 10, "unit": 0, "signal": "sine"}
    with pytest.raises(error, match=name):
        state_trajectories(**{**arguments, **kwargs})


def float_sweep(control, points=6):
    return [float(v) for v in np.linspace(control.min, control.max, points)]


def test_scale_sets_the_random_state_and_zero_scale_is_the_zero_state():
    explorer = state_explorer()
    starts = []
    for value in float_sweep(explorer.controls["scale"]):
        explorer.controls["scale"].value = value
        result = explorer.result
        assert explorer.last_update_seconds < 0.3
        starts.append(abs(result["c"]["random"][0]))
        if value == 0:
            np.testing.assert_array_equal(result["h"]["random"], result["h"]["zeros"])
            assert result["forgotten_after"]["random"] == 0
    assert np.all(np.diff(starts) > 0)  # |c0| grows in proportion to the scale
    np.testing.assert_allclose(np.array(starts) / starts[-1],
                               np.linspace(0, 1, len(starts)), atol=1e-6)


def test_a_larger_forget_bias_remembers_the_initial_state_longer():
    explorer = state_explorer()
    explorer.controls["seq_len"].value = 100
    steps, final_gaps = [], []
    for value in float_sweep(explorer.controls["forget_bias"], points=5):
        explorer.controls["forget_bias"].value = value
        assert explorer.last_update_seconds < 0.3
        forgotten = explorer.result["forgotten_after"]["large"]
        steps.append(np.inf if forgotten is None else forgotten)
        final_gaps.append(explorer.result["gap"]["large"][-1])
    finite = [s for s in steps if s < np.inf]
    assert all(a <= b for a, b in zip(steps[:-1], steps[1:], strict=True)) and len(finite) >= 3
    assert np.all(np.diff(finite) > 0)
    assert steps[0] < 10 and steps[-1] == np.inf, steps   # bias 5: not within 100 steps
    assert np.all(np.diff(final_gaps) >= 0) and final_gaps[-1] > 0.1 > final_gaps[0]


def test_the_noise_signal_does_not_depend_on_its_length():
    torch.testing.assert_close(input_signal("noise", 130)[:70], input_signal("noise", 70))


def test_seq_len_sets_the_number_of_steps():
    explorer = state_explorer()
    control = explorer.controls["seq_len"]
    for value in range(control.min, control.max + 1, 19):
        control.value = value
        assert explorer.last_update_seconds < 0.3
        assert len(explorer.result["t"]) == len(explorer.result["h"]["zeros"]) == value + 1


def test_unit_picks_one_unit_of_the_same_run():
    explorer = state_explorer()
    full = lstm_from_cell(make_cell(0.0))(
        input_signal("sine", 2 * WARM_UP_STEPS + 40)[2 * WARM_UP_STEPS:])[0].detach()
    gaps = explorer.result["gap"]["random"]
    for unit in range(HIDDEN_SIZE):
        explorer.controls["unit"].value = unit
        assert explorer.last_update_seconds < 0.3
        assert explorer.result["unit"] == unit
        np.testing.assert_allclose(explorer.result["h"]["zeros"][1:], full[:, unit].numpy(),
                                   atol=1e-6)
        np.testing.assert_array_equal(explorer.result["gap"]["random"], gaps)  # all units


def test_signal_changes_the_input_and_the_trajectories():
    explorer = state_explorer()
    seen = []
    for signal in SIGNALS:
        explorer.controls["signal"].value = signal
        assert explorer.last_update_seconds < 0.3
        seen.append(explorer.result["h"]["zeros"])
        if signal == "silence":
            assert not explorer.result["x"].any()
    for i in range(len(seen)):
        for j in range(i):
            assert not np.allclose(seen[i], seen[j])


def test_moving_a_control_leaves_the_global_random_stream_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    explorer = state_explorer()
    explorer.controls["forget_bias"].value = 2.0
    torch.testing.assert_close(torch.rand(3), expected, rtol=0, atol=0)

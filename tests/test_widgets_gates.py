import math

import pytest
import torch

from utils.widgets.gates import gate_values, gates_explorer, gates_html

# Which result each pre-activation drives (it must rise strictly as the control rises).
DRIVES = {"z_i": "i", "z_f": "f", "z_g": "g", "z_o": "o", "c_prev": "f*c_prev"}


def test_values_follow_the_equations():
    r = gate_values(z_i=1.0, z_f=-0.5, z_g=2.0, z_o=0.25, c_prev=-1.5)
    sigmoid = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    assert r["i"] == pytest.approx(sigmoid(1.0)) and r["f"] == pytest.approx(sigmoid(-0.5))
    assert r["g"] == pytest.approx(math.tanh(2.0)) and r["o"] == pytest.approx(sigmoid(0.25))
    # c and h come from a real nn.LSTMCell; they must equal the equations of notebook 01.
    assert r["c"] == pytest.approx(r["f"] * -1.5 + r["i"] * r["g"], abs=1e-12)
    assert r["h"] == pytest.approx(r["o"] * math.tanh(r["c"]), abs=1e-12)


def test_closed_forget_gate_erases_and_open_one_keeps():
    assert gate_values(-6, -6, 0, 0, 2.0)["c"] == pytest.approx(0, abs=0.01)
    assert gate_values(-6, 6, 0, 0, 2.0)["c"] == pytest.approx(2.0, abs=0.01)


@pytest.mark.parametrize("name", list(DRIVES))
def test_every_control_changes_the_result_fast(name):
    explorer = gates_explorer()
    control = explorer.controls[name]
    seen, views = [], set()
    steps = 8
    for k in range(steps + 1):
        control.value = control.min + k * (control.max - control.min) / steps
        result = explorer.result
        assert explorer.last_update_seconds < 0.3
        assert result["c"] == pytest.approx(result["f*c_prev"] + result["i*g"], abs=1e-12)
        assert result["h"] == pytest.approx(result["o"] * math.tanh(result["c"]), abs=1e-12)
        seen.append(result[DRIVES[name]])
        views.add(gates_html(result))
    assert all(b > a for a, b in zip(seen[:-1], seen[1:], strict=True)), (name, seen)
    assert len(views) == steps + 1, "the shown bars must change with every value"


def test_html_shows_every_value_bar_and_the_arithmetic():
    r = gate_values(z_i=1.0, z_f=-0.5, z_g=2.0, z_o=0.25, c_prev=-1.5)
    html = gates_html(r)
    for key in ("i", "f", "g", "o", "c_prev", "f*c_prev", "i*g", "c", "h"):
        assert f"{r[key]:+.3f}" in html, key
    assert f"{r['f']:.3f}·(-1.500) + {r['i']:.3f}·{r['g']:.3f} = {r['c']:.3f}" in html
    assert "left:25.00%;width:25.00%" in html      # c_prev = -1.5 on a track from -3 to 3
    assert "-0.000" not in gates_html(gate_values(-6, -6, -6, -6, -2.0))


def test_importing_leaves_the_random_stream_alone():
    import importlib

    import utils.widgets.gates as gates
    state = torch.random.get_rng_state()
    importlib.reload(gates)
    assert torch.equal(state, torch.random.get_rng_state())


@pytest.mark.parametrize("bad, error", [("1", TypeError), (True, TypeError),
                                        (float("nan"), ValueError)])
def test_rejects_what_is_not_a_finite_number(bad, error):
    with pytest.raises(error, match="z_o"):
        gate_values(0.0, 0.0, 0.0, bad, 0.0)

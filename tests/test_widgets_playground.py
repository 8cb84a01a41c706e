"""Notebook 07's training playground: the runs are real, and every control changes the result fast."""

import math
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch

from utils.widgets.playground import (
    LR_EXPONENTS,
    MAX_STEPS,
    OPTIMIZERS,
    loss_curves_svg,
    make_optimizer,
    playground_curve,
    playground_task,
    precompute_runs,
    train_run,
    train_runs_together,
    training_playground,
)

SMALL_EXPONENTS = (-3.0, -2.0, -1.0, 0.0)
SMALL_STEPS = 20


@pytest.fixture(scope="module")
def runs():
    """A small grid: 4 optimizers x 4 learning rates x 20 steps."""
    return precompute_runs(SMALL_EXPONENTS, OPTIMIZERS, SMALL_STEPS, progress=False)


def test_the_task_is_the_classic_input_and_a_unit_variance_sum():
    task = playground_task()
    assert task.x.shape == (16, 5, 10) and task.y.shape == (16, 1)
    assert task.x_test.shape == (256, 5, 10)
    torch.testing.assert_close(task.y, task.x[:, :, 0].sum(1, keepdim=True) / math.sqrt(5))
    assert 0.7 < task.y_test.var().item() < 1.3
    torch.testing.assert_close(playground_task().x, task.x)      # seeded


@pytest.fixture(scope="module")
def mixed_pairs():
    """Every optimizer at three stable rates, interleaved (the result must follow pair order)."""
    pairs = [(name, lr) for lr in (1e-3, 1e-2, 1e-1) for name in OPTIMIZERS]
    return pairs, train_runs_together(pairs, steps=30, dtype=torch.float64)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_training_together_equals_the_plain_loop(mixed_pairs, optimizer):
    """Float64: each stacked copy follows the plain loop (LSTMRegressor + torch.optim) to
    ~1e-12 while training is stable. (At lr = 1 runs are chaotic: any two implementations,
    even torch's fused and unfused Adam, part ways there, so that rate is not compared.)"""
    pairs, together = mixed_pairs
    for (name, lr), run in zip(pairs, together, strict=True):
        if name != optimizer:
            continue
        plain = train_run(name, lr, steps=30, dtype=torch.float64)
        np.testing.assert_allclose(run.losses, plain.losses, rtol=1e-9)
        assert run.heldout_loss == pytest.approx(plain.heldout_loss, rel=1e-9)
        assert plain.losses[-1] < plain.losses[0] or lr == 1e-3


def test_training_together_in_float32_follows_the_plain_loop():
    together = train_runs_together([("Adam", 1e-2)], steps=MAX_STEPS)[0]
    plain = train_run("Adam", 1e-2, steps=MAX_STEPS)
    np.testing.assert_allclose(together.losses, plain.losses, rtol=1e-3)


def test_a_diverging_run_is_nan_from_the_first_bad_step_and_spares_the_others():
    sgd = train_runs_together([("SGD", 0.1), ("SGD", 10.0)], steps=20)
    assert np.all(np.isfinite(sgd[0].losses))
    bad = sgd[1].diverged_at
    assert bad is not None and np.all(np.isnan(sgd[1].losses[bad:]))
    assert np.all(np.isfinite(sgd[1].losses[:bad])) and math.isnan(sgd[1].heldout_loss)
    np.testing.assert_allclose(sgd[0].losses,
                               train_runs_together([("SGD", 0.1)], 20)[0].losses, rtol=1e-6)


def test_runs_do_not_disturb_the_global_random_stream():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    train_runs_together([("Adam", 1e-2)], steps=2)
    train_run("Adam", 1e-2, steps=2)
    torch.testing.assert_close(torch.rand(3), expected)


@pytest.mark.parametrize("call, message", [
    (lambda: make_optimizer("RMSprop", [torch.nn.Parameter(torch.ones(1))], 0.1),
     "optimizer must be one of"),
    (lambda: make_optimizer("Adam", [torch.nn.Parameter(torch.ones(1))], 0.0), "lr must be"),
    (lambda: train_run("Adam", 1e-2, steps=0), "steps must be an int >= 1, got 0"),
    (lambda: train_runs_together([], steps=2), "at least one"),
    (lambda: train_runs_together([("Adam", -1.0)], steps=2), "lr must be a number > 0"),
    (lambda: train_runs_together([("Lion", 1.0)], steps=2), "optimizer must be one of"),
    (lambda: precompute_runs([], OPTIMIZERS, 2, progress=False), "at least one optimizer"),
])
def test_bad_arguments_are_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_curve_lookup(runs):
    result = playground_curve(runs, 1e-2, "Adam", 10)
    assert result["lr"] == pytest.approx(1e-2) and len(result["losses"]) == 11
    assert result["final_loss"] == runs[("Adam", -2.0)].losses[10]
    assert set(result["others"]) == set(OPTIMIZERS) - {"Adam"}
    between = playground_curve(runs, 0.05, "Adam", 10)             # log10(0.05) = -1.3
    assert between["lr"] == pytest.approx(0.1) and between["lr_requested"] == 0.05
    with pytest.raises(ValueError, match="steps must be an int in"):
        playground_curve(runs, 1e-2, "Adam", SMALL_STEPS + 1)
    with pytest.raises(ValueError, match="no precomputed runs for optimizer 'Lion'"):
        playground_curve(runs, 1e-2, "Lion", 10)
    with pytest.raises(ValueError, match="lr must be a number > 0"):
        playground_curve(runs, -1.0, "Adam", 10)


def test_controls_have_their_key_as_description_and_update_on_release(runs):
    explorer = training_playground(runs)
    for key, control in explorer.controls.items():
        assert control.description == key
    assert not explorer.controls["lr"].continuous_update and explorer.controls["lr"].readout
    assert not explorer.controls["steps"].continuous_update
    assert explorer.controls["lr"].min == SMALL_EXPONENTS[0]
    assert explorer.controls["lr"].max == SMALL_EXPONENTS[-1]


def test_lr_slider_changes_the_loss_fast(runs, capsys):
    explorer = training_playground(runs)
    explorer.controls["optimizer"].value = "SGD"
    lr = explorer.controls["lr"]
    seen = {}
    for exponent in SMALL_EXPONENTS:
        lr.value = 10 ** exponent
        assert explorer.last_update_seconds < 0.3, exponent
        assert explorer.result["lr"] == pytest.approx(10 ** exponent)
        seen[exponent] = explorer.result["final_loss"]
    finite = [v for v in seen.values() if math.isfinite(v)]
    assert len(set(finite)) == len(finite) and len(finite) >= 3
    # the line a browser test reads
    explorer.controls["lr"].value = 0.1
    printed = capsys.readouterr().out
    assert f"final loss: {runs[('SGD', -1.0)].losses[-1]:.6g}" in printed


def test_a_typed_lr_between_grid_points_shows_the_nearest_and_says_so(runs, capsys):
    explorer = training_playground(runs)
    explorer.controls["lr"].value = 0.05
    assert explorer.result["lr"] == pytest.approx(0.1)
    assert "lr 0.05 lies between the precomputed rates: showing the nearest, 0.1" in \
        capsys.readouterr().out


def test_optimizer_dropdown_changes_the_loss_fast(runs):
    explorer = training_playground(runs)
    seen = set()
    for name in explorer.controls["optimizer"].options:
        explorer.controls["optimizer"].value = name
        assert explorer.last_update_seconds < 0.3, name
        assert explorer.result["optimizer"] == name
        seen.add(explorer.result["final_loss"])
    assert len(seen) == len(OPTIMIZERS)


def test_steps_slider_changes_the_loss_fast(runs):
    explorer = training_playground(runs)                             # Adam, lr 1e-2
    steps = explorer.controls["steps"]
    seen = []
    for value in range(steps.min, steps.max + 1, steps.step):
        steps.value = value
        assert explorer.last_update_seconds < 0.3, value
        assert len(explorer.result["losses"]) == value + 1
        seen.append(explorer.result["final_loss"])
    assert len(seen) >= 4 and np.all(np.diff(seen) < 0)   # Adam keeps lowering the loss


def test_a_diverged_run_is_reported_not_raised(capsys):
    explorer = training_playground(precompute_runs((-1.0, 1.0), ("SGD",), 20, progress=False))
    explorer.controls["lr"].value = 10.0
    assert math.isnan(explorer.result["final_loss"])
    out = capsys.readouterr().out
    assert "final loss: nan (the loss overflowed at step" in out


def test_the_default_grid():
    assert LR_EXPONENTS[0] == -3.0 and LR_EXPONENTS[-1] == 0.0 and len(LR_EXPONENTS) == 7
    assert MAX_STEPS == 100


def polylines(svg):
    """{optimizer: (number of points, stroke-width)} of the chart's curves."""
    root = ET.fromstring(svg)
    found = {}
    for line in root.iter("{http://www.w3.org/2000/svg}polyline"):
        name = line.find("{http://www.w3.org/2000/svg}title").text
        found[name] = (len(line.get("points").split()), float(line.get("stroke-width")))
    return found


def test_the_chart_draws_each_curve_up_to_steps_and_the_chosen_one_bold(runs):
    explorer = training_playground(runs)
    explorer.controls["steps"].value = 10
    curves = polylines(explorer.render.svg)
    assert set(curves) == set(OPTIMIZERS)
    assert all(points == 11 for points, _ in curves.values())
    assert curves["Adam"][1] > max(width for name, (_, width) in curves.items() if name != "Adam")
    assert "Adam, lr = 0.01, 10 steps" in explorer.render.svg
    before = explorer.render.svg
    explorer.controls["lr"].value = 0.1
    assert explorer.render.svg != before


def test_a_diverged_curve_stops_at_its_last_finite_loss():
    result = {"optimizer": "SGD", "lr": 10.0, "steps": 4,
              "losses": np.array([1.0, 2.0, 1e5, np.nan, np.nan]), "others": {}}
    svg = loss_curves_svg(result, (1e-6, 100.0), 4, 1.0)
    assert polylines(svg) == {"SGD": (3, 2.6)}
    # 1e5 lies above the plot: its point is drawn above the top edge and clipped there
    top = float(re.search(r'<rect x="\d+" y="(\d+)"', svg).group(1))
    last_y = float(ET.fromstring(svg).find("{http://www.w3.org/2000/svg}polyline")
                   .get("points").split()[-1].split(",")[1])
    assert last_y < top

"""Notebook 06's explorer: every control across its range changes the result, fast."""

import matplotlib
import pytest
import torch
from torch import nn

matplotlib.use("Agg")

from utils.widgets.losses import (  # noqa: E402
    OUTLIER_INDEX,
    loss_data,
    losses_explorer,
    losses_for,
)


def sweep(control):
    steps = round((control.max - control.min) / control.step)
    return [control.min + k * control.step for k in range(0, steps + 1, max(1, steps // 8))]


def test_losses_equal_torch_at_a_setting():
    result = losses_for(7.5, -1.0, 2.0)
    prediction, target = torch.tensor(result["prediction"]), torch.tensor(result["target"])
    assert target[OUTLIER_INDEX] - prediction[OUTLIER_INDEX] == pytest.approx(7.5)
    assert result["losses"]["MSE"] == pytest.approx(nn.MSELoss()(prediction, target).item())
    assert result["losses"]["MAE"] == pytest.approx(nn.L1Loss()(prediction, target).item())
    assert result["losses"]["Huber"] == pytest.approx(
        nn.HuberLoss(delta=2.0)(prediction, target).item())
    torch.testing.assert_close(torch.tensor(result["prediction"]), loss_data()[0] - 1.0)


def test_outlier_share_is_its_part_of_autograds_gradient():
    result = losses_for(9.0, 0.5, 1.5)
    target = torch.tensor(result["target"])
    for name, loss in [("MSE", nn.MSELoss()), ("MAE", nn.L1Loss()),
                       ("Huber", nn.HuberLoss(delta=1.5))]:
        prediction = torch.tensor(result["prediction"], requires_grad=True)
        loss(prediction, target).backward()
        pull = prediction.grad.abs()
        assert result["outlier_share"][name] == pytest.approx(
            (pull[OUTLIER_INDEX] / pull.sum()).item(), rel=1e-5), name


def test_outlier_slider_grows_every_loss_and_mse_fastest():
    explorer = losses_explorer()
    control, previous = explorer.controls["outlier"], None
    for value in sweep(control):
        control.value = value
        result = explorer.result
        assert result["outlier"] == value
        assert explorer.last_update_seconds < 0.3, value
        if previous is not None:
            for name in ("MSE", "MAE", "Huber"):
                assert result["losses"][name] > previous["losses"][name], (name, value)
            assert result["outlier_share"]["MSE"] > result["outlier_share"]["MAE"]
        previous = result
    # far out, the outlier's share of MSE beats its share of Huber and of MAE
    share = explorer.result["outlier_share"]
    assert share["MSE"] > share["Huber"] > share["MAE"]


def test_shift_slider_changes_every_loss():
    explorer = losses_explorer()
    control, seen = explorer.controls["shift"], set()
    for value in sweep(control):
        control.value = value
        assert explorer.result["shift"] == value
        assert explorer.last_update_seconds < 0.3, value
        seen.add(tuple(explorer.result["losses"].values()))
    assert len(seen) == len(sweep(control))


def test_delta_slider_changes_only_huber():
    explorer = losses_explorer()
    control, seen = explorer.controls["delta"], []
    for value in sweep(control):
        control.value = value
        assert explorer.result["delta"] == value
        assert explorer.last_update_seconds < 0.3, value
        seen.append(explorer.result["losses"])
    assert len({s["Huber"] for s in seen}) == len(seen)
    assert len({s["MSE"] for s in seen}) == len({s["MAE"] for s in seen}) == 1


def test_bad_values_are_refused():
    with pytest.raises(ValueError, match="delta must be > 0, got 0"):
        losses_for(1.0, 0.0, 0.0)
    with pytest.raises(TypeError, match="outlier must be a number, got str"):
        losses_for("far", 0.0, 1.0)

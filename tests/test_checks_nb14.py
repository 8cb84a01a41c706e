import numpy as np
import torch

from utils.checks import nb14
from utils.widgets.speed import speed_explorer, speed_view


def test_projection_counts():
    assert nb14.check_projection_counts((100, 1))
    assert nb14.check_projection_counts([np.int64(100), 1.0])
    assert not nb14.check_projection_counts((1, 100))
    assert not nb14.check_projection_counts(None)
    assert "pair" in nb14.check_projection_counts(3).message


def test_forget_preactivation_grad():
    assert nb14.check_forget_preactivation_grad(0.16)
    assert nb14.check_forget_preactivation_grad(torch.tensor(0.16))
    assert not nb14.check_forget_preactivation_grad(1.0)      # dc * c_prev, slope forgotten
    assert not nb14.check_forget_preactivation_grad("0.16")


def test_time_at():
    assert nb14.check_time_at(0.25 * 400 + 2.0, 0.25, 2.0)
    assert not nb14.check_time_at(0.25 * 400, 0.25, 2.0 + 20)
    assert not nb14.check_time_at(None, 0.25, 2.0)


def test_speed_explorer_follows_every_control():
    grid = {"T": {25: (1.0, 2.0), 50: (2.0, 3.0)}, "B": {16: (1.5, 3.0)}}
    explorer = speed_explorer(grid)
    assert explorer.result == speed_view(grid, "T", 25)
    explorer.controls["size"].value = 50
    assert explorer.result["ratio"] == 1.5
    explorer.controls["axis"].value = "B"
    assert explorer.result["axis"] == "B" and explorer.result["size"] == 16
    assert explorer.result["ratio"] == 2.0
    assert explorer.last_update_seconds < 0.3


def test_speed_view_refuses_unmeasured_sizes():
    import pytest
    grid = {"T": {25: (1.0, 2.0)}}
    with pytest.raises(ValueError, match="measured"):
        speed_view(grid, "T", 30)
    with pytest.raises(ValueError, match="axis"):
        speed_view(grid, "H", 25)
    with pytest.raises(ValueError, match="non-empty"):
        speed_explorer({})

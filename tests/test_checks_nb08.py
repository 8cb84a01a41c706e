import numpy as np
import torch

from utils.checks.nb08 import (
    check_early_stop,
    check_seasonal_naive_mape,
    check_train_mean,
    check_window_count,
    early_stop_epochs,
)
from utils.data import SlidingWindows, StandardScaler, load_airline, time_split
from utils.forecast import mape, seasonal_naive_forecast
from utils.training import fit


def test_window_count_agrees_with_sliding_windows():
    assert len(SlidingWindows(np.arange(120.0), 24, 12)) == 85
    assert check_window_count(85)
    assert not check_window_count(84) and "off by one" in repr(check_window_count(84))
    assert "horizon" in repr(check_window_count(96))
    for same in (85.0, np.int64(85), torch.tensor(85)):
        assert check_window_count(same)
    assert not check_window_count(85.5) and not check_window_count(None)


def test_train_mean_catches_the_leaks():
    values = load_airline()[1]
    split = time_split(144, 12, 12)
    right = StandardScaler().fit(values[split.train]).mean
    assert check_train_mean(right) and check_train_mean(torch.tensor(right, dtype=torch.float64))
    assert "leaked" in repr(check_train_mean(values.mean()))
    assert "validation" in repr(check_train_mean(values[:132].mean()))
    assert not check_train_mean(0.0) and not check_train_mean("280")


def test_early_stop_simulation_agrees_with_fit():
    losses = (0.90, 0.60, 0.50, 0.52, 0.48, 0.49, 0.50, 0.51, 0.47, 0.46)
    assert early_stop_epochs(losses, 3) == (8, 5)

    class Scripted(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))
            self.epoch = 0

        def forward(self, x):
            if self.training:
                return x * 0 + self.w
            return x * 0 + losses[self.epoch] ** 0.5

    net = Scripted()
    history = fit(net, [(torch.zeros(1, 1), torch.zeros(1, 1))],
                  [(torch.zeros(1, 1), torch.zeros(1, 1))], epochs=10, patience=3,
                  progress=False, on_epoch_end=lambda e, h: setattr(net, "epoch", e))
    assert (history.epochs_run, history.best_epoch) == (8, 5)
    assert check_early_stop((8, 5))
    assert "swapped" in repr(check_early_stop((5, 8)))
    assert not check_early_stop((10, 10)) and not check_early_stop([5, 8])
    assert check_early_stop([8, 5]) and check_early_stop([np.int64(8), 5.0])  # a list is a pair
    assert check_early_stop((np.int64(8), 5.0)) and not check_early_stop((8, 5, 1))
    assert not check_early_stop("8, 5") and "pair of two whole numbers" in repr(
        check_early_stop("8, 5"))


def test_seasonal_naive_mape():
    values = load_airline()[1]
    expected = mape(seasonal_naive_forecast(values[:132], 12), values[132:])
    assert abs(expected - 9.99) < 0.01
    assert check_seasonal_naive_mape(expected)
    assert "percent" in repr(check_seasonal_naive_mape(expected / 100))
    assert "RMSE" in repr(check_seasonal_naive_mape(50.708))
    assert not check_seasonal_naive_mape(12.0) and not check_seasonal_naive_mape(None)

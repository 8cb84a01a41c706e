"""Notebook 18's checkers accept the right answers (in any numeric form) and say why the
common wrong ones are wrong; the expected values agree with what utils computes."""

import numpy as np
import torch
from sklearn.metrics import mean_pinball_loss

from utils.checks.nb18 import check_covariate_input_shape, check_origin_mean, check_pinball_pair
from utils.data import StandardScaler
from utils.horizons import calendar_features, forecast_windows, load_temperatures, pinball_loss


def test_covariate_input_shape_is_what_forecast_windows_gives():
    dates, values = load_temperatures()
    channels = np.concatenate([values[:, None], calendar_features(dates, harmonics=2)], axis=1)
    x, _ = forecast_windows(channels, values, 30, 14, np.arange(100, 164))
    assert check_covariate_input_shape(x.shape) and check_covariate_input_shape((64, 30, 5))
    assert check_covariate_input_shape([np.int64(64), 30.0, torch.tensor(5)])
    assert "sine and a cosine" in repr(check_covariate_input_shape((64, 30, 3)))
    assert "beside the temperature" in repr(check_covariate_input_shape((64, 30, 4)))
    assert "batch comes first" in repr(check_covariate_input_shape((30, 64, 5)))
    assert not check_covariate_input_shape((64, 5, 30)) and not check_covariate_input_shape("x")
    assert check_covariate_input_shape((8, 10, 3), batch=8, lookback=10, harmonics=1)


def test_pinball_pair_matches_scikit_learn_and_pinball_loss():
    expected = [mean_pinball_loss([truth], [10.0], alpha=0.9) for truth in (12.0, 8.0)]
    assert np.allclose(expected, [1.8, 0.2])
    ours = [pinball_loss(torch.tensor([[10.0]]), torch.tensor([t]), [0.9]).item()
            for t in (12.0, 8.0)]
    assert np.allclose(ours, expected)
    assert check_pinball_pair((1.8, 0.2)) and check_pinball_pair([np.float32(1.8), 0.2])
    assert check_pinball_pair(tuple(expected))
    assert "swapped" in repr(check_pinball_pair((0.2, 1.8)))
    assert "absolute error" in repr(check_pinball_pair((2.0, 2.0)))
    assert not check_pinball_pair((1.0, 1.0)) and not check_pinball_pair(1.8)
    assert not check_pinball_pair((1.8, None))
    assert check_pinball_pair((0.2, 1.8), tau=0.1)


def test_origin_mean_is_the_scaler_fitted_before_the_origin():
    dates, values = load_temperatures()
    cut = int(np.searchsorted(dates, np.datetime64("1990-07-01")))
    scaler = StandardScaler().fit(values[:cut])
    assert check_origin_mean(scaler.mean) and check_origin_mean(np.float64(scaler.mean))
    assert "all ten years" in repr(check_origin_mean(values.mean()))
    assert "1990-07-01 itself" in repr(check_origin_mean(values[:cut + 1].mean()))
    assert not check_origin_mean(values[:cut - 90].mean()) and not check_origin_mean("11")
    assert check_origin_mean(values[:3285].mean(), origin="1990-01-01")


def test_origin_mean_tolerance_is_absolute_only():
    dates, values = load_temperatures()
    cut = int(np.searchsorted(dates, np.datetime64("1990-07-01")))
    expected = float(values[:cut].mean())
    assert check_origin_mean(expected + 5e-7)
    assert not check_origin_mean(expected + 5e-5)        # rtol 1e-5 alone would accept this

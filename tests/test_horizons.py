"""utils.horizons: the temperature loader's checks, calendar features, forecast windows, the
value encoder-decoder, the pinball loss against scikit-learn, coverage, the fixed-step trainer,
and the state-space forecasts against statsmodels' own."""

import re
import shutil

import numpy as np
import pytest
import torch
from sklearn.metrics import mean_pinball_loss
from torch import nn

from utils.data import DATASETS
from utils.horizons import (
    MISSING_DAYS,
    ValueSeq2Seq,
    calendar_features,
    fit_harmonic_arima,
    forecast_windows,
    interval_coverage,
    load_temperatures,
    pinball_loss,
    state_space_forecasts,
    train_fixed_steps,
    training_points,
)

SHIPPED = DATASETS / "daily-min-temperatures.csv"


# ---------------------------------------------------------------- the data

def test_shipped_series_has_the_known_facts():
    dates, values = load_temperatures()
    assert len(dates) == len(values) == 3650
    assert str(dates[0]) == "1981-01-01" and str(dates[-1]) == "1990-12-31"
    assert values[0] == 20.7 and values[-1] == 13.0
    assert round(values.sum(), 1) == 40_798.8
    years = dates.astype("datetime64[Y]").astype(int) + 1970
    assert np.bincount(years - 1981).tolist() == [365] * 10        # 365 rows in every year
    assert not np.isin(np.array(MISSING_DAYS, dtype="datetime64[D]"), dates).any()
    assert (SHIPPED.parent / "daily-min-temperatures.source.txt").is_file()


def _copy(tmp_path, edit):
    lines = SHIPPED.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "daily-min-temperatures.csv"
    path.write_text("\n".join(edit(lines)) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("edit, text", [
    (lambda lines: ['"Day","Temp"', *lines[1:]], r"expected the header \['Date', 'Temp'\]"),
    (lambda lines: lines[:-1], "expected 3,650 daily rows, got 3,649"),
    (lambda lines: [*lines[:2], '"1981-01-02",x', *lines[3:]], "is not 'YYYY-MM-DD',number"),
    (lambda lines: [*lines[:2], '"1981-01-01",17.9', *lines[3:]], "with other gaps or repeats"),
    (lambda lines: [*lines[:-1], '"1990-12-31",14.0'], "summing to 40,798.8 and ending at 13.0"),
])
def test_a_damaged_file_is_refused(tmp_path, edit, text):
    with pytest.raises(ValueError, match=text):
        load_temperatures(_copy(tmp_path, edit))


def test_a_missing_file_and_a_good_copy(tmp_path):
    with pytest.raises(FileNotFoundError, match="no file 'nothing.csv'"):
        load_temperatures(tmp_path / "nothing.csv")
    shutil.copy(SHIPPED, tmp_path / "copy.csv")
    np.testing.assert_array_equal(load_temperatures(tmp_path / "copy.csv")[1],
                                  load_temperatures()[1])


# ---------------------------------------------------------------- calendar features

def test_calendar_features_by_hand():
    dates = np.array(["1990-01-01", "1990-04-02", "1990-12-31", "1988-12-30", "1988-07-02"],
                     dtype="datetime64[D]")
    features = calendar_features(dates, harmonics=2)
    assert features.shape == (5, 4) and features.dtype == np.float64
    np.testing.assert_allclose(features[0], [0.0, 1.0, 0.0, 1.0], atol=1e-15)
    angle = 2 * np.pi * 91 / 365                         # 2 April is day 91 counted from 0
    np.testing.assert_allclose(features[1], [np.sin(angle), np.cos(angle),
                                             np.sin(2 * angle), np.cos(2 * angle)])
    np.testing.assert_allclose(features[2, :2], [np.sin(2 * np.pi * 364 / 365),
                                                 np.cos(2 * np.pi * 364 / 365)])
    np.testing.assert_allclose(features[3, :2], [np.sin(2 * np.pi * 364 / 366),   # leap year
                                                 np.cos(2 * np.pi * 364 / 366)])
    np.testing.assert_allclose(features[4, :2], [0.0, -1.0], atol=1e-15)  # day 183 of 366
    np.testing.assert_allclose(features[:, 0] ** 2 + features[:, 1] ** 2, 1.0)


@pytest.mark.parametrize("dates, harmonics, error, text", [
    (np.arange(3.0), 1, TypeError, "datetime64 array, got ndarray of dtype float64"),
    (["1990-01-01"], 1, TypeError, "got list"),
    (np.array([["1990-01-01"]], dtype="datetime64[D]"), 1, ValueError, "1-D array"),
    (np.array([], dtype="datetime64[D]"), 1, ValueError, "non-empty"),
    (np.array(["1990-01-01"], dtype="datetime64[D]"), 0, ValueError, "harmonics must be >= 1"),
    (np.array(["1990-01-01"], dtype="datetime64[D]"), 1.0, TypeError, "harmonics must be an int"),
])
def test_calendar_features_refuse(dates, harmonics, error, text):
    with pytest.raises(error, match=text):
        calendar_features(dates, harmonics)


# ---------------------------------------------------------------- windows

def test_forecast_windows_are_the_slices_before_and_after_each_point():
    series = np.arange(50.0)
    channels = np.stack([series, -series], axis=1)
    x, y = forecast_windows(channels, series, lookback=5, horizon=3, points=[5, 20, 47])
    assert x.shape == (3, 5, 2) and y.shape == (3, 3) and x.dtype == y.dtype == torch.float32
    assert x[1, :, 0].tolist() == [15, 16, 17, 18, 19] and x[1, :, 1].tolist() == [-15, -16, -17,
                                                                                  -18, -19]
    assert y[1].tolist() == [20, 21, 22] and y[2].tolist() == [47, 48, 49]
    x1, _ = forecast_windows(series, series, 5, 3, np.array([5]))          # (T,) is one channel
    assert x1.shape == (1, 5, 1)


def test_training_points_end_where_the_origin_starts():
    points = training_points(lookback=5, horizon=3, origin=np.int64(30))
    assert points[0] == 5 and points[-1] + 3 == 30
    _, y = forecast_windows(np.arange(40.0), np.arange(40.0), 5, 3, points)
    assert y.max() == 29                                             # no target at the origin


@pytest.mark.parametrize("kwargs, error, text", [
    ({"points": [4]}, ValueError, re.escape("s in [5, 47] for a series of length 50, got "
                                            "points in [4, 4]")),
    ({"points": [48]}, ValueError, re.escape("got points in [48, 48]")),
    ({"points": [5.0]}, ValueError, "whole indices"),
    ({"points": []}, ValueError, "non-empty"),
    ({"target": np.arange(49.0)}, ValueError, "one row per step, got 50 and 49 rows"),
    ({"target": np.ones((50, 2))}, ValueError, "target must be 1-D"),
    ({"channels": np.full(50, np.nan)}, ValueError, "channels contains NaN"),
    ({"lookback": 0}, ValueError, "lookback must be >= 1"),
    ({"channels": ["a"] * 50}, TypeError,
     re.escape("channels must be numbers of shape (time,) or (time, channels), got list")),
    ({"target": np.array(["warm"] * 50)}, TypeError,
     re.escape("target must be numbers of shape (time,) or (time, channels), got ndarray")),
])
def test_forecast_windows_refuse(kwargs, error, text):
    args = {"channels": np.arange(50.0), "target": np.arange(50.0), "lookback": 5,
            "horizon": 3, "points": [5], **kwargs}
    with pytest.raises(error, match=text):
        forecast_windows(**args)


def test_training_points_refuse_an_origin_too_early():
    with pytest.raises(ValueError, match="origin 7 leaves no training window"):
        training_points(5, 3, 7)


# ---------------------------------------------------------------- the encoder-decoder

def test_seq2seq_teacher_forcing_and_free_running():
    torch.manual_seed(0)
    model = ValueSeq2Seq(input_size=3, hidden_size=8)
    x, truth = torch.randn(4, 6, 3), torch.randn(4, 5)
    previous = torch.cat([x[:, -1:, 0], truth[:, :-1]], dim=1)
    out = model(x, previous)
    assert out.shape == (4, 5)
    _, state = model.encoder(x)                                      # the step loop, fed truth
    steps = []
    for t in range(5):
        o, state = model.decoder(previous[:, t, None, None], state)
        steps.append(model.head(o)[:, 0, 0])
    torch.testing.assert_close(torch.stack(steps, 1), out)
    forecast = model.forecast(x, 5)                                  # fed its own outputs
    own = torch.cat([x[:, -1:, 0], forecast[:, :-1]], dim=1)
    torch.testing.assert_close(model(x, own), forecast)
    assert not torch.allclose(forecast, out)


@pytest.mark.parametrize("call, error, text", [
    (lambda m: m(torch.randn(2, 6, 2), torch.randn(2, 5)), ValueError, r"\(batch, lookback, 3\)"),
    (lambda m: m(torch.randn(2, 6, 3), torch.randn(3, 5)), ValueError,
     r"previous must have shape \(2, horizon\)"),
    (lambda m: m([[0.0]], torch.randn(2, 5)), TypeError, "x must be a float tensor .* got list"),
    (lambda m: m(torch.zeros(2, 6, 3, dtype=torch.long), torch.randn(2, 5)), TypeError,
     "got a tensor of dtype torch.int64"),
    (lambda m: m(torch.randn(2, 6, 3), [[0.0] * 5] * 2), TypeError,
     r"previous must be a float tensor \(2, horizon\), got list"),
    (lambda m: m(torch.randn(2, 6, 3), torch.zeros(2, 5, dtype=torch.int32)), TypeError,
     "previous must be a float tensor .* got a tensor of dtype torch.int32"),
    (lambda m: m(torch.randn(2, 6, 3), torch.randn(2, 5, 1)), ValueError,
     r"previous must have shape \(2, horizon\), got \(2, 5, 1\)"),
    (lambda m: m.forecast(torch.randn(2, 6, 3), 0), ValueError, "horizon must be >= 1"),
])
def test_seq2seq_refuses(call, error, text):
    with pytest.raises(error, match=text):
        call(ValueSeq2Seq(3, 4))


# ---------------------------------------------------------------- pinball loss and coverage

def test_pinball_loss_equals_scikit_learn_level_by_level():
    generator = torch.Generator().manual_seed(0)
    target = torch.randn(50, 7, generator=generator, dtype=torch.float64)
    prediction = torch.randn(50, 7, 3, generator=generator, dtype=torch.float64)
    levels = (0.1, 0.5, 0.9)
    reference = np.mean([mean_pinball_loss(target.numpy().ravel(),
                                           prediction[..., q].numpy().ravel(), alpha=tau)
                         for q, tau in enumerate(levels)])
    torch.testing.assert_close(pinball_loss(prediction, target, levels),
                               torch.tensor(reference, dtype=torch.float64))
    median = pinball_loss(prediction[..., 1:2], target, [0.5])
    torch.testing.assert_close(median, (target - prediction[..., 1]).abs().mean() / 2)
    assert pinball_loss(torch.tensor([[1.0]]), torch.tensor([3.0]), [0.9]).item() == \
        pytest.approx(0.9 * 2)                                       # under-predicted: tau per unit
    assert pinball_loss(torch.tensor([[5.0]]), torch.tensor([3.0]), [0.9]).item() == \
        pytest.approx(0.1 * 2)                                       # over-predicted: 1 - tau


@pytest.mark.parametrize("prediction, target, levels, error, text", [
    (torch.zeros(4, 3), torch.zeros(4, 3), (0.1, 0.5, 0.9), ValueError,
     "= (4, 3, 3), got (4, 3)"),
    (torch.zeros(4, 3, 2), torch.zeros(4, 3), (0.1, 0.5, 0.9), ValueError, "got (4, 3, 2)"),
    (torch.zeros(4, 1), torch.zeros(4), (1.0,), ValueError, "strictly between 0 and 1"),
    (torch.zeros(4, 1), torch.zeros(4), 0.5, TypeError, "sequence of levels"),
    (torch.zeros(4, 1), torch.zeros(4), (), ValueError, "strictly between"),
    (np.zeros((4, 1)), torch.zeros(4), (0.5,), TypeError,
     "prediction must be a float tensor, got ndarray"),
    (torch.zeros(4, 1, dtype=torch.long), torch.zeros(4), (0.5,), TypeError,
     "prediction must be a float tensor, got a tensor of dtype torch.int64"),
    (torch.zeros(4, 1), torch.zeros(4, dtype=torch.int32), (0.5,), TypeError,
     "target must be a float tensor, got a tensor of dtype torch.int32"),
])
def test_pinball_loss_refuses(prediction, target, levels, error, text):
    with pytest.raises(error, match=re.escape(text)):
        pinball_loss(prediction, target, levels)


def test_interval_coverage():
    truth = np.array([0.0, 1.0, 2.0, 3.0])
    assert interval_coverage(np.full(4, 1.0), np.full(4, 2.0), truth) == 0.5   # ends included
    assert interval_coverage(torch.zeros(4), torch.full((4,), 3.0), torch.tensor(truth)) == 1.0
    with pytest.raises(ValueError, match="one non-empty shape"):
        interval_coverage(np.zeros(3), np.zeros(4), truth)
    with pytest.raises(ValueError, match="finite"):
        interval_coverage(np.full(4, np.nan), np.zeros(4), truth)


def test_interval_coverage_refuses_crossed_pairs_and_counts_them():
    lower, upper = np.array([0.0, 2.0, 1.0, 5.0]), np.array([1.0, 1.0, 1.0, 4.0])
    with pytest.raises(ValueError, match=re.escape("got 2 of 4 pairs with lower > upper")):
        interval_coverage(lower, upper, np.zeros(4))
    assert interval_coverage(np.minimum(lower, upper), np.maximum(lower, upper),
                             np.array([0.5, 1.5, 1.0, 6.0])) == 0.75     # sorted: accepted


# ---------------------------------------------------------------- the trainer

def _regression():
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(200, 3, generator=generator)
    return x, x @ torch.tensor([1.0, -2.0, 0.5]) + 0.3


def _train(steps=60, seed=0, progress=None):
    x, y = _regression()
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    losses = train_fixed_steps(model, lambda i: ((model(x[i])[:, 0] - y[i]) ** 2).mean(), len(x),
                               steps=steps, batch_size=16, lr=0.05, seed=seed,
                               progress=progress)
    return model, losses


def test_train_fixed_steps_is_seeded_and_learns():
    class Bar:
        n = 0

        def update(self, k):
            self.n += k

    bar = Bar()
    model, losses = _train(progress=bar)
    again, losses_again = _train()
    assert losses == losses_again and len(losses) == 60 and bar.n == 60
    assert torch.equal(model.weight, again.weight) and not model.training
    assert np.mean(losses[-10:]) < 0.01 * np.mean(losses[:10])
    _, other = _train(seed=1)
    assert other != losses


@pytest.mark.parametrize("kwargs, error, text", [
    ({"steps": 0}, ValueError, "steps must be >= 1"),
    ({"lr": 0.0}, ValueError, "lr must be a finite number > 0"),
    ({"max_norm": float("nan")}, ValueError, "max_norm must be a finite number > 0"),
    ({"seed": -1}, ValueError, "seed must be >= 0"),
    ({"batch_size": 2.0}, TypeError, "batch_size must be an int"),
    ({"lr": "0.01"}, TypeError, "lr must be a real number .* got str"),
    ({"lr": True}, TypeError, "lr must be a real number .* got bool"),
    ({"lr": torch.tensor(0.01)}, TypeError, "lr must be a real number .* got Tensor"),
    ({"lr": np.float32(-0.5)}, ValueError, "lr must be a finite number > 0"),
    ({"max_norm": np.inf}, ValueError, "max_norm must be a finite number > 0, got inf"),
])
def test_train_fixed_steps_refuses(kwargs, error, text):
    model = nn.Linear(1, 1)
    args = {"steps": 2, "batch_size": 4, "lr": 0.1, "seed": 0, **kwargs}
    with pytest.raises(error, match=text):
        train_fixed_steps(model, lambda i: model(torch.ones(len(i), 1)).mean(), 10, **args)


def test_train_fixed_steps_accepts_numpy_numbers():
    x, y = _regression()

    def run(lr, max_norm):
        torch.manual_seed(0)
        model = nn.Linear(3, 1)
        return train_fixed_steps(model, lambda i: ((model(x[i])[:, 0] - y[i]) ** 2).mean(),
                                 len(x), steps=20, batch_size=16, lr=lr, max_norm=max_norm,
                                 seed=np.int64(0))

    numpy_numbers = run(np.float32(0.05), np.float64(1.0))
    assert numpy_numbers == run(float(np.float32(0.05)), 1)
    assert numpy_numbers[-1] < numpy_numbers[0]


def test_train_fixed_steps_refuses_a_loss_that_is_not_a_scalar():
    model = nn.Linear(1, 1)
    with pytest.raises(ValueError, match="scalar tensor"):
        train_fixed_steps(model, lambda i: model(torch.ones(len(i), 1)), 10, steps=1,
                          batch_size=4, lr=0.1, seed=0)
    with pytest.raises(TypeError, match="nn.Module"):
        train_fixed_steps(lambda x: x, lambda i: i, 10, steps=1, batch_size=4, lr=0.1, seed=0)


# ---------------------------------------------------------------- the classical model

def _harmonic_series(n=700, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    exog = np.stack([np.ones(n), np.sin(2 * np.pi * t / 50), np.cos(2 * np.pi * t / 50)], 1)
    noise = np.zeros(n)
    for i in range(1, n):
        noise[i] = 0.6 * noise[i - 1] + rng.normal()
    return exog @ np.array([10.0, 3.0, -1.0]) + noise, exog


def test_state_space_forecasts_equal_statsmodels_get_forecast():
    values, exog = _harmonic_series()
    origin, horizon = 500, 6
    fitted = fit_harmonic_arima(values[:origin], exog[:origin], order=(1, 0, 1))
    assert abs(fitted.params[0] - 10.0) < 1.0 and abs(fitted.params[3] - 0.6) < 0.2
    extended = fitted.append(values[origin:], exog=exog[origin:])
    points = np.array([origin, origin + 1, 577, len(values) - horizon])
    mean, var = state_space_forecasts(extended, points, horizon)
    assert mean.shape == var.shape == (4, horizon)
    for row, s in enumerate(points):
        own = fitted.apply(values[:s], exog=exog[:s]).get_forecast(horizon,
                                                                   exog=exog[s:s + horizon])
        np.testing.assert_allclose(mean[row], own.predicted_mean, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(var[row], own.var_pred_mean, rtol=1e-9, atol=1e-9)
    own_forecast = fitted.forecast(horizon, exog=exog[origin:origin + horizon])
    np.testing.assert_allclose(mean[0], own_forecast, rtol=1e-9)
    tampered = values.copy()
    tampered[points[2]:] += 100.0                                  # the future of point 2
    again, _ = state_space_forecasts(fitted.append(tampered[origin:], exog=exog[origin:]),
                                     points[:3], horizon)
    np.testing.assert_array_equal(again, mean[:3])
    assert np.all(np.diff(var[0]) > 0)                              # uncertainty grows


def test_state_space_and_fit_refuse():
    values, exog = _harmonic_series(200)
    fitted = fit_harmonic_arima(values, exog, order=(1, 0, 0))
    with pytest.raises(ValueError, match=re.escape("points must be whole indices in [1, 195] "
                                                   "(the results cover 200 steps), got points "
                                                   "in [0, 196]")):
        state_space_forecasts(fitted, np.array([0, 50, 196]), 5)
    with pytest.raises(ValueError, match=re.escape("got shape (1,) of dtype float64")):
        state_space_forecasts(fitted, np.array([3.0]), 5)
    with pytest.raises(ValueError, match=re.escape("got shape (1, 2) of dtype int64")):
        state_space_forecasts(fitted, np.array([[3, 4]]), 5)
    with pytest.raises(ValueError, match=re.escape("got shape (0,)")):
        state_space_forecasts(fitted, np.array([], dtype=int), 5)
    with pytest.raises(TypeError, match="statsmodels state-space results .* got dict"):
        state_space_forecasts({"nobs": 200}, np.array([3]), 5)
    with pytest.raises(ValueError, match=r"values must be \(time,\) and exog"):
        fit_harmonic_arima(values, exog[:-1])
    with pytest.raises(ValueError, match="finite"):
        fit_harmonic_arima(np.full(200, np.nan), exog)


def test_state_space_forecasts_refuse_models_they_do_not_handle():
    from statsmodels.tsa.statespace.sarimax import SARIMAX
    from statsmodels.tsa.statespace.varmax import VARMAX

    values, exog = _harmonic_series(80)
    varying = SARIMAX(values, exog=exog[:, 1:], order=(1, 0, 0), time_varying_regression=True,
                      mle_regression=False)                       # the design holds exog[t]
    with pytest.raises(ValueError, match="the model's design varies in time"):
        state_space_forecasts(varying.filter(varying.start_params), np.array([10]), 5)
    two = VARMAX(np.stack([values, -values], axis=1), order=(1, 0))
    with pytest.raises(ValueError, match=re.escape(
            "only a model of one observed series is supported (k_endog = 1), got k_endog = 2")):
        state_space_forecasts(two.filter(two.start_params), np.array([10]), 5)


def test_fit_harmonic_arima_raises_when_the_optimiser_does_not_converge(monkeypatch):
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    fit = SARIMAX.fit
    monkeypatch.setattr(SARIMAX, "fit", lambda self, **kwargs: fit(self, maxiter=1, **kwargs))
    values, exog = _harmonic_series(200)
    with pytest.raises(RuntimeError, match="the SARIMAX fit did not converge"):
        fit_harmonic_arima(values, exog, order=(1, 0, 1))

import numpy as np
import pytest

from utils.widgets.forecast import ONE_SEED, forecast_explorer, forecast_view

DATES = np.arange(np.datetime64("1960-01"), np.datetime64("1961-01"))
TRUTH = np.linspace(400.0, 500.0, 12)
FORECASTS = {"naive": np.full(12, 405.0), "perfect": TRUTH.copy(), "double": 2 * TRUTH}
SEEDS = TRUTH[None] + np.arange(5.0)[:, None]   # seed k is off by exactly k


def explorer():
    context = np.arange(np.datetime64("1959-01"), np.datetime64("1960-01"))
    return forecast_explorer(DATES, TRUTH, FORECASTS, SEEDS, context, np.full(12, 380.0))


def test_view_scores_the_chosen_forecast():
    view = forecast_view("perfect", 0, 12, truth=TRUTH, forecasts=FORECASTS,
                         seed_forecasts=SEEDS)
    assert view["rmse"] == 0 and view["mape"] == 0
    view = forecast_view(ONE_SEED, 3, 4, truth=TRUTH, forecasts=FORECASTS,
                         seed_forecasts=SEEDS)
    assert view["rmse"] == pytest.approx(3.0) and len(view["forecast"]) == 4
    assert view["label"] == "LSTM, seed 3"


def test_method_control_switches_the_forecast():
    ex = explorer()
    for method in ex.controls["method"].options:
        ex.controls["method"].value = method
        assert ex.last_update_seconds < 0.3
        if method == "double":
            assert ex.result["mape"] == pytest.approx(100.0)
        elif method == "perfect":
            assert ex.result["rmse"] == 0
        elif method == ONE_SEED:
            assert ex.result["rmse"] == pytest.approx(ex.controls["seed"].value)
        np.testing.assert_array_equal(ex.result["truth"], TRUTH)


def test_seed_control_moves_the_single_seed_forecast():
    ex = explorer()
    ex.controls["method"].value = ONE_SEED
    for seed in range(ex.controls["seed"].min, ex.controls["seed"].max + 1):
        ex.controls["seed"].value = seed
        assert ex.result["rmse"] == pytest.approx(seed)
        assert ex.result["label"] == f"LSTM, seed {seed}"
        assert ex.last_update_seconds < 0.3


def test_horizon_control_scores_the_first_months_only():
    ex = explorer()
    ex.controls["method"].value = "naive"
    for horizon in range(1, 13):
        ex.controls["horizon"].value = horizon
        assert len(ex.result["forecast"]) == len(ex.result["truth"]) == horizon
        expected = np.sqrt(np.mean((405.0 - TRUTH[:horizon]) ** 2))
        assert ex.result["rmse"] == pytest.approx(expected)
        assert ex.last_update_seconds < 0.3


@pytest.mark.parametrize("kwargs, text", [
    ({"method": "arima"}, "unknown method 'arima'"),
    ({"horizon": 13}, r"horizon must be in \[1, 12\], got 13"),
    ({"method": ONE_SEED, "seed": 5}, r"seed must be in \[0, 5\), got 5"),
])
def test_view_rejects(kwargs, text):
    args = {"method": "naive", "seed": 0, "horizon": 12, **kwargs}
    with pytest.raises(ValueError, match=text):
        forecast_view(**args, truth=TRUTH, forecasts=FORECASTS, seed_forecasts=SEEDS)


def test_explorer_rejects_mismatched_inputs():
    context = DATES[:3]
    with pytest.raises(ValueError, match=r"forecast 'bad' must have shape \(12,\)"):
        forecast_explorer(DATES, TRUTH, {"bad": np.ones(11)}, SEEDS, context, np.ones(3))
    with pytest.raises(ValueError, match=r"seed_forecasts must have shape \(seeds, 12\)"):
        forecast_explorer(DATES, TRUTH, FORECASTS, np.ones(12), context, np.ones(3))
    with pytest.raises(ValueError, match="same length"):
        forecast_explorer(DATES[:5], TRUTH, FORECASTS, SEEDS, context, np.ones(3))


def test_render_draws_a_png_fast():
    ex = explorer()
    ex.controls["method"].value = "double"   # far outside the truth: still inside the y-range
    ex.controls["horizon"].value = 3
    assert ex.last_update_seconds < 0.3      # the PNG is really rendered, not skipped
    plot = ex.plot
    np.testing.assert_array_equal(plot.forecast.get_ydata(), 2 * TRUTH[:3])
    assert plot.ax.get_ylim()[1] >= 2 * TRUTH.max()
    assert "double: first 3 month(s)" in plot.ax.get_title()
    first = plot.png("a", TRUTH[:3], TRUTH[:3])
    second = plot.png("a", TRUTH[:3], 2 * TRUTH[:3])
    assert first.startswith(b"\x89PNG") and first != second
    assert plot.png("a", TRUTH[:3], TRUTH[:3]) == first   # blitting leaves no trace behind

import re

import numpy as np
import pytest

from utils.widgets.horizons import horizon_explorer, horizon_view

DAYS, HORIZON, CONTEXT = 20, 5, 8
DATES = np.arange(np.datetime64("1990-01-01"), np.datetime64("1990-01-01") + DAYS)
TRUTH = np.arange(DAYS * HORIZON, dtype=float).reshape(DAYS, HORIZON) / 10
HISTORY = np.ones((DAYS, CONTEXT))
FORECASTS = {"perfect": TRUTH.copy(), "off by 1": TRUTH + 1.0, "quantile": TRUTH + 0.5}
INTERVALS = {"quantile": (TRUTH - 1.0, TRUTH + 0.25)}        # holds the truth, not the forecast


def explorer():
    return horizon_explorer(DATES, HISTORY, TRUTH, FORECASTS, INTERVALS)


def test_view_scores_the_chosen_row():
    view = horizon_view("off by 1", 3, truth=TRUTH, forecasts=FORECASTS, intervals=INTERVALS)
    assert view["mae"] == pytest.approx(1.0) and view["inside"] is None
    np.testing.assert_array_equal(view["truth"], TRUTH[3])
    view = horizon_view("quantile", 7, truth=TRUTH, forecasts=FORECASTS, intervals=INTERVALS)
    assert view["inside"] == HORIZON and view["mae"] == pytest.approx(0.5)
    np.testing.assert_array_equal(view["lower"], TRUTH[7] - 1.0)


def test_method_and_day_controls_update_fast():
    ex = explorer()
    for method in ex.controls["method"].options:
        ex.controls["method"].value = method
        assert ex.last_update_seconds < 0.3
        assert ex.result["mae"] == pytest.approx({"perfect": 0.0, "off by 1": 1.0,
                                                  "quantile": 0.5}[method])
    for day in range(DAYS):
        ex.controls["day"].value = day
        assert ex.result["date"] == str(DATES[day]) and ex.last_update_seconds < 0.3
        np.testing.assert_array_equal(ex.result["truth"], TRUTH[day])
        assert ex.result["inside"] == HORIZON


def test_the_band_is_drawn_only_for_a_method_with_an_interval():
    ex = explorer()
    ex.controls["method"].value = "quantile"
    ex.controls["day"].value = 4
    assert ex.plot.band.get_visible()
    np.testing.assert_allclose(ex.plot.band.get_xy()[:HORIZON, 1], TRUTH[4] - 1.0)
    assert "5 of 5 inside the interval" in ex.plot.ax.get_title()
    ex.controls["method"].value = "perfect"
    assert not ex.plot.band.get_visible() and "inside" not in ex.plot.ax.get_title()
    np.testing.assert_array_equal(ex.plot.forecast.get_ydata(), TRUTH[4])
    first = ex.plot.png("a", HISTORY[0], TRUTH[0], TRUTH[0])
    second = ex.plot.png("a", HISTORY[0], TRUTH[0], TRUTH[0] + 1)
    assert first.startswith(b"\x89PNG") and first != second
    assert ex.plot.png("a", HISTORY[0], TRUTH[0], TRUTH[0]) == first   # blitting leaves no trace


@pytest.mark.parametrize("day, text", [(2.0, "got float (2.0)"), (True, "got bool (True)"),
                                       ("3", "got str ('3')")])
def test_view_rejects_a_day_that_is_not_an_int(day, text):
    with pytest.raises(TypeError, match=re.escape(f"day must be a whole row index (int), {text}")):
        horizon_view("perfect", day, truth=TRUTH, forecasts=FORECASTS, intervals=INTERVALS)
    assert horizon_view("perfect", np.int64(2), truth=TRUTH, forecasts=FORECASTS,
                        intervals=INTERVALS)["day"] == 2


@pytest.mark.parametrize("kwargs, text", [
    ({"method": "arima"}, "unknown method 'arima'"),
    ({"day": DAYS}, r"day must be in \[0, 20\), got 20"),
])
def test_view_rejects(kwargs, text):
    args = {"method": "perfect", "day": 0, **kwargs}
    with pytest.raises(ValueError, match=text):
        horizon_view(**args, truth=TRUTH, forecasts=FORECASTS, intervals=INTERVALS)


@pytest.mark.parametrize("args, error, text", [
    ((DATES, HISTORY, TRUTH, {"bad": np.ones((DAYS, 4))}), ValueError,
     r"forecast 'bad' must have shape \(20, 5\)"),
    ((DATES[:3], HISTORY, TRUTH, FORECASTS), ValueError, "one row per day, got 3 and 20"),
    ((DATES, HISTORY[:3], TRUTH, FORECASTS), ValueError,
     r"history must have shape \(20, context\)"),
    ((DATES, HISTORY, TRUTH.ravel(), FORECASTS), ValueError, "2-D array"),
    ((DATES, HISTORY, TRUTH, {}), TypeError, "non-empty mapping"),
    ((DATES, HISTORY, TRUTH, FORECASTS, {"other": (TRUTH, TRUTH)}), ValueError,
     "interval 'other' has no forecast"),
    ((DATES, HISTORY, TRUTH, FORECASTS, {"quantile": (TRUTH, TRUTH[:2])}), ValueError,
     "two arrays of shape"),
])
def test_explorer_rejects_mismatched_inputs(args, error, text):
    with pytest.raises(error, match=text):
        horizon_explorer(*args)

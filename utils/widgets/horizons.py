"""Notebook 18's explorer: the forecast any method made from any day of the held-out year.

Every forecast is computed once in the notebook and passed in as an array ``(days, horizon)``
(an interval as two such arrays), so a move only picks a row, scores it and redraws a small
plot by blitting.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import ipywidgets as widgets
import numpy as np
from IPython.display import Image, display
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Polygon
from PIL import Image as PILImage

from ..viz import GATE_COLORS
from . import Explorer

__all__ = ["horizon_view", "horizon_explorer"]


def _check_inputs(point_dates, history, truth, forecasts, intervals):
    truth = np.asarray(truth, dtype=float)
    if truth.ndim != 2 or 0 in truth.shape:
        raise ValueError(f"truth must be a non-empty 2-D array (days, horizon), got shape "
                         f"{truth.shape}")
    if len(point_dates) != len(truth):
        raise ValueError(f"point_dates and truth must have one row per day, got "
                         f"{len(point_dates)} and {len(truth)}")
    history = np.asarray(history, dtype=float)
    if history.ndim != 2 or len(history) != len(truth) or history.shape[1] == 0:
        raise ValueError(f"history must have shape ({len(truth)}, context), got "
                         f"{history.shape}")
    if not isinstance(forecasts, Mapping) or not forecasts:
        raise TypeError("forecasts must be a non-empty mapping {method name: (days, horizon)}")
    checked = {}
    for name, forecast in forecasts.items():
        checked[name] = np.asarray(forecast, dtype=float)
        if checked[name].shape != truth.shape:
            raise ValueError(f"forecast {name!r} must have shape {truth.shape}, got "
                             f"{checked[name].shape}")
    bands = {}
    for name, band in (intervals or {}).items():
        if name not in checked:
            raise ValueError(f"interval {name!r} has no forecast of the same name")
        low, high = (np.asarray(b, dtype=float) for b in band)
        if low.shape != truth.shape or high.shape != truth.shape:
            raise ValueError(f"interval {name!r} must be two arrays of shape {truth.shape}, "
                             f"got {low.shape} and {high.shape}")
        bands[name] = (low, high)
    return history, truth, checked, bands


def horizon_view(method: str, day: int, *, truth: np.ndarray,
                 forecasts: Mapping[str, np.ndarray],
                 intervals: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> dict:
    """The forecast ``method`` made from forecast day ``day`` (a row index), the truth, its
    mean absolute error and, where the method has an interval, the interval and how many of
    the true values lie inside it."""
    if method not in forecasts:
        raise ValueError(f"unknown method {method!r}; expected one of {list(forecasts)}")
    if isinstance(day, bool) or not isinstance(day, (int, np.integer)):
        raise TypeError(f"day must be a whole row index (int), got {type(day).__name__} "
                        f"({day!r})")
    if not 0 <= day < len(truth):
        raise ValueError(f"day must be in [0, {len(truth)}), got {day}")
    forecast, actual = forecasts[method][day], truth[day]
    result = {"method": method, "day": day, "forecast": forecast, "truth": actual,
              "mae": float(np.abs(forecast - actual).mean()), "lower": None, "upper": None,
              "inside": None}
    if method in intervals:
        low, high = (band[day] for band in intervals[method])
        result.update(lower=low, upper=high, inside=int(((actual >= low) & (actual <= high)).sum()))
    return result


class _HorizonPlot:
    """One figure for the explorer's life: axes and legend drawn once and kept as pixels; an
    update draws the history, truth, forecast, band and title on top (blitting)."""

    def __init__(self, context: int, horizon: int, low: float, high: float):
        self.x_before, self.x_after = np.arange(-context, 0), np.arange(horizon)
        self.fig = Figure(figsize=(6.4, 2.8), dpi=80)
        self.fig.subplots_adjust(left=0.1, right=0.98, bottom=0.16, top=0.9)
        self.canvas = FigureCanvasAgg(self.fig)
        ax = self.ax = self.fig.add_subplot()
        ax.grid(alpha=0.3)
        ax.axvline(-0.5, color="0.6", lw=0.8)
        self.band = Polygon(np.zeros((2 * horizon, 2)), closed=True, color=GATE_COLORS["o"],
                            alpha=0.2, label="10 %-90 % interval")
        ax.add_patch(self.band)
        self.history = ax.plot(self.x_before, np.zeros(context), color="0.5",
                               label="last days known")[0]
        self.truth = ax.plot(self.x_after, np.zeros(horizon), "o-", color="black", ms=3,
                             label="truth")[0]
        self.forecast = ax.plot(self.x_after, np.zeros(horizon), "s--", color=GATE_COLORS["o"],
                                ms=3, label="forecast")[0]
        ax.set_xlim(-context - 0.5, horizon - 0.5)
        ax.set_ylim(low, high)
        ax.set_xlabel("days from the forecast day", fontsize=8)
        ax.set_ylabel("minimum temperature (°C)", fontsize=8)
        ax.legend(loc="upper left", fontsize=7, ncols=4)
        self.dynamic = (self.band, self.history, self.truth, self.forecast, ax.title)
        for artist in self.dynamic:
            artist.set_animated(True)
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(self.fig.bbox)

    def png(self, title: str, history, truth, forecast, lower=None, upper=None) -> bytes:
        self.history.set_ydata(history)
        self.truth.set_ydata(truth)
        self.forecast.set_ydata(forecast)
        self.band.set_visible(lower is not None)
        if lower is not None:
            self.band.set_xy(np.column_stack([np.concatenate([self.x_after, self.x_after[::-1]]),
                                              np.concatenate([lower, upper[::-1]])]))
        self.ax.set_title(title, fontsize=9)
        self.canvas.restore_region(self.background)
        for artist in self.dynamic:
            if artist.get_visible():
                self.ax.draw_artist(artist)
        buffer = io.BytesIO()
        PILImage.fromarray(np.asarray(self.canvas.buffer_rgba())).save(
            buffer, format="png", compress_level=1)
        return buffer.getvalue()


def horizon_explorer(point_dates, history, truth, forecasts: Mapping[str, np.ndarray],
                     intervals: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None
                     ) -> Explorer:
    """A method menu and a day slider over the forecast days ``point_dates``. ``history`` is
    ``(days, context)``: the values known before each day; ``truth`` and every forecast are
    ``(days, horizon)``; ``intervals`` maps some methods to ``(lower, upper)``. The plot shows
    the last known days, the truth and the chosen forecast (with its interval); the title gives
    the mean absolute error and how many true values fell inside the interval."""
    history, truth, forecasts, bands = _check_inputs(point_dates, history, truth, forecasts,
                                                     intervals)
    every = np.concatenate([history.ravel(), truth.ravel(),
                            *(f.ravel() for f in forecasts.values()),
                            *(b.ravel() for pair in bands.values() for b in pair)])
    margin = 0.05 * (every.max() - every.min())
    plot = _HorizonPlot(history.shape[1], truth.shape[1], every.min() - margin,
                        every.max() + 3 * margin)
    controls = {
        "method": widgets.Dropdown(options=list(forecasts), value=next(iter(forecasts)),
                                   description="method"),
        "day": widgets.SelectionSlider(options=[(str(d), i) for i, d in enumerate(point_dates)],
                                       value=0, description="forecast day",
                                       continuous_update=False),
    }

    def compute(method, day):
        result = horizon_view(method, day, truth=truth, forecasts=forecasts, intervals=bands)
        result["date"] = str(point_dates[day])
        return result

    def render(result):
        inside = ("" if result["inside"] is None else
                  f", {result['inside']} of {len(result['truth'])} inside the interval")
        title = f"{result['method']} from {result['date']}: MAE {result['mae']:.2f} °C{inside}"
        display(Image(plot.png(title, history[result["day"]], result["truth"],
                               result["forecast"], result["lower"], result["upper"])))

    explorer = Explorer(controls, compute, render,
                        title="Forecasts from every day of the held-out year: pick a method "
                              "and a day")
    explorer.plot = plot
    return explorer

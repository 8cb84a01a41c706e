"""Notebook 08's explorer: every method's forecast of the held-out months against the truth.

Nothing is trained on a move: the forecasts are computed once in the notebook and passed in,
so an update only slices arrays, scores them and draws one small plot.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import ipywidgets as widgets
import numpy as np
from IPython.display import Image, display
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image as PILImage

from ..forecast import mape, rmse
from ..viz import GATE_COLORS
from . import Explorer

__all__ = ["ONE_SEED", "forecast_view", "forecast_explorer"]

ONE_SEED = "LSTM, one seed"


def _check_inputs(dates, truth, forecasts, seed_forecasts, context_dates, context_values):
    truth = np.asarray(truth, dtype=float)
    if truth.ndim != 1 or len(truth) == 0:
        raise ValueError(f"truth must be a non-empty 1-D array (horizon,), got shape "
                         f"{truth.shape}")
    if len(dates) != len(truth):
        raise ValueError(f"dates and truth must have the same length, got {len(dates)} and "
                         f"{len(truth)}")
    if not isinstance(forecasts, Mapping) or not forecasts:
        raise TypeError("forecasts must be a non-empty mapping {method name: forecast}")
    for name, forecast in forecasts.items():
        if np.shape(forecast) != truth.shape:
            raise ValueError(f"forecast {name!r} must have shape {truth.shape}, got "
                             f"{np.shape(forecast)}")
    seed_forecasts = np.asarray(seed_forecasts, dtype=float)
    if seed_forecasts.ndim != 2 or seed_forecasts.shape[1] != len(truth) \
            or seed_forecasts.shape[0] == 0:
        raise ValueError(f"seed_forecasts must have shape (seeds, {len(truth)}), got "
                         f"{seed_forecasts.shape}")
    if len(context_dates) != len(context_values):
        raise ValueError(f"context_dates and context_values differ in length: "
                         f"{len(context_dates)} and {len(context_values)}")
    return truth, seed_forecasts


def forecast_view(method: str, seed: int, horizon: int, *, truth: np.ndarray,
                  forecasts: Mapping[str, np.ndarray], seed_forecasts: np.ndarray) -> dict:
    """The first ``horizon`` months of one method's forecast, the truth and their errors.

    ``method`` names a key of ``forecasts``, or :data:`ONE_SEED` to take row ``seed`` of
    ``seed_forecasts`` (one LSTM per seed).
    """
    if method == ONE_SEED:
        if not 0 <= seed < len(seed_forecasts):
            raise ValueError(f"seed must be in [0, {len(seed_forecasts)}), got {seed}")
        forecast = seed_forecasts[seed]
        label = f"LSTM, seed {seed}"
    elif method in forecasts:
        forecast, label = np.asarray(forecasts[method], dtype=float), method
    else:
        raise ValueError(f"unknown method {method!r}; expected one of "
                         f"{[*forecasts, ONE_SEED]}")
    if not 1 <= horizon <= len(truth):
        raise ValueError(f"horizon must be in [1, {len(truth)}], got {horizon}")
    shown, actual = forecast[:horizon], truth[:horizon]
    return {"label": label, "horizon": horizon, "forecast": shown, "truth": actual,
            "rmse": rmse(shown, actual), "mape": mape(shown, actual)}


class _ForecastPlot:
    """One figure for the explorer's whole life, redrawn by blitting.

    The static part (history, grid, axes, legend) is drawn once and kept as a pixel buffer;
    an update restores that buffer, draws only the truth, the forecast and the title on top,
    and encodes the pixels as PNG. That keeps an update at a few hundredths of a second, where
    a fresh constrained-layout figure shown by the inline backend takes ten times longer.
    """

    def __init__(self, truth, context_values, every_forecast):
        n_context, horizon = len(context_values), len(truth)
        self.x = np.arange(n_context, n_context + horizon)
        self.fig = Figure(figsize=(6.4, 2.8), dpi=80)
        self.fig.subplots_adjust(left=0.1, right=0.98, bottom=0.1, top=0.9)
        self.canvas = FigureCanvasAgg(self.fig)
        ax = self.ax = self.fig.add_subplot()
        ax.grid(alpha=0.3)
        ax.plot(np.arange(n_context), context_values, color="0.5", label="known history")
        ax.plot(self.x, truth, color="black", lw=1, alpha=0.25)
        self.truth = ax.plot(self.x, truth, "o-", color="black", ms=3, label="truth")[0]
        self.forecast = ax.plot(self.x, truth, "s--", color=GATE_COLORS["o"], ms=3,
                                label="forecast")[0]
        low = min(np.min(context_values), np.min(truth), np.min(every_forecast))
        high = max(np.max(context_values), np.max(truth), np.max(every_forecast))
        ax.set_ylim(low - 0.05 * (high - low), high + 0.05 * (high - low))
        ax.set_xlim(-0.5, n_context + horizon - 0.5)
        ax.set_ylabel("passengers (thousands)")
        ax.legend(loc="upper left", fontsize=8)
        self.dynamic = (self.truth, self.forecast, ax.title)
        for artist in self.dynamic:
            artist.set_animated(True)      # left out of the full draw below
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(self.fig.bbox)

    def set_ticks(self, context_dates, dates):
        every = np.concatenate([np.asarray(context_dates), np.asarray(dates)])
        ticks = np.arange(0, len(every), 6)
        self.ax.set_xticks(ticks, [str(every[t]) for t in ticks], fontsize=8)
        for artist in self.dynamic:
            artist.set_visible(False)
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(self.fig.bbox)
        for artist in self.dynamic:
            artist.set_visible(True)

    def png(self, title: str, truth, forecast) -> bytes:
        self.truth.set_data(self.x[:len(truth)], truth)
        self.forecast.set_data(self.x[:len(forecast)], forecast)
        self.ax.set_title(title, fontsize=10)
        self.canvas.restore_region(self.background)
        for artist in self.dynamic:
            self.ax.draw_artist(artist)
        buffer = io.BytesIO()
        PILImage.fromarray(np.asarray(self.canvas.buffer_rgba())).save(
            buffer, format="png", compress_level=1)
        return buffer.getvalue()


def forecast_explorer(dates, truth, forecasts: Mapping[str, np.ndarray], seed_forecasts,
                      context_dates, context_values) -> Explorer:
    """A method menu, a seed slider (for single-seed LSTMs) and a horizon slider; the plot
    shows the recent history (``context_*``), the truth and the chosen forecast, and the
    title gives RMSE and MAPE over the first ``horizon`` months."""
    truth, seed_forecasts = _check_inputs(dates, truth, forecasts, seed_forecasts,
                                          context_dates, context_values)
    forecasts = {name: np.asarray(f, dtype=float) for name, f in forecasts.items()}
    controls = {
        "method": widgets.Dropdown(options=[*forecasts, ONE_SEED],
                                   value=next(iter(forecasts)), description="method"),
        "seed": widgets.IntSlider(value=0, min=0, max=len(seed_forecasts) - 1,
                                  description="seed", continuous_update=False),
        "horizon": widgets.IntSlider(value=len(truth), min=1, max=len(truth),
                                     description="months", continuous_update=False),
    }

    def compute(method, seed, horizon):
        return forecast_view(method, seed, horizon, truth=truth, forecasts=forecasts,
                             seed_forecasts=seed_forecasts)

    plot = _ForecastPlot(truth, context_values,
                         np.concatenate([*forecasts.values(), seed_forecasts.ravel()]))
    plot.set_ticks(context_dates, dates)

    def render(result):
        title = (f"{result['label']}: first {result['horizon']} month(s), "
                 f"RMSE {result['rmse']:.1f}, MAPE {result['mape']:.1f}%")
        display(Image(plot.png(title, result["truth"], result["forecast"])))

    explorer = Explorer(controls, compute, render,
                        title="Forecasts of the held-out months: pick a method, a seed, a horizon")
    explorer.plot = plot
    return explorer

"""Checkers for the exercises of notebook 18 (forecasting in depth)."""

from __future__ import annotations

import numpy as np

from . import Verdict, as_number, as_shape, feedback

__all__ = ["check_covariate_input_shape", "check_pinball_pair", "check_origin_mean"]


def check_covariate_input_shape(answer: object, batch: int = 64, lookback: int = 30,
                                harmonics: int = 2) -> Verdict:
    """Exercise 18.1: the input of a batch of ``batch`` windows of ``lookback`` days, each day
    holding the scaled temperature and ``harmonics`` sine/cosine pairs of the day of the year:
    ``(batch, lookback, 1 + 2 * harmonics)``."""
    shape = as_shape(answer)
    channels = 1 + 2 * harmonics
    expected = (batch, lookback, channels)
    if shape is None:
        return feedback(False, "", f"give a shape as a tuple of whole numbers, got {answer!r}.")
    if shape == (batch, lookback, 1 + harmonics):
        return feedback(False, "", "each harmonic gives two columns, a sine and a cosine.")
    if shape == (batch, lookback, 2 * harmonics):
        return feedback(False, "", "the calendar columns come beside the temperature itself, "
                        "which stays channel 0.")
    if shape == (lookback, batch, channels):
        return feedback(False, "", "with batch_first=True the batch comes first: (batch, "
                        "time, features).")
    return feedback(shape == expected,
                    f"{expected}: the temperature plus {harmonics} x 2 calendar columns, so the "
                    f"LSTM needs input_size={channels}.",
                    f"{shape} is not it. The shape is (batch, lookback, channels); count the "
                    "channels of one day.")


def _pinball(truth: float, forecast: float, tau: float) -> float:
    error = truth - forecast
    return max(tau * error, (tau - 1) * error)


def check_pinball_pair(answer: object, forecast: float = 10.0, tau: float = 0.9,
                       truths: tuple[float, float] = (12.0, 8.0)) -> Verdict:
    """Exercise 18.2: the pinball losses of a ``tau``-quantile forecast ``forecast`` when the
    truth is ``truths[0]`` and when it is ``truths[1]``, as a pair."""
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        return feedback(False, "", f"give a pair (loss if {truths[0]:g} °C, loss if "
                        f"{truths[1]:g} °C), got {answer!r}.")
    values = [as_number(a) for a in answer]
    if None in values:
        return feedback(False, "", f"both losses must be numbers, got {answer!r}.")
    expected = [_pinball(t, forecast, tau) for t in truths]
    if np.allclose(values, expected[::-1]):
        return feedback(False, "", "the two are swapped: below the truth (an under-forecast) "
                        f"costs tau = {tau:g} per degree, above it 1 - tau.")
    if np.allclose(values, [abs(t - forecast) for t in truths]):
        return feedback(False, "", "that is the absolute error; the pinball loss weighs it by "
                        f"tau = {tau:g} or by 1 - tau = {1 - tau:g}, by the sign of the error.")
    return feedback(np.allclose(values, expected),
                    f"({expected[0]:.1f}, {expected[1]:.1f}): a 90 % quantile should lie above "
                    "the truth nine times out of ten, so being below it costs nine times more.",
                    f"{tuple(values)} is not it. With u = truth - forecast the loss is "
                    "max(tau * u, (tau - 1) * u).")


def check_origin_mean(answer: object, origin: str = "1990-07-01") -> Verdict:
    """Exercise 18.3: the mean (°C) that the scaler of the origin ``origin`` learns: the mean of
    every day before it."""
    from ..horizons import load_temperatures

    dates, values = load_temperatures()
    cut = int(np.searchsorted(dates, np.datetime64(origin)))
    expected = float(values[:cut].mean())
    value = as_number(answer)
    if value is None:
        return feedback(False, "", f"give a number (°C), got {answer!r}.")
    if np.isclose(value, values.mean(), rtol=0, atol=1e-6):
        return feedback(False, "", "that is the mean of all ten years: the days from the "
                        "origin on are the future there, and must not be in the statistics.")
    if np.isclose(value, values[:cut + 1].mean(), rtol=0, atol=1e-6):
        return feedback(False, "", f"that includes {origin} itself, the first day to forecast.")
    return feedback(bool(np.isclose(value, expected, rtol=0, atol=1e-6)),
                    f"{expected:.4f} °C, the mean of the {cut:,} days before {origin}.",
                    f"{value:.4f} is not it. Fit on values[:origin], the days before the origin "
                    "(np.searchsorted(dates, np.datetime64(...)) finds its index).")

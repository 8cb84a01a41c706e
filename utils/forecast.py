"""Forecasting yardsticks: the baselines every model must beat, and the errors that score them.

A forecast made at the end of ``history`` for the next ``horizon`` steps:

- :func:`naive_forecast` repeats the last value;
- :func:`seasonal_naive_forecast` repeats the last full season (same month last year);
- :func:`sarima_forecast` fits a seasonal ARIMA with statsmodels (on the log series by
  default) and returns its point forecast.

:func:`rmse` and :func:`mape` score a forecast against the truth, in the series' own units and
in percent.
"""

from __future__ import annotations

import contextlib
import ctypes
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .data import as_series

__all__ = ["one_blas_thread", "naive_forecast", "seasonal_naive_forecast", "sarima_forecast", "rmse", "mape"]


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


@contextlib.contextmanager
def one_blas_thread() -> Iterator[int]:
    """Run the body with NumPy's and SciPy's OpenBLAS limited to one thread; yields how many
    OpenBLAS libraries were limited (0 where none was found: then nothing changes).

    statsmodels' Kalman filter multiplies tiny matrices thousands of times; on a busy 2-core
    machine OpenBLAS's threads then wait for each other, and a 0.6 s fit takes 10 s. This does
    what ``threadpoolctl`` does, for the OpenBLAS copies that NumPy and SciPy wheels ship.
    """
    import scipy  # the wheels keep their OpenBLAS in site-packages/{numpy,scipy}.libs

    limited = []
    for package in (np, scipy):
        folder = Path(package.__file__).parent.parent / f"{package.__name__}.libs"
        for path in sorted(folder.glob("libscipy_openblas*.so")):
            try:
                library = ctypes.CDLL(str(path))
            except OSError:
                continue
            for suffix in ("64_", ""):
                get = getattr(library, f"scipy_openblas_get_num_threads{suffix}", None)
                put = getattr(library, f"scipy_openblas_set_num_threads{suffix}", None)
                if get is not None and put is not None:
                    limited.append((put, get()))
                    put(1)
                    break
    try:
        yield len(limited)
    finally:
        for put, threads in limited:
            put(threads)


def naive_forecast(history, horizon: int) -> np.ndarray:
    """The last observed value, repeated ``horizon`` times."""
    horizon = _positive_int("horizon", horizon)
    return np.full(horizon, as_series("history", history)[-1])


def seasonal_naive_forecast(history, horizon: int, season: int = 12) -> np.ndarray:
    """The value one season earlier: step ``k`` of the forecast repeats
    ``history[len(history) - season + (k % season)]``, i.e. the same month last year."""
    horizon, season = _positive_int("horizon", horizon), _positive_int("season", season)
    array = as_series("history", history, min_length=season)
    last_season = array[-season:]
    return np.array([last_season[k % season] for k in range(horizon)])


def sarima_forecast(history, horizon: int, order=(0, 1, 1), seasonal_order=(0, 1, 1, 12),
                    log: bool = True) -> np.ndarray:
    """Fit ``SARIMAX(order, seasonal_order)`` to ``history`` (its log if ``log``) by maximum
    likelihood and return the point forecast of the next ``horizon`` steps (exponentiated
    back if ``log``). The default is Box & Jenkins' "airline model" ARIMA(0,1,1)(0,1,1)12.
    Raises ``RuntimeError`` if the optimiser does not converge.
    """
    from statsmodels.tsa.statespace.sarimax import SARIMAX  # heavy: imported on first use

    horizon = _positive_int("horizon", horizon)
    array = as_series("history", history, min_length=2 * seasonal_order[3] + 2)
    if log and (array <= 0).any():
        raise ValueError("log=True needs a positive series; got values <= 0")
    target = np.log(array) if log else array
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' chatter about start parameters
        with one_blas_thread():
            fitted = SARIMAX(target, order=order,
                             seasonal_order=seasonal_order).fit(disp=False)
    if not fitted.mle_retvals.get("converged", True):
        raise RuntimeError("the SARIMA fit did not converge")
    forecast = np.asarray(fitted.forecast(horizon))
    return np.exp(forecast) if log else forecast


def _pair(forecast, truth) -> tuple[np.ndarray, np.ndarray]:
    forecast, truth = as_series("forecast", forecast), as_series("truth", truth)
    if forecast.shape != truth.shape:
        raise ValueError(f"forecast and truth must have the same shape, got "
                         f"{forecast.shape} and {truth.shape}")
    return forecast, truth


def rmse(forecast, truth) -> float:
    """Root mean squared error, in the units of the series."""
    forecast, truth = _pair(forecast, truth)
    return float(np.sqrt(np.mean((forecast - truth) ** 2)))


def mape(forecast, truth) -> float:
    """Mean absolute percentage error, in percent: ``100 * mean(|forecast - truth| / |truth|)``."""
    forecast, truth = _pair(forecast, truth)
    if (truth == 0).any():
        raise ValueError("MAPE is undefined when the truth contains zeros")
    return float(100 * np.mean(np.abs(forecast - truth) / np.abs(truth)))

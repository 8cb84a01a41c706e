"""Forecasting in depth (notebook 18): a long daily series, calendar covariates, three
multi-step strategies, quantile forecasts and rolling-origin evaluation.

- :func:`load_temperatures` - the 3,650 daily minimum temperatures of Melbourne, 1981-1990,
  checked against known facts before they are handed out.
- :func:`calendar_features` - the day of the year as sine and cosine pairs (one per harmonic),
  one row per date: covariates that are known in advance for any future day.
- :func:`forecast_windows` - for each forecast point ``s`` (the index of its first target),
  the ``lookback`` rows before ``s`` as input ``(P, lookback, channels)`` and the next
  ``horizon`` values as target ``(P, horizon)``; :func:`training_points` - the points whose
  targets all lie before a forecast origin.
- :class:`ValueSeq2Seq` - notebook 13's encoder-decoder for real numbers: the decoder starts
  from the encoder's final ``(h, c)`` and reads the previous value (teacher-forced in
  training, its own prediction when it forecasts).
- :func:`pinball_loss` - the quantile (pinball) loss, averaged over every element and level;
  :func:`interval_coverage` - the share of values inside ``[lower, upper]``.
- :func:`train_fixed_steps` - a fixed number of seeded Adam steps on random batches.
- :func:`fit_harmonic_arima` - statsmodels' SARIMAX with Fourier terms as regressors
  ("dynamic harmonic regression"); :func:`state_space_forecasts` - its forecasts of the next
  ``horizon`` steps from many forecast points at once, with their variances.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .data import DATASETS, read_dated_csv
from .forecast import one_blas_thread

__all__ = ["TEMPERATURE_SOURCE", "MISSING_DAYS", "load_temperatures", "calendar_features",
           "forecast_windows", "training_points", "ValueSeq2Seq", "pinball_loss",
           "interval_coverage", "train_fixed_steps", "fit_harmonic_arima",
           "state_space_forecasts"]

TEMPERATURE_SOURCE = ("Australian Bureau of Meteorology, daily minimum temperatures in "
                      "Melbourne 1981-1990; via the Time Series Data Library")
MISSING_DAYS = ("1984-12-31", "1988-12-31")   # the file has 365 rows in every year


def _whole(name: str, value: object, low: int = 1) -> int:
    """``value`` as an ``int`` if it is a whole number (a Python or NumPy integer, not a bool)
    >= ``low``; a clear ``TypeError``/``ValueError`` otherwise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


def load_temperatures(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The daily minimum temperatures of Melbourne (°C), 1981-01-01 to 1990-12-31.

    Source: Australian Bureau of Meteorology, via the Time Series Data Library (see
    ``utils/datasets/daily-min-temperatures.source.txt``). Returns ``(dates, values)``:
    ``dates`` a ``datetime64[D]`` array, ``values`` a float64 array. The file is checked first:
    3,650 rows, every day of 1981-1990 except the last days of the leap years 1984 and 1988
    (:data:`MISSING_DAYS`), so that every year has 365 rows; the values sum to 40,798.8 and the
    last is 13.0. A file that fails a check raises ``ValueError`` saying which; ``path``
    replaces the shipped file (for tests).
    """
    path = DATASETS / "daily-min-temperatures.csv" if path is None else Path(path)
    dates, values = read_dated_csv(path, ["Date", "Temp"], "D", "the temperature series")
    if len(values) != 3650:
        raise ValueError(f"{path.name}: expected 3,650 daily rows, got {len(values):,}")
    every_day = np.arange(np.datetime64("1981-01-01"), np.datetime64("1991-01-01"))
    expected = every_day[~np.isin(every_day, np.array(MISSING_DAYS, dtype="datetime64[D]"))]
    if not np.array_equal(dates, expected):
        raise ValueError(f"{path.name}: expected every day of 1981-1990 but "
                         f"{', '.join(MISSING_DAYS)}, got {dates[0]}..{dates[-1]} with other "
                         "gaps or repeats")
    if not np.isfinite(values).all() or round(values.sum(), 1) != 40_798.8 or values[-1] != 13.0:
        raise ValueError(f"{path.name}: expected finite values summing to 40,798.8 and ending "
                         f"at 13.0, got a sum of {values.sum():,.1f} ending at {values[-1]:g}")
    return dates, values


def _check_dates(dates: object) -> np.ndarray:
    if not isinstance(dates, np.ndarray) or not np.issubdtype(dates.dtype, np.datetime64):
        dtype = f" of dtype {dates.dtype}" if isinstance(dates, np.ndarray) else ""
        raise TypeError(f"dates must be a NumPy datetime64 array, got "
                        f"{type(dates).__name__}{dtype}")
    if dates.ndim != 1 or len(dates) == 0:
        raise ValueError(f"dates must be a non-empty 1-D array (time,), got shape {dates.shape}")
    return dates.astype("datetime64[D]")


def calendar_features(dates, harmonics: int = 1) -> np.ndarray:
    """The day of the year as ``2 * harmonics`` columns: for k = 1 .. harmonics,
    ``sin(2 pi k d / n)`` and ``cos(2 pi k d / n)``, where ``d`` is the day of the year
    counted from 0 (1 January is 0) and ``n`` the length of that year (365 or 366).

    Returns a float64 array ``(len(dates), 2 * harmonics)``, columns ordered sin_1, cos_1,
    sin_2, cos_2, ... Each pair lies on the unit circle, so 31 December sits next to
    1 January, which a plain day number (364 then 0 in a common year) does not say.
    """
    dates = _check_dates(dates)
    harmonics = _whole("harmonics", harmonics)
    years = dates.astype("datetime64[Y]")
    day = (dates - years.astype("datetime64[D]")).astype(float)          # 0 on 1 January
    length = ((years + 1).astype("datetime64[D]") - years.astype("datetime64[D]")).astype(float)
    columns = []
    for k in range(1, harmonics + 1):
        angle = 2 * np.pi * k * day / length
        columns += [np.sin(angle), np.cos(angle)]
    return np.stack(columns, axis=1)


def _as_2d(name: str, values) -> torch.Tensor:
    if isinstance(values, torch.Tensor):
        tensor = values
    else:
        try:
            tensor = torch.as_tensor(np.asarray(values, dtype=np.float32))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be numbers of shape (time,) or (time, channels), got "
                            f"{type(values).__name__} ({exc})") from None
    if tensor.dim() == 1:
        tensor = tensor.unsqueeze(1)
    if tensor.dim() != 2 or 0 in tensor.shape:
        raise ValueError(f"{name} must be (time,) or (time, channels), non-empty, got shape "
                         f"{tuple(tensor.shape)}")
    if not torch.isfinite(tensor).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return tensor.float()


def _check_points(points, lookback: int, horizon: int, length: int) -> torch.Tensor:
    points = torch.as_tensor(np.asarray(points) if not isinstance(points, torch.Tensor)
                             else points)
    if points.dim() != 1 or len(points) == 0 or points.is_floating_point() \
            or points.dtype == torch.bool:
        raise ValueError(f"points must be a non-empty 1-D sequence of whole indices, got "
                         f"shape {tuple(points.shape)} of dtype {points.dtype}")
    points = points.long()
    low, high = int(points.min()), int(points.max())
    if low < lookback or high + horizon > length:
        raise ValueError(f"every forecast point s needs lookback {lookback} rows before it and "
                         f"horizon {horizon} after it: s in [{lookback}, {length - horizon}] "
                         f"for a series of length {length}, got points in [{low}, {high}]")
    return points


def forecast_windows(channels, target, lookback: int, horizon: int, points
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and targets of the forecasts made at ``points``.

    ``channels`` is ``(T,)`` or ``(T, C)`` (the scaled value and any covariates, one row per
    step), ``target`` ``(T,)``. A forecast point ``s`` is the index of the first step to
    forecast: its input is ``channels[s - lookback : s]`` and its target
    ``target[s : s + horizon]``. Returns ``x`` ``(P, lookback, C)`` and ``y`` ``(P, horizon)``,
    float32. Nothing at or after ``s`` enters ``x``.
    """
    lookback, horizon = _whole("lookback", lookback), _whole("horizon", horizon)
    channels, target = _as_2d("channels", channels), _as_2d("target", target)
    if target.shape[1] != 1:
        raise ValueError(f"target must be 1-D (time,), got shape {tuple(target.shape)}")
    if len(target) != len(channels):
        raise ValueError(f"channels and target must have one row per step, got "
                         f"{len(channels)} and {len(target)} rows")
    points = _check_points(points, lookback, horizon, len(channels))
    before = points[:, None] - lookback + torch.arange(lookback)           # (P, lookback)
    after = points[:, None] + torch.arange(horizon)                        # (P, horizon)
    return channels[before], target[after, 0]


def training_points(lookback: int, horizon: int, origin: int) -> np.ndarray:
    """The forecast points whose ``horizon`` targets all lie before ``origin`` (and whose
    ``lookback`` inputs exist): ``lookback .. origin - horizon``."""
    lookback, horizon = _whole("lookback", lookback), _whole("horizon", horizon)
    origin = _whole("origin", origin)
    if origin < lookback + horizon:
        raise ValueError(f"origin {origin} leaves no training window: it needs at least "
                         f"lookback + horizon = {lookback + horizon} steps before it")
    return np.arange(lookback, origin - horizon + 1)


def _kind(value: object) -> str:
    """A value's type for an error message; a tensor's dtype too."""
    if isinstance(value, torch.Tensor):
        return f"a tensor of dtype {value.dtype}"
    return type(value).__name__


class ValueSeq2Seq(nn.Module):
    """An encoder LSTM reads the input window; a decoder LSTM, started from the encoder's
    final ``(h, c)``, writes the horizon one value at a time, reading the previous value.

    Notebook 13's encoder-decoder for real numbers: the "previous token" of step 0 is the last
    observed value (channel 0 of the input's last step, the scaled series), like ``<bos>``.
    ``forward(x, previous)`` is teacher-forced (``previous`` ``(B, H)``: the true value before
    each target step) and reads the whole horizon in one call; :meth:`forecast` feeds back its
    own predictions. Both return ``(B, H)``.
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.input_size = _whole("input_size", input_size)
        self.hidden_size = _whole("hidden_size", hidden_size)
        self.encoder = nn.LSTM(input_size, hidden_size, batch_first=True)
        self.decoder = nn.LSTM(1, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, 1)

    def _check_x(self, x: object) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise TypeError(f"x must be a float tensor (batch, lookback, {self.input_size}), "
                            f"got {_kind(x)}")
        if x.dim() != 3 or x.shape[2] != self.input_size or 0 in x.shape:
            raise ValueError(f"x must have shape (batch, lookback, {self.input_size}), got "
                             f"{tuple(x.shape)}")
        return x

    def forward(self, x: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
        x = self._check_x(x)
        if not isinstance(previous, torch.Tensor) or not previous.is_floating_point():
            raise TypeError(f"previous must be a float tensor ({x.shape[0]}, horizon), got "
                            f"{_kind(previous)}")
        if previous.dim() != 2 or previous.shape[0] != x.shape[0] or previous.shape[1] == 0:
            raise ValueError(f"previous must have shape ({x.shape[0]}, horizon), got "
                             f"{tuple(previous.shape)}")
        _, state = self.encoder(x)
        out, _ = self.decoder(previous.unsqueeze(-1), state)                 # (B, H, hidden)
        return self.head(out).squeeze(-1)

    def forecast(self, x: torch.Tensor, horizon: int) -> torch.Tensor:
        x, horizon = self._check_x(x), _whole("horizon", horizon)
        _, state = self.encoder(x)
        value, outputs = x[:, -1:, :1], []                                   # (B, 1, 1)
        for _ in range(horizon):
            out, state = self.decoder(value, state)
            value = self.head(out)                                           # its own output
            outputs.append(value[:, 0, 0])
        return torch.stack(outputs, dim=1)


def _check_quantiles(quantiles: object) -> torch.Tensor:
    if isinstance(quantiles, (str, bytes)) or not isinstance(quantiles, (Sequence, torch.Tensor,
                                                                       np.ndarray)):
        raise TypeError(f"quantiles must be a sequence of levels in (0, 1), got "
                        f"{type(quantiles).__name__}")
    levels = torch.as_tensor(np.asarray(quantiles, dtype=np.float64)).flatten()
    if len(levels) == 0 or not ((levels > 0) & (levels < 1)).all():
        raise ValueError(f"quantiles must be levels strictly between 0 and 1, got "
                         f"{levels.tolist()}")
    return levels


def pinball_loss(prediction: torch.Tensor, target: torch.Tensor, quantiles) -> torch.Tensor:
    """The quantile (pinball) loss, averaged over every element and every level.

    ``prediction`` is ``target.shape + (Q,)``: the last dimension holds one prediction per
    level ``quantiles[q]``. For an error ``u = target - prediction`` at level tau the loss is
    ``max(tau * u, (tau - 1) * u)``: under-prediction costs tau per unit, over-prediction
    ``1 - tau``, so its minimiser is the tau-quantile.
    """
    levels = _check_quantiles(quantiles)
    for name, value in (("prediction", prediction), ("target", target)):
        if not isinstance(value, torch.Tensor) or not value.is_floating_point():
            kind = (f"a tensor of dtype {value.dtype}" if isinstance(value, torch.Tensor)
                    else type(value).__name__)
            raise TypeError(f"{name} must be a float tensor, got {kind}")
    expected = (*target.shape, len(levels))
    if tuple(prediction.shape) != expected:
        raise ValueError(f"prediction must have shape target.shape + (number of quantiles,) "
                         f"= {expected}, got {tuple(prediction.shape)}")
    tau = levels.to(prediction.dtype)
    error = target.unsqueeze(-1) - prediction
    return torch.maximum(tau * error, (tau - 1) * error).mean()


def interval_coverage(lower, upper, truth) -> float:
    """The share of ``truth`` inside ``[lower, upper]`` (ends included), over every element;
    arrays or tensors of one shape. A pair with ``lower > upper`` (crossed quantiles) is
    refused: sort the levels first."""
    arrays = [np.asarray(v.detach().cpu() if isinstance(v, torch.Tensor) else v, dtype=float)
              for v in (lower, upper, truth)]
    if len({a.shape for a in arrays}) != 1 or arrays[0].size == 0:
        raise ValueError(f"lower, upper and truth must have one non-empty shape, got "
                         f"{[a.shape for a in arrays]}")
    low, high, values = arrays
    if not all(np.isfinite(a).all() for a in arrays):
        raise ValueError("lower, upper and truth must be finite")
    crossed = int((low > high).sum())
    if crossed:
        raise ValueError(f"lower must not exceed upper, got {crossed} of {low.size} pairs with "
                         "lower > upper (crossed quantiles: sort them first)")
    return float(((values >= low) & (values <= high)).mean())


def train_fixed_steps(model: nn.Module, loss_of: Callable[[torch.Tensor], torch.Tensor],
                      n_examples: int, *, steps: int, batch_size: int, lr: float, seed: int,
                      max_norm: float = 1.0, progress=None) -> list[float]:
    """Exactly ``steps`` Adam steps. At each, ``batch_size`` example indices are drawn at
    random (with replacement, from a generator seeded with ``seed``) and ``loss_of(index)``
    returns the batch's loss; gradients are clipped to norm ``max_norm``. ``progress`` (a
    tqdm bar) is advanced once a step. The model is left in ``eval()`` mode. Returns the
    loss of every step. ``lr`` and ``max_norm`` are real numbers > 0 (a Python or NumPy int or
    float); ``n_examples``, ``steps``, ``batch_size`` and ``seed`` whole numbers."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if not callable(loss_of):
        raise TypeError(f"loss_of must be a function of a batch's indices, got "
                        f"{type(loss_of).__name__}")
    n_examples, steps = _whole("n_examples", n_examples), _whole("steps", steps)
    batch_size = _whole("batch_size", batch_size)
    rates = {}
    for name, value in (("lr", lr), ("max_norm", max_norm)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a real number (int, float or a NumPy float), got "
                            f"{type(value).__name__}")
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
        rates[name] = float(value)
    lr, max_norm = rates["lr"], rates["max_norm"]
    generator = torch.Generator().manual_seed(_whole("seed", seed, low=0))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    model.train()
    for _ in range(steps):
        loss = loss_of(torch.randint(n_examples, (batch_size,), generator=generator))
        if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
            raise ValueError(f"loss_of must return a scalar tensor, got "
                             f"{getattr(loss, 'shape', type(loss).__name__)}")
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        losses.append(loss.item())
        if progress is not None:
            progress.update(1)
    model.eval()
    return losses


def fit_harmonic_arima(values, exog, order=(1, 0, 1)):
    """statsmodels' ``SARIMAX(values, exog=exog, order=order)`` fitted by maximum likelihood:
    a regression on the columns of ``exog`` (a constant and Fourier terms) with ARMA errors,
    "dynamic harmonic regression". Returns the results; raises ``RuntimeError`` if the
    optimiser does not converge."""
    from statsmodels.tsa.statespace.sarimax import SARIMAX  # heavy: imported on first use

    values = np.asarray(values, dtype=float)
    exog = np.asarray(exog, dtype=float)
    if values.ndim != 1 or exog.ndim != 2 or len(exog) != len(values) or len(values) < 10:
        raise ValueError(f"values must be (time,) and exog (time, regressors), at least 10 "
                         f"steps, got {values.shape} and {exog.shape}")
    if not (np.isfinite(values).all() and np.isfinite(exog).all()):
        raise ValueError("values and exog must be finite")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # statsmodels' chatter about start parameters
        with one_blas_thread():
            results = SARIMAX(values, exog=exog, order=order).fit(disp=False)
    if not results.mle_retvals.get("converged", True):
        raise RuntimeError("the SARIMAX fit did not converge")
    return results


def state_space_forecasts(results, points, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``horizon``-step forecasts of a fitted statsmodels state-space model made at each
    forecast point ``s`` from the data before ``s``, and their variances, all at once.

    ``results`` must cover every step up to ``max(points) + horizon`` (fit on the data before
    an origin, then ``results.append(later values, exog=later exog)``: the parameters stay the
    ones fitted before the origin). With the filter's prediction ``a_s`` of the state at ``s``
    (from the data before ``s``) and its covariance ``P_s``, the forecast of step ``s + j`` is
    ``d_{s+j} + Z m_j`` with ``m_0 = a_s``, ``m_{j+1} = c + T m_j``, and its variance
    ``Z S_j Z' + H`` with ``S_0 = P_s``, ``S_{j+1} = T S_j T' + R Q R'``: the Kalman filter's
    prediction step, repeated without observations. Returns ``(mean, variance)``, each
    ``(P, horizon)``: what ``get_forecast`` gives from each point, without a filter run per
    point. Only time-invariant models of one observed series are handled (a ``ValueError``
    says which condition fails).
    """
    horizon = _whole("horizon", horizon)
    if not hasattr(getattr(results, "model", None), "ssm") or \
            not hasattr(results, "filter_results"):
        raise TypeError(f"results must be fitted statsmodels state-space results (with "
                        f".model.ssm and .filter_results), got {type(results).__name__}")
    ssm = results.model.ssm
    n = results.nobs
    if ssm.k_endog != 1:
        raise ValueError(f"only a model of one observed series is supported (k_endog = 1), got "
                         f"k_endog = {ssm.k_endog}")
    points = np.asarray(points)
    expected = f"points must be whole indices in [1, {n - horizon}] (the results cover {n} steps)"
    if points.ndim != 1 or len(points) == 0 or not np.issubdtype(points.dtype, np.integer):
        raise ValueError(f"{expected}, a non-empty 1-D integer array; got shape {points.shape} "
                         f"of dtype {points.dtype}")
    if points.min() < 1 or points.max() + horizon > n:
        raise ValueError(f"{expected}, got points in [{points.min()}, {points.max()}]")
    matrices = {}
    for name in ("design", "transition", "selection", "state_cov", "obs_cov",
                 "state_intercept"):
        matrix = np.asarray(ssm[name])
        if matrix.ndim == (3 if name != "state_intercept" else 2):
            if matrix.shape[-1] != 1:
                raise ValueError(f"the model's {name} varies in time; only time-invariant "
                                 "system matrices are supported")
            matrix = matrix[..., 0]
        matrices[name] = matrix
    Z, T, R = matrices["design"], matrices["transition"], matrices["selection"]
    Q, H, c = matrices["state_cov"], matrices["obs_cov"], matrices["state_intercept"]
    d = np.broadcast_to(ssm["obs_intercept"], (1, n))[0]
    state = results.filter_results.predicted_state[:, points].T              # (P, k): a_s
    spread = np.moveaxis(results.filter_results.predicted_state_cov[:, :, points], -1, 0)
    RQR = R @ Q @ R.T
    mean, var = np.empty((len(points), horizon)), np.empty((len(points), horizon))
    for j in range(horizon):                 # state s + j: mean and covariance given y[:s]
        mean[:, j] = d[points + j] + state @ Z[0]
        var[:, j] = np.einsum("i,pij,j->p", Z[0], spread, Z[0]) + H[0, 0]
        state = c + state @ T.T
        spread = T @ spread @ T.T + RQR
    return mean, var

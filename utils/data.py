"""Data for the course: synthetic tasks, the shipped real series, and the tools to cut them.

Every generator takes an explicit ``torch.Generator`` or seed, so a rerun gives the same data
(without either, it draws from PyTorch's global generator, as ``torch.rand`` does).
The real series live in ``utils/datasets/`` with a ``*.source.txt`` file stating where they
come from; a loader checks the file against known facts before handing it out.

For forecasting: :func:`time_split` cuts a series by time (train, then validation, then test),
:class:`StandardScaler` learns its statistics from the training part only, and
:class:`SlidingWindows` turns a series into ``(lookback, horizon)`` examples for a
``DataLoader``.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

__all__ = ["adding_problem", "as_series", "DATASETS", "AIRLINE_SOURCE", "load_airline", "read_dated_csv", "TimeSplit",
           "time_split", "StandardScaler", "SlidingWindows"]

DATASETS = Path(__file__).parent / "datasets"
AIRLINE_SOURCE = ("Box & Jenkins (1976), Time Series Analysis: Forecasting and Control, "
                  "Series G; via the Time Series Data Library")


def adding_problem(batch: int, seq_len: int, seed: int | None = None,
                   generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The adding problem (Hochreiter & Schmidhuber, 1997), in its modern form.

    Each sequence has two channels: values drawn from U(0, 1), and a marker that is 1 at
    exactly two steps, one drawn uniformly from the first half and one from the second half.
    The target is the sum of the two marked values. Returns ``x`` of shape
    ``(batch, seq_len, 2)`` and ``y`` of shape ``(batch, 1)``. Predicting the constant 1
    (the target's mean) scores MSE 1/6, the variance of a sum of two U(0, 1).

    The numbers come, as in PyTorch, from ``generator`` if given, else from a fresh generator
    seeded with ``seed``, else from the global generator (``torch.manual_seed`` controls it,
    and every call draws a new batch).
    """
    for name, value in (("batch", batch), ("seq_len", seq_len)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    if seq_len < 2:
        raise ValueError(f"seq_len must be >= 2 (one marker in each half), got {seq_len}")
    if generator is not None and seed is not None:
        raise ValueError("give either seed or generator, not both")
    if seed is not None:
        generator = torch.Generator().manual_seed(seed)
    values = torch.rand(batch, seq_len, generator=generator)
    half = seq_len // 2
    first = torch.randint(0, half, (batch,), generator=generator)
    second = torch.randint(half, seq_len, (batch,), generator=generator)
    markers = torch.zeros(batch, seq_len)
    rows = torch.arange(batch)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = torch.stack([values, markers], dim=-1)
    y = (values[rows, first] + values[rows, second]).unsqueeze(1)
    return x, y


def read_dated_csv(path: Path, header: list[str], unit: str, what: str
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Read a shipped two-column CSV of (date, number) rows: ``(dates, values)`` with dates of
    ``datetime64[unit]`` and float64 values. Refuses a missing file, another header, or a row
    that does not parse, naming what it expected; the caller checks the contents."""
    if not path.is_file():
        raise FileNotFoundError(f"{what} is missing: no file {path.name!r} in "
                                f"{path.parent.name!r}")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    if not rows or rows[0] != header:
        raise ValueError(f"{path.name}: expected the header {header}, "
                         f"got {rows[0] if rows else 'an empty file'}")
    rows = [row for row in rows[1:] if row]
    try:
        dates = np.array([row[0] for row in rows], dtype=f"datetime64[{unit}]")
        values = np.array([float(row[1]) for row in rows])
    except (ValueError, IndexError) as error:
        layout = "YYYY-MM" if unit == "M" else "YYYY-MM-DD"
        raise ValueError(f"{path.name}: a row is not '{layout}',number ({error})") from None
    return dates, values


def load_airline(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The airline passengers series: 144 monthly totals (thousands), 1949-01 to 1960-12.

    Source: Box & Jenkins (1976), Series G, via the Time Series Data Library (see
    ``utils/datasets/airline-passengers.source.txt``). Returns ``(dates, values)``: ``dates``
    a ``datetime64[M]`` array, ``values`` a float64 array. The file is checked before it is
    used (144 rows of consecutive months from 1949-01, the values sum to 40,363, the last is
    432); a file that fails a check raises ``ValueError`` saying which. ``path`` replaces the
    shipped file (for tests).
    """
    path = DATASETS / "airline-passengers.csv" if path is None else Path(path)
    dates, values = read_dated_csv(path, ["Month", "Passengers"], "M", "the airline series")
    if len(values) != 144:
        raise ValueError(f"{path.name}: expected 144 monthly rows, got {len(values)}")
    expected_dates = np.arange(np.datetime64("1949-01"), np.datetime64("1961-01"))
    if not np.array_equal(dates, expected_dates):
        raise ValueError(f"{path.name}: expected the consecutive months 1949-01..1960-12, "
                         f"got {dates[0]}..{dates[-1]} with gaps or repeats")
    if values.sum() != 40_363 or values[-1] != 432:
        raise ValueError(f"{path.name}: expected values summing to 40,363 and ending at 432, "
                         f"got a sum of {values.sum():,.0f} ending at {values[-1]:g}")
    return dates, values


@dataclass(frozen=True)
class TimeSplit:
    """Index ranges of a chronological split: ``train`` first, then ``val``, then ``test``.

    Use the slices on any array aligned with the series: ``values[split.train]``.
    """
    n: int
    val_size: int
    test_size: int

    @property
    def train(self) -> slice:
        return slice(0, self.n - self.val_size - self.test_size)

    @property
    def val(self) -> slice:
        return slice(self.n - self.val_size - self.test_size, self.n - self.test_size)

    @property
    def test(self) -> slice:
        return slice(self.n - self.test_size, self.n)

    @property
    def train_size(self) -> int:
        return self.n - self.val_size - self.test_size


def time_split(n: int, val_size: int, test_size: int) -> TimeSplit:
    """Split ``n`` time steps by time: the last ``test_size`` are the test part, the
    ``val_size`` before them the validation part, everything earlier the training part.

    Never shuffle a series before splitting it: the model would see the future.
    """
    for name, value, low in (("n", n, 1), ("val_size", val_size, 0),
                             ("test_size", test_size, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
        if value < low:
            raise ValueError(f"{name} must be >= {low}, got {value}")
    if val_size + test_size >= n:
        raise ValueError(f"val_size + test_size = {val_size + test_size} leaves no training "
                         f"data in a series of length {n}")
    return TimeSplit(int(n), int(val_size), int(test_size))


class StandardScaler:
    """Subtract a mean and divide by a standard deviation learned by :meth:`fit`.

    Fit it on the training part only (``scaler.fit(values[split.train])``) and apply it to
    everything: validation and test then play no part in the statistics, as at forecast time
    when they are still unknown. ``fit`` takes a 1-D series; the statistics are two scalars,
    so ``transform`` and ``inverse_transform`` apply elementwise to an array or tensor of any
    shape (NaN and infinite values are refused).
    """

    def __init__(self) -> None:
        self.mean: float | None = None
        self.std: float | None = None

    def fit(self, values) -> StandardScaler:
        array = as_series("values", values)
        if len(array) < 2:
            raise ValueError(f"fit needs at least 2 values, got {len(array)}")
        std = float(array.std())
        if not math.isfinite(std) or std == 0:
            raise ValueError(f"cannot scale: the values have standard deviation {std}")
        self.mean, self.std = float(array.mean()), std
        return self

    def _check_fitted(self) -> None:
        if self.mean is None:
            raise RuntimeError("this StandardScaler is not fitted yet: call "
                               "scaler.fit(values[split.train]) first")

    def _check_values(self, values):
        """``values`` if it is a NumPy array or tensor of finite numbers, of any shape."""
        self._check_fitted()
        if not isinstance(values, (np.ndarray, torch.Tensor)):
            raise TypeError(f"values must be a NumPy array or tensor (any shape), "
                            f"got {type(values).__name__}")
        if isinstance(values, torch.Tensor):
            bad, total = int((~torch.isfinite(values)).sum()), values.numel()
        else:
            bad, total = int((~np.isfinite(values)).sum()), values.size
        if bad:
            raise ValueError(f"values must be finite numbers, got {bad} NaN or infinite "
                             f"value(s) out of {total}")
        return values

    def transform(self, values):
        """``(values - mean) / std``, elementwise, as the same type: a NumPy array or tensor of
        any shape (a series, or a ``(batch, horizon)`` block of windows)."""
        return (self._check_values(values) - self.mean) / self.std

    def inverse_transform(self, values):
        """``values * std + mean``, elementwise: back to the original units. Any shape, so a
        ``(batch, 12)`` block of forecasts goes back in one call."""
        return self._check_values(values) * self.std + self.mean

    def __repr__(self) -> str:
        if self.mean is None:
            return "StandardScaler(not fitted)"
        return f"StandardScaler(mean={self.mean:.4g}, std={self.std:.4g})"


def as_series(name: str, values, min_length: int = 1) -> np.ndarray:
    """``values`` as a finite 1-D float64 array of at least ``min_length`` values, or a clear
    ``TypeError``/``ValueError`` naming ``name``."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    if not isinstance(values, (np.ndarray, list, tuple)):
        raise TypeError(f"{name} must be a 1-D array, tensor or list of numbers, "
                        f"got {type(values).__name__}")
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D (time,), got shape {array.shape}")
    if len(array) < min_length:
        raise ValueError(f"{name} needs at least {min_length} values, got {len(array)}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


class SlidingWindows(Dataset):
    """Forecasting examples cut from one series: ``lookback`` steps in, ``horizon`` steps out.

    Item ``k`` is ``(x, y)`` with ``x = series[s - lookback : s]`` shaped ``(lookback, 1)``
    (one feature per step, ready for ``nn.LSTM(input_size=1, batch_first=True)``) and
    ``y = series[s : s + horizon]`` shaped ``(horizon,)``, where ``s = first_target + k``.
    ``first_target`` (default ``lookback``) is where the first target starts: set it to the
    start of the validation part to get validation examples whose inputs may reach back into
    the training part but whose targets are all validation steps. ``last_target`` (default:
    the series' end) is one past the last step any target may use.
    """

    def __init__(self, series, lookback: int, horizon: int = 1,
                 first_target: int | None = None, last_target: int | None = None):
        array = as_series("series", series)
        for name, value in (("lookback", lookback), ("horizon", horizon)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, got {type(value).__name__} "
                                f"({value!r})")
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        n = len(array)
        if lookback + horizon > n:
            raise ValueError(f"a window of lookback {lookback} + horizon {horizon} = "
                             f"{lookback + horizon} steps does not fit in a series of "
                             f"length {n}")
        first = lookback if first_target is None else first_target
        last = n if last_target is None else last_target
        if not lookback <= first <= n:
            raise ValueError(f"first_target must be in [lookback, len(series)] = "
                             f"[{lookback}, {n}] so that the inputs exist, got {first}")
        if not first + horizon <= last <= n:
            raise ValueError(f"last_target must be in [first_target + horizon, len(series)] "
                             f"= [{first + horizon}, {n}], got {last}")
        self.series = torch.tensor(array, dtype=torch.float32)
        self.lookback, self.horizon = lookback, horizon
        self.first_target, self.last_target = first, last

    def __len__(self) -> int:
        return self.last_target - self.horizon - self.first_target + 1

    def __getitem__(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        if not -len(self) <= k < len(self):
            raise IndexError(f"window {k} out of range for {len(self)} windows")
        s = self.first_target + (k % len(self))
        return (self.series[s - self.lookback:s].unsqueeze(-1),
                self.series[s:s + self.horizon])

    def __repr__(self) -> str:
        return (f"SlidingWindows({len(self)} windows, lookback={self.lookback}, "
                f"horizon={self.horizon}, targets in [{self.first_target}, "
                f"{self.last_target}))")

"""The shipped airline series, the time split, the train-only scaler and the sliding windows."""

import shutil

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from utils.data import (
    AIRLINE_SOURCE,
    DATASETS,
    SlidingWindows,
    StandardScaler,
    load_airline,
    time_split,
)


def test_airline_loads_and_matches_the_known_facts():
    dates, values = load_airline()
    assert len(dates) == len(values) == 144
    assert values.sum() == 40_363 and values[-1] == 432 and values[0] == 112
    assert str(dates[0]) == "1949-01" and str(dates[-1]) == "1960-12"
    assert dates.dtype == np.dtype("datetime64[M]") and values.dtype == np.float64


def test_airline_provenance_is_shipped():
    text = (DATASETS / "airline-passengers.source.txt").read_text()
    assert "Box" in text and "Jenkins" in text and "Series G" in text
    assert "Time Series Data Library" in text and "Series G" in AIRLINE_SOURCE


def corrupted(tmp_path, edit):
    path = tmp_path / "airline-passengers.csv"
    lines = (DATASETS / "airline-passengers.csv").read_text().splitlines()
    path.write_text("\n".join(edit(lines)) + "\n")
    return path


@pytest.mark.parametrize("edit, text", [
    (lambda lines: lines[:-1], "expected 144 monthly rows, got 143"),
    (lambda lines: lines[:-1] + ['"1960-12",433'], "sum of 40,364 ending at 433"),
    (lambda lines: lines[:5] + [lines[6], lines[5]] + lines[7:], "consecutive months"),
    (lambda lines: ["Date,Value"] + lines[1:], "header"),
    (lambda lines: lines[:-1] + ['"1960-12",many'], "not 'YYYY-MM',number"),
])
def test_airline_rejects_a_damaged_file(tmp_path, edit, text):
    with pytest.raises(ValueError, match=text):
        load_airline(corrupted(tmp_path, edit))


def test_airline_reads_an_intact_copy_and_reports_a_missing_file(tmp_path):
    shutil.copy(DATASETS / "airline-passengers.csv", tmp_path / "copy.csv")
    assert load_airline(tmp_path / "copy.csv")[1].sum() == 40_363
    with pytest.raises(FileNotFoundError, match="missing"):
        load_airline(tmp_path / "nothing.csv")


def test_time_split_is_chronological_and_covers_everything():
    split = time_split(144, 12, 12)
    assert (split.train, split.val, split.test) == (slice(0, 120), slice(120, 132),
                                                   slice(132, 144))
    assert split.train_size == 120
    index = np.arange(144)
    parts = [index[split.train], index[split.val], index[split.test]]
    np.testing.assert_array_equal(np.concatenate(parts), index)   # in order, no gap, no overlap
    assert parts[0].max() < parts[1].min() and parts[1].max() < parts[2].min()
    assert time_split(10, 0, 3).val == slice(7, 7)


@pytest.mark.parametrize("args, error, text", [
    ((144, 72, 72), ValueError, "leaves no training data"),
    ((144, -1, 12), ValueError, "val_size must be >= 0"),
    ((144.0, 12, 12), TypeError, "n must be an int"),
    ((0, 0, 0), ValueError, "n must be >= 1"),
])
def test_time_split_rejects(args, error, text):
    with pytest.raises(error, match=text):
        time_split(*args)


def test_scaler_uses_training_statistics_only():
    _, values = load_airline()
    split = time_split(len(values), 12, 12)
    scaler = StandardScaler().fit(values[split.train])
    assert scaler.mean == pytest.approx(values[:120].mean())
    assert scaler.std == pytest.approx(values[:120].std())
    # Change every validation and test value: the scaler, and the scaled training part,
    # must not move at all. The same pipeline fitted on all values does move.
    tampered = values.copy()
    tampered[120:] = tampered[120:] * 10 + 1000
    again = StandardScaler().fit(tampered[split.train])
    assert (again.mean, again.std) == (scaler.mean, scaler.std)
    np.testing.assert_array_equal(again.transform(tampered[split.train]),
                                  scaler.transform(values[split.train]))
    leaky = StandardScaler().fit(values)
    assert leaky.mean != scaler.mean
    assert StandardScaler().fit(tampered).mean != leaky.mean


def test_scaler_round_trips_arrays_and_tensors():
    scaler = StandardScaler().fit(np.array([1.0, 2.0, 3.0, 4.0]))
    z = scaler.transform(np.array([1.0, 4.0]))
    np.testing.assert_allclose(z, (np.array([1.0, 4.0]) - 2.5) / np.std([1, 2, 3, 4]))
    np.testing.assert_allclose(scaler.inverse_transform(z), [1.0, 4.0])
    t = scaler.transform(torch.tensor([2.5]))
    assert isinstance(t, torch.Tensor) and t.item() == 0.0
    assert "mean=2.5" in repr(scaler)


def test_scaler_applies_to_any_shape():
    """The statistics are two scalars, so a (B, 12) block of forecasts (or a 0-d array) is
    scaled elementwise, exactly as each of its values would be one by one."""
    scaler = StandardScaler().fit(np.array([1.0, 2.0, 3.0, 4.0]))
    block = np.arange(24.0).reshape(2, 12)
    z = scaler.transform(block)
    assert z.shape == (2, 12)
    np.testing.assert_array_equal(z.ravel(), scaler.transform(block.ravel()))
    np.testing.assert_allclose(scaler.inverse_transform(z), block, atol=1e-12)
    forecasts = torch.randn(5, 12, dtype=torch.float64)
    back = scaler.inverse_transform(forecasts)
    assert isinstance(back, torch.Tensor) and back.shape == (5, 12)
    torch.testing.assert_close(back, forecasts * scaler.std + scaler.mean)
    assert scaler.transform(np.array(2.5)).shape == () and scaler.transform(np.array(2.5)) == 0.0
    assert scaler.transform(torch.ones(4, 1)).shape == (4, 1)


def fitted():
    return StandardScaler().fit(np.array([1.0, 2.0, 3.0, 4.0]))


@pytest.mark.parametrize("call, error, text", [
    (lambda: StandardScaler().transform(np.ones(3)), RuntimeError, "not fitted"),
    (lambda: StandardScaler().inverse_transform(np.ones(3)), RuntimeError, "not fitted"),
    (lambda: StandardScaler().fit(np.ones(5)), ValueError, "standard deviation 0"),
    (lambda: StandardScaler().fit(np.ones((3, 2))), ValueError, r"1-D .* shape \(3, 2\)"),
    (lambda: StandardScaler().fit([1.0, np.nan]), ValueError, "NaN"),
    (lambda: StandardScaler().fit("abc"), TypeError, "1-D array"),
    (lambda: fitted().transform(np.array([1.0, np.nan])), ValueError,
     r"finite numbers, got 1 NaN or infinite value\(s\) out of 2"),
    (lambda: fitted().transform(torch.tensor([np.inf, 1.0, 2.0])), ValueError,
     r"got 1 NaN or infinite value\(s\) out of 3"),
    (lambda: fitted().inverse_transform(np.array([np.nan])), ValueError, "finite numbers"),
    (lambda: fitted().inverse_transform(torch.full((4, 12), np.nan)), ValueError,
     r"got 48 NaN or infinite value\(s\) out of 48"),
    (lambda: fitted().transform(np.float64(2.0)), TypeError, "got float64"),
    (lambda: fitted().transform([1.0, 2.0]), TypeError,
     r"NumPy array or tensor \(any shape\), got list"),
])
def test_scaler_rejects(call, error, text):
    with pytest.raises(error, match=text):
        call()


def test_windows_hold_the_right_slices():
    series = np.arange(20.0)
    windows = SlidingWindows(series, lookback=4, horizon=3)
    assert len(windows) == 20 - 4 - 3 + 1
    x, y = windows[0]
    assert x.shape == (4, 1) and y.shape == (3,)
    torch.testing.assert_close(x.squeeze(-1), torch.arange(0.0, 4.0))
    torch.testing.assert_close(y, torch.arange(4.0, 7.0))
    x, y = windows[-1]
    torch.testing.assert_close(y, torch.arange(17.0, 20.0))
    assert x.dtype == y.dtype == torch.float32


def test_windows_restricted_to_a_target_range():
    series = np.arange(30.0)
    val = SlidingWindows(series, lookback=5, horizon=2, first_target=20, last_target=25)
    assert len(val) == 4
    assert [int(val[k][1][0]) for k in range(len(val))] == [20, 21, 22, 23]
    assert int(val[0][0][0, 0]) == 15  # inputs reach back before first_target
    assert all(val[k][1].max() < 25 for k in range(len(val)))
    train = SlidingWindows(series, lookback=5, horizon=2, last_target=20)
    assert max(train[k][1].max().item() for k in range(len(train))) == 19


def test_windows_feed_a_dataloader_and_an_lstm():
    windows = SlidingWindows(np.sin(np.arange(50.0)), lookback=12, horizon=6)
    x, y = next(iter(DataLoader(windows, batch_size=8)))
    assert x.shape == (8, 12, 1) and y.shape == (8, 6)
    out, _ = torch.nn.LSTM(1, 4, batch_first=True)(x)
    assert out.shape == (8, 12, 4)


@pytest.mark.parametrize("kwargs, error, text", [
    ({"lookback": 15, "horizon": 6}, ValueError,
     "lookback 15 \\+ horizon 6 = 21 steps does not fit in a series of length 20"),
    ({"lookback": 20, "horizon": 1}, ValueError, "does not fit"),
    ({"lookback": 0, "horizon": 1}, ValueError, "lookback must be >= 1"),
    ({"lookback": 3, "horizon": 0}, ValueError, "horizon must be >= 1"),
    ({"lookback": 3.0, "horizon": 1}, TypeError, "lookback must be an int"),
    ({"lookback": 3, "horizon": 1, "first_target": 2}, ValueError, "first_target"),
    ({"lookback": 3, "horizon": 2, "first_target": 10, "last_target": 11}, ValueError,
     "last_target"),
])
def test_windows_reject(kwargs, error, text):
    with pytest.raises(error, match=text):
        SlidingWindows(np.arange(20.0), **kwargs)


def test_windows_index_errors():
    windows = SlidingWindows(np.arange(10.0), lookback=3, horizon=2)
    with pytest.raises(IndexError):
        windows[len(windows)]
    with pytest.raises(ValueError, match=r"1-D \(time,\), got shape \(10, 1\)"):
        SlidingWindows(np.zeros((10, 1)), lookback=3)

import numpy as np
import pytest
import torch

from utils.data import load_airline
from utils.forecast import (
    mape,
    naive_forecast,
    one_blas_thread,
    rmse,
    sarima_forecast,
    seasonal_naive_forecast,
)


def test_naive_and_seasonal_naive():
    history = np.arange(1.0, 25.0)  # 1..24
    np.testing.assert_array_equal(naive_forecast(history, 3), [24.0, 24.0, 24.0])
    np.testing.assert_array_equal(seasonal_naive_forecast(history, 14),
                                  list(range(13, 25)) + [13, 14])
    np.testing.assert_array_equal(seasonal_naive_forecast(torch.arange(8.0), 2, season=4),
                                  [4.0, 5.0])


def test_rmse_and_mape_by_hand():
    assert rmse([1.0, 3.0], [2.0, 5.0]) == pytest.approx(np.sqrt((1 + 4) / 2))
    assert mape([90.0, 330.0], [100.0, 300.0]) == pytest.approx(10.0)
    assert rmse([2.0], [2.0]) == 0.0


def test_airline_sanity_numbers():
    _, values = load_airline()
    history, truth = values[:132], values[132:]
    assert rmse(seasonal_naive_forecast(history, 12), truth) == pytest.approx(50.708, abs=1e-3)
    assert rmse(naive_forecast(history, 12), truth) == pytest.approx(102.98, abs=0.01)
    assert rmse(sarima_forecast(history, 12), truth) == pytest.approx(18.6, abs=0.1)


@pytest.mark.parametrize("call, error, text", [
    (lambda: naive_forecast([1.0], 0), ValueError, "horizon must be >= 1"),
    (lambda: naive_forecast([], 1), ValueError, "at least 1"),
    (lambda: naive_forecast("abc", 1), TypeError, "1-D array"),
    (lambda: seasonal_naive_forecast(np.ones(5), 2), ValueError, "at least 12 values, got 5"),
    (lambda: seasonal_naive_forecast(np.ones((12, 2)), 2), ValueError, r"shape \(12, 2\)"),
    (lambda: rmse([1.0, 2.0], [1.0]), ValueError, r"same shape, got \(2,\) and \(1,\)"),
    (lambda: rmse([np.nan], [1.0]), ValueError, "NaN"),
    (lambda: mape([1.0], [0.0]), ValueError, "zeros"),
    (lambda: sarima_forecast(np.ones(30) - 2, 3), ValueError, "positive"),
    (lambda: sarima_forecast(np.ones(10), 3), ValueError, "at least 26"),
])
def test_rejects(call, error, text):
    with pytest.raises(error, match=text):
        call()


def numpy_openblas():
    """NumPy's own OpenBLAS library (wheels ship it in site-packages/numpy.libs), or None."""
    from pathlib import Path

    return next((Path(np.__file__).parent.parent / "numpy.libs").glob("libscipy_openblas*"),
                None)


def test_one_blas_thread_limits_and_restores():
    import ctypes

    library = numpy_openblas()
    if library is None:
        pytest.skip("this NumPy ships no libscipy_openblas library (built against another "
                    "BLAS): there is no OpenBLAS thread count to limit")
    get = ctypes.CDLL(str(library)).scipy_openblas_get_num_threads64_
    before = get()
    with one_blas_thread() as count:
        assert count >= 1 and get() == 1
    assert get() == before


def test_one_blas_thread_changes_nothing_where_no_openblas_is_found(monkeypatch, tmp_path):
    import scipy

    for package in (np, scipy):  # point both packages at a folder with no *.libs beside it
        monkeypatch.setattr(package, "__file__", str(tmp_path / package.__name__ / "x.py"))
    with one_blas_thread() as count:
        assert count == 0

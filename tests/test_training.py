import random

import numpy as np
import pytest
import torch

from utils.training import env_report, pick_device, run_summary, set_seed


def draw():
    return random.random(), np.random.rand(), torch.rand(3)


def test_set_seed_reproduces_every_generator():
    set_seed(123)
    first = draw()
    set_seed(123)
    second = draw()
    assert first[:2] == second[:2]
    assert torch.equal(first[2], second[2])
    set_seed(124)
    assert draw()[0] != first[0]


@pytest.mark.parametrize("seed, error", [("1", TypeError), (1.0, TypeError), (-1, ValueError),
                                         (2**32, ValueError), (True, TypeError)])
def test_set_seed_rejects(seed, error):
    with pytest.raises(error, match="seed"):
        set_seed(seed)


def test_pick_device_defaults_to_what_is_available():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert pick_device().type == expected
    assert pick_device("cpu") == torch.device("cpu")


def test_pick_device_rejects():
    with pytest.raises(TypeError):
        pick_device(0)
    with pytest.raises(ValueError, match="expected 'cpu' or 'cuda'"):
        pick_device("meta")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            pick_device("cuda")


def test_env_report_is_one_line_with_versions():
    line = env_report()
    assert "\n" not in line
    assert torch.__version__ in line and "Python 3." in line and "threads" in line


def test_run_summary_measures():
    import time
    text = run_summary(time.perf_counter() - 2.0)
    assert text.startswith("This run: 2.") and "MB" in text


def test_one_thread_restores_the_thread_count():
    from utils.training import one_thread
    before = torch.get_num_threads()
    with one_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), one_thread():
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before


def test_check_int():
    from utils.training import check_int
    assert check_int("n", 3) == 3 and check_int("n", 0, low=0) == 0
    with pytest.raises(ValueError, match="n must be >= 1, got 0"):
        check_int("n", 0)
    with pytest.raises(TypeError, match="n must be an int"):
        check_int("n", 2.0)
    with pytest.raises(TypeError):
        check_int("n", True)

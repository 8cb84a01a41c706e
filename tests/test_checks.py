import numpy as np
import pytest
import torch

from utils.checks import Verdict, as_shape, as_whole_number, feedback
from utils.checks.nb00 import check_mse_denominator, check_output_shape


def test_verdict_is_truthy_only_when_right_and_shows_its_message():
    assert feedback(True, "yes", "no") and not feedback(False, "yes", "no")
    assert repr(feedback(False, "yes", "a hint")) == "❌ Not yet. a hint"
    assert isinstance(feedback(True, "", ""), Verdict)


@pytest.mark.parametrize("answer", [48, 48.0, np.int64(48), np.float32(48), torch.tensor(48),
                                    torch.tensor([48.0]), np.array(48)])
def test_nb00_denominator_accepts_every_real_number_of_the_right_value(answer):
    assert check_mse_denominator(answer), repr(check_mse_denominator(answer))


@pytest.mark.parametrize("answer", [(np.int64(16), 1), (16.0, torch.tensor(1)),
                                    torch.Size([16, 1]), [16, 1], [np.int64(16), 1.0]])
def test_nb00_shape_accepts_whole_numbers_of_any_type(answer):
    assert check_output_shape(answer)


def test_nb00_checkers():
    assert check_output_shape((16, 1)) and check_output_shape(torch.Size([16, 1]))
    assert not check_output_shape((16, 5, 1)) and not check_output_shape(None)
    assert not check_output_shape([16, 5, 1]) and "(16, 5, 1) is not it" in repr(
        check_output_shape([16, 5, 1]))
    assert "tuple" in repr(check_output_shape("16, 1"))
    assert check_mse_denominator(48)
    assert not check_mse_denominator(16) and not check_mse_denominator(True)
    assert not check_mse_denominator(48.5) and "whole number" in repr(check_mse_denominator(48.5))
    assert not check_output_shape((16, True)) and not check_output_shape((16.5, 1))
    assert "elements" in repr(check_mse_denominator(16))


def test_error_of_names_the_error_or_returns_none():
    from utils.checks import error_of
    assert error_of(lambda: int("x")) == "ValueError: invalid literal for int() with base 10: 'x'"
    assert error_of(lambda: 1) is None


def test_as_number():
    from utils.checks import as_number
    assert as_number(3) == 3.0 and as_number(np.float32(0.5)) == 0.5
    assert as_number(torch.tensor([2.0])) == 2.0 and as_number(torch.tensor(48)) == 48.0
    assert as_number(np.int64(37)) == 37.0 and as_number(np.array([[0.25]])) == 0.25
    for bad in (True, "1", None, torch.ones(2), float("nan"), [1.0], np.bool_(True),
                torch.tensor(True), np.ones(2), 1j):
        assert as_number(bad) is None


def test_as_whole_number_and_as_shape():
    assert as_whole_number(48.0) == 48 and isinstance(as_whole_number(np.int64(48)), int)
    assert as_whole_number(torch.tensor(7)) == 7
    assert as_whole_number(48.5) is None and as_whole_number(False) is None
    assert as_shape(torch.Size([2, 3])) == (2, 3) and as_shape((np.int64(2), 3.0)) == (2, 3)
    assert as_shape([2, 3]) == (2, 3) and as_shape([np.int64(16), 1.0]) == (16, 1)
    assert as_shape((2, "3")) is None and as_shape([2, 2.5]) is None and as_shape(None) is None
    assert as_shape("23") is None and as_shape({2, 3}) is None

import torch

from utils.checks import Verdict, feedback
from utils.checks.nb00 import check_mse_denominator, check_output_shape


def test_verdict_is_truthy_only_when_right_and_shows_its_message():
    assert feedback(True, "yes", "no") and not feedback(False, "yes", "no")
    assert repr(feedback(False, "yes", "a hint")) == "❌ Not yet. a hint"
    assert isinstance(feedback(True, "", ""), Verdict)


def test_nb00_checkers():
    assert check_output_shape((16, 1)) and check_output_shape(torch.Size([16, 1]))
    assert not check_output_shape((16, 5, 1)) and not check_output_shape(None)
    assert "tuple" in repr(check_output_shape("16, 1"))
    assert check_mse_denominator(48)
    assert not check_mse_denominator(16) and not check_mse_denominator(True)
    assert "elements" in repr(check_mse_denominator(16))


def test_error_of_names_the_error_or_returns_none():
    from utils.checks import error_of
    assert error_of(lambda: int("x")) == "ValueError: invalid literal for int() with base 10: 'x'"
    assert error_of(lambda: 1) is None


def test_as_number():
    import numpy as np

    from utils.checks import as_number
    assert as_number(3) == 3.0 and as_number(np.float32(0.5)) == 0.5
    assert as_number(torch.tensor([2.0])) == 2.0
    for bad in (True, "1", None, torch.ones(2), float("nan"), [1.0]):
        assert as_number(bad) is None

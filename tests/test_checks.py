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

"""The exercise checkers of notebook 07: right answers pass, wrong ones get a hint, none raises."""

import math

import numpy as np
import pytest
import torch

from utils.checks.nb07 import (
    check_accumulated_grad,
    check_adamw_shrink,
    check_clipped_gradients,
    check_first_adam_step,
)


def test_accumulated_grad():
    assert check_accumulated_grad(0.3) and check_accumulated_grad(torch.tensor(0.3))
    assert check_accumulated_grad(-0.7, grad_a=-0.5, grad_b=-0.2)
    for wrong in (-0.2, 0.5, 0.7, 0.0):
        assert not check_accumulated_grad(wrong)
    assert "adds" in repr(check_accumulated_grad(-0.2))
    assert not check_accumulated_grad(None) and not check_accumulated_grad(True)
    assert "give a number" in repr(check_accumulated_grad("0.3"))


def test_first_adam_step_is_the_learning_rate():
    assert check_first_adam_step(0.01) and check_first_adam_step(0.01, grad=-5.0)
    assert check_first_adam_step(0.5, lr=0.5)
    for wrong in (123.4 * 0.01, 0.1, 0.001, 0.0316):
        assert not check_first_adam_step(wrong)
    assert "bias" in repr(check_first_adam_step(1.234))
    assert not check_first_adam_step([0.01])


def test_adamw_shrink():
    assert check_adamw_shrink(0.99 ** 100) and check_adamw_shrink(0.366)
    assert check_adamw_shrink(np.float32(0.99 ** 100)) and check_adamw_shrink(torch.tensor(0.366))
    assert check_adamw_shrink((1 - 0.1 * 0.5) ** 10, lr=0.1, weight_decay=0.5, steps=10)
    for wrong in (1.0, 0.9, 0.99, 0.37, 1 - 100 * 0.01, 0.999 ** 100):
        assert not check_adamw_shrink(wrong)
    assert "lr * weight_decay" in repr(check_adamw_shrink(0.5))
    assert "compounds" in repr(check_adamw_shrink(0.0))   # 1 - lr * wd * steps = 0: linear


@pytest.mark.parametrize("continuous", [math.exp(-1), round(math.exp(-1), 4),
                                        round(math.exp(-1), 3)])
def test_adamw_shrink_rejects_the_continuous_decay(continuous):
    verdict = check_adamw_shrink(continuous)   # exp(-lr * wd * steps) = exp(-1) = 0.3679
    assert not verdict and "continuous time" in repr(verdict)


def test_clipped_gradients():
    assert check_clipped_gradients((0.6, 0.8)) and check_clipped_gradients([0.6, 0.8])
    assert check_clipped_gradients(torch.tensor([0.6, 0.8]))
    assert check_clipped_gradients(np.array([0.6, 0.8]))
    assert check_clipped_gradients((np.float32(0.6), torch.tensor(0.8)))
    assert check_clipped_gradients((3.0, 4.0), max_norm=10.0)     # short enough: untouched
    for wrong in ((3.0, 4.0), (0.8, 0.6), (0.5, 0.5), (1.0, 1.0)):
        assert not check_clipped_gradients(wrong)
    assert "sqrt(3**2 + 4**2)" in repr(check_clipped_gradients((1.0, 1.0)))
    for malformed in (0.6, (0.6,), ("a", "b"), None):
        verdict = check_clipped_gradients(malformed)
        assert not verdict and "a pair of numbers" in repr(verdict)


@pytest.mark.parametrize("check", [check_accumulated_grad, check_first_adam_step,
                                   check_adamw_shrink, check_clipped_gradients])
def test_the_notebook_placeholder_gets_a_hint_not_an_error(check):
    verdict = check(None)
    assert not verdict and repr(verdict).startswith("❌ Not yet.")

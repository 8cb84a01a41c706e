import numpy as np
import pytest
import torch

from utils.checks.nb17 import (
    AR_TAR_DROPPED,
    AR_TAR_RAW,
    LOCKED_PS,
    check_ar_tar,
    check_kept_every_step,
    check_locked_dropout,
    check_tying_saving,
)
from utils.regularisation import Recipe, RegularisedCharLSTM, ar_tar, locked_dropout


def count(model):
    return sum(p.numel() for p in model.parameters())      # a shared tensor counts once


def test_tying_saving_agrees_with_the_model():
    saved = count(RegularisedCharLSTM(65, 64, 64)) - count(
        RegularisedCharLSTM(65, 64, 64, Recipe(tie_weights=True)))
    assert saved == 4160 and check_tying_saving(saved)
    for same in (4160.0, np.int64(4160), torch.tensor(4160)):
        assert check_tying_saving(same)
    assert "bias" in repr(check_tying_saving(4160 + 65))
    assert "not two" in repr(check_tying_saving(2 * 4160))
    assert not check_tying_saving(4160.5) and not check_tying_saving(None)


def test_kept_every_step_agrees_with_a_simulation():
    masks = torch.rand(200_000, 8, generator=torch.Generator().manual_seed(0)) >= 0.5
    simulated = masks.all(1).float().mean().item()                 # p = 0.5, 8 steps
    assert abs(simulated - 0.5 ** 8) < 0.001 and check_kept_every_step(0.5 ** 8, 0.5, 8)
    assert check_kept_every_step(0.75 ** 64) and check_kept_every_step(torch.tensor(0.75 ** 64))
    assert 0.75 ** 64 == pytest.approx(1.0091e-8, rel=1e-4)      # 1e-8 is 0.9 % off
    assert check_kept_every_step(1e-8) and check_kept_every_step(1.0e-8)   # the solution's
    assert not check_kept_every_step(0.98e-8) and not check_kept_every_step(1.1e-8)
    assert "locked" in repr(check_kept_every_step(0.75))
    assert "dropped at every step" in repr(check_kept_every_step(0.25 ** 64))
    assert "complement" in repr(check_kept_every_step(1 - 0.75 ** 64))
    assert not check_kept_every_step("small")


def test_locked_dropout_checker_accepts_the_helper_and_keeps_the_random_state():
    torch.manual_seed(5)
    before = torch.random.get_rng_state()
    verdict = check_locked_dropout(lambda x, p, training: locked_dropout(x, p, training))
    assert verdict and "shared by all 10 steps" in repr(verdict)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_locked_dropout_checker_accepts_the_solution_and_tests_two_ps():
    def solution(x, p, training):
        if not training:
            return x
        mask = x.new_empty(x.shape[0], 1, x.shape[2]).bernoulli_(1 - p) / (1 - p)
        return x * mask

    assert check_locked_dropout(solution)
    assert LOCKED_PS[0] == 0.25 and 0.5 not in LOCKED_PS       # p = 1 - p would hide a swap


def masked(shape_of, keep_of, scale_of):
    """A wrong answer: x times a mask of shape_of(x), kept with keep_of(p), scaled scale_of(p)."""
    def fn(x, p, training):
        if not training:
            return x
        return x * torch.empty(shape_of(x)).bernoulli_(keep_of(p)) * scale_of(p)
    return fn


def right_shape(x):
    return x.shape[0], 1, x.shape[2]


def test_locked_dropout_checker_names_each_mistake():
    def per_step(x, p, training):
        return torch.nn.functional.dropout(x, p, training)

    def same_every_call(x, p, training):
        keep = torch.empty(right_shape(x)).bernoulli_(1 - p, generator=torch.Generator()
                                                      .manual_seed(0))
        return x * keep / (1 - p) if training else x

    def always(x, p, training):
        return locked_dropout(x, p, True)

    cases = {
        per_step: "changes from step to step",
        masked(lambda x: (1, 1, x.shape[2]), lambda p: 1 - p, lambda p: 1 / (1 - p)):
            "shared by the batch",
        masked(lambda x: (x.shape[0], 1, 1), lambda p: 1 - p, lambda p: 1 / (1 - p)):
            "(batch, 1, 1)",
        masked(right_shape, lambda p: p, lambda p: 1 / (1 - p)): "probability of keeping",
        masked(right_shape, lambda p: 0.5, lambda p: 2.0): "hard-coded",
        masked(right_shape, lambda p: 0.75, lambda p: 4 / 3): "hard-coded",   # p = 0.25 fixed
        masked(right_shape, lambda p: 1 - p, lambda p: 1.0): "1 / (1 - p)",
        masked(right_shape, lambda p: 1 - p, lambda p: 1 / p): "1 / (1 - p)",
        same_every_call: "same mask", always: "unchanged",
        (lambda x, p, training: x): "nothing was dropped",
        (lambda x, p, training: x[0]): "x's shape",
        (lambda x, p: x): "raised TypeError", 3: "give a function",
    }
    for fn, message in cases.items():
        verdict = check_locked_dropout(fn)
        assert not verdict and message in repr(verdict), (message, verdict)


def test_ar_tar_checker_agrees_with_the_helper():
    dropped, raw = torch.tensor([AR_TAR_DROPPED]), torch.tensor([AR_TAR_RAW])
    ar, tar = ar_tar(dropped, raw, 2.0, 1.0)
    assert check_ar_tar((ar, tar)) and check_ar_tar([ar.item(), tar.item()])
    assert (ar.item(), tar.item()) == (5.0, 0.75)
    assert "swapped" in repr(check_ar_tar((tar, ar)))
    assert "alpha" in repr(check_ar_tar((2.5, 0.75)))
    assert "dropped outputs" in repr(check_ar_tar((2 * raw.pow(2).mean().item(), 0.75)))
    assert "raw outputs" in repr(check_ar_tar((5.0, 3.75)))
    assert "means" in repr(check_ar_tar((30.0, 0.75)))
    assert not check_ar_tar(5.0) and not check_ar_tar(("a", 1))

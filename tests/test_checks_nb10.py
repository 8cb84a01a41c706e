import math

import numpy as np
import torch

from utils.checks.nb10 import (
    check_flat_cross_entropy,
    check_perplexity,
    check_temperature_probs,
    check_tying_saving,
)


def test_perplexity():
    assert check_perplexity(math.exp(1.5)) and check_perplexity(4.4817)
    assert check_perplexity(torch.tensor(math.exp(1.5)))
    assert check_perplexity(math.exp(2.0), loss=2.0)
    assert not check_perplexity(1.5) and not check_perplexity(None)
    assert "bits" in repr(check_perplexity(2 ** 1.5))
    assert "number" in repr(check_perplexity("4.48"))


def test_temperature_probs():
    right = torch.softmax(torch.tensor([4.0, 2.0, 0.0]), 0)
    assert check_temperature_probs(right) and check_temperature_probs(right.tolist())
    times = check_temperature_probs(torch.softmax(torch.tensor([1.0, 0.5, 0.0]), 0))
    assert not times and "divide" in repr(times)
    plain = check_temperature_probs(torch.softmax(torch.tensor([2.0, 1.0, 0.0]), 0))
    assert not plain and "temperature 1" in repr(plain)
    assert "add up" in repr(check_temperature_probs([4.0, 2.0, 0.0]))
    assert not check_temperature_probs([0.5, 0.5]) and not check_temperature_probs("0.8")
    assert check_temperature_probs(torch.softmax(torch.tensor([1.0, 3.0]) / 2, 0),
                                   logits=(1.0, 3.0), temperature=2.0)
    assert check_temperature_probs(right.numpy())                         # a NumPy array
    assert check_temperature_probs(np.array([0.8668, 0.1173, 0.0159]))    # rounded, as printed
    assert not check_temperature_probs(np.array(["a", "b", "c"]))
    assert not check_temperature_probs([float("nan"), 0.5, 0.5])
    at_one = torch.softmax(torch.tensor([2.0, 1.0, 0.0]), 0)              # temperature 1: the
    verdict = check_temperature_probs(at_one, temperature=1.0)            # wrong forms coincide
    assert verdict and "temperature 1" in repr(verdict)                   # with the right one
    assert check_temperature_probs(at_one.numpy(), temperature=1.0)
    assert not check_temperature_probs(torch.softmax(torch.tensor([2.0, 1.0, 0.0]) * 2, 0),
                                       temperature=1.0)


def test_tying_saving():
    assert check_tying_saving(65 * 256)
    assert check_tying_saving(30 * 8, vocab_size=30, hidden_size=8)
    bias = check_tying_saving(65 * 256 + 65)
    assert not bias and "bias" in repr(bias)
    assert not check_tying_saving(2 * 65 * 256)
    for same in (16640.0, np.int64(16640), torch.tensor(16640), torch.tensor(16640.0),
                 np.array([16640])):
        assert check_tying_saving(same), same                       # the same number, any type
    assert not check_tying_saving(16640.5) and not check_tying_saving("16640")
    assert not check_tying_saving(True) and not check_tying_saving(1000)
    assert "bias" in repr(check_tying_saving(np.int64(65 * 256 + 65)))


def test_flat_cross_entropy():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 5, 5, generator=generator)
    targets = torch.randint(0, 5, (2, 5), generator=generator)
    right = torch.nn.functional.cross_entropy(logits.reshape(-1, 5), targets.reshape(-1))
    assert check_flat_cross_entropy(right, logits, targets)
    assert check_flat_cross_entropy(right.item(), logits, targets)
    transposed = torch.nn.functional.cross_entropy(logits.transpose(1, 2), targets)
    assert check_flat_cross_entropy(transposed, logits, targets)      # the other correct way
    wrong = check_flat_cross_entropy(torch.nn.functional.cross_entropy(logits, targets),
                                     logits, targets)
    assert not wrong and "dimension 1" in repr(wrong)
    assert not check_flat_cross_entropy(None, logits, targets)
    assert not check_flat_cross_entropy(right, logits[0], targets)
    assert not check_flat_cross_entropy(right + 0.1, logits, targets)
    printed = round(right.item(), 4)                                # what the praise prints
    assert f"{printed:.4f}" in repr(check_flat_cross_entropy(right, logits, targets))
    assert check_flat_cross_entropy(printed, logits, targets)
    assert check_flat_cross_entropy(np.float32(right.item()), logits, targets)
    assert not check_flat_cross_entropy(printed + 3e-4, logits, targets)
    float_targets = check_flat_cross_entropy(right, logits, targets.float())    # never raises
    assert not float_targets and "torch.long" in repr(float_targets)
    out_of_range = check_flat_cross_entropy(right, logits, targets + 5)
    assert not out_of_range and "[0, 4]" in repr(out_of_range)
    assert not check_flat_cross_entropy(right, logits.long(), targets)

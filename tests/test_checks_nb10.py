import math

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


def test_tying_saving():
    assert check_tying_saving(65 * 256)
    assert check_tying_saving(30 * 8, vocab_size=30, hidden_size=8)
    bias = check_tying_saving(65 * 256 + 65)
    assert not bias and "bias" in repr(bias)
    assert not check_tying_saving(2 * 65 * 256) and not check_tying_saving(16640.0)
    assert not check_tying_saving(True) and not check_tying_saving(1000)


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

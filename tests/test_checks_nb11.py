import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from utils.checks.nb11 import (
    check_ceiling,
    check_index_loss,
    check_lengths,
    check_majority_macro_f1,
)
from utils.classifier import scores
from utils.corpora import best_possible_accuracy, load_names, split_by_text

PADDED = torch.tensor([[5, 9, 2, 0, 0], [7, 3, 8, 4, 6], [4, 0, 0, 0, 0]])


def test_lengths():
    right = torch.tensor([3, 5, 1])
    assert check_lengths(right, PADDED) and check_lengths((PADDED != 0).sum(1), PADDED)
    for accepted in (right.int(), right.to(torch.uint8), [3, 5, 1], (3, 5, 1)):
        assert check_lengths(accepted, PADDED), accepted        # pack_padded_sequence takes them
    assert "integers" in repr(check_lengths(right.float(), PADDED))
    assert "ints" in repr(check_lengths([3.0, 5.0, 1.0], PADDED))
    assert not check_lengths(torch.tensor([True, True, True]), PADDED)
    assert "1-D" in repr(check_lengths(right.unsqueeze(0), PADDED))
    assert not check_lengths([3, 5, 2], PADDED)
    assert "padded length" in repr(check_lengths(torch.tensor([5, 5, 5]), PADDED))
    assert not check_lengths(torch.tensor([3, 5]), PADDED)
    assert not check_lengths(torch.tensor([4, 5, 2]), PADDED)
    assert not check_lengths(None, PADDED)


def test_the_accepted_forms_are_what_packing_accepts():
    x = torch.randn(3, 5, 2)
    reference = pack_padded_sequence(x, torch.tensor([3, 5, 1]), batch_first=True,
                                     enforce_sorted=False)
    for form in (torch.tensor([3, 5, 1], dtype=torch.int32),
                 torch.tensor([3, 5, 1], dtype=torch.uint8), [3, 5, 1]):
        assert check_lengths(form, PADDED)
        packed = pack_padded_sequence(x, form, batch_first=True, enforce_sorted=False)
        assert torch.equal(packed.data, reference.data)
        assert torch.equal(packed.batch_sizes, reference.batch_sizes)
    truncated = pack_padded_sequence(x, torch.tensor([3.9, 5.0, 1.0]), batch_first=True,
                                     enforce_sorted=False)
    assert torch.equal(truncated.batch_sizes, reference.batch_sizes)   # 3.9 read as 3
    assert not check_lengths(torch.tensor([3.9, 5.0, 1.0]), PADDED)


def test_index_loss():
    torch.manual_seed(0)
    logits = torch.randn(6, 4)
    one_hot = nn.functional.one_hot(torch.tensor([0, 3, 1, 1, 2, 0]), 4)
    expected = nn.functional.cross_entropy(logits, one_hot.argmax(1))
    assert check_index_loss(expected, logits, one_hot)
    assert check_index_loss(expected.item(), logits, one_hot)
    assert check_index_loss(np.float32(expected.item()), logits, one_hot)
    softmaxed = nn.functional.cross_entropy(logits.softmax(1), one_hot.argmax(1))
    assert "softmax" in repr(check_index_loss(softmaxed, logits, one_hot))
    assert not check_index_loss(expected.item() + 0.1, logits, one_hot)
    assert not check_index_loss("1.2", logits, one_hot)


def test_ceiling():
    test = split_by_text(load_names(), seed=0)[2]
    ceiling = best_possible_accuracy(test)
    assert check_ceiling(ceiling) and check_ceiling(torch.tensor(ceiling))
    assert not check_ceiling(1.0) and "several languages" in repr(check_ceiling(1))
    assert "percentage" in repr(check_ceiling(100 * ceiling))
    assert not check_ceiling(best_possible_accuracy(load_names()))   # the whole corpus's
    assert not check_ceiling(None)


def test_majority_macro_f1():
    test = split_by_text(load_names(), seed=0)[2]
    russian = test.classes.index("Russian")
    result = scores(list(test.labels), [russian] * len(test), 18)
    assert check_majority_macro_f1(result["macro_f1"])
    share = result["accuracy"]
    assert check_majority_macro_f1(2 * share / (1 + share) / 18)
    assert "accuracy" in repr(check_majority_macro_f1(share))
    assert not check_majority_macro_f1(2 * share / (1 + share))      # Russian's F1 alone
    assert not check_majority_macro_f1(True)

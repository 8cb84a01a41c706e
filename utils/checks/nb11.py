"""Checkers for the exercises of notebook 11 (classifying sequences)."""

from __future__ import annotations

import math
import numbers
from functools import lru_cache

import torch
from torch import nn

from ..classifier import scores
from ..corpora import best_possible_accuracy, load_names, split_by_text
from . import Verdict, as_number, feedback

__all__ = ["check_lengths", "check_index_loss", "check_ceiling", "check_majority_macro_f1"]


def check_lengths(answer: object, padded: torch.Tensor, pad_id: int = 0) -> Verdict:
    """Exercise 11.1: the lengths of the right-padded id batch ``padded`` (``pad_id`` fills
    the steps after each sequence), in a form ``pack_padded_sequence`` accepts: a 1-D
    integer tensor on the CPU (any integer dtype: packing casts it to int64) or a list of
    ints (packing turns it into a CPU int64 tensor)."""
    expected = (padded != pad_id).sum(dim=1)
    if isinstance(answer, (list, tuple)):
        if any(isinstance(v, bool) or not isinstance(v, numbers.Integral) for v in answer):
            return feedback(False, "", "give the lengths as ints: each is a count of steps.")
        values = list(answer)
    elif isinstance(answer, torch.Tensor):
        if answer.is_floating_point() or answer.is_complex() or answer.dtype == torch.bool:
            return feedback(False, "", f"lengths count steps, so give integers, got dtype "
                            f"{answer.dtype}: packing casts a float tensor to int64 without a "
                            "word, so a length of 4.9 would silently become 4.")
        if answer.device.type != "cpu":
            return feedback(False, "", "packing refuses lengths on a GPU (\"'lengths' argument "
                            "should be a 1D CPU int64 tensor\"): keep them on the CPU, even "
                            "when the batch is on a GPU.")
        if answer.dim() != 1:
            return feedback(False, "", f"one length per sequence: a 1-D tensor of shape "
                            f"{tuple(expected.shape)}, got shape {tuple(answer.shape)}.")
        values = answer.tolist()
    else:
        return feedback(False, "", f"give a 1-D tensor (or a list) of lengths, got "
                        f"{type(answer).__name__}.")
    if len(values) != len(expected):
        return feedback(False, "", f"one length per sequence: {len(expected)} of them, got "
                        f"{len(values)}.")
    if values == [padded.shape[1]] * len(expected):
        return feedback(False, "", "that is the padded length of every row; count only the "
                        f"ids that are not the padding id {pad_id}.")
    return feedback(values == expected.tolist(),
                    f"{expected.tolist()}: the number of real ids in each row. Packing takes "
                    "any integer lengths (a list too) and casts them to a CPU int64 tensor; "
                    "that tensor, (padded != 0).sum(dim=1), is what collate_fn returns and "
                    "what SequenceClassifier asks for.",
                    f"{values} is not it: count the ids that are not {pad_id} in each row.")


def check_index_loss(answer: object, logits: torch.Tensor, one_hot: torch.Tensor) -> Verdict:
    """Exercise 11.2: ``nn.CrossEntropyLoss`` of ``logits`` against the class indices that
    the rows of ``one_hot`` mark."""
    value = as_number(answer)
    if value is None:
        return feedback(False, "", f"give the loss as a number (a one-element tensor is fine), "
                        f"got {type(answer).__name__}.")
    targets = one_hot.argmax(dim=1)
    expected = nn.functional.cross_entropy(logits, targets).item()
    softmaxed = nn.functional.cross_entropy(torch.softmax(logits, dim=1), targets).item()
    if math.isclose(value, softmaxed, rel_tol=1e-4) and not math.isclose(value, expected,
                                                                          rel_tol=1e-4):
        return feedback(False, "", "you applied a softmax first: CrossEntropyLoss takes the raw "
                        "logits and applies log-softmax itself.")
    return feedback(math.isclose(value, expected, rel_tol=1e-4),
                    f"{expected:.4f}: the targets are one_hot.argmax(dim=1), a (B,) int64 "
                    "tensor, and the logits go in as they are.",
                    f"{value:.4g} is not it. Turn the one-hot rows into class indices "
                    "(argmax over dim 1) and pass the logits, not probabilities.")


@lru_cache(maxsize=1)
def _name_split_test():
    return split_by_text(load_names(), seed=0)[2]


def check_ceiling(answer: object) -> Verdict:
    """Exercise 11.3: the best accuracy any classifier of names can reach on the test part of
    the name split (``split_by_text(load_names(), seed=0)``)."""
    test = _name_split_test()
    expected = best_possible_accuracy(test)
    value = as_number(answer)
    if value is None:
        return feedback(False, "", f"give a fraction between 0 and 1, got {answer!r}.")
    if value > 1:
        return feedback(False, "", "give a fraction (0.97), not a percentage (97).")
    if value == 1:
        return feedback(False, "", "some names of the test part carry several languages: a "
                        "classifier gives one answer per name, so it must lose some items.")
    return feedback(abs(value - expected) < 5e-4,
                    f"{expected:.4f}: for each distinct test name count its commonest "
                    f"language, add up, and divide by the {len(test):,} test items "
                    "(utils.corpora.best_possible_accuracy).",
                    f"{value:.4f} is not it. For each distinct name of the test part, the best "
                    "answer is its commonest language there; every other item of that name is "
                    "lost.")


def check_majority_macro_f1(answer: object) -> Verdict:
    """Exercise 11.4: the macro-F1 of always answering Russian on the test part of the name
    split, over all 18 languages."""
    test = _name_split_test()
    russian = test.classes.index("Russian")
    result = scores(list(test.labels), [russian] * len(test), len(test.classes))
    value = as_number(answer)
    if value is None:
        return feedback(False, "", f"give a number, got {answer!r}.")
    if abs(value - result["accuracy"]) < 5e-4:
        return feedback(False, "", "that is its accuracy. Macro-F1 averages the F1 of all 18 "
                        "classes, and 17 of them are never predicted.")
    return feedback(abs(value - result["macro_f1"]) < 5e-4,
                    f"{result['macro_f1']:.4f}: Russian's F1 is 2p/(1 + p) with p the Russian "
                    f"share {result['accuracy']:.3f}, and the other 17 classes score 0, so "
                    "the mean is that F1 / 18.",
                    f"{value:.4f} is not it. Compute each class's F1 (0 for a class never "
                    "predicted) and take their unweighted mean over the 18 languages.")

"""Checkers for the exercises of notebook 12 (tagging every step)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
import torch

from ..tagging import BMES, LinearChainCRF, bmes_tags, boundary_f1, end_tags
from . import Verdict, as_number, as_whole_number, feedback

__all__ = ["check_bmes_tags", "check_path_count", "check_path_score", "check_boundary_f1"]


def _as_letters(answer: object) -> str | None:
    """A tag sequence given as ``"SBE..."`` (any case, spaces ignored), a list of letters or a
    list of tag ids (0 = B, 1 = M, 2 = E, 3 = S); ``None`` for anything else."""
    if isinstance(answer, str):
        letters = "".join(answer.split()).upper()
        return letters if set(letters) <= set(BMES) else None
    if isinstance(answer, (torch.Tensor, np.ndarray)):
        while answer.ndim > 1 and answer.shape[0] == 1:     # a batch of one: (1, T)
            answer = answer[0]
        answer = answer.tolist() if answer.ndim == 1 else None
    if isinstance(answer, (list, tuple)) and answer:
        if all(isinstance(a, str) and a.upper() in BMES for a in answer):
            return "".join(a.upper() for a in answer)
        ids = [as_whole_number(a) for a in answer]
        if all(i is not None and 0 <= i < 4 for i in ids):
            return "".join(BMES[i] for i in ids)
    return None


def check_bmes_tags(answer: object, words: Sequence[str] = ("i", "am", "the", "queen")) -> Verdict:
    """Exercise 12.1: the B/M/E/S tags of ``"".join(words)``, one per character."""
    expected = "".join(BMES[t] for t in bmes_tags(words))
    text = "".join(words)
    letters = _as_letters(answer)
    if letters is None:
        return feedback(False, "", f"give the tags as a string of the letters B, M, E, S (one "
                        f"per character of {text!r}), got {answer!r}.")
    if len(letters) != len(text):
        return feedback(False, "", f"{text!r} has {len(text)} characters, so it needs "
                        f"{len(text)} tags; you gave {len(letters)}.")
    if letters == expected:
        return feedback(True, f"{' '.join(words)} → {expected}: a one-letter word is S, a "
                        "longer one is B, then M for each inner character, then E.", "")
    wrong = [k for k, (a, b) in enumerate(zip(letters, expected, strict=True)) if a != b]
    k = wrong[0]
    hint = (f"character {k} ({text[k]!r}) is not {letters[k]}.")
    if letters[k] == "B" and expected[k] == "S":
        hint += " A word of one character is tagged S, not B."
    elif letters[k] == "E" and expected[k] == "M":
        hint += " Only the last character of a word is E."
    return feedback(False, "", f"{hint} {len(wrong)} of the {len(text)} tags differ.")


def _exact_whole_number(answer: object) -> int | None:
    """An integer answer (``int``, NumPy integer, integer tensor or array of one element)
    exactly, without the detour through a float that would make ``4**31 - 1`` equal
    ``4**31``; any other number through :func:`as_whole_number`."""
    if isinstance(answer, torch.Tensor) and answer.numel() == 1 and answer.dtype != torch.bool \
            and not answer.is_floating_point() and not answer.is_complex():
        return int(answer.item())
    if isinstance(answer, (np.ndarray, np.generic)) and answer.size == 1 \
            and np.issubdtype(answer.dtype, np.integer):
        return int(answer.item())
    if isinstance(answer, numbers.Integral) and not isinstance(answer, bool):
        return int(answer)
    return as_whole_number(answer)


def check_path_count(answer: object, num_tags: int = 4, length: int = 31) -> Verdict:
    """Exercise 12.2: how many tag sequences a line of ``length`` characters has with
    ``num_tags`` tags: ``num_tags ** length``. An integer answer is compared exactly."""
    expected = num_tags ** length
    terms = (length - 1) * num_tags ** 2 + 2 * num_tags     # the forward algorithm's sums
    value = _exact_whole_number(answer)
    if value is None:
        return feedback(False, "", f"give a whole number, got {answer!r}.")
    if value == expected:
        return feedback(True, f"{num_tags} choices at each of {length} steps: {num_tags}^{length}"
                        f" ≈ {float(expected):.2e} paths. The forward algorithm sums over all "
                        f"of them with only ({length} − 1) × {num_tags}² + 2 × {num_tags} = "
                        f"{terms} terms, about L·K².", "")
    if value == length ** num_tags:
        return feedback(False, "", f"{length}^{num_tags} = {value:,} counts the other way "
                        f"round: each of the {length} steps picks one of {num_tags} tags.")
    if value in (length * num_tags, length * num_tags ** 2, terms):
        return feedback(False, "", f"{value:,} is the work of the forward algorithm, not the "
                        "number of paths it sums over: multiply the choices at each step.")
    return feedback(False, "", f"{value:,} is not it: each step picks one of {num_tags} tags, "
                    "independently of the others.")


def check_path_score(answer: object, crf: LinearChainCRF, emissions: torch.Tensor,
                     path: Sequence[int]) -> Verdict:
    """Exercise 12.3: the score of ``path`` for a one-sequence ``emissions`` ``(1, T, K)``
    under ``crf``: start + emissions on the path + transitions + end."""
    path = list(path)
    with torch.no_grad():
        tags = torch.tensor([path])
        expected = crf.score(emissions, tags, [len(path)]).item()
        inner = expected - crf.start[path[0]].item() - crf.end[path[-1]].item()
        emitted = sum(emissions[0, t, y].item() for t, y in enumerate(path))
    value = as_number(answer)
    if value is None:
        return feedback(False, "", f"give a number, got {answer!r}.")
    if math.isclose(value, expected, rel_tol=1e-4, abs_tol=1e-4):
        return feedback(True, f"{expected:g}: start[{path[0]}] + the emissions on the path + "
                        f"the transitions between its tags + end[{path[-1]}].", "")
    if math.isclose(value, inner, abs_tol=1e-4):
        return feedback(False, "", "close: add the start score of the first tag and the end "
                        "score of the last.")
    if math.isclose(value, emitted, abs_tol=1e-4):
        return feedback(False, "", "that is the emissions alone: a CRF adds a transition score "
                        "for each pair of neighbouring tags, plus start and end.")
    return feedback(False, "", f"{value:g} is not it. Add start[y0], emissions[0, t, y_t] for "
                    "each t, transitions[y_(t-1), y_t] for each t ≥ 1, and end[y_last].")


def check_boundary_f1(answer: object, predicted: Sequence[str], gold: Sequence[str]) -> Verdict:
    """Exercise 12.4: the boundary F1 of the segmentation ``predicted`` against ``gold`` (two
    word lists of the same text), the last character not counted."""
    if "".join(predicted) != "".join(gold):
        raise ValueError(f"predicted and gold must segment the same text, got "
                         f"{''.join(predicted)!r} and {''.join(gold)!r}")
    pred, true = end_tags(predicted), end_tags(gold)
    score = boundary_f1([pred], [true])
    value = as_number(answer)
    if value is None:
        return feedback(False, "", f"give a number between 0 and 1, got {answer!r}.")
    with_last = boundary_f1([pred + [0]], [true + [0]])  # the last boundary counted too
    if math.isclose(value, score.f1, abs_tol=1e-3):
        return feedback(True, f"{score.true_positives} right boundaries, "
                        f"{score.false_positives} wrong, {score.false_negatives} missed: "
                        f"precision {score.precision:.3f}, recall {score.recall:.3f}, "
                        f"F1 {score.f1:.3f}.", "")
    if math.isclose(value, with_last.f1, abs_tol=1e-3):
        return feedback(False, "", "you counted the boundary at the end of the text, which "
                        "every segmentation gets for free; leave it out.")
    if math.isclose(value, score.precision, abs_tol=1e-3) or \
            math.isclose(value, score.recall, abs_tol=1e-3):
        return feedback(False, "", "that is the precision or the recall; F1 is their "
                        "harmonic mean, 2PR / (P + R).")
    return feedback(False, "", f"{value:g} is not it. List the word ends inside the text for "
                    "both segmentations; precision = right / predicted, recall = right / true.")

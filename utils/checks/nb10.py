"""Checkers for the exercises of notebook 10 (a character language model)."""

from __future__ import annotations

import math

import numpy as np
import torch

from . import Verdict, as_number, as_whole_number, feedback

__all__ = ["check_perplexity", "check_temperature_probs", "check_tying_saving",
           "check_flat_cross_entropy"]

TOLERANCE = 5e-5   # a loss printed to 4 decimals (1.8801) is right within half its last digit


def check_perplexity(answer: object, loss: float = 1.5) -> Verdict:
    """Exercise 10.1: the perplexity of a model whose loss is ``loss`` nats per character."""
    expected = math.exp(loss)
    value = as_number(answer)
    if value is None:
        return feedback(False, "", f"give a number, got {answer!r}.")
    if math.isclose(value, 2 ** loss, rel_tol=1e-3):
        return feedback(False, "", f"{value:.4g} is 2 ** {loss}: that reads the loss as bits. "
                        "Cross-entropy in PyTorch uses the natural log, so the loss is in nats.")
    return feedback(math.isclose(value, expected, rel_tol=1e-3),
                    f"exp({loss}) = {expected:.3f}: the model is as unsure as a fair choice "
                    f"among about {expected:.1f} characters at every step.",
                    f"{value:.4g} is not it. Perplexity is exp(mean negative log-likelihood), "
                    f"the loss being in nats.")


def _as_probabilities(answer: object, size: int) -> torch.Tensor | None:
    """``size`` finite numbers from a tensor, a NumPy array, a list or a tuple; else None."""
    if isinstance(answer, torch.Tensor):
        if answer.is_complex() or answer.dtype == torch.bool:
            return None
        values = answer.detach().cpu().double().flatten()
    elif isinstance(answer, np.ndarray):
        if not np.issubdtype(answer.dtype, np.number) or np.iscomplexobj(answer):
            return None
        values = torch.from_numpy(answer.astype(np.float64).ravel())
    elif isinstance(answer, (list, tuple)):
        numbers = [as_number(a) for a in answer]
        if any(n is None for n in numbers):
            return None
        values = torch.tensor(numbers, dtype=torch.float64)
    else:
        return None
    if values.numel() != size or not torch.isfinite(values).all():
        return None
    return values


def check_temperature_probs(answer: object, logits: tuple[float, ...] = (2.0, 1.0, 0.0),
                            temperature: float = 0.5) -> Verdict:
    """Exercise 10.2: the sampling probabilities of ``logits`` at ``temperature``."""
    scores = torch.tensor(logits, dtype=torch.float64)
    expected = torch.softmax(scores / temperature, dim=0)
    values = _as_probabilities(answer, len(logits))
    if values is None:
        return feedback(False, "", f"give {len(logits)} probabilities (a list, an array or a "
                        f"tensor), got {answer!r}.")
    if torch.allclose(values, expected, atol=1e-4):   # first: at temperature 1 the wrong
        shown = ", ".join(f"{p:.4f}" for p in expected.tolist())     # forms below coincide
        if temperature < 1:
            why = (f"the largest logit gains mass, because dividing by {temperature} "
                   f"multiplies every gap between logits by {1 / temperature:g}.")
        elif temperature > 1:
            why = f"dividing by {temperature} shrinks every gap between logits: the mass spreads."
        else:
            why = "at temperature 1 the logits are left as they are."
        return feedback(True, f"softmax(logits / {temperature}) = [{shown}]: {why}", "")
    if torch.allclose(values, torch.softmax(scores * temperature, dim=0), atol=1e-4):
        return feedback(False, "", "those are softmax(logits * temperature): divide the logits "
                        "by the temperature instead, so that a low temperature sharpens.")
    if torch.allclose(values, torch.softmax(scores, dim=0), atol=1e-4):
        return feedback(False, "", "that is the softmax at temperature 1: divide the logits by "
                        f"{temperature} first.")
    if not math.isclose(values.sum().item(), 1.0, abs_tol=1e-4):
        return feedback(False, "", f"probabilities add up to 1; yours add up to "
                        f"{values.sum().item():.4g}. Did you forget the softmax?")
    return feedback(False, "", "not quite: compute softmax(logits / temperature), i.e. "
                    "exp(z_i / T) / sum_j exp(z_j / T).")


def check_tying_saving(answer: object, vocab_size: int = 65, hidden_size: int = 256) -> Verdict:
    """Exercise 10.3: how many parameters tying the head to the embedding saves."""
    expected = vocab_size * hidden_size
    value = as_whole_number(answer)       # 16640, 16640.0, np.int64(16640), torch.tensor(16640)
    if value is None:
        return feedback(False, "", f"give a whole number, got {answer!r}.")
    answer = value
    if answer == expected + vocab_size:
        return feedback(False, "", f"{answer} counts the head's bias too; tying shares only the "
                        f"weight matrix, the bias ({vocab_size} numbers) stays the head's own.")
    if answer == 2 * expected:
        return feedback(False, "", f"{answer} is both matrices; tying keeps one of the two.")
    return feedback(answer == expected,
                    f"The head's weight is ({vocab_size}, {hidden_size}), exactly the shape of "
                    f"the embedding matrix when the LSTM's output size equals embedding_dim: "
                    f"tying drops one of them, {expected:,} numbers.",
                    f"{answer} is not it. Which matrix disappears when the head reuses the "
                    f"embedding, and what is its shape?")


def check_flat_cross_entropy(answer: object, logits: torch.Tensor,
                             targets: torch.Tensor) -> Verdict:
    """Exercise 10.4: the cross-entropy of ``(B, T, V)`` logits against ``(B, T)`` targets,
    computed the right way (flattened to ``(B*T, V)`` and ``(B*T,)``). The answer is compared
    to 4 decimals, the precision the verdict prints."""
    if not (isinstance(logits, torch.Tensor) and logits.dim() == 3 and logits.is_floating_point()
            and isinstance(targets, torch.Tensor) and targets.shape == logits.shape[:2]):
        return feedback(False, "", "call the checker with the exercise's logits (B, T, V) and "
                        "targets (B, T).")
    if targets.dtype != torch.long:
        return feedback(False, "", f"the targets must be class indices of dtype torch.long, "
                        f"got {targets.dtype}: call the checker with the exercise's targets.")
    if targets.min() < 0 or targets.max() >= logits.shape[-1]:
        return feedback(False, "", f"the targets must be class indices in [0, "
                        f"{logits.shape[-1] - 1}]: call the checker with the exercise's targets.")
    value = as_number(answer)
    if value is None:
        return feedback(False, "", f"give the loss as a number or a one-element tensor, "
                        f"got {type(answer).__name__}.")
    expected = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                 targets.reshape(-1)).item()
    close = math.isclose(value, expected, abs_tol=TOLERANCE)
    if logits.shape[1] == logits.shape[2] and not close:
        swapped = torch.nn.functional.cross_entropy(logits, targets).item()
        if math.isclose(value, swapped, abs_tol=TOLERANCE):
            return feedback(False, "", "that is cross_entropy(logits, targets) on the 3-D "
                            "tensor: PyTorch read dimension 1 (time) as the classes. Flatten "
                            "both first.")
    return feedback(close,
                    f"{expected:.4f}: logits.reshape(-1, V) against targets.reshape(-1) scores "
                    f"every one of the {targets.numel()} positions.",
                    f"{value:.4g} is not it. Reshape the logits to (B*T, V) and the targets to "
                    f"(B*T,), or move the classes to dimension 1 with logits.transpose(1, 2).")

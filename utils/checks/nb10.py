"""Checkers for the exercises of notebook 10 (a character language model)."""

from __future__ import annotations

import math

import torch

from . import Verdict, as_number, feedback

__all__ = ["check_perplexity", "check_temperature_probs", "check_tying_saving",
           "check_flat_cross_entropy"]


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
    if isinstance(answer, torch.Tensor):
        values = answer.detach().double().flatten()
    elif isinstance(answer, (list, tuple)):
        numbers = [as_number(a) for a in answer]
        if any(n is None for n in numbers):
            return None
        values = torch.tensor(numbers, dtype=torch.float64)
    else:
        return None
    return values if values.numel() == size else None


def check_temperature_probs(answer: object, logits: tuple[float, ...] = (2.0, 1.0, 0.0),
                            temperature: float = 0.5) -> Verdict:
    """Exercise 10.2: the sampling probabilities of ``logits`` at ``temperature``."""
    scores = torch.tensor(logits, dtype=torch.float64)
    expected = torch.softmax(scores / temperature, dim=0)
    values = _as_probabilities(answer, len(logits))
    if values is None:
        return feedback(False, "", f"give {len(logits)} probabilities (a list or a tensor), "
                        f"got {answer!r}.")
    if torch.allclose(values, torch.softmax(scores * temperature, dim=0), atol=1e-4):
        return feedback(False, "", "those are softmax(logits * temperature): divide the logits "
                        "by the temperature instead, so that a low temperature sharpens.")
    if torch.allclose(values, torch.softmax(scores, dim=0), atol=1e-4):
        return feedback(False, "", "that is the softmax at temperature 1: divide the logits by "
                        f"{temperature} first.")
    if not math.isclose(values.sum().item(), 1.0, abs_tol=1e-4):
        return feedback(False, "", f"probabilities add up to 1; yours add up to "
                        f"{values.sum().item():.4g}. Did you forget the softmax?")
    shown = ", ".join(f"{p:.4f}" for p in expected.tolist())
    return feedback(torch.allclose(values, expected, atol=1e-4),
                    f"softmax(logits / {temperature}) = [{shown}]: the largest logit gains "
                    f"mass, because dividing by {temperature} doubles every gap between logits.",
                    "not quite: compute softmax(logits / temperature), i.e. "
                    "exp(z_i / T) / sum_j exp(z_j / T).")


def check_tying_saving(answer: object, vocab_size: int = 65, hidden_size: int = 256) -> Verdict:
    """Exercise 10.3: how many parameters tying the head to the embedding saves."""
    expected = vocab_size * hidden_size
    if isinstance(answer, bool) or not isinstance(answer, int):
        return feedback(False, "", f"give a whole number, got {answer!r}.")
    if answer == expected + vocab_size:
        return feedback(False, "", f"{answer} counts the head's bias too; tying shares only the "
                        f"weight matrix, the bias ({vocab_size} numbers) stays the head's own.")
    if answer == 2 * expected:
        return feedback(False, "", f"{answer} is both matrices; tying keeps one of the two.")
    return feedback(answer == expected,
                    f"The head's weight is ({vocab_size}, {hidden_size}), exactly the shape of "
                    f"the embedding matrix when embedding_dim = hidden_size: tying drops one "
                    f"of them, {expected:,} numbers.",
                    f"{answer} is not it. Which matrix disappears when the head reuses the "
                    f"embedding, and what is its shape?")


def check_flat_cross_entropy(answer: object, logits: torch.Tensor,
                             targets: torch.Tensor) -> Verdict:
    """Exercise 10.4: the cross-entropy of ``(B, T, V)`` logits against ``(B, T)`` targets,
    computed the right way (flattened to ``(B*T, V)`` and ``(B*T,)``)."""
    if not (isinstance(logits, torch.Tensor) and logits.dim() == 3
            and isinstance(targets, torch.Tensor) and targets.shape == logits.shape[:2]):
        return feedback(False, "", "call the checker with the exercise's logits (B, T, V) and "
                        "targets (B, T).")
    value = as_number(answer)
    if value is None:
        return feedback(False, "", f"give the loss as a number or a one-element tensor, "
                        f"got {type(answer).__name__}.")
    expected = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                 targets.reshape(-1)).item()
    if logits.shape[1] == logits.shape[2]:
        swapped = torch.nn.functional.cross_entropy(logits, targets).item()
        if math.isclose(value, swapped, rel_tol=1e-5) and not math.isclose(value, expected,
                                                                           rel_tol=1e-5):
            return feedback(False, "", "that is cross_entropy(logits, targets) on the 3-D "
                            "tensor: PyTorch read dimension 1 (time) as the classes. Flatten "
                            "both first.")
    return feedback(math.isclose(value, expected, rel_tol=1e-5),
                    f"{expected:.4f}: logits.reshape(-1, V) against targets.reshape(-1) scores "
                    f"every one of the {targets.numel()} positions.",
                    f"{value:.4g} is not it. Reshape the logits to (B*T, V) and the targets to "
                    f"(B*T,), or move the classes to dimension 1 with logits.transpose(1, 2).")

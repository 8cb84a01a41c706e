"""Data for the course: synthetic tasks here; the shipped real series follow below.

Every generator takes an explicit ``torch.Generator`` or seed, so a rerun gives the same data.
"""

from __future__ import annotations

import torch

__all__ = ["adding_problem"]


def adding_problem(batch: int, seq_len: int, seed: int | None = None,
                   generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The adding problem (Hochreiter & Schmidhuber, 1997), in its modern form.

    Each sequence has two channels: values drawn from U(0, 1), and a marker that is 1 at
    exactly two steps, one drawn uniformly from the first half and one from the second half.
    The target is the sum of the two marked values. Returns ``x`` of shape
    ``(batch, seq_len, 2)`` and ``y`` of shape ``(batch, 1)``. Predicting the constant 1
    (the target's mean) scores MSE 1/6, the variance of a sum of two U(0, 1).
    """
    for name, value in (("batch", batch), ("seq_len", seq_len)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    if seq_len < 2:
        raise ValueError(f"seq_len must be >= 2 (one marker in each half), got {seq_len}")
    if generator is None:
        generator = torch.Generator()
        generator.manual_seed(0 if seed is None else seed)
    elif seed is not None:
        raise ValueError("give either seed or generator, not both")
    values = torch.rand(batch, seq_len, generator=generator)
    half = seq_len // 2
    first = torch.randint(0, half, (batch,), generator=generator)
    second = torch.randint(half, seq_len, (batch,), generator=generator)
    markers = torch.zeros(batch, seq_len)
    rows = torch.arange(batch)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = torch.stack([values, markers], dim=-1)
    y = (values[rows, first] + values[rows, second]).unsqueeze(1)
    return x, y

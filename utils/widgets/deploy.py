"""Notebook 15's explorer: pick a batch size and a length, run the same input through every
backend (eager PyTorch, the reloaded ``torch.export`` program, onnxruntime), and read how far
each one's outputs are from eager's and how long one call took.

Each update draws ids and a random starting state from a generator seeded by the chosen
shape, so the same settings give the same numbers; every backend runs three times and the
median of the three wall times is shown. That is a quick reading, not a benchmark (the
notebook's table uses ``torch.utils.benchmark``), but a shape the exports never saw and the
largest difference are exact. With sizes up to 16 x 100 on one thread an update takes well
under half a second.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping

import ipywidgets as widgets
import torch

from ..deploy import max_abs_diff
from ..training import check_int, one_thread
from . import Explorer

__all__ = ["BATCH_SIZES", "LENGTHS", "deployment_view", "deployment_explorer"]

BATCH_SIZES = (1, 2, 4, 8, 16)
LENGTHS = (1, 10, 50, 100)


def _inputs(batch: int, length: int, vocab_size: int, hidden_size: int, num_layers: int):
    generator = torch.Generator().manual_seed(1000 * batch + length)
    ids = torch.randint(0, vocab_size, (batch, length), generator=generator)
    shape = (num_layers, batch, hidden_size)
    h0 = 0.5 * torch.randn(shape, generator=generator)
    c0 = 0.5 * torch.randn(shape, generator=generator)
    return ids, h0, c0


def deployment_view(backends: Mapping[str, Callable], batch: int, length: int, *,
                    vocab_size: int, hidden_size: int, num_layers: int = 1,
                    repeats: int = 3) -> dict:
    """What the explorer shows for one shape: per backend, the output shapes, the largest
    absolute difference from the first backend (the reference, eager PyTorch), whether every
    output is within 1e-5 of it (``torch.allclose`` with ``rtol = atol = 1e-5``) and the
    median wall time of ``repeats`` calls in milliseconds.

    Each backend is called as ``backend(ids, h0, c0)`` under ``torch.inference_mode()`` on
    one thread and must return ``(logits, h_n, c_n)``."""
    if not isinstance(backends, Mapping) or not backends:
        raise TypeError("backends must be a non-empty dict of name -> backend(ids, h0, c0)")
    for name, backend in backends.items():
        if not callable(backend):
            raise TypeError(f"backend {name!r} is not callable")
    batch, length = check_int("batch", batch), check_int("length", length)
    repeats = check_int("repeats", repeats)
    inputs = _inputs(batch, length, vocab_size, hidden_size, num_layers)
    rows, reference = [], None
    with one_thread(), torch.inference_mode():
        for name, backend in backends.items():
            seconds = []
            for _ in range(repeats):
                started = time.perf_counter()
                outputs = tuple(backend(*inputs))
                seconds.append(time.perf_counter() - started)
            reference = outputs if reference is None else reference
            rows.append({"backend": name, "shapes": [tuple(o.shape) for o in outputs],
                         "max_abs_diff": max_abs_diff(outputs, reference),
                         "close": all(torch.allclose(a, b, rtol=1e-5, atol=1e-5)
                                      for a, b in zip(outputs, reference, strict=True)),
                         "ms": 1000 * statistics.median(seconds)})
    return {"batch": batch, "length": length, "rows": rows}


def _render(view: dict) -> None:
    rows = view["rows"]
    print(f"ids ({view['batch']}, {view['length']}) and a random state; logits "
          f"{rows[0]['shapes'][0]}, h_n and c_n {rows[0]['shapes'][1]}\n")
    print(f"{'backend':<24}{'max |diff| from eager':>22}{'one call (median of 3)':>25}")
    for row in rows:
        print(f"{row['backend']:<24}{row['max_abs_diff']:>22.1e}{row['ms']:>22.2f} ms")


def deployment_explorer(backends: Mapping[str, Callable], *, vocab_size: int,
                        hidden_size: int, num_layers: int = 1) -> Explorer:
    """Two sliders, batch size and length, over :func:`deployment_view` of ``backends``
    (the first one is the reference)."""
    deployment_view(backends, 1, 1, vocab_size=vocab_size, hidden_size=hidden_size,
                    num_layers=num_layers, repeats=1)   # refuse bad backends before drawing
    controls = {
        "batch": widgets.SelectionSlider(options=BATCH_SIZES, value=4, description="batch",
                                         continuous_update=False),
        "length": widgets.SelectionSlider(options=LENGTHS, value=50, description="length",
                                          continuous_update=False),
    }
    return Explorer(controls,
                    lambda batch, length: deployment_view(
                        backends, batch, length, vocab_size=vocab_size,
                        hidden_size=hidden_size, num_layers=num_layers),
                    _render, title="Pick a shape: do the exports agree with eager, and how fast?")

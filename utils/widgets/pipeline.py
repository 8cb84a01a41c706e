"""Notebook 00's explorer: the shape of every tensor of the classic example."""

from __future__ import annotations

import ipywidgets as widgets
import torch
from torch import nn

from . import Explorer

__all__ = ["classic_pipeline_shapes", "pipeline_explorer"]


def classic_pipeline_shapes(batch: int, seq_len: int, input_size: int, hidden_size: int,
                            num_layers: int, output_size: int) -> dict[str, tuple[int, ...]]:
    """Run the classic example once and return the shape of each tensor it makes (seeded,
    without touching the caller's random stream)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)
        head = nn.Linear(hidden_size, output_size)
        x = torch.randn(batch, seq_len, input_size)
    with torch.no_grad():
        out, (h_n, c_n) = lstm(x)
        last = out[:, -1]
        prediction = head(last)
    loss = nn.functional.mse_loss(prediction, torch.zeros_like(prediction))
    return {"x": tuple(x.shape), "out": tuple(out.shape), "h_n": tuple(h_n.shape),
            "c_n": tuple(c_n.shape), "out[:, -1]": tuple(last.shape),
            "prediction": tuple(prediction.shape), "loss": tuple(loss.shape)}


def _show(shapes: dict[str, tuple[int, ...]]) -> None:
    width = max(map(len, shapes))
    for name, shape in shapes.items():
        print(f"{name:>{width}} : {shape}")


def pipeline_explorer() -> Explorer:
    """Sliders for the classic example's sizes; prints every tensor's shape after each move."""
    def slider(description, value, low, high):
        return widgets.IntSlider(value=value, min=low, max=high, description=description,
                                 continuous_update=False)
    controls = {
        "batch": slider("batch", 16, 1, 64), "seq_len": slider("seq_len", 5, 1, 50),
        "input_size": slider("input_size", 10, 1, 32),
        "hidden_size": slider("hidden_size", 20, 1, 64),
        "num_layers": slider("num_layers", 2, 1, 4),
        "output_size": slider("output_size", 1, 1, 8),
    }
    return Explorer(controls, classic_pipeline_shapes, _show,
                    title="The classic example: move a slider, watch the shapes")

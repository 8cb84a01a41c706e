"""Notebook 09's explorer: pick a test sequence and a trained model; see the two marked values,
the prediction against the target, and what the model keeps over time (an LSTM's forget gate,
or the hidden state of a model that has no forget gate).

Everything is computed once by :func:`precompute_memory_views`; moving a control only indexes
those arrays and draws, so an update stays far below 0.3 s.
"""

from __future__ import annotations

import io

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import PIL.Image
import torch
from IPython.display import Image, display
from matplotlib.backends.backend_agg import FigureCanvasAgg
from torch import nn

from ..memory import lstm_gates
from ..viz import GATE_COLORS, new_figure
from . import Explorer

__all__ = ["precompute_memory_views", "memory_view", "memory_explorer"]


def precompute_memory_views(models: dict[str, nn.Module], x: torch.Tensor,
                            y: torch.Tensor) -> dict:
    """Run each model once over the adding-problem batch ``x`` ``(N, T, 2)``, ``y`` ``(N, 1)``.

    Each model must have ``.core`` (an ``nn.RNN``/``nn.GRU``/``nn.LSTM``, ``batch_first``) and
    return ``(N, 1)``. Returns plain arrays: the inputs, the targets, and per model the
    predictions and the ``(N, T, H)`` panel to show (the forget gate f for an LSTM, else h)."""
    if not isinstance(models, dict) or not models:
        raise ValueError(f"models must be a non-empty dict name -> model, got {models!r}")
    if not isinstance(x, torch.Tensor) or x.dim() != 3 or x.shape[-1] != 2:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be an adding-problem batch of shape (N, T, 2), got {shape}")
    if not isinstance(y, torch.Tensor) or y.shape != (x.shape[0], 1):
        shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(f"y must have shape ({x.shape[0]}, 1) to match x, got {shape}")
    views = {"values": x[..., 0].numpy(), "markers": x[..., 1].numpy(),
             "target": y[:, 0].numpy(), "models": {}}
    for name, model in models.items():
        core = getattr(model, "core", None)
        if not isinstance(core, (nn.RNN, nn.GRU, nn.LSTM)):
            raise TypeError(f"model {name!r} needs a .core that is nn.RNN, nn.GRU or nn.LSTM, "
                            f"got {type(core).__name__}")
        model.eval()
        with torch.no_grad():
            prediction = model(x)[:, 0]
            if isinstance(core, nn.LSTM):
                panel, label = lstm_gates(core, x)["f"], "forget gate f"
            else:
                panel, label = core(x)[0], "hidden state h"
        views["models"][name] = {"prediction": prediction.numpy(), "panel": panel.numpy(),
                                 "label": label}
    return views


def memory_view(views: dict, model: str, sequence: int) -> dict:
    """What the explorer shows for one ``model`` name and test ``sequence`` index."""
    if model not in views["models"]:
        raise ValueError(f"model must be one of {sorted(views['models'])}, got {model!r}")
    n = len(views["target"])
    if not 0 <= sequence < n:
        raise ValueError(f"sequence must be in [0, {n - 1}], got {sequence}")
    chosen = views["models"][model]
    target = float(views["target"][sequence])
    prediction = float(chosen["prediction"][sequence])
    return {"model": model, "sequence": sequence,
            "markers": np.flatnonzero(views["markers"][sequence]).tolist(),
            "values": views["values"][sequence], "target": target,
            "prediction": prediction, "squared_error": (prediction - target) ** 2,
            "panel": chosen["panel"][sequence], "panel_label": chosen["label"]}


class _Drawing:
    """One figure whose axes, ticks and labels are drawn once per model; an update redraws only
    the artists that move (the series, the markers, the panel image) onto that saved
    background ("blitting") and encodes the pixels as a PNG. A full redraw would take several
    times longer, mostly laying out tick labels."""

    def __init__(self, views: dict, dpi: int = 80):
        seq_len = views["values"].shape[1]
        fig, (top, bottom) = new_figure(nrows=2, width=8, height=4.4, sharex=True, dpi=dpi,
                                        gridspec_kw={"height_ratios": [1, 1.6]})
        t = np.arange(seq_len)
        (self.values,) = top.plot(t, np.zeros(seq_len), color="0.6", lw=0.8, label="value")
        self.marker_lines = [top.axvline(0, color=GATE_COLORS["o"], lw=1.5,
                                         label="marker" if k == 0 else None) for k in range(2)]
        (self.marker_dots,) = top.plot([0, 0], [0, 0], "o", color=GATE_COLORS["o"])
        top.set_ylim(-0.05, 1.05)
        top.set_ylabel("input value")
        top.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
        self.image = bottom.imshow(np.zeros((1, seq_len)), aspect="auto",
                                   interpolation="nearest")
        self.panel_lines = [bottom.axvline(0, color=GATE_COLORS["o"], lw=1.5) for _ in range(2)]
        bottom.set_ylabel("unit")
        bottom.set_xlabel("time step")
        self.moving = [self.values, *self.marker_lines, self.marker_dots, self.image,
                       *self.panel_lines]
        for artist in self.moving:
            artist.set_animated(True)      # left out of full draws: the background stays bare
        self.fig, self.bottom = fig, bottom
        first = next(iter(views["models"].values()))
        self._set_panel(first["label"], first["panel"].shape[2], seq_len)  # title room
        plt.close(fig)                     # we display it ourselves; pyplot must not,
        FigureCanvasAgg(fig)               # and we draw on our own pixel canvas
        fig.canvas.draw()                  # lay out once, then freeze the layout
        fig.set_layout_engine(None)
        self.backgrounds = {}
        for name, chosen in views["models"].items():   # one background per model: its own
            self._set_panel(chosen["label"], chosen["panel"].shape[2], seq_len)  # y axis
            fig.canvas.draw()
            self.backgrounds[name] = fig.canvas.copy_from_bbox(fig.bbox)

    def _set_panel(self, label: str, units: int, seq_len: int) -> None:
        is_gate = label.startswith("forget")
        self.image.set_extent((-0.5, seq_len - 0.5, units - 0.5, -0.5))
        self.bottom.set_ylim(units - 0.5, -0.5)
        self.image.set_cmap("viridis" if is_gate else "coolwarm")
        self.image.set_clim(0 if is_gate else -1, 1)
        self.bottom.set_title(f"{label} of every unit: " + (
            "yellow = 1 (keep the cell), purple = 0 (forget it)" if is_gate
            else "red = +1, blue = -1"), fontsize=9)

    def __call__(self, view: dict) -> None:
        values, markers, panel = view["values"], view["markers"], view["panel"]
        print(f"{view['model']}, test sequence {view['sequence']}: markers at steps "
              f"{markers[0]} and {markers[1]}, target {view['target']:.3f}, prediction "
              f"{view['prediction']:.3f}, squared error {view['squared_error']:.4f}")
        self._set_panel(view["panel_label"], panel.shape[1], len(values))
        self.values.set_ydata(values)
        for line, panel_line, m in zip(self.marker_lines, self.panel_lines, markers, strict=True):
            line.set_xdata([m, m])
            panel_line.set_xdata([m, m])
        self.marker_dots.set_data(markers, values[markers])
        self.image.set_data(panel.T)
        canvas = self.fig.canvas
        canvas.restore_region(self.backgrounds[view["model"]])
        for artist in self.moving:
            artist.axes.draw_artist(artist)
        png = io.BytesIO()
        PIL.Image.fromarray(np.asarray(canvas.buffer_rgba())).save(png, format="png",
                                                                  compress_level=1)
        display(Image(png.getvalue()))


def memory_explorer(views: dict) -> Explorer:
    """A slider over the test sequences and a menu of models, on precomputed ``views``."""
    names = list(views["models"])
    controls = {
        "model": widgets.Dropdown(options=names, value=names[-1], description="model"),
        "sequence": widgets.IntSlider(value=0, min=0, max=len(views["target"]) - 1,
                                      description="sequence", continuous_update=False),
    }
    return Explorer(controls, lambda model, sequence: memory_view(views, model, sequence),
                    _Drawing(views), title="Pick a model and a test sequence: what does it keep?")

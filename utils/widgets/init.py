"""Notebook 04's explorer: pick an initialisation scheme, see the weights and the gates.

For one LSTM(8, 32) and one batch of random sequences, it shows the histograms of
``weight_ih_l0`` and ``weight_hh_l0`` against the default bound 1/sqrt(H), each gate's
effective bias, and the share of each gate's values that sit in the flat tails of its
sigmoid (or tanh) as the inputs grow.
A matplotlib figure takes longer to draw than a widget may take to respond, so each scheme's
figure is drawn once, as PNG bytes, and a change of scheme only shows it.
"""

from __future__ import annotations

import html
import io
import math
from functools import lru_cache

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from torch import nn

from ..initialisation import (
    GATES,
    SCHEMES,
    gate_activations,
    gate_slice,
    init_lstm,
    saturation_stats,
)
from ..training import one_thread
from ..viz.init import histogram, plot_gate_biases, plot_histograms, plot_saturation_curves
from . import Explorer

__all__ = ["INPUT_SIZE", "SEQ_LEN", "INPUT_SCALES", "init_snapshot", "draw_snapshot",
           "init_explorer"]

INPUT_SIZE, SEQ_LEN, BATCH = 8, 30, 64
INPUT_SCALES = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


def init_snapshot(scheme: str, hidden_size: int = 32) -> dict:
    """Initialise LSTM(8, hidden_size) with ``scheme`` (seeded) and run it on 64 random
    sequences of 30 steps, N(0, 1) values times each of ``INPUT_SCALES``. Returns, as plain
    data, the histograms and stds of its layer-0 parameters, the gates' means (at scale 1)
    and saturation statistics (at every scale), and the drawn figure as PNG bytes.
    Cached: a repeated setting costs nothing."""
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; known schemes: {', '.join(SCHEMES)}")
    if isinstance(hidden_size, bool) or not isinstance(hidden_size, int) or hidden_size < 1:
        raise ValueError(f"hidden_size must be a positive int, got {hidden_size!r}")
    return _snapshot(scheme, hidden_size)


@lru_cache(maxsize=32)
def _snapshot(scheme: str, hidden_size: int) -> dict:
    torch.manual_seed(0)
    lstm = nn.LSTM(INPUT_SIZE, hidden_size, batch_first=True)
    init_lstm(lstm, scheme, t_max=SEQ_LEN if scheme == "chrono" else None,
              generator=torch.Generator().manual_seed(0))
    x = torch.randn(BATCH, SEQ_LEN, INPUT_SIZE, generator=torch.Generator().manual_seed(1))
    with one_thread():
        gates = {scale: gate_activations(lstm, scale * x)[1] for scale in INPUT_SCALES}
    bias = (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach()
    values = {"weight_ih_l0": lstm.weight_ih_l0.detach(),
              "weight_hh_l0": lstm.weight_hh_l0.detach()}
    limit = max(1.2 / math.sqrt(hidden_size), max(v.abs().max().item() for v in values.values()))
    result = {
        "scheme": scheme, "hidden_size": hidden_size, "input_scales": INPUT_SCALES,
        "default_bound": 1 / math.sqrt(hidden_size),
        "histograms": {name: histogram(v, bins=40, limit=limit) for name, v in values.items()},
        "std": {name: v.std().item() for name, v in values.items()},
        "biases": {g: bias[gate_slice(g, hidden_size)].tolist() for g in GATES},
        "gate_means": {name: g.mean().item() for name, g in gates[1.0].items()},
        "saturation": [saturation_stats(gates[scale]) for scale in INPUT_SCALES],
    }
    fig = draw_snapshot(result)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    result["png"] = buffer.getvalue()
    return result


def draw_snapshot(result: dict):
    """The figure for one snapshot: weight histograms, biases per gate, saturation."""
    # Fixed margins instead of new_figure's constrained layout: the layout solver would
    # double the drawing time, and these three panels never change their labels' sizes.
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(12.5, 3.4),
                                              gridspec_kw={"width_ratios": [1.3, 0.8, 1.1]})
    fig.subplots_adjust(left=0.05, right=0.99, bottom=0.15, top=0.91, wspace=0.25)
    for ax in (left, middle, right):
        ax.grid(alpha=0.3)
    plot_histograms(left, result["histograms"], bound=result["default_bound"])
    left.set_title(f"{result['scheme']}: layer-0 weights, H = {result['hidden_size']}",
                   fontsize=10)
    plot_gate_biases(middle, result["biases"], title="effective bias of each unit")
    plot_saturation_curves(right, result["input_scales"], result["saturation"],
                           title="gate values below 0.05 or above 0.95")
    return fig


def _summary(result: dict) -> str:
    std = ", ".join(f"{name} {value:.3f}" for name, value in result["std"].items())
    forget = sum(result["biases"]["f"]) / len(result["biases"]["f"])
    at_1 = result["saturation"][result["input_scales"].index(1.0)]
    saturated = ", ".join(f"{g} {100 * s['saturated']:.1f}%" for g, s in at_1.items())
    return (f"std: {std}   (U(±1/√H) has std {result['default_bound'] / math.sqrt(3):.3f})\n"
            f"mean forget bias {forget:+.2f}, mean forget gate {result['gate_means']['f']:.3f}; "
            f"saturated at input scale 1: {saturated}")


def init_explorer() -> Explorer:
    """A dropdown of the schemes of :func:`utils.initialisation.init_lstm`; each shows the
    histograms of the weights against ±1/sqrt(H), the biases per gate and the gate
    saturation. The four views are drawn once, when the explorer is made, so a change of
    scheme shows at once.

    The view is an ``ipywidgets.Image`` and an ``HTML`` line beside the controls, set by
    value, rather than output printed into the explorer's ``Output`` area: a notebook runner
    (nbclient) answers each output that lands in an ``Output`` widget with a message on the
    kernel's shell channel, which now and then makes it miss the end of the cell and wait for
    its full timeout (jupyter/nbclient#312). Setting widget values sends no such message.
    """
    for scheme in SCHEMES:
        init_snapshot(scheme)
    summary = widgets.HTML()
    image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))

    def render(result: dict) -> None:
        summary.value = f"<pre style='margin: 0'>{html.escape(_summary(result))}</pre>"
        image.value = result["png"]

    controls = {"scheme": widgets.Dropdown(options=list(SCHEMES), value="default",
                                           description="scheme")}
    explorer = Explorer(controls, init_snapshot, render,
                        title="Pick a scheme: weights against ±1/√H, biases, saturated gates")
    explorer.view = {"summary": summary, "image": image}
    explorer.widget.children = (*explorer.widget.children, summary, image)
    return explorer

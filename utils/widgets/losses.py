"""Notebook 06's explorer: move one outlier (or every prediction) and watch MSE, MAE, Huber.

Ten fixed targets and ten predictions close to them. One target is pulled away from its
prediction by ``outlier``; ``shift`` moves every prediction up or down; ``delta`` is Huber's
threshold between its quadratic and its linear part. The plot shows the data on the left and
each loss as a function of the outlier's distance on the right, with the current value marked.
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from IPython.display import display
from matplotlib.ticker import FormatStrFormatter, NullLocator

from ..losses import huber, mae, mse
from ..viz import GATE_COLORS, new_figure
from . import Explorer

__all__ = ["N_POINTS", "OUTLIER_INDEX", "OUTLIER_RANGE", "loss_data", "losses_for",
           "losses_explorer"]

N_POINTS, OUTLIER_INDEX = 10, 6
OUTLIER_RANGE = (0.0, 20.0)
LOSS_COLORS = {"MSE": GATE_COLORS["o"], "MAE": GATE_COLORS["i"], "Huber": GATE_COLORS["g"]}


def loss_data(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed targets (a gentle wave) and predictions within about 0.3 of them."""
    g = torch.Generator().manual_seed(seed)
    target = torch.sin(torch.linspace(0, 3, N_POINTS)) * 2 + 1
    prediction = target + 0.3 * torch.randn(N_POINTS, generator=g)
    return prediction, target


def _losses(prediction: torch.Tensor, target: torch.Tensor, delta: float) -> dict[str, float]:
    return {"MSE": float(mse(prediction, target)), "MAE": float(mae(prediction, target)),
            "Huber": float(huber(prediction, target, delta))}


def losses_for(outlier: float, shift: float, delta: float) -> dict:
    """The three losses with the outlier ``outlier`` above its prediction, every prediction
    moved by ``shift``, and Huber's ``delta``; the outlier's share of each loss's gradient;
    and each loss along the outlier's range."""
    for name, value in (("outlier", outlier), ("shift", shift), ("delta", delta)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not delta > 0:
        raise ValueError(f"delta must be > 0, got {delta}")
    prediction, target = loss_data()
    prediction = prediction + shift
    target = target.clone()
    target[OUTLIER_INDEX] = prediction[OUTLIER_INDEX] + outlier
    losses = _losses(prediction, target, delta)
    # how hard each point pulls: |d loss / d y_hat_k| is proportional to |r|, 1 and
    # min(|r|, delta) (r = y_hat - y); the outlier's share is its part of the total pull
    r = (prediction - target).abs()
    pulls = {"MSE": r, "MAE": (r > 0).to(r.dtype), "Huber": r.clamp(max=delta)}
    share = {name: float(pull[OUTLIER_INDEX] / pull.sum()) if pull.sum() > 0 else 0.0
             for name, pull in pulls.items()}
    # each loss along the slider's range: one batched computation (a row per outlier value)
    grid = torch.linspace(*OUTLIER_RANGE, 81)
    targets = target.repeat(len(grid), 1)
    targets[:, OUTLIER_INDEX] = prediction[OUTLIER_INDEX] + grid
    predictions = prediction.expand_as(targets)
    curves = {
        "MSE": mse(predictions, targets, "none").mean(1),
        "MAE": mae(predictions, targets, "none").mean(1),
        "Huber": huber(predictions, targets, delta, "none").mean(1),
    }
    return {"outlier": outlier, "shift": shift, "delta": delta, "losses": losses,
            "outlier_share": share, "prediction": prediction.tolist(), "target": target.tolist(),
            "grid": grid.tolist(), "curves": {k: v.tolist() for k, v in curves.items()}}


class _View:
    """One figure, drawn once and then updated in place (fast), shown with ``display``."""

    def __init__(self):
        self.fig, (self.ax_data, self.ax_loss) = new_figure(ncols=2, width=9.0, height=3.0)
        plt.close(self.fig)  # shown only through display(), never twice by the inline backend
        index = list(range(N_POINTS))
        self.targets, = self.ax_data.plot(index, [0] * N_POINTS, "o", color="0.2",
                                          label="target y")
        self.predictions, = self.ax_data.plot(index, [0] * N_POINTS, "s",
                                              color=GATE_COLORS["h"], label="prediction ŷ")
        self.residuals = [self.ax_data.plot([i, i], [0, 0], color="0.6", lw=1)[0]
                          for i in index]
        self.ax_data.set(xlabel="sample", ylabel="value", xticks=index,
                         ylim=(-4, OUTLIER_RANGE[1] + 4))
        self.ax_data.legend(fontsize=8, loc="upper left")
        self.lines, self.markers = {}, {}
        for name, color in LOSS_COLORS.items():
            self.lines[name], = self.ax_loss.plot([], [], color=color, label=name)
            self.markers[name], = self.ax_loss.plot([], [], "o", color=color)
        self.ax_loss.set(xlabel="outlier's distance from its prediction",
                         ylabel="loss ('mean', log scale)", xlim=OUTLIER_RANGE, yscale="log")
        self.ax_loss.legend(fontsize=8, loc="upper left")
        self.ax_loss.yaxis.set_major_formatter(FormatStrFormatter("%g"))  # no mathtext: faster
        self.ax_loss.yaxis.set_minor_locator(NullLocator())
        self.ax_loss.set_title("Huber delta = 1", fontsize=10)
        self.ax_loss.set_ylim(1e-2, 1e2)
        self.fig.draw_without_rendering()     # lay the figure out once, with titles in place,
        self.fig.set_layout_engine("none")    # then keep that layout: each redraw is cheaper

    def __call__(self, result: dict) -> None:
        index = range(N_POINTS)
        self.targets.set_ydata(result["target"])
        self.predictions.set_ydata(result["prediction"])
        for i, line in zip(index, self.residuals, strict=True):
            line.set_ydata([result["prediction"][i], result["target"][i]])
            line.set_color("red" if i == OUTLIER_INDEX else "0.6")
        values = [v for name in LOSS_COLORS for v in result["curves"][name]]
        for name in LOSS_COLORS:
            self.lines[name].set_data(result["grid"], result["curves"][name])
            self.markers[name].set_data([result["outlier"]], [result["losses"][name]])
        self.ax_loss.set_ylim(min(values) / 1.5, max(values) * 1.5)
        self.ax_loss.set_title(f"Huber delta = {result['delta']:g}", fontsize=10)
        display(self.fig)
        for name, value in result["losses"].items():
            print(f"{name:>5} = {value:8.4f}   the outlier's share of the gradient (its pull): "
                  f"{100 * result['outlier_share'][name]:5.1f} %")


def losses_explorer() -> Explorer:
    """Sliders for the outlier, a shift of every prediction, and Huber's delta."""
    def slider(description, value, low, high, step):
        return widgets.FloatSlider(value=value, min=low, max=high, step=step,
                                   description=description, continuous_update=False)
    controls = {
        "outlier": slider("outlier", 5.0, *OUTLIER_RANGE, 0.5),
        "shift": slider("shift ŷ", 0.0, -3.0, 3.0, 0.25),
        "delta": slider("Huber δ", 1.0, 0.25, 5.0, 0.25),
    }
    return Explorer(controls, losses_for, _View(),
                    title="Move the outlier: MSE grows with its square, MAE and Huber linearly")

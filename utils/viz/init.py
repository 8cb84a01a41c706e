"""Plots for notebook 04: parameter histograms, gate saturation, loss curves per scheme."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch

from . import GATE_COLORS

__all__ = ["SCHEME_COLORS", "histogram", "plot_histograms", "plot_saturation",
           "plot_gate_biases", "plot_saturation_by_scheme", "plot_saturation_curves",
           "plot_loss_curves"]

SCHEME_COLORS = {"default": "#7f7f7f", "xavier_orthogonal": "#4C72B0",
                 "forget_bias_1": "#DD8452", "chrono": "#55A868"}
_CURVE_COLORS = ("#7f7f7f", "#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3")


def histogram(values: torch.Tensor | np.ndarray, bins: int = 40,
              limit: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Density histogram of ``values`` on [-limit, limit] (default: the largest |value|)."""
    values = np.asarray(values.detach().cpu() if isinstance(values, torch.Tensor) else values,
                        dtype=np.float64).ravel()
    if values.size == 0:
        raise ValueError("cannot draw a histogram of an empty tensor")
    limit = float(np.abs(values).max()) if limit is None else float(limit)
    limit = limit if limit > 0 else 1.0
    counts, edges = np.histogram(values, bins=bins, range=(-limit, limit), density=True)
    return counts, edges


def plot_histograms(ax, histograms: Mapping[str, tuple[np.ndarray, np.ndarray]],
                    bound: float | None = None, bound_label: str = "±1/√H") -> None:
    """Step outlines of precomputed histograms, with the default bound as dashed lines."""
    colors = iter(_CURVE_COLORS[1:] + _CURVE_COLORS[:1])
    for name, (counts, edges) in histograms.items():
        ax.stairs(counts, edges, label=name, color=next(colors), linewidth=1.6)
    top = max(float(np.max(counts)) for counts, _ in histograms.values())
    ax.set_ylim(0, 1.45 * top)  # head-room for the legend
    if bound is not None:
        for sign in (-1, 1):
            ax.axvline(sign * bound, color="black", linestyle="--", linewidth=1,
                       label=bound_label if sign == 1 else None)
    ax.set_xlabel("parameter value")
    ax.set_ylabel("density")
    ax.legend(fontsize=8, loc="upper right")


def plot_saturation(ax, stats: Mapping[str, Mapping[str, float]], title: str = "") -> None:
    """Per gate: the share of values in the low tail (light) and the high tail (dark)."""
    gates = list(stats)
    low = [100 * stats[g]["low"] for g in gates]
    high = [100 * stats[g]["high"] for g in gates]
    colors = [GATE_COLORS.get(g, "#7f7f7f") for g in gates]
    ax.bar(gates, low, color=colors, alpha=0.45, label="below 0.05")
    ax.bar(gates, high, bottom=low, color=colors, label="above 0.95")
    for k, (a, b) in enumerate(zip(low, high, strict=True)):
        ax.text(k, a + b, f"{a + b:.1f}%", ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("saturated values (%)")
    ax.set_ylim(0, max(10.0, 1.2 * max(a + b for a, b in zip(low, high, strict=True))))
    ax.set_xlabel("gate (g as (g + 1) / 2)")
    if title:
        ax.set_title(title, fontsize=10)
    handles = [ax.patches[0], ax.patches[len(gates)]]
    ax.legend(handles, ["below 0.05 (light)", "above 0.95 (dark)"], fontsize=8,
              loc="upper left")


def plot_gate_biases(ax, biases: Mapping[str, Sequence[float]], title: str = "") -> None:
    """Each gate's effective biases (bias_ih + bias_hh), one dot per unit, side by side."""
    rng = np.random.default_rng(0)  # a fixed horizontal jitter, so dots do not hide each other
    for k, (gate, values) in enumerate(biases.items()):
        values = np.asarray(values, dtype=np.float64)
        ax.scatter(k + rng.uniform(-0.25, 0.25, values.size), values, s=9,
                   color=GATE_COLORS.get(gate, "#7f7f7f"))
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(biases)), list(biases))
    ax.set_xlim(-0.6, len(biases) - 0.4)
    ax.set_xlabel("gate")
    ax.set_ylabel("bias_ih + bias_hh")
    if title:
        ax.set_title(title, fontsize=10)


def plot_saturation_by_scheme(ax, stats_by_scheme: Mapping[str, Mapping[str, Mapping[str, float]]],
                              title: str = "") -> None:
    """Grouped bars: for each gate, the share of saturated values under each scheme."""
    schemes = list(stats_by_scheme)
    gates = list(next(iter(stats_by_scheme.values())))
    width = 0.8 / len(schemes)
    for k, scheme in enumerate(schemes):
        heights = [100 * stats_by_scheme[scheme][g]["saturated"] for g in gates]
        positions = np.arange(len(gates)) - 0.4 + (k + 0.5) * width
        ax.bar(positions, heights, width=width, label=scheme,
               color=SCHEME_COLORS.get(scheme, _CURVE_COLORS[k % len(_CURVE_COLORS)]))
    ax.set_xticks(range(len(gates)), gates)
    ax.set_xlabel("gate")
    ax.set_ylabel("saturated values (%)")
    ax.set_ylim(0, 100)
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper left")


def plot_saturation_curves(ax, scales: Sequence[float],
                           stats: Sequence[Mapping[str, Mapping[str, float]]],
                           title: str = "") -> None:
    """Per gate: the share of saturated values (either tail) against the input scale."""
    for gate in stats[0]:
        ax.plot(scales, [100 * s[gate]["saturated"] for s in stats], marker="o",
                color=GATE_COLORS.get(gate, "#7f7f7f"), label=gate)
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(scales), [f"{s:g}" for s in scales])
    ax.set_ylim(-3, 103)
    ax.set_xlabel("input scale (inputs are scale × N(0, 1))")
    ax.set_ylabel("saturated values (%)")
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper left", title="gate", title_fontsize=8)


def _smooth(values: Sequence[float], window: int) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    window = max(1, min(window, len(values)))
    return np.convolve(values, np.ones(window) / window, mode="valid")


def plot_loss_curves(ax, results: Sequence[Mapping[str, object]], baseline: float = 1 / 6,
                     window: int = 15) -> None:
    """One colour per scheme: each seed's smoothed training loss (thin) and their mean (thick),
    with the predict-the-mean baseline dashed. The y axis is logarithmic."""
    schemes = list(dict.fromkeys(r["scheme"] for r in results))
    for k, scheme in enumerate(schemes):
        color = SCHEME_COLORS.get(scheme, _CURVE_COLORS[k % len(_CURVE_COLORS)])
        curves = [_smooth(r["losses"], window) for r in results if r["scheme"] == scheme]
        steps = np.arange(len(curves[0])) + window
        for curve in curves:
            ax.plot(steps, curve, color=color, linewidth=0.8, alpha=0.45)
        ax.plot(steps, np.mean(curves, axis=0), color=color, linewidth=2.2,
                label=f"{scheme} (mean of {len(curves)})")
    ax.axhline(baseline, color="black", linestyle="--", linewidth=1,
               label=f"predict 1: MSE {baseline:.3f}")
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel(f"training MSE (moving mean of {window})")
    ax.legend(fontsize=8, loc="lower left")


def uniform_std(bound: float) -> float:
    """The standard deviation of U(-bound, bound): bound / sqrt(3)."""
    return bound / math.sqrt(3)

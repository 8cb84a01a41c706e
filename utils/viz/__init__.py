"""Plots for the course: one consistent look, small figures, labelled axes.

Topic modules (``utils.viz.cell`` for the drawn LSTM cell, ...) build on :func:`new_figure`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

__all__ = ["new_figure", "GATE_COLORS"]

# One colour per gate, used by every plot and drawing of the course.
GATE_COLORS = {"i": "#4C72B0", "f": "#DD8452", "g": "#55A868", "o": "#C44E52",
               "c": "#8172B3", "h": "#937860"}


def new_figure(ncols: int = 1, nrows: int = 1, width: float = 6.4, height: float = 3.2,
               **kwargs):
    """A figure with the course's defaults (constrained layout, light grid)."""
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), layout="constrained",
                             **kwargs)
    for ax in (axes.flat if hasattr(axes, "flat") else [axes]):
        ax.grid(alpha=0.3)
    return fig, axes

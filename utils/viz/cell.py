"""The LSTM cell, drawn: four gates, the cell-state line across the top, the hidden output.

``draw_lstm_cell()`` follows PyTorch's equations (notebook 01): ``x_t`` and ``h_{t-1}`` feed
the four gates i, f, g, o (coloured as everywhere in the course, ``GATE_COLORS``); the cell
state runs along the top, is scaled by ``f`` (x) and receives ``i * g`` (+); the hidden
output is ``o * tanh(c_t)``.
"""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from . import GATE_COLORS, new_figure

__all__ = ["draw_lstm_cell"]

LINE = "#444444"
Y_CELL, Y_BUS, Y_GATE, Y_MIX = 5.4, 1.0, 2.6, 4.2   # heights of the lines, gates and products
X_GATE = {"f": 2.4, "i": 3.9, "g": 5.4, "o": 7.1}   # each gate's column
X_TANH = 8.7                                          # column of tanh(c_t) and of h_t


def _line(ax, points, color=LINE, arrow=True, width=1.6):
    """A polyline through ``points``; the last segment ends in an arrow head."""
    xs, ys = zip(*points, strict=True)
    ax.plot(xs[:-1], ys[:-1], color=color, lw=width, solid_capstyle="round", zorder=1)
    ax.add_patch(FancyArrowPatch(points[-2], points[-1], color=color, lw=width, zorder=1,
                                 arrowstyle="-|>" if arrow else "-", mutation_scale=12,
                                 shrinkA=0, shrinkB=0))


def _gate(ax, key, x, label, name):
    ax.add_patch(FancyBboxPatch((x - 0.5, Y_GATE - 0.4), 1.0, 0.8, zorder=3,
                                boxstyle="round,pad=0.02,rounding_size=0.15",
                                facecolor=GATE_COLORS[key], edgecolor="white"))
    ax.text(x, Y_GATE, label, color="white", ha="center", va="center", fontsize=11,
            fontweight="bold", zorder=4)
    ax.text(x + 0.12, Y_GATE + 0.78, f"${key}_t$", color=GATE_COLORS[key], fontsize=12,
            ha="left", va="bottom", zorder=4)
    ax.text(x + 0.12, Y_GATE + 0.5, name, color=GATE_COLORS[key], fontsize=8, ha="left",
            va="bottom", zorder=4)


def _node(ax, x, y, symbol, color=LINE):
    ax.add_patch(Circle((x, y), 0.27, facecolor="white", edgecolor=color, lw=1.6, zorder=3))
    ax.text(x, y, symbol, ha="center", va="center", fontsize=13, color=color, zorder=4)


def draw_lstm_cell(ax=None):
    """Draw one LSTM step on ``ax`` (a new figure if ``None``); return ``(figure, ax)``."""
    if ax is None:
        fig, ax = new_figure(width=7.6, height=4.6)
    elif isinstance(ax, Axes):
        fig = ax.figure
    else:
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    ax.set_xlim(-1.4, 12.8)
    ax.set_ylim(-1.2, 6.7)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.add_patch(FancyBboxPatch((0.6, 0.2), 9.8, 6.0, boxstyle="round,pad=0,rounding_size=0.5",
                                facecolor="#F4F4F4", edgecolor="#BBBBBB", zorder=0))
    c, h = GATE_COLORS["c"], GATE_COLORS["h"]

    # The cell state: across the top, scaled by f, then i * g is added.
    _line(ax, [(-0.8, Y_CELL), (X_GATE["f"] - 0.27, Y_CELL)], c, width=3)
    _line(ax, [(X_GATE["f"] + 0.27, Y_CELL), (X_GATE["g"] - 0.27, Y_CELL)], c, width=3)
    _line(ax, [(X_GATE["g"] + 0.27, Y_CELL), (11.6, Y_CELL)], c, width=3)
    ax.text(-0.9, Y_CELL + 0.3, "$c_{t-1}$", color=c, fontsize=13, ha="left", va="bottom")
    ax.text(11.6, Y_CELL + 0.3, "$c_t$", color=c, fontsize=13, ha="right", va="bottom")

    # The inputs: x_t from below joins h_{t-1}; the pair feeds every gate.
    _line(ax, [(-0.8, Y_BUS), (X_GATE["o"], Y_BUS)], h, arrow=False)
    _line(ax, [(1.4, -0.8), (1.4, Y_BUS - 0.02)], LINE, arrow=False)
    ax.plot([1.4], [Y_BUS], "o", color=LINE, ms=5, zorder=2)
    ax.text(-0.9, Y_BUS + 0.15, "$h_{t-1}$", color=h, fontsize=13, ha="left", va="bottom")
    ax.text(1.55, -0.85, "$x_t$", fontsize=13, ha="left", va="bottom")
    for x in X_GATE.values():
        _line(ax, [(x, Y_BUS), (x, Y_GATE - 0.42)])
    for key, label, name in (("f", "σ", "forget"), ("i", "σ", "input"),
                             ("g", "tanh", "candidate"), ("o", "σ", "output")):
        _gate(ax, key, X_GATE[key], label, name)

    # f scales the old cell state; i * g is written into it.
    _line(ax, [(X_GATE["f"], Y_GATE + 0.42), (X_GATE["f"], Y_CELL - 0.29)], GATE_COLORS["f"])
    _node(ax, X_GATE["f"], Y_CELL, "×", c)
    _line(ax, [(X_GATE["i"], Y_GATE + 0.42), (X_GATE["i"], Y_MIX), (X_GATE["g"] - 0.29, Y_MIX)],
          GATE_COLORS["i"])
    _line(ax, [(X_GATE["g"], Y_GATE + 0.42), (X_GATE["g"], Y_MIX - 0.29)], GATE_COLORS["g"])
    _node(ax, X_GATE["g"], Y_MIX, "×")
    _line(ax, [(X_GATE["g"], Y_MIX + 0.27), (X_GATE["g"], Y_CELL - 0.29)])
    _node(ax, X_GATE["g"], Y_CELL, "+", c)

    # The hidden output: o * tanh(c_t), out to the right (next step) and up (the output).
    _line(ax, [(X_TANH, Y_CELL), (X_TANH, Y_MIX + 0.32)], c)
    ax.add_patch(FancyBboxPatch((X_TANH - 0.45, Y_MIX - 0.28), 0.9, 0.56, zorder=3,
                                boxstyle="round,pad=0,rounding_size=0.28",
                                facecolor="white", edgecolor=c, lw=1.6))
    ax.text(X_TANH, Y_MIX, "tanh", ha="center", va="center", fontsize=9, color=c, zorder=4)
    _line(ax, [(X_TANH, Y_MIX - 0.28), (X_TANH, Y_GATE + 0.29)], c)
    _line(ax, [(X_GATE["o"] + 0.5, Y_GATE), (X_TANH - 0.29, Y_GATE)], GATE_COLORS["o"])
    _node(ax, X_TANH, Y_GATE, "×")
    _line(ax, [(X_TANH, Y_GATE - 0.27), (X_TANH, Y_BUS), (11.6, Y_BUS)], h, width=2.2)
    _line(ax, [(9.8, Y_BUS), (9.8, -0.8)], h, width=2.2)
    ax.plot([9.8], [Y_BUS], "o", color=h, ms=5, zorder=2)
    ax.text(11.6, Y_BUS + 0.15, "$h_t$", color=h, fontsize=13, ha="right", va="bottom")
    ax.text(9.95, -0.85, "$h_t$ = output[t]", color=h, fontsize=11, ha="left", va="bottom")
    return fig, ax

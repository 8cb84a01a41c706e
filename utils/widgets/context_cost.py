"""Notebook 19's explorer: the measured cost of generating one character as the context grows,
for an LSTM, a Transformer that recomputes its whole context, and one with a key-value cache.

The times and state sizes are measured once in the notebook; moving the slider only looks
them up and moves the markers of a figure drawn once.
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import display
from matplotlib.ticker import FormatStrFormatter, NullLocator

from ..viz import GATE_COLORS, new_figure
from . import Explorer

__all__ = ["cost_view", "context_cost_explorer"]

COLORS = (GATE_COLORS["i"], GATE_COLORS["o"], GATE_COLORS["g"], GATE_COLORS["c"])


def _check_table(name: str, table: object, contexts: list | None = None) -> dict:
    """``table`` must be ``{method: {context: positive number or None}}`` (``None``: not
    measured there), every method listing the same contexts (``contexts``, if given).
    A wrong type raises ``TypeError``, a wrong value ``ValueError``."""
    if not isinstance(table, dict):
        raise TypeError(f"{name} must be a dict method -> {{context: value}}, got "
                        f"{type(table).__name__}")
    if not table:
        raise ValueError(f"{name} must be a non-empty dict method -> {{context: value}}, "
                         f"got {table!r}")
    for method, row in table.items():
        if not isinstance(row, dict):
            raise TypeError(f"{name}[{method!r}] must be a dict context -> value, got "
                            f"{type(row).__name__}")
        if not row:
            raise ValueError(f"{name}[{method!r}] must be a non-empty dict context -> value, "
                             f"got {row!r}")
        if any(isinstance(c, bool) or not isinstance(c, int) for c in row):
            raise TypeError(f"{name}[{method!r}]: contexts must be ints >= 1, got "
                            f"{[type(c).__name__ for c in row]}")
        if any(c < 1 for c in row):
            raise ValueError(f"{name}[{method!r}]: contexts must be ints >= 1, got "
                             f"{sorted(row)}")
        if any(v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)))
               for v in row.values()):
            raise TypeError(f"{name}[{method!r}]: values must be numbers > 0 (or None: not "
                            f"measured), got {[type(v).__name__ for v in row.values()]}")
        if any(v is not None and not v > 0 for v in row.values()):
            raise ValueError(f"{name}[{method!r}]: values must be numbers > 0 (or None: not "
                             f"measured), got {list(row.values())}")
        expected = contexts if contexts is not None else sorted(next(iter(table.values())))
        if sorted(row) != expected:
            raise ValueError(f"{name}[{method!r}] is measured at contexts {sorted(row)}, the "
                             f"others at {expected}")
    return table


def cost_view(ms_per_char: dict, state_floats: dict, context: int) -> dict:
    """What was measured at ``context``: each method's milliseconds per generated character
    (``None`` where it was not timed), its ratio to the first method's, and the numbers its
    state holds."""
    _check_table("ms_per_char", ms_per_char)
    contexts = sorted(next(iter(ms_per_char.values())))
    _check_table("state_floats", state_floats, contexts)
    if set(state_floats) != set(ms_per_char):
        raise ValueError(f"state_floats must have the methods of ms_per_char, "
                         f"{sorted(ms_per_char)}, got {sorted(state_floats)}")
    if isinstance(context, bool) or not isinstance(context, int):
        raise TypeError(f"context must be an int, one of {contexts}, got "
                        f"{type(context).__name__} ({context!r})")
    if context not in contexts:
        raise ValueError(f"context {context!r} was not measured; measured: {contexts}")
    first = next(iter(ms_per_char))
    if any(v is None for v in ms_per_char[first].values()):
        raise ValueError(f"ms_per_char[{first!r}], the reference of the ratios, must be "
                         "measured at every context")
    ms = {method: row[context] for method, row in ms_per_char.items()}
    return {"context": context, "contexts": contexts, "ms": ms,
            "ratio": {method: None if value is None else value / ms[first]
                      for method, value in ms.items()},
            "floats": {method: state_floats[method][context] for method in ms_per_char},
            "curves": {method: [row[c] for c in contexts] for method, row in ms_per_char.items()}}


class _View:
    """The three measured curves, drawn once; each update moves a marker on each."""

    def __init__(self, ms_per_char: dict):
        contexts = sorted(next(iter(ms_per_char.values())))
        self.fig, self.ax = new_figure(width=6.4, height=3.0)
        plt.close(self.fig)   # shown only through display(), never twice by the inline backend
        self.markers = {}
        for (method, row), color in zip(ms_per_char.items(), COLORS, strict=False):
            timed = [c for c in contexts if row[c] is not None]
            self.ax.plot(timed, [row[c] for c in timed], "o-", ms=3, color=color,
                         label=method)
            self.markers[method], = self.ax.plot([], [], "o", ms=9, color=color, alpha=0.6)
        self.line = self.ax.axvline(contexts[0], color="0.5", lw=1, ls=":")
        self.ax.set(xscale="log", yscale="log", xlabel="context length (characters)",
                    ylabel="ms per generated character")
        for axis in (self.ax.xaxis, self.ax.yaxis):
            axis.set_major_formatter(FormatStrFormatter("%g"))   # no mathtext: faster
            axis.set_minor_locator(NullLocator())
        self.ax.set_xticks(contexts)
        self.ax.legend(fontsize=8, loc="upper left")
        self.fig.draw_without_rendering()
        self.fig.set_layout_engine("none")

    def __call__(self, view: dict) -> None:
        context = view["context"]
        for method, marker in self.markers.items():
            ms = view["ms"][method]
            marker.set_data([] if ms is None else [context], [] if ms is None else [ms])
        self.line.set_xdata([context, context])
        display(self.fig)
        for method, ms in view["ms"].items():
            timing = "not timed here" if ms is None else \
                f"{ms:8.3f} ms per character ({view['ratio'][method]:6.1f}x)"
            print(f"{method:<24}{timing:<40} keeps {view['floats'][method]:>10,} numbers")


def context_cost_explorer(ms_per_char: dict, state_floats: dict) -> Explorer:
    """A slider over the measured context lengths (no timing happens on a change)."""
    contexts = sorted(next(iter(_check_table("ms_per_char", ms_per_char).values())))
    cost_view(ms_per_char, state_floats, contexts[0])          # checks both tables
    slider = widgets.SelectionSlider(options=contexts, value=contexts[len(contexts) // 2],
                                     description="context", continuous_update=False)
    return Explorer({"context": slider},
                    lambda context: cost_view(ms_per_char, state_floats, context),
                    _View(ms_per_char),
                    title="Cost of one more character, as the context grows")

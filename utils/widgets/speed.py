"""Notebook 14's explorer: pick which size to vary (T, B or H) and a value from the measured
grid; see nn.LSTM's and the scripted scratch loop's forward times and their ratio.

The times are measured once in the notebook; moving a control only looks them up.
"""

from __future__ import annotations

import ipywidgets as widgets

from . import Explorer

__all__ = ["speed_view", "speed_explorer"]


def _check_grid(grid: object) -> dict:
    if not isinstance(grid, dict) or not grid:
        raise ValueError(f"grid must be a non-empty dict axis -> {{size: (lstm_ms, loop_ms)}}, "
                         f"got {grid!r}")
    for axis, row in grid.items():
        if not isinstance(row, dict) or not row:
            raise ValueError(f"grid[{axis!r}] must be a non-empty dict size -> "
                             f"(lstm_ms, loop_ms), got {row!r}")
    return grid


def speed_view(grid: dict, axis: str, size: int) -> dict:
    """The measured times at ``grid[axis][size]`` and their ratio."""
    _check_grid(grid)
    if axis not in grid:
        raise ValueError(f"axis must be one of {sorted(grid)}, got {axis!r}")
    if size not in grid[axis]:
        raise ValueError(f"{axis} = {size!r} was not measured; measured: {sorted(grid[axis])}")
    lstm_ms, loop_ms = grid[axis][size]
    return {"axis": axis, "size": size, "lstm_ms": lstm_ms, "loop_ms": loop_ms,
            "ratio": loop_ms / lstm_ms}


def _render(view: dict) -> None:
    bar = "#" * max(1, round(10 * view["ratio"]))
    print(f"{view['axis']} = {view['size']}: nn.LSTM {view['lstm_ms']:.2f} ms, scripted "
          f"scratch loop {view['loop_ms']:.2f} ms, ratio {view['ratio']:.2f}x  {bar}")


def speed_explorer(grid: dict) -> Explorer:
    """An explorer over a grid measured by the notebook (no timing happens on a change)."""
    _check_grid(grid)
    axes = list(grid)
    axis = widgets.Dropdown(options=axes, value=axes[0], description="vary")
    size = widgets.SelectionSlider(options=sorted(grid[axes[0]]), description="size")

    def follow(change) -> None:           # the slider offers the sizes measured on that axis
        size.options = sorted(grid[change["new"]])
    axis.observe(follow, names="value")
    return Explorer({"axis": axis, "size": size},
                    lambda axis, size: speed_view(grid, axis, size), _render,
                    title="Forward time: nn.LSTM against the scripted scratch loop")

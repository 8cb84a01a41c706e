"""Interactive explorers, one module per notebook, all built on :class:`Explorer`.

An explorer keeps its controls in ``.controls`` and the outcome of the last update as
plain data in ``.result``, so a test can set ``explorer.controls["batch"].value = 4`` and
assert on ``explorer.result`` without a browser. ``.last_update_seconds`` says how long
that update took; every update must stay well under half a second.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as widgets
from IPython.display import display

__all__ = ["Explorer"]


class Explorer:
    """Controls + a function of their values + a view of what the function returned.

    ``compute(**values)`` returns the result (plain data: shapes, numbers, arrays);
    ``render(result)`` shows it (print or draw) inside the explorer's output area.
    """

    def __init__(self, controls: Mapping[str, widgets.ValueWidget],
                 compute: Callable[..., Any], render: Callable[[Any], None],
                 title: str = ""):
        if not controls:
            raise ValueError("an Explorer needs at least one control")
        self.controls = dict(controls)
        self.compute = compute
        self.render = render
        self.output = widgets.Output()
        self.result: Any = None
        self.last_update_seconds = 0.0
        header = [widgets.HTML(f"<b>{title}</b>")] if title else []
        # The controls keep their width; a wide drawing scrolls instead of covering them.
        controls_box = widgets.VBox(list(self.controls.values()),
                                    layout=widgets.Layout(flex="0 0 auto"))
        self.output.layout.overflow = "auto"
        self.widget = widgets.VBox([*header, widgets.HBox([controls_box, self.output])])
        for control in self.controls.values():
            control.observe(self.update, names="value")
        self.update()

    def values(self) -> dict[str, Any]:
        return {name: control.value for name, control in self.controls.items()}

    def update(self, _change: Any = None) -> None:
        started = time.perf_counter()
        self.result = self.compute(**self.values())
        self.output.clear_output(wait=True)
        with self.output:
            self.render(self.result)
        self.last_update_seconds = time.perf_counter() - started

    def _ipython_display_(self) -> None:
        display(self.widget)

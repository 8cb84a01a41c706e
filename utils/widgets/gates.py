"""Notebook 01's explorer: move the four gate pre-activations of a 1-unit cell, watch c and h.

A gate's pre-activation is its row of ``W_ih x + b_ih + W_hh h + b_hh``. Here a real
``nn.LSTMCell(1, 1)`` gets zero weights and these pre-activations as its bias, so the sliders
set them directly; ``c_prev`` is the cell state it starts from. The bars (HTML, so that an
update shows at once) give the gates ``i, f, g, o`` and how ``c_t = f * c_prev + i * g`` and
``h_t = o * tanh(c_t)`` come about.
"""

from __future__ import annotations

import math

import ipywidgets as widgets
import torch
from IPython.display import HTML, display
from torch import nn

from ..viz import GATE_COLORS
from . import Explorer

__all__ = ["PRE_ACTIVATION_RANGE", "C_PREV_RANGE", "gate_values", "gates_html",
           "gates_explorer"]

PRE_ACTIVATION_RANGE = (-6.0, 6.0)
C_PREV_RANGE = (-2.0, 2.0)
STATE_LIMIT = C_PREV_RANGE[1] + 1   # |c_t| <= |c_prev| + 1, since f, i in (0, 1), |g| < 1

with torch.random.fork_rng(devices=[]):   # importing this module leaves the RNG alone
    _cell = nn.LSTMCell(1, 1).double()     # one unit: its weights are zeroed, its bias is set
with torch.no_grad():
    _cell.weight_ih.zero_()
    _cell.weight_hh.zero_()
    _cell.bias_hh.zero_()


def gate_values(z_i: float, z_f: float, z_g: float, z_o: float, c_prev: float) -> dict:
    """One step of a real ``nn.LSTMCell(1, 1)`` whose gate pre-activations are ``z_*``."""
    for name, value in (("z_i", z_i), ("z_f", z_f), ("z_g", z_g), ("z_o", z_o),
                        ("c_prev", c_prev)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must be a number, got {type(value).__name__} ({value!r})")
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}")
    with torch.no_grad():
        _cell.bias_ih.copy_(torch.tensor([z_i, z_f, z_g, z_o], dtype=torch.float64))
        h, c = _cell(torch.zeros(1, 1, dtype=torch.float64),
                     (torch.zeros(1, 1, dtype=torch.float64),
                      torch.tensor([[c_prev]], dtype=torch.float64)))
    sigmoid = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    i, f, g, o = sigmoid(z_i), sigmoid(z_f), math.tanh(z_g), sigmoid(z_o)
    return {"i": i, "f": f, "g": g, "o": o, "c_prev": float(c_prev),
            "f*c_prev": f * c_prev, "i*g": i * g, "c": float(c), "h": float(h)}


def _number(value: float, style: str = "plain") -> str:
    """Three decimals, never "-0.000"; style "signed" adds "+", "factor" puts a negative number
    in parentheses, as in 0.5·(-1.000)."""
    value = 0.0 if abs(value) < 5e-4 else value
    if style == "signed":
        return f"{value:+.3f}"
    return f"({value:.3f})" if style == "factor" and value < 0 else f"{value:.3f}"


def _bar_row(label: str, value: float, limit: float, color: str) -> str:
    """One labelled horizontal bar on a track from -limit to +limit, zero in the middle."""
    share = max(-1.0, min(1.0, value / limit)) * 50                 # percent of the track
    left, width = (50, share) if share >= 0 else (50 + share, -share)
    return (f'<div style="display:flex;align-items:center;margin:2px 0">'
            f'<span style="width:150px">{label}</span>'
            f'<span style="position:relative;width:300px;height:16px;background:#F0F0F0">'
            f'<span style="position:absolute;left:50%;top:0;bottom:0;width:1px;'
            f'background:#555"></span><span style="position:absolute;top:2px;height:12px;'
            f'left:{left:.2f}%;width:{width:.2f}%;background:{color}"></span></span>'
            f'<span style="width:64px;text-align:right">{_number(value, "signed")}</span>'
            f'</div>')


def gates_html(result: dict) -> str:
    """The gates and the cell update of ``result`` as HTML bars, with the arithmetic spelled out.

    HTML, not a matplotlib figure, so that an update shows in milliseconds."""
    gate_rows = [("i  input gate", "i"), ("f  forget gate", "f"), ("g  candidate", "g"),
                 ("o  output gate", "o")]
    state_rows = [("c<sub>t-1</sub>", "c_prev", "#999999"),
                  ("f·c<sub>t-1</sub>  kept", "f*c_prev", GATE_COLORS["f"]),
                  ("i·g  written", "i*g", GATE_COLORS["i"]),
                  ("c<sub>t</sub>", "c", GATE_COLORS["c"]), ("h<sub>t</sub>", "h", GATE_COLORS["h"])]
    r = {key: _number(value) for key, value in result.items()}
    factor = {key: _number(result[key], "factor") for key in ("c_prev", "g")}
    return "".join([
        '<div style="font-family:monospace;font-size:13px">',
        "<b>gates</b> (i, f, o in (0, 1); g in (-1, 1))",
        *(_bar_row(label, result[key], 1.0, GATE_COLORS[key]) for label, key in gate_rows),
        f"<b>cell update</b> (bars from -{STATE_LIMIT:g} to +{STATE_LIMIT:g})",
        *(_bar_row(label, result[key], STATE_LIMIT, color) for label, key, color in state_rows),
        f'<div style="margin-top:6px">c<sub>t</sub> = f·c<sub>t-1</sub> + i·g = '
        f'{r["f"]}·{factor["c_prev"]} + {r["i"]}·{factor["g"]} = {r["c"]}<br>'
        f'h<sub>t</sub> = o·tanh(c<sub>t</sub>) = {r["o"]}·tanh({r["c"]}) = {r["h"]}</div>'
        '</div>'])


def _show(result: dict) -> None:
    display(HTML(gates_html(result)))


def gates_explorer() -> Explorer:
    """Sliders for the four pre-activations and the previous cell state of one unit."""
    def slider(description, value, bounds):
        return widgets.FloatSlider(value=value, min=bounds[0], max=bounds[1], step=0.25,
                                   description=description, continuous_update=False)
    controls = {"z_i": slider("z_i (input)", 0.0, PRE_ACTIVATION_RANGE),
                "z_f": slider("z_f (forget)", 2.0, PRE_ACTIVATION_RANGE),
                "z_g": slider("z_g (cand.)", 1.0, PRE_ACTIVATION_RANGE),
                "z_o": slider("z_o (output)", 0.0, PRE_ACTIVATION_RANGE),
                "c_prev": slider("c_prev", 1.0, C_PREV_RANGE)}
    return Explorer(controls, gate_values, _show,
                    title="One unit, one step: set the gates' pre-activations")

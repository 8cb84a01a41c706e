"""Notebook 02's explorer: every tensor shape of an ``nn.LSTM``, from a real forward pass.

``lstm_shapes(...)`` builds the LSTM and a linear head, runs them once on a small input and
returns the shapes of ``input``, ``output``, ``h_n``, ``c_n`` and ``head output`` (a
``Linear(D * H_out, 1)`` on the last time step), with the name of each dimension. A
combination ``nn.LSTM`` refuses (``proj_size >= hidden_size``) comes back as torch's own
message in ``result["error"]``. ``shape_explorer()`` puts sliders and toggles on it; it prints
one line per tensor, e.g. ``output: (3, 5, 40)``, and draws each tensor as a box whose edges are
proportional to its dimensions (SVG: cheap enough for every slider move).
"""

from __future__ import annotations

import html
import warnings

import ipywidgets as widgets
import torch
from IPython.display import SVG, display
from torch import nn

from ..training import check_int, one_thread
from ..viz import GATE_COLORS
from . import Explorer

__all__ = ["SHAPE_NAMES", "lstm_shapes", "shapes_svg", "shape_explorer"]

SHAPE_NAMES = ("input", "output", "h_n", "c_n", "head output")
_COLORS = {"input": "#8C8C8C", "output": GATE_COLORS["h"], "h_n": GATE_COLORS["h"],
           "c_n": GATE_COLORS["c"], "head output": GATE_COLORS["o"]}


def _check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__} ({value!r})")
    return value


def lstm_shapes(batch: int, seq_len: int, input_size: int, hidden_size: int, num_layers: int,
                batch_first: bool, bidirectional: bool, proj_size: int) -> dict:
    """Run ``nn.LSTM`` (and a head on its last step) once; return the shapes it produced.

    ``result["shapes"]`` maps each of :data:`SHAPE_NAMES` to a tuple, ``result["dims"]`` to
    the name of each dimension; ``result["error"]`` is ``None`` or torch's message (then
    ``shapes`` and ``dims`` are empty).
    """
    for name, value in [("batch", batch), ("seq_len", seq_len), ("input_size", input_size),
                        ("hidden_size", hidden_size), ("num_layers", num_layers)]:
        check_int(name, value, 1)
    check_int("proj_size", proj_size, 0)
    _check_bool("batch_first", batch_first)
    _check_bool("bidirectional", bidirectional)
    # a private random stream: moving a slider must not shift the notebook's random numbers
    with torch.random.fork_rng(devices=[]), torch.no_grad(), one_thread(), \
            warnings.catch_warnings():
        torch.manual_seed(0)
        try:
            lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=batch_first,
                           bidirectional=bidirectional, proj_size=proj_size)
        except ValueError as error:  # e.g. proj_size >= hidden_size: torch's own words
            return {"shapes": {}, "dims": {}, "error": f"ValueError: {error}"}
        x = torch.randn(*((batch, seq_len) if batch_first else (seq_len, batch)), input_size)
        warnings.filterwarnings("ignore", message="LSTM with projections is not supported")
        output, (h_n, c_n) = lstm(x)
        last_step = output[:, -1] if batch_first else output[-1]
        head_output = nn.Linear(output.shape[-1], 1)(last_step)
    outer = ("batch", "seq_len") if batch_first else ("seq_len", "batch")
    tensors = {"input": x, "output": output, "h_n": h_n, "c_n": c_n,
               "head output": head_output}
    dims = {"input": (*outer, "input_size"), "output": (*outer, "D*H_out"),
            "h_n": ("D*num_layers", "batch", "H_out"),
            "c_n": ("D*num_layers", "batch", "hidden_size"),
            "head output": ("batch", "output_size")}
    return {"shapes": {name: tuple(t.shape) for name, t in tensors.items()}, "dims": dims,
            "error": None}


def _text_width(text: str, size: float = 10) -> float:
    return 0.6 * size * len(text)  # a fair estimate for a sans-serif font


def _box(name: str, shape: tuple[int, ...], dims: tuple[str, ...], left: float, base: float,
         scale: float, depth_scale: float) -> tuple[list[str], float]:
    """SVG elements of one tensor drawn as a box whose front face has width = last dim and
    height = the dim before it; a 3-D tensor's first dim is the oblique depth (a stack of
    such faces). ``base`` is the y of the front face's bottom. Returns elements, right edge."""
    *rest, width_dim = shape
    height_dim = rest[-1] if rest else 1
    depth_dim = rest[0] if len(rest) == 2 else 0
    w, h, d = width_dim * scale, height_dim * scale, depth_dim * depth_scale
    side_label = f"{dims[-2]} {height_dim}" if rest else ""
    x0, y0 = left + _text_width(side_label) + 6, base - h  # front face, top-left corner
    color = _COLORS[name]
    parts = [f'<text x="{left}" y="{base - h - d - 8}" font-size="11" font-weight="bold" '
             f'fill="#222">{html.escape(f"{name} {shape}")}</text>']
    right = max(x0 + w + d, left + _text_width(f"{name} {shape}", 11))
    if d:
        parts.append(f'<polygon points="{x0},{y0} {x0 + d},{y0 - d} {x0 + w + d},{y0 - d} '
                     f'{x0 + w},{y0}" fill="{color}" fill-opacity="0.35" stroke="{color}"/>')
        parts.append(f'<polygon points="{x0 + w},{y0} {x0 + w + d},{y0 - d} '
                     f'{x0 + w + d},{y0 - d + h} {x0 + w},{y0 + h}" fill="{color}" '
                     f'fill-opacity="0.55" stroke="{color}"/>')
        depth_label = f"{dims[0]} {depth_dim}"
        parts.append(f'<text x="{x0 + w + d + 4}" y="{y0 - d / 2 + 3}" font-size="10" '
                     f'fill="#333">{html.escape(depth_label)}</text>')
        right = max(right, x0 + w + d + 4 + _text_width(depth_label))
    parts.append(f'<rect x="{x0}" y="{y0}" width="{w}" height="{h}" fill="{color}" '
                 f'fill-opacity="0.8" stroke="{color}"/>')
    bottom_label = f"{dims[-1]} {width_dim}"
    parts.append(f'<text x="{x0 + w / 2}" y="{base + 13}" font-size="10" fill="#333" '
                 f'text-anchor="middle">{html.escape(bottom_label)}</text>')
    right = max(right, x0 + w / 2 + _text_width(bottom_label) / 2)
    if side_label:
        parts.append(f'<text x="{x0 - 4}" y="{y0 + h / 2 + 3}" font-size="10" fill="#333" '
                     f'text-anchor="end">{html.escape(side_label)}</text>')
    return parts, right


def shapes_svg(result: dict, max_face_width: float = 120.0) -> str:
    """An SVG drawing of the result of :func:`lstm_shapes`: one box per tensor (the input and
    output in one row, the states and the head's output in the next), edges proportional to
    the dimensions, on one scale for every tensor of the drawing."""
    if not isinstance(result, dict) or "shapes" not in result:
        raise TypeError("expected the dict returned by lstm_shapes")
    shapes, dims = result["shapes"], result["dims"]
    if not shapes:
        return ""
    scale = min(10.0, max_face_width / max(s[-1] for s in shapes.values()))
    depth_scale = 0.6 * scale
    parts, width, top = [], 0.0, 0.0
    for row in (("input", "output"), ("h_n", "c_n", "head output")):
        depth = max((shapes[n][0] for n in row if len(shapes[n]) == 3), default=0) * depth_scale
        height = max(shapes[n][-2] for n in row) * scale
        base, left = top + 26 + depth + height, 4.0
        for name in row:
            elements, right = _box(name, shapes[name], dims[name], left, base, scale,
                                   depth_scale)
            parts += elements
            left = right + 28
        width, top = max(width, left), base + 22
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
            f'height="{top:.0f}" font-family="sans-serif">' + "".join(parts) + "</svg>")


def _show(result: dict) -> None:
    if result["error"]:
        print(result["error"])
        return
    for name, shape in result["shapes"].items():
        print(f"{name}: {shape}")
    display(SVG(shapes_svg(result)))


def shape_explorer() -> Explorer:
    """Sliders and toggles for every size and flag of ``nn.LSTM``; after each change, the
    shapes of a real forward pass, one line per tensor, and a drawing of the tensors."""
    def slider(key, value, low, high):
        return widgets.IntSlider(value=value, min=low, max=high, description=key,
                                 continuous_update=False)

    def toggle(key, value):
        return widgets.Checkbox(value=value, description=key, indent=False)

    controls = {
        "batch": slider("batch", 3, 1, 8), "seq_len": slider("seq_len", 5, 1, 10),
        "input_size": slider("input_size", 10, 1, 16),
        "hidden_size": slider("hidden_size", 20, 1, 32),
        "num_layers": slider("num_layers", 2, 1, 3),
        "batch_first": toggle("batch_first", True),
        "bidirectional": toggle("bidirectional", False),
        "proj_size": slider("proj_size", 0, 0, 32),
    }
    explorer = Explorer(controls, lstm_shapes, _show,
                        title="nn.LSTM shapes: move a control, a real forward pass answers")
    return explorer

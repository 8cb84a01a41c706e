"""Notebook 03's explorer: how long an LSTM remembers its initial state.

One small LSTM (1 input, 8 hidden units, fixed seed) reads one input signal four times, each
time from a different initial state ``(h0, c0)``:

- ``zeros``    what ``nn.LSTM`` uses when you pass nothing;
- ``random``   ``h0, c0 ~ scale * N(0, 1)``;
- ``large``    a saturated state: ``h0 = +-1`` (the most ``h`` can be), ``c0 = +-5``;
- ``carried``  the state the LSTM itself reached after reading 50 earlier steps of the same
               signal: what a stateful run carries in.

``state_trajectories(...)`` returns ``h`` and ``c`` of one unit over time for each initial
state, and the gap ``max over units |h - h_zeros|`` per step, which shows the initial state
being forgotten at the pace the forget gate sets. ``state_explorer()`` plots them.
"""

from __future__ import annotations

import html
import math

import ipywidgets as widgets
import numpy as np
import torch
from IPython.display import SVG, display
from matplotlib.ticker import MaxNLocator
from torch import nn

from ..training import one_thread
from ..viz import GATE_COLORS
from . import Explorer

__all__ = ["INITIAL_STATES", "SIGNALS", "HIDDEN_SIZE", "WARM_UP_STEPS", "FORGET_TOLERANCE",
           "make_cell", "input_signal", "state_trajectories", "trajectories_svg",
           "state_explorer"]

INITIAL_STATES = ("zeros", "random", "large", "carried")
SIGNALS = ("sine", "square", "noise", "silence")
HIDDEN_SIZE = 8
WARM_UP_STEPS = 50
FORGET_TOLERANCE = 1e-2  # "forgotten": every unit of h within this of the zero-start run
_COLORS = {"zeros": "#222222", "random": GATE_COLORS["i"], "large": GATE_COLORS["o"],
           "carried": GATE_COLORS["g"]}


def _check_number(name: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} ({value!r})")
    if not (low <= value <= high) or math.isnan(value):
        raise ValueError(f"{name} must be in [{low}, {high}], got {value}")
    return float(value)


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value}")
    return value


def make_cell(forget_bias: float = 0.0) -> nn.LSTMCell:
    """The explorer's LSTM cell (seed 0), with ``forget_bias`` added to the forget gate's
    default bias (the second of the four gate blocks of ``bias_ih``)."""
    _check_number("forget_bias", forget_bias, -10.0, 10.0)
    with torch.random.fork_rng(devices=[]):  # leave the caller's random stream untouched
        torch.manual_seed(0)
        cell = nn.LSTMCell(1, HIDDEN_SIZE)
    with torch.no_grad():
        cell.bias_ih[HIDDEN_SIZE:2 * HIDDEN_SIZE] += forget_bias
    return cell


def input_signal(kind: str, steps: int) -> torch.Tensor:
    """``steps`` values of a named signal, shape ``(steps, 1)``; deterministic."""
    if kind not in SIGNALS:
        raise ValueError(f"signal must be one of {SIGNALS}, got {kind!r}")
    _check_int("steps", steps, 1, 10_000)
    t = torch.arange(steps, dtype=torch.float32)
    if kind == "sine":
        values = torch.sin(2 * math.pi * t / 16)
    elif kind == "square":
        values = torch.where((t // 8) % 2 == 0, 1.0, -1.0)
    elif kind == "noise":  # NumPy's generator: the first n values do not depend on steps
        values = torch.from_numpy(np.random.default_rng(1).standard_normal(steps)).float()
    else:
        values = torch.zeros(steps)
    return values.unsqueeze(1)


def _initial_states(cell: nn.LSTMCell, warm_up: torch.Tensor, scale: float
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(h0, c0)``, each ``(4, HIDDEN_SIZE)``: one row per entry of INITIAL_STATES; the
    ``carried`` one is the state after reading ``warm_up``."""
    generator = torch.Generator().manual_seed(2)
    random_h = scale * torch.randn(HIDDEN_SIZE, generator=generator)
    random_c = scale * torch.randn(HIDDEN_SIZE, generator=generator)
    signs = torch.where(torch.arange(HIDDEN_SIZE) % 2 == 0, 1.0, -1.0)
    h, c = torch.zeros(1, HIDDEN_SIZE), torch.zeros(1, HIDDEN_SIZE)
    for x_t in warm_up:
        h, c = cell(x_t.unsqueeze(0), (h, c))
    zeros = torch.zeros(HIDDEN_SIZE)
    h0 = torch.stack([zeros, random_h, signs, h[0]])
    c0 = torch.stack([zeros, random_c, 5 * signs, c[0]])
    return h0, c0


def state_trajectories(scale: float, forget_bias: float, seq_len: int, unit: int,
                       signal: str) -> dict:
    """Run the cell over ``seq_len`` steps of ``signal`` from each initial state.

    Returns plain data: ``h`` and ``c`` (dicts over INITIAL_STATES of arrays ``(seq_len + 1,)``,
    step 0 being the initial state) of hidden unit ``unit``; ``gap`` (the same dicts, the
    largest ``|h - h_zeros|`` over all units at each step); ``forgotten_after`` (the first
    step from which the gap stays below FORGET_TOLERANCE, or ``None``)."""
    scale = _check_number("scale", scale, 0.0, 100.0)
    seq_len = _check_int("seq_len", seq_len, 1, 10_000)
    unit = _check_int("unit", unit, 0, HIDDEN_SIZE - 1)
    cell = make_cell(forget_bias)
    # the plotted steps follow the WARM_UP_STEPS steps that the carried state has read
    signal_values = input_signal(signal, 2 * WARM_UP_STEPS + seq_len)
    warm_up = signal_values[WARM_UP_STEPS:2 * WARM_UP_STEPS]
    x = signal_values[2 * WARM_UP_STEPS:]
    with torch.no_grad(), one_thread():
        h, c = _initial_states(cell, warm_up, scale)
        hs, cs = [h], [c]
        for x_t in x:
            h, c = cell(x_t.expand(len(INITIAL_STATES), 1), (h, c))
            hs.append(h)
            cs.append(c)
    h_all, c_all = torch.stack(hs).numpy(), torch.stack(cs).numpy()  # (steps, states, units)
    gap_all = np.abs(h_all - h_all[:, :1]).max(axis=2)               # (steps, states)
    result = {"t": np.arange(seq_len + 1), "x": x[:, 0].numpy(), "unit": unit,
              "h": {}, "c": {}, "gap": {}, "forgotten_after": {}}
    for k, name in enumerate(INITIAL_STATES):
        result["h"][name] = h_all[:, k, unit]
        result["c"][name] = c_all[:, k, unit]
        result["gap"][name] = gap_all[:, k]
        above = np.nonzero(gap_all[:, k] >= FORGET_TOLERANCE)[0]
        last_above = above[-1] if len(above) else -1
        result["forgotten_after"][name] = None if last_above == seq_len else int(last_above + 1)
    return result


def _ticks(low: float, high: float, log: bool) -> list[float]:
    if log:
        powers = range(math.ceil(math.log10(low)), math.floor(math.log10(high)) + 1)
        return [10.0 ** k for k in powers if k % 2 == 0 or len(powers) <= 6]
    return [float(v) for v in MaxNLocator(5).tick_values(low, high) if low <= v <= high]


def _panel(left: float, series: dict[str, tuple[np.ndarray, np.ndarray]], title: str,
           log: bool = False, y_range: tuple[float, float] | None = None,
           hline: float | None = None, width: float = 205, height: float = 170,
           top: float = 24) -> list[str]:
    """SVG elements of one line chart: axes, grid, tick labels, title, one polyline a series."""
    x_all = np.concatenate([x for x, _ in series.values()])
    y_all = np.concatenate([y for _, y in series.values()])
    x_low, x_high = float(x_all.min()), float(max(x_all.max(), x_all.min() + 1))
    if y_range is None:
        y_low, y_high = float(y_all.min()), float(y_all.max())
        pad = 0.08 * (y_high - y_low) or 0.5
        y_range = (y_low - pad, y_high + pad)
    y_low, y_high = y_range
    to_y = (lambda v: math.log10(v)) if log else (lambda v: v)
    plot_left, plot_top, plot_w, plot_h = left + 44, top + 18, width - 52, height - 48

    def px(x, y):
        return (plot_left + (x - x_low) / (x_high - x_low) * plot_w,
                plot_top + (to_y(y_high) - to_y(y)) / (to_y(y_high) - to_y(y_low)) * plot_h)

    parts = [f'<text x="{plot_left + plot_w / 2}" y="{top + 10}" font-size="11" '
             f'text-anchor="middle" fill="#222">{html.escape(title)}</text>',
             f'<rect x="{plot_left}" y="{plot_top}" width="{plot_w}" height="{plot_h}" '
             'fill="white" stroke="#999"/>']
    for value in _ticks(y_low, y_high, log):
        _, y = px(x_low, value)
        label = f"1e{round(math.log10(value))}" if log else f"{value:g}"
        parts += [f'<line x1="{plot_left}" x2="{plot_left + plot_w}" y1="{y:.1f}" '
                  f'y2="{y:.1f}" stroke="#e4e4e4"/>',
                  f'<text x="{plot_left - 4}" y="{y + 3:.1f}" font-size="9" fill="#444" '
                  f'text-anchor="end">{label}</text>']
    for value in _ticks(x_low, x_high, False):
        x, _ = px(value, y_low)
        parts += [f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{plot_top}" y2="{plot_top + plot_h}" '
                  'stroke="#e4e4e4"/>',
                  f'<text x="{x:.1f}" y="{plot_top + plot_h + 12}" font-size="9" fill="#444" '
                  f'text-anchor="middle">{value:g}</text>']
    parts.append(f'<text x="{plot_left + plot_w / 2}" y="{plot_top + plot_h + 25}" '
                 'font-size="9" fill="#444" text-anchor="middle">time step</text>')
    if hline is not None:
        _, y = px(x_low, hline)
        parts.append(f'<line x1="{plot_left}" x2="{plot_left + plot_w}" y1="{y:.1f}" '
                     f'y2="{y:.1f}" stroke="#777" stroke-dasharray="4 3"/>')
    for name in sorted(series, key=lambda n: n == "zeros"):  # the reference on top, dashed
        x, y = series[name]
        y = np.clip(y, y_low, y_high)
        points = " ".join(f"{a:.1f},{b:.1f}" for a, b in (px(u, v) for u, v in zip(x, y, strict=True)))
        dash = ' stroke-dasharray="5 3"' if name == "zeros" else ""
        parts.append(f'<polyline points="{points}" fill="none" stroke="{_COLORS[name]}" '
                     f'stroke-width="1.6"{dash}/>')
    return parts


def trajectories_svg(result: dict) -> str:
    """Three panels as one SVG (h of the unit, c of the unit, the gap on a log scale) and a
    legend. Drawn as SVG rather than a matplotlib PNG so that an update stays fast."""
    if not isinstance(result, dict) or "gap" not in result:
        raise TypeError("expected the dict returned by state_trajectories")
    t, unit = result["t"], result["unit"]
    parts = []
    for k, name in enumerate(INITIAL_STATES):
        x = 52 + 110 * k
        dash = ' stroke-dasharray="5 3"' if name == "zeros" else ""
        parts += [f'<line x1="{x}" x2="{x + 22}" y1="10" y2="10" stroke="{_COLORS[name]}" '
                  f'stroke-width="2.5"{dash}/>',
                  f'<text x="{x + 27}" y="14" font-size="11" fill="#222">{name}</text>']
    parts += _panel(0, {n: (t, result["h"][n]) for n in INITIAL_STATES}, f"h of unit {unit}",
                    y_range=(-1.05, 1.05))
    parts += _panel(212, {n: (t, result["c"][n]) for n in INITIAL_STATES}, f"c of unit {unit}")
    parts += _panel(424, {n: (t, np.maximum(result["gap"][n], 1e-8))
                          for n in INITIAL_STATES if n != "zeros"},
                    "max over units |h − h(zeros)|", log=True, y_range=(1e-8, 10.0),
                    hline=FORGET_TOLERANCE)
    # 630 units wide; it shrinks (never grows) to fit a narrow output area
    return ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 630 196" width="100%" '
            'style="max-width: 630px" font-family="sans-serif">' + "".join(parts) + "</svg>")


def _show(result: dict) -> None:
    forgotten = ", ".join(f"{name} {step}" if step is not None
                          else f"{name} > {len(result['t']) - 1}"
                          for name, step in result["forgotten_after"].items()
                          if name != "zeros")
    print(f"steps to forget the start (gap < {FORGET_TOLERANCE:g}): {forgotten}")
    display(SVG(trajectories_svg(result)))


def state_explorer() -> Explorer:
    """Sliders for the random state's scale, the forget-gate bias, the length, the unit shown
    and the input signal; plots h and c from each initial state and how fast they converge."""
    def slider(kind, key, value, low, high, step):
        return kind(value=value, min=low, max=high, step=step, description=key,
                    continuous_update=False)
    controls = {
        "scale": slider(widgets.FloatSlider, "scale", 1.0, 0.0, 5.0, 0.25),
        "forget_bias": slider(widgets.FloatSlider, "forget_bias", 0.0, -3.0, 5.0, 0.5),
        "seq_len": slider(widgets.IntSlider, "seq_len", 40, 5, 100, 1),
        "unit": slider(widgets.IntSlider, "unit", 0, 0, HIDDEN_SIZE - 1, 1),
        "signal": widgets.Dropdown(options=SIGNALS, value="sine", description="signal"),
    }
    explorer = Explorer(controls, state_trajectories, _show,
                        title="Initial states: how long does the LSTM remember where it started?")
    return explorer

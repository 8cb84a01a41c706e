"""Notebook 05's explorer: which time steps feed a sequence's summary, and is it right?

A fixed LSTM reads a fixed right-padded batch once (everything is precomputed). The learner
picks a sequence and a way to summarise it; the explorer highlights the time steps that the
summary reads on a heat map of the LSTM's output, and compares the summary with the same
summary of that sequence run alone, without padding.
"""

from __future__ import annotations

from functools import lru_cache

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from IPython.display import display
from matplotlib.patches import Rectangle
from torch import nn

from ..sequences import last_valid_step, masked_max, masked_mean, run_packed, summaries_one_by_one
from ..viz import GATE_COLORS, new_figure
from . import Explorer

__all__ = ["POOLINGS", "LENGTHS", "padded_demo_batch", "summary_choice", "last_step_explorer"]

LENGTHS = (8, 5, 2, 6)
INPUT_SIZE, HIDDEN_SIZE = 3, 6

POOLINGS = {
    "last step out[:, -1]": "the output at the padded batch's last step",
    "gather at length - 1": "the output at each sequence's own last real step",
    "packed h_n[-1]": "the final state of an LSTM run on the packed batch",
    "masked mean": "the mean of the output over the real steps",
    "masked max": "the maximum of the output over the real steps",
    "mean over all steps": "the mean of the output over every step, padding included",
}


def padded_demo_batch(lengths=LENGTHS, input_size: int = INPUT_SIZE, seed: int = 0):
    """A right-padded batch ``(B, max(lengths), input_size)``: random real steps, then zeros."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(len(lengths), max(lengths), input_size, generator=g)
    for b, length in enumerate(lengths):
        x[b, length:] = 0.0
    return x


@lru_cache(maxsize=1)
def _precomputed():
    """Every summary of every sequence, and the lone-run references: computed once."""
    torch.manual_seed(0)
    lstm = nn.LSTM(INPUT_SIZE, HIDDEN_SIZE, batch_first=True)
    x = padded_demo_batch()
    with torch.no_grad():
        out, _ = lstm(x)
        packed_out, (h_packed, _) = run_packed(lstm, x, LENGTHS)
        alone, alone_outs = summaries_one_by_one(lstm, x, LENGTHS)
        summaries = {
            "last step out[:, -1]": out[:, -1],
            "gather at length - 1": last_valid_step(out, LENGTHS),
            "packed h_n[-1]": h_packed[-1],
            "masked mean": masked_mean(out, LENGTHS),
            "masked max": masked_max(out, LENGTHS),
            "mean over all steps": out.mean(dim=1),
        }
        references = {
            "mean": torch.stack([o.mean(0) for o in alone_outs]),
            "max": torch.stack([o.amax(0) for o in alone_outs]),
            "last": alone,
        }
    return out, packed_out, summaries, references


def _steps_read(pooling: str, length: int, max_len: int) -> list[int]:
    if pooling == "last step out[:, -1]":
        return [max_len - 1]
    if pooling in ("gather at length - 1", "packed h_n[-1]"):
        return [length - 1]
    if pooling == "mean over all steps":
        return list(range(max_len))
    return list(range(length))


def summary_choice(sequence: int, pooling: str) -> dict:
    """The summary of one sequence of the demo batch, the steps it reads, and the check
    against the same summary of that sequence run alone. Plain data only."""
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {list(POOLINGS)}, got {pooling!r}")
    if isinstance(sequence, bool) or not isinstance(sequence, int) \
            or not 0 <= sequence < len(LENGTHS):
        raise ValueError(f"sequence must be an int in [0, {len(LENGTHS) - 1}], got {sequence!r}")
    out, packed_out, summaries, references = _precomputed()
    length, max_len = LENGTHS[sequence], max(LENGTHS)
    kind = "mean" if "mean" in pooling else "max" if "max" in pooling else "last"
    vector = summaries[pooling][sequence]
    reference = references[kind][sequence]
    steps = _steps_read(pooling, length, max_len)
    source = packed_out if pooling == "packed h_n[-1]" else out
    return {
        "sequence": sequence, "pooling": pooling, "length": length, "max_len": max_len,
        "steps_read": steps, "padding_read": [t for t in steps if t >= length],
        "vector": vector.tolist(), "alone": reference.tolist(),
        "max_abs_diff": float((vector - reference).abs().max()),
        "equals_alone": bool(torch.allclose(vector, reference, atol=1e-6)),
        "heatmap": source[sequence].T.tolist(),  # (hidden, time)
        "heatmap_source": "packed run (zeros after the length)" if source is packed_out
        else "padded run",
    }


class _View:
    """One figure, drawn once and then updated in place (fast), shown with ``display``."""

    def __init__(self):
        out = _precomputed()[0]
        limit = float(out.abs().max())
        max_len = max(LENGTHS)
        self.fig, (self.ax_map, self.ax_bar) = new_figure(
            ncols=2, width=9.0, height=2.9, gridspec_kw={"width_ratios": [1.3, 1]})
        plt.close(self.fig)  # shown only through display(), never twice by the inline backend
        self.image = self.ax_map.imshow(out[0].T.numpy(), aspect="auto", cmap="RdBu_r",
                                        vmin=-limit, vmax=limit)
        self.padding = Rectangle((max_len - 0.5, -0.5), 0, HIDDEN_SIZE, fill=False, hatch="///",
                                 edgecolor="0.35", lw=0)
        self.ax_map.add_patch(self.padding)
        self.ax_map.set(xlabel="time step t (hatched: padding)", ylabel="hidden unit",
                        xticks=range(max_len), yticks=range(HIDDEN_SIZE))
        self.ax_map.grid(False)
        self.fig.colorbar(self.image, ax=self.ax_map, pad=0.01, fraction=0.05)
        self.frames: list[Rectangle] = []
        units = range(HIDDEN_SIZE)
        self.bars = self.ax_bar.bar([u - 0.2 for u in units], [0] * HIDDEN_SIZE, width=0.4,
                                    color=GATE_COLORS["h"], label="the summary")
        self.alone = self.ax_bar.bar([u + 0.2 for u in units], [0] * HIDDEN_SIZE, width=0.4,
                                     color=GATE_COLORS["i"], label="the sequence run alone")
        self.ax_bar.axhline(0, color="0.3", lw=0.8)
        self.ax_bar.set(xlabel="hidden unit", xticks=list(units), ylim=(-limit, limit))
        self.ax_bar.legend(fontsize=8, loc="lower left")
        self.ax_map.set_title("output of the padded run; framed: read", fontsize=10)
        self.ax_bar.set_title("the summary differs from the lone run", fontsize=10)
        self.fig.draw_without_rendering()     # lay the figure out once, with titles in place,
        self.fig.set_layout_engine("none")    # then keep that layout: each redraw is cheaper

    def __call__(self, result: dict) -> None:
        length, max_len = result["length"], result["max_len"]
        self.image.set_data(result["heatmap"])
        self.padding.set_x(length - 0.5)
        self.padding.set_width(max_len - length)
        for frame in self.frames:
            frame.remove()
        self.frames = [self.ax_map.add_patch(Rectangle(
            (t - 0.5, -0.5), 1, HIDDEN_SIZE, fill=False, lw=2.2,
            edgecolor="red" if t >= length else "black")) for t in result["steps_read"]]
        self.ax_map.set_title(f"output of the {result['heatmap_source']}; framed: read",
                              fontsize=10)
        for bar, value in zip(self.bars, result["vector"], strict=True):
            bar.set_height(value)
        for bar, value in zip(self.alone, result["alone"], strict=True):
            bar.set_height(value)
        verdict = "equals" if result["equals_alone"] else "differs from"
        self.ax_bar.set_title(f"the summary {verdict} the lone run", fontsize=10,
                              color="black" if result["equals_alone"] else "red")
        display(self.fig)
        padding = (f"; reads padding at t = {result['padding_read']}" if result["padding_read"]
                   else "; reads no padding")
        print(f"sequence {result['sequence']} (length {length} of {max_len}), "
              f"{result['pooling']}: {POOLINGS[result['pooling']]}{padding}.")
        verdict = "equals" if result["equals_alone"] else "DIFFERS from"
        print(f"It {verdict} the same summary of the sequence run alone "
              f"(max |difference| = {result['max_abs_diff']:.2e}).")


def last_step_explorer() -> Explorer:
    """Pick a sequence of a padded batch and a way to summarise it; see what it reads."""
    _precomputed()
    controls = {
        "sequence": widgets.Dropdown(
            options=[(f"{b}: length {n}", b) for b, n in enumerate(LENGTHS)], value=2,
            description="sequence"),
        "pooling": widgets.Dropdown(options=list(POOLINGS), value="last step out[:, -1]",
                                    description="summary"),
    }
    return Explorer(controls, summary_choice, _View(),
                    title="Which steps feed the summary? (padded batch, lengths "
                          f"{list(LENGTHS)})")

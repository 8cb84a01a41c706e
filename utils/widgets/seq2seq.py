"""Notebook 13's explorer: type a date in any format and see what the model writes.

For the typed text the explorer shows the trained model's greedy output, whether it is a valid
ISO date, whether it is the right one (when the rules of ``utils.dates.read_date`` can read the
text), and the attention heatmap: which source character each output character looked at.
Everything is computed for one short string, so an update takes milliseconds plus the redraw.

:func:`draw_attention` is the heatmap the notebook uses too. The course's plotting font has no
Chinese glyphs, so Chinese characters are labelled by their pinyin and meaning
(:func:`tick_label`); the printed text shows them as they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

from ..dates import judge
from ..seq2seq import SOURCE_SPECIALS, Seq2Seq, translate
from ..text import CharVocab
from ..training import one_thread
from . import Explorer

__all__ = ["EXAMPLES", "MAX_CHARACTERS", "tick_label", "draw_attention", "normalise_date",
           "date_explorer"]

MAX_CHARACTERS = 60   # the longest text the explorer reads (the longest format writes 28)

EXAMPLES = ("tuesday, 1 december 2026", "Dec 1, 2026", "1.12.26", "12/01/2026",
            "the 1st of December 2026", "2026年12月1日", "二〇二六年十二月一日", "20261201",
            "1 DEC 2026", "the 29th of February 2024", "Feb 29, 2023")

_CHINESE = {"〇": "ling 0", "一": "yi 1", "二": "er 2", "三": "san 3", "四": "si 4",
            "五": "wu 5", "六": "liu 6", "七": "qi 7", "八": "ba 8", "九": "jiu 9",
            "十": "shi 10", "年": "nian (year)", "月": "yue (month)", "日": "ri (day)"}


def tick_label(char: str) -> str:
    """A plot label for one character: a space as ``␣``, a Chinese character by its pinyin
    and meaning (``月`` -> ``yue (month)``), a character outside the vocabulary as ``<unk>``."""
    if char == " ":
        return "␣"
    return _CHINESE.get(char, char if char.isascii() else "<unk>")


def draw_attention(ax, weights, source: str, output: str, title: str = ""):
    """The attention weights ``(len(output), len(source))`` as a heatmap on ``ax``: a row per
    output character, a column per source character, darker = more weight."""
    weights = np.asarray(weights, dtype=float)
    if weights.shape != (len(output), len(source)):
        raise ValueError(f"weights must have shape (len(output), len(source)) = "
                         f"({len(output)}, {len(source)}), got {weights.shape}")
    image = ax.imshow(weights, cmap="Blues", vmin=0, vmax=1, aspect="auto",
                      interpolation="nearest")
    ax.set_xticks(range(len(source)), [tick_label(c) for c in source], rotation=90, fontsize=8)
    ax.set_yticks(range(len(output)), [tick_label(c) for c in output], fontsize=8)
    ax.grid(False)
    ax.set_xlabel("source character")
    ax.set_ylabel("output character")
    if title:
        ax.set_title(title, fontsize=10)
    return image


def normalise_date(model: Seq2Seq, src_vocab: CharVocab, tgt_vocab: CharVocab, text: str,
                   max_len: int = 12) -> dict:
    """What the model writes for ``text``, as plain data: ``output``, ``valid``, ``right``
    (``None`` when no format reads the text), ``expected``, ``weights`` (a row per output
    character, ``<eos>`` excluded; ``None`` without attention) and the characters of ``text``
    that the vocabulary lacks (read as ``<unk>``). A bad text (empty, or longer than
    ``MAX_CHARACTERS``) gives ``error``, never raises."""
    result = {"text": text, "error": None, "output": None, "valid": False, "right": None,
              "expected": None, "weights": None, "unknown": []}
    if not isinstance(text, str) or not text.strip():
        result["error"] = "type a date, for example 'Dec 1, 2026' or '2026年12月1日'"
        return result
    if len(text) > MAX_CHARACTERS:
        result["error"] = (f"that is {len(text)} characters; a date needs at most "
                           f"{MAX_CHARACTERS}")
        return result
    result["unknown"] = sorted({c for c in text if c not in src_vocab})
    with one_thread():
        (output,), decoded = translate(model, [text], src_vocab, tgt_vocab, max_len)
    verdict = judge(output, text)
    result.update(output=output, valid=verdict.valid, right=verdict.right,
                  expected=verdict.expected)
    if decoded.weights is not None:
        result["weights"] = decoded.weights[0, :len(output)].tolist()
    return result


class _View:
    """The verdict as text and the heatmap. The figure is laid out once (fixed margins, no
    layout engine) and each update only swaps the image's data and the tick labels: a redraw
    from scratch with constrained layout costs several times as much."""

    def __init__(self):
        self.fig = plt.figure(figsize=(6.4, 3.2))
        self.fig.subplots_adjust(left=0.1, right=0.98, top=0.9, bottom=0.36)
        self.ax = self.fig.add_subplot()
        plt.close(self.fig)  # shown only through display(), never twice by the inline backend
        self.image = self.ax.imshow(np.zeros((1, 1)), cmap="Blues", vmin=0, vmax=1,
                                    aspect="auto", interpolation="nearest")
        self.ax.grid(False)
        self.ax.set_xlabel("source character")
        self.ax.set_ylabel("output character")
        self.ax.set_title("where each output character looked", fontsize=10)
        self.note = self.ax.text(0.5, 0.5, "", ha="center", va="center", fontsize=9,
                                 transform=self.ax.transAxes)

    def __call__(self, result: dict) -> None:
        if result["error"]:
            print(result["error"])
            return
        valid = "a valid ISO date" if result["valid"] else "NOT a valid ISO date"
        if result["right"] is None:
            right = ("the rules of utils.dates cannot read this text, so there is no answer "
                     "to compare with")
        else:
            right = ("right" if result["right"] else "WRONG") + \
                f" (the rules read {result['expected']})"
        print(f"{result['text']!r}  ->  {result['output']!r}: {valid}; {right}")
        if result["unknown"]:
            print(f"characters the model never saw, read as <unk>: {result['unknown']}")
        source, output = result["text"], result["output"]
        shown = result["weights"] is not None and bool(output)
        self.image.set_visible(shown)
        self.note.set_text("" if shown else "this model has no attention: everything it knows "
                           "about the\nsource came through the encoder's final (h, c)")
        if shown:
            self.image.set_data(np.asarray(result["weights"], dtype=float))
            self.image.set_extent((-0.5, len(source) - 0.5, len(output) - 0.5, -0.5))
            self.ax.set_xticks(range(len(source)), [tick_label(c) for c in source],
                               rotation=90, fontsize=8)
            self.ax.set_yticks(range(len(output)), [tick_label(c) for c in output],
                               fontsize=8)
        else:
            self.ax.set_xticks([])
            self.ax.set_yticks([])
        display(self.fig)


def date_explorer(models: Mapping[str, Seq2Seq], src_vocab: CharVocab, tgt_vocab: CharVocab,
                  examples: Sequence[str] = EXAMPLES) -> Explorer:
    """Type (or pick) a date and a model; see its output, the verdict and the attention."""
    if not isinstance(models, Mapping) or not models \
            or not all(isinstance(m, Seq2Seq) for m in models.values()):
        raise TypeError("models must be a non-empty dict of name -> Seq2Seq")
    if not isinstance(src_vocab, CharVocab) or src_vocab.specials[:2] != SOURCE_SPECIALS:
        raise TypeError(f"src_vocab must be a CharVocab with specials {SOURCE_SPECIALS}")
    controls = {
        "text": widgets.Combobox(options=list(examples), value=examples[0], ensure_option=False,
                                 placeholder="type a date", description="date"),
        "model": widgets.Dropdown(options=list(models), value=next(iter(models)),
                                  description="model"),
    }

    def compute(text: str, model: str) -> dict:
        return {"model": model, **normalise_date(models[model], src_vocab, tgt_vocab, text)}

    return Explorer(controls, compute, _View(), title="Type a date in any format")

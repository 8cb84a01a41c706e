"""Notebook 13's explorer: typed dates (Chinese forms included) and both models, each update
(with the heatmap drawn to PNG, as Jupyter does) well under 0.3 s; the verdicts are right."""

import io
import time

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

from utils.dates import CHARACTERS, is_valid_iso, read_date  # noqa: E402
from utils.seq2seq import SOURCE_SPECIALS, TARGET_SPECIALS, Seq2Seq, translate  # noqa: E402
from utils.text import CharVocab  # noqa: E402
from utils.widgets.seq2seq import (  # noqa: E402
    EXAMPLES,
    MAX_CHARACTERS,
    date_explorer,
    draw_attention,
    normalise_date,
    tick_label,
)

SRC = CharVocab(CHARACTERS, specials=SOURCE_SPECIALS)
TGT = CharVocab("0123456789-", specials=TARGET_SPECIALS)
TYPED = (*EXAMPLES, "2026年12月1号", "next tuesday", "1", "the 31st of December 2099",
         "一九〇〇年一月一日", "02/29/2000", "monday, 1 december 2026")


@pytest.fixture(scope="module")
def models():
    made = {}
    for name, attention in (("with attention", True), ("without attention", False)):
        torch.manual_seed(0)
        made[name] = Seq2Seq(len(SRC), len(TGT), 32, 32, attention=attention).eval()
    return made      # the notebook's sizes (untrained: the timing and the contract)


def test_every_typed_date_and_model_updates_fast(models):
    explorer = date_explorer(models, SRC, TGT)      # its first update warms everything up
    slowest = 0.0
    for name in explorer.controls["model"].options:
        explorer.controls["model"].value = name
        explorer.controls["text"].value = ""       # so that every text below is a new value
        assert "type a date" in explorer.result["error"]
        for text in TYPED:
            explorer.controls["text"].value = text
            started = time.perf_counter()
            explorer.render.fig.savefig(io.BytesIO(), format="png")   # what display() costs
            seconds = explorer.last_update_seconds + time.perf_counter() - started
            slowest = max(slowest, seconds)
            result = explorer.result
            assert (result["model"], result["text"], result["error"]) == (name, text, None)
            (output,), _ = translate(models[name], [text], SRC, TGT)
            assert result["output"] == output
            assert result["valid"] == is_valid_iso(output)
            day = read_date(text)
            assert result["expected"] == (day.isoformat() if day else None)
            assert result["right"] == (None if day is None else output == day.isoformat())
            if name == "with attention":
                assert len(result["weights"]) == len(output)
                assert all(len(row) == len(text) for row in result["weights"])
                assert all(abs(sum(row) - 1) < 1e-5 for row in result["weights"])
            else:
                assert result["weights"] is None
    assert slowest < 0.3, slowest
    print(f"slowest update, PNG included: {slowest * 1000:.0f} ms")


def test_unknown_characters_and_bad_text_are_shown_not_raised(models):
    result = normalise_date(models["with attention"], SRC, TGT, "2026年12月1号")
    assert result["unknown"] == ["号"] and result["error"] is None and result["right"] is None
    for bad in ("", "   ", "x" * (MAX_CHARACTERS + 1)):
        result = normalise_date(models["with attention"], SRC, TGT, bad)
        assert result["error"] and result["output"] is None
    longest = normalise_date(models["with attention"], SRC, TGT, "x" * MAX_CHARACTERS)
    assert longest["error"] is None and longest["output"] is not None     # at most 60: read
    too_long = normalise_date(models["with attention"], SRC, TGT, "x" * 61)["error"]
    assert too_long == "that is 61 characters; a date needs at most 60"


def test_labels_and_the_heatmap():
    assert tick_label(" ") == "␣" and tick_label("月") == "yue (month)" and tick_label("7") == "7"
    assert tick_label("号") == "<unk>"
    fig = matplotlib.figure.Figure()
    ax = fig.subplots()
    draw_attention(ax, [[1.0, 0.0], [0.5, 0.5]], "十月", "10")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["shi 10", "yue (month)"]
    with pytest.raises(ValueError, match=r"\(2, 3\), got \(2, 2\)"):
        draw_attention(ax, [[1.0, 0.0], [0.5, 0.5]], "abc", "10")
    with pytest.raises(TypeError, match="models must be"):
        date_explorer({}, SRC, TGT)

"""Notebook 19's explorer: the slider visits every measured context, shows what was measured
there (None where a method was not timed), and updates fast."""

import matplotlib
import pytest

matplotlib.use("Agg")

from utils.widgets.context_cost import context_cost_explorer, cost_view  # noqa: E402

CONTEXTS = [16, 64, 256, 1024]
MS = {"LSTM": {16: 0.08, 64: 0.08, 256: 0.081, 1024: 0.08},
      "Transformer, recompute": {16: 0.25, 64: 0.5, 256: 2.0, 1024: None},
      "Transformer, KV cache": {16: 0.14, 64: 0.14, 256: 0.15, 1024: 0.17}}
FLOATS = {"LSTM": {c: 384 for c in CONTEXTS},
          "Transformer, recompute": {c: c for c in CONTEXTS},
          "Transformer, KV cache": {c: 128 * c for c in CONTEXTS}}


def test_the_slider_visits_every_context_and_shows_its_measurements():
    explorer = context_cost_explorer(MS, FLOATS)
    slider = explorer.controls["context"]
    assert list(slider.options) == CONTEXTS
    for context in CONTEXTS:
        slider.value = context
        result = explorer.result
        assert result["context"] == context
        assert result["ms"] == {m: MS[m][context] for m in MS}
        assert result["floats"] == {m: FLOATS[m][context] for m in FLOATS}
        assert result["ratio"]["LSTM"] == 1.0
        assert explorer.last_update_seconds < 0.3, explorer.last_update_seconds
    assert explorer.result["ratio"]["Transformer, recompute"] is None        # not timed
    slider.value = 256
    assert explorer.result["ratio"]["Transformer, KV cache"] == pytest.approx(0.15 / 0.081)


def test_bad_tables_are_refused():
    with pytest.raises(ValueError, match="was not measured"):
        cost_view(MS, FLOATS, 100)
    with pytest.raises(ValueError, match="non-empty dict"):
        cost_view({}, FLOATS, 16)
    with pytest.raises(ValueError, match="measured at contexts"):
        cost_view({**MS, "LSTM": {16: 0.1}}, FLOATS, 16)
    with pytest.raises(ValueError, match="numbers > 0"):
        cost_view({**MS, "LSTM": {c: -1.0 for c in CONTEXTS}}, FLOATS, 16)
    with pytest.raises(ValueError, match="methods of ms_per_char"):
        cost_view(MS, {"LSTM": FLOATS["LSTM"]}, 16)
    with pytest.raises(ValueError, match="reference"):
        cost_view({"LSTM": {16: None, 64: 1.0, 256: 1.0, 1024: 1.0}}, {"LSTM": FLOATS["LSTM"]}, 16)
    with pytest.raises(ValueError, match="ints >= 1"):
        cost_view({"LSTM": {0: 1.0}}, {"LSTM": {0: 1}}, 0)


def test_wrong_types_raise_type_error():
    with pytest.raises(TypeError, match="contexts must be ints"):
        context_cost_explorer({"LSTM": {"16": 1.0}}, {"LSTM": {"16": 1}})
    with pytest.raises(TypeError, match="must be a dict method"):
        cost_view([("LSTM", 1.0)], FLOATS, 16)
    with pytest.raises(TypeError, match=r"ms_per_char\['LSTM'\] must be a dict"):
        cost_view({"LSTM": [0.1]}, FLOATS, 16)
    with pytest.raises(TypeError, match="values must be numbers"):
        cost_view({**MS, "LSTM": {c: "fast" for c in CONTEXTS}}, FLOATS, 16)
    with pytest.raises(TypeError, match="values must be numbers"):
        cost_view({**MS, "LSTM": {c: True for c in CONTEXTS}}, FLOATS, 16)
    with pytest.raises(TypeError, match="context must be an int"):
        cost_view(MS, FLOATS, "16")
    with pytest.raises(ValueError, match="non-empty dict context"):
        cost_view({"LSTM": {}}, FLOATS, 16)

"""Notebook 04's explorer: every scheme changes what it shows, and each change is fast."""

import io
import math

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

from utils.initialisation import GATES, SCHEMES  # noqa: E402
from utils.widgets.init import INPUT_SCALES, draw_snapshot, init_explorer, init_snapshot  # noqa: E402


@pytest.fixture(scope="module")
def explorer():
    return init_explorer()


def test_the_dropdown_offers_every_scheme(explorer):
    assert list(explorer.controls) == ["scheme"]
    assert tuple(explorer.controls["scheme"].options) == SCHEMES
    assert explorer.result["scheme"] == "default"
    assert explorer.view["image"] in explorer.widget.children


def test_every_scheme_changes_the_result_fast(explorer):
    control = explorer.controls["scheme"]
    seen = {}
    for scheme in [*SCHEMES[1:], SCHEMES[0]]:
        control.value = scheme
        result = explorer.result
        assert result["scheme"] == scheme
        assert explorer.last_update_seconds < 0.3, (scheme, explorer.last_update_seconds)
        assert result["png"].startswith(b"\x89PNG")
        assert explorer.view["image"].value == result["png"]       # the view follows
        assert "mean forget bias" in explorer.view["summary"].value
        assert explorer.output.outputs == ()  # nothing printed into the Output area
        seen[scheme] = result
    # each scheme shows something different: the histograms, the biases, the saturation
    for a, b in [(a, b) for a in SCHEMES for b in SCHEMES if a < b]:
        assert seen[a]["png"] != seen[b]["png"], (a, b)
        assert seen[a]["biases"] != seen[b]["biases"] or seen[a]["std"] != seen[b]["std"]
    H = seen["default"]["hidden_size"]
    bound = 1 / math.sqrt(H)
    # default: every weight inside +-1/sqrt(H), std close to bound / sqrt(3)
    counts, edges = seen["default"]["histograms"]["weight_hh_l0"]
    assert all(c == 0 for c, left in zip(counts, edges[:-1], strict=True) if left >= bound)
    assert abs(seen["default"]["std"]["weight_hh_l0"] - bound / math.sqrt(3)) < 0.1 * bound
    # the expected biases
    assert all(b == 0 for g in GATES for b in seen["xavier_orthogonal"]["biases"][g])
    assert seen["forget_bias_1"]["biases"]["f"] == [1.0] * H
    assert min(seen["chrono"]["biases"]["f"]) >= 0
    torch.testing.assert_close(torch.tensor(seen["chrono"]["biases"]["i"]),
                               -torch.tensor(seen["chrono"]["biases"]["f"]))
    # forget bias 1 opens the forget gate on average: sigmoid(1) ~ 0.73 instead of ~ 0.5
    assert seen["forget_bias_1"]["gate_means"]["f"] > 0.7 > 0.55 > seen["default"]["gate_means"]["f"]
    # chrono saturates its input and forget gates by design; the others do not at scale 1
    at_1 = INPUT_SCALES.index(1.0)
    assert seen["chrono"]["saturation"][at_1]["f"]["high"] > 0.2
    for scheme in ("default", "xavier_orthogonal", "forget_bias_1"):
        assert seen[scheme]["saturation"][at_1]["f"]["saturated"] < 0.01, scheme


def test_saturation_grows_with_the_input_scale():
    result = init_snapshot("default")
    totals = [sum(s[g]["saturated"] for g in GATES) for s in result["saturation"]]
    assert totals == sorted(totals) and totals[-1] > totals[0] + 1


def test_drawing_stays_out_of_the_update():
    """A figure takes longer to draw than an update may take, so it is drawn once per scheme,
    and updates only show the stored PNG: the stored bytes are that drawing."""
    result = init_snapshot("forget_bias_1")
    fig = draw_snapshot(result)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    assert buffer.getvalue() == result["png"]
    assert init_snapshot("forget_bias_1") is result  # cached


def test_snapshot_validates():
    with pytest.raises(ValueError, match="known schemes: default"):
        init_snapshot("he")
    with pytest.raises(ValueError, match="hidden_size must be a positive int"):
        init_snapshot("default", hidden_size=0)

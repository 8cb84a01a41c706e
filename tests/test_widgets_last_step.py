"""Notebook 05's explorer: every control across its range changes the result, fast."""

import matplotlib
import pytest

matplotlib.use("Agg")

from utils.widgets.last_step import (  # noqa: E402
    LENGTHS,
    POOLINGS,
    last_step_explorer,
    summary_choice,
)

FULL = max(LENGTHS)
RIGHT_EVERYWHERE = {"gather at length - 1", "packed h_n[-1]", "masked mean", "masked max"}


@pytest.mark.parametrize("pooling", list(POOLINGS))
def test_which_summaries_equal_the_lone_run(pooling):
    for sequence, length in enumerate(LENGTHS):
        result = summary_choice(sequence, pooling)
        expected = pooling in RIGHT_EVERYWHERE or length == FULL
        assert result["equals_alone"] is expected, (pooling, sequence)
        assert bool(result["padding_read"]) is (not expected), (pooling, sequence)
        assert (result["max_abs_diff"] < 1e-6) is expected


def test_steps_read():
    assert summary_choice(2, "last step out[:, -1]")["steps_read"] == [FULL - 1]
    assert summary_choice(2, "gather at length - 1")["steps_read"] == [LENGTHS[2] - 1]
    assert summary_choice(2, "masked max")["steps_read"] == list(range(LENGTHS[2]))
    assert summary_choice(2, "mean over all steps")["steps_read"] == list(range(FULL))
    packed = summary_choice(2, "packed h_n[-1]")
    assert all(v == 0 for row in packed["heatmap"] for v in row[LENGTHS[2]:])


def test_every_control_value_changes_the_result_fast():
    explorer = last_step_explorer()
    seen = set()
    for pooling in explorer.controls["pooling"].options:
        explorer.controls["pooling"].value = pooling
        for label, sequence in explorer.controls["sequence"].options:
            explorer.controls["sequence"].value = sequence
            result = explorer.result
            assert (result["pooling"], result["sequence"]) == (pooling, sequence), label
            assert result["length"] == LENGTHS[sequence]
            seen.add(tuple(result["vector"]))
            assert explorer.last_update_seconds < 0.3, (pooling, sequence)
    # every (pooling, sequence) pair gives its own vector except where two methods agree
    assert len(seen) >= len(LENGTHS) * 3


def test_bad_choices_are_refused():
    with pytest.raises(ValueError, match="pooling must be one of"):
        summary_choice(0, "median")
    with pytest.raises(ValueError, match=r"\[0, 3\].*7"):
        summary_choice(7, "masked max")

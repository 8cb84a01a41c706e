"""Notebook 17's explorer: each tick looks up the right precomputed run, fast."""

import math

import matplotlib
import pytest

matplotlib.use("Agg")

from utils.regularisation import Recipe, Run  # noqa: E402
from utils.widgets.ablation import EARLY_STOPPING, ablation_explorer, ablation_lookup  # noqa: E402

TECHNIQUES = ["locked dropout", "weight dropout", "weight tying"]


def fake(name, seed, offset):
    val = [4.0, 2.6 + offset, 2.4 + offset, 2.5 + offset]
    return Run(Recipe(), seed, steps=[0, 10, 20, 30], train_loss=[math.nan, 2.5, 2.0, 1.8],
               val_loss=val, best_step=20, final_val=val[-1], best_val=val[2],
               final_test=val[-1] - 0.2, best_test=val[2] - 0.2)


@pytest.fixture
def runs():
    names = ["none", *TECHNIQUES, "all"]
    return {name: [fake(name, seed, 0.01 * k + 0.1 * seed) for seed in range(3)]
            for k, name in enumerate(names)}


def test_lookup_finds_the_baseline_each_technique_and_all(runs):
    assert ablation_lookup(runs, TECHNIQUES, set(), False, 0)["name"] == "none"
    for name in TECHNIQUES:
        result = ablation_lookup(runs, TECHNIQUES, {name}, False, 1)
        assert result["name"] == name and result["val"] == runs[name][1].val_loss
        assert result["baseline_val"] == runs["none"][1].val_loss
    assert ablation_lookup(runs, TECHNIQUES, TECHNIQUES, False, 2)["name"] == "all"


def test_early_stopping_reports_the_best_validation_step(runs):
    stopped = ablation_lookup(runs, TECHNIQUES, {"weight tying"}, True, 0)
    last = ablation_lookup(runs, TECHNIQUES, {"weight tying"}, False, 0)
    assert (stopped["reported_step"], last["reported_step"]) == (20, 30)
    assert stopped["reported_val"] == runs["weight tying"][0].best_val
    assert last["reported_test"] == runs["weight tying"][0].final_test


def test_a_combination_that_was_not_trained_says_so(runs):
    result = ablation_lookup(runs, TECHNIQUES, {"locked dropout", "weight tying"}, True, 0)
    assert not result["available"]
    assert result["message"].startswith("locked dropout + weight tying was not trained")


def test_lookup_refuses_bad_input(runs):
    with pytest.raises(ValueError, match="unknown techniques"):
        ablation_lookup(runs, TECHNIQUES, {"dropout"}, False, 0)
    with pytest.raises(ValueError, match="seed_index"):
        ablation_lookup(runs, TECHNIQUES, set(), False, 3)
    with pytest.raises(ValueError, match="no entry"):
        ablation_lookup(runs, [*TECHNIQUES, "AR/TAR"], set(), False, 0)
    with pytest.raises(ValueError, match="adds it itself"):
        ablation_lookup({**runs, EARLY_STOPPING: runs["none"]}, [*TECHNIQUES, EARLY_STOPPING],
                        set(), False, 0)
    with pytest.raises(TypeError, match="list of Run"):
        ablation_lookup({**runs, "none": []}, TECHNIQUES, set(), False, 0)
    with pytest.raises(ValueError, match="same seeds"):
        ablation_lookup({**runs, "all": runs["all"][:2]}, TECHNIQUES, set(), False, 0)


def test_lookup_refuses_a_string_for_on_and_a_non_bool_early_stopping(runs):
    with pytest.raises(TypeError, match="set or list of technique names, got 'weight tying'"):
        ablation_lookup(runs, TECHNIQUES, "weight tying", False, 0)
    with pytest.raises(TypeError, match="technique names"):
        ablation_lookup(runs, TECHNIQUES, [1], False, 0)
    for flag in ("no", 1, None):
        with pytest.raises(TypeError, match="early_stopping must be True or False"):
            ablation_lookup(runs, TECHNIQUES, set(), flag, 0)
    result = ablation_lookup(runs, TECHNIQUES, ("weight tying",), True, 0)
    assert result["name"] == "weight tying" and result["early_stopping"] is True
    assert result["baseline_test"] == runs["none"][0].final_test


def test_every_control_updates_the_explorer_fast(runs):
    explorer = ablation_explorer(runs, TECHNIQUES)
    assert explorer.result["name"] == "none" and explorer.last_update_seconds < 0.3
    explorer.controls["weight dropout"].value = True
    assert explorer.result["name"] == "weight dropout" and explorer.last_update_seconds < 0.3
    explorer.controls[EARLY_STOPPING].value = True
    assert explorer.result["reported_step"] == 20
    explorer.controls["seed"].value = 2
    assert explorer.result["seed"] == 2 and explorer.last_update_seconds < 0.3
    explorer.controls["locked dropout"].value = True
    assert not explorer.result["available"] and explorer.last_update_seconds < 0.3
    explorer.controls["weight tying"].value = True
    assert explorer.result["name"] == "all" and explorer.last_update_seconds < 0.3

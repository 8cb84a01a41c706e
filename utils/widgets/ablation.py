"""Notebook 17's explorer: tick the regularisers that are on, see that run's curves.

Nothing trains here: every curve was computed by the notebook's ablation (each technique
alone and all together, five seeds), and a tick only looks one up. Early stopping trains
nothing either: it chooses which step's weights a run reports, so it can be added to any run.
A combination the ablation did not train (two techniques but not all) says so.
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import display

from ..regularisation import Run
from ..viz import GATE_COLORS, new_figure
from . import Explorer

__all__ = ["EARLY_STOPPING", "ablation_lookup", "ablation_explorer"]

EARLY_STOPPING = "early stopping"


def _check_runs(runs: object, techniques: object, baseline: str, together: str) -> list[str]:
    if not isinstance(runs, dict) or not runs:
        raise TypeError(f"runs must be a dict of name -> list of Run, got {type(runs).__name__}")
    for name, group in runs.items():
        if not isinstance(group, list) or not group or not all(isinstance(r, Run) for r in group):
            raise TypeError(f"runs[{name!r}] must be a non-empty list of Run")
    if isinstance(techniques, str) or not all(isinstance(t, str) for t in techniques):
        raise TypeError(f"techniques must be a list of run names, got {techniques!r}")
    techniques = list(techniques)
    missing = [name for name in (baseline, together, *techniques) if name not in runs]
    if missing:
        raise ValueError(f"runs has no entry for {missing}; it has {sorted(runs)}")
    if EARLY_STOPPING in techniques:
        raise ValueError(f"{EARLY_STOPPING!r} is not a trained run: the explorer adds it itself")
    seeds = {name: [r.seed for r in group] for name, group in runs.items()}
    if len({tuple(s) for s in seeds.values()}) != 1:
        raise ValueError(f"every entry of runs must hold the same seeds, got {seeds}")
    return techniques


def ablation_lookup(runs: dict[str, list[Run]], techniques: list[str], on: set[str] | list[str],
                    early_stopping: bool, seed_index: int, baseline: str = "none",
                    together: str = "all") -> dict:
    """The precomputed run with the techniques ``on`` (names from ``techniques``): the
    baseline when none is on, the technique's own run when one is, ``together`` when all are.

    Returns plain data: ``available`` (False for a combination that was not trained, with a
    ``message`` saying so), the run's ``name``, ``seed``, ``steps``, ``train`` and ``val``
    curves, the baseline's ``baseline_val`` curve and last-step ``baseline_test`` (same
    seed), and the ``reported`` step,
    validation and test loss: the best validation step's with ``early_stopping``, else the
    last step's."""
    techniques = _check_runs(runs, techniques, baseline, together)
    if isinstance(on, (str, bytes)) or not isinstance(on, (set, frozenset, list, tuple)) or \
            not all(isinstance(t, str) for t in on):
        raise TypeError(f"on must be a set or list of technique names, got {on!r}")
    if not isinstance(early_stopping, bool):
        raise TypeError(f"early_stopping must be True or False, got {early_stopping!r}")
    on = set(on)
    unknown = on - set(techniques)
    if unknown:
        raise ValueError(f"unknown techniques {sorted(unknown)}; choose from {techniques}")
    seeds = [r.seed for r in runs[baseline]]
    if isinstance(seed_index, bool) or not isinstance(seed_index, int) or \
            not 0 <= seed_index < len(seeds):
        raise ValueError(f"seed_index must be an int in [0, {len(seeds) - 1}], got {seed_index!r}")
    if not on:
        name = baseline
    elif len(on) == 1:
        name = next(iter(on))
    elif on == set(techniques):
        name = together
    else:
        return {"available": False, "on": sorted(on), "early_stopping": early_stopping,
                "message": f"{' + '.join(t for t in techniques if t in on)} was not trained: "
                           f"the ablation trained each technique alone and all "
                           f"{len(techniques)} together"}
    run, base = runs[name][seed_index], runs[baseline][seed_index]
    step, val, test = run.reported(early_stopping)
    return {"available": True, "name": name, "on": sorted(on), "seed": run.seed,
            "early_stopping": early_stopping, "steps": list(run.steps),
            "train": list(run.train_loss), "val": list(run.val_loss),
            "baseline_val": list(base.val_loss), "baseline_test": base.final_test,
            "reported_step": step, "reported_val": val, "reported_test": test}


class _View:
    """One figure drawn once and updated in place; shown with ``display``."""

    def __init__(self, runs: dict[str, list[Run]]):
        self.fig, self.ax = new_figure(width=7.0, height=3.4)
        plt.close(self.fig)  # shown only through display(), never twice by the inline backend
        self.train, = self.ax.plot([], [], "o-", ms=3, color="0.55", label="training (under dropout)")
        self.val, = self.ax.plot([], [], "o-", ms=3, color=GATE_COLORS["i"], label="validation")
        self.base, = self.ax.plot([], [], "--", color=GATE_COLORS["o"], lw=1.2,
                                  label="validation, no regulariser")
        self.marker, = self.ax.plot([], [], "*", ms=14, color="black", label="reported weights")
        losses = [v for group in runs.values() for r in group
                  for v in r.val_loss[1:] + r.train_loss[1:]]
        steps = [s for group in runs.values() for r in group for s in r.steps]
        self.ax.set(xlim=(0, max(steps) * 1.02), ylim=(min(losses) - 0.1, min(3.2, max(losses)) + 0.1),
                    xlabel="training step", ylabel="nats per character")
        self.ax.legend(fontsize=8, loc="upper right")
        self.title = self.ax.set_title(" ", fontsize=10)
        self.fig.draw_without_rendering()
        self.fig.set_layout_engine("none")

    def __call__(self, result: dict) -> None:
        if not result["available"]:
            for line in (self.train, self.val, self.base, self.marker):
                line.set_data([], [])
            self.title.set_text("not trained in this notebook")
            display(self.fig)
            print(result["message"])
            return
        steps = result["steps"]
        self.train.set_data(steps[1:], result["train"][1:])
        self.val.set_data(steps, result["val"])
        self.base.set_data(steps, result["baseline_val"])
        self.marker.set_data([result["reported_step"]], [result["reported_val"]])
        stop = " + early stopping" if result["early_stopping"] else ""
        self.title.set_text(f"{result['name']}{stop}, seed {result['seed']}")
        display(self.fig)
        print(f"{result['name']}{stop}, seed {result['seed']}: reports step "
              f"{result['reported_step']}, validation {result['reported_val']:.3f}, test "
              f"{result['reported_test']:.3f} nats/char (no regulariser, last step: validation "
              f"{result['baseline_val'][-1]:.3f}, test {result['baseline_test']:.3f})")


def ablation_explorer(runs: dict[str, list[Run]], techniques: list[str], baseline: str = "none",
                      together: str = "all") -> Explorer:
    """A checkbox per technique and one for early stopping, and a seed: each change looks up
    the precomputed run (:func:`ablation_lookup`) and redraws its curves."""
    techniques = _check_runs(runs, techniques, baseline, together)
    seeds = [r.seed for r in runs[baseline]]
    controls = {name: widgets.Checkbox(value=False, description=name, indent=False)
                for name in techniques}
    controls[EARLY_STOPPING] = widgets.Checkbox(value=False, description=EARLY_STOPPING,
                                                indent=False)
    controls["seed"] = widgets.Dropdown(options=[(str(s), k) for k, s in enumerate(seeds)],
                                        value=0, description="seed")

    def compute(**values):
        on = {name for name in techniques if values[name]}
        return ablation_lookup(runs, techniques, on, values[EARLY_STOPPING], values["seed"],
                               baseline, together)

    return Explorer(controls, compute, _View(runs),
                    title="Tick the regularisers: the curves of that run, trained above")

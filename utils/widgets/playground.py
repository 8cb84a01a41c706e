"""Notebook 07's training playground: learning rate, optimizer and steps -> the loss curve.

The classic model, ``LSTMRegressor(10, 20, 2, 1)``, learns a fixed seeded task: 16 sequences
of shape ``(5, 10)`` (the classic ``(16, 5, 10)`` input) whose target is the sum of feature 0
over the five steps, divided by sqrt(5) so that it has unit variance. Every run starts from
the same weights (seed 0) and takes full-batch steps on the same data.

Training live takes longer than a slider move should, so :func:`precompute_runs` trains every
(optimizer, learning rate) pair of the slider's grid once, up front, with a progress bar (all
pairs side by side, see :func:`train_runs_together`; :func:`train_run` is the plain loop it is
tested against). A move of a control only looks a curve up (the curve of ``steps`` steps is
the first ``steps + 1`` points of the longest run, since nothing in a run depends on its
length) and redraws a small SVG chart. A learning rate typed into the slider's readout between
two grid points shows the run of the nearest grid point, and the output says so. The output
starts with the line ``final loss: <value>``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
import torch
from IPython.display import SVG, display
from torch import nn

from ..models import LSTMRegressor
from ..training import one_thread
from ..viz import GATE_COLORS
from . import Explorer

__all__ = ["OPTIMIZERS", "LR_EXPONENTS", "MAX_STEPS", "COLORS", "Task", "Run",
           "playground_task", "make_optimizer", "train_run", "train_runs_together",
           "precompute_runs", "playground_curve", "loss_curves_svg", "training_playground"]

OPTIMIZERS = ("SGD", "SGD+momentum", "Adam", "AdamW")
LR_EXPONENTS = tuple(k / 2 for k in range(-6, 1))   # log10 of the grid's rates: 1e-3 ... 1
MAX_STEPS = 100
COLORS = dict(zip(OPTIMIZERS, (GATE_COLORS["i"], GATE_COLORS["f"], GATE_COLORS["g"],
                               GATE_COLORS["o"]), strict=True))


@dataclass(frozen=True)
class Task:
    """Training data ``(x, y)`` and held-out data ``(x_test, y_test)`` of the same rule."""
    x: torch.Tensor
    y: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


@dataclass(frozen=True)
class Run:
    """One training run: ``losses[k]`` is the training loss after ``k`` steps (``nan`` after
    the loss stopped being finite); ``heldout_loss`` is the held-out loss at the end."""
    losses: np.ndarray
    heldout_loss: float

    @property
    def diverged_at(self) -> int | None:
        """The first step whose loss is not finite, or ``None``."""
        bad = np.flatnonzero(~np.isfinite(self.losses))
        return int(bad[0]) if bad.size else None


def playground_task(seed: int = 0, n_train: int = 16, n_test: int = 256) -> Task:
    """The seeded task: x ~ N(0, 1) of shape (n, 5, 10); y = sum_t x[:, t, 0] / sqrt(5)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n_train + n_test, 5, 10, generator=g)
    y = x[:, :, 0].sum(dim=1, keepdim=True) / math.sqrt(5)
    return Task(x[:n_train], y[:n_train], x[n_train:], y[n_train:])


def make_optimizer(name: str, params: Iterable[torch.Tensor], lr: float,
                   fused: bool | None = None) -> torch.optim.Optimizer:
    """``torch.optim`` optimizer ``name`` (one of :data:`OPTIMIZERS`) with learning rate ``lr``:
    SGD, SGD with momentum 0.9, Adam, AdamW (weight_decay 0.01, its default)."""
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError(f"lr must be a number > 0, got {lr!r}")
    if name == "SGD":
        return torch.optim.SGD(params, lr=lr, fused=fused)
    if name == "SGD+momentum":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, fused=fused)
    if name == "Adam":
        return torch.optim.Adam(params, lr=lr, fused=fused)
    return torch.optim.AdamW(params, lr=lr, fused=fused)


def _check_steps(steps: object) -> int:
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an int >= 1, got {steps!r}")
    return steps


def train_run(optimizer: str, lr: float, steps: int = MAX_STEPS, seed: int = 0,
              task: Task | None = None, dtype: torch.dtype = torch.float32) -> Run:
    """Train the classic model from seed ``seed`` for ``steps`` full-batch steps: the plain
    loop, one run. The playground's grid comes from :func:`train_runs_together`, which
    tests/test_widgets_playground.py compares with this: in float64, every optimizer at three
    of the grid's rates over 30 steps; in float32, Adam at 1e-2 over 100 steps."""
    _check_steps(steps)
    task = playground_task() if task is None else task
    x, y = task.x.to(dtype), task.y.to(dtype)
    losses = np.full(steps + 1, np.nan)
    with torch.random.fork_rng(devices=[]), one_thread():
        torch.manual_seed(seed)
        model = LSTMRegressor(10, 20, 2, 1).to(dtype)
        opt = make_optimizer(optimizer, model.parameters(), lr)
        for step in range(steps + 1):
            loss = nn.functional.mse_loss(model(x), y)
            if not torch.isfinite(loss):
                break
            losses[step] = loss.item()
            if step == steps:
                break
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            heldout = nn.functional.mse_loss(model(task.x_test.to(dtype)),
                                             task.y_test.to(dtype)).item()
    return Run(losses, heldout if np.isfinite(losses[-1]) else math.nan)


def _classic_forward(weights: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """``LSTMRegressor(10, 20, 2, 1)``'s forward for M weight sets at once.

    ``weights[name]`` is the parameter ``name`` of M models stacked along a new first
    dimension; batched matrix products run the M models side by side on the same ``x``
    ``(B, T, 10)``. Returns ``(M, B, 1)``. The gate order is i, f, g, o, as in ``nn.LSTM``.
    """
    m = weights["head.bias"].shape[0]
    batch, seq_len, _ = x.shape
    layer_input = x.expand(m, *x.shape).reshape(m, batch * seq_len, -1)
    for layer in range(2):
        bias = weights[f"lstm.bias_ih_l{layer}"] + weights[f"lstm.bias_hh_l{layer}"]
        projected = torch.baddbmm(bias.unsqueeze(1), layer_input,
                                  weights[f"lstm.weight_ih_l{layer}"].transpose(1, 2))
        projected = projected.view(m, batch, seq_len, -1)   # x_t W_ih^T + b for every step
        recurrent = weights[f"lstm.weight_hh_l{layer}"].transpose(1, 2)
        h = x.new_zeros(m, batch, recurrent.shape[1])
        c = torch.zeros_like(h)
        outputs = []
        for t in range(seq_len):
            i, f, g, o = torch.baddbmm(projected[:, :, t], h, recurrent).chunk(4, dim=-1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            outputs.append(h)
        layer_input = torch.stack(outputs, dim=2).view(m, batch * seq_len, -1)
    return torch.baddbmm(weights["head.bias"].unsqueeze(1), h,
                         weights["head.weight"].transpose(1, 2))


def train_runs_together(pairs: Iterable[tuple[str, float]], steps: int = MAX_STEPS,
                        seed: int = 0, task: Task | None = None,
                        dtype: torch.dtype = torch.float32, progress=None) -> list[Run]:
    """:func:`train_run` for many ``(optimizer, lr)`` pairs at once, one copy of the model per
    pair, all run side by side by :func:`_classic_forward`; returns the runs in pair order.

    Why one optimizer step serves every rate: each of these optimizers changes every number
    on its own, by ``-lr * u``, where ``u`` (the gradient, the momentum buffer, or Adam's
    ``m_hat / (sqrt(v_hat) + eps)``) depends on neither ``lr`` nor the weight; AdamW first
    multiplies the weight by ``1 - lr * wd``. So one ``torch.optim`` step with ``lr=1`` on
    weights set to zero leaves ``-u`` for every copy, and each copy then takes its own step
    ``w * (1 - lr * wd) - lr * u``. A copy whose loss stops being finite is frozen.
    """
    _check_steps(steps)
    pairs = [(name, lr) for name, lr in pairs]
    if not pairs:
        raise ValueError("pairs must list at least one (optimizer, lr) pair")
    for name, lr in pairs:
        if name not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {name!r}")
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
            raise ValueError(f"lr must be a number > 0, got {lr!r} (for {name})")
    names = [name for name in OPTIMIZERS if any(n == name for n, _ in pairs)]
    order = [k for name in names for k, (n, _) in enumerate(pairs) if n == name]  # by optimizer
    counts = {name: sum(n == name for n, _ in pairs) for name in names}
    task = playground_task() if task is None else task
    x, y = task.x.to(dtype), task.y.to(dtype)
    losses = np.full((len(pairs), steps + 1), np.nan)                # rows in `order`
    with torch.random.fork_rng(devices=[]), one_thread():
        torch.manual_seed(seed)
        model = LSTMRegressor(10, 20, 2, 1).to(dtype)
        copies = {name: {key: p.detach().expand(counts[name], *p.shape).clone().requires_grad_()
                         for key, p in model.named_parameters()} for name in names}
        optimizers = {name: make_optimizer(name, copies[name].values(), 1.0, fused=True)
                      for name in names}
        decay = {name: opt.param_groups[0]["weight_decay"] if name == "AdamW" else 0.0
                 for name, opt in optimizers.items()}
        if any(opt.param_groups[0]["weight_decay"] and not decay[name]
               for name, opt in optimizers.items()):
            raise ValueError("coupled weight decay reads the weight: it cannot be stepped on "
                             "zeroed weights")
        rate = torch.tensor([float(pairs[k][1]) for k in order], dtype=dtype)
        rates = dict(zip(names, rate.split([counts[name] for name in names]), strict=True))

        def stacked(key: str) -> torch.Tensor:
            return torch.cat([copies[name][key] for name in names])

        for step in range(steps + 1):
            weights = {key: stacked(key) for key, _ in model.named_parameters()}
            per_copy = ((_classic_forward(weights, x) - y) ** 2).mean(dim=(1, 2))
            finite = torch.isfinite(per_copy)
            losses[finite.numpy(), step] = per_copy[finite].detach().numpy()
            rate[~finite] = 0.0                               # frozen from now on
            if step == steps or not finite.any():
                break
            for opt in optimizers.values():
                opt.zero_grad()
            per_copy[finite].sum().backward()                # the copies do not interact
            before = {name: {key: w.detach().clone() for key, w in copies[name].items()}
                      for name in names}
            with torch.no_grad():
                for name in names:
                    for w in copies[name].values():
                        w.zero_()
            for opt in optimizers.values():
                opt.step()                                    # now w = -u (lr = 1)
            with torch.no_grad():
                for name in names:
                    for key, w in copies[name].items():
                        lr = rates[name].view(-1, *[1] * (w.dim() - 1))
                        stepped = before[name][key] * (1 - lr * decay[name]) + lr * w
                        w.copy_(torch.where(lr > 0, stepped, before[name][key]))
            if progress is not None:
                progress.update(1)
        if progress is not None:
            progress.update(steps - step)                     # the steps skipped by a stop
        losses[~np.isfinite(losses).cumprod(axis=1).astype(bool)] = np.nan
        with torch.no_grad():
            weights = {key: stacked(key) for key, _ in model.named_parameters()}
            heldout = ((_classic_forward(weights, task.x_test.to(dtype))
                        - task.y_test.to(dtype)) ** 2).mean(dim=(1, 2))
    runs: list[Run | None] = [None] * len(pairs)
    for row, k in enumerate(order):
        runs[k] = Run(losses[row], heldout[row].item() if np.isfinite(losses[row, -1])
                      else math.nan)
    return runs


def precompute_runs(lr_exponents: Iterable[float] = LR_EXPONENTS,
                    optimizers: Iterable[str] = OPTIMIZERS, steps: int = MAX_STEPS,
                    progress: bool = True) -> dict[tuple[str, float], Run]:
    """Train every (optimizer, 10**exponent) pair, all at once; keys are (optimizer, exponent)."""
    from tqdm.auto import tqdm

    keys = [(name, float(e)) for name in optimizers for e in lr_exponents]
    if not keys:
        raise ValueError("expected at least one optimizer and one learning-rate exponent")
    with tqdm(total=steps, desc=f"{len(keys)} runs, training steps",
              disable=not progress) as bar:
        runs = train_runs_together([(name, 10 ** e) for name, e in keys], steps, progress=bar)
    return dict(zip(keys, runs, strict=True))


def playground_curve(runs: dict[tuple[str, float], Run], lr: float, optimizer: str,
                     steps: int) -> dict:
    """Look up the run nearest to ``lr`` (in log scale) for ``optimizer``; cut it at ``steps``."""
    exponents = sorted({e for name, e in runs if name == optimizer})
    if not exponents:
        raise ValueError(f"no precomputed runs for optimizer {optimizer!r}; "
                         f"have {sorted({name for name, _ in runs})}")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError(f"lr must be a number > 0, got {lr!r}")
    exponent = min(exponents, key=lambda e: abs(e - math.log10(lr)))
    run = runs[(optimizer, exponent)]
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps < len(run.losses):
        raise ValueError(f"steps must be an int in [1, {len(run.losses) - 1}], got {steps!r}")
    losses = run.losses[:steps + 1]
    others = {name: runs[(name, exponent)].losses[:steps + 1] for name, e in runs
              if e == exponent and name != optimizer}
    return {"lr_requested": float(lr), "lr": 10 ** exponent, "optimizer": optimizer,
            "steps": steps, "losses": losses, "final_loss": float(losses[-1]),
            "others": others}


def loss_curves_svg(result: dict, ylim: tuple[float, float], max_steps: int,
                    baseline: float) -> str:
    """The loss curves of :func:`playground_curve`'s ``result`` as a small SVG line chart:
    log-scale loss against step, the chosen optimizer bold, the others faint, the baseline
    dashed. Drawn by hand because it is redrawn on every move of a control, and an SVG string
    costs a millisecond where a matplotlib PNG costs a few hundred. Losses outside ``ylim``
    leave the plot (a run that blows up exits through the top)."""
    width, height, left, right, top, bottom = 660, 280, 58, 132, 26, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    low, high = math.log10(ylim[0]), math.log10(ylim[1])

    def sx(step: float) -> float:
        return left + plot_w * step / max_steps

    def sy(value: float) -> float:
        return top + plot_h * (high - math.log10(value)) / (high - low)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<defs><clipPath id="plot-area"><rect x="{left}" y="{top}" width="{plot_w}" '
           f'height="{plot_h}"/></clipPath></defs>',
           f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="white" '
           f'stroke="#444"/>']
    for k in range(math.ceil(low), math.floor(high) + 1):                # one tick per decade
        y = sy(10.0 ** k)
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="#ddd"/><text x="{left - 6}" y="{y + 4:.1f}" '
                   f'text-anchor="end">1e{k}</text>')
    for step in range(0, max_steps + 1, max(1, max_steps // 5)):
        x = sx(step)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + plot_h}" '
                   f'stroke="#eee"/><text x="{x:.1f}" y="{top + plot_h + 15}" '
                   f'text-anchor="middle">{step}</text>')
    out.append(f'<text x="{left + plot_w / 2}" y="{height - 6}" text-anchor="middle">step'
               f'</text><text x="14" y="{top + plot_h / 2}" text-anchor="middle" '
               f'transform="rotate(-90 14 {top + plot_h / 2})">training loss (MSE)</text>')
    y = sy(baseline)
    out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
               f'stroke="#666" stroke-dasharray="5 4"/>')
    curves = dict(result["others"])
    curves[result["optimizer"]] = result["losses"]
    for index, name in enumerate(n for n in OPTIMIZERS if n in curves):
        mine = name == result["optimizer"]
        curve = curves[name]
        bad = np.flatnonzero(~np.isfinite(curve))
        finite = curve[:bad[0]] if bad.size else curve            # up to the overflow
        points = " ".join(f"{sx(step):.1f},{sy(max(v, 1e-300)):.1f}"
                          for step, v in enumerate(finite))
        style = 'stroke-width="2.6"' if mine else 'stroke-width="1.2" stroke-opacity="0.5"'
        out.append(f'<polyline clip-path="url(#plot-area)" fill="none" stroke="{COLORS[name]}" '
                   f'{style} points="{points}"><title>{name}</title></polyline>')
        legend_y = top + 10 + 18 * index
        weight = "bold" if mine else "normal"
        out.append(f'<line x1="{width - right + 12}" x2="{width - right + 32}" '
                   f'y1="{legend_y}" y2="{legend_y}" stroke="{COLORS[name]}" {style}/>'
                   f'<text x="{width - right + 38}" y="{legend_y + 4}" '
                   f'font-weight="{weight}">{name}</text>')
    legend_y = top + 10 + 18 * len(OPTIMIZERS)
    out.append(f'<line x1="{width - right + 12}" x2="{width - right + 32}" y1="{legend_y}" '
               f'y2="{legend_y}" stroke="#666" stroke-dasharray="5 4"/><text '
               f'x="{width - right + 38}" y="{legend_y + 4}">predict the mean</text>')
    out.append(f'<text x="{left + plot_w / 2}" y="{top - 9}" text-anchor="middle" '
               f'font-size="12">{result["optimizer"]}, lr = {result["lr"]:.3g}, '
               f'{result["steps"]} steps</text></svg>')
    return "".join(out)


class _View:
    """Prints the line ``final loss: ...`` (a browser test reads it), then the SVG chart."""

    def __init__(self, runs: dict[tuple[str, float], Run], baseline: float):
        finite = np.concatenate([r.losses[np.isfinite(r.losses)] for r in runs.values()])
        self.max_steps = max(len(r.losses) for r in runs.values()) - 1
        # the scale stays on the useful range whatever is chosen
        self.ylim = (10 ** math.floor(math.log10(max(finite.min(), 1e-12))), 100 * baseline)
        self.baseline = baseline
        self.svg = ""

    def __call__(self, result: dict) -> None:
        losses = result["losses"]
        bad = np.flatnonzero(~np.isfinite(losses))
        note = f" (the loss overflowed at step {bad[0]})" if bad.size else ""
        print(f"final loss: {result['final_loss']:.6g}{note}")
        if abs(math.log10(result["lr_requested"] / result["lr"])) > 1e-9:
            print(f"lr {result['lr_requested']:.3g} lies between the precomputed rates: "
                  f"showing the nearest, {result['lr']:.3g}")
        self.svg = loss_curves_svg(result, self.ylim, self.max_steps, self.baseline)
        display(SVG(self.svg))


def training_playground(runs: dict[tuple[str, float], Run] | None = None) -> Explorer:
    """Controls ``lr`` (log scale), ``optimizer`` and ``steps`` over precomputed ``runs``
    (trained here, with a progress bar, when not given)."""
    runs = precompute_runs() if runs is None else runs
    if not runs:
        raise ValueError("runs is empty: expected the output of precompute_runs()")
    exponents = sorted({e for _, e in runs})
    names = [name for name in OPTIMIZERS if any(n == name for n, _ in runs)]
    max_steps = min(len(r.losses) for r in runs.values()) - 1
    step = exponents[1] - exponents[0] if len(exponents) > 1 else 1.0
    start_exponent = min(exponents, key=lambda e: abs(e + 2))       # about 1e-2
    task = playground_task()
    baseline = nn.functional.mse_loss(task.y.mean().expand_as(task.y), task.y).item()
    steps_step = 5 if max_steps >= 20 else 1
    controls = {
        "lr": widgets.FloatLogSlider(value=10 ** start_exponent, base=10, min=exponents[0],
                                     max=exponents[-1], step=step, description="lr",
                                     readout=True, readout_format=".3g",
                                     continuous_update=False),
        "optimizer": widgets.Dropdown(options=names, value="Adam" if "Adam" in names
                                      else names[0], description="optimizer"),
        "steps": widgets.IntSlider(value=max_steps, min=steps_step, max=max_steps,
                                   step=steps_step, description="steps", readout=True,
                                   continuous_update=False),
    }
    return Explorer(controls, lambda **values: playground_curve(runs, **values),
                    _View(runs, baseline),
                    title="Training playground: the classic model on a fixed task")

# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 07 · Adam and the training step
#
# Three lines do all the learning in the classic example: `optimizer.zero_grad()`,
# `loss.backward()`, `optimizer.step()`. This notebook takes them apart: what each call does to
# `.grad` and to the weights, and what happens when `zero_grad` is forgotten; the Adam update
# written out in a dozen lines and proven equal to `torch.optim.Adam` number for number; what
# Adam's `weight_decay` really does and how AdamW differs; how much the learning rate matters;
# how to tame an exploding gradient; and how to save a run so that it resumes exactly where it
# stopped.
#
# **You will learn**
#
# - **KP 07.1** what `zero_grad`, `backward` and `step` each do, and that without `zero_grad`
#   gradients add up;
# - **KP 07.2** the Adam update (moments, bias correction, `eps` after the square root), written
#   out and proven equal to `torch.optim.Adam` over 100 steps of the classic model;
# - **KP 07.3** that `weight_decay` in Adam is coupled L2 while AdamW decouples it, and what that
#   changes;
# - **KP 07.4** how sensitive training is to the learning rate, and Adam versus SGD on the same
#   budget of steps;
# - **KP 07.5** gradient clipping with `clip_grad_norm_` against an exploding gradient;
# - **KP 07.6** saving and restoring the optimizer's state so that training resumes bit for bit.
#
# **Run time:** about 9 s on a 2-core laptop-class CPU; the last cell prints the measured time
# and peak memory of the run whose outputs you see.

# %%
import copy
import inspect
import io
import math
import time
from functools import partial

notebook_started = time.perf_counter()

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from utils.checks import nb07
from utils.models import LSTMRegressor
from utils.optim import Adam, AdamW
from utils.training import env_report, pick_device, run_summary, set_seed
from utils.viz import GATE_COLORS, new_figure
from utils.widgets.playground import (COLORS, LR_EXPONENTS, OPTIMIZERS, playground_task,
                                      precompute_runs, train_run, training_playground)

torch.set_num_threads(1)  # the models here are tiny: a second thread costs more than it saves
set_seed(0)
device = pick_device()
print(env_report(device))

# %% [markdown]
# Everything below runs on the CPU, whatever device is printed: the models are tiny, and the
# bit-for-bit proofs of section 6 are statements about one device's arithmetic.
#
# ## 1. `zero_grad`, `backward`, `step`
#
# - `loss.backward()` computes d loss / d p for every parameter `p` that took part in the loss
#   and **adds** it into `p.grad` (creating `p.grad` the first time);
# - `optimizer.step()` reads every `p.grad` and changes `p` in place; plain SGD does
#   `p ← p − lr · p.grad`;
# - `optimizer.zero_grad()` forgets the gradients: by default (`set_to_none=True`) it sets
#   `p.grad = None` rather than filling zeros.
#
# One step of the classic model with plain SGD, watched on one parameter, the head's weight:

# %%
torch.manual_seed(0)
model = LSTMRegressor(10, 20, 2, 1)
x, y = torch.randn(16, 5, 10), torch.randn(16, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
w = model.head.weight
grad_at_start = w.grad
loss = nn.functional.mse_loss(model(x), y)
loss.backward()
w_before, grad = w.detach().clone(), w.grad.clone()
optimizer.step()
optimizer.zero_grad()
print(f"head.weight.grad before backward: {grad_at_start};  after backward: shape "
      f"{tuple(grad.shape)}, norm {grad.norm():.4f}")
print(f"step moved head.weight by {(w.detach() - w_before).norm():.5f} (= 0.1 x the gradient's "
      f"norm);  grad after zero_grad: {w.grad}")

# %%
# KP 07.1
assert grad_at_start is None and w.grad is None     # no gradient before backward, none after zero_grad
assert grad.shape == w.shape
torch.testing.assert_close(w.detach(), w_before - 0.1 * grad)   # SGD: p <- p - lr * grad
assert inspect.signature(torch.optim.Optimizer.zero_grad).parameters["set_to_none"].default

# %% [markdown]
# ### Without `zero_grad`, gradients add up
#
# `backward` *adds* into `.grad`. Split the batch into halves `a` and `b`; compute the gradient
# of each alone, then call `backward` on both with no `zero_grad` in between:

# %%
def gradients(net, batches, scale=1.0):
    """Every parameter's .grad after backward on each (x, y) batch, no zero_grad in between."""
    net.zero_grad()
    for batch_x, batch_y in batches:
        (scale * nn.functional.mse_loss(net(batch_x), batch_y)).backward()
    return [p.grad.clone() for p in net.parameters()]


batch_a, batch_b = (x[:8], y[:8]), (x[8:], y[8:])
grad_a, grad_b = gradients(model, [batch_a]), gradients(model, [batch_b])
grad_both = gradients(model, [batch_a, batch_b])
print(f"head.weight: |grad a| = {grad_a[-2].norm():.4f}, |grad b| = {grad_b[-2].norm():.4f}, "
      f"|after both| = {grad_both[-2].norm():.4f}, |a + b| = {(grad_a[-2] + grad_b[-2]).norm():.4f}")

# %% [markdown]
# The accumulated gradient is the sum, bit for bit: the second `backward` does the same
# addition. Used on purpose, that is *gradient accumulation*: two half batches, each loss
# scaled by 1/2, give the gradient of the full batch, up to rounding (a way to train with
# batches larger than memory allows).

# %%
# KP 07.1
for accumulated, ga, gb in zip(grad_both, grad_a, grad_b, strict=True):
    assert torch.equal(accumulated, ga + gb)
full_batch = gradients(model, [(x, y)])
two_halves = gradients(model, [batch_a, batch_b], scale=0.5)
for g_full, g_halves in zip(full_batch, two_halves, strict=True):
    torch.testing.assert_close(g_halves, g_full)

# %% [markdown]
# Forgotten in a training loop, `zero_grad`'s absence makes every step use the **sum of all
# gradients so far**: a momentum that never decays (SGD with `momentum=1`). Both loops below
# train the classic model with SGD (lr = 0.1) on the task of section 4; the second never calls
# `zero_grad`.

# %%
task = playground_task()


def sgd_losses(call_zero_grad, steps=60, lr=0.1, momentum=0.0):
    torch.manual_seed(0)
    net = LSTMRegressor(10, 20, 2, 1)
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum)
    losses = []
    for _ in range(steps):
        if call_zero_grad:
            opt.zero_grad()
        loss = nn.functional.mse_loss(net(task.x), task.y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return np.array(losses)


with_zero_grad, without_zero_grad = sgd_losses(True), sgd_losses(False)

# %%
fig, ax = new_figure(height=2.8)
ax.plot(with_zero_grad, color=GATE_COLORS["g"], label="zero_grad every step")
ax.plot(without_zero_grad, color=GATE_COLORS["o"], label="zero_grad forgotten")
ax.set(xlabel="step", ylabel="training loss (MSE)", title="SGD, lr = 0.1")
ax.legend()
plt.show()
rises = lambda losses: int((np.diff(losses) > 0).sum())
print(f"steps where the loss rose: with zero_grad {rises(with_zero_grad)}, "
      f"without {rises(without_zero_grad)}")

# %% [markdown]
# With `zero_grad` the loss falls at every step. Without it, the sum of old gradients acts as an
# ever larger step: here it even gets lower sooner, which is how the bug slips through, but it
# cannot settle. The old gradients keep pushing the weights past the minimum, and the loss rises
# again and again.

# %%
# KP 07.1
assert rises(with_zero_grad) == 0
assert rises(without_zero_grad) >= 5
# forgetting zero_grad is, bit for bit, SGD with a momentum that never decays
assert np.array_equal(without_zero_grad, sgd_losses(True, momentum=1.0))

# %% [markdown]
# ## 2. The Adam update, written out
#
# Adam (Kingma & Ba, 2015) keeps two running averages for every number θ of every parameter:
# $m$ of its gradient $g$ and $v$ of the gradient's square. At step $t$:
#
# $$m_t = \beta_1 m_{t-1} + (1-\beta_1)\,g_t \qquad v_t = \beta_2 v_{t-1} + (1-\beta_2)\,g_t^2$$
#
# Both start at zero, so early averages are pulled towards zero; dividing by $1-\beta^t$ undoes
# that (the *bias correction*):
#
# $$\hat m_t = \frac{m_t}{1-\beta_1^t} \qquad \hat v_t = \frac{v_t}{1-\beta_2^t} \qquad
#   \theta_t = \theta_{t-1} - \eta\,\frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}$$
#
# with $\eta$ = `lr`, $(\beta_1, \beta_2)$ = `betas` = (0.9, 0.999), and $\epsilon$ = `eps` =
# 1e-8 added **after** the square root. The ratio $\hat m/\sqrt{\hat v}$ is about ±1 when the
# gradient keeps its sign, so each number moves by about `lr` whatever the gradient's scale.
# `weight_decay` (λ) adds λθ to $g_t$ first (section 3). The same equations, one line each:

# %%
@torch.no_grad()
def adam_by_hand(params, state, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 decoupled=False):
    """One Adam step (AdamW's if decoupled) on every parameter; state[i] holds t, m and v."""
    beta1, beta2 = betas
    for i, p in enumerate(params):
        s = state.setdefault(i, {"t": 0, "m": torch.zeros_like(p), "v": torch.zeros_like(p)})
        if decoupled:
            p -= lr * weight_decay * p                     # AdamW: shrink the weight itself
            g = p.grad
        else:
            g = p.grad + weight_decay * p                  # Adam: the L2 term joins the gradient
        s["t"] += 1
        s["m"] = beta1 * s["m"] + (1 - beta1) * g          # m_t
        s["v"] = beta2 * s["v"] + (1 - beta2) * g * g      # v_t
        m_hat, v_hat = s["m"] / (1 - beta1 ** s["t"]), s["v"] / (1 - beta2 ** s["t"])
        p -= lr * m_hat / (v_hat.sqrt() + eps)             # eps after the square root

# %% [markdown]
# ### Why the bias correction
#
# Feed `torch.optim.Adam` a constant gradient and measure each step: it is `lr` from the very
# first step on. Without the correction, $m_1 = 0.1\,g$ and $\sqrt{v_1} \approx 0.03\,|g|$, so the
# first steps would be several times too large, and it would take hundreds of steps to settle:

# %%
theta = torch.zeros(1, dtype=torch.float64, requires_grad=True)
constant_adam = torch.optim.Adam([theta], lr=0.01)
step_sizes = []
for _ in range(500):
    theta.grad = torch.full_like(theta, 0.5)           # the same gradient at every step
    before = theta.item()
    constant_adam.step()
    step_sizes.append(abs(theta.item() - before) / 0.01)
t = np.arange(1, 501)
uncorrected = (1 - 0.9 ** t) / np.sqrt(1 - 0.999 ** t)  # m_t / sqrt(v_t) for a constant g
fig, ax = new_figure(height=2.8)
ax.plot(t, uncorrected, color=GATE_COLORS["o"], label="without bias correction (formula)")
ax.plot(t, step_sizes, color=GATE_COLORS["g"], label="torch.optim.Adam (measured)")
ax.set(xscale="log", xlabel="step t", ylabel="|step| / lr", title="a constant gradient")
ax.legend(loc="lower center", bbox_to_anchor=(0.5, 0.12))
plt.show()
print(f"largest uncorrected step: {uncorrected.max():.2f} x lr at t = {uncorrected.argmax() + 1}")

# %%
# KP 07.2
np.testing.assert_allclose(step_sizes, 1.0, rtol=1e-6)   # every step is lr, from step 1 on
assert uncorrected.max() > 6 and uncorrected[-1] > 1.2   # uncorrected: too big, for long

# %% [markdown]
# ### `eps` sits after the square root
#
# It matters where gradients are tiny. For a first step with gradient $g$ = 1e-4, eps after the
# root gives $\eta\,g/(|g| + \epsilon) \approx \eta$; eps inside, $\eta\,g/\sqrt{g^2 + \epsilon}$,
# would give 0.71 η. PyTorch takes the first:

# %%
theta = torch.zeros(1, dtype=torch.float64, requires_grad=True)
theta.grad = torch.full_like(theta, 1e-4)
torch.optim.Adam([theta], lr=0.1, eps=1e-8).step()
g, lr, eps = 1e-4, 0.1, 1e-8
eps_after_root, eps_inside_root = -lr * g / (abs(g) + eps), -lr * g / math.sqrt(g * g + eps)
print(f"torch's first step: {theta.item():.8f};  eps after the root: {eps_after_root:.8f};  "
      f"eps inside: {eps_inside_root:.8f}")

# %%
# KP 07.2
assert math.isclose(theta.item(), eps_after_root, rel_tol=1e-12)
assert not math.isclose(theta.item(), eps_inside_root, rel_tol=0.1)

# %% [markdown]
# ### The handwritten Adam equals `torch.optim.Adam`, parameter for parameter
#
# Copies of the classic model start from the same weights and take 100 steps on the same
# batch: one with `torch.optim.Adam`, one with `adam_by_hand`, one with `utils.optim.Adam` (the
# same lines packaged with the `torch.optim` interface, for reuse). After **every** step,
# **every** parameter is compared with the first copy's. In float64 rounding is about 1e-16,
# so any difference above 1e-12 would be a difference in the algorithm.

# %%
x64, y64 = x.double(), y.double()


def side_by_side(make_steps, steps=100):
    """Train one float64 copy of the classic model per entry of make_steps (name -> function
    of the parameters that returns a step function); return each copy's largest |difference|
    from the first copy over all steps and parameters, and the copies."""
    torch.manual_seed(0)
    first = LSTMRegressor(10, 20, 2, 1).double()
    models = [first] + [copy.deepcopy(first) for _ in range(len(make_steps) - 1)]
    steppers = [make(list(net.parameters())) for make, net in zip(make_steps.values(), models, strict=True)]
    worst = dict.fromkeys(make_steps, 0.0)
    for _ in range(steps):
        for net, step in zip(models, steppers, strict=True):
            net.zero_grad()
            nn.functional.mse_loss(net(x64), y64).backward()
            step()
        for name, net in zip(make_steps, models, strict=True):
            worst[name] = max(worst[name], *[(p - q).abs().max().item() for p, q in
                                             zip(net.parameters(), first.parameters(), strict=True)])
    return worst, models

# %%
worst, (adam_model, *_) = side_by_side({
    "torch.optim.Adam": lambda ps: torch.optim.Adam(ps, lr=0.01).step,
    "adam_by_hand": lambda ps: partial(adam_by_hand, ps, {}, lr=0.01),
    "utils.optim.Adam": lambda ps: Adam(ps, lr=0.01).step,
})
torch.manual_seed(0)
start = LSTMRegressor(10, 20, 2, 1).double()
moved = max((p - q).abs().max().item()
            for p, q in zip(adam_model.parameters(), start.parameters(), strict=True))
print("largest |difference| from torch.optim.Adam over 100 steps:",
      {name: f"{d:.1e}" for name, d in worst.items()})
print(f"largest change of any weight during training: {moved:.3f}")

# %%
# KP 07.2
assert worst["adam_by_hand"] < 1e-12 and worst["utils.optim.Adam"] < 1e-12, worst
assert moved > 0.1   # the weights really moved: agreeing is not trivial

# %% [markdown]
# The differences left are rounding: torch evaluates the same formula in another order. Written
# in torch's order (`lerp_` for m, √v divided by √(1 − β₂ᵗ), and lr/(1 − β₁ᵗ) folded into one
# `addcdiv_`), the update equals torch's bit for bit, even in float32, here over 100 steps of
# 1,000 numbers with random gradients:

# %%
torch.manual_seed(0)
theta = torch.randn(1000, requires_grad=True)
mirror, m, v = theta.detach().clone(), torch.zeros(1000), torch.zeros(1000)
reference = torch.optim.Adam([theta], lr=0.01)
bit_equal = []
for t in range(1, 101):
    g = torch.randn(1000)
    theta.grad = g.clone()
    reference.step()
    m.lerp_(g, 1 - 0.9)
    v.mul_(0.999).addcmul_(g, g, value=1 - 0.999)
    denom = (v.sqrt() / math.sqrt(1 - 0.999 ** t)).add_(1e-8)
    mirror.addcdiv_(m, denom, value=-0.01 / (1 - 0.9 ** t))
    bit_equal.append(torch.equal(theta.detach(), mirror))
print(f"bit-for-bit equal to torch.optim.Adam after {sum(bit_equal)} of 100 steps")

# %%
# KP 07.2
assert all(bit_equal)

# %% [markdown]
# ## 3. `weight_decay`: coupled L2 in Adam, decoupled in AdamW
#
# `torch.optim.Adam(..., weight_decay=λ)` adds λθ to the gradient, which is L2 regularisation
# of the loss. That term then goes through $m$ and $v$ like any gradient, so it is divided by
# $\sqrt{\hat v}$. `torch.optim.AdamW` (Loshchilov & Hutter, 2019) shrinks the weight itself and
# runs plain Adam on the loss gradient:
#
# $$\text{Adam: } g_t = \nabla L(\theta_{t-1}) + \lambda\,\theta_{t-1} \qquad\qquad
#   \text{AdamW: } \theta \leftarrow \theta - \eta\lambda\,\theta,\quad g_t = \nabla L(\theta_{t-1})$$
#
# `adam_by_hand` does both (`decoupled=False` / `True`). First, proof that each is what torch does:

# %%
worst_l2, (l2_model, *_) = side_by_side({
    "torch.optim.Adam(weight_decay=0.1)": lambda ps: torch.optim.Adam(ps, lr=0.01,
                                                                      weight_decay=0.1).step,
    "adam_by_hand(weight_decay=0.1)": lambda ps: partial(adam_by_hand, ps, {}, lr=0.01,
                                                         weight_decay=0.1),
})
worst_w, (adamw_model, *_) = side_by_side({
    "torch.optim.AdamW(weight_decay=0.1)": lambda ps: torch.optim.AdamW(ps, lr=0.01,
                                                                        weight_decay=0.1).step,
    "adam_by_hand(weight_decay=0.1, decoupled=True)": lambda ps: partial(
        adam_by_hand, ps, {}, lr=0.01, weight_decay=0.1, decoupled=True),
    "utils.optim.AdamW(weight_decay=0.1)": lambda ps: AdamW(ps, lr=0.01, weight_decay=0.1).step,
})
apart = max((p - q).abs().max().item()
            for p, q in zip(l2_model.parameters(), adamw_model.parameters(), strict=True))
for name, d in [*worst_l2.items(), *worst_w.items()]:
    print(f"{name:48s} largest |difference| from torch: {d:.1e}")
print(f"Adam(weight_decay=0.1) versus AdamW(weight_decay=0.1) after 100 steps: {apart:.3f}")

# %%
# KP 07.3
assert all(d < 1e-12 for d in [*worst_l2.values(), *worst_w.values()])
assert apart > 0.01   # same lr, same lambda, different algorithms

# %% [markdown]
# ### What the coupling changes: a weight's decay depends on its gradient
#
# Two weights, both 1.0. The loss gives the first a large gradient that flips sign at every
# step (±10: it averages out), the second none at all. Adam's L2 term is divided by $\sqrt{\hat v}$:
# about 10 for the first weight, about λθ for the second. So the first barely decays, while the
# second at first moves by η per step, whatever λ (later a little less, as $v$ still remembers the
# larger θ of earlier steps). AdamW shrinks both by the same factor $1 - \eta\lambda$ per step.

# %%
def decay_paths(make_optimizer, steps=200):
    theta = torch.ones(2, dtype=torch.float64, requires_grad=True)
    opt = make_optimizer([theta])
    path = [theta.detach().clone()]
    for k in range(steps):
        theta.grad = torch.tensor([10.0 * (-1) ** k, 0.0], dtype=torch.float64)
        opt.step()
        path.append(theta.detach().clone())
    return torch.stack(path).numpy()


lr, lam = 0.01, 1.0
coupled = decay_paths(lambda ps: torch.optim.Adam(ps, lr=lr, weight_decay=lam))
decoupled = decay_paths(lambda ps: torch.optim.AdamW(ps, lr=lr, weight_decay=lam))
shrink = (1 - lr * lam) ** np.arange(201)

# %%
fig, ax = new_figure(height=3.0)
for path, style, name in [(coupled, "-", "Adam"), (decoupled, "--", "AdamW")]:
    ax.plot(path[:, 0], style, color=GATE_COLORS["o"], label=f"{name}: gradient ±10")
    ax.plot(path[:, 1], style, color=GATE_COLORS["i"], label=f"{name}: no gradient")
ax.plot(shrink, ":", color="0.3", label="(1 - lr·λ)^t")
ax.set(xlabel="step", ylabel="weight", title="weight_decay = 1.0, lr = 0.01")
ax.legend(fontsize=8, ncols=2)
plt.show()
print(f"after 200 steps  Adam: {coupled[-1].round(3)}  AdamW: {decoupled[-1].round(3)}  "
      f"(1 - lr·λ)^200 = {shrink[-1]:.3f}")

# %%
# KP 07.3
assert coupled[-1, 0] > 0.75 and abs(coupled[-1, 1]) < 0.05    # Adam: decay depends on the gradient
np.testing.assert_allclose(-np.diff(coupled[:11, 1]), lr, rtol=0.02)  # first about eta per step
np.testing.assert_allclose(decoupled[:, 1], shrink, rtol=1e-9)  # AdamW: exactly (1 - lr*lam)^t
np.testing.assert_allclose(decoupled[-1, 0], shrink[-1], atol=0.01)  # ... for both weights

# %% [markdown]
# So with Adam, `weight_decay` regularises weights with small gradients much more than weights
# with large ones, and how much depends on the gradient history; with AdamW it is a plain
# shrinkage, separate from the gradient step. That is why AdamW is the usual choice when weight
# decay is wanted.
#
# ## 4. Learning-rate sensitivity, and Adam versus SGD
#
# The task of the training playground (`utils.widgets.playground`): 16 sequences of shape
# (5, 10), the classic input; the target is the sum of feature 0 over the 5 steps divided by √5
# (unit variance); 256 more sequences of the same rule are held out. Every run starts from the
# same seed-0 weights and takes 100 full-batch steps. Each optimizer trains at 7 learning
# rates, 1e-3 to 1, in half decades.
#
# To keep this fast, all 28 runs (4 optimizers × 7 rates) are trained together, as 28 stacked
# copies of the model run by batched matrix products. One `torch.optim` step with lr = 1 serves
# every rate, because each of these updates is lr times something that does not depend on lr
# (the docstring of `train_runs_together` says why). `tests/test_widgets_playground.py` checks
# the stacking against the plain loop (`train_run`: one model, one `torch.optim` optimizer) in
# float64 for each of the 4 optimizers at three rates, 1e-3, 1e-2 and 1e-1, trained together
# for 30 steps: the loss at every step and the held-out loss agree to a relative 1e-9. It does not
# compare the half-decade rates nor lr = 1, where training is chaotic and any two
# implementations, even PyTorch's fused and unfused Adam, part ways. Here, as in one more test of
# that file, a single run of the grid (Adam, lr 1e-2) is checked in float32 against the plain
# loop over all 100 steps: the two losses agree to a relative 1e-4 at every step. They are not
# equal bit for bit: batched and single matrix products round differently in float32, and the
# relative gap grows as the loss falls (by the factor printed below), so the largest gap,
# 3.8e-5, comes near the end.

# %%
runs = precompute_runs()
plain = train_run("Adam", 1e-2)
together = runs[("Adam", -2.0)]
gap = np.abs(np.subtract(together.losses, plain.losses)) / np.abs(plain.losses)
print(f"Adam, lr 1e-2, loss after 100 steps: trained together {together.losses[-1]:.6g}, "
      f"plain loop {plain.losses[-1]:.6g}; first loss {plain.losses[0]:.4g}, "
      f"{plain.losses[0] / plain.losses[-1]:,.0f} times the last")
print(f"largest relative gap over the {len(gap)} losses: {gap.max():.1e} (at step {gap.argmax()})")

# %%
# KP 07.4
np.testing.assert_allclose(together.losses, plain.losses, rtol=1e-4)

# %%
lrs = 10.0 ** np.array(LR_EXPONENTS)
initial = runs[("SGD", LR_EXPONENTS[0])].losses[0]
baseline = ((task.y - task.y.mean()) ** 2).mean().item()   # always predict the mean
final = {name: np.array([runs[(name, e)].losses[-1] for e in LR_EXPONENTS]) for name in OPTIMIZERS}
fig, ax = new_figure(width=7.6, height=3.2)
for name in OPTIMIZERS:
    ax.plot(lrs, final[name], "o-", color=COLORS[name], label=name)
    blown = ~np.isfinite(final[name])
    ax.plot(lrs[blown], np.full(blown.sum(), 30.0), "x", color=COLORS[name], ms=10, mew=2)
ax.axhline(baseline, color="0.4", ls="--", lw=1, label="predict the mean")
ax.set(xscale="log", yscale="log", xlabel="learning rate", ylim=(3e-7, 100),
       ylabel="training loss after 100 steps", title="each optimizer at 7 rates (×: diverged)")
ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
plt.show()

# %% [markdown]
# Read the plot from left to right. SGD does nothing useful below 0.1 (the loss stays near where
# it started), works in a narrow band, and diverges at 1. Adam already trains at 1e-3 and stays
# good at every rate of the grid but the largest; at 1 its steps of about `lr` per number are
# too big for this problem. Momentum widens SGD's band.

# %%
# KP 07.4
good = {name: int((final[name] < 0.1 * initial).sum()) for name in OPTIMIZERS}
print("learning rates (of 7) that bring the loss below 10% of its start:", good)
assert np.all(final["SGD"][lrs < 0.1] > 0.8 * initial) and not np.isfinite(final["SGD"][-1])
assert final["Adam"][0] < 0.1 * initial                 # Adam trains already at 1e-3
adam_good = lrs[final["Adam"] < 0.1 * initial]
assert adam_good.max() / adam_good.min() >= 100          # ... over two decades
assert final["Adam"][-1] > 100 * final["Adam"].min()    # ... and lr = 1 is too much
assert good["Adam"] >= good["SGD"] + 3 and good["SGD+momentum"] > good["SGD"]
assert good["Adam"] == len(lrs) - 1 and final["Adam"][-1] >= 0.1 * initial  # all but lr = 1

# %% [markdown]
# ### Adam versus SGD on the same budget
#
# Each optimizer at its best learning rate, chosen on the **training** loss (the held-out data
# chooses nothing), after the same 100 steps; the held-out loss is reported beside it, against
# the baseline of predicting the training targets' mean:

# %%
heldout_baseline = ((task.y_test - task.y.mean()) ** 2).mean().item()
best = {name: LR_EXPONENTS[int(np.nanargmin(final[name]))] for name in OPTIMIZERS}
print(f"{'optimizer':14s} {'best lr':>8s} {'training loss':>14s} {'held-out loss':>14s}")
for name in OPTIMIZERS:
    run = runs[(name, best[name])]
    print(f"{name:14s} {10 ** best[name]:8.3g} {run.losses[-1]:14.3g} {run.heldout_loss:14.3g}")
print(f"{'predict mean':14s} {'':8s} {baseline:14.3g} {heldout_baseline:14.3g}")

# %%
# KP 07.4
train_best = {name: runs[(name, best[name])].losses[-1] for name in OPTIMIZERS}
heldout_best = {name: runs[(name, best[name])].heldout_loss for name in OPTIMIZERS}
for adaptive in ("Adam", "AdamW"):
    assert train_best[adaptive] < 0.5 * min(train_best["SGD"], train_best["SGD+momentum"])
assert all(loss < heldout_baseline for loss in heldout_best.values())
assert min(train_best, key=train_best.get) != min(heldout_best, key=heldout_best.get)

# %% [markdown]
# On the same budget Adam and AdamW drive the training loss far below SGD's (with or without
# momentum), and every optimizer beats the baseline on held-out data. But the run with the
# lowest training loss is not the one with the lowest held-out loss: with 16 training
# sequences, fitting them fastest also means memorising them fastest. An optimizer's job is the
# training loss; choosing when to stop is the job of validation data (notebook 08).
#
# ## 5. Gradient clipping against an exploding gradient
#
# Back-propagation through time multiplies by the recurrent weights once per time step. When
# they are large, the gradient can grow exponentially with the sequence length. Here, the
# classic model with its recurrent weights (`weight_hh_l0`, `weight_hh_l1`) multiplied by 10,
# beside the default, on sequences of 5 to 50 steps:

# %%
def scaled_model(scale):
    torch.manual_seed(0)
    net = LSTMRegressor(10, 20, 2, 1)
    with torch.no_grad():
        for name, p in net.lstm.named_parameters():
            if name.startswith("weight_hh"):
                p.mul_(scale)
    return net


def long_task(seq_len, n=16):
    g = torch.Generator().manual_seed(1)
    xs = torch.randn(n, seq_len, 10, generator=g)
    return xs, xs[:, :, 0].sum(dim=1, keepdim=True) / math.sqrt(seq_len)


def total_grad_norm(net):
    return torch.linalg.vector_norm(torch.cat([p.grad.flatten() for p in net.parameters()]))

# %%
lengths = [5, 10, 20, 30, 40, 50]
norms = {}
for scale in (1, 10):
    net, norms[scale] = scaled_model(scale), []
    for seq_len in lengths:
        xs, ys = long_task(seq_len)
        net.zero_grad()
        nn.functional.mse_loss(net(xs), ys).backward()
        norms[scale].append(total_grad_norm(net).item())
fig, ax = new_figure(height=2.8)
ax.plot(lengths, norms[1], "o-", color=GATE_COLORS["g"], label="default weights")
ax.plot(lengths, norms[10], "o-", color=GATE_COLORS["o"], label="recurrent weights x 10")
ax.set(yscale="log", xlabel="sequence length", ylabel="gradient norm (all parameters)")
ax.legend()
plt.show()

# %%
# KP 07.5
assert norms[10][-1] > 1000 * norms[10][0]          # explodes with the length
assert max(norms[1]) < 10 * min(norms[1])           # the default stays within a factor of 10

# %% [markdown]
# `nn.utils.clip_grad_norm_(params, max_norm)` measures the norm of **all** gradients taken
# together, as if concatenated into one vector; if it exceeds `max_norm`, it multiplies every
# gradient by `max_norm / (norm + 1e-6)`, in place, which keeps the direction. It **returns the
# norm measured before clipping**, the number worth logging.

# %%
net = scaled_model(10)
xs, ys = long_task(50)
nn.functional.mse_loss(net(xs), ys).backward()
grads_before = [p.grad.clone() for p in net.parameters()]
norm_before = total_grad_norm(net)
returned = nn.utils.clip_grad_norm_(net.parameters(), max_norm=1.0)
norm_after = total_grad_norm(net)
print(f"norm before: {norm_before:.1f}   returned by clip_grad_norm_: {returned:.1f}   "
      f"norm after: {norm_after:.6f}")

# %%
# KP 07.5
torch.testing.assert_close(returned, norm_before)              # the pre-clip total norm
torch.testing.assert_close(norm_after, torch.tensor(1.0), rtol=1e-5, atol=0)
for g_before, p in zip(grads_before, net.parameters(), strict=True):
    torch.testing.assert_close(p.grad, g_before / (norm_before + 1e-6))   # same direction
kept = [p.grad.clone() for p in net.parameters()]
nn.utils.clip_grad_norm_(net.parameters(), max_norm=10.0)      # already shorter: untouched
measured = nn.utils.clip_grad_norm_(net.parameters(), max_norm=math.inf)   # only measures
assert all(torch.equal(p.grad, k) for p, k in zip(net.parameters(), kept, strict=True))
torch.testing.assert_close(measured, total_grad_norm(net))

# %% [markdown]
# ### Clipping in training
#
# Plain SGD with lr = 1 on sequences of 10 steps: the gradient runs away. A large step makes
# larger weights, larger weights a larger gradient, which makes a larger step. The same run with
# `clip_grad_norm_(max_norm=1)` between `backward` and `step` trains. (Clipping at
# `max_norm=inf` changes nothing and still returns the norm, so both runs share one loop.)

# %%
def sgd_run(max_norm, steps=40, lr=1.0):
    torch.manual_seed(0)
    net = LSTMRegressor(10, 20, 2, 1)
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    xs, ys = long_task(10)
    losses, grad_norms = [], []
    for _ in range(steps):
        loss = nn.functional.mse_loss(net(xs), ys)
        opt.zero_grad()
        loss.backward()
        grad_norms.append(nn.utils.clip_grad_norm_(net.parameters(), max_norm).item())
        opt.step()
        losses.append(loss.item())
    return np.array(losses), np.array(grad_norms)


(loss_free, norm_free), (loss_clip, norm_clip) = sgd_run(math.inf), sgd_run(1.0)

# %%
fig, (ax_loss, ax_norm) = new_figure(ncols=2, width=9.0, height=2.8)
for (losses, grad_norms), name, color in [((loss_free, norm_free), "no clipping", "o"),
                                          ((loss_clip, norm_clip), "max_norm = 1", "g")]:
    ax_loss.plot(losses, color=GATE_COLORS[color], label=name)
    ax_norm.plot(grad_norms, color=GATE_COLORS[color], label=name)
ax_loss.set(yscale="log", xlabel="step", ylabel="training loss", title="SGD, lr = 1")
ax_norm.set(yscale="log", xlabel="step", ylabel="gradient norm before clipping")
ax_loss.legend()
plt.show()
print(f"final loss: no clipping {loss_free[-1]:.3g}, clipped {loss_clip[-1]:.3g} "
      f"(start {loss_clip[0]:.3g})")

# %%
# KP 07.5
assert not np.all(np.isfinite(loss_free)) or loss_free.max() > 1e6   # ran away
assert np.all(np.isfinite(loss_clip)) and loss_clip[-1] < 0.5 * loss_clip[0]

# %% [markdown]
# Clipping caps each step at `lr × max_norm`, so one bad gradient cannot throw the weights
# away; it does not fix the cause (here, a learning rate too large for this model). Notebook 09
# measures what clipping does on a long-memory task.
#
# ## 6. Saving and restoring the optimizer's state
#
# Adam's state belongs to the training run: per parameter, the step count and the moments $m$
# and $v$ (`exp_avg`, `exp_avg_sq`). A checkpoint that resumes a run exactly holds the model's
# `state_dict`, the optimizer's `state_dict`, and the state of every random generator the loop
# draws from (here, the one that picks the mini-batches). The run: 64 sequences of the
# playground's task, mini-batches of 16 drawn at random, Adam with lr = 0.01.

# %%
data = playground_task(n_train=64)


def train(net, opt, generator, steps):
    losses = []
    for _ in range(steps):
        pick = torch.randint(0, 64, (16,), generator=generator)      # a random mini-batch
        loss = nn.functional.mse_loss(net(data.x[pick]), data.y[pick])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def fresh(seed=0):
    torch.manual_seed(seed)
    net = LSTMRegressor(10, 20, 2, 1)
    return net, torch.optim.Adam(net.parameters(), lr=0.01), torch.Generator().manual_seed(1)


model_a, opt_a, gen_a = fresh()
straight = train(model_a, opt_a, gen_a, 60)                       # 60 steps without a break

# %% [markdown]
# The interrupted run: 30 steps, a checkpoint written with `torch.save`, then, as in a new
# process, new objects (built from another seed, so that nothing can leak through) restored from
# the file with `torch.load(..., weights_only=True)`, and 30 more steps.

# %%
model_b, opt_b, gen_b = fresh()
first_half = train(model_b, opt_b, gen_b, 30)
file = io.BytesIO()                                 # a file on disk works the same way
torch.save({"model": model_b.state_dict(), "optimizer": opt_b.state_dict(),
            "generator": gen_b.get_state()}, file)


def restore(with_optimizer=True):
    file.seek(0)
    checkpoint = torch.load(file, weights_only=True)
    net, opt, generator = fresh(seed=123)
    net.load_state_dict(checkpoint["model"])
    if with_optimizer:
        opt.load_state_dict(checkpoint["optimizer"])
    generator.set_state(checkpoint["generator"])
    return net, opt, generator, checkpoint

# %% [markdown]
# What the optimizer's `state_dict` holds, for the first parameter (`lstm.weight_ih_l0`,
# shape (80, 10)):

# %%
# NBVAL_CHECK_OUTPUT
model_c, opt_c, gen_c, checkpoint = restore()
saved = checkpoint["optimizer"]
print("keys:", list(saved))
print("param_groups[0]:", {k: saved["param_groups"][0][k] for k in ("lr", "betas", "eps",
                                                                     "weight_decay")})
print("state[0]:", {k: tuple(v.shape) if v.dim() else v.item() for k, v in saved["state"][0].items()})

# %%
def first_step_size(net, opt, generator):
    """Train one step; return the mean |change| of the weights, and the step's loss."""
    before = [p.detach().clone() for p in net.parameters()]
    losses = train(net, opt, generator, 1)
    change = torch.cat([(p.detach() - b).abs().flatten()
                        for p, b in zip(net.parameters(), before, strict=True)])
    return change.mean().item(), losses


step_c, loss_c = first_step_size(model_c, opt_c, gen_c)
resumed = first_half + loss_c + train(model_c, opt_c, gen_c, 29)
model_d, opt_d, gen_d, _ = restore(with_optimizer=False)       # the optimizer's state is lost
step_d, loss_d = first_step_size(model_d, opt_d, gen_d)
forgot = first_half + loss_d + train(model_d, opt_d, gen_d, 29)
print(f"mean |change| of a weight in the first step after the restart: with the optimizer's "
      f"state {step_c:.5f}, without {step_d:.5f} (lr = 0.01)")

# %%
# KP 07.6
assert resumed == straight                                     # every loss, bit for bit
assert all(torch.equal(p, q) for p, q in zip(model_a.parameters(), model_c.parameters(), strict=True))
assert step_d > 0.95 * 0.01 and step_c < 0.5 * step_d          # a fresh Adam jumps by ~lr
assert not all(torch.equal(p, q) for p, q in zip(model_a.parameters(), model_d.parameters(), strict=True))

# %% [markdown]
# Restored with its state, the run is the uninterrupted run, bit for bit. Without it, Adam
# restarts from $m = v = 0$ and $t = 1$: its first step moves **every** number by about `lr`
# (the ratio $\hat m/\sqrt{\hat v}$ is ±1 at $t = 1$), a jolt several times the size of the
# settled step, and the run follows another path from there:

# %%
fig, ax = new_figure(height=2.8)
ax.plot(straight, color=GATE_COLORS["g"], lw=2.5, label="uninterrupted")
ax.plot(resumed, color="k", lw=0.8, ls="--", label="resumed with state")
ax.plot(range(30, 60), forgot[30:], color=GATE_COLORS["o"], label="resumed without optimizer state")
ax.axvline(29.5, color="0.5", lw=1)
ax.set(yscale="log", xlabel="step", ylabel="mini-batch loss", title="restart after step 30")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## 7. Try it: the training playground
#
# The runs of section 4, as curves. The chosen optimizer is drawn bold, the other three at the
# same learning rate faint; the dashed line is the baseline. Try: with SGD, raise `lr` from 1e-3
# until the loss moves, then one notch further until it blows up; switch to Adam at the same
# rate; then find the rate where Adam's curve turns ragged.

# %%
training_playground(runs)

# %% [markdown]
# ## Pitfalls
#
# **An optimizer built from a used-up generator.** `model.parameters()` is a generator: anything
# that walks through it first (a count, a print) leaves nothing for the optimizer.

# %%
params = model.parameters()
print("parameter tensors:", sum(1 for _ in params))   # this walk uses the generator up
try:
    torch.optim.Adam(params, lr=1e-3)
except ValueError as error:
    empty_message = str(error)
print("ValueError:", empty_message)
assert empty_message == "optimizer got an empty parameter list"

# %% [markdown]
# **`backward` twice through the same graph.** Accumulating by calling `backward` again on the
# same loss fails: the first call freed what the graph saved (pass `retain_graph=True` only if
# you really mean to).

# %%
loss = nn.functional.mse_loss(model(x), y)
loss.backward()
try:
    loss.backward()
except RuntimeError as error:
    twice_message = str(error)
print("RuntimeError:", twice_message[:120], "...")
assert "Trying to backward through the graph a second time" in twice_message

# %% [markdown]
# **An optimizer state loaded into the wrong model.** With a different number of parameters
# `load_state_dict` refuses; with the same number but other shapes it loads silently, and the
# next `step` fails far from the cause:

# %%
try:
    torch.optim.Adam(LSTMRegressor(10, 20, 1, 1).parameters()).load_state_dict(saved)
except ValueError as error:
    count_message = str(error)
print("ValueError:", count_message)
wider = LSTMRegressor(10, 30, 2, 1)                  # hidden 30: same count, other shapes
wider_opt = torch.optim.Adam(wider.parameters())
wider_opt.load_state_dict(restore()[3]["optimizer"])  # no complaint
nn.functional.mse_loss(wider(x), y).backward()
try:
    wider_opt.step()
except RuntimeError as error:
    shape_message = str(error)
print("RuntimeError:", shape_message)
assert "doesn't match the size of optimizer's group" in count_message
assert "must match the size of tensor b" in shape_message

# %% [markdown]
# **`optimizer.state_dict()` is not a snapshot.** It returns references to the live moment
# tensors, and `load_state_dict` adopts the tensors it is given: keeping one in memory as a
# "checkpoint" keeps changing with training. Write it to a file (as in section 6) or
# `copy.deepcopy` it.

# %%
kept_in_memory = opt_c.state_dict()
step_then = kept_in_memory["state"][0]["step"].item()
train(model_c, opt_c, gen_c, 1)
print(f"step count in the kept state_dict: {step_then:.0f}, one step later: "
      f"{kept_in_memory['state'][0]['step'].item():.0f}")
assert kept_in_memory["state"][0]["step"].item() == step_then + 1

# %% [markdown]
# **An invalid hyperparameter.** `torch.optim` checks its arguments, and so does
# `utils.optim`, naming what it expected:

# %%
messages = []
for make in (torch.optim.Adam, Adam):
    try:
        make(model.parameters(), lr=-0.01)
    except ValueError as error:
        messages.append(str(error))
print("torch.optim.Adam:", messages[0], "|  utils.optim.Adam:", messages[1])
assert messages == ["Invalid learning rate: -0.01", "lr must be >= 0.0, got -0.01"]

# %% [markdown]
# ## Exercises
#
# Replace `None` with your answer and run the cell; the checker says whether it is right.
#
# **Exercise 1.** A parameter's gradient is 0.5 on one batch and −0.2 on another. You call
# `backward` on both losses without `zero_grad` in between. What is `p.grad`?

# %%
answer_1 = None  # a number
nb07.check_accumulated_grad(answer_1)

# %% [markdown]
# <details><summary>Solution</summary>
#
# `0.3`: `backward` adds into `.grad`, 0.5 + (−0.2): `nb07.check_accumulated_grad(0.3)`.
#
# </details>
#
# **Exercise 2.** A fresh `torch.optim.Adam(params, lr=0.01)` takes its first step on a weight
# whose gradient is 123.4. By how much does the weight change (the size of the step, a positive
# number)?

# %%
answer_2 = None  # a number
nb07.check_first_adam_step(answer_2)

# %% [markdown]
# <details><summary>Solution</summary>
#
# `0.01`, the learning rate: at t = 1, $\hat m = g$ and $\sqrt{\hat v} = |g|$, so the step is
# lr · g / (|g| + eps) ≈ lr whatever the gradient: `nb07.check_first_adam_step(0.01)`.
#
# </details>
#
# **Exercise 3.** `torch.optim.AdamW(params, lr=0.1, weight_decay=0.1)` runs 100 steps on a
# weight whose loss gradient is always zero. By what factor has the weight been multiplied?

# %%
answer_3 = None  # a number, e.g. 0.5
nb07.check_adamw_shrink(answer_3)

# %% [markdown]
# <details><summary>Solution</summary>
#
# (1 − lr · λ)¹⁰⁰ = 0.99¹⁰⁰ ≈ 0.3660; the Adam part moves nothing, since m stays 0:
# `nb07.check_adamw_shrink(0.99 ** 100)`. Not e^(−lr·λ·100) = e⁻¹ ≈ 0.3679: that is the
# decay of continuous time, and AdamW takes 100 discrete steps.
#
# </details>
#
# **Exercise 4.** Two parameters have gradients 3.0 and 4.0. After
# `nn.utils.clip_grad_norm_(params, max_norm=1.0)`, what are their gradients? Give a pair.

# %%
answer_4 = None  # a pair, e.g. (0.1, 0.2)
nb07.check_clipped_gradients(answer_4)

# %% [markdown]
# <details><summary>Solution</summary>
#
# The total norm is √(3² + 4²) = 5; every gradient is multiplied by 1 / 5 (exactly,
# 1 / (5 + 1e-6)): `nb07.check_clipped_gradients((0.6, 0.8))`. The call returns 5.0.
#
# </details>

# %% [markdown]
# ## Key takeaways
#
# - `backward` **adds** into `.grad`; `zero_grad` (now: set to `None`) must come once per step,
#   unless you accumulate on purpose; `step` reads `.grad` and changes the weights in place.
# - Adam: running means of g and g², bias-corrected, step `lr · m̂ / (√v̂ + eps)`, eps after the
#   root; about `lr` per number per step whatever the gradient's scale. Twelve lines reproduce
#   `torch.optim.Adam` to 1e-12 over 100 steps.
# - `Adam(weight_decay=λ)` is L2 on the loss, rescaled by √v̂: weights with large gradients
#   decay less. `AdamW` shrinks every weight by `1 − lr·λ` per step, apart from the gradient.
# - The learning rate decides whether training works at all; Adam works over a far wider range
#   than SGD. Choose it on training or validation data, never on the test set.
# - `clip_grad_norm_` rescales all gradients together to at most `max_norm` and returns the norm
#   before clipping; it caps each step, it does not cure the cause.
# - Checkpoint the model, the optimizer and the random generators; restored together, training
#   resumes bit for bit. A fresh Adam jolts every weight by about `lr`.
#
# **Next:** [08 · Training on real data](08_training_on_real_data.ipynb) puts the loop to work on a
# real series, with validation, early stopping and honest baselines.

# %%
print(run_summary(notebook_started))

# %% [markdown] tags=["course-nav"]
# ---
#
# **Part I · The classic example** · notebook 8 of 20
#
# Previous: [06 · MSE loss](06_mse_loss.ipynb) · Next: [08 · Training on real data](08_training_on_real_data.ipynb), which opens Part II · Practice · [The map of the course](00_the_whole_picture.ipynb#cell-id=cell-015) · [Find your question](../README.md#find-your-question)

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
# # 06 · MSE loss
#
# The loss is the one number that training pushes down, so every detail of it reaches the
# weights: what it averages over sets the size of every gradient, a shape mismatch can make it
# measure something else entirely (with only a warning), and the square decides how hard one bad
# point pulls. This notebook computes `nn.MSELoss` by hand, reproduces the most common silent
# bug with regression targets, derives the gradient and checks it against autograd, compares
# MSE with MAE and Huber under an outlier, and measures why targets are scaled before training.
#
# **You will learn**
#
# - **KP 06.1** that `nn.MSELoss()` is the sum of squared errors divided by the number of
#   **elements**, batch × outputs;
# - **KP 06.2** what `reduction='mean'`, `'sum'` and `'none'` return;
# - **KP 06.3** the `(B, 1)` versus `(B,)` trap: its warning, the wrong number (the mean over a
#   `(B, B)` matrix), what training on it learns, and the fix;
# - **KP 06.4** that the gradient is 2(ŷ − y)/N, checked against autograd and through the head;
# - **KP 06.5** MSE versus MAE and Huber when one target is an outlier;
# - **KP 06.6** why targets are scaled: loss and gradient sizes, and a tiny LSTM fit, measured.
#
# **Run time:** about 5 s on a 2-core laptop-class CPU; the last cell prints the measured time
# and peak memory of the run whose outputs you see.

# %%
import time
import warnings

notebook_started = time.perf_counter()

import matplotlib.pyplot as plt
import torch
from torch import nn
from tqdm.auto import tqdm

from utils.checks import nb06
from utils.losses import huber, mae, mse, mse_grad
from utils.training import env_report, pick_device, run_summary, set_seed
from utils.viz import GATE_COLORS, new_figure
from utils.widgets.losses import losses_explorer

set_seed(0)
device = pick_device()
print(env_report(device))

# %% [markdown]
# ## 1. The formula, by hand
#
# For predictions ŷ and targets y of the same shape, with N elements in all,
#
# $$\text{MSE}(\hat y, y) = \frac{1}{N} \sum_{k=1}^{N} (\hat y_k - y_k)^2 .$$
#
# N counts **elements**, not samples. With one output per sample the two coincide, which is why
# "divides by the batch size" survives in so many explanations; with three outputs per sample
# it is off by a factor of three.

# %%
prediction = torch.randn(16, 3, device=device)  # a batch of 16, three outputs each
target = torch.randn(16, 3, device=device)
by_hand = ((prediction - target) ** 2).sum() / prediction.numel()
by_torch = nn.MSELoss()(prediction, target)
print(f"nn.MSELoss: {by_torch:.6f}   sum / numel (48): {by_hand:.6f}   "
      f"sum / batch (16): {((prediction - target) ** 2).sum() / 16:.6f}")

# %%
# KP 06.1
torch.testing.assert_close(by_torch, by_hand)
torch.testing.assert_close(by_torch, ((prediction - target) ** 2).mean())
assert not torch.isclose(by_torch, ((prediction - target) ** 2).sum() / 16)
torch.testing.assert_close(mse(prediction, target), by_torch)  # the course's helper agrees

# %% [markdown]
# ## 2. `reduction`: mean, sum, none
#
# `'none'` returns the squared error of each element, in the input's shape; `'sum'` adds them;
# `'mean'` (the default) divides that sum by N. The choice matters for training: a mean does not
# change when the batch doubles, a sum doubles, and so does the gradient it hands the weights,
# so for SGD a learning rate tuned with one batch size is wrong for another (Adam, notebook 07,
# largely ignores a constant scale of the gradient).

# %%
# NBVAL_CHECK_OUTPUT
per_element = nn.MSELoss(reduction="none")(prediction, target)
total = nn.MSELoss(reduction="sum")(prediction, target)
print("'none':", tuple(per_element.shape), "  'sum':", tuple(total.shape),
      "  'mean':", tuple(by_torch.shape))

# %%
doubled = torch.cat([prediction, prediction]), torch.cat([target, target])
print(f"batch doubled: 'mean' {nn.MSELoss()(*doubled):.4f} (was {by_torch:.4f}),  "
      f"'sum' {nn.MSELoss(reduction='sum')(*doubled):.4f} (was {total:.4f})")


def weight_gradient(inputs, targets, reduction):
    """The gradient that a loss hands the weights of a (fixed) linear layer."""
    torch.manual_seed(0)
    layer = nn.Linear(3, 3).to(device)
    nn.MSELoss(reduction=reduction)(layer(inputs), targets).backward()
    return layer.weight.grad

# %%
# KP 06.2
assert per_element.shape == prediction.shape
torch.testing.assert_close(per_element, (prediction - target) ** 2)
torch.testing.assert_close(total, per_element.sum())
torch.testing.assert_close(by_torch, per_element.sum() / per_element.numel())
torch.testing.assert_close(nn.MSELoss()(*doubled), by_torch)                   # mean: unchanged
torch.testing.assert_close(nn.MSELoss(reduction="sum")(*doubled), 2 * total)  # sum: doubles
for reduction, factor in (("mean", 1), ("sum", 2)):  # and so does the weights' gradient
    torch.testing.assert_close(weight_gradient(*doubled, reduction),
                               factor * weight_gradient(prediction, target, reduction))
for reduction in ("mean", "sum", "none"):
    torch.testing.assert_close(mse(prediction, target, reduction),
                               nn.MSELoss(reduction=reduction)(prediction, target))

# %% [markdown]
# ## 3. The `(B, 1)` versus `(B,)` trap
#
# The classic model predicts `(batch, 1)`. Targets often arrive as `(batch,)`: a column of a
# data frame, `torch.tensor(list_of_floats)`. `nn.MSELoss` does not refuse the pair; it
# **broadcasts** it: `(B, 1) - (B,)` is a `(B, B)` matrix that compares every prediction with
# every target. PyTorch warns, and returns the mean of that matrix.

# %%
y_hat = torch.randn(8, 1, device=device)   # the head's output: (B, 1)
y_flat = torch.randn(8, device=device)     # the targets as they often arrive: (B,)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    wrong = nn.MSELoss()(y_hat, y_flat)
right = nn.MSELoss()(y_hat, y_flat.unsqueeze(1))  # the fix: make the shapes equal
print(f"{caught[0].category.__name__}: {caught[0].message}")
print(f"loss with (8,) targets: {wrong:.4f};  with (8, 1) targets: {right:.4f}")

# %% [markdown]
# The picture: the `(8, 8)` matrix of squared differences that the wrong call averages. Only its
# diagonal (framed) pairs a prediction with its own target; the other 56 entries are noise.

# %%
pairs = ((y_hat - y_flat) ** 2).detach().cpu()  # broadcast (8, 1) - (8,) -> (8, 8)
fig, ax = new_figure(width=4.2, height=3.6)
image = ax.imshow(pairs, cmap="Greys")
for i in range(8):
    ax.add_patch(plt.Rectangle((i - 0.5, i - 0.5), 1, 1, fill=False, lw=2,
                               edgecolor=GATE_COLORS["o"]))
ax.set(xlabel="target index j", ylabel="prediction index i",
       title="(ŷ_i − y_j)² for every pair")
ax.grid(False)
fig.colorbar(image, ax=ax)
plt.show()

# %%
# KP 06.3
assert issubclass(caught[0].category, UserWarning)
assert str(caught[0].message) == (
    "Using a target size (torch.Size([8])) that is different to the input size "
    "(torch.Size([8, 1])). This will likely lead to incorrect results due to broadcasting. "
    "Please ensure they have the same size.")
assert pairs.shape == (8, 8)
torch.testing.assert_close(wrong.cpu(), pairs.mean())             # the mean over (B, B)
torch.testing.assert_close(right.cpu(), pairs.diagonal().mean())  # the right one: the diagonal
assert not torch.isclose(wrong, right)

# %% [markdown]
# **What training on the wrong loss learns.** The mean over all pairs is smallest when every
# prediction sits at the *mean of the batch's targets*: its gradient with respect to ŷ_i is
# 2(ŷ_i − ȳ)/B, whatever sample i is. A linear model fitted to y = 2x + 1 shows it: with the
# right shapes it finds the slope; with the broadcast it learns a constant.

# %%
def fit_line(targets, steps=150):
    """Fit y = w x + b by Adam on full batches; return (w, b)."""
    torch.manual_seed(0)
    line = nn.Linear(1, 1).to(device)
    optimizer = torch.optim.Adam(line.parameters(), lr=0.1)
    for _ in range(steps):
        optimizer.zero_grad()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # we know: the broadcast is the point here
            nn.MSELoss()(line(xs), targets).backward()
        optimizer.step()
    return line.weight.item(), line.bias.item()


xs = torch.linspace(-1, 1, 64, device=device).unsqueeze(1)            # (64, 1)
ys = 2 * xs + 1 + 0.1 * torch.randn(64, 1, device=device)            # (64, 1)
w_right, b_right = fit_line(ys)
w_wrong, b_wrong = fit_line(ys.squeeze(1))                            # (64,) targets
print(f"(64, 1) targets: w = {w_right:.3f}, b = {b_right:.3f}")
print(f"(64,)   targets: w = {w_wrong:.3f}, b = {b_wrong:.3f}   (mean of y = {ys.mean():.3f})")

# %%
# KP 06.3
y_hat_leaf = y_hat.clone().requires_grad_(True)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    nn.MSELoss()(y_hat_leaf, y_flat).backward()
torch.testing.assert_close(y_hat_leaf.grad, 2 * (y_hat - y_flat.mean()) / 8)  # pulled to ȳ
assert abs(w_right - 2) < 0.05 and abs(w_wrong) < 0.05
assert abs(b_wrong - ys.mean().item()) < 0.05

# %% [markdown]
# The fix is one of `target.unsqueeze(1)`, `target.view_as(prediction)` or
# `prediction.squeeze(1)`; then there is no warning. The course's `utils.losses.mse` refuses the
# mismatch outright instead of warning:

# %%
with warnings.catch_warnings(record=True) as caught_after_fix:
    warnings.simplefilter("always")
    fixed = nn.MSELoss()(y_hat, y_flat.view_as(y_hat))
try:
    mse(y_hat, y_flat)
except ValueError as error:
    refusal = str(error)
print("ValueError:", refusal)

# %%
# KP 06.3
assert caught_after_fix == [] and torch.equal(fixed, right)
assert "(8, 1)" in refusal and "(8,)" in refusal and "unsqueeze" in refusal

# %% [markdown]
# ## 4. The gradient: 2(ŷ − y)/N
#
# Differentiate (1/N) Σ (ŷ_k − y_k)² with respect to one ŷ_k: only its own term depends on it,
# so
#
# $$\frac{\partial\, \text{MSE}}{\partial \hat y_k} = \frac{2 (\hat y_k - y_k)}{N}.$$
#
# Every prediction is pushed towards its target in proportion to its error; the 1/N is the
# reason a mean loss does not grow with the batch.

# %%
leaf = prediction.clone().requires_grad_(True)   # (16, 3), N = 48
nn.MSELoss()(leaf, target).backward()
hand_gradient = 2 * (prediction - target) / prediction.numel()
print(f"autograd: {leaf.grad[0].tolist()}\nby hand:  {hand_gradient[0].tolist()}")

# %% [markdown]
# The same gradient flows on into the model. For the classic linear head ŷ = h Wᵀ + b, the chain
# rule gives ∂L/∂W = gᵀ h and ∂L/∂b = Σ over the batch of g, with g = 2(ŷ − y)/N:

# %%
torch.manual_seed(0)
lstm = nn.LSTM(10, 20, 2, batch_first=True).to(device)
head = nn.Linear(20, 1).to(device)
x, y = torch.randn(16, 5, 10, device=device), torch.randn(16, 1, device=device)
h_last = lstm(x)[0][:, -1]
y_pred = head(h_last)
nn.MSELoss()(y_pred, y).backward()
g = 2 * (y_pred - y).detach() / y.numel()      # (16, 1)
print(f"head.weight.grad[0, :4] = {head.weight.grad[0, :4].tolist()}")
print(f"(gᵀ h)[0, :4]           = {(g.T @ h_last.detach())[0, :4].tolist()}")

# %%
# KP 06.4
torch.testing.assert_close(leaf.grad, hand_gradient)
torch.testing.assert_close(mse_grad(prediction, target), leaf.grad)       # the helper
leaf_sum = prediction.clone().requires_grad_(True)
nn.MSELoss(reduction="sum")(leaf_sum, target).backward()
torch.testing.assert_close(leaf_sum.grad, 2 * (prediction - target))     # 'sum': no 1/N
torch.testing.assert_close(head.weight.grad, g.T @ h_last.detach())
torch.testing.assert_close(head.bias.grad, g.sum(dim=0))

# %% [markdown]
# ## 5. MSE, MAE and Huber under an outlier
#
# Three losses of the residual r = ŷ − y, per element:
#
# - **MSE** r², gradient 2r: the pull grows with the error;
# - **MAE** (`nn.L1Loss`) |r|, gradient sign(r): every point pulls equally hard;
# - **Huber** (`nn.HuberLoss(delta=δ)`) ½r² within δ, δ(|r| − ½δ) beyond: MSE near the target,
#   MAE far from it, its gradient capped at δ.

# %%
residual = torch.linspace(-4, 4, 401, requires_grad=True)
curves = {"MSE": residual**2, "MAE": residual.abs(),
          "Huber δ=1": nn.functional.huber_loss(residual, torch.zeros(401), reduction="none")}
fig, (ax_loss, ax_grad) = new_figure(ncols=2, width=9.0, height=3.0)
for (name, values), color in zip(curves.items(), ["o", "i", "g"], strict=True):
    slope, = torch.autograd.grad(values.sum(), residual)
    ax_loss.plot(residual.detach(), values.detach(), color=GATE_COLORS[color], label=name)
    ax_grad.plot(residual.detach(), slope, color=GATE_COLORS[color], label=name)
ax_loss.set(xlabel="residual r = ŷ − y", ylabel="loss of one element", ylim=(0, 8))
ax_grad.set(xlabel="residual r = ŷ − y", ylabel="its gradient d loss / d ŷ")
ax_loss.legend(fontsize=8)
plt.show()

# %% [markdown]
# Now ten good predictions and one target that moves away: how does each loss, and the
# outlier's share of the gradient, grow with its distance?

# %%
torch.manual_seed(1)
targets = torch.randn(11)
predictions = targets + 0.2 * torch.randn(11)
distances = torch.linspace(0, 20, 81)
rows = targets.repeat(len(distances), 1)
rows[:, 0] = predictions[0] + distances                    # sample 0 is the outlier
preds = predictions.expand_as(rows).clone().requires_grad_(True)
losses = {"MSE": nn.functional.mse_loss(preds, rows, reduction="none").mean(1),
          "MAE": nn.functional.l1_loss(preds, rows, reduction="none").mean(1),
          "Huber": nn.functional.huber_loss(preds, rows, reduction="none").mean(1)}
share = {}
for name, values in losses.items():
    grad, = torch.autograd.grad(values.sum(), preds)       # row r: d loss_r / d ŷ
    share[name] = grad[:, 0].abs() / grad.abs().sum(1)     # the outlier's part of the pull
print({name: f"{values[-1].item():.3f}" for name, values in losses.items()}, "at distance 20")

# %%
fig, (ax_l, ax_s) = new_figure(ncols=2, width=9.0, height=3.0)
for (name, values), color in zip(losses.items(), ["o", "i", "g"], strict=True):
    ax_l.plot(distances, values.detach(), color=GATE_COLORS[color], label=name)
    ax_s.plot(distances, 100 * share[name], color=GATE_COLORS[color], label=name)
ax_l.set(xlabel="outlier's distance from its prediction", ylabel="loss ('mean', log scale)",
         yscale="log", title="The loss")
ax_s.set(xlabel="outlier's distance from its prediction", ylabel="% of the total |gradient|",
         ylim=(0, 100), title="The outlier's share of the pull")
ax_l.legend(fontsize=8)
plt.show()

# %% [markdown]
# Which number does each loss settle on? Fit one constant c to the eleven targets (with the
# outlier at distance 20) by trying every c on a fine grid: MSE picks the **mean**, dragged
# towards the outlier; MAE picks the **median**, which barely moves.

# %%
with_outlier = rows[-1].double()                           # the targets at distance 20
grid = torch.linspace(-3, 5, 8001, dtype=torch.float64)    # steps of 0.001
best = {name: grid[loss(grid.unsqueeze(1), with_outlier.expand(len(grid), -1)).argmin()]
        for name, loss in [("MSE", lambda c, t: ((c - t) ** 2).mean(1)),
                           ("MAE", lambda c, t: (c - t).abs().mean(1))]}
print(f"best constant under MSE {best['MSE']:.3f} (mean {with_outlier.mean():.3f}); under MAE "
      f"{best['MAE']:.3f} (median {with_outlier.median():.3f}); mean without the outlier "
      f"{targets[1:].mean():.3f}")

# %%
# KP 06.5
d2 = losses["MSE"].detach().diff().diff()          # MSE is quadratic in the distance:
step = distances[1] - distances[0]
torch.testing.assert_close(d2, torch.full_like(d2, 2 * step**2 / 11))  # 2nd difference 2h²/N
far = distances > 3                                # beyond every other residual and delta = 1
torch.testing.assert_close(losses["MAE"].detach().diff()[far[1:]], torch.full((int(far.sum()),),
                           step / 11))             # MAE: slope 1/N
torch.testing.assert_close(losses["Huber"].detach().diff()[far[1:]],
                           torch.full((int(far.sum()),), step / 11))  # Huber δ=1: slope δ/N
assert share["MSE"][-1] > 0.9 and share["MAE"][-1] < 0.11 and share["Huber"][-1] < 0.5
assert abs(best["MSE"] - with_outlier.mean()) < 1e-3
assert abs(best["MAE"] - with_outlier.median()) < 1e-3
torch.testing.assert_close(huber(preds[-1].detach(), rows[-1]), losses["Huber"][-1].detach())
torch.testing.assert_close(mae(preds[-1].detach(), rows[-1]), losses["MAE"][-1].detach())

# %% [markdown]
# ### Try it: move the outlier
#
# Drag **outlier** from 0 to 20: the outlier's share of MSE's gradient climbs towards 90 % while
# its share of MAE's stays at one point in ten; then shift every prediction with **shift ŷ**, and
# change Huber's **δ** to slide it between MAE (small δ) and MSE (large δ).

# %%
losses_explorer()

# %% [markdown]
# ## 6. Why targets are scaled
#
# An LSTM's hidden outputs lie between −1 and 1 (h = o · tanh(c)), so a head that must output values around 280 (a
# count in thousands, a price) needs large weights and a large bias, and the loss starts near
# 280² ≈ 80,000 with gradients to match. Standardising the targets with the **training** mean and
# standard deviation, z = (y − mean) / std, brings both to order 1; predictions go back to the
# original units with ŷ = mean + std · ẑ, and an MSE on z times std² is the MSE in those units.
#
# The task: windows of 10 steps of a noisy sine wave (random frequency and phase), target the
# next value in "passenger" units, 280 + 120 · wave. Same tiny LSTM, same seed and same Adam,
# once on raw targets, once on standardized ones.

# %%
def sine_windows(n, seed, steps=10):
    """Inputs (n, steps, 1): a noisy sine; targets (n, 1): its next value, times 120, plus 280."""
    g = torch.Generator().manual_seed(seed)
    phase, freq = 6.283 * torch.rand(n, 1, generator=g), 0.3 + 0.4 * torch.rand(n, 1, generator=g)
    wave = torch.sin(freq * torch.arange(steps + 1) + phase) + 0.1 * torch.randn(
        n, steps + 1, generator=g)
    return wave[:, :steps, None].to(device), (280 + 120 * wave[:, steps:]).to(device)


x_train, y_train = sine_windows(256, seed=0)
x_test, y_test = sine_windows(256, seed=1)       # held out, never used for any choice
mean, std = y_train.mean(), y_train.std()        # training statistics only
print(f"targets: mean {mean:.1f}, std {std:.1f}, range [{y_train.min():.0f}, {y_train.max():.0f}]")

# %%
class Forecaster(nn.Module):
    """The classic shape: an LSTM and a linear head on the last step."""
    def __init__(self):
        super().__init__()
        self.lstm, self.head = nn.LSTM(1, 16, batch_first=True), nn.Linear(16, 1)

    def forward(self, x):
        return self.head(self.lstm(x)[0][:, -1])


def model_hidden_max(model):
    """The largest |hidden output| the LSTM hands its head on the training windows."""
    return model.lstm(x_train)[0].abs().max().item()


def train(scaled, lr, bar, steps=150):
    """Adam on full batches; returns the model, the first loss and gradient norm, the curve."""
    torch.manual_seed(0)
    model = Forecaster().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    goal = (y_train - mean) / std if scaled else y_train
    curve = []
    for step in range(steps):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x_train), goal)
        loss.backward()
        if step == 0:
            first = loss.item(), torch.cat([p.grad.flatten() for p in model.parameters()]).norm()
        optimizer.step()
        curve.append(loss.item() * (std.item() ** 2 if scaled else 1))  # in raw units²
        bar.update()
    return model, first, curve

# %% [markdown]
# Three runs: raw targets with the learning rate that works for standardized ones (0.01) and with
# ten times more (0.1), and standardized targets at 0.01. (The runs use one CPU thread, which
# keeps their timing steady when other programs share the cores.)

# %%
threads = torch.get_num_threads()
torch.set_num_threads(1)
runs = {"raw y, lr 0.01": (False, 0.01), "raw y, lr 0.1": (False, 0.1),
        "standardized y, lr 0.01": (True, 0.01)}
with tqdm(total=150 * len(runs), desc="training") as bar:
    results = {name: train(scaled, lr, bar) for name, (scaled, lr) in runs.items()}
torch.set_num_threads(threads)

# %%
def held_out_rmse(name):
    """Root mean squared error on the held-out windows, in the original units."""
    model, scaled = results[name][0], runs[name][0]
    with torch.no_grad():
        guess = model(x_test) * std + mean if scaled else model(x_test)
    return ((guess - y_test) ** 2).mean().sqrt().item()


baseline = ((mean - y_test) ** 2).mean().sqrt().item()  # always predict the training mean
for name, (_, (loss0, grad0), _) in results.items():
    print(f"{name:24s} first loss {loss0:10.2f}  first |grad| {grad0:8.3f}  "
          f"test RMSE {held_out_rmse(name):6.1f}")
print(f"{'predict the training mean':24s} {'':40s}test RMSE {baseline:6.1f}")
raw_first, scaled_first = results["raw y, lr 0.01"][1], results["standardized y, lr 0.01"][1]
print(f"raw / standardized at the first step: loss {raw_first[0] / scaled_first[0]:,.0f} times "
      f"(mean² + std² = {mean**2 + std**2:,.0f}), gradient {raw_first[1] / scaled_first[1]:,.0f} "
      f"times")

# %%
fig, ax = new_figure(width=8.5, height=3.0)
for (name, result), color in zip(results.items(), ["o", "f", "g"], strict=True):
    ax.plot(result[2], color=GATE_COLORS[color], label=name)
ax.axhline(baseline**2, color="0.4", ls="--", label="predict the training mean (test)")
ax.set(xlabel="Adam step", ylabel="training MSE in raw units² (log)", yscale="log")
ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
plt.show()

# %% [markdown]
# At the first step the raw loss is 85,718 times the standardized one, close to mean² + std² =
# 87,421 (an untrained head outputs about 0, so its MSE on raw targets is the mean of y², and on
# z about 1), and the gradient is 1,879 times larger: more than a thousand times.

# %%
# KP 06.6
loss_factor = raw_first[0] / scaled_first[0]    # the loss: about mean² + std² times larger
assert abs(loss_factor / (mean**2 + std**2) - 1) < 0.05
assert raw_first[1] > 1000 * scaled_first[1]    # the gradient: more than a thousand times
rmse = {name: held_out_rmse(name) for name in runs}
assert rmse["standardized y, lr 0.01"] < 0.5 * baseline          # learns the wave
assert min(rmse["raw y, lr 0.01"], rmse["raw y, lr 0.1"]) > 0.9 * baseline  # raw: no better
model_z = results["standardized y, lr 0.01"][0]
with torch.no_grad():  # an MSE on z, times std², is the MSE in the original units
    z_mse = nn.functional.mse_loss(model_z(x_test), (y_test - mean) / std)
torch.testing.assert_close(z_mse * std**2, torch.tensor(rmse["standardized y, lr 0.01"]) ** 2,
                           rtol=1e-4, atol=1e-3)

# %% [markdown]
# Why does Adam not simply catch up on raw targets? Its step has a size of about `lr` whatever
# the gradient's size, so the head's bias, which should sit near 280, crawls towards it, while
# the LSTM drives its hidden outputs to their ±1 limit:

# %%
for name, (model, _, _) in results.items():
    with torch.no_grad():
        print(f"{name:24s} head bias after 150 steps: {model.head.bias.item():8.3f};  "
              f"largest |hidden output| {model_hidden_max(model):.4f}")
assert results["raw y, lr 0.01"][0].head.bias.abs().item() < 150 * 0.01 * 1.5
assert results["raw y, lr 0.1"][0].head.bias.abs().item() < 150 * 0.1 * 1.5
with torch.no_grad():
    assert min(model_hidden_max(results[name][0]) for name in runs if "raw" in name) > 0.999
    assert model_hidden_max(results["standardized y, lr 0.01"][0]) < 0.99

# %% [markdown]
# Scale the targets with training statistics, train, and convert back for reporting.

# %% [markdown]
# ## Pitfalls
#
# **`(B,)` predictions against `(B, 1)` targets** (after a `.squeeze()` on the head's output)
# broadcast the same way, to `(B, B)`:

# %%
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    reverse = nn.MSELoss()(y_hat.squeeze(1), y_flat.unsqueeze(1))
print(f"{caught[0].category.__name__}: {caught[0].message}")
assert "Using a target size (torch.Size([8, 1])) that is different to the input size " \
       "(torch.Size([8]))" in str(caught[0].message)
torch.testing.assert_close(reverse, wrong)

# %% [markdown]
# **`.squeeze()` with a batch of one** removes the batch dimension too: a `(1, 1)` prediction
# becomes a 0-d tensor, and the loss warns. Squeeze only the output dimension, `.squeeze(-1)`.

# %%
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    nn.MSELoss()(y_hat[:1].squeeze(), y_flat[:1])
print(f"{caught[0].category.__name__}: {caught[0].message}")
assert "different to the input size (torch.Size([]))" in str(caught[0].message)
assert y_hat[:1].squeeze(-1).shape == y_flat[:1].shape == (1,)

# %% [markdown]
# **Shapes that cannot broadcast** fail, after the same warning:

# %%
with warnings.catch_warnings(record=True):
    warnings.simplefilter("always")
    try:
        nn.MSELoss()(torch.randn(4, 2), torch.randn(4, 3))
    except RuntimeError as error:
        size_message = str(error)
print("RuntimeError:", size_message)
assert "The size of tensor a (2) must match the size of tensor b (3) at non-singleton " \
       "dimension 1" == size_message

# %% [markdown]
# **The old `size_average` / `reduce` arguments** still work but are deprecated; use
# `reduction`. And `reduction` has exactly three values, but a misspelt one is accepted by the
# constructor and fails only when the loss is first computed:

# %%
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    old_style = nn.MSELoss(size_average=False)
print(f"{caught[0].category.__name__}: {caught[0].message}  -> reduction={old_style.reduction!r}")
misspelt = nn.MSELoss(reduction="avg")  # no error yet
try:
    misspelt(y_hat, y_flat.unsqueeze(1))
except ValueError as error:
    reduction_message = str(error)
print("ValueError:", reduction_message)
assert str(caught[0].message) == ("size_average and reduce args will be deprecated, please use "
                                  "reduction='sum' instead.")
assert old_style.reduction == "sum" and reduction_message == "avg is not a valid value for reduction"

# %% [markdown]
# ## Exercises
#
# Replace `None` with your answer and run the cell; the checker says whether it is right.
#
# **Exercise 1.** `y_hat` is `(8, 1)` and `y_flat` is `(8,)`. Compute the *right* MSE between
# them (one number).

# %%
answer_1 = None  # a float or a 0-d tensor
nb06.check_fixed_loss(answer_1, y_hat, y_flat)

# %% [markdown]
# <details><summary>Solution</summary>
#
# `nn.MSELoss()(y_hat, y_flat.unsqueeze(1))`, or `nn.MSELoss()(y_hat.squeeze(1), y_flat)`.
#
# </details>
#
# **Exercise 2.** Without autograd, compute the gradient of `nn.MSELoss()(prediction, target)`
# with respect to `prediction` (both `(16, 3)`).

# %%
answer_2 = None  # a tensor shaped like prediction
nb06.check_mse_gradient(answer_2, prediction, target)

# %% [markdown]
# <details><summary>Solution</summary>
#
# `2 * (prediction - target) / prediction.numel()`: N = 48 elements, not 16 samples.
#
# </details>
#
# **Exercise 3.** What is `nn.HuberLoss(delta=1.0)` for a single prediction 3 above its target?

# %%
answer_3 = None  # a number
nb06.check_huber_value(answer_3, residual=3.0, delta=1.0)

# %% [markdown]
# <details><summary>Solution</summary>
#
# `2.5`: beyond δ the loss is δ(|r| − δ/2) = 1 · (3 − 0.5). Check:
# `nn.HuberLoss()(torch.tensor([3.0]), torch.tensor([0.0]))`.
#
# </details>
#
# **Exercise 4.** A model trained on standardized targets reaches a test MSE of 0.04 (in z
# units). The training targets had a standard deviation of 50. What is the test MSE in the
# original units?

# %%
answer_4 = None  # a number
nb06.check_raw_mse(answer_4, standardized_mse=0.04, target_std=50.0)

# %% [markdown]
# <details><summary>Solution</summary>
#
# `100.0` = 0.04 · 50²: y = mean + std · z, so each error is 50 times larger and each squared
# error 2,500 times larger. (The RMSE scales by 50: 0.2 → 10.)
#
# </details>

# %% [markdown]
# ## Key takeaways
#
# - `nn.MSELoss()` = Σ(ŷ − y)² / N with N the number of **elements**; `'sum'` drops the 1/N,
#   `'none'` keeps every element.
# - A `(B, 1)` prediction against a `(B,)` target broadcasts to `(B, B)`: a warning, a wrong
#   number, and a model that learns to predict the batch mean. Make the shapes equal.
# - The gradient is 2(ŷ − y)/N: proportional to the error, which is why one outlier dominates
#   MSE; MAE and Huber cap its pull.
# - Standardize targets with training statistics; report errors back in the original units.
#
# **Next:** [07 · Adam and the training step](07_adam_training_step.ipynb) takes the gradient and
# turns it into a step.

# %%
print(run_summary(notebook_started))

# %% [markdown] tags=["course-nav"]
# ---
#
# **Part I · The classic example** · notebook 7 of 20
#
# Previous: [05 · Last-step output](05_last_step_output.ipynb) · Next: [07 · Adam and the training step](07_adam_training_step.ipynb) · [The map of the course](00_the_whole_picture.ipynb#cell-id=cell-015) · [Find your question](../README.md#find-your-question)

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
# # 04 · Parameter initialisation
#
# Before the first training step every weight of an LSTM already has a value, and those values
# decide where gradient descent starts: how strongly each gate reacts, how fast the cell state
# forgets, whether a signal survives thirty steps of recurrence. Many tutorials say PyTorch uses
# Xavier for LSTMs; it does not. This notebook shows what PyTorch really draws, proves it bit for
# bit, builds the popular better recipes with `nn.init` (Xavier, orthogonal blocks, forget-gate
# bias 1, chrono), and *measures* what they change: gate saturation, and training on a task that
# needs memory.
#
# **You will learn**
#
# - **KP 04.1** every default LSTM parameter is drawn from U(-1/√H, 1/√H), in registration order
#   (proven bit for bit, `proj_size` included), and that is not Xavier;
# - **KP 04.2** `nn.Linear`'s default `kaiming_uniform_(a=√5)` is U(-1/√fan_in, 1/√fan_in);
# - **KP 04.3** Xavier for the input weights and an orthogonal matrix *per gate block* for the
#   recurrent weights, by hand and with `utils.initialisation.init_lstm`;
# - **KP 04.4** why a forget-gate bias of 1, and why filling *both* bias vectors gives 2;
# - **KP 04.5** the same seed gives identical parameters, and what else the seed depends on;
# - **KP 04.6** how often each scheme's gates start saturated;
# - **KP 04.7** a measured comparison of the schemes on the adding problem.
#
# **Run time:** about 9 s on a 2-core laptop-class CPU; the last cell prints the measured time
# and peak memory of the run whose outputs you see.

# %%
import math
import time
import warnings

notebook_started = time.perf_counter()

import matplotlib.pyplot as plt
import torch
from torch import nn
from tqdm.auto import tqdm

from utils.checks import nb04
from utils.initialisation import (GATES, SCHEMES, adding_model, effective_bias,
                                  gate_activations, init_lstm, saturation_stats, train_on_adding)
from utils.training import env_report, one_thread, pick_device, run_summary, set_seed
from utils.viz import new_figure
from utils.viz.init import (histogram, plot_histograms, plot_loss_curves,
                            plot_saturation_by_scheme)
from utils.widgets.init import init_explorer

set_seed(0)
device = pick_device()
print(env_report(device))
# CPU builds warn once that oneDNN cannot run an LSTM with proj_size and PyTorch's own kernel is
# used instead; section 1 builds such an LSTM, so the warning is silenced.
warnings.filterwarnings("ignore", message="LSTM with projections is not supported with oneDNN")

# %% [markdown]
# ## 1. The default: U(-1/√H, 1/√H), for every parameter
#
# `nn.LSTM.reset_parameters` is three lines: `stdv = 1.0 / math.sqrt(self.hidden_size)`, then
# `init.uniform_(weight, -stdv, stdv)` for every parameter. Weights and biases alike, input and
# recurrent alike, whatever the input size. Here is one LSTM with 10 inputs and H = 64, its
# parameters' ranges and standard deviations. A uniform U(-k, k) has standard deviation k/√3.

# %%
input_size, H = 10, 64
k = 1 / math.sqrt(H)
torch.manual_seed(0)
lstm = nn.LSTM(input_size, H)
print(f"k = 1/sqrt({H}) = {k:.4f};  std of U(-k, k) = k/sqrt(3) = {k / math.sqrt(3):.4f}")
for name, p in lstm.named_parameters():
    print(f"{name:13} {str(tuple(p.shape)):10} min {p.min():+.4f}  max {p.max():+.4f}  "
          f"std {p.std():.4f}")

# %% [markdown]
# The histograms are flat and stop at ±k. The dotted lines mark where Xavier-uniform would stop
# for `weight_ih_l0`, ±√(6 / (fan_in + fan_out)) with fan_in = 10 and fan_out = 4H = 256: the
# values never get there.

# %%
xavier_ih = math.sqrt(6 / (input_size + 4 * H))
weights = {name: histogram(getattr(lstm, name), bins=30, limit=1.3 * xavier_ih)
           for name in ("weight_ih_l0", "weight_hh_l0")}
fig, ax = new_figure(width=7.0, height=3.0)
plot_histograms(ax, weights, bound=k, bound_label="±1/√H (the default)")
for sign in (-1, 1):
    ax.axvline(sign * xavier_ih, color="#C44E52", linestyle=":", linewidth=1.5,
               label="Xavier bound for weight_ih_l0" if sign == 1 else None)
ax.legend(fontsize=8, loc="upper right")
ax.set_title("nn.LSTM(10, 64): default parameters")
plt.show()

# %% [markdown]
# **Proof, bit for bit.** Re-seed the generator and draw each parameter again from U(-k, k), in
# the order `parameters()` lists them: the values are *identical*, not merely close. The check
# runs on a 3-layer bidirectional LSTM with `proj_size`, 30 parameters in all. Note that even
# `weight_hr` (the projection, shape (P, H)) uses k = 1/√hidden_size, not 1/√proj_size.

# %%
def redraw_default(module: nn.LSTM, seed: int) -> list[torch.Tensor]:
    """Draw every parameter again from U(-1/sqrt(H), 1/sqrt(H)), in registration order."""
    torch.manual_seed(seed)
    bound = 1 / math.sqrt(module.hidden_size)
    return [torch.empty_like(p).uniform_(-bound, bound) for p in module.parameters()]


torch.manual_seed(7)
big = nn.LSTM(input_size, H, num_layers=3, bidirectional=True, proj_size=16)
print(len(list(big.parameters())), "parameters;", "weight_hr_l0:", tuple(big.weight_hr_l0.shape),
      f"largest |value| {big.weight_hr_l0.abs().max():.4f} <= 1/sqrt(64) = {k:.4f}, "
      f"while 1/sqrt(16) = {1 / math.sqrt(16):.4f}")

# %% [markdown]
# **Not Xavier.** If the popular claim were true, the standard deviation of each weight matrix
# would be Xavier's √(2 / (fan_in + fan_out)). The measured ones sit on the default's k/√3
# instead (`weight_hh_l0` has 16,384 values, so its estimate is good to well under 1 %):

# %%
for name in ("weight_ih_l0", "weight_hh_l0"):
    fan_out, fan_in = getattr(lstm, name).shape
    print(f"{name}: measured std {getattr(lstm, name).std():.4f};  default predicts "
          f"k/sqrt(3) = {k / math.sqrt(3):.4f};  Xavier would give "
          f"sqrt(2/({fan_in}+{fan_out})) = {math.sqrt(2 / (fan_in + fan_out)):.4f}")

# %% [markdown]
# And the bias a gate sees, `bias_ih + bias_hh`, is the sum of two independent uniforms:
# triangular, in ±2k, with standard deviation k·√(2/3).

# %%
# KP 04.1
for (name, p), redrawn in zip(big.named_parameters(), redraw_default(big, 7), strict=True):
    assert torch.equal(p, redrawn), name
    assert p.abs().max() <= k, name
assert big.weight_hr_l0.abs().max() > 0.9 * k  # weight_hr fills U(±1/sqrt(hidden_size)) too

for name in ("weight_ih_l0", "weight_hh_l0"):
    p = getattr(lstm, name)
    fan_out, fan_in = p.shape
    measured, default_std = p.std().item(), k / math.sqrt(3)
    xavier_std = math.sqrt(2 / (fan_in + fan_out))
    assert abs(measured - default_std) < 0.03 * default_std, (name, measured)
    assert abs(measured - xavier_std) > 0.08 * xavier_std, (name, measured, xavier_std)

bins = torch.histc(lstm.weight_hh_l0, bins=10, min=-k, max=k) / lstm.weight_hh_l0.numel()
assert ((bins - 0.1).abs() < 0.01).all(), bins  # ten equal bins, 10 % each: uniform
summed = lstm.bias_ih_l0 + lstm.bias_hh_l0
assert summed.abs().max() <= 2 * k and summed.abs().max() > k
assert abs(summed.std().item() - k * math.sqrt(2 / 3)) < 0.1 * k * math.sqrt(2 / 3)

# %% [markdown]
# ## 2. `nn.Linear`: kaiming_uniform with a = √5, which is U(-1/√fan_in, 1/√fan_in)
#
# The head of the classic model is an `nn.Linear`. Its `reset_parameters` calls
# `init.kaiming_uniform_(self.weight, a=math.sqrt(5))`. Kaiming-uniform draws from
# U(±gain·√(3 / fan_in)) with the leaky-ReLU gain √(2 / (1 + a²)); with a = √5 the gain is
# √(1/3), and the bound collapses to 1/√fan_in. The bias is drawn from U(±1/√fan_in) directly.
# That makes the default weight's standard deviation 1/√(3·fan_in), √6 times smaller than
# He's √(2 / fan_in) for ReLU layers.

# %%
a = math.sqrt(5)
gain = nn.init.calculate_gain("leaky_relu", a)
for fan_in in (3, 20, 64):
    kaiming_bound = gain * math.sqrt(3 / fan_in)
    print(f"fan_in {fan_in:3}: gain {gain:.6f} = sqrt(1/3);  gain*sqrt(3/fan_in) = "
          f"{kaiming_bound!r},  1/sqrt(fan_in) = {1 / math.sqrt(fan_in)!r}")

# %% [markdown]
# The two bounds can differ in the last bit of a Python float (fan_in = 3 and 64 above), yet
# the float32 values drawn from them are the same. The proof redraws `nn.Linear`'s weight both ways,
# and its bias, for several sizes:

# %%
# KP 04.2
for fan_in, fan_out in [(3, 8), (20, 1), (64, 32), (100, 7)]:
    torch.manual_seed(fan_in)
    linear = nn.Linear(fan_in, fan_out)
    bound = 1 / math.sqrt(fan_in)
    torch.manual_seed(fan_in)
    kaiming = nn.init.kaiming_uniform_(torch.empty(fan_out, fan_in), a=math.sqrt(5))
    bias = torch.empty(fan_out).uniform_(-bound, bound)
    torch.manual_seed(fan_in)
    uniform = torch.empty(fan_out, fan_in).uniform_(-bound, bound)
    assert torch.equal(linear.weight, kaiming) and torch.equal(linear.weight, uniform), fan_in
    assert torch.equal(linear.bias, bias), fan_in
assert math.isclose(gain, math.sqrt(1 / 3))
assert gain * math.sqrt(3 / 3) != 1 / math.sqrt(3)  # the last-bit difference of fan_in = 3

# %% [markdown]
# ## 3. The recipes: Xavier for input weights, orthogonal per gate block for recurrent weights
#
# **Xavier** (Glorot & Bengio, 2010) picks the bound √(6 / (fan_in + fan_out)) so that a layer
# roughly keeps the variance of its activations forwards and of its gradients backwards.
# `weight_ih_l0` is such a feed-forward map from the input to all four gates, fan_in = I and
# fan_out = 4H.
#
# **Orthogonal** (Saxe et al., 2014) aims at the recurrence. Each gate multiplies the previous
# `h` by its own (H, H) block of `weight_hh_l0`; repeated over many steps, a block whose singular
# values are below 1 shrinks the signal and one above 1 blows it up. An orthogonal block has all
# its singular values equal to 1. It has to be orthogonal *per block*: calling
# `nn.init.orthogonal_` on the whole (4H, H) matrix makes its 4H rows' columns orthonormal
# together, which leaves each block with singular values well below 1.
#
# By hand, with `nn.init`, inside `torch.no_grad()` (the parameters require gradients):

# %%
torch.manual_seed(1)
by_hand = nn.LSTM(input_size, H)
with torch.no_grad():
    nn.init.xavier_uniform_(by_hand.weight_ih_l0)          # (4H, I): fan_in I, fan_out 4H
    for gate in range(4):                                  # i, f, g, o: one block each
        nn.init.orthogonal_(by_hand.weight_hh_l0[gate * H:(gate + 1) * H])
    by_hand.bias_ih_l0.zero_()
    by_hand.bias_hh_l0.zero_()
whole = nn.init.orthogonal_(torch.empty(4 * H, H))          # the wrong way: one big matrix

# %% [markdown]
# The singular values of the forget-gate block under the three initialisations:

# %%
blocks = {"default U(±1/√H)": lstm.weight_hh_l0[H:2 * H],
          "orthogonal per block": by_hand.weight_hh_l0[H:2 * H],
          "orthogonal_ on the whole (4H, H)": whole[H:2 * H]}
fig, ax = new_figure(width=6.4, height=3.0)
for (label, block), color in zip(blocks.items(), ["#7f7f7f", "#4C72B0", "#C44E52"], strict=True):
    values = torch.linalg.svdvals(block.detach())
    ax.plot(values, marker=".", color=color, label=f"{label}: {values.min():.2f} to {values.max():.2f}")
ax.set_xlabel("index (largest first)")
ax.set_ylabel("singular value")
ax.set_title("singular values of the forget-gate block of weight_hh_l0 (H = 64)")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# `init_lstm(lstm, "xavier_orthogonal")` from `utils.initialisation` does exactly this, for
# every layer and direction (and, with `proj_size`, makes `weight_hr` have orthonormal rows). On
# a one-layer LSTM with the same seed it reproduces the by-hand version bit for bit.

# %%
# KP 04.3
eye = torch.eye(H)
for gate in range(4):
    block = by_hand.weight_hh_l0[gate * H:(gate + 1) * H].detach()
    torch.testing.assert_close(block @ block.T, eye, atol=1e-5, rtol=0)
    assert torch.linalg.svdvals(whole[gate * H:(gate + 1) * H]).max() < 0.95  # not orthogonal
torch.testing.assert_close(whole.T @ whole, eye, atol=1e-5, rtol=0)  # only the whole is
assert by_hand.weight_ih_l0.abs().max() <= xavier_ih
assert torch.linalg.svdvals(lstm.weight_hh_l0[H:2 * H].detach()).max() > 1  # the default

torch.manual_seed(1)
helper = init_lstm(nn.LSTM(input_size, H), "xavier_orthogonal")
assert all(torch.equal(p, q) for p, q in zip(helper.parameters(), by_hand.parameters(), strict=True))
deep = init_lstm(nn.LSTM(input_size, H, num_layers=2, bidirectional=True), "xavier_orthogonal")
for name, p in deep.named_parameters():
    if name.startswith("weight_hh"):
        for gate in range(4):
            block = p[gate * H:(gate + 1) * H].detach()
            torch.testing.assert_close(block @ block.T, eye, atol=1e-5, rtol=0)
    elif name.startswith("bias"):
        assert not p.any(), name

# %% [markdown]
# ## 4. The forget-gate bias: 1, not 2
#
# The cell state follows c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t. At initialisation the gates'
# pre-activations are small, so with zero biases f ≈ σ(0) = 0.5: without new input the cell
# state *halves* every step, and after 10 steps 0.1 % of it is left. Gradients flowing back
# through c shrink the same way. A forget-gate bias of 1 (Gers et al., 2000; Jozefowicz et al.,
# 2015) starts f at σ(1) = 0.73 instead. Here is an `nn.LSTM` with all weights zero, zero input,
# c0 = 1, and forget bias b: its cell state is exactly σ(b)^t.

# %%
def cell_state_decay(forget_bias: float, steps: int = 30) -> torch.Tensor:
    decay = nn.LSTM(1, 1)
    with torch.no_grad():
        for p in decay.parameters():
            p.zero_()
        decay.bias_ih_l0[1] = forget_bias  # row 1 of 4 is the forget gate (H = 1)
    state, values = (torch.zeros(1, 1, 1), torch.ones(1, 1, 1)), []
    for _ in range(steps):
        _, state = decay(torch.zeros(1, 1, 1), state)
        values.append(state[1].item())
    return torch.tensor(values)

decays = {b: cell_state_decay(b) for b in (0.0, 1.0, 2.0)}
for b, c in decays.items():
    print(f"forget bias {b:.0f}: f = sigmoid({b:.0f}) = {torch.sigmoid(torch.tensor(b)):.3f}, "
          f"cell state after 10 steps {c[9]:.4f}, after 30 steps {c[29]:.2e}")

# %%
fig, ax = new_figure(width=6.0, height=2.8)
for (b, c), color in zip(decays.items(), ["#7f7f7f", "#DD8452", "#C44E52"], strict=True):
    ax.plot(range(1, 31), c, color=color, marker=".", label=f"forget bias {b:.0f}")
ax.set_yscale("log")
ax.set_xlabel("step t")
ax.set_ylabel("cell state c_t (c_0 = 1)")
ax.set_title("what is left of the cell state without new input")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# **The trap.** `nn.LSTM` has *two* bias vectors and simply adds them: the forget gate sees
# `bias_ih[H:2H] + bias_hh[H:2H]`. A recipe copied all over the web loops over every parameter
# whose name contains "bias" and fills the forget slice of each with 1, so the gate sees **2**,
# f = σ(2) = 0.88. Nothing fails; the model just starts from another point than intended.

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(2)
popular = init_lstm(nn.LSTM(input_size, H), "xavier_orthogonal")
with torch.no_grad():
    for name, p in popular.named_parameters():
        if "bias" in name:
            p[H:2 * H].fill_(1.0)           # the popular recipe: both vectors
intended = init_lstm(nn.LSTM(input_size, H), "forget_bias_1")  # one vector only
zero_input = torch.zeros(3, 1, input_size)  # 3 steps of zeros: the gates see their biases
f_popular = gate_activations(popular, zero_input)[1]["f"][0, 0, 0]    # layer 0, t = 0, sequence 0
f_intended = gate_activations(intended, zero_input)[1]["f"][0, 0, 0]
print(f"popular recipe: forget gate sees {effective_bias(popular, 'f').unique().tolist()}, "
      f"f = {f_popular.unique().tolist()}")
print(f"forget_bias_1:  forget gate sees {effective_bias(intended, 'f').unique().tolist()}, "
      f"f = {f_intended.unique().tolist()}")

# %% [markdown]
# The proof: the popular LSTM computes exactly what an LSTM with a *single* forget bias of 2
# computes, and `gate_activations` (which re-runs the LSTM step by step and is checked against
# `nn.LSTM`'s output here) shows f = σ(2) at the first step.
#
# A step further, the **chrono** initialisation (Tallec & Ollivier, 2018) draws
# b_f = log(u) with u ~ U(1, T_max − 1), and b_i = −b_f. Then f = σ(log u) = u / (1 + u), whose
# memory time 1 / (1 − f) = 1 + u spreads the units' time scales over [2, T_max].

# %%
# KP 04.4
two = init_lstm(nn.LSTM(input_size, H), "xavier_orthogonal")
with torch.no_grad():
    two.load_state_dict(popular.state_dict())
    two.bias_ih_l0[H:2 * H] = 2.0
    two.bias_hh_l0[H:2 * H] = 0.0
x_check = torch.randn(5, 4, input_size)
torch.testing.assert_close(two(x_check)[0], popular(x_check)[0])
assert torch.equal(effective_bias(popular, "f"), torch.full((H,), 2.0))
assert torch.equal(effective_bias(intended, "f"), torch.ones(H))
assert not intended.bias_hh_l0.any()
torch.testing.assert_close(f_popular, torch.full((H,), torch.sigmoid(torch.tensor(2.0)).item()))
torch.testing.assert_close(f_intended, torch.full((H,), torch.sigmoid(torch.tensor(1.0)).item()))
torch.testing.assert_close(gate_activations(popular, x_check)[0], popular(x_check)[0])
for b, c in decays.items():
    torch.testing.assert_close(c, torch.sigmoid(torch.tensor(b)) ** torch.arange(1, 31))

chrono = init_lstm(nn.LSTM(input_size, H), "chrono", t_max=30)
memory_time = 1 / (1 - torch.sigmoid(effective_bias(chrono, "f").double()))
assert memory_time.min() >= 2 - 1e-9 and memory_time.max() <= 30 + 1e-9
torch.testing.assert_close(effective_bias(chrono, "i"), -effective_bias(chrono, "f"))

# %% [markdown]
# ## 5. Seeding: the same seed, the same parameters
#
# Initialisation draws from PyTorch's global random generator. Seed it, build the model, and
# you get the same numbers every time; another seed gives other numbers. But the draws depend on
# *everything* drawn before: building one extra layer first shifts the generator, and the LSTM
# changes although its seed did not. `init_lstm` can take its own `torch.Generator`, which makes
# a scheme's draws independent of what else was built.

# %%
def build(seed, extra_layer_first=False):
    torch.manual_seed(seed)
    if extra_layer_first:
        nn.Linear(3, 3)              # draws its own weights from the same generator
    return nn.LSTM(input_size, 20, num_layers=2)

same_a, same_b, other = build(42), build(42), build(43)
shifted = build(42, extra_layer_first=True)
def identical(m1, m2):
    return [torch.equal(p, q) for p, q in zip(m1.parameters(), m2.parameters(), strict=True)]

print("seed 42 twice, parameters identical:      ", identical(same_a, same_b))
print("seed 42 and seed 43, parameters identical:", identical(same_a, other))
print("seed 42 with a Linear built first:        ", identical(same_a, shifted))

# %%
# KP 04.5
assert all(identical(same_a, same_b))
assert not any(identical(same_a, other))
assert not any(identical(same_a, shifted))
# init_lstm with its own generator: the same parameters whatever the global generator did
mine = [init_lstm(nn.LSTM(input_size, 20), "chrono", t_max=30,
                  generator=torch.Generator().manual_seed(5)) for _ in range(2)]
assert all(identical(mine[0], mine[1]))
set_seed(42)  # the course's helper seeds Python, NumPy and PyTorch at once
assert all(identical(nn.LSTM(input_size, 20, num_layers=2), same_a))

# %% [markdown]
# ## 6. Gate saturation
#
# A sigmoid gate is *saturated* when its value sits in a flat tail, below 0.05 or above 0.95:
# there its derivative σ(1 − σ) is below 0.048, a fifth of its peak 0.25, and gradients through
# the gate nearly vanish. (For the tanh candidate g we apply the same thresholds to (g + 1)/2,
# since tanh(x) = 2σ(2x) − 1.) `gate_activations` records every gate of every step, and
# `saturation_stats` counts the tails.
#
# We run an LSTM(8, 32), initialised with each scheme, on 64 random sequences of 30 steps,
# once with standardised inputs (N(0, 1)) and once with inputs 8 times larger, as unscaled
# features would be.

# %%
x_sat = torch.randn(64, 30, 8, generator=torch.Generator().manual_seed(1))
saturation, lstms = {1: {}, 8: {}}, {}
with one_thread():
    for scheme in SCHEMES:
        torch.manual_seed(0)
        lstms[scheme] = init_lstm(nn.LSTM(8, 32, batch_first=True), scheme,
                                  t_max=30 if scheme == "chrono" else None)
        for scale in saturation:
            saturation[scale][scheme] = saturation_stats(gate_activations(lstms[scheme],
                                                                          scale * x_sat)[1])
for scale, by_scheme in saturation.items():
    print(f"inputs x {scale}: % of values saturated, per gate i / f / g / o")
    for scheme, stats in by_scheme.items():
        print(f"  {scheme:18}" + "".join(f"{100 * stats[g]['saturated']:7.1f}" for g in GATES))

# %%
fig, axes = new_figure(ncols=2, width=10.0, height=3.0, sharey=True)
for ax, (scale, by_scheme) in zip(axes, saturation.items(), strict=True):
    plot_saturation_by_scheme(ax, by_scheme, title=f"inputs N(0, 1) x {scale}")
plt.show()

# %% [markdown]
# With standardised inputs no scheme saturates its gates at the start, except chrono, whose
# input and forget gates are saturated *on purpose*: a unit whose u exceeds 19 has
# b_f > log 19, so f > 0.95 and (with b_i = −b_f) i < 0.05. With u ~ U(1, 29) for T_max = 30
# that is 10/28 ≈ 36 % of the units *on average*; a draw of 32 units has its own count. Count
# them in this LSTM, and count the units whose recorded f is above 0.95 (and i below 0.05) in
# most of the 64 × 30 values:

# %%
chrono_f = gate_activations(lstms["chrono"], x_sat)[1]
open_by_bias = effective_bias(lstms["chrono"], "f") > math.log(19)        # u > 19, per unit
f_mostly_high = (chrono_f["f"][0] > 0.95).float().mean(dim=(0, 1)) > 0.5  # over steps, batch
i_mostly_low = (chrono_f["i"][0] < 0.05).float().mean(dim=(0, 1)) > 0.5
n_open = int(open_by_bias.sum())
print(f"chrono: {n_open} of {len(open_by_bias)} units have u > 19 ({n_open / 32:.1%}); "
      f"f mostly > 0.95 in {int(f_mostly_high.sum())} units, i mostly < 0.05 in "
      f"{int(i_mostly_low.sum())}, the same units: {torch.equal(f_mostly_high, open_by_bias)}")

# %% [markdown]
# Here 10 of the 32 units (31.2 %) have u > 19, and they are exactly the units whose gates sit
# in the tails most of the time; so the recorded values above show f > 0.95 in about that share
# (30.2 %) and i < 0.05 in 31.3 %. These units begin with the memory open and the input closed.
# Large inputs saturate every scheme heavily (over 15 % of every gate): what prevents that is
# standardising the inputs (scale 1 above), not another initialisation.

# %%
# KP 04.6
for module in lstms.values():  # the recorded gates are the LSTM's own
    output, _ = gate_activations(module, x_sat)
    torch.testing.assert_close(output, module(x_sat)[0], atol=1e-5, rtol=1e-5)
for scheme in ("default", "xavier_orthogonal", "forget_bias_1"):
    assert all(saturation[1][scheme][g]["saturated"] < 0.01 for g in GATES), scheme
assert n_open == 10                                           # 10 of 32 units, counted
assert torch.equal(f_mostly_high, open_by_bias) and torch.equal(i_mostly_low, open_by_bias)
for gate, tail in (("f", "high"), ("i", "low")):  # the share of values follows the count
    assert abs(saturation[1]["chrono"][gate][tail] - n_open / 32) < 0.02, saturation[1]["chrono"]
for scheme in SCHEMES:
    assert all(saturation[8][scheme][g]["saturated"] > 0.15 for g in GATES), scheme

# %% [markdown]
# ### Try it: pick a scheme
#
# The explorer shows, for the LSTM(8, 32) above, the histograms of both weight matrices against
# ±1/√H, the effective bias of every unit per gate, and how saturation grows with the input
# scale. Try: switch from `default` to `xavier_orthogonal` and watch `weight_hh_l0` spread past
# ±1/√H (an orthogonal block has larger entries), then to `chrono` and find its forget biases.

# %%
init_explorer()

# %% [markdown]
# ## 7. Does it matter for training? A measured comparison
#
# The **adding problem** needs memory: each sequence has 30 steps of two channels, a random
# value in U(0, 1) and a marker that is 1 at exactly two steps, one in each half. The target is
# the sum of the two marked values. Predicting the constant 1 scores MSE 1/6 ≈ 0.167; to do
# better, the model must hold the first marked value for up to 29 steps.
#
# The same budget for every scheme: an LSTM(2, 16) with a linear head on the last step,
# 250 Adam steps (learning rate 0.02) on fresh batches of 32, three seeds. For one seed, every
# scheme sees the *same* batches and starts from the *same* head; only the LSTM's
# initialisation differs. The held-out set is the same 1,000 sequences for every run.

# %%
steps, seeds = 250, (0, 1, 2)
config = dict(seq_len=30, hidden_size=16, steps=steps, batch=32, lr=2e-2)
runs = [(scheme, seed) for seed in seeds for scheme in SCHEMES]
results = []
with one_thread():  # tiny models: one thread is enough (see one_thread's docstring)
    for scheme, seed in tqdm(runs, desc="training"):
        results.append(train_on_adding(scheme, seed, **config))

# %%
fig, ax = new_figure(width=7.5, height=3.6)
plot_loss_curves(ax, results, baseline=1 / 6)
ax.set_title("adding problem, T = 30: training loss (each batch unseen before its step)")
plt.show()

# %% [markdown]
# The held-out MSE of every run, and how many runs got below 0.05 (less than a third of the
# baseline, i.e. the model found the markers):

# %%
test_mse = {scheme: [r["test_mse"] for r in results if r["scheme"] == scheme] for scheme in SCHEMES}
print(f"{'scheme':18}" + "".join(f"  seed {s}" for s in seeds) + "    mean   runs < 0.05")
for scheme, values in test_mse.items():
    print(f"{scheme:18}" + "".join(f"{v:8.4f}" for v in values)
          + f"  {sum(values) / len(values):6.4f}   {sum(v < 0.05 for v in values)} of {len(values)}")
ranking = sorted(SCHEMES, key=lambda s: sum(test_mse[s]))
print("lowest mean held-out MSE first:", ", ".join(ranking))

# %% [markdown]
# **What the numbers say.** With this budget, chrono is the only scheme whose runs found the
# markers: in two of the three seeds its held-out MSE fell far below the baseline. Its third
# seed, and every run of the other three schemes, stayed on the plateau of predicting the mean,
# within 10 % of 1/6. Here, Xavier/orthogonal weights and a forget-gate bias of 1 made no
# measurable difference within 250 steps; the spread of forget-gate time scales that chrono sets
# up did. Mind the limits: one task at one length, one small model, a short budget, three seeds.
# The seed mattered as much as the scheme (one chrono seed stayed stuck like the rest), and whether
# the other schemes leave the plateau with more steps is not what this experiment measures;
# notebook 09 trains longer.

# %%
# KP 04.7
assert all(len(r["losses"]) == steps for r in results)            # the same budget
for seed in seeds:                                                  # the same head per seed
    heads = [adding_model(scheme, seed, 30, 16)[1].weight for scheme in SCHEMES]
    assert all(torch.equal(heads[0], w) for w in heads[1:])
for r in results:                                                   # all start at chance
    assert sum(r["losses"][:20]) / 20 > 0.8 / 6, r["scheme"]
assert ranking[0] == "chrono"
assert sum(v < 0.01 for v in test_mse["chrono"]) == 2               # two seeds found the markers
for scheme, values in test_mse.items():                             # every other run: plateau
    plateau = [v for v in values if abs(v - 1 / 6) < 0.1 / 6]
    assert len(plateau) == (1 if scheme == "chrono" else len(seeds)), (scheme, values)

# %% [markdown]
# ## Pitfalls
#
# **Writing into a parameter outside `torch.no_grad()`.** Parameters require gradients, and
# autograd refuses an in-place write into (a view of) one:

# %%
try:
    lstm.bias_ih_l0[H:2 * H] = 1.0
except RuntimeError as error:
    inplace_message = str(error)
print("RuntimeError:", inplace_message)
assert "a view of a leaf Variable that requires grad is being used in an in-place operation" in inplace_message

# %% [markdown]
# **Running a matrix initialiser over every parameter**, biases included. `orthogonal_` and the
# Xavier/Kaiming initialisers need at least two dimensions:

# %%
messages = {}
for init in (nn.init.orthogonal_, nn.init.xavier_uniform_):
    scratch = nn.LSTM(input_size, H)
    for name, p in scratch.named_parameters():
        try:
            with torch.no_grad():
                init(p)
        except ValueError as error:
            messages[init.__name__] = f"{name}: {error}"
            break
for init_name, message in messages.items():
    print(f"{init_name:16} ValueError at {message}")
assert messages["orthogonal_"] == "bias_ih_l0: Only tensors with 2 or more dimensions are supported"
assert "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions" in messages["xavier_uniform_"]

# %% [markdown]
# **Orthogonal on the whole `weight_hh`** and **forget bias in both vectors** fail silently; see
# sections 3 and 4. **A misspelt scheme** in `init_lstm` names the known ones:

# %%
try:
    init_lstm(lstm, "xavier")
except ValueError as error:
    scheme_message = str(error)
print("ValueError:", scheme_message)
assert "unknown scheme 'xavier'" in scheme_message and all(s in scheme_message for s in SCHEMES)

# %% [markdown]
# ## Exercises
#
# Replace `None` with your answer and run the cell; the checker says whether it is right.
#
# **Exercise 1.** `nn.LSTM(300, 64)` is built with PyTorch's defaults. Every parameter is drawn
# from U(-k, k). What is k?

# %%
answer_1 = None  # a number
nb04.check_default_bound(answer_1, hidden_size=64)

# %% [markdown]
# <details><summary>Solution</summary>
#
# k = 1/√64 = 0.125: the input size (300) plays no part. `nb04.check_default_bound(1 / math.sqrt(64))`.
#
# </details>
#
# **Exercise 2.** Give every forget gate of `exercise_lstm` (2 layers, bidirectional, hidden 8)
# an effective bias of exactly 1, leaving the other gates alone.

# %%
torch.manual_seed(0)
exercise_lstm = nn.LSTM(4, 8, num_layers=2, bidirectional=True)
# your code here: change exercise_lstm's biases
nb04.check_forget_bias(exercise_lstm)

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# H = exercise_lstm.hidden_size
# with torch.no_grad():
#     for name, p in exercise_lstm.named_parameters():
#         if name.startswith("bias_ih"):
#             p[H:2 * H] = 1.0
#         elif name.startswith("bias_hh"):
#             p[H:2 * H] = 0.0
# nb04.check_forget_bias(exercise_lstm)
# ```
#
# Rows H..2H−1 are the forget gate (order i, f, g, o), and the gate sees the *sum* of the two
# vectors, so one holds 1 and the other 0; the weights and the i, g, o rows stay as drawn (the
# checker compares them with the LSTM drawn after `torch.manual_seed(0)`).
# `init_lstm(exercise_lstm, "forget_bias_1")` sets the same forget bias but re-draws the
# weights and zeroes the other biases, so it does not pass.
#
# </details>
#
# **Exercise 3.** Make each of the four gate blocks of `weight` (the shape of `weight_hh_l0`
# for H = 16) an orthogonal matrix.

# %%
weight = torch.empty(4 * 16, 16)
# your code here: initialise weight
nb04.check_orthogonal_blocks(weight, hidden_size=16)

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# for gate in range(4):
#     nn.init.orthogonal_(weight[gate * 16:(gate + 1) * 16])
# nb04.check_orthogonal_blocks(weight, hidden_size=16)
# ```
#
# `nn.init.orthogonal_(weight)` on the whole (64, 16) tensor does *not* pass: its 16 columns
# are orthonormal together, but no block is orthogonal on its own.
#
# </details>

# %% [markdown]
# ## Key takeaways
#
# - `nn.LSTM` draws every weight and both biases from U(−1/√H, 1/√H), the projection too; it is
#   not Xavier. The bias a gate sees is the sum of two such draws.
# - `nn.Linear`'s `kaiming_uniform_(a=√5)` is U(−1/√fan_in, 1/√fan_in), its bias likewise.
# - The usual better start: Xavier for `weight_ih`, `orthogonal_` on *each* (H, H) gate block of
#   `weight_hh`, zero biases, forget bias 1 in *one* of the two vectors (`init_lstm` does it for
#   every layer and direction). Always inside `torch.no_grad()`.
# - The seed fixes the parameters only together with everything drawn before them; a dedicated
#   `torch.Generator` decouples a scheme from the rest.
# - On the adding problem (T = 30, 250 steps, three seeds) only chrono's spread of forget-gate
#   time scales got runs off the 1/6 plateau; Xavier/orthogonal and forget bias 1 did not differ
#   measurably from the default there. Initialisation can decide *when* training takes off.
#
# **Next:** [05 · Last-step output](05_last_step_output.ipynb) asks what `out[:, -1]` really holds.

# %%
print(run_summary(notebook_started))

# %% [markdown] tags=["course-nav"]
# ---
#
# **Part I · The classic example** · notebook 5 of 20
#
# Previous: [03 · State initialisation](03_state_initialisation.ipynb) · Next: [05 · Last-step output](05_last_step_output.ipynb) · [The map of the course](00_the_whole_picture.ipynb#cell-id=cell-015) · [Find your question](../README.md#find-your-question)

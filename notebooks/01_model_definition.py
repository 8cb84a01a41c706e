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
# # 01 · Model definition
#
# `nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)` is one line of the classic
# example, and it hides the whole model: four gates, two state vectors, four weight and bias
# tensors per layer and direction, and a loop over time. This notebook opens that line. It
# shows how a module registers what it learns, what each constructor argument changes, the
# equations PyTorch computes and where each gate lives inside `weight_ih_l0`, and then rebuilds
# the LSTM from matrix products, sigmoid and tanh until it reproduces a trained `nn.LSTM`.
#
# **You will learn**
#
# - **KP 01.1** how `nn.Module` works: `__init__` registers sub-modules and parameters, `forward`
#   computes;
# - **KP 01.2** every `nn.LSTM` constructor argument and what it changes;
# - **KP 01.3** the gate equations i, f, g, o, c, h, in PyTorch's exact form;
# - **KP 01.4** the parameter layout: four gate blocks stacked in the order i, f, g, o;
# - **KP 01.5** the parameter-count formula, checked on several configurations;
# - **KP 01.6** an LSTM from scratch that reproduces a trained `nn.LSTM` after copying its
#   weights;
# - **KP 01.7** the linear head;
# - **KP 01.8** moving a model to a device.
#
# **Run time:** about 7 s on a 2-core laptop-class CPU; the last cell prints the measured time
# and peak memory of the run whose outputs you see.
#
# Every claim below has a **proof cell** (its first line reads `# KP 01.x`): an `assert` that would
# fail if the claim were wrong.

# %%
import copy
import math
import time
import warnings

notebook_started = time.perf_counter()

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from utils.checks import nb01
from utils.models import LSTMRegressor, ScratchLSTM, ScratchLSTMCell
from utils.training import env_report, pick_device, run_summary, set_seed
from utils.viz import GATE_COLORS, new_figure
from utils.viz.cell import draw_lstm_cell
from utils.widgets.gates import gates_explorer

# On a CPU, torch notes once that its oneDNN kernel has no projections (proj_size > 0) and
# falls back to its default one. The numbers are the same; the notice is not part of the lesson.
warnings.filterwarnings("ignore", message="LSTM with projections is not supported with oneDNN")

set_seed(0)
device = pick_device()
print(env_report(device))

# %% [markdown]
# ## 1. Anatomy of an `nn.Module`
#
# A model is a class that derives from `nn.Module`. Its `__init__` creates the pieces and
# **assigns them to attributes**; that assignment registers them: a sub-module (an `nn.LSTM`, an
# `nn.Linear`) in `_modules`, an `nn.Parameter` in `_parameters`, a `register_buffer` tensor in
# `_buffers`. Its `forward` computes with them. Calling `model(x)` runs `forward` (plus any hooks).
# A plain tensor attribute is *not* registered: no optimizer sees it, `state_dict` does not save
# it, `.to(device)` does not move it.

# %%
class TinyModel(nn.Module):
    def __init__(self):
        super().__init__()                                # sets up the registries; always first
        self.lstm = nn.LSTM(3, 4)                         # sub-module: registered
        self.head = nn.Linear(4, 1)                       # sub-module: registered
        self.scale = nn.Parameter(torch.ones(1))          # parameter: registered
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))  # buffer: not learned
        self.offset = torch.zeros(1)                      # plain tensor: NOT registered

    def forward(self, x):                                 # x: (seq_len, batch, 3)
        self.calls += 1
        out, _ = self.lstm(x)
        return self.head(out[-1]) * self.scale + self.offset

# %% [markdown]
# What the module registered, found by walking its registries:

# %%
tiny = TinyModel()
print("children:  ", [name for name, _ in tiny.named_children()])
for name, p in tiny.named_parameters():
    print(f"parameter:  {name:14} {tuple(p.shape)}")
print("buffers:   ", [name for name, _ in tiny.named_buffers()])
print("state_dict:", list(tiny.state_dict()))

# %%
# KP 01.1
assert [name for name, _ in tiny.named_children()] == ["lstm", "head"]
assert [name for name, _ in tiny.named_parameters()] == [
    "scale", "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0",
    "head.weight", "head.bias"]                # own parameters first, then each child's
assert "calls" in tiny.state_dict() and "calls" not in dict(tiny.named_parameters())
assert "offset" not in tiny.state_dict() and all(p is not tiny.offset for p in tiny.parameters())
x_tiny = torch.randn(5, 2, 3)
torch.testing.assert_close(tiny(x_tiny), tiny.forward(x_tiny))  # model(x) runs forward(x)
assert tiny.calls == 2

# %% [markdown]
# ## 2. Every constructor argument
#
# `nn.LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
# bidirectional=False, proj_size=0)`. Below, one LSTM per argument, each differing from
# `nn.LSTM(10, 20)` in that argument only, runs on a batch of 3 sequences of 5 steps.
#
# | argument | what it changes |
# | --- | --- |
# | `input_size` | the features per time step: `x.shape[-1]` and the columns of `weight_ih_l0` |
# | `hidden_size` | H, the size of `h` and `c`; every gate block has H rows |
# | `num_layers` | stacked LSTMs, each reading the outputs of the one below; adds `_l1`, `_l2`, ... |
# | `bias` | `False` drops both bias vectors |
# | `batch_first` | input and output are `(batch, seq, feature)`, not `(seq, batch, feature)`; `h_n`, `c_n` keep their layout |
# | `dropout` | dropout on the outputs of every layer but the last, in training mode only |
# | `bidirectional` | a second LSTM reads the sequence backwards (`_reverse`); output is `2H` wide |
# | `proj_size` | `h` is projected to P < H numbers by `weight_hr_l0`; `c` stays H |

# %%
def run_once(lstm, x):
    """Shapes of the output and the state, and the parameter count, after one pass."""
    out, (h_n, c_n) = lstm(x)
    count = sum(p.numel() for p in lstm.parameters())
    return tuple(out.shape), tuple(h_n.shape), tuple(c_n.shape), count


variants = {                       # the argument changed: (its value, the input's shape)
    "nn.LSTM(10, 20)": ({}, (5, 3, 10)),
    "input_size=6": ({"input_size": 6}, (5, 3, 6)),
    "hidden_size=8": ({"hidden_size": 8}, (5, 3, 10)),
    "num_layers=2": ({"num_layers": 2}, (5, 3, 10)),
    "bias=False": ({"bias": False}, (5, 3, 10)),
    "batch_first=True": ({"batch_first": True}, (3, 5, 10)),
    "num_layers=2, dropout=0.5": ({"num_layers": 2, "dropout": 0.5}, (5, 3, 10)),
    "bidirectional=True": ({"bidirectional": True}, (5, 3, 10)),
    "proj_size=5": ({"proj_size": 5}, (5, 3, 10)),
}

# %%
lstms, results = {}, {}
for label, (change, x_shape) in variants.items():
    torch.manual_seed(0)
    lstms[label] = nn.LSTM(**({"input_size": 10, "hidden_size": 20} | change))
    results[label] = run_once(lstms[label].eval(), torch.randn(x_shape))

# %% [markdown]
# The shapes are the lesson here, so the test suite checks this table character for character.

# %%
# NBVAL_CHECK_OUTPUT
print(f"{'':26} {'x':12} {'output':12} {'h_n':12} {'c_n':12} parameters")
for label, (_change, x_shape) in variants.items():
    out_shape, h_shape, c_shape, count = results[label]
    print(f"{label:26} {str(x_shape):12} {str(out_shape):12} {str(h_shape):12} "
          f"{str(c_shape):12} {count:6}")

# %% [markdown]
# Which parameters each argument adds or removes, compared with `nn.LSTM(10, 20)`:

# %%
base_names = [name for name, _ in lstms["nn.LSTM(10, 20)"].named_parameters()]
for label in ["num_layers=2", "bias=False", "bidirectional=True", "proj_size=5"]:
    names = [name for name, _ in lstms[label].named_parameters()]
    print(f"{label:19} + {[n for n in names if n not in base_names]}  "
          f"- {[n for n in base_names if n not in names]}")

# %%
# KP 01.2
shapes = {label: result[:3] for label, result in results.items()}
assert shapes["nn.LSTM(10, 20)"] == ((5, 3, 20), (1, 3, 20), (1, 3, 20))
assert shapes["input_size=6"] == shapes["nn.LSTM(10, 20)"]          # only the input changes
assert lstms["input_size=6"].weight_ih_l0.shape == (80, 6)
assert shapes["hidden_size=8"] == ((5, 3, 8), (1, 3, 8), (1, 3, 8))
assert shapes["num_layers=2"] == ((5, 3, 20), (2, 3, 20), (2, 3, 20))
assert not hasattr(lstms["bias=False"], "bias_ih_l0") and results["bias=False"][3] == 80 * 30
assert shapes["batch_first=True"] == ((3, 5, 20), (1, 3, 20), (1, 3, 20))  # h_n not batch-first
assert shapes["bidirectional=True"] == ((5, 3, 40), (2, 3, 20), (2, 3, 20))
assert shapes["proj_size=5"] == ((5, 3, 5), (1, 3, 5), (1, 3, 20))  # h shrinks, c does not
assert lstms["proj_size=5"].weight_hr_l0.shape == (5, 20)

# %% [markdown]
# `dropout` is the one argument that changes no shape: it acts only in training mode, and only
# between layers. In `eval()` mode the LSTM with dropout computes exactly what the same weights
# compute without it; in `train()` mode its outputs change from call to call.

# %%
dropped = lstms["num_layers=2, dropout=0.5"]
no_dropout = nn.LSTM(10, 20, num_layers=2)
no_dropout.load_state_dict(dropped.state_dict())
x_drop = torch.randn(5, 3, 10)
eval_out = dropped.eval()(x_drop)[0]
train_out_1, train_out_2 = dropped.train()(x_drop)[0], dropped(x_drop)[0]
print(f"eval vs no dropout: max |diff| = {(eval_out - no_dropout(x_drop)[0]).abs().max():.1e};  "
      f"train vs eval: {(train_out_1 - eval_out).abs().max():.3f}")

# %%
# KP 01.2
torch.testing.assert_close(eval_out, no_dropout(x_drop)[0], rtol=0, atol=0)
assert not torch.allclose(train_out_1, eval_out) and not torch.allclose(train_out_1, train_out_2)
assert (train_out_1 != 0).all()  # the last layer's output is never dropped

# %% [markdown]
# ## 3. The gate equations
#
# At each time step $t$ the LSTM reads the input $x_t$, its previous hidden state $h_{t-1}$ and
# its previous cell state $c_{t-1}$. PyTorch computes (its documentation, `nn.LSTM`):
#
# $$
# \begin{aligned}
# i_t &= \sigma\left(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}\right) & &\text{input gate: how much to write}\\
# f_t &= \sigma\left(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}\right) & &\text{forget gate: how much to keep}\\
# g_t &= \tanh\left(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}\right) & &\text{candidate: what to write}\\
# o_t &= \sigma\left(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}\right) & &\text{output gate: how much to show}\\
# c_t &= f_t \odot c_{t-1} + i_t \odot g_t\\
# h_t &= o_t \odot \tanh(c_t)
# \end{aligned}
# $$
#
# $\sigma$ is the logistic sigmoid, $\odot$ the element-wise product. Each gate has **two** bias
# vectors, $b_{i\cdot}$ and $b_{h\cdot}$ (one with the input weights, one with the recurrent
# weights; PyTorch's source keeps the second "for CuDNN compatibility"); the textbook form has
# one, and section 4 shows that only their sum matters. With `proj_size` = P > 0 the last line
# becomes $h_t = W_{hr}\,(o_t \odot \tanh(c_t))$. In layers above the first, $x_t$ is the output of
# the layer below (after dropout in training mode). Drawn:

# %%
fig, ax = draw_lstm_cell()
plt.show()

# %% [markdown]
# The same six lines in code, on the weights of a real `nn.LSTM`: the `W`s and `b`s are the four
# row blocks of its weight matrices (section 4 shows the layout). One step from a random
# $(h_0, c_0)$, compared with the LSTM run for one time step.

# %%
torch.manual_seed(1)
lstm = nn.LSTM(input_size=3, hidden_size=4)
x_t, h_prev, c_prev = torch.randn(2, 3), torch.randn(2, 4), torch.randn(2, 4)   # batch of 2

W_ii, W_if, W_ig, W_io = lstm.weight_ih_l0.chunk(4)    # each (H, I) = (4, 3)
W_hi, W_hf, W_hg, W_ho = lstm.weight_hh_l0.chunk(4)    # each (H, H) = (4, 4)
b_ii, b_if, b_ig, b_io = lstm.bias_ih_l0.chunk(4)
b_hi, b_hf, b_hg, b_ho = lstm.bias_hh_l0.chunk(4)

i_t = torch.sigmoid(x_t @ W_ii.T + b_ii + h_prev @ W_hi.T + b_hi)
f_t = torch.sigmoid(x_t @ W_if.T + b_if + h_prev @ W_hf.T + b_hf)
g_t = torch.tanh(x_t @ W_ig.T + b_ig + h_prev @ W_hg.T + b_hg)
o_t = torch.sigmoid(x_t @ W_io.T + b_io + h_prev @ W_ho.T + b_ho)
c_t = f_t * c_prev + i_t * g_t
h_t = o_t * torch.tanh(c_t)
print("h_t by hand:\n", h_t.detach())

# %%
_, (h_torch, c_torch) = lstm(x_t.unsqueeze(0), (h_prev.unsqueeze(0), c_prev.unsqueeze(0)))
print("h_n from nn.LSTM:\n", h_torch[0].detach())

# %%
# KP 01.3
torch.testing.assert_close(h_t, h_torch[0])
torch.testing.assert_close(c_t, c_torch[0])
assert (h_torch.abs() < 1).all()   # h = o * tanh(c): nn.LSTM's h is bounded by 1; c is not

# %% [markdown]
# $h_t$ stays inside $(-1, 1)$, but $c_t$ does not: it adds up to one $i \odot g$ per step, so a
# steady input can push it beyond 1. Twenty steps of the same input, with the forget gate opened
# wide (its block of `bias_ih_l0` set to 5, see section 4), show it:

# %%
with torch.no_grad():
    steady = nn.LSTM(3, 4)
    steady.load_state_dict(lstm.state_dict())
    steady.bias_ih_l0[4:8] = 5.0                      # the forget block: f close to 1
    _, (h_20, c_20) = steady(x_t[:1].expand(20, 1, 3).contiguous())
print(f"after 20 steps: max |c| = {c_20.abs().max():.2f},  max |h| = {h_20.abs().max():.2f}")

# %%
# KP 01.3
assert c_20.abs().max() > 1 and h_20.abs().max() < 1

# %% [markdown]
# With `proj_size`, $h$ is the projection of $o_t \odot \tanh(c_t)$; the recurrent weights then read
# the P-wide $h_{t-1}$, and the cell state keeps H entries:

# %%
torch.manual_seed(2)
projected = nn.LSTM(3, 4, proj_size=2)
h_prev_p = h_prev[:, :2]                                  # h is P = 2 wide now
gates = (x_t @ projected.weight_ih_l0.T + projected.bias_ih_l0
         + h_prev_p @ projected.weight_hh_l0.T + projected.bias_hh_l0)
i_p, f_p, g_p, o_p = gates.chunk(4, dim=1)
c_p = torch.sigmoid(f_p) * c_prev + torch.sigmoid(i_p) * torch.tanh(g_p)
h_p = (torch.sigmoid(o_p) * torch.tanh(c_p)) @ projected.weight_hr_l0.T
_, (h_p_torch, c_p_torch) = projected(x_t[None], (h_prev_p[None], c_prev[None]))
print("weight_hr_l0:", tuple(projected.weight_hr_l0.shape), " h:", tuple(h_p.shape),
      " c:", tuple(c_p.shape))

# %%
# KP 01.3
torch.testing.assert_close(h_p, h_p_torch[0])
torch.testing.assert_close(c_p, c_p_torch[0])

# %% [markdown]
# ### Try it: move the gates of one unit
#
# Each slider sets one gate's pre-activation (the bracket inside $\sigma$ or $\tanh$ above) of a
# real `nn.LSTMCell` with one unit. Try: push `z_f` to +6 and `z_i` to -6 and see $c_t$ keep
# $c_{t-1}$; then swap them and see the old memory replaced by $g$; then close the output gate.

# %%
gates_explorer()

# %% [markdown]
# ## 4. The parameter layout
#
# PyTorch keeps the four $W_{i\cdot}$ matrices in **one** tensor, `weight_ih_l0` of shape
# `(4*hidden_size, input_size)`, stacked by rows in the order **i, f, g, o**; likewise
# `weight_hh_l0` `(4H, H)` holds $W_{h\cdot}$, and `bias_ih_l0`, `bias_hh_l0` `(4H,)` hold the
# biases. So one matrix product computes all four gates at once, and gate *k* is rows
# `k*H:(k+1)*H`. Here is `weight_ih_l0` of the LSTM above, H = 4, I = 3:

# %%
H = lstm.hidden_size
fig, ax = new_figure(width=4.4, height=4.2)
image = ax.imshow(lstm.weight_ih_l0.detach(), cmap="coolwarm", vmin=-0.5, vmax=0.5)
for k, gate in enumerate("ifgo"):
    ax.axhspan(k * H - 0.5, (k + 1) * H - 0.5, xmin=-0.12, xmax=-0.04, color=GATE_COLORS[gate],
               clip_on=False)
    ax.text(-1.25, k * H + (H - 1) / 2, f"{gate}: rows {k * H}:{(k + 1) * H}", ha="right",
            va="center", color=GATE_COLORS[gate], fontsize=10)
    if k:
        ax.axhline(k * H - 0.5, color="black", lw=1)
ax.set(title=f"weight_ih_l0  (4H, I) = {tuple(lstm.weight_ih_l0.shape)}", xticks=range(3),
       xlabel="input feature",
       yticks=[])
ax.grid(False)
fig.colorbar(image, ax=ax, shrink=0.8)
plt.show()

# %% [markdown]
# Section 3's `chunk(4)` cut exactly these four row blocks, in order. `ScratchLSTMCell` (from
# `utils.models`, which computes all four gates with one product and then `chunk(4)`) gives
# `nn.LSTM`'s step once it holds the same tensors under `nn.LSTMCell`'s names. The cells after
# it prove which block is which gate.

# %%
blocks = {gate: lstm.weight_ih_l0[k * H:(k + 1) * H] for k, gate in enumerate("ifgo")}
print({gate: tuple(block.shape) for gate, block in blocks.items()},
      "weight_hh_l0:", tuple(lstm.weight_hh_l0.shape), " biases:", tuple(lstm.bias_ih_l0.shape))
cell = ScratchLSTMCell(3, 4)
cell.load_state_dict({name.removesuffix("_l0"): value for name, value in lstm.state_dict().items()})
h_cell, c_cell = cell(x_t, (h_prev, c_prev))

# %%
# KP 01.4
assert lstm.weight_ih_l0.shape == (4 * H, 3) and lstm.weight_hh_l0.shape == (4 * H, H)
torch.testing.assert_close(h_cell, h_torch[0])
torch.testing.assert_close(c_cell, c_torch[0])

# %% [markdown]
# The order is not a convention we chose: `nn.LSTM` itself proves it. Set the *second* bias block
# (rows H:2H) to +30 and the first to -30: if they are f and i, then f = 1 and i = 0, and the
# cell state must pass through unchanged. Set the fourth block to -30: o = 0, so h must be 0.
# Computed in float64, where sigmoid(30) differs from 1 by 1e-13.

# %%
probe = nn.LSTM(3, 4).double()
x64, h64, c64 = (t.double().unsqueeze(0) for t in (x_t, h_prev, c_prev))
with torch.no_grad():
    probe.bias_ih_l0[0:H], probe.bias_ih_l0[H:2 * H] = -30.0, 30.0   # i -> 0, f -> 1
    _, (_, c_kept) = probe(x64, (h64, c64))
    probe.bias_ih_l0[3 * H:4 * H] = -30.0                            # o -> 0
    _, (h_shut, _) = probe(x64, (h64, c64))
print(f"max |c_1 - c_0| = {(c_kept - c64).abs().max():.1e},  max |h_1| = {h_shut.abs().max():.1e}")

# %%
# KP 01.4
assert 0 < 1 - torch.sigmoid(torch.tensor(30.0, dtype=torch.float64)) < 1e-12
torch.testing.assert_close(c_kept, c64, rtol=0, atol=1e-10)   # rows 0:H are i, rows H:2H are f
torch.testing.assert_close(h_shut, torch.zeros_like(h_shut), rtol=0, atol=1e-10)  # 3H:4H is o

# %% [markdown]
# That test pins two blocks with extreme values. All four can be read off `nn.LSTM`'s own
# outputs, without our equations. One step is linear in $c_{t-1}$, so running it from two cell
# states $c_a$ and $c_b$ (same $x_t$, same $h_{t-1}$) gives $f_t = (c_t^a - c_t^b) / (c_a - c_b)$;
# then $i_t g_t = c_t^a - f_t c_a$ and $o_t = h_t / \tanh(c_t^a)$. Now add 1 to one row block of
# `bias_ih_l0` at a time: rows H:2H must move f and nothing else, rows 3H:4H only o, and rows
# 0:H and 2H:3H only the product i·g.

# %%
def read_gates(model):
    """f, o and i*g of one step, read off the outputs of an nn.LSTM (float64) alone."""
    x, h = x_t.double().unsqueeze(0), h_prev.double().unsqueeze(0)
    c_a, c_b = c_prev.double(), c_prev.double() + 1.0
    _, (h_a, c_next_a) = model(x, (h, c_a.unsqueeze(0)))
    _, (_, c_next_b) = model(x, (h, c_b.unsqueeze(0)))
    f = (c_next_a[0] - c_next_b[0]) / (c_a - c_b)
    return {"f": f, "o": h_a[0] / torch.tanh(c_next_a[0]), "i*g": c_next_a[0] - f * c_a}


reader = copy.deepcopy(lstm).double()
read = read_gates(reader)
moved = {}
for k, gate in enumerate("ifgo"):
    shifted = copy.deepcopy(reader)
    with torch.no_grad():
        shifted.bias_ih_l0[k * H:(k + 1) * H] += 1.0
    after = read_gates(shifted)
    moved[gate] = [name for name in read if not torch.allclose(after[name], read[name])]
    print(f"bias_ih_l0[{k * H}:{(k + 1) * H}] + 1 changes: {moved[gate]}")

# %% [markdown]
# And the gates read off `nn.LSTM` are the sigmoid and tanh of the row blocks, in the order
# i, f, g, o (a sigmoid and a tanh swapped, i for g, would not match):

# %%
# KP 01.4
assert moved == {"i": ["i*g"], "f": ["f"], "g": ["i*g"], "o": ["o"]}
with torch.no_grad():
    z = (x_t.double() @ reader.weight_ih_l0.T + reader.bias_ih_l0
         + h_prev.double() @ reader.weight_hh_l0.T + reader.bias_hh_l0)      # (2, 4H)
torch.testing.assert_close(read["f"], torch.sigmoid(z[:, H:2 * H]))
torch.testing.assert_close(read["o"], torch.sigmoid(z[:, 3 * H:4 * H]))
torch.testing.assert_close(read["i*g"], torch.sigmoid(z[:, 0:H]) * torch.tanh(z[:, 2 * H:3 * H]))

# %% [markdown]
# The two bias vectors are **simply added**: only their sum matters. Moving all of `bias_hh_l0`
# into `bias_ih_l0` changes nothing (beyond float rounding); shifting the same numbers one block
# down, so that each gate gets another gate's bias, does.

# %%
merged = nn.LSTM(3, 4)
merged.load_state_dict(lstm.state_dict())
with torch.no_grad():
    merged.bias_ih_l0 += merged.bias_hh_l0
    merged.bias_hh_l0.zero_()
out_original, out_merged = lstm(x_t.unsqueeze(0))[0], merged(x_t.unsqueeze(0))[0]
print(f"max |difference| after merging the biases: {(out_original - out_merged).abs().max():.1e}")

# %%
# KP 01.4
torch.testing.assert_close(out_merged, out_original)
rolled = nn.LSTM(3, 4)
rolled.load_state_dict(merged.state_dict())
with torch.no_grad():
    rolled.bias_ih_l0.copy_(merged.bias_ih_l0.roll(H))   # the same numbers, one block down
assert not torch.allclose(rolled(x_t.unsqueeze(0))[0], out_original)

# %% [markdown]
# ## 5. How many parameters?
#
# Count the tensors of section 4 for each of the L layers and D directions (D = 2 if
# bidirectional), with P = `proj_size` and $H_{out}$ = P, or H without projection:
#
# $$
# N = D \sum_{l=0}^{L-1} \Big( \underbrace{4H \cdot I_l}_{\mathtt{weight\_ih}}
# + \underbrace{4H \cdot H_{out}}_{\mathtt{weight\_hh}}
# + \underbrace{2 \cdot 4H}_{\text{two biases}} + \underbrace{P \cdot H}_{\mathtt{weight\_hr}} \Big)
# $$
#
# where layer 0 reads $I_0$ = `input_size` features and every layer above reads the
# $I_l = D \cdot H_{out}$ features of the one below. The bias term vanishes with `bias=False`. For one layer without projection this is the
# well-known $4H(I + H + 2)$.

# %%
def lstm_parameter_count(input_size, hidden_size, num_layers=1, bias=True,
                         bidirectional=False, proj_size=0):
    H, D, H_out = hidden_size, 2 if bidirectional else 1, proj_size or hidden_size
    total = 0
    for layer in range(num_layers):
        layer_input = input_size if layer == 0 else D * H_out
        total += D * (4 * H * (layer_input + H_out) + 2 * 4 * H * bias + proj_size * H)
    return total

# %%
FIELDS = ("input_size", "hidden_size", "num_layers", "bias", "bidirectional", "proj_size")
configurations = [
    (10, 20, 2, True, False, 0), (10, 20, 1, True, False, 0), (10, 20, 3, False, False, 0),
    (10, 20, 2, True, True, 0), (10, 20, 2, True, False, 5), (7, 32, 3, True, True, 8),
    (1, 1, 1, True, False, 0), (128, 256, 2, False, True, 64),
]
print(f"{'(I, H, layers, bias, bidirectional, proj)':44} {'formula':>9} {'numel':>9}")
for config in configurations:
    real_lstm = nn.LSTM(**dict(zip(FIELDS, config, strict=True)), device="meta")
    real = sum(p.numel() for p in real_lstm.parameters())
    print(f"{str(config):44} {lstm_parameter_count(*config):9} {real:9}")

# %% [markdown]
# (`device="meta"` builds the tensors' shapes without memory or values; only the count matters.)

# %%
# KP 01.5
for config in configurations:
    lstm_meta = nn.LSTM(**dict(zip(FIELDS, config, strict=True)), device="meta")
    assert lstm_parameter_count(*config) == sum(p.numel() for p in lstm_meta.parameters()), config
assert lstm_parameter_count(10, 20) == 4 * 20 * (10 + 20 + 2)

# %% [markdown]
# The count grows with the *square* of the hidden size: doubling H roughly quadruples the model.
# The lines are the formula; the dots are counted on real `nn.LSTM`s.

# %%
hidden_sizes = [8, 16, 32, 64, 128, 256]
fig, ax = new_figure(width=5.6, height=3.2)
for layers, color in zip((1, 2, 3), ("i", "f", "o"), strict=True):
    counts = [lstm_parameter_count(10, h, layers) for h in hidden_sizes]
    real = [sum(p.numel() for p in nn.LSTM(10, h, layers, device="meta").parameters())
            for h in hidden_sizes]
    ax.plot(hidden_sizes, counts, color=GATE_COLORS[color], label=f"num_layers={layers}")
    ax.plot(hidden_sizes, real, "o", color=GATE_COLORS[color], ms=4)
ax.set(xscale="log", yscale="log", xlabel="hidden_size H (input_size 10)",
       ylabel="parameters", xticks=hidden_sizes, xticklabels=hidden_sizes)
ax.legend()
plt.show()

# %%
# KP 01.5
ratio = lstm_parameter_count(10, 512, 2) / lstm_parameter_count(10, 256, 2)
assert 3.9 < ratio < 4.0, ratio            # doubling H: almost four times the parameters

# %% [markdown]
# ## 6. An LSTM from scratch, equal to a trained `nn.LSTM`
#
# First a real model to copy: the course's `LSTMRegressor` (a 2-layer `nn.LSTM`, `batch_first`,
# and a linear head on the last step), trained for 40 Adam steps to predict the next value of
# sine waves of random phase and frequency from their last 12 values.

# %%
def sine_windows(batch, seq_len, seed):
    """sin(w t + phase) for t = 0..seq_len: inputs (batch, seq_len, 1), next value (batch, 1)."""
    generator = torch.Generator().manual_seed(seed)
    phase = 2 * math.pi * torch.rand(batch, 1, generator=generator)
    frequency = 0.3 + 0.5 * torch.rand(batch, 1, generator=generator)
    wave = torch.sin(frequency * torch.arange(seq_len + 1) + phase)
    return wave[:, :-1, None], wave[:, -1:]

# %%
set_seed(0)
regressor = LSTMRegressor(input_size=1, hidden_size=16, num_layers=2, output_size=1)
initial = {name: p.detach().clone() for name, p in regressor.named_parameters()}
optimizer = torch.optim.Adam(regressor.parameters(), lr=0.02)
x_train, y_train = sine_windows(batch=128, seq_len=12, seed=0)
losses = []
for _ in range(40):
    loss = nn.functional.mse_loss(regressor(x_train), y_train)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())

# %% [markdown]
# On 256 fresh waves it beats the obvious baseline, repeating the last value, by far:

# %%
x_test, y_test = sine_windows(batch=256, seq_len=12, seed=1)   # held-out waves
with torch.no_grad():
    test_mse = nn.functional.mse_loss(regressor(x_test), y_test).item()
repeat_last_mse = nn.functional.mse_loss(x_test[:, -1], y_test).item()
print(f"held-out MSE: LSTM {test_mse:.4f}, repeat the last value {repeat_last_mse:.4f}")
fig, ax = new_figure(width=7.0, height=2.6)
ax.plot(losses, color=GATE_COLORS["h"], label="LSTMRegressor, training MSE")
ax.plot([len(losses) - 1], [test_mse], "o", color=GATE_COLORS["h"], label="LSTM, held-out")
ax.axhline(repeat_last_mse, color="0.4", ls="--", lw=1, label="repeat the last value, held-out")
ax.set(xlabel="Adam step", ylabel="MSE", yscale="log")
ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
plt.show()

# %%
# KP 01.6
assert test_mse < repeat_last_mse / 10 and losses[-1] < losses[0] / 10
assert all(not torch.equal(p, initial[name]) for name, p in regressor.named_parameters())

# %% [markdown]
# The from-scratch layer is the six equations in a loop over time. One matrix product computes
# the four gates of the whole batch; `chunk(4)` splits them in the order i, f, g, o. A stacked
# LSTM feeds each layer's outputs to the next.

# %%
def scratch_layer(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    """One LSTM layer over x (batch, seq_len, features); returns all h_t and the last (h, c)."""
    outputs = []
    for t in range(x.shape[1]):
        gates = x[:, t] @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
        i, f, g, o = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        outputs.append(h)
    return torch.stack(outputs, dim=1), (h, c)

# %%
trained = regressor.lstm
layer_input, zeros = x_test, torch.zeros(256, 16)
for layer in range(2):
    weights = [getattr(trained, f"{name}_l{layer}") for name in
               ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    layer_input, (h_last, c_last) = scratch_layer(layer_input, zeros, zeros, *weights)
out_torch, (h_n_torch, c_n_torch) = trained(x_test)
print(f"max |scratch - nn.LSTM|: output {(layer_input - out_torch).abs().max():.1e}, "
      f"h {(h_last - h_n_torch[-1]).abs().max():.1e}, c {(c_last - c_n_torch[-1]).abs().max():.1e}")

# %%
# KP 01.6
torch.testing.assert_close(layer_input, out_torch)
torch.testing.assert_close(h_last, h_n_torch[-1])
torch.testing.assert_close(c_last, c_n_torch[-1])

# %% [markdown]
# `utils.models.ScratchLSTM` is the same idea with every constructor argument of `nn.LSTM`
# (layers, bias, batch_first, dropout, bidirectional, proj_size, unbatched input, given states).
# It registers its parameters under `nn.LSTM`'s names and shapes, so `load_state_dict` works in
# both directions. Its tests (`tests/test_scratch_lstm.py`) prove it equal to `nn.LSTM`, outputs
# and gradients, over a grid of every option. Here it loads the trained weights:

# %%
scratch = ScratchLSTM(input_size=1, hidden_size=16, num_layers=2, batch_first=True)
print(scratch)
print("same names and shapes:",
      [(n, tuple(p.shape)) for n, p in scratch.named_parameters()]
      == [(n, tuple(p.shape)) for n, p in trained.named_parameters()])
scratch.load_state_dict(trained.state_dict())
out_scratch, (h_n_scratch, c_n_scratch) = scratch(x_test)

# %% [markdown]
# In float32 the two agree to rounding (they add the same numbers in a different order); in
# float64 the gap shrinks to the float64 rounding level, which shows the computations are the
# same, not merely close.

# %%
trained64 = nn.LSTM(1, 16, 2, batch_first=True).double()
scratch64 = ScratchLSTM(1, 16, 2, batch_first=True).double()
trained64.load_state_dict(trained.state_dict())   # load_state_dict copies into float64
scratch64.load_state_dict(trained.state_dict())
gap32 = (out_scratch - out_torch).abs().max().item()
gap64 = (scratch64(x_test.double())[0] - trained64(x_test.double())[0]).abs().max().item()
print(f"max |ScratchLSTM - nn.LSTM|: float32 {gap32:.1e}, float64 {gap64:.1e}")

# %%
# KP 01.6
torch.testing.assert_close(out_scratch, out_torch)
torch.testing.assert_close(h_n_scratch, h_n_torch)
torch.testing.assert_close(c_n_scratch, c_n_torch)
assert gap32 < 1e-5 and gap64 < 1e-12
round_trip = nn.LSTM(1, 16, 2, batch_first=True)
round_trip.load_state_dict(scratch.state_dict())      # and back: scratch -> nn.LSTM
torch.testing.assert_close(round_trip(x_test)[0], out_torch, rtol=0, atol=0)

# %% [markdown]
# ## 7. The linear head
#
# The LSTM gives a hidden vector per step; the task wants one number per sequence. The head is an
# `nn.Linear(hidden_size, output_size)`: $\hat y = h_T W^\top + b$, applied to the last step's
# output `out[:, -1]`. It has `hidden_size * output_size + output_size` parameters. Put together
# with the scratch LSTM, it reproduces the trained regressor's predictions.

# %%
head = regressor.head
print(head, " weight", tuple(head.weight.shape), " bias", tuple(head.bias.shape))
prediction_scratch = head(out_scratch[:, -1])
prediction_by_hand = out_scratch[:, -1] @ head.weight.T + head.bias
print("predictions", tuple(prediction_scratch.shape), prediction_scratch[:3, 0].detach(),
      "\ntargets    ", tuple(y_test.shape), y_test[:3, 0])

# %%
# KP 01.7
torch.testing.assert_close(prediction_by_hand, prediction_scratch)
torch.testing.assert_close(prediction_scratch, regressor(x_test))
assert sum(p.numel() for p in head.parameters()) == 16 * 1 + 1

# %% [markdown]
# ## 8. Moving a model to a device
#
# `model.to(device)` moves every registered parameter and buffer **in place** and returns the same
# module, so `model = model.to(device)` and `model.to(device)` do the same thing. (For a *tensor*,
# `.to` returns a new tensor when the device or dtype must change and leaves the original as it
# was, so `x.to(device)` alone does nothing: write `x = x.to(device)`.) Inputs
# must then be created on, or moved to, the same device. `device` was chosen by `pick_device()`
# in the first cell: a GPU if there is one, else the CPU.

# %%
moved = tiny.to(device)
print("device:", device, "| moved is tiny:", moved is tiny,
      "| parameter devices:", {p.device.type for p in tiny.parameters()},
      "| buffer:", tiny.calls.device.type, "| plain tensor:", tiny.offset.device.type)
as_double = tiny.to(torch.float64)          # .to also changes the dtype, in place
print("dtypes after .to(torch.float64):", {p.dtype for p in tiny.parameters()})

# %%
# KP 01.8
assert moved is tiny and as_double is tiny
assert all(p.device.type == device.type for p in tiny.parameters())
assert tiny.calls.device.type == device.type
on_meta = copy.deepcopy(tiny).to("meta")   # a device it was not on, even on a CPU-only machine
assert all(p.device.type == "meta" for p in on_meta.parameters())
assert on_meta.calls.device.type == "meta" and on_meta.offset.device.type == "cpu"  # not registered
assert all(p.dtype == torch.float64 for p in tiny.parameters())
assert tiny.offset.dtype == torch.float32   # not registered, so not converted
plain = torch.zeros(2)
assert plain.to(torch.float64) is not plain and plain.dtype == torch.float32  # tensors: a copy
assert plain.to(torch.float32) is plain                                       # nothing to do

# %% [markdown]
# ## Pitfalls
#
# **`dropout` with one layer does nothing**: dropout acts between layers, and one layer has no
# "between". PyTorch warns:

# %%
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    nn.LSTM(10, 20, num_layers=1, dropout=0.5)
print("UserWarning:", caught[0].message)
assert "non-zero dropout expects num_layers greater than 1" in str(caught[0].message)

# %% [markdown]
# **`proj_size` must be smaller than `hidden_size`**:

# %%
try:
    nn.LSTM(10, 20, proj_size=20)
except ValueError as error:
    proj_message = str(error)
print("ValueError:", proj_message)
assert proj_message == "proj_size has to be smaller than hidden_size"

# %% [markdown]
# **The wrong `input_size`** fails at the first forward pass, not at construction:

# %%
try:
    nn.LSTM(10, 20)(torch.randn(5, 3, 7))
except RuntimeError as error:
    input_message = str(error)
print("RuntimeError:", input_message)
assert input_message == "input.size(-1) must be equal to input_size. Expected 10, got 7"

# %% [markdown]
# **Forgetting `super().__init__()`**: the registries do not exist yet, so the first sub-module
# assignment fails:

# %%
class Forgetful(nn.Module):
    def __init__(self):
        self.lstm = nn.LSTM(3, 4)


try:
    Forgetful()
except AttributeError as error:
    init_message = str(error)
print("AttributeError:", init_message)
assert init_message == "cannot assign module before Module.__init__() call"

# %% [markdown]
# **Layers in a plain Python list are invisible**: `parameters()` does not find them, so the
# optimizer never updates them, and nothing warns. `nn.ModuleList` registers them.

# %%
class HiddenLayers(nn.Module):
    def __init__(self, as_module_list):
        super().__init__()
        layers = [nn.LSTM(3, 4), nn.LSTM(4, 4)]
        self.layers = nn.ModuleList(layers) if as_module_list else layers


counts = {kind: sum(p.numel() for p in HiddenLayers(kind).parameters()) for kind in (False, True)}
print(f"parameters found: plain list {counts[False]}, nn.ModuleList {counts[True]}")
assert counts[False] == 0 and counts[True] == 4 * 4 * (3 + 4 + 2) + 4 * 4 * (4 + 4 + 2)

# %% [markdown]
# **A float64 input to a float32 model** is refused, with a message that says both fixes. It
# happens easily: NumPy's default float is float64, and `torch.from_numpy` keeps it.

# %%
from_numpy = torch.from_numpy(np.random.default_rng(0).normal(size=(5, 3, 10)))
assert from_numpy.dtype == torch.float64
try:
    nn.LSTM(10, 20)(from_numpy)
except ValueError as error:
    dtype_message = str(error)
print("ValueError:", dtype_message)
assert dtype_message.startswith("RNN input dtype (torch.float64) does not match weight dtype "
                                "(torch.float32)")

# %% [markdown]
# **Copying weights between differently configured LSTMs**: `load_state_dict` checks every name
# and shape, and says what does not fit:

# %%
try:
    ScratchLSTM(10, 20, bias=False).load_state_dict(nn.LSTM(10, 20).state_dict())
except RuntimeError as error:
    load_message = str(error)
print("RuntimeError:", load_message)
assert 'Unexpected key(s) in state_dict: "bias_ih_l0", "bias_hh_l0"' in load_message

# %% [markdown]
# ## Exercises
#
# Replace `None` with your answer and run the cell; the checker says whether it is right.
#
# **Exercise 1.** An `nn.LSTM(10, 20)`: which rows of `weight_ih_l0` hold the **forget** gate's
# weights? Give a `slice`.

# %%
answer_1 = None  # your answer, e.g. slice(0, 5)
nb01.check_forget_rows(answer_1)

# %% [markdown]
# <details><summary>Solution</summary>
#
# `slice(20, 40)`: the blocks are i, f, g, o, each `hidden_size = 20` rows, so f is the second:
# `nb01.check_forget_rows(slice(20, 40))`.
#
# </details>
#
# **Exercise 2.** How many parameters does
# `nn.LSTM(8, 20, num_layers=2, bidirectional=True, proj_size=5)` have? Work it out with the
# formula of section 5 (then check with `sum(p.numel() ...)` if you like).

# %%
answer_2 = None  # a whole number
nb01.check_parameter_count(answer_2)

# %% [markdown]
# <details><summary>Solution</summary>
#
# H = 20, P = H_out = 5, D = 2. Layer 0, per direction: 80·8 + 80·5 + 2·80 + 5·20 = 1300.
# Layer 1 reads D·H_out = 10 features: 80·10 + 80·5 + 160 + 100 = 1460. Both directions:
# 2 · (1300 + 1460) = **5520**: `nb01.check_parameter_count(5520)`.
#
# </details>
#
# **Exercise 3.** Write one step of a one-layer `nn.LSTM` from its parameters: given `x`
# `(batch, input_size)`, `h` and `c` `(batch, hidden_size)` and the LSTM, return the new `(h, c)`.
# Use `lstm.weight_ih_l0`, `lstm.weight_hh_l0`, `lstm.bias_ih_l0`, `lstm.bias_hh_l0`.

# %%
def my_step(x, h, c, lstm):
    return None  # your code: return (h, c)


answer_3 = None  # set it to my_step once it is written
nb01.check_lstm_step(answer_3)

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# def my_step(x, h, c, lstm):
#     gates = x @ lstm.weight_ih_l0.T + lstm.bias_ih_l0 + h @ lstm.weight_hh_l0.T + lstm.bias_hh_l0
#     i, f, g, o = gates.chunk(4, dim=1)
#     c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
#     h = torch.sigmoid(o) * torch.tanh(c)
#     return h, c
#
# nb01.check_lstm_step(my_step)
# ```
#
# </details>

# %% [markdown]
# ## Key takeaways
#
# - A module's `__init__` registers sub-modules, parameters and buffers by assigning them;
#   `forward` computes; `model(x)` calls it. Plain tensors and plain lists are not registered.
# - `batch_first` changes the layout of input and output only; `proj_size` shrinks `h`, not `c`;
#   `dropout` acts between layers in training mode only; `bidirectional` doubles the output width.
# - Each step computes i, f, o (sigmoid) and g (tanh) from $x_t$ and $h_{t-1}$ with two biases;
#   $c_t = f c_{t-1} + i g$, $h_t = o \tanh(c_t)$.
# - `weight_ih_l0` is `(4H, I)`, `weight_hh_l0` `(4H, H)`, stacked i, f, g, o; only the sum of the
#   two biases matters.
# - Parameters per layer and direction: $4H(I_l + H_{out} + 2) + PH$; the count grows with $H^2$.
# - A loop of matrix products, sigmoid and tanh reproduces a trained `nn.LSTM` to the last bits
#   of float64 (`utils.models.ScratchLSTM`, with every constructor argument).
# - `model.to(device)` moves parameters and buffers in place and returns the same module.
#
# **Next:** [02 · Tensor shapes](02_tensor_shapes.ipynb) follows every tensor through the model.

# %%
print(run_summary(notebook_started))

# %% [markdown] tags=["course-nav"]
# ---
#
# **Part I · The classic example** · notebook 2 of 20
#
# Previous: [00 · The whole picture](00_the_whole_picture.ipynb) · Next: [02 · Tensor shapes](02_tensor_shapes.ipynb) · [The map of the course](00_the_whole_picture.ipynb#cell-id=cell-015) · [Find your question](../README.md#find-your-question)

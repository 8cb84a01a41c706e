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
# # 03 · State initialisation
#
# An LSTM starts every sequence from a hidden state `h0` and a cell state `c0`. The classic
# example builds them as zeros by hand, many tutorials insist you must, and a stateful model
# carries them from one batch to the next. This notebook settles what the initial state is by
# default, what it must look like when you pass one, when a non-zero or *learned* one makes
# sense, and what carrying it across chunks does to the numbers and to the autograd graph:
# the reason `detach()` exists.
#
# **You will learn**
#
# - **KP 03.1** omitted states are zeros: explicit zeros give bit-identical outputs and gradients;
# - **KP 03.2** `h0` and `c0` need the right shape, dtype and device, and the messages you get
#   when they do not have them;
# - **KP 03.3** non-zero initial states fade out over time, and a *learned* initial state is an
#   `nn.Parameter` expanded over the batch that trains like any weight;
# - **KP 03.4** carrying the state across chunks reproduces running the whole sequence;
# - **KP 03.5** without `detach()` the autograd graph, and the backward time, grow with every
#   chunk; `detach()` gives truncated back-propagation through time;
# - **KP 03.6** a carried state breaks on a smaller last batch, and when to reset the state.
#
# **Run time:** about 15 s on a 2-core laptop-class CPU; the last cell prints the measured time
# and peak memory of the run whose outputs you see.

# %%
import time
import warnings

notebook_started = time.perf_counter()

import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from tqdm.auto import tqdm

from utils.checks import error_of, nb03
from utils.states import LearnedInitialState, state_shapes, zero_state
from utils.training import env_report, pick_device, run_summary, set_seed
from utils.viz import GATE_COLORS, new_figure
from utils.widgets.states import state_explorer

set_seed(0)
device = pick_device()
print(env_report(device))
# CPU builds warn once that oneDNN cannot run an LSTM with proj_size and PyTorch's own kernel is
# used instead; section 1 runs such LSTMs, so the warning is silenced.
warnings.filterwarnings("ignore", message="LSTM with projections is not supported with oneDNN")

# %% [markdown]
# ## 1. Omitted states are zeros
#
# The classic example of notebook 00 (2 layers, hidden size 20, a batch of 16 sequences of 5
# steps with 10 features), run twice: once without states, once with explicit zeros of the shape
# `(num_layers, batch, hidden_size)`.

# %%
input_size, hidden_size, num_layers, batch_size, seq_len = 10, 20, 2, 16, 5
lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True).to(device)
x = torch.randn(batch_size, seq_len, input_size, device=device)
zeros = torch.zeros(num_layers, batch_size, hidden_size, device=device)

out_default, (h_default, c_default) = lstm(x)
out_zeros, (h_zeros, c_zeros) = lstm(x, (zeros, zeros))
print("largest difference, output:", (out_default - out_zeros).abs().max().item(),
      "  h_n:", (h_default - h_zeros).abs().max().item(),
      "  c_n:", (c_default - c_zeros).abs().max().item())

# %% [markdown]
# Bit for bit, not just close, and the gradients of every weight too. The output check repeats
# over every flag that changes the states' shape (`zero_state` from `utils.states` builds zeros of
# the right shape for any LSTM and input).

# %%
def grads_after_backward(model, *args):
    model.zero_grad()
    model(*args)[0].pow(2).sum().backward()
    return [p.grad.clone() for p in model.parameters()]


flag_grid = [dict(bidirectional=b, proj_size=p, batch_first=f)
             for b in (False, True) for p in (0, 5) for f in (False, True)]
print(f"checking {len(flag_grid)} flag combinations, batched and unbatched input")

# %%
# KP 03.1
assert torch.equal(out_default, out_zeros)
assert torch.equal(h_default, h_zeros) and torch.equal(c_default, c_zeros)
for d, z in zip(grads_after_backward(lstm, x), grads_after_backward(lstm, x, (zeros, zeros)),
                strict=True):
    assert torch.equal(d, z)
for flags in flag_grid:
    model = nn.LSTM(input_size, hidden_size, num_layers, **flags).to(device)
    for inputs in (x, x[0]):                       # batched, then one unbatched sequence
        assert torch.equal(model(inputs)[0], model(inputs, zero_state(model, inputs))[0])

# %% [markdown]
# So the two `torch.zeros` lines of the classic model change nothing, except that they are a
# place to get the shape, dtype or device wrong. Passing nothing is the safer default.
#
# ## 2. Shape, dtype and device of `h0` and `c0`
#
# When you do pass a state, it must match what `nn.LSTM` would have built:
#
# - **shape** `h0`: `(D*num_layers, B, H_out)`, `c0`: `(D*num_layers, B, H)`, batch second even
#   with `batch_first=True` (notebook 02); 2-D without the batch for an unbatched input;
# - **dtype** the input's (and the weights') dtype;
# - **device** the input's device.
#
# `x.new_zeros(shape)` gets the last two right by construction: it copies `x`'s dtype and device.
# `torch.zeros(shape)` does not look at `x`: it makes the default dtype (`float32`) on the CPU,
# which is right only as long as `x` happens to be a `float32` CPU tensor. A `float64` input,
# and one on another device (PyTorch's `meta` device, tensors without data, exists on every
# machine), show the difference:

# %%
h_shape, c_shape = state_shapes(lstm, batch_size)
h0, c0 = x.new_zeros(h_shape), x.new_zeros(c_shape)
print("h0", tuple(h0.shape), h0.dtype, h0.device, "   c0", tuple(c0.shape), c0.dtype, c0.device)
for other_x in (x.double(), x.to("meta")):
    made_by = {"new_zeros": other_x.new_zeros(h_shape), "torch.zeros": torch.zeros(h_shape)}
    print(f"input {other_x.dtype} on {other_x.device}: " + ",  ".join(
        f"{name} -> {t.dtype} on {t.device}" for name, t in made_by.items()))
bidirectional_projected = nn.LSTM(input_size, hidden_size, 3, batch_first=True,
                                  bidirectional=True, proj_size=5)
print("bidirectional, 3 layers, proj_size 5:", state_shapes(bidirectional_projected, batch_size))

# %% [markdown]
# What goes wrong otherwise, with the installed PyTorch's messages. A state of the wrong shape
# (here: built for a batch of 8) gets a clear message:

# %%
small = torch.zeros(num_layers, 8, hidden_size, device=device)
shape_message = error_of(lambda: lstm(x, (small, small)))
print(shape_message)

# %% [markdown]
# A state in `float64` for a `float32` model fails on this CPU build inside oneDNN, PyTorch's CPU
# kernel library, with a message that names neither tensor. (A `float64` *input* gets a clear
# one.) A model converted with `.double()` takes `float64` states made with `new_zeros`, and
# refuses the `float32` states that `torch.zeros` makes without `dtype=`.

# %%
double_zeros = zeros.double()
dtype_message = error_of(lambda: lstm(x, (double_zeros, double_zeros)))
input_dtype_message = error_of(lambda: lstm(x.double()))
print("float64 states:", dtype_message)
print("float64 input: ", input_dtype_message)
lstm64 = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True).to(device).double()
x64 = x.double()
out64, _ = lstm64(x64, (x64.new_zeros(h_shape), x64.new_zeros(c_shape)))
float32_zeros = torch.zeros(h_shape, device=device)                  # no dtype=: float32
zeros_message = error_of(lambda: lstm64(x64, (float32_zeros, float32_zeros)))
print("float64 model, torch.zeros states:", zeros_message)

# %% [markdown]
# A state on another device: the classic model's `torch.zeros(...)` without `device=` puts the
# state on the CPU while a GPU model's input is on `cuda:0`. On a GPU machine this cell does
# exactly that; on a CPU-only machine it uses PyTorch's `meta` device (tensors without data) as
# the "other" device, which reaches the same check.

# %%
other = torch.device("cpu") if device.type == "cuda" else torch.device("meta")
stray = torch.zeros(num_layers, batch_size, hidden_size, device=other)
device_message = error_of(lambda: lstm(x, (stray, stray)))
print(device_message)

# %%
# KP 03.2
assert h0.shape == h_zeros.shape and c0.shape == c_zeros.shape
x_meta = x.double().to("meta")                 # follows the input's dtype and device ...
assert (x_meta.new_zeros(h_shape).dtype, x_meta.new_zeros(h_shape).device) == \
    (torch.float64, torch.device("meta"))
assert (torch.zeros(h_shape).dtype, torch.zeros(h_shape).device) == \
    (torch.float32, torch.device("cpu"))      # ... torch.zeros does not
assert state_shapes(bidirectional_projected, batch_size) == ((6, batch_size, 5),
                                                             (6, batch_size, hidden_size))
assert shape_message == "RuntimeError: Expected hidden[0] size (2, 16, 20), got [2, 8, 20]"
assert dtype_message.startswith("RuntimeError")
if device.type == "cpu":                     # the CPU kernels' words: oneDNN's, or without it
    assert dtype_message in ("RuntimeError: get_mkldnn_dtype: unsupported data type",
                             "RuntimeError: mat1 and mat2 must have the same dtype, but got "
                             "Double and Float")
assert input_dtype_message.startswith("ValueError: RNN input dtype (torch.float64) does not "
                                      "match weight dtype (torch.float32)")
assert out64.dtype == torch.float64
assert zeros_message.startswith("RuntimeError")
if device.type == "cpu":
    assert zeros_message in ("RuntimeError: get_mkldnn_dtype: unsupported data type",
                             "RuntimeError: mat1 and mat2 must have the same dtype, but got "
                             "Float and Double")
assert device_message == ("RuntimeError: Input and hidden tensors are not at the same device, "
                          f"found input tensor at {x.device} and hidden tensor at {other}")

# %% [markdown]
# ## 3. Non-zero and learned initial states
#
# ### 3.1 A non-zero state fades out
#
# Start the same sequences from a random state and compare with the zero start, step by step.
# The difference shrinks step after step by a roughly constant factor (a nearly straight line on
# the log scale) until it reaches float32 rounding, about 1e-8: the initial state matters for
# the first steps and not at all later.

# %%
long_x = torch.randn(batch_size, 60, input_size, device=device)
random_h0 = torch.randn(num_layers, batch_size, hidden_size, device=device)
random_c0 = torch.randn(num_layers, batch_size, hidden_size, device=device)
with torch.no_grad():
    gap = (lstm(long_x)[0] - lstm(long_x, (random_h0, random_c0))[0]).abs().amax(dim=(0, 2))
fig, ax = new_figure(width=6.4, height=2.8)
ax.semilogy(range(1, 61), gap.cpu().clamp_min(1e-9), color=GATE_COLORS["h"])
ax.set(xlabel="time step", ylabel="max |output difference|",
       title="random versus zero initial state: the difference fades")
plt.show()

# %%
# KP 03.3
assert gap[0] > 0.1                          # the start matters at first ...
assert (gap[1:40] < gap[:39]).all()          # ... shrinks at every one of the first 40 steps
assert gap[40:].max() < 1e-6                 # ... and is gone (float32 rounding) after that

# %% [markdown]
# ### Try it: how long does the LSTM remember where it started?
#
# The explorer runs one small LSTM from four initial states (zeros, random, a saturated "large"
# one, and the state it *carried* in after reading 50 earlier steps) and plots `h` and `c` of one
# unit, and the gap to the zero start on a log scale. Try: raise `forget_bias` and watch the
# initial state linger for far longer (notebook 04 returns to this); set `signal` to `silence`
# to see the state decay with no input at all; set `scale` to 0.

# %%
state_explorer()

# %% [markdown]
# ### 3.2 A learned initial state
#
# If the start matters for the first steps, the model can *learn* where to start: make `h0` and
# `c0` parameters, one vector per layer (and direction) of shape `(rows, 1, H)`, and **expand**
# them over the batch. `expand` makes a view with stride 0, no copy, so every sequence reads the
# same vector and the gradient of each sequence flows into it.

# %%
class LearnedState(nn.Module):
    """h0 and c0 as parameters: one vector per layer, shared by every sequence of a batch."""

    def __init__(self, num_layers, hidden_size):
        super().__init__()
        self.h0 = nn.Parameter(torch.zeros(num_layers, 1, hidden_size))
        self.c0 = nn.Parameter(torch.zeros(num_layers, 1, hidden_size))

    def forward(self, batch_size):
        return self.h0.expand(-1, batch_size, -1), self.c0.expand(-1, batch_size, -1)

# %% [markdown]
# It starts at zero, so an untrained model behaves exactly like the default. Give it non-zero
# values, and its gradient is the sum of the gradients that each sequence's copy of the state
# would get.

# %%
learned = LearnedState(num_layers, hidden_size).to(device)
print("at zero, same output as the default:", torch.equal(lstm(x, learned(batch_size))[0],
                                                          out_default))
with torch.no_grad():
    learned.h0.normal_()
    learned.c0.normal_()
h0_view, c0_view = learned(batch_size)
print("expanded h0:", tuple(h0_view.shape), " stride", h0_view.stride(), "(0: no copy)")
copies = [s.detach().clone().requires_grad_() for s in (h0_view, c0_view)]  # one per sequence
lstm(x, (h0_view, c0_view))[0].pow(2).mean().backward()
lstm(x, tuple(copies))[0].pow(2).mean().backward()

# %% [markdown]
# It trains like any weight. Freeze the LSTM and a head, train **only** the initial state on a
# regression batch, and the loss goes down: the state has learned where to start.

# %%
head = nn.Linear(hidden_size, 1).to(device)
for p in [*lstm.parameters(), *head.parameters()]:
    p.requires_grad_(False)
start = LearnedState(num_layers, hidden_size).to(device)
y = torch.randn(batch_size, 1, device=device)
optimizer = torch.optim.Adam(start.parameters(), lr=0.05)
losses, grad_norms = [], []
for _ in range(40):
    loss = nn.functional.mse_loss(head(lstm(x, start(batch_size))[0][:, -1]), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
    grad_norms.append(start.h0.grad.norm().item())
print(f"loss {losses[0]:.4f} -> {losses[-1]:.4f};  first gradient norm of h0 "
      f"{grad_norms[0]:.4f};  h0 moved from 0 to norm {start.h0.norm():.3f}")

# %%
# KP 03.3
assert torch.equal(lstm(x, LearnedState(num_layers, hidden_size).to(device)(batch_size))[0],
                   out_default)                                  # zero start = default
assert h0_view.stride(1) == 0 and h0_view.data_ptr() == learned.h0.data_ptr()   # a view
torch.testing.assert_close(learned.h0.grad, copies[0].grad.sum(1, keepdim=True))
torch.testing.assert_close(learned.c0.grad, copies[1].grad.sum(1, keepdim=True))
assert grad_norms[0] > 0 and start.h0.norm() > 0                 # a gradient, and it moved
assert losses[-1] < 0.9 * losses[0]                              # only h0, c0 trained
for p in [*lstm.parameters(), *head.parameters()]:
    p.requires_grad_(True)

# %% [markdown]
# `utils.states.LearnedInitialState` is the same module for any `nn.LSTM`: it adds the rows of a
# bidirectional LSTM, the smaller `h0` of a projected one, unbatched input and input checks.

# %%
print({name: tuple(p.shape) for name, p in
       LearnedInitialState.like(bidirectional_projected).named_parameters()})
assert [tuple(p.shape) for p in LearnedInitialState.like(lstm).parameters()] == \
    [tuple(p.shape) for p in learned.parameters()]

# %% [markdown]
# ## 4. Carrying the state across chunks
#
# A long sequence can be fed in chunks: pass each chunk's returned `(h_n, c_n)` as the next
# chunk's initial state. The LSTM then computes exactly what it computes on the whole sequence,
# because the recurrence never sees the cut. Starting each chunk from zeros instead forgets
# everything at every cut.

# %%
stream = torch.randn(4, 120, input_size, device=device)
with torch.no_grad():
    whole, (h_whole, c_whole) = lstm(stream)
    state, carried, reset = None, [], []
    for chunk in stream.split(30, dim=1):
        piece, state = lstm(chunk, state)        # the state goes on to the next chunk
        carried.append(piece)
        reset.append(lstm(chunk)[0])             # every chunk from zeros
carried, reset = torch.cat(carried, dim=1), torch.cat(reset, dim=1)
print("carried: max difference to the whole run", (carried - whole).abs().max().item())
print("reset:   max difference to the whole run", (reset - whole).abs().max().item())

# %%
fig, ax = new_figure(width=6.4, height=2.8)
ax.plot((reset - whole).abs().amax(dim=(0, 2)).cpu(), color=GATE_COLORS["o"],
        label="each chunk from zeros")
ax.plot((carried - whole).abs().amax(dim=(0, 2)).cpu(), color=GATE_COLORS["g"], lw=2,
        label="state carried")
for cut in (30, 60, 90):
    ax.axvline(cut, color="gray", ls=":", lw=1)
ax.set(xlabel="time step", ylabel="max |difference to whole run|",
       title="chunks of 30 steps versus the whole sequence")
ax.legend()
plt.show()

# %%
# KP 03.4
torch.testing.assert_close(carried, whole)
torch.testing.assert_close(state[0], h_whole)
torch.testing.assert_close(state[1], c_whole)
assert torch.equal(reset[:, :30], whole[:, :30])                  # the first chunk agrees
assert (reset[:, 30] - whole[:, 30]).abs().max() > 1e-3            # then every cut forgets

# %% [markdown]
# ## 5. `detach()` and truncated back-propagation through time
#
# Carrying the state carries its **autograd history** too: `h_n` of chunk 5 remembers that it was
# computed from chunk 4, which was computed from chunk 3, and so on. To see that history, walk
# the graph behind a tensor through `grad_fn.next_functions`, counting its nodes and the bytes of
# the tensors they saved for the backward pass (attributes named `_saved_*`, each tensor once):

# %%
def graph_stats(tensor):
    """(autograd nodes reachable from tensor.grad_fn, bytes of the tensors they saved)."""
    seen, stack, saved = set(), [tensor.grad_fn], {}
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        stack.extend(next_node for next_node, _ in node.next_functions)
        for name in (n for n in dir(node) if n.startswith("_saved_")):
            values = getattr(node, name)
            for value in values if isinstance(values, (tuple, list)) else [values]:
                if isinstance(value, torch.Tensor):
                    saved[value.data_ptr()] = value.numel() * value.element_size()
    return len(seen), sum(saved.values())


a, b = torch.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)
print("graph of (a * b + a).sum(): %d nodes (Sum, Add, Mul, an AccumulateGrad each for a and b),"
      " %d bytes saved (Mul keeps a and b: 2 x 3 float32)" % graph_stats((a * b + a).sum()))

# %% [markdown]
# Now run forward and backward on a long stream chunk by chunk, twice: carrying the state as it is, and carrying
# `state.detach()`. Without `detach()`, the second `backward()` would fail (see the pitfalls), so
# the first run passes `retain_graph=True`, the usual "fix", and each backward then runs through
# every chunk so far. The timings run on one CPU thread: this model is small, and a second thread
# makes them jumpy when the CPU is shared.

# %%
def train_in_chunks(model, stream, chunk_len, detach):
    """Per chunk: graph nodes and saved megabytes behind the loss, backward time (best of 2)."""
    nodes, megabytes, seconds, state = [], [], [], None
    for chunk in tqdm(stream.split(chunk_len, dim=1), desc=f"detach={detach}", leave=False):
        if detach and state is not None:
            state = tuple(s.detach() for s in state)
        output, state = model(chunk, state)
        loss = output.pow(2).mean()
        node_count, saved_bytes = graph_stats(loss)
        nodes.append(node_count)
        megabytes.append(saved_bytes / 2**20)
        timings = []
        for _ in range(2):
            started = time.perf_counter()
            loss.backward(retain_graph=True)
            timings.append(time.perf_counter() - started)
        seconds.append(min(timings))
    return nodes, megabytes, seconds

# %%
torch.manual_seed(1)
bptt_model = nn.LSTM(input_size, 64, 2, batch_first=True).to(device)
long_stream = torch.randn(16, 24 * 20, input_size, device=device)   # 24 chunks of 20 steps
threads = torch.get_num_threads()
torch.set_num_threads(1)
kept = train_in_chunks(bptt_model, long_stream, 20, detach=False)
cut = train_in_chunks(bptt_model, long_stream, 20, detach=True)
torch.set_num_threads(threads)
for name, (nodes, megabytes, seconds) in [("without detach", kept), ("with detach   ", cut)]:
    print(f"{name}: chunk 1 -> 24: {nodes[0]} -> {nodes[-1]} nodes, {megabytes[0]:.1f} -> "
          f"{megabytes[-1]:.1f} MB saved, backward {1e3 * seconds[0]:.1f} -> "
          f"{1e3 * seconds[-1]:.1f} ms")

# %%
fig, axes = new_figure(ncols=3, width=10.5, height=3.0)
chunks = range(1, 25)
for (nodes, megabytes, seconds), label, color in [(kept, "state kept", GATE_COLORS["o"]),
                                                  (cut, "state.detach()", GATE_COLORS["g"])]:
    for ax, values in zip(axes, (nodes, megabytes, [1e3 * s for s in seconds]), strict=True):
        ax.plot(chunks, values, marker=".", color=color, label=label)
for ax, ylabel, title in zip(axes, ("nodes", "MB", "ms"), ("autograd nodes behind the loss",
                             "tensors saved for backward", "backward time"), strict=True):
    ax.set(xlabel="chunk", ylabel=ylabel, title=title)
axes[0].legend()
plt.show()

# %% [markdown]
# Linear growth: every chunk adds the same nodes, holding that chunk's saved activations, to the
# graph, and every backward walks the whole of it: over `n` chunks that is about `n²/2`
# chunk-backwards instead of `n`, and memory that grows until the state is let go.
#
# What `detach()` gives up: gradients stop at the chunk boundary. This is **truncated
# back-propagation through time**: the loss of a chunk trains the weights through that chunk's
# steps only, although the earlier chunks still shaped the state's *value*. Proof on three
# chunks: the third chunk's loss sends gradient to the first chunk's input only without detach.

# %%
def gradient_to_first_chunk(detach):
    pieces = [p.clone().requires_grad_() for p in stream[:, :90].split(30, dim=1)]
    state, outputs = None, []
    for piece in pieces:
        if detach and state is not None:
            state = tuple(s.detach() for s in state)
        output, state = lstm(piece, state)
        outputs.append(output)
    outputs[-1].pow(2).sum().backward()
    return pieces[0].grad, torch.cat(outputs, dim=1)


grad_kept, outputs_kept = gradient_to_first_chunk(detach=False)
grad_cut, outputs_cut = gradient_to_first_chunk(detach=True)
print("gradient reaching chunk 1: without detach", f"{grad_kept.norm():.2e},",
      "with detach", grad_cut)

# %%
# KP 03.5
assert graph_stats((a * b + a).sum()) == (5, 2 * 3 * 4)
(nodes_kept, mb_kept, seconds_kept), (nodes_cut, mb_cut, seconds_cut) = kept, cut
for values in (nodes_kept, mb_kept):                            # grows by the same amount
    step = values[1] - values[0]                                # at every chunk: linear
    assert step > 0 and all(abs(v - (values[0] + k * step)) < 1e-9 for k, v in enumerate(values))
assert set(nodes_cut) == {nodes_kept[0]} and set(mb_cut) == {mb_kept[0]}   # constant
kept_late, cut_late = sum(seconds_kept[-5:]), sum(seconds_cut[-5:])
assert kept_late > 5 * cut_late, (kept_late, cut_late)          # 20-24x in theory
assert grad_kept.abs().sum() > 0 and grad_cut is None           # truncated BPTT
assert torch.equal(outputs_kept, outputs_cut)                   # the same forward values

# %% [markdown]
# ## 6. The last batch, and when to reset the state
#
# A model that carries its state from batch to batch holds a state of the *previous* batch's
# size. Most datasets do not divide evenly: 50 sequences in batches of 16 end with a batch of 2,
# and the carried `(2, 16, 20)` state no longer fits.

# %%
dataset = TensorDataset(torch.randn(50, seq_len, input_size))
print("batch sizes:", [len(xb) for (xb,) in DataLoader(dataset, batch_size=16)])


def run_carrying_state(loader):
    state = None
    for (xb,) in loader:
        _, state = lstm(xb.to(device), state)
        state = tuple(s.detach() for s in state)


last_batch_message = error_of(lambda: run_carrying_state(DataLoader(dataset, batch_size=16)))
print(last_batch_message)

# %% [markdown]
# The fixes follow from **when carrying is right at all**. Carry the state only if row `b` of
# one batch *continues* row `b` of the previous one: a long stream cut into chunks (section 4),
# such as a text read in order. Then cut the stream so every batch is full (`drop_last=True`),
# or slice the state to the rows that continue (`h[:, :B]`). If the batches hold **independent** sequences
# (the usual, shuffled case), carrying is wrong even when the sizes match: a sequence's output
# then depends on whatever unrelated sequence happened to sit in its row before. Reset instead:
# pass no state (zeros) for every batch. And reset at the start of every epoch and before
# evaluating, so that no result depends on what was read before.

# %%
loader_full = DataLoader(dataset, batch_size=16, drop_last=True)
print("drop_last=True:", [len(xb) for (xb,) in loader_full], "   no error:",
      error_of(lambda: run_carrying_state(loader_full)) is None)
probe = dataset.tensors[0][:16].to(device)        # 16 independent sequences
after_a = lstm(probe, lstm(torch.randn(16, seq_len, input_size, device=device))[1])[0]
after_b = lstm(probe, lstm(torch.randn(16, seq_len, input_size, device=device))[1])[0]
print("same sequences after two different batches, carried state: max difference",
      f"{(after_a - after_b).abs().max():.3f}")
h_stream, c_stream = lstm(stream)[1]              # the 4 streams of section 4, 120 steps read
next_steps = torch.randn(2, seq_len, input_size, device=device)   # only streams 0, 1 go on
out_next, _ = lstm(next_steps, (h_stream[:, :2], c_stream[:, :2]))
print("2 of 4 streams continue: state sliced to", tuple(h_stream[:, :2].shape),
      "-> output", tuple(out_next.shape))

# %%
# KP 03.6
assert last_batch_message == "RuntimeError: Expected hidden[0] size (2, 2, 20), got [2, 16, 20]"
assert all(len(xb) == 16 for (xb,) in loader_full)
assert error_of(lambda: run_carrying_state(loader_full)) is None
assert not torch.allclose(after_a, after_b)                     # carried: depends on the past
for k in range(16):                                             # reset: each equals it alone
    torch.testing.assert_close(lstm(probe)[0][k], lstm(probe[k])[0])
torch.testing.assert_close(out_next, lstm(torch.cat([stream[:2], next_steps], 1))[0][:, -5:])

# %% [markdown]
# ## 7. Pitfalls
#
# **No `detach()` between chunks** (and no `retain_graph=True`): the second `backward()` tries to
# go back through the first chunk's graph, which the first `backward()` has already freed.

# %%
state = None
losses_per_chunk = []
for chunk in stream.split(30, dim=1)[:2]:
    output, state = lstm(chunk, state)                  # state NOT detached
    losses_per_chunk.append(output.pow(2).mean())
losses_per_chunk[0].backward()
message = error_of(lambda: losses_per_chunk[1].backward())
print(message)
assert message.startswith("RuntimeError: Trying to backward through the graph a second time")

# %% [markdown]
# **Resetting the state in place** with `h.zero_()` between chunks: the next chunk's graph
# saved that very tensor, so backward refuses to use the overwritten values. This fails even for
# a detached state, which shares its storage. Make new zeros (or pass `None`) instead.

# %%
out_1, (h, c) = lstm(x)
h, c = h.detach(), c.detach()
out_2, _ = lstm(x, (h, c))
h.zero_()                                            # "reset", in place
message = error_of(lambda: out_2.sum().backward())
print(message)
assert message.startswith("RuntimeError: one of the variables needed for gradient computation "
                          "has been modified by an inplace operation")

# %% [markdown]
# **A state made once, in `__init__`, for a fixed batch size**: the smaller last batch fails as in
# section 6 (`Expected hidden[0] size (2, 2, 20), got [2, 16, 20]`), and a plain tensor attribute
# stays where it was made when the model moves: `model.to(device)` moves parameters and
# registered buffers only. (The proof moves to the `meta` device, which every machine has.)
# Build states in `forward` from the input (`x.new_zeros`), or pass none.

# %%
class FixedState(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)
        self.h0 = torch.zeros(num_layers, batch_size, hidden_size)          # plain attribute
        self.register_buffer("c0", torch.zeros(num_layers, batch_size, hidden_size))


moved = FixedState().to("meta")
print("after .to('meta'): weights on", moved.lstm.weight_ih_l0.device, "| buffer c0 on",
      moved.c0.device, "| plain h0 on", moved.h0.device)
assert moved.lstm.weight_ih_l0.is_meta and moved.c0.is_meta and not moved.h0.is_meta

# %% [markdown]
# ## 8. Exercises
#
# Replace `None` with your answer and run the cell; the checker runs the LSTM on it.
#
# **Exercise 1.** `lstm_1, x_1 = nb03.exercise_lstm()` is a 2-layer bidirectional LSTM with
# `batch_first=True` and hidden size 16, and a batch of shape `(8, 30, 4)`. Make a zero `h0` it
# accepts for `x_1`.

# %%
lstm_1, x_1 = nb03.exercise_lstm()
answer_1 = None  # a tensor, e.g. torch.zeros(...)
nb03.check_h0(answer_1)

# %% [markdown]
# <details><summary>Solution</summary>
#
# `x_1.new_zeros(4, 8, 16)`: 2 directions × 2 layers = 4 rows, the batch of 8 second (batch_first
# does not apply to states), 16 hidden units; `new_zeros` copies `x_1`'s dtype and device.
#
# </details>
#
# **Exercise 2.** `lstm_2, x_2 = nb03.exercise_chunks()` gives an LSTM and a batch of 40 steps.
# Run it in 4 chunks of 10 steps (`x_2.split(10, dim=1)`), carrying the state, and give the 4
# outputs concatenated along time.

# %%
lstm_2, x_2 = nb03.exercise_chunks()
answer_2 = None  # a tensor of shape (2, 40, 16)
nb03.check_chunked_output(answer_2)

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# state, outputs = None, []
# for chunk in x_2.split(10, dim=1):
#     output, state = lstm_2(chunk, state)
#     outputs.append(output)
# answer_2 = torch.cat(outputs, dim=1)
# ```
#
# </details>
#
# **Exercise 3.** The same 4 chunks, the state detached before each chunk, and `backward()` on
# the **last** chunk's loss only. The input of which chunks (numbered 1 to 4) gets a non-zero
# gradient? Give a set.

# %%
answer_3 = None  # a set of chunk numbers, e.g. {1, 2}
nb03.check_gradient_reach(answer_3)

# %% [markdown]
# <details><summary>Solution</summary>
#
# `{4}`: `detach()` cuts the state off the graph of the chunks before it, so the gradient stops
# at the last chunk's first step (truncated BPTT). Without `detach()` it would be `{1, 2, 3, 4}`.
#
# </details>

# %% [markdown]
# ## Key takeaways
#
# - Passing no state means zeros, bit for bit; explicit zeros only add ways to get the shape,
#   dtype or device wrong. When you do build a state, use `x.new_zeros(...)`.
# - `h0`: `(D*num_layers, B, H_out)`, `c0`: `(D*num_layers, B, H)`, batch second, always.
# - An initial state fades at the pace of the forget gate; a learned one is an `nn.Parameter`
#   expanded (not copied) over the batch, and trains like any weight.
# - Carrying `(h_n, c_n)` across chunks reproduces the whole sequence exactly.
# - Carry `state.detach()`, not `state`: otherwise the graph and the backward time grow with
#   every chunk. Detaching truncates the gradient at the chunk boundary.
# - Carry only when rows continue each other; otherwise, and at every epoch start and before
#   evaluation, reset (pass no state). Never reset in place.
#
# **Next:** [04 · Parameter initialisation](04_parameter_initialisation.ipynb): where the
# weights start, and why it matters.

# %%
print(run_summary(notebook_started))

# %% [markdown] tags=["course-nav"]
# ---
#
# **Part I · The classic example** · notebook 4 of 20
#
# Previous: [02 · Tensor shapes](02_tensor_shapes.ipynb) · Next: [04 · Parameter initialisation](04_parameter_initialisation.ipynb) · [The map of the course](00_the_whole_picture.ipynb#cell-id=cell-015) · [Find your question](../README.md#find-your-question)

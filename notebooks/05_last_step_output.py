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
# # 05 · Last-step output
#
# The classic model hands its linear head `out[:, -1, :]`, the LSTM's output at the last time
# step, as *the* summary of each sequence. That is right in exactly one situation: a
# unidirectional LSTM on a batch whose sequences all fill every step. For a bidirectional LSTM
# its backward half has read a single step, and for a padded batch it reads padding, silently,
# with the right shape. This notebook proves when `out[:, -1]` is right, shows the two ways it
# goes wrong, and proves the fixes equal to running each sequence on its own.
#
# **You will learn**
#
# - **KP 05.1** that `out[:, -1]` is `h_n[-1]`, the top layer's final hidden state, for a
#   unidirectional LSTM with any number of layers;
# - **KP 05.2** why `out[:, -1]` is wrong for a bidirectional LSTM, and that
#   `torch.cat([h_n[-2], h_n[-1]], dim=-1)` is the summary;
# - **KP 05.3** that in a right-padded batch `out[:, -1]` reads padding;
# - **KP 05.4** the two fixes, gathering at `lengths - 1` and `pack_padded_sequence`, each proven
#   equal to running every sequence alone (and why only packing fixes a bidirectional LSTM);
# - **KP 05.5** many-to-one versus many-to-many heads, and a loss that skips padding;
# - **KP 05.6** mean and max pooling over time as alternative summaries, masked for padding.
#
# **Run time:** about 4 s on a 2-core laptop-class CPU; the last cell prints the measured time
# and peak memory of the run whose outputs you see.

# %%
import time

notebook_started = time.perf_counter()

import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

from utils.checks import nb05
from utils.sequences import (bidirectional_summary, last_valid_step, masked_max, masked_mean,
                             summary_from_packed)
from utils.training import env_report, pick_device, run_summary, set_seed
from utils.viz import GATE_COLORS, new_figure
from utils.widgets.last_step import last_step_explorer

set_seed(0)
device = pick_device()
print(env_report(device))

# %% [markdown]
# ## 1. `out[:, -1]` is `h_n[-1]` for a unidirectional LSTM
#
# `nn.LSTM` returns two things. `out` holds the **top layer's** hidden state at **every** time
# step; `h_n` holds **every layer's** hidden state at the **last** step. The two meet in one
# place: the top layer at the last step, `out[:, -1]` and `h_n[-1]`. (`h_n[0]` is the bottom
# layer; `c_n`, the cell state, appears in neither `out` nor the head's input.)
#
# The classic sizes: batch 16, 5 steps, 10 features, hidden 20, two layers.

# %%
# NBVAL_CHECK_OUTPUT
input_size, hidden_size, num_layers = 10, 20, 2
batch_size, seq_len = 16, 5
lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True).to(device)
x = torch.randn(batch_size, seq_len, input_size, device=device)
out, (h_n, c_n) = lstm(x)
print("out        ", tuple(out.shape), "  (batch, seq_len, hidden): the top layer, every step")
print("h_n        ", tuple(h_n.shape), "  (num_layers, batch, hidden): every layer, last step")
print("out[:, -1] ", tuple(out[:, -1].shape), "  h_n[-1]", tuple(h_n[-1].shape))

# %%
print("max |out[:, -1] - h_n[-1]| =", (out[:, -1] - h_n[-1]).abs().max().item())
print("max |out[:, -1] - h_n[0]|  =", round((out[:, -1] - h_n[0]).abs().max().item(), 4),
      "  (h_n[0] is the bottom layer)")

# %% [markdown]
# The proof checks bit-for-bit equality, for one, two and three layers.

# %%
# KP 05.1
assert torch.equal(out[:, -1], h_n[-1])
assert not torch.allclose(out[:, -1], h_n[0])  # the bottom layer is something else
for layers in (1, 2, 3):
    deep = nn.LSTM(input_size, hidden_size, layers, batch_first=True).to(device)
    deep_out, (deep_h, _) = deep(x)
    assert deep_h.shape[0] == layers and torch.equal(deep_out[:, -1], deep_h[-1]), layers

# %% [markdown]
# ## 2. Bidirectional: `out[:, -1]` is half a summary
#
# A bidirectional LSTM runs a second, backward direction from the last step to the first and
# concatenates the two directions' outputs at each step: `out[:, t, :H]` is the forward
# direction after reading steps `0..t`, `out[:, t, H:]` the backward direction after reading
# steps `t..T-1`. So at `t = T-1` the backward half has read **one** step. The backward
# direction's summary of the whole sequence sits at `t = 0`, and `h_n` holds both final states:
# `h_n[-2]` (forward) and `h_n[-1]` (backward) for the top layer.

# %%
# NBVAL_CHECK_OUTPUT
bi = nn.LSTM(input_size, hidden_size, batch_first=True, bidirectional=True).to(device)
out_bi, (h_bi, _) = bi(x)
H = hidden_size
summary_bi = torch.cat([h_bi[-2], h_bi[-1]], dim=-1)
print("out  ", tuple(out_bi.shape), "  (batch, seq_len, 2 * hidden)")
print("h_n  ", tuple(h_bi.shape), "  (2 * num_layers, batch, hidden): forward, backward")
print("summary = cat(h_n[-2], h_n[-1]):", tuple(summary_bi.shape))

# %% [markdown]
# How much of the sequence does each candidate summary depend on? The gradient of a summary with
# respect to each input step answers it: zero means that step cannot influence it.

# %%
def input_influence(summary_of):
    """|d summary / d x[:, t]| for each step t (summed over the batch and the features)."""
    x_var = x.clone().requires_grad_(True)
    summary_of(*bi(x_var)).abs().sum().backward()
    return x_var.grad.abs().sum(dim=(0, 2)).cpu()


influence = {
    "out[:, -1, :H] (forward half)": input_influence(lambda o, s: o[:, -1, :H]),
    "out[:, -1, H:] (backward half)": input_influence(lambda o, s: o[:, -1, H:]),
    "h_n[-1] (backward summary)": input_influence(lambda o, s: s[0][-1]),
}
for name, values in influence.items():
    print(f"{name:32s}", [round(v, 3) for v in values.tolist()])

# %%
fig, ax = new_figure(width=8.5, height=3.0)
colors = [GATE_COLORS["i"], GATE_COLORS["o"], GATE_COLORS["g"]]
for k, ((name, values), color) in enumerate(zip(influence.items(), colors, strict=True)):
    ax.bar(torch.arange(seq_len) + (k - 1) * 0.27, values, width=0.27, label=name, color=color)
ax.set(xlabel="input time step t", ylabel="|d summary / d x_t|",
       title="Which input steps can change each summary? (bidirectional LSTM)")
ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
plt.show()

# %% [markdown]
# The backward half of `out[:, -1]` ignores every step but the last. The proof: the forward
# half of `out[:, -1]` is `h_n[-2]`, the backward summary is `out[:, 0, H:]` = `h_n[-1]`, and
# the backward half of `out[:, -1]` equals running the backward direction over the last step
# alone.

# %%
# KP 05.2
torch.testing.assert_close(out_bi[:, -1, :H], h_bi[-2])           # forward: a full summary
torch.testing.assert_close(out_bi[:, 0, H:], h_bi[-1])            # backward summary is at t = 0
out_last_only, _ = bi(x[:, -1:])                                  # one step, both directions
torch.testing.assert_close(out_bi[:, -1, H:], out_last_only[:, 0, H:])
assert not torch.allclose(out_bi[:, -1], summary_bi)
assert "`h_n` is not equivalent to the last element of `output`" in nn.LSTM.__doc__
assert torch.all(influence["out[:, -1, H:] (backward half)"][:-1] == 0)
assert torch.all(influence["h_n[-1] (backward summary)"] > 0)
torch.testing.assert_close(bidirectional_summary(h_bi, num_layers=1), summary_bi)

# %% [markdown]
# PyTorch's own documentation of `nn.LSTM` says as much: "`h_n` is not equivalent to the last
# element of `output`; the former contains the final forward and reverse hidden states, while the
# latter contains the final forward hidden state and the initial reverse hidden state".
#
# With several layers `h_n` is ordered layer by layer, forward before backward, so the top
# layer's two directions are still the last two entries. Splitting the directions with a view,
# as the documentation does for `output`, makes the layout explicit:

# %%
# NBVAL_CHECK_OUTPUT
bi2 = nn.LSTM(input_size, hidden_size, num_layers=2, batch_first=True, bidirectional=True)
bi2 = bi2.to(device)
out_bi2, (h_bi2, _) = bi2(x)
by_layer = h_bi2.view(2, 2, batch_size, H)                # (num_layers, directions, batch, H)
by_direction = out_bi2.view(batch_size, seq_len, 2, H)    # (batch, seq_len, directions, H)
print("h_n", tuple(h_bi2.shape), "-> view", tuple(by_layer.shape))
print("out", tuple(out_bi2.shape), "-> view", tuple(by_direction.shape))

# %% [markdown]
# A view only relabels the numbers, so comparing it with the tensor it views proves nothing. The
# proof rebuilds the model instead, one piece at a time: each layer and direction becomes a
# one-layer, one-directional `nn.LSTM` holding that direction's weights (copied from
# `weight_ih_l{k}`, `weight_ih_l{k}_reverse`, ...; the backward one reads the sequence flipped in
# time), and layer 1 reads the concatenated outputs of layer 0. Each piece's final state must sit
# at `by_layer[layer, direction]`, and the top layer's outputs at `by_direction[:, :, direction]`.

# %%
@torch.no_grad()
def run_alone(layer, reverse, inputs):
    """One (layer, direction) of bi2 as its own nn.LSTM with the copied weights: (out, h_n)."""
    suffix = f"_l{layer}" + ("_reverse" if reverse else "")
    alone = nn.LSTM(inputs.shape[-1], H, batch_first=True).to(device)
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(alone, f"{name}_l0").copy_(getattr(bi2, name + suffix))
    out_alone, (h_alone, _) = alone(inputs.flip(1) if reverse else inputs)
    return (out_alone.flip(1) if reverse else out_alone), h_alone[0]


pieces, layer_input = {}, x
for layer in range(2):
    for direction, reverse in enumerate((False, True)):
        pieces[layer, direction] = run_alone(layer, reverse, layer_input)
    layer_input = torch.cat([pieces[layer, 0][0], pieces[layer, 1][0]], dim=-1)
for (layer, direction), (_, h_alone) in pieces.items():
    print(f"layer {layer}, {('forward', 'backward')[direction]:8s} run alone: "
          f"max |h_n - by_layer[{layer}, {direction}]| = "
          f"{(h_alone - by_layer[layer, direction]).abs().max():.1e}")

# %%
# KP 05.2
for (layer, direction), (out_alone, h_alone) in pieces.items():
    torch.testing.assert_close(by_layer[layer, direction], h_alone)      # h_n: layer, direction
    if layer == 1:                                                        # out: the top layer
        torch.testing.assert_close(by_direction[:, :, direction], out_alone)
assert not torch.allclose(by_layer[0, 0], pieces[1, 0][1])               # the order matters
torch.testing.assert_close(out_bi2[:, -1, :H], h_bi2[-2])
torch.testing.assert_close(out_bi2[:, 0, H:], h_bi2[-1])
torch.testing.assert_close(bidirectional_summary(h_bi2, num_layers=2),
                           torch.cat([pieces[1, 0][1], pieces[1, 1][1]], dim=-1))

# %% [markdown]
# ## 3. A padded batch: `out[:, -1]` reads padding
#
# Sequences of different lengths share one tensor by **right-padding** the short ones with
# zeros (`pad_sequence`). Four sequences of lengths 5, 2, 4 and 3 become a `(4, 5, 10)` batch.
# The LSTM does not know where each sequence ends: it keeps running over the zeros, and
# `out[:, -1]` is its state after those extra steps.

# %%
# NBVAL_CHECK_OUTPUT
lengths = torch.tensor([5, 2, 4, 3])  # lengths stay on the CPU (pack_padded_sequence wants that)
sequences = [torch.randn(int(n), input_size, device=device) for n in lengths]
padded = pad_sequence(sequences, batch_first=True)  # zeros after each length
out_pad, (h_pad, _) = lstm(padded)
print("padded", tuple(padded.shape), "  lengths", lengths.tolist())
print("zeros after each length:", [bool((padded[b, n:] == 0).all()) for b, n in enumerate(lengths)])

# %% [markdown]
# The reference is each sequence run **alone**, without any padding: its `h_n[-1]` is the
# summary we want.

# %%
alone = torch.stack([lstm(seq.unsqueeze(0))[1][0][-1, 0] for seq in sequences])
error_last = (out_pad[:, -1] - alone).abs().amax(dim=1)
for n, err in zip(lengths.tolist(), error_last.tolist(), strict=True):
    print(f"length {n}: max |out[:, -1] - run alone| = {err:.4f}")

# %% [markdown]
# How far does the output drift from the right summary after each sequence ends? Zero at
# `t = length - 1`, then growing with every padding step:

# %%
drift = (out_pad - alone.unsqueeze(1)).norm(dim=-1).detach().cpu()  # (batch, time)
fig, ax = new_figure(width=6.4, height=3.0)
for b, (n, color) in enumerate(zip(lengths.tolist(), GATE_COLORS.values(), strict=False)):
    ax.plot(range(seq_len), drift[b], "o-", color=color, label=f"length {n}")
    ax.plot([n - 1], [drift[b, n - 1]], "k*", ms=12)
ax.set(xlabel="time step t", ylabel="‖out[b, t] - run alone‖", xticks=range(seq_len),
       title="The right summary is at t = length - 1 (star); out[:, -1] is at t = 4")
ax.legend(fontsize=8)
plt.show()

# %%
# KP 05.3
full = lengths == seq_len
torch.testing.assert_close(out_pad[full, -1], alone[full])  # a full-length sequence is fine
assert (error_last[~full] > 1e-3).all(), error_last           # every shorter one is wrong
assert torch.all(drift[torch.arange(4), lengths - 1] < 1e-5)  # the right step is length - 1
assert (out_pad[1, 2:] != 0).any()  # the LSTM ran on the padding: its outputs are not zero

# %% [markdown]
# ## 4. Two fixes, both equal to running each sequence alone
#
# **Fix 1: gather at `lengths - 1`.** Index the time dimension with one step per row. This is
# enough for a unidirectional LSTM: the output at `t` depends only on steps `0..t`, so padding
# *after* the length cannot reach it.

# %%
rows = torch.arange(len(lengths))
gathered = out_pad[rows, lengths - 1]               # (batch, hidden)
print("gathered", tuple(gathered.shape), " max |gathered - alone| =",
      f"{(gathered - alone).abs().max().item():.1e}")

# %% [markdown]
# **Fix 2: pack the batch.** `pack_padded_sequence` tells the LSTM each length, so it never
# reads the padding; its `h_n` holds each sequence's state at its own last step, and
# `pad_packed_sequence` turns the packed output back into a padded tensor (zeros after each
# length). `enforce_sorted=False` accepts lengths in any order and returns `h_n` in the batch's
# original order.

# %%
packed = pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=False)
packed_out, (h_packed, c_packed) = lstm(packed)
out_unpacked, out_lengths = pad_packed_sequence(packed_out, batch_first=True,
                                                total_length=seq_len)
print("h_n from packing", tuple(h_packed.shape), " max |h_n[-1] - alone| =",
      f"{(h_packed[-1] - alone).abs().max().item():.1e}")
padding_steps = (torch.arange(seq_len) >= lengths.unsqueeze(1)).to(device)  # (batch, seq_len)
print("the unpacked output is zero at every padding step:",
      bool((out_unpacked[padding_steps] == 0).all()))

# %%
# KP 05.4
torch.testing.assert_close(gathered, alone)                       # fix 1
torch.testing.assert_close(h_packed[-1], alone)                   # fix 2, original order kept
torch.testing.assert_close(out_unpacked[rows, lengths - 1], alone)
assert torch.equal(out_lengths, lengths) and (out_unpacked[padding_steps] == 0).all()
for b, seq in enumerate(sequences):  # every step of every sequence, and its cell state
    seq_out, (_, seq_c) = lstm(seq.unsqueeze(0))
    torch.testing.assert_close(out_unpacked[b, : lengths[b]], seq_out[0])
    torch.testing.assert_close(c_packed[:, b], seq_c[:, 0])
torch.testing.assert_close(last_valid_step(out_pad, lengths), alone)         # the helpers
torch.testing.assert_close(summary_from_packed(lstm, padded, lengths), alone)

# %% [markdown]
# **For a bidirectional LSTM only packing works.** Its backward direction reads the sequence
# from the *end of the padded tensor*, so on a padded batch it starts on the zeros: its summary
# (at `t = 0`) is wrong, and no index can repair it. Packing starts each backward pass at the
# sequence's own last step. (With two or more layers even the forward half of a gathered step
# is wrong: layer 2's forward direction reads layer 1's backward outputs.)

# %%
alone_bi = torch.stack([bidirectional_summary(bi(seq.unsqueeze(0))[1][0], 1)[0]
                        for seq in sequences])
out_bi_pad, _ = bi(padded)
gathered_bi = torch.cat([out_bi_pad[rows, lengths - 1, :H], out_bi_pad[:, 0, H:]], dim=-1)
packed_bi = summary_from_packed(bi, padded, lengths)
print(f"gather:  max |error| forward half {(gathered_bi - alone_bi)[:, :H].abs().max():.1e},"
      f" backward half {(gathered_bi - alone_bi)[:, H:].abs().max():.1e}")
print(f"packing: max |error| {(packed_bi - alone_bi).abs().max():.1e}")

# %%
# KP 05.4
torch.testing.assert_close(gathered_bi[:, :H], alone_bi[:, :H])     # one layer: forward is fine
assert not torch.allclose(gathered_bi[~full, H:], alone_bi[~full, H:], atol=1e-3)
torch.testing.assert_close(packed_bi, alone_bi)                       # packing: all of it
alone_bi2 = torch.stack([bidirectional_summary(bi2(seq.unsqueeze(0))[1][0], 2)[0]
                         for seq in sequences])
torch.testing.assert_close(summary_from_packed(bi2, padded, lengths), alone_bi2)
assert not torch.allclose(bi2(padded)[0][rows, lengths - 1, :H][~full], alone_bi2[~full, :H],
                          atol=1e-3)  # two layers: even the forward half of a gather is wrong

# %% [markdown]
# ## 5. Many-to-one versus many-to-many heads
#
# The classic model is **many-to-one**: a sequence in, one prediction out, from one summary
# vector. A **many-to-many** model predicts at every step (tagging each step, forecasting the
# next value at each step): the same `nn.Linear` applied to `out` itself, since a linear layer
# acts on the last dimension and treats every other dimension as batch.

# %%
# NBVAL_CHECK_OUTPUT
head = nn.Linear(hidden_size, 1).to(device)
one_per_sequence = head(last_valid_step(out_pad, lengths))  # many-to-one
one_per_step = head(out_pad)                                # many-to-many
print("many-to-one ", tuple(one_per_sequence.shape), "  (batch, 1)")
print("many-to-many", tuple(one_per_step.shape), "  (batch, seq_len, 1)")

# %% [markdown]
# For a padded batch the many-to-many loss must skip the padding steps: a mask keeps the real
# steps, and the mean divides by their number, not by `batch x seq_len`.

# %%
step_targets = torch.randn(len(lengths), seq_len, 1, device=device)
mask = (torch.arange(seq_len) < lengths.unsqueeze(1)).to(device)  # (batch, seq_len) True = real
squared = nn.functional.mse_loss(one_per_step, step_targets, reduction="none").squeeze(-1)
masked_loss = squared[mask].mean()
print(f"loss over the {int(mask.sum())} real steps: {masked_loss.item():.4f};  "
      f"unmasked mean over all {mask.numel()}: {squared.mean().item():.4f}")

# %%
# KP 05.5
for t in range(seq_len):  # the head acts on every step on its own
    torch.testing.assert_close(one_per_step[:, t], head(out_pad[:, t]))
torch.testing.assert_close(one_per_sequence, head(alone))
real_steps_alone = torch.cat([head(lstm(seq.unsqueeze(0))[0][0]) for seq in sequences])
real_targets = torch.cat([step_targets[b, :n] for b, n in enumerate(lengths)])
torch.testing.assert_close(masked_loss, nn.functional.mse_loss(real_steps_alone, real_targets))
assert not torch.isclose(masked_loss, squared.mean())

# %% [markdown]
# ## 6. Mean and max pooling over time
#
# A summary need not be one step. **Mean pooling** averages the outputs of all steps, **max
# pooling** takes each feature's largest value over time; both give the head direct access to
# every step instead of only through the recurrence (mean pooling's gradient reaches every step;
# max pooling's only the step holding each feature's maximum). On a padded batch both
# must skip the padding: divide by each length, and fill padding with `-inf` before the max.

# %%
real = mask.unsqueeze(-1)                                          # (batch, seq_len, 1)
mean_pooled = (out_pad * real).sum(dim=1) / lengths.unsqueeze(1).to(device)
max_pooled = out_pad.masked_fill(~real, float("-inf")).amax(dim=1)
mean_alone = torch.stack([lstm(seq.unsqueeze(0))[0][0].mean(0) for seq in sequences])
max_alone = torch.stack([lstm(seq.unsqueeze(0))[0][0].amax(0) for seq in sequences])
print(f"masked mean vs alone: {(mean_pooled - mean_alone).abs().max():.1e};  "
      f"out.mean(1) vs alone: {(out_pad.mean(1) - mean_alone).abs().max():.1e}")

# %% [markdown]
# The unpacked output of a packed run has zeros at the padding, which is a trap for max pooling:
# wherever all of a feature's real values are negative, the unmasked max returns that 0.

# %%
naive_max = out_unpacked.amax(dim=1)
fooled = ~torch.isclose(naive_max, max_alone, atol=1e-6)
print(f"unmasked max of the unpacked output is wrong in {int(fooled.sum())} of "
      f"{fooled.numel()} entries, all of them {naive_max[fooled].unique().tolist()}")

# %%
# KP 05.6
torch.testing.assert_close(mean_pooled, mean_alone)
torch.testing.assert_close(max_pooled, max_alone)
assert not torch.allclose(out_pad.mean(dim=1)[~full], mean_alone[~full], atol=1e-3)
assert fooled.any() and torch.all(naive_max[fooled] == 0)
torch.testing.assert_close(masked_mean(out_pad, lengths), mean_alone)  # the helpers agree
out_leaf = out_pad.detach().requires_grad_(True)  # every real step reaches the mean directly:
((out_leaf * real).sum(dim=1) / lengths.unsqueeze(1).to(device)).sum().backward()
torch.testing.assert_close(out_leaf.grad, (real / lengths.view(-1, 1, 1).to(device)).expand_as(
    out_leaf))  # d mean / d out[b, t] = 1 / length at real steps, 0 at padding
torch.testing.assert_close(masked_max(out_unpacked, lengths), max_alone)

# %% [markdown]
# ### Try it: which steps feed the summary?
#
# The explorer holds a padded batch of four sequences. Pick the short sequence 2 (length 2) and
# switch the summary from *last step* to *gather* and *packed*: watch the framed step move out of
# the hatched padding and the two bar sets become equal; then try *mean over all steps*.

# %%
last_step_explorer()

# %% [markdown]
# ## Pitfalls
#
# **Unsorted lengths without `enforce_sorted=False`.** By default `pack_padded_sequence` wants
# the batch sorted by decreasing length:

# %%
try:
    pack_padded_sequence(padded, lengths, batch_first=True)
except RuntimeError as error:
    sorted_message = str(error)
print("RuntimeError:", sorted_message)
assert "must be sorted in decreasing order when `enforce_sorted` is True" in sorted_message

# %% [markdown]
# **A length of 0.** Packing refuses it; plain indexing does not: `lengths - 1` is then `-1`,
# which Python reads as *the last step*, padding and all. The course's helper refuses it with the
# allowed range.

# %%
bad_lengths = torch.tensor([5, 0, 4, 3])
try:
    pack_padded_sequence(padded, bad_lengths, batch_first=True, enforce_sorted=False)
except RuntimeError as error:
    zero_message = str(error)
print("RuntimeError:", zero_message)
silently = out_pad[rows, bad_lengths - 1]
print("indexing with -1 reads the last step:", torch.equal(silently[1], out_pad[1, -1]))
try:
    last_valid_step(out_pad, bad_lengths)
except ValueError as error:
    helper_message = str(error)
print("ValueError:", helper_message)
assert "Length of all samples has to be greater than 0" in zero_message
assert torch.equal(silently[1], out_pad[1, -1])
assert "[1, 5]" in helper_message and "lengths[1] = 0" in helper_message

# %% [markdown]
# **A length longer than the padded tensor** is not checked by `pack_padded_sequence` at all: it
# returns a `PackedSequence` whose `batch_sizes` promise more rows than its data holds. Never
# feed such a thing to an LSTM; the helpers check the upper bound too.

# %%
too_long = torch.tensor([6, 2, 4, 3])  # 6 > seq_len = 5
broken = pack_padded_sequence(padded, too_long, batch_first=True, enforce_sorted=False)
print("batch_sizes", broken.batch_sizes.tolist(), "sum", int(broken.batch_sizes.sum()),
      "but data rows", broken.data.shape[0])
try:
    summary_from_packed(lstm, padded, too_long)
except ValueError as error:
    long_message = str(error)
print("ValueError:", long_message)
assert len(broken.batch_sizes) > seq_len and broken.batch_sizes.sum() > broken.data.shape[0]
assert "[1, 5]" in long_message and "lengths[0] = 6" in long_message

# %% [markdown]
# **`pad_packed_sequence` without `total_length`** pads only to the longest length *in the
# batch*. If the batch was padded further (to a fixed window, say), the shapes no longer match:

# %%
wider = nn.functional.pad(padded, (0, 0, 0, 2))  # (4, 7, 10): two more padding steps
wider_out, _ = lstm(pack_padded_sequence(wider, lengths, batch_first=True,
                                         enforce_sorted=False))
print("input", tuple(wider.shape), "-> unpacked", tuple(pad_packed_sequence(
    wider_out, batch_first=True)[0].shape), "; with total_length=7:", tuple(
    pad_packed_sequence(wider_out, batch_first=True, total_length=7)[0].shape))
assert pad_packed_sequence(wider_out, batch_first=True)[0].shape[1] == int(lengths.max()) == 5

# %% [markdown]
# **`out[:, -1]` on a bidirectional LSTM** gives no error: the shape `(batch, 2H)` is exactly what
# the head expects. Only the proof in section 2 shows that half of it has read a single step.

# %% [markdown]
# ## Exercises
#
# Replace `None` with your answer and run the cell; the checker says whether it is right.
#
# **Exercise 1.** `bi2` is a 2-layer bidirectional LSTM and `h_bi2` its `h_n` for the batch `x`.
# Build the summary of each sequence, shape `(16, 40)`, from `h_bi2`.

# %%
answer_1 = None  # a tensor built from h_bi2
nb05.check_bidirectional_summary(answer_1, h_bi2, num_layers=2, out=out_bi2)

# %% [markdown]
# <details><summary>Solution</summary>
#
# `torch.cat([h_bi2[-2], h_bi2[-1]], dim=-1)`: the top layer's forward (`-2`) and backward
# (`-1`) final states. `h_bi2.view(2, 2, 16, 20)[-1]` holds the same two, which
# `torch.cat(list(...), dim=-1)` joins.
#
# </details>
#
# **Exercise 2.** `out_pad` is the unidirectional LSTM's output on the padded batch with
# `lengths`. Take each sequence's output at its own last real step, shape `(4, 20)`.

# %%
answer_2 = None  # a tensor built from out_pad and lengths
nb05.check_last_valid_step(answer_2, out_pad, lengths)

# %% [markdown]
# <details><summary>Solution</summary>
#
# `out_pad[torch.arange(4), lengths - 1]`, or with a gather:
# `out_pad.gather(1, (lengths - 1).view(-1, 1, 1).expand(-1, 1, 20)).squeeze(1)`.
#
# </details>
#
# **Exercise 3.** Mean-pool `out_pad` over each sequence's real steps only, shape `(4, 20)`.

# %%
answer_3 = None  # a tensor built from out_pad and lengths
nb05.check_masked_mean(answer_3, out_pad, lengths)

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# mask = torch.arange(5) < lengths.unsqueeze(1)            # (4, 5), True at real steps
# (out_pad * mask.unsqueeze(-1)).sum(dim=1) / lengths.unsqueeze(1)
# ```
#
# </details>

# %% [markdown]
# ## Key takeaways
#
# - `out` is the top layer at every step, `h_n` every layer at the last step; for a
#   unidirectional LSTM they meet at `out[:, -1] == h_n[-1]`.
# - Bidirectional: the summary is `torch.cat([h_n[-2], h_n[-1]], dim=-1)`; the backward half of
#   `out[:, -1]` has read one step.
# - Padded batch: `out[:, -1]` reads padding with no error. Gather at `lengths - 1`
#   (unidirectional only) or pack with `enforce_sorted=False` (always right).
# - Many-to-many heads apply the same `nn.Linear` to every step; mask their loss on padded batches.
# - Mean and max pooling are alternative summaries; on padded batches they need a mask too.
#
# **Next:** [06 · MSE loss](06_mse_loss.ipynb) takes apart the loss the head's prediction meets.

# %%
print(run_summary(notebook_started))

# %% [markdown] tags=["course-nav"]
# ---
#
# **Part I · The classic example** · notebook 6 of 20
#
# Previous: [04 · Parameter initialisation](04_parameter_initialisation.ipynb) · Next: [06 · MSE loss](06_mse_loss.ipynb) · [The map of the course](00_the_whole_picture.ipynb#cell-id=cell-015) · [Find your question](../README.md#find-your-question)

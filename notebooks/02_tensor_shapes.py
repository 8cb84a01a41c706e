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
# # 02 · Tensor shapes
#
# Most LSTM bugs are shape bugs, and the worst of them raise nothing: a batch in the wrong
# order runs without a complaint and trains on scrambled sequences. This notebook pins down
# every shape that goes into `nn.LSTM` and comes out of it, the order of the dimensions, which
# flags change which shape, and the exact message PyTorch gives for each common mistake, so you
# recognise it when you meet it.
#
# **You will learn**
#
# - **KP 02.1** `batch_first=True` takes `(batch, seq, feature)`; the default takes
#   `(seq, batch, feature)`, and the same data permuted gives the same outputs permuted;
# - **KP 02.2** a 2-D input is one unbatched sequence `(seq, feature)`, whatever `batch_first` says;
# - **KP 02.3** `output` is `(B, T, D*H_out)`: every step of the top layer, both directions side
#   by side;
# - **KP 02.4** `h_n` is `(D*num_layers, B, H_out)` and `c_n` `(D*num_layers, B, H)`, and
#   `batch_first` does **not** apply to them;
# - **KP 02.5** `proj_size` shrinks `h` (and `output`) but not `c`;
# - **KP 02.6** the head's output must have the label's shape;
# - **KP 02.7** the real error message of each common wrong shape, and the mistakes that raise none.
#
# Notation: `B` batch, `T` sequence length, `D` = 2 if bidirectional else 1, `H` = `hidden_size`,
# `H_out` = `proj_size` if it is set, else `H`.
#
# **Run time:** about 3 s on a 2-core laptop-class CPU; the last cell prints the measured time and
# peak memory of the run whose outputs you see.

# %%
import time
import warnings

notebook_started = time.perf_counter()

import torch
from torch import nn

from utils.checks import error_of, nb02
from utils.training import env_report, pick_device, run_summary, set_seed
from utils.widgets.shapes import shape_explorer

set_seed(0)
device = pick_device()
print(env_report(device))
# CPU builds warn once that oneDNN cannot run an LSTM with proj_size and PyTorch's own kernel is
# used instead; the warning says nothing about shapes, so it is silenced here.
warnings.filterwarnings("ignore", message="LSTM with projections is not supported with oneDNN")

# %% [markdown]
# ## 1. The classic example, shape by shape
#
# The classic example of notebook 00: a 2-layer LSTM with `batch_first=True`, hidden size 20,
# a batch of 16 sequences of 5 steps with 10 features each, and a linear head on the last step.

# %%
input_size, hidden_size, num_layers = 10, 20, 2
batch_size, seq_len = 16, 5

lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True).to(device)
head = nn.Linear(hidden_size, 1).to(device)
x = torch.randn(batch_size, seq_len, input_size, device=device)

out, (h_n, c_n) = lstm(x)
prediction = head(out[:, -1])

# %% [markdown]
# The printed shapes are the lesson, so the test suite checks them character for character.

# %%
# NBVAL_CHECK_OUTPUT
print("x          ", tuple(x.shape), "  (batch, seq_len, input_size)")
print("out        ", tuple(out.shape), "  (batch, seq_len, D*hidden_size)")
print("h_n        ", tuple(h_n.shape), "  (D*num_layers, batch, hidden_size)")
print("c_n        ", tuple(c_n.shape), "  (D*num_layers, batch, hidden_size)")
print("out[:, -1] ", tuple(out[:, -1].shape), "     (batch, D*hidden_size)")
print("prediction ", tuple(prediction.shape), "      (batch, output_size)")

# %% [markdown]
# ## 2. `batch_first`: only the order of `x` and `output`
#
# `nn.LSTM` reads `(seq, batch, feature)` by default; `batch_first=True` makes it read
# `(batch, seq, feature)`. The flag changes nothing else: give a default LSTM the same weights
# and the same data with its first two dimensions swapped (`transpose(0, 1)`), and every number
# comes back the same, `output` swapped the same way.

# %%
seq_first = nn.LSTM(input_size, hidden_size, num_layers).to(device)  # batch_first=False
seq_first.load_state_dict(lstm.state_dict())                          # the same weights
x_seq_first = x.transpose(0, 1)                                       # (seq_len, batch, input)
out_sf, (h_sf, c_sf) = seq_first(x_seq_first)
print("batch_first=True : x", tuple(x.shape), "-> output", tuple(out.shape))
print("batch_first=False: x", tuple(x_seq_first.shape), "-> output", tuple(out_sf.shape))

# %%
# KP 02.1
assert seq_first.batch_first is False                # the default is sequence first
assert torch.equal(out_sf, out.transpose(0, 1))      # the same numbers, permuted, bit for bit
assert torch.equal(h_sf, h_n) and torch.equal(c_sf, c_n)

# %% [markdown]
# ## 3. A 2-D input is one unbatched sequence
#
# Give `nn.LSTM` a 2-D tensor and it reads `(seq, feature)`: **one** sequence, no batch
# dimension, whatever `batch_first` says. The outputs lose their batch dimension too. The result
# equals running that sequence as a batch of one.

# %%
sequence = x[0]                                   # one sequence: (seq_len, input_size)
out_1, (h_1, c_1) = lstm(sequence)
out_b, (h_b, c_b) = lstm(sequence.unsqueeze(0))   # the same sequence as a batch of one
print("unbatched  x", tuple(sequence.shape), "-> output", tuple(out_1.shape),
      " h_n", tuple(h_1.shape))
print("batch of 1 x", tuple(sequence.unsqueeze(0).shape), "-> output", tuple(out_b.shape),
      " h_n", tuple(h_b.shape))

# %% [markdown]
# The trap: a `(16, 10)` tensor meant as "16 samples of one step" is read as one sequence of 16
# steps. Row 0 comes out the same as a batch of 16 one-step sequences (`x[:, :1]`); row 1 does
# not, because it has seen row 0 first.

# %%
sixteen_rows, _ = lstm(x[:, 0])             # (16, 10): one sequence of 16 steps
sixteen_seqs, _ = lstm(x[:, :1])            # (16, 1, 10): 16 sequences of 1 step
print("2-D (16, 10) ->", tuple(sixteen_rows.shape), "   3-D (16, 1, 10) ->",
      tuple(sixteen_seqs.shape))

# %%
# KP 02.2
assert out_1.shape == (seq_len, hidden_size) and h_1.shape == c_1.shape == (num_layers, hidden_size)
assert torch.equal(out_1, out_b[0]) and torch.equal(h_1, h_b[:, 0]) and torch.equal(c_1, c_b[:, 0])
assert torch.equal(seq_first(sequence)[0], out_1)   # batch_first does not matter for 2-D input
assert torch.equal(sixteen_rows[0], sixteen_seqs[0, 0])            # step 1: nothing seen before
assert not torch.allclose(sixteen_rows[1], sixteen_seqs[1, 0])     # step 2 remembers step 1

# %% [markdown]
# ## 4. `output` is `(B, T, D*H_out)`
#
# `output` holds the **top** layer's hidden vector at **every** step. Its last dimension is
# `H_out` per direction, and a bidirectional LSTM puts both directions side by side. The number
# of layers does not show in it. A table over the flags, each row a real forward pass:

# %%
# NBVAL_CHECK_OUTPUT
configs = [(bi, proj, layers) for bi in (False, True) for proj in (0, 5) for layers in (1, 3)]
output_shapes = {}
print("bidirectional  proj_size  num_layers   output")
for bidirectional, proj_size, layers in configs:
    model = nn.LSTM(input_size, hidden_size, layers, batch_first=True,
                    bidirectional=bidirectional, proj_size=proj_size).to(device)
    output_shapes[bidirectional, proj_size, layers] = tuple(model(x)[0].shape)
    print(f"{bidirectional!s:>13}  {proj_size:>9}  {layers:>10}   "
          f"{output_shapes[bidirectional, proj_size, layers]}")

# %% [markdown]
# "Side by side" exactly: the first `H` numbers of each step are the forward direction, the last
# `H` the backward one. A one-way LSTM given the forward weights reproduces the first half; given
# the `_reverse` weights and the sequence flipped in time, it reproduces the second half.

# %%
bi = nn.LSTM(input_size, hidden_size, batch_first=True, bidirectional=True).to(device)
out_bi, _ = bi(x)
forward_only = nn.LSTM(input_size, hidden_size, batch_first=True).to(device)
backward_only = nn.LSTM(input_size, hidden_size, batch_first=True).to(device)
weights = bi.state_dict()
forward_only.load_state_dict({k: v for k, v in weights.items() if "reverse" not in k})
backward_only.load_state_dict({k.removesuffix("_reverse"): v for k, v in weights.items()
                               if "reverse" in k})
print("bidirectional output", tuple(out_bi.shape), "= forward", (*out_bi.shape[:2], hidden_size),
      "+ backward", (*out_bi.shape[:2], hidden_size))

# %%
# KP 02.3
for (bidirectional, proj_size, layers), shape in output_shapes.items():
    D, H_out = (2 if bidirectional else 1), (proj_size or hidden_size)
    assert shape == (batch_size, seq_len, D * H_out), (bidirectional, proj_size, layers, shape)
torch.testing.assert_close(out_bi[..., :hidden_size], forward_only(x)[0])
torch.testing.assert_close(out_bi[..., hidden_size:], backward_only(x.flip(1))[0].flip(1))

# %% [markdown]
# ## 5. `h_n` and `c_n` are `(D*num_layers, B, H_out)` and `(D*num_layers, B, H)`: `batch_first` does not apply
#
# The final states hold one row per layer **and** direction, ordered layer by layer (layer 0
# forward, layer 0 backward, layer 1 forward, ...), so `h_n.view(num_layers, D, B, H)` separates
# them. The batch is their **second** dimension even with `batch_first=True`: the flag is about
# `x` and `output` only. (In section 2 the two LSTMs already gave bit-identical `h_n`.)

# %%
layers3 = nn.LSTM(input_size, hidden_size, 3, batch_first=True, bidirectional=True).to(device)
out3, (h3, c3) = layers3(x)
bottom = nn.LSTM(input_size, hidden_size, batch_first=True, bidirectional=True).to(device)
bottom.load_state_dict({k: v for k, v in layers3.state_dict().items() if "_l0" in k})
print("batch_first=True, 3 layers, bidirectional:")
print("  x  ", tuple(x.shape), "   output", tuple(out3.shape))
print("  h_n", tuple(h3.shape), "   c_n   ", tuple(c3.shape), "  <- batch is dim 1")
per_layer = h3.view(3, 2, batch_size, hidden_size)   # (num_layers, D, B, H)

# %%
# KP 02.4
assert layers3.batch_first and h3.shape == c3.shape == (2 * 3, batch_size, hidden_size)
assert h_n.shape == h_sf.shape == (num_layers, batch_size, hidden_size)  # same with either flag
torch.testing.assert_close(per_layer[-1, 0], out3[:, -1, :hidden_size])  # top forward: last step
torch.testing.assert_close(per_layer[-1, 1], out3[:, 0, hidden_size:])   # top backward: step 0
torch.testing.assert_close(per_layer[0], bottom(x)[1][0])   # layer 0 alone: its 2 directions

# %% [markdown]
# ## 6. `proj_size` shrinks `h`, not `c`
#
# With `proj_size = P > 0`, each step's hidden vector is projected from `H` down to `P` numbers
# by a matrix `weight_hr_l{k}` of shape `(P, H)`: $h_t = W_{hr}\,(o_t \odot \tanh(c_t))$. So
# `output` and `h_n` have `P` numbers per direction while the cell state `c_n` keeps `H`, and the
# recurrent weights (and the next layer's input weights) read `P` numbers instead of `H`.

# %%
proj = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True, proj_size=5).to(device)
out_p, (h_p, c_p) = proj(x)
print("output", tuple(out_p.shape), "  h_n", tuple(h_p.shape), "  c_n", tuple(c_p.shape))
for name, p in proj.named_parameters():
    if name.startswith("weight"):
        print(f"  {name:13} {tuple(p.shape)}")

# %% [markdown]
# One step by hand, from the zero state (so the recurrent term vanishes), with the four gate
# blocks i, f, g, o of `weight_ih_l0`, then the projection:

# %%
proj1 = nn.LSTM(input_size, hidden_size, batch_first=True, proj_size=5).to(device)
gates = x[:, 0] @ proj1.weight_ih_l0.T + proj1.bias_ih_l0 + proj1.bias_hh_l0   # h0 = 0
i, f, g, o = gates.chunk(4, dim=1)
c_1step = torch.sigmoid(i) * torch.tanh(g)                  # c = f * 0 + i * g
h_1step = (torch.sigmoid(o) * torch.tanh(c_1step)) @ proj1.weight_hr_l0.T   # (16, 20) -> (16, 5)
out_proj1, (h_proj1, c_proj1) = proj1(x[:, :1])
print("by hand: h", tuple(h_1step.shape), " c", tuple(c_1step.shape))

# %%
# KP 02.5
assert out_p.shape == (batch_size, seq_len, 5) and h_p.shape == (num_layers, batch_size, 5)
assert c_p.shape == (num_layers, batch_size, hidden_size)            # c is not projected
assert proj.weight_hr_l0.shape == (5, hidden_size) and proj.weight_hh_l0.shape == (4 * hidden_size, 5)
assert proj.weight_ih_l1.shape == (4 * hidden_size, 5)               # layer 1 reads P numbers
torch.testing.assert_close(h_proj1[0], h_1step)
torch.testing.assert_close(out_proj1[:, 0], h_1step)
torch.testing.assert_close(c_proj1[0], c_1step)

# %% [markdown]
# ### Try it: the shape explorer
#
# Every change runs a real forward pass and prints the shapes it returned, with a drawing of the
# tensors to scale. Try: untick `batch_first` and watch `input` and `output` swap their first two
# numbers while `h_n` and `c_n` stay put; tick `bidirectional` and watch `output`'s last number
# and the states' first number double; set `proj_size` to 5, then to 20 (equal to `hidden_size`).

# %%
shape_explorer()

# %% [markdown]
# ## 7. The head's output must have the label's shape
#
# The head maps the last dimension only: `nn.Linear(H, 1)` turns `(B, H)` into `(B, 1)` and
# `(B, T, H)` into `(B, T, 1)`. Which one you want depends on the task, and the label must have
# **exactly** that shape: a many-to-one model (one target per sequence) predicts `(B, 1)` from
# `out[:, -1]`, a many-to-many model (one target per step) predicts `(B, T, 1)` from `out`.

# %%
y_per_sequence = torch.randn(batch_size, 1, device=device)       # many-to-one labels
y_per_step = torch.randn(batch_size, seq_len, 1, device=device)  # many-to-many labels
y_flat = y_per_sequence.squeeze(1)                                # (16,): a common slip
print("head(out[:, -1])", tuple(head(out[:, -1]).shape), "  label", tuple(y_per_sequence.shape))
print("head(out)       ", tuple(head(out).shape), "  label", tuple(y_per_step.shape))
print("head(out[:, -1]) - (16,) label ->", tuple((head(out[:, -1]) - y_flat).shape),
      " broadcast, not an error")

# %%
# KP 02.6
with warnings.catch_warnings():
    warnings.simplefilter("error")          # any warning would fail this cell
    nn.functional.mse_loss(head(out[:, -1]), y_per_sequence)
    nn.functional.mse_loss(head(out), y_per_step)
assert head(out[:, -1]).shape == y_per_sequence.shape and head(out).shape == y_per_step.shape
assert (head(out[:, -1]) - y_flat).shape == (batch_size, batch_size)   # 256 differences, not 16

# %% [markdown]
# The `(16, 1)` against `(16,)` case only warns and returns a wrong number (notebook 00 showed the
# warning; notebook 06 takes it apart). The other mismatch, a per-step prediction against
# per-sequence labels, fails: see the pitfalls below.
#
# ## 8. Pitfalls
#
# Each common wrong shape, with the message the installed PyTorch gives (caught, printed and
# checked). `error_of` (from `utils.checks`) runs a call and returns what it raised.

# %% [markdown]
# **The wrong number of features.** The message names both sizes:

# %%
# KP 02.7
message = error_of(lambda: lstm(torch.randn(16, 5, 7, device=device)))
print(message)
assert message == "RuntimeError: input.size(-1) must be equal to input_size. Expected 10, got 7"

# %% [markdown]
# **A univariate series without its feature dimension.** 16 series of 50 values, `(16, 50)`,
# for an LSTM with `input_size=1`: the 2-D tensor is one sequence of 16 steps with 50 features.
# The fix is `series.unsqueeze(-1)`, shape `(16, 50, 1)`.

# %%
# KP 02.7
univariate = nn.LSTM(1, 8, batch_first=True).to(device)
series = torch.randn(16, 50, device=device)
message = error_of(lambda: univariate(series))
print(message)
assert message == "RuntimeError: input.size(-1) must be equal to input_size. Expected 1, got 50"
assert univariate(series.unsqueeze(-1))[0].shape == (16, 50, 8)

# %% [markdown]
# **A 4-D input**, e.g. one `unsqueeze` too many:

# %%
# KP 02.7
message = error_of(lambda: lstm(x.unsqueeze(1)))
print(message)
assert message == "ValueError: LSTM: Expected input to be 2D or 3D, got 4D instead"

# %% [markdown]
# **States in batch-first order, or for the wrong number of layers.** `h0` and `c0` are
# `(D*num_layers, B, H)` even with `batch_first=True`:

# %%
# KP 02.7
batch_first_h0 = torch.zeros(batch_size, num_layers, hidden_size, device=device)
one_layer_h0 = torch.zeros(1, batch_size, hidden_size, device=device)
message = error_of(lambda: lstm(x, (batch_first_h0, batch_first_h0)))
print(message)
assert message == "RuntimeError: Expected hidden[0] size (2, 16, 20), got [16, 2, 20]"
message = error_of(lambda: lstm(x, (one_layer_h0, one_layer_h0)))
print(message)
assert message == "RuntimeError: Expected hidden[0] size (2, 16, 20), got [1, 16, 20]"

# %% [markdown]
# **A state carried into a smaller last batch**, the most common source of this message. A model
# that passes each batch's final state on to the next batch holds a state of the *previous*
# batch's size; 50 sequences in batches of 16 end with a batch of 2, and the carried
# `(2, 16, 20)` state no longer fits. When carrying is right at all, and the fixes
# (`drop_last=True`, slicing the state, or passing none), are the subject of
# [03 · State initialisation, section 6](03_state_initialisation.ipynb#6.-The-last-batch,-and-when-to-reset-the-state).

# %%
# KP 02.7
_, carried = lstm(x)                                             # the state after a batch of 16
last_batch = torch.randn(2, seq_len, input_size, device=device)  # 50 = 16 + 16 + 16 + 2
message = error_of(lambda: lstm(last_batch, carried))
print(message)
assert message == "RuntimeError: Expected hidden[0] size (2, 2, 20), got [2, 16, 20]"
assert lstm(last_batch)[0].shape == (2, seq_len, hidden_size)   # no state: zeros of the right size

# %% [markdown]
# **`h0` alone instead of the pair `(h0, c0)`.** `nn.LSTM` reads its second argument as
# `hx[0]` (the `h0`) and `hx[1]` (the `c0`). Indexing a `(2, 16, 20)` tensor that way gives its two
# layers, two `(16, 20)` tensors: the message speaks of 2-D states although you passed a 3-D one.
# With one layer there is no `hx[1]`, and the message is an `IndexError`.

# %%
# KP 02.7
h0 = torch.zeros(num_layers, batch_size, hidden_size, device=device)
message = error_of(lambda: lstm(x, h0))
print(message)
assert message == ("RuntimeError: For batched 3-D input, hx and cx should also be 3-D but got "
                   "(2-D, 2-D) tensors")
one_layer = nn.LSTM(input_size, hidden_size, batch_first=True).to(device)
message = error_of(lambda: one_layer(x, one_layer_h0))
print(message)
assert message == "IndexError: index 1 is out of bounds for dimension 0 with size 1"

# %% [markdown]
# **3-D states with an unbatched 2-D input**, the mistake of notebook 00's pitfalls:

# %%
# KP 02.7
message = error_of(lambda: lstm(x[0], (h0[:, :1], h0[:, :1])))
print(message)
assert message == ("RuntimeError: For unbatched 2-D input, hx and cx should also be 2-D but got "
                   "(3-D, 3-D) tensors")

# %% [markdown]
# **Full-size `h0` for a projected LSTM**, and a `proj_size` that does not shrink anything:

# %%
# KP 02.7
message = error_of(lambda: proj(x, (h0, h0)))
print(message)
assert message == "RuntimeError: Expected hidden[0] size (2, 16, 5), got [2, 16, 20]"
assert proj(x, (h0[..., :5], h0))[0].shape == (batch_size, seq_len, 5)   # h0 has P, c0 has H
message = error_of(lambda: nn.LSTM(input_size, hidden_size, proj_size=hidden_size))
print(message)
assert message == "ValueError: proj_size has to be smaller than hidden_size"

# %% [markdown]
# **A head sized for one direction on a bidirectional LSTM**: the error surfaces in the head.

# %%
# KP 02.7
message = error_of(lambda: head(out_bi[:, -1]))
print(message)
assert message == "RuntimeError: mat1 and mat2 shapes cannot be multiplied (16x40 and 20x1)"

# %% [markdown]
# **A per-step prediction against per-sequence labels**: a warning, then a broadcasting error.

# %%
# KP 02.7
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    message = error_of(lambda: nn.functional.mse_loss(head(out), y_per_sequence))
print("UserWarning:", caught[0].message)
print(message)
assert "target size (torch.Size([16, 1])) that is different to the input size" in \
    str(caught[0].message)
assert message == ("RuntimeError: The size of tensor a (5) must match the size of tensor b (16) "
                   "at non-singleton dimension 1")

# %% [markdown]
# **An empty sequence**, e.g. a slice past the end (`x[:, 5:]`):

# %%
# KP 02.7
message = error_of(lambda: lstm(x[:, seq_len:]))
print(message)
assert message == "RuntimeError: Expected sequence length to be larger than 0 in RNN"

# %% [markdown]
# ### Mistakes that raise nothing
#
# **Batch-first data into a default (sequence-first) LSTM.** `(16, 5, 10)` is read as 16 steps
# of a batch of 5: no error, the output even has the shape you expected, and every number is
# wrong. The tell is `h_n`: its batch dimension says 5.

# %%
# KP 02.7
assert error_of(lambda: seq_first(x)) is None                     # it runs
out_wrong, (h_wrong, _) = seq_first(x)
print("output", tuple(out_wrong.shape), "(looks fine)   h_n", tuple(h_wrong.shape),
      "(batch 5?)")
assert out_wrong.shape == out.shape and h_wrong.shape == (num_layers, seq_len, hidden_size)
assert not torch.allclose(out_wrong, out)

# %% [markdown]
# **`reshape` (or `view`) instead of `transpose`.** `x.reshape(5, 16, 10)` has the right shape
# for a sequence-first LSTM but keeps the memory order, so it cuts the batch into new, mixed-up
# sequences. Only `transpose(0, 1)` (or `permute(1, 0, 2)`) swaps the dimensions.

# %%
# KP 02.7
out_reshaped, _ = seq_first(x.reshape(seq_len, batch_size, input_size))
print("reshape:", tuple(out_reshaped.shape), "  transpose:", tuple(out_sf.shape))
assert out_reshaped.shape == out_sf.shape
assert not torch.allclose(out_reshaped, out_sf)         # same shape, different numbers

# %% [markdown]
# ## 9. Exercises
#
# Replace `None` with your answer and run the cell; the checker runs the LSTM and says whether
# you are right.
#
# **Exercise 1.** `nn.LSTM(8, 32, num_layers=3, batch_first=True, bidirectional=True)` reads a
# batch `x` of shape `(4, 12, 8)`. What is the shape of `output`? Give a tuple.

# %%
answer_1 = None  # your answer, e.g. (2, 3, 4)
nb02.check_output_shape(answer_1)

# %% [markdown]
# <details><summary>Solution</summary>
#
# `(4, 12, 64)`: batch 4 and 12 steps (batch first), and 2 directions × 32 hidden units at each
# step of the top layer: `nb02.check_output_shape((4, 12, 64))`.
#
# </details>
#
# **Exercise 2.** The same LSTM with `proj_size=16`. Give the shapes of `h_n` and `c_n` as a
# pair of tuples, `(h_n shape, c_n shape)`.

# %%
answer_2 = None  # your answer, e.g. ((1, 2, 3), (1, 2, 3))
nb02.check_state_shapes(answer_2)

# %% [markdown]
# <details><summary>Solution</summary>
#
# `((6, 4, 16), (6, 4, 32))`: 2 directions × 3 layers = 6 rows, the batch second (batch_first
# does not apply), `proj_size` numbers for `h` and `hidden_size` for `c`:
# `nb02.check_state_shapes(((6, 4, 16), (6, 4, 32)))`.
#
# </details>
#
# **Exercise 3.** `nb02.exercise_series()` holds 32 univariate series of 50 steps, shape
# `(32, 50)`. Turn it into the input of `nn.LSTM(1, 16, batch_first=True)`.

# %%
series_32 = nb02.exercise_series()
answer_3 = None  # a tensor made from series_32
nb02.check_univariate_input(answer_3)

# %% [markdown]
# <details><summary>Solution</summary>
#
# `series_32.unsqueeze(-1)`, shape `(32, 50, 1)`: a feature dimension of size 1 at the end
# (`series_32[..., None]` and `series_32.view(32, 50, 1)` are the same tensor).
#
# </details>

# %% [markdown]
# ## Key takeaways
#
# - `batch_first` changes the order of `x` and `output` only; the same weights on the transposed
#   data give the transposed output, bit for bit.
# - A 2-D input is one unbatched sequence `(seq, feature)`; add the batch (or feature) dimension
#   you mean with `unsqueeze`.
# - `output` is `(B, T, D*H_out)` (batch first): top layer, every step, directions side by side.
# - `h_n` is `(D*num_layers, B, H_out)` and `c_n` `(D*num_layers, B, H)`: layer by layer, batch
#   second, always.
# - `proj_size` makes `h` and `output` `P` wide; `c` keeps `H`.
# - The prediction must have the label's shape; broadcasting hides the mismatch, or fails far
#   from its cause.
# - Swap dimensions with `transpose`/`permute`, never with `reshape`/`view`.
#
# **Next:** [03 · State initialisation](03_state_initialisation.ipynb): what goes into `h0` and
# `c0`, and what comes out of carrying them.

# %%
print(run_summary(notebook_started))

# %% [markdown] tags=["course-nav"]
# ---
#
# **Part I · The classic example** · notebook 3 of 20
#
# Previous: [01 · Model definition](01_model_definition.ipynb) · Next: [03 · State initialisation](03_state_initialisation.ipynb) · [The map of the course](00_the_whole_picture.ipynb#cell-id=cell-015) · [Find your question](../README.md#find-your-question)

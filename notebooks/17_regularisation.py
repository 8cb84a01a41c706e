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
# # 17 · Regularising an LSTM
#
# Give an LSTM enough units and a small text and it memorises: the training loss keeps
# falling while the loss on text it has never read turns and rises. *Regularisation* is
# whatever trades a little of the fit to the training text for a better fit to new text. For
# LSTM language models the classic collection is AWD-LSTM's (Merity, Keskar & Socher,
# "Regularizing and Optimizing LSTM Language Models", arXiv:1708.02182, 2017; ICLR 2018):
# dropout placed where it does not break the recurrence, DropConnect on the recurrent
# weights, whole-token embedding dropout, penalties on the activations, weight tying, weight
# decay and early stopping. (Its optimiser, NT-ASGD, and its variable-length BPTT are part of
# the same recipe and are not covered here.) This notebook implements each regulariser,
# proves that it does what it claims, and measures what each is worth on a task small enough
# to overfit in a second or two per run: an ablation, each technique on and off, five seeds
# each, judged on the validation text and on a test text. Not all of them help here, the
# two texts do not always agree, and the table says where.
#
# **You will learn**
#
# - **KP 17.1** the task: a 64-unit character LSTM overfits 10,000 characters of Shakespeare
#   within 200 steps, and on the validation text ends its budget behind a count model;
# - **KP 17.2** what `nn.LSTM(dropout=p)` does: plain dropout, a new mask for every element,
#   between two layers, reproduced bit for bit on the CPU; nothing inside a layer's
#   recurrence, nothing on the last layer's output, nothing at all in a one-layer LSTM;
# - **KP 17.3** dropout on the recurrent state in a Python loop: a new mask at every step
#   against one mask per sequence (which is a thinned recurrent matrix), its cost and its
#   effect, measured;
# - **KP 17.4** locked (variational) dropout: one mask per sequence, shared by every time step;
# - **KP 17.5** weight dropout, DropConnect on `weight_hh_l0` through
#   `torch.func.functional_call`: the same dropped matrix at every step, proven two ways; the
#   full, unscaled weights in `eval()`; `nn.LSTM` left untouched;
# - **KP 17.6** embedding dropout: whole characters dropped, everywhere in the batch;
# - **KP 17.7** activation and temporal activation regularisation (AR, TAR) as loss terms;
# - **KP 17.8** weight tying (notebook 10), weight decay (07) and early stopping (08) as used
#   here;
# - **KP 17.9** the ablation: each technique alone and all together, the same 200 steps, 5
#   seeds, compared seed by seed with the baseline on the validation text and on the test
#   text, with a paired interval, the verdict rule's chance rate and what it means over 16
#   verdicts; what AR/TAR and weight
#   decay did to the model;
# - **KP 17.10** an explorer of the ablation's curves.
#
# **Run time:** about 75 s on a 2-core laptop-class CPU (it trains 42 small models); the last
# cell prints the measured time and peak memory of the run whose outputs you see.

# %%
import time

notebook_started = time.perf_counter()

import itertools
import warnings

import torch
from torch import nn
from torch.func import functional_call
from torch.nn import functional as F
from torch.nn.utils import parametrize
from torch.utils import benchmark
from tqdm.auto import tqdm

from utils.checks import error_of, nb17
from utils.language_model import NGramModel, nats_per_char
from utils.regularisation import (Recipe, RegularisedCharLSTM, ablation_rows, ar_tar,
                                  embedding_dropout, locked_dropout, state_dropout_lstm,
                                  t_quantile, train_run)
from utils.text import CharVocab, load_shakespeare, stream_batches
from utils.training import env_report, pick_device, run_summary, set_seed
from utils.viz import GATE_COLORS, new_figure
from utils.widgets.ablation import EARLY_STOPPING, ablation_explorer

torch.set_num_threads(1)   # a rerun trains exactly the same models (see notebook 09)
set_seed(0)
device = pick_device("cpu")
print(env_report(device))

# %% [markdown]
# ## 1. A task that overfits in seconds
#
# The first 10,000 characters of tiny Shakespeare are the training text, the next 10,000 the
# validation text on which every choice is made, and the 10,000 after them a test text that
# is only scored. The training text is cut into 16 streams read 64 characters at a time
# (notebook 10's layout: truncated back-propagation through 64 steps). Whole batches only:
# one pass is 9 batches, which read 9,216 of the 10,000 characters (the 784 at the streams'
# ends are never read), and 200 steps are a little over 22 passes.

# %%
text = load_shakespeare()
vocab = CharVocab(text)
V, SLICE = len(vocab), 10_000
ids = vocab.encode(text[:3 * SLICE])
train_ids, val_ids, test_ids = ids[:SLICE], ids[SLICE:2 * SLICE], ids[2 * SLICE:]
batches = stream_batches(train_ids, batch_size=16, seq_len=64)
read_per_pass = len(batches) * 16 * 64                 # whole batches of (16, 64) per pass
passes = 200 / len(batches)
print(f"{V} characters in the vocabulary, {len(set(text[:SLICE]))} of them in the training "
      f"text; {batches}: one pass reads {read_per_pass:,} of the {len(train_ids):,} characters "
      f"({len(train_ids) - read_per_pass} never read); 200 steps are {passes:.1f} passes")
assert (len(batches), read_per_pass, len(train_ids) - read_per_pass) == (9, 9_216, 784)
assert 22 < passes < 23

# %% [markdown]
# Counting is the yardstick, as in notebook 10: n-gram models fitted on the training text,
# their order chosen on its last 1,000 characters held out from the counts, then counted again
# on all of it and scored on the validation and test texts.

# %%
held_out = NGramModel(order=5, vocab_size=V).fit(train_ids[:9_000])
held_scores = held_out.nats_by_order(train_ids[9_000:])
best_order = min(held_scores, key=held_scores.get)
counts = NGramModel(order=5, vocab_size=V).fit(train_ids)
count_val, count_test = counts.nats_by_order(val_ids), counts.nats_by_order(test_ids)
for n in count_val:
    print(f"order {n}: held-out {held_scores[n]:.3f}, validation {count_val[n]:.3f}, test "
          f"{count_test[n]:.3f} nats/char" + ("   <- chosen" if n == best_order else ""))

# %% [markdown]
# The model is `utils.regularisation.RegularisedCharLSTM`: an embedding of 64, one `nn.LSTM`
# layer of 64 units and a linear head, which applies whatever a `Recipe` switches on, in
# `train()` mode only. Every run of this notebook is one call of `train_run`: a fresh model
# built after `torch.manual_seed(seed)`, exactly 200 steps of AdamW at a learning rate of
# 0.02 with the gradient norm clipped to 1, and the validation loss (nats per character, in
# `eval()` mode) measured at step 0 and every 20 steps; at the end, the test loss of the last
# step's weights and of the best validation step's. A seed fixes a recipe's initial weights
# and every dropout mask; the batches come in the same order in every run (a rerun is tested
# in `tests/test_regularisation.py`). Five seeds of the model with nothing switched on:

# %%
RUN = dict(vocab_size=V, steps=200, eval_every=20, lr=2e-2, embedding_dim=64, hidden_size=64,
           test_ids=test_ids)
SEEDS = (0, 1, 2, 3, 4)
runs = {"none": [train_run(Recipe(), batches, val_ids, seed=s, **RUN)
                 for s in tqdm(SEEDS, desc="no regulariser")]}
print(f"{sum(p.numel() for p in runs['none'][0].model.parameters()):,} parameters; "
      f"one run takes about {runs['none'][1].seconds:.1f} s")
for run in runs["none"]:
    print(f"seed {run.seed}: training loss {run.train_loss[-1]:.3f} at the end; validation "
          f"lowest {run.best_val:.3f} at step {run.best_step}, {run.final_val:.3f} at step "
          f"200; test {run.final_test:.3f} at step 200")
below_counts_on_test = [run.seed for run in runs["none"]
                        if run.final_test < count_test[best_order]]
print(f"seeds below the {best_order}-gram's test {count_test[best_order]:.4f} at step 200: "
      f"{below_counts_on_test}")
one_stream = [nats_per_char(run.model, val_ids, streams=1) for run in runs["none"]]
print("validation at step 200 read as 1 stream instead of 32:",
      " ".join(f"{v:.3f}" for v in one_stream), f"({best_order}-gram {count_val[best_order]:.3f})")

# %%
fig, ax = new_figure(width=7, height=3.2)
for run in runs["none"]:
    ax.plot(run.steps[1:], run.train_loss[1:], "o-", ms=2, color="0.6",
            label="training" if run.seed == 0 else None)
    ax.plot(run.steps, run.val_loss, "o-", ms=2, color=GATE_COLORS["i"],
            label="validation" if run.seed == 0 else None)
ax.axhline(count_val[best_order], color=GATE_COLORS["o"], ls=":",
           label=f"{best_order}-gram counts, validation")
ax.set(ylim=(1.2, 3.2), xlabel="training step", ylabel="nats per character",
       title="No regulariser, five seeds: validation turns up while training falls")
ax.legend(fontsize=8);

# %% [markdown]
# Every seed shows the shape of overfitting: the validation loss reaches its lowest point
# before step 200 and then rises by more than 0.05 nats while the training loss falls by
# more than 0.05 more, and at step 200 every seed is worse on the validation text than the
# count model. The LSTM is scored as 32 streams, each starting from a zero state, a small
# handicap against the count model; read as one stream, every seed is still worse on the
# validation text than the count model (printed above). Being behind holds on the validation
# text only: on the test text some seeds end below the count model and some above it (the
# seeds are printed above), so "behind a
# count model" is a fact about this validation passage, not about new text in general.

# %%
# KP 17.1
for run in runs["none"]:
    at_best = run.steps.index(run.best_step)
    assert run.best_step < 200 and run.final_val > run.best_val + 0.05     # turns up ...
    assert run.train_loss[-1] < run.train_loss[at_best] - 0.05            # ... training falls
    assert run.final_val > count_val[best_order]          # behind counting, on validation
assert min(one_stream) > count_val[best_order]           # ... even read as one stream
assert nats_per_char(runs["none"][0].model, val_ids, streams=32) == runs["none"][0].final_val
assert 0 < len(below_counts_on_test) < len(SEEDS)        # on test: some ahead, some behind
assert best_order == min(count_val, key=count_val.get)                   # validation agrees

# %% [markdown]
# ## 2. What `nn.LSTM(dropout=p)` does, and does not
#
# Notebook 01 proved that `dropout` acts only between layers and only in training
# ([01 · Model definition](01_model_definition.ipynb), KP 01.2). What kind of dropout is it?
# A two-layer `nn.LSTM(dropout=0.5)` in training mode can be rebuilt from two one-layer LSTMs
# holding its weights, with `F.dropout` applied to the first one's output sequence, starting
# from the same random state:

# %%
set_seed(0)
two = nn.LSTM(8, 6, num_layers=2, dropout=0.5, batch_first=True)
first, second = nn.LSTM(8, 6, batch_first=True), nn.LSTM(6, 6, batch_first=True)
with torch.no_grad():
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(first, f"{name}_l0").copy_(getattr(two, f"{name}_l0"))
        getattr(second, f"{name}_l0").copy_(getattr(two, f"{name}_l1"))
x = torch.randn(3, 7, 8)
torch.manual_seed(1)
fused, _ = two(x)
torch.manual_seed(1)
between = F.dropout(first(x)[0], p=0.5, training=True)      # every element on its own
by_hand, _ = second(between)
print(f"max |nn.LSTM - by hand| = {(fused - by_hand).abs().max():.1e}; what was dropped "
      f"between the layers in sequence 0 (1 = dropped; steps down, units across):")
print((between[0] == 0).int())

# %% [markdown]
# Bit for bit the same (checked on the CPU only; on a GPU the cuDNN kernel draws its own
# masks, so do not expect this equality there): `nn.LSTM`'s dropout
# is plain dropout on the lower layer's whole output, a new mask at every step (the rows above
# differ), and nothing else. Inside a layer,
# from `h_{t-1}` to `h_t`, nothing is dropped; the last layer's output is never dropped; and a
# one-layer LSTM has no "between", so its `dropout` changes nothing (it warns: Pitfalls).

# %%
# KP 17.2
torch.testing.assert_close(fused, by_hand, rtol=0, atol=0)             # bit for bit (CPU)
dropped_between = between == 0
assert not (dropped_between == dropped_between[:, :1]).all()            # a new mask each step
assert (fused != 0).all()                                              # last layer: untouched
with warnings.catch_warnings(record=True):
    warnings.simplefilter("always")
    one_layer = nn.LSTM(8, 6, dropout=0.5, batch_first=True)
torch.testing.assert_close(one_layer.train()(x)[0], one_layer.eval()(x)[0], rtol=0, atol=0)

# %% [markdown]
# So for a one-layer model `nn.LSTM` offers no regularisation at all, and for any model none
# on the recurrence. The rest of this notebook adds it, in four places: on the recurrent
# state (section 3), on the LSTM's input and output (4), on its recurrent weights (5) and on
# the characters themselves (6).
#
# ## 3. Dropout on the recurrent state, one step at a time
#
# To drop anything inside the recurrence, step the LSTM yourself. The obvious place is the
# state `h_{t-1}` where it enters the next step: `gates_t = W_ih x_t + b + W_hh (m_t * h_{t-1})`.
# There are two ways to draw `m_t`: a new mask at every step, which is what `nn.Dropout` in a
# loop does, or one mask per sequence, shared by every step (Gal & Ghahramani, 2016). The
# loop, as `utils.regularisation.state_dropout_lstm` runs it:

# %%
def step_by_step(lstm, x, p, per_step, generator):
    """A one-layer LSTM over x (B, T, I), dropping h_{t-1} where it enters the recurrence."""
    batch, hidden = x.shape[0], lstm.hidden_size
    h = c = torch.zeros(batch, hidden)
    projected = x @ lstm.weight_ih_l0.T + lstm.bias_ih_l0 + lstm.bias_hh_l0   # all steps at once
    keep = torch.empty(batch, hidden).bernoulli_(1 - p, generator=generator) / (1 - p)
    outputs = []
    for t in range(x.shape[1]):
        if per_step and t > 0:                                   # a new mask at every step
            keep = torch.empty(batch, hidden).bernoulli_(1 - p, generator=generator) / (1 - p)
        i, f, g, o = (projected[:, t] + (h * keep) @ lstm.weight_hh_l0.T).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        outputs.append(h)
    return torch.stack(outputs, dim=1)

# %% [markdown]
# With a new mask at every step, the chance that a unit's recurrent input is kept at all 64
# steps of a batch is 0.75^64 with p = 0.25, about 10^-8 (Exercise 2): the recurrence the
# model learns through changes at every step. A locked mask removes the same units (a
# quarter of them on average) for the whole sequence, and that is nothing but a thinner
# recurrent matrix. For one
# sequence, the locked loop computes exactly what `nn.LSTM` computes when the dropped units'
# columns of `weight_hh_l0` are zero and the kept ones scaled by 1/(1 − p):

# %%
set_seed(0)
small = nn.LSTM(5, 6, batch_first=True)
one_sequence = torch.randn(1, 64, 5)
def draws():
    return torch.Generator().manual_seed(3)                  # the same masks, call after call
per_step_out = step_by_step(small, one_sequence, 0.25, per_step=True, generator=draws())
locked_out = step_by_step(small, one_sequence, 0.25, per_step=False, generator=draws())
keep = torch.empty(1, 6).bernoulli_(0.75, generator=draws()) / 0.75     # the loop's first draw
thinned, _ = functional_call(small, {"weight_hh_l0": small.weight_hh_l0 * keep}, (one_sequence,))
print(f"0.75 ** 64 = {0.75 ** 64:.1e}; locked mask {keep[0].tolist()}; max |locked loop - "
      f"thinned nn.LSTM| = {(locked_out - thinned).abs().max():.1e}, |per-step - locked| up "
      f"to {(per_step_out - locked_out).abs().max():.2f}")

# %%
# KP 17.3
torch.testing.assert_close(locked_out, thinned)                  # locked = a thinned W_hh
assert (keep == 0).any() and not torch.allclose(per_step_out, locked_out)
torch.testing.assert_close(step_by_step(small, one_sequence, 0.0, True, draws()),
                           small(one_sequence)[0])                      # p = 0: nn.LSTM
torch.testing.assert_close(state_dropout_lstm(small, one_sequence, p=0.25, mask="per_step",
                                              training=True, generator=draws())[0],
                           per_step_out, rtol=0, atol=0)                # utils runs this loop

# %% [markdown]
# Does the per-step mask hurt? Zaremba et al. (2014) kept dropout off the recurrent
# connections altogether, arguing that noise there is amplified over time and corrupts what
# the units store; Gal & Ghahramani made recurrent dropout work by locking its mask. Here is
# the measurement on our task: `RegularisedCharLSTM` with `state_p = 0.25`, each mask, seed 0,
# the same 200 steps and batches as the baseline (in `eval()` mode the model runs the fused
# kernel, since nothing is dropped there).

# %%
state_runs = {mask: train_run(Recipe(state_p=0.25, state_mask=mask), batches, val_ids, seed=0,
                              **RUN) for mask in tqdm(("per_step", "locked"), desc="loops")}
base = runs["none"][0]
print(f"{'seed 0':<24}{'lowest validation':>18}{'at step 200':>13}{'seconds':>9}")
for name, run in (("no dropout (fused)", base), *state_runs.items()):
    print(f"{name:<24}{run.best_val:>18.3f}{run.final_val:>13.3f}{run.seconds:>9.1f}")

# %% [markdown]
# Whole runs share the machine with whatever else runs, so the cost of one training step is
# measured on its own, with `torch.utils.benchmark` (notebook 14): the median time of a
# forward and backward pass on one batch, the loop against the fused kernel.

# %%
def step_time(recipe):
    """Median seconds of one training forward + backward of a fresh model with recipe."""
    model, (x, y) = RegularisedCharLSTM(V, 64, 64, recipe).train(), batches[0]
    def step():
        F.cross_entropy(model(x)[0].reshape(-1, V), y.reshape(-1)).backward()
    return benchmark.Timer("step()", globals={"step": step}).blocked_autorange(
        min_run_time=0.3).median


step_fused, step_loop = step_time(Recipe()), step_time(Recipe(state_p=0.25))
print(f"one step: fused {step_fused * 1e3:.1f} ms, Python loop {step_loop * 1e3:.1f} ms "
      f"({step_loop / step_fused:.1f}x)")

# %%
fig, ax = new_figure(width=7, height=3.0)
for (name, run), color in zip((("no dropout", base), *state_runs.items()),
                              ("0.5", GATE_COLORS["o"], GATE_COLORS["i"]), strict=True):
    ax.plot(run.steps, run.val_loss, "o-", ms=2, color=color, label=name)
ax.set(ylim=(2.4, 3.0), xlabel="training step", ylabel="validation nats/char",
       title="Dropout on h(t-1), p = 0.25: a new mask each step or one per sequence")
ax.legend(fontsize=8);

# %% [markdown]
# Measured here, with one seed each: both masks end the 200 steps below the baseline's last
# validation loss, and the per-step mask is within 0.05 nats of the locked one, at its lowest
# point and at step 200. On this task, in this budget, the per-step mask did not measurably
# hurt; one seed cannot show a difference smaller than the spread between seeds (section 9
# measures that spread: the baseline's standard deviation over five seeds is above 0.04
# nats). What the runs do show is the price of stepping in Python: a training step more
# than twice as slow as the fused kernel's (the ratio is printed above). The locked version
# is a thinned recurrent matrix, and a matrix can be thinned *before* the fused kernel runs:
# that is weight dropout (section 5).

# %%
# KP 17.3
for run in state_runs.values():
    assert run.final_val < base.final_val                       # both regularise here
per_step, locked_run = state_runs["per_step"], state_runs["locked"]
assert abs(per_step.best_val - locked_run.best_val) < 0.05      # no measurable harm here ...
assert abs(per_step.final_val - locked_run.final_val) < 0.05
assert step_loop > 2 * step_fused                                # ... but slow

# %% [markdown]
# ## 4. Locked dropout on the input and the output
#
# Between the embedding and the LSTM, and between the LSTM and the head, `nn.Dropout` would
# draw a new mask at every step as well. **Locked dropout** (variational dropout, Gal &
# Ghahramani, 2016; AWD-LSTM's `LockedDropout`) draws one mask of shape `(batch, 1, features)`
# and lets it broadcast over time: a feature dropped at one step is dropped at every step of
# that sequence. The whole forward:

# %%
def locked(x, p):
    """x (batch, seq_len, features) times one mask per sequence and feature."""
    mask = x.new_empty(x.shape[0], 1, x.shape[2]).bernoulli_(1 - p) / (1 - p)   # (B, 1, F)
    return x * mask                                                             # over time


x = torch.rand(32, 6, 16) + 0.5                               # no zeros of its own
torch.manual_seed(4)
mine = locked(x, 0.25)                                        # p = 0.25: 1 - p is not p
torch.manual_seed(4)
from_utils = locked_dropout(x, 0.25)
per_step_dropout = nn.Dropout(0.25)(x)
share = (mine[:, 0] == 0).float().mean()
print("locked (1 = dropped), sequence 0:\n", (mine[0] == 0).int(),
      "\nnn.Dropout, sequence 0:\n", (per_step_dropout[0] == 0).int(),
      f"\nlocked: {share:.1%} of the 32 x 16 mask dropped; kept values x "
      f"{(mine[mine != 0] / x[mine != 0]).mean():.4f}")

# %%
# KP 17.4
dropped = mine == 0
assert dropped.any() and (dropped == dropped[:, :1]).all()              # one mask, every step
assert 0.2 < share < 0.3                                                # a quarter dropped
torch.testing.assert_close(mine[~dropped], x[~dropped] / 0.75)           # kept: x / (1 - p)
torch.testing.assert_close(from_utils, mine, rtol=0, atol=0)             # utils: the same
assert not torch.equal(locked_dropout(x, 0.25) == 0, dropped)           # a new mask per call
assert not ((per_step_dropout == 0) == (per_step_dropout == 0)[:, :1]).all()   # nn.Dropout
assert locked_dropout(x, 0.25, training=False) is x                     # eval: nothing

# %% [markdown]
# A new mask at each call means one per batch: each batch trains a differently thinned model.
#
# ## 5. Weight dropout: DropConnect on `weight_hh`
#
# AWD-LSTM's answer to the recurrence is **DropConnect** (Wan et al., 2013) on the recurrent
# weights: zero a random subset of the *entries* of `weight_hh_l0` once per batch and use that
# matrix at every step. Only a weight changes, so the fused kernel still runs. The old way to
# do it deleted the parameter from the `nn.LSTM` and assigned a tensor in its place, which
# breaks (Pitfalls). `torch.func.functional_call` does it without touching the
# module: it runs `lstm` once with the tensors given in place of its parameters of those
# names, and puts the parameters back afterwards.

# %%
set_seed(0)
lstm = nn.LSTM(5, 6, batch_first=True)
x2 = torch.randn(2, 12, 5)
W = lstm.weight_hh_l0
dropped_W = W * torch.empty_like(W).bernoulli_(0.7) / 0.7          # DropConnect, p = 0.3
out_wd, _ = functional_call(lstm, {"weight_hh_l0": dropped_W}, (x2,))
print(f"{int((dropped_W == 0).sum())} of {W.numel()} recurrent weights dropped; "
      f"output {tuple(out_wd.shape)}; the LSTM's parameters: "
      f"{[name for name, _ in lstm.named_parameters()]}")

# %% [markdown]
# The proof that one dropped matrix serves every step, twice. First, the output equals a
# loop that applies that one matrix at every step, and not a loop that draws a new one per
# step. Second, the gradient: a weight used at any step after the first receives a gradient
# from it (at the first step `h_0 = 0`, so `W_hh` gets none there). In the loop with a new mask per step, weights that our matrix dropped are kept at
# some steps and do receive one; through `functional_call` the dropped weights receive
# exactly none, the kept ones all do, so no step used anything but the one matrix.

# %%
def loop_with(lstm, x, weight_hh_at):
    """nn.LSTM's equations one step at a time; weight_hh_at(t) is step t's recurrent matrix."""
    h = c = torch.zeros(x.shape[0], lstm.hidden_size)
    outputs = []
    for t in range(x.shape[1]):
        gates = (x[:, t] @ lstm.weight_ih_l0.T + lstm.bias_ih_l0
                 + h @ weight_hh_at(t).T + lstm.bias_hh_l0)
        i, f, g, o = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        outputs.append(h)
    return torch.stack(outputs, dim=1)

# %%
# KP 17.5
torch.testing.assert_close(out_wd, loop_with(lstm, x2, lambda t: dropped_W))   # one matrix
fresh = loop_with(lstm, x2, lambda t: W * torch.empty_like(W).bernoulli_(0.7) / 0.7)
assert not torch.allclose(out_wd, fresh)                                   # not one per step
fresh.sum().backward()                                # a new mask per step: would it show?
per_step_grad, W.grad = W.grad, None
assert (per_step_grad[dropped_W == 0] != 0).any()       # yes: dropped weights get gradient
out_wd.sum().backward()
assert (W.grad[dropped_W == 0] == 0).all() and (W.grad[dropped_W != 0] != 0).all()
assert lstm.weight_hh_l0 is W and isinstance(W, nn.Parameter)             # the module untouched
torch.testing.assert_close(lstm(x2)[0], loop_with(lstm, x2, lambda t: W))  # and whole again

# %% [markdown]
# `RegularisedCharLSTM` does this at every training step (`weight_dropped_lstm`), with AWD's
# convention for the scale: during training the kept weights are divided by 1 − p (as
# `F.dropout` does), so the expected matrix is `W`, and in `eval()` the model uses `W` itself,
# full and unscaled. The model keeps the matrix its last forward pass used in
# `last_weight_hh`:

# %%
set_seed(0)
wd_model = RegularisedCharLSTM(V, 64, 64, Recipe(weight_p=0.3))
chars = batches[0][0][:2, :20]                                 # 2 sequences of 20 characters
train_logits = wd_model.train()(chars)[0]
used_W, model_W = wd_model.last_weight_hh, wd_model.lstm.weight_hh_l0
embedded = wd_model.embedding(chars)
manual_logits = wd_model.head(loop_with(wd_model.lstm, embedded, lambda t: used_W))
eval_logits = wd_model.eval()(chars)[0]
plain_logits = wd_model.head(wd_model.lstm(embedded)[0])
kept = used_W != 0
print(f"training: {(~kept).float().mean():.1%} of weight_hh dropped, kept ones x "
      f"{(used_W[kept] / model_W[kept]).mean():.3f}; eval: max |logits - plain nn.LSTM| = "
      f"{(eval_logits - plain_logits).abs().max():.1e}")

# %%
# KP 17.5
torch.testing.assert_close(train_logits, manual_logits)                  # one matrix, 20 steps
torch.testing.assert_close(used_W[kept], model_W[kept] / 0.7)            # training: scaled
assert 0.25 < (~kept).float().mean() < 0.35                             # p = 0.3 dropped
torch.testing.assert_close(eval_logits, plain_logits, rtol=0, atol=0)    # eval: W, unscaled
assert wd_model.last_weight_hh.data_ptr() == model_W.data_ptr()          # W itself
assert list(wd_model.state_dict()) == list(RegularisedCharLSTM(V, 64, 64).state_dict())

# %% [markdown]
# The last line: the weight-dropped model's `state_dict` has the same keys as the plain one's,
# so checkpoints move freely between the two. And since only a weight changes, the steps run
# in `nn.LSTM`'s own kernel: a training step with weight dropout costs less than half of the
# Python loop's (section 3's measurement, repeated; the ratio to a plain step is printed):

# %%
step_plain, step_weight = step_time(Recipe()), step_time(Recipe(weight_p=0.5))   # side by side
print(f"one step: plain {step_plain * 1e3:.1f} ms, with weight dropout {step_weight * 1e3:.1f} "
      f"ms ({step_weight / step_plain:.2f}x); section 3's Python loop {step_loop * 1e3:.1f} ms")

# %%
# KP 17.5
assert step_weight < step_loop / 2                  # the kernel's speed, not the loop's

# %% [markdown]
# ## 6. Embedding dropout: whole characters
#
# Dropout on the embedding *vectors* is input dropout (section 4). **Embedding dropout**
# (Gal & Ghahramani, 2016; AWD-LSTM's `embedded_dropout`) drops whole *tokens*: one mask over
# the rows of the embedding matrix, so a dropped character is a zero vector at every one of
# its positions in the batch, and the model has to predict from the characters around it:

# %%
def embedding_dropped(embedding, ids, p):
    """The embeddings of ids with whole rows (characters) of the matrix dropped."""
    mask = embedding.weight.new_empty(embedding.num_embeddings, 1).bernoulli_(1 - p) / (1 - p)
    return F.embedding(ids, embedding.weight * mask)


batch_ids = batches[0][0]                                              # (16, 64)
torch.manual_seed(2)
embedded = embedding_dropped(wd_model.embedding, batch_ids, 0.1)
torch.manual_seed(2)
embedded_utils = embedding_dropout(wd_model.embedding.weight, batch_ids, 0.1)
zero = (embedded == 0).all(-1)                                         # (16, 64) positions
gone = batch_ids[zero].unique()
print(f"dropped: {[vocab.decode(i.view(1)) for i in gone]}, at {int(zero.sum())} of "
      f"{zero.numel()} positions; {len(batch_ids.unique())} distinct characters in the batch")

# %%
# KP 17.6
assert len(gone) > 0
for token in batch_ids.unique():
    at = batch_ids == token
    assert zero[at].all() or not zero[at].any()                   # everywhere or nowhere
lookup = wd_model.embedding(batch_ids)
torch.testing.assert_close(embedded[~zero], lookup[~zero] / 0.9)   # kept: scaled by 1/(1 - p)
torch.testing.assert_close(embedded_utils, embedded, rtol=0, atol=0)
torch.testing.assert_close(embedding_dropout(wd_model.embedding.weight, batch_ids, 0.1,
                                             training=False), lookup, rtol=0, atol=0)

# %% [markdown]
# ## 7. AR and TAR: penalties on the activations
#
# Two terms that AWD-LSTM adds to the loss. **Activation regularisation** (AR),
# `α · mean(dropped²)`, makes large outputs costly; it reads the LSTM's outputs after dropout,
# the ones the head sees. **Temporal activation regularisation** (TAR),
# `β · mean((h_{t+1} − h_t)²)`, makes fast changes from one step to the next costly; it reads
# the raw outputs, before dropout. We use α = 2 and β = 1, the defaults of AWD-LSTM's code,
# which its word-level runs keep (its README's two character-level runs, PTB-char and
# enwik8, both set `--alpha 0 --beta 0`); `train_run`
# minimises cross-entropy + AR + TAR. By hand, on a model with locked dropout on its output:

# %%
set_seed(0)
penalised = RegularisedCharLSTM(V, 64, 64, Recipe(output_p=0.3, alpha=2.0, beta=1.0))
out = penalised.train().run(chars)                           # logits, state, raw, dropped
ar_by_hand = 2.0 * (out.dropped ** 2).mean()
tar_by_hand = 1.0 * ((out.raw[:, 1:] - out.raw[:, :-1]) ** 2).mean()
ar, tar = ar_tar(out.dropped, out.raw, alpha=2.0, beta=1.0)
print(f"AR {ar:.5f} (by hand {ar_by_hand:.5f}), TAR {tar:.5f} (by hand {tar_by_hand:.5f}); "
      f"AR of the raw outputs would be {2.0 * (out.raw ** 2).mean():.5f}")

# %%
# KP 17.7
torch.testing.assert_close(ar, ar_by_hand)
torch.testing.assert_close(tar, tar_by_hand)
torch.testing.assert_close(out.logits, penalised.head(out.dropped), rtol=0, atol=0)  # head reads
assert not torch.allclose(out.dropped, out.raw)              # AR reads the dropped outputs
ar.backward(retain_graph=True)
assert penalised.lstm.weight_hh_l0.grad.abs().sum() > 0      # a loss term: it trains the LSTM

# %% [markdown]
# What the two terms do to a trained model is measured after the ablation (section 9).
#
# ## 8. Weight tying, weight decay, early stopping
#
# Three techniques from earlier notebooks, as they are used here:
#
# - **weight tying** ([10 · A character language model](10_character_language_model.ipynb),
#   KP 10.8): the head's weight *is* the embedding matrix, which needs the LSTM's output size
#   equal to the embedding's (64 and 64 here). `RegularisedCharLSTM` starts its embedding as
#   U(−0.1, 0.1), tied or not (AWD-LSTM's choice), so tying does not change its initial scale.
# - **weight decay** ([07 · Adam and the training step](07_adam_training_step.ipynb), KP 07.3):
#   every run uses AdamW, whose decay is decoupled: each step first multiplies every weight by
#   1 − lr · λ (0.998 with λ = 0.1), then takes Adam's step (on the first step that is
#   lr · g / (|g| + ε), since Adam's bias-corrected averages are then g and g²). λ = 0 is
#   plain Adam.
# - **early stopping** ([08 · Training on real data](08_training_on_real_data.ipynb)): it trains
#   nothing; it keeps the weights of the evaluation step with the lowest validation loss.
#   `train_run` keeps them for every run, so early stopping can be applied to any run
#   afterwards; a choice made on the validation text, so its validation number flatters it,
#   and its test number does not.

# %%
# KP 17.8
def count(model):
    return sum(p.numel() for p in model.parameters())       # a shared tensor counts once


untied = RegularisedCharLSTM(V, 64, 64)
tied = RegularisedCharLSTM(V, 64, 64, Recipe(tie_weights=True))
assert tied.head.weight is tied.embedding.weight
assert untied.head.weight is not untied.embedding.weight
for model in (untied, tied):                                  # U(-0.1, 0.1), tied or not
    assert 0.099 < model.embedding.weight.abs().max() <= 0.1  # not nn.Embedding's N(0, 1)
assert count(untied) - count(tied) == V * 64
for run in runs["none"]:                                      # early stopping's choice
    assert run.best_val == min(run.val_loss) == run.val_loss[run.steps.index(run.best_step)]
    kept_model = RegularisedCharLSTM(V, 64, 64, run.recipe)
    kept_model.load_state_dict(run.best_state)                # ... and its weights are kept
    assert nats_per_char(kept_model, val_ids, streams=32) == run.best_val

# %%
# KP 17.8
weight = nn.Parameter(torch.ones(3))
decaying = torch.optim.AdamW([weight], lr=2e-2, weight_decay=0.1)
weight.grad = torch.zeros(3)                                  # no gradient: decay alone
decaying.step()
torch.testing.assert_close(weight.detach(), torch.full((3,), 1 - 2e-2 * 0.1))

# %% [markdown]
# Which comes first, with a real gradient? One step of AdamW against the two orders computed
# by hand:

# %%
start, g = torch.tensor([1.0, -2.0, 0.5]), torch.tensor([0.3, -0.1, 2.0])
moved = nn.Parameter(start.clone())
moved.grad = g                                                # a real gradient, one step
torch.optim.AdamW([moved], lr=2e-2, weight_decay=0.1).step()
adam_step = 2e-2 * g / (g.abs() + 1e-8)                       # Adam's first step
decay_first = start * (1 - 2e-2 * 0.1) - adam_step
decay_after = (start - adam_step) * (1 - 2e-2 * 0.1)
print(f"AdamW {moved.detach().tolist()}\ndecay, then Adam's step {decay_first.tolist()}\n"
      f"Adam's step, then decay {decay_after.tolist()}")

# %%
# KP 17.8
torch.testing.assert_close(moved.detach(), decay_first, rtol=0, atol=1e-6)  # this order
assert (decay_after - moved.detach()).abs().max() > 1e-5                    # not the other
a, b = nn.Parameter(torch.ones(3)), nn.Parameter(torch.ones(3))
gradient = torch.tensor([1.0, -2.0, 0.5])
steppers = torch.optim.AdamW([a], lr=2e-2, weight_decay=0.0), torch.optim.Adam([b], lr=2e-2)
for k in range(3):
    for param, stepper in zip((a, b), steppers, strict=True):
        param.grad = gradient * (k + 1)
        stepper.step()
torch.testing.assert_close(a.detach(), b.detach(), rtol=0, atol=0)   # λ = 0: plain Adam
assert not torch.equal(a.detach(), torch.ones(3))                    # and they did move

# %% [markdown]
# ## 9. The ablation
#
# Each technique alone, and all of them together, against the runs with none: the same 200
# steps, the same five seeds and the same batches, nothing else changed. A seed gives every
# recipe the same initial weights, except where the recipe itself changes them: weight tying
# makes the head's matrix the embedding's, so the tied runs (and *all*) start from another
# model (their step-0 validation loss differs from the baseline's; every other recipe's
# equals it exactly). The strengths were set once, before the ablation, and not tuned: the values of
# AWD-LSTM's PTB-char run (its README's character-level Penn Treebank command) where it uses
# the technique (locked dropout 0.1 on the input, `--dropouti 0.1`, and the output,
# `--dropout 0.1`; weight dropout `--wdrop 0.5`); its code's defaults where that run switches it off
# (embedding dropout 0.1, α = 2, β = 1); and λ = 0.1 for AdamW. The slice size and the 200
# steps, though, were chosen by a few trial runs scored on this validation text, so that the
# baseline overfits within the budget: the validation text has been looked at before the
# ablation, one more reason to read the test columns too.

# %%
TECHNIQUES = {
    "locked dropout": Recipe(input_p=0.1, output_p=0.1),
    "weight dropout": Recipe(weight_p=0.5),
    "embedding dropout": Recipe(embed_p=0.1),
    "AR/TAR": Recipe(alpha=2.0, beta=1.0),
    "weight tying": Recipe(tie_weights=True),
    "weight decay": Recipe(weight_decay=0.1),
}
ALL = Recipe()
for recipe in TECHNIQUES.values():
    ALL = ALL | recipe                                       # every technique switched on
for name, recipe in {**TECHNIQUES, "all": ALL}.items():
    print(f"{name:<18} {recipe.describe()}")

# %%
jobs = [(name, recipe, seed) for name, recipe in {**TECHNIQUES, "all": ALL}.items()
        for seed in SEEDS]
started = time.perf_counter()
for name, recipe, seed in tqdm(jobs, desc="ablation", mininterval=1.0):
    runs.setdefault(name, []).append(train_run(recipe, batches, val_ids, seed=seed, **RUN))
trained = sum(len(group) for group in runs.values()) + len(state_runs)
print(f"{len(jobs)} runs of 200 steps in {time.perf_counter() - started:.0f} s ({trained} models "
      f"trained in this notebook); step-0 validation, seed 0: baseline "
      f"{runs['none'][0].val_loss[0]:.4f}, tied {runs['weight tying'][0].val_loss[0]:.4f}")
assert trained == 42

# %%
# KP 17.9
for group in runs.values():                          # the same initial weights, but tying's
    for run, base_run in zip(group, runs["none"], strict=True):
        if run.recipe.tie_weights:
            assert run.val_loss[0] != base_run.val_loss[0]              # another model
        else:
            assert run.val_loss[0] == base_run.val_loss[0]              # the same, exactly

# %% [markdown]
# Two texts judge every row. For each seed, the *change* is the row's loss minus the
# baseline's loss for the same seed at step 200: once on the validation text, once on the
# test text. The verdict is *helps* when all five seeds' changes are below zero, *hurts* when
# all five are above, *unclear* otherwise. How often does that rule convict a technique that
# does nothing? If each seed's change is then as likely above zero as below, independently,
# all five land on one side with probability 2 / 2⁵ = 1/16 (with three seeds it would be
# 1/4). That is per verdict: the tables below give 16 sign verdicts (7 rows on validation, 9
# on test, the early-stopped two having none on validation), so if no technique did anything
# about one of them (16 × 1/16, printed below) would still come out *helps* or *hurts*. Each row also gets the paired 95 % t interval of its mean change,
# mean ± t · sd / √5, which assumes roughly normal changes (then it excludes zero for about
# 5 % of do-nothing techniques: simulated below). Neither says anything about other
# texts: the seeds vary the initial weights and the dropout masks, never the passage, so a
# validation verdict is a verdict on this validation passage, a test verdict one on this
# test passage.
#
# Early stopping picks its step on the validation text, the lowest of 11 validation points,
# so for the baseline's own runs its validation change cannot be positive. Early-stopped rows
# therefore get no validation verdict (*chosen*): the test text judges them.

# %%
patterns = list(itertools.product((-1, 1), repeat=len(SEEDS)))
one_side = sum(len(set(signs)) == 1 for signs in patterns) / len(patterns)
null_changes = torch.randn(20_000, len(SEEDS), dtype=torch.float64,
                           generator=torch.Generator().manual_seed(0))   # a do-nothing technique
convicted = ((null_changes < 0).all(1) | (null_changes > 0).all(1)).double().mean().item()
t_95 = t_quantile(0.975, len(SEEDS) - 1)
half_width = t_95 * null_changes.std(1) / len(SEEDS) ** 0.5
excluded = (null_changes.mean(1).abs() > half_width).double().mean().item()
print(f"all {len(SEEDS)} seeds on one side: {one_side:.4f} of the {len(patterns)} sign patterns; "
      f"simulated do-nothing technique: {convicted:.4f}; its t interval (t = {t_95:.3f}) "
      f"excludes 0 in {excluded:.4f}; with 3 seeds the sign rule: {2 / 2 ** 3}")
n_val_verdicts = len(TECHNIQUES) + 1                          # each technique, and all
n_test_verdicts = n_val_verdicts + 2                          # + the two early-stopped rows
false_expected = (n_val_verdicts + n_test_verdicts) * one_side
print(f"{n_val_verdicts} + {n_test_verdicts} = {n_val_verdicts + n_test_verdicts} sign verdicts: "
      f"{false_expected:.2f} false ones expected if nothing worked")

# %%
# KP 17.9
assert one_side == 2 / 2 ** len(SEEDS) == 1 / 16                # the rule's chance rate
assert abs(convicted - 1 / 16) < 0.01 and abs(excluded - 0.05) < 0.01
assert n_val_verdicts + n_test_verdicts == 16 and false_expected == 1.0    # about one

# %% [markdown]
# The two tables, rows in the same order (by their mean validation loss). *all, last step* is
# the headline row: it reports its last step's weights, chosen on nothing. The test loss of a
# row is that of the same weights as its validation loss.

# %%
runs[EARLY_STOPPING] = runs["none"]              # the same runs, stopped at their best step
runs["all, early stopping"] = runs["all"]
rows = ablation_rows(runs, early_stopping={EARLY_STOPPING: True, "all, early stopping": True})
by_name = {row["name"]: row for row in rows}
order = sorted(by_name, key=lambda n: by_name[n]["val_mean"], reverse=True)
label = {"all": "all, last step", "none": "none (baseline)"}


def print_side(side, count_losses):
    prefix = "" if side == "val" else "test_"
    print(f"{'VALIDATION' if side == 'val' else 'TEST':<21}{'mean ± sd':>15}"
          f"{'change per seed (0-4)':>37}{'mean [95 % interval]':>26}{'verdict':>10}")
    for name in order:
        row, (low, high) = by_name[name], by_name[name][f"{prefix}interval"]
        change = " ".join(f"{c:+.3f}" for c in row[f"{prefix}change"])
        print(f"{label.get(name, name):<21}{row[f'{side}_mean']:>7.3f} ± {row[f'{side}_std']:.3f}"
              f"{change:>37}{row[f'{prefix}change_mean']:>+9.3f} [{low:+.3f}, {high:+.3f}]"
              f"{row[f'{prefix}verdict']:>10}")
    print(f"{f'{best_order}-gram counts':<21}{count_losses[best_order]:>7.3f}\n")


print_side("val", count_val)
print_side("test", count_test)

# %%
fig, axes = new_figure(ncols=2, width=10, height=4.0, sharey=True)
shade = {"helps": GATE_COLORS["g"], "hurts": GATE_COLORS["o"], "unclear": "0.45",
         "chosen": "0.75", "baseline": "0.45"}
shown = [name for name in order if name != "none"]                 # the baseline is 0
for ax, (side, prefix) in zip(axes, (("validation", ""), ("test", "test_")), strict=True):
    for k, name in enumerate(shown):
        row = by_name[name]
        color = shade[row[f"{prefix}verdict"]]
        ax.plot(row[f"{prefix}change"], [k] * len(SEEDS), "o", color=color, alpha=0.8,
                mfc="none" if row[f"{prefix}verdict"] == "chosen" else color)
        ax.plot(row[f"{prefix}interval"], [k - 0.25] * 2, color=color, lw=2)
    ax.axvline(0, color="black", lw=1)
    ax.set(xlabel=f"{side} change against the baseline, same seed (nats/char)",
           title=f"{side}: dots = seeds, bar = 95 % interval")
axes[0].set_yticks(range(len(shown)), [label.get(n, n) for n in shown], fontsize=8)
fig.suptitle("Green: every seed below 0 (helps); red: every seed above (hurts); "
             "hollow: step chosen on validation", fontsize=9);

# %% [markdown]
# As measured, on this task and budget:
#
# - **all together, last step** is the headline: it helps on every seed of both texts, its
#   mean is lower than every single technique's on both, and every one of its seeds is below
#   the count model on both. On the validation text each of its seeds is also below every
#   seed of the baseline and of every single technique; on the test text not quite: its
#   worst seed is above weight dropout's best;
# - **early stopping**, judged on the test text, helps on all five seeds, by less than its
#   validation number suggests; added to *all* it never improves the test loss here: where
#   the best validation step is the last it changes nothing, elsewhere it makes the test
#   loss worse, by less than 0.01 (printed below);
# - **weight dropout, embedding dropout, weight tying and weight decay** help on all five
#   seeds of both texts;
# - **locked dropout** at 0.1 is where the two texts disagree: *unclear* on this validation
#   passage (one seed of five above the baseline), *helps* on every seed of the test passage,
#   where its mean change is within 0.02 nats of weight dropout's and a larger mean
#   improvement (a more negative change) than weight tying's;
# - **AR/TAR** is *unclear* on validation (one seed below the baseline) and *hurts* on every
#   seed of the test text (AWD-LSTM's character-level runs, PTB-char and enwik8, both switch
#   it off).
#
# Sixteen verdicts leave about one false one to expect if nothing worked (section 9's 1/16
# each), so trust least the *helps* whose interval ends nearest zero: weight tying's, early
# stopping's and weight decay's test intervals, each ending within 0.02 nats of zero (printed
# below), are the thinnest evidence in the tables.
#
# Every row's standard deviation over the seeds is below 0.1 nats on both texts, the
# baseline's above 0.04: a difference of a few hundredths between two rows needs the
# seed-by-seed comparison, and five seeds still leave every interval more than 0.05 wide. The
# rows' order differs between the two texts in places: a ranking, like a verdict, belongs to
# its passage.

# %%
stop_on_all = [s - f for s, f in zip(by_name["all, early stopping"]["test"],
                                     by_name["all"]["test"], strict=True)]
print("early stopping added to all, test change per seed:",
      " ".join(f"{d:+.4f}" for d in stop_on_all))
thinnest = sorted((row["test_interval"][1], row["name"]) for row in rows
                  if row["test_verdict"] == "helps")[::-1][:3]
print("test 'helps' whose interval ends nearest 0:",
      "; ".join(f"{name} [.., {high:+.3f}]" for high, name in thinnest))

# %%
# KP 17.9
verdicts = {name: (row["verdict"], row["test_verdict"]) for name, row in by_name.items()}
for name in ("weight dropout", "embedding dropout", "weight tying", "weight decay", "all"):
    assert verdicts[name] == ("helps", "helps")
assert verdicts[EARLY_STOPPING][1] == verdicts["all, early stopping"][1] == "helps"   # test
assert len(runs["none"][0].steps) == 11                          # early stopping's 11 choices
assert verdicts["locked dropout"] == ("unclear", "helps")        # the texts disagree
assert verdicts["AR/TAR"] == ("unclear", "hurts")
judged = [(row["verdict"], row["test_verdict"]) for row in rows]
assert sum(v in ("helps", "hurts", "unclear") for v, _ in judged) == n_val_verdicts   # 7
assert sum(t in ("helps", "hurts", "unclear") for _, t in judged) == n_test_verdicts  # 9
assert {name for _, name in thinnest} == {"weight tying", EARLY_STOPPING, "weight decay"}
assert all(-0.02 < high < 0 for high, _ in thinnest)               # within 0.02 of zero
assert sum(c > 0 for c in by_name["locked dropout"]["change"]) == 1
assert sum(c < 0 for c in by_name["AR/TAR"]["change"]) == 1
locked_mean, tying_mean = (by_name[n]["test_change_mean"] for n in ("locked dropout",
                                                                     "weight tying"))
assert abs(locked_mean - by_name["weight dropout"]["test_change_mean"]) < 0.02
assert locked_mean < tying_mean

# %%
# KP 17.9
singles = [row for row in rows if row["name"] not in ("all", "all, early stopping")]
counted = {"val": count_val[best_order], "test": count_test[best_order]}
for side in ("val", "test"):                                     # the headline, both texts
    assert by_name["all"][f"{side}_mean"] < min(row[f"{side}_mean"] for row in singles)
    assert by_name["all"][f"{side}_max"] < counted[side]
assert by_name["all"]["val_max"] < min(row["val_min"] for row in singles)
assert by_name["all"]["test_change_mean"] < min(row["test_change_mean"] for row in singles)
assert by_name["all"]["test_max"] > by_name["weight dropout"]["test_min"]    # not every seed
for run, d in zip(runs["all"], stop_on_all, strict=True):
    assert (d == 0) == (run.best_step == 200) and 0 <= d < 0.01             # never better
assert any(d > 0 for d in stop_on_all)
assert by_name[EARLY_STOPPING]["test_change_mean"] > by_name[EARLY_STOPPING]["change_mean"]
assert all(row[f"{side}_std"] < 0.1 for row in rows for side in ("val", "test"))
assert by_name["none"]["val_std"] > 0.04 and by_name["none"]["test_std"] > 0.04
assert all(high - low > 0.05 for row in rows if row["name"] != "none"
           for low, high in (row["interval"], row["test_interval"]))
by_val, by_test = (sorted(by_name, key=lambda n: by_name[n][key]) for key in ("val_mean",
                                                                               "test_mean"))
assert by_val != by_test

# %% [markdown]
# What did AR/TAR and weight decay do to the model? Three numbers per final model: the mean
# square of the LSTM's outputs and of their step-to-step change on the validation text (read
# as one stream, in `eval()` mode), and the sum of the squares of all the weights.

# %%
def activity(model):
    """(mean h², mean (h_{t+1} - h_t)²) of the LSTM's outputs over the validation text."""
    with torch.no_grad():
        raw = model.eval().run(val_ids.unsqueeze(0)).raw
    return raw.pow(2).mean().item(), (raw[:, 1:] - raw[:, :-1]).pow(2).mean().item()


def squared_norm(model):
    return sum(p.detach().pow(2).sum().item() for p in model.parameters())


print(f"{'seed':<6}{'row':<14}{'mean h²':>9}{'mean Δh²':>10}{'Σ w²':>9}{'train loss':>12}")
for name in ("none", "AR/TAR", "weight decay"):
    for run in runs[name]:
        h2, dh2 = activity(run.model)
        print(f"{run.seed:<6}{name:<14}{h2:>9.3f}{dh2:>10.3f}{squared_norm(run.model):>9.0f}"
              f"{run.train_loss[-1]:>12.3f}")

# %% [markdown]
# AR and TAR did what they are built for: the outputs and their changes from step to step are
# more than three times smaller. They did not regularise: with them the model fitted the
# training text *more* closely (a lower training loss at the end, on every seed) and did
# worse on the test text on every seed (on the validation text on all seeds but one, the
# table above). Weight decay shrank the sum of the squared weights by more than 15 % on every
# seed, and helped on both texts.

# %%
# KP 17.9
for base_run, penalised_run, decayed in zip(runs["none"], runs["AR/TAR"], runs["weight decay"],
                                            strict=True):
    (h2, dh2), (h2_ar, dh2_ar) = activity(base_run.model), activity(penalised_run.model)
    assert h2_ar < h2 / 3 and dh2_ar < dh2 / 3                        # smaller, steadier
    assert penalised_run.train_loss[-1] < base_run.train_loss[-1]     # fits training closer
    assert penalised_run.final_test > base_run.final_test             # ... and new text worse
    assert squared_norm(decayed.model) < 0.85 * squared_norm(base_run.model)

# %% [markdown]
# ## 10. Explore the ablation
#
# Tick the techniques that are on and pick a seed: you see that run's training curve
# (measured under its dropout), its validation curve, the baseline's validation curve for the
# same seed, and a star at the weights the run reports (its test loss is printed under the
# plot). Nothing trains: every curve comes from
# section 9, so a tick only looks one up. Early stopping can be added to any run; a
# combination the ablation did not train (two techniques, but not all) says so. Try: weight
# dropout with and without early stopping; AR/TAR against the baseline's dashed curve; then
# tick everything.

# %%
explorer = ablation_explorer(runs, list(TECHNIQUES))
explorer

# %%
# KP 17.10
explorer.controls["weight dropout"].value = True
explorer.controls[EARLY_STOPPING].value = True
trained_update = explorer.last_update_seconds                   # a trained run, drawn
shown, run = explorer.result, runs["weight dropout"][0]
assert (shown["name"], shown["reported_step"], shown["reported_val"]) == \
    ("weight dropout", run.best_step, run.best_val) and shown["val"] == run.val_loss
explorer.controls["weight tying"].value = True
assert not explorer.result["available"] and explorer.last_update_seconds < 0.3
assert trained_update < 0.3
print(f"updates: a trained run {trained_update * 1000:.0f} ms, an untrained combination "
      f"{explorer.last_update_seconds * 1000:.0f} ms; {explorer.result['message']}")
for name in ("weight dropout", EARLY_STOPPING, "weight tying"):
    explorer.controls[name].value = False                # back to the baseline for you

# %% [markdown]
# ## Pitfalls
#
# **The old `WeightDrop` breaks after the first evaluation.** The 2017 recipe
# (salesforce/awd-lstm-lm's `weight_drop.py`, shortened here) deletes `weight_hh_l0` from the
# LSTM, keeps a raw copy as a new parameter, and before each forward assigns a dropped tensor
# under the old name. In `eval()` mode `F.dropout(raw, training=False)` returns `raw` itself,
# a `Parameter`, and assigning a `Parameter` to a module registers it: `weight_hh_l0` is a
# parameter again, and the next training step's plain tensor is refused:

# %%
class OldWeightDrop(nn.Module):
    """Delete the parameter, keep a raw copy, assign a dropped tensor before each forward."""

    def __init__(self, module, p):
        super().__init__()
        self.module, self.p = module, p
        raw = module.weight_hh_l0
        del module._parameters["weight_hh_l0"]
        module.register_parameter("weight_hh_l0_raw", nn.Parameter(raw.data))

    def forward(self, x):
        raw = self.module.weight_hh_l0_raw
        self.module.weight_hh_l0 = F.dropout(raw, self.p, training=self.training)
        return self.module(x)

# %%
old = OldWeightDrop(nn.LSTM(5, 6, batch_first=True), p=0.5)
old(x2)                                                         # training: works
registered_before = "weight_hh_l0" in old.module._parameters
old.eval()(x2)                                                  # eval: assigns the Parameter
raw = old.module.weight_hh_l0_raw
registered_after = "weight_hh_l0" in old.module._parameters
message = error_of(lambda: old.train()(x2))                     # training again
print(f"registered as a parameter: {registered_before} -> {registered_after}\n{message}")
assert (registered_before, registered_after) == (False, True)
assert F.dropout(raw, 0.5, training=False) is raw                # eval: the Parameter itself
assert message == ("TypeError: cannot assign 'torch.FloatTensor' as parameter 'weight_hh_l0' "
                   "(torch.nn.Parameter or None expected)")

# %% [markdown]
# The same message is awd-lstm-lm's issue #114, reported "after the model finishes one
# epoch", that is, after its first evaluation (that report ran on a GPU, so it names
# `torch.cuda.FloatTensor`). `functional_call` (section 5) deletes nothing and leaves the
# module as it found it, so there is nothing to break.
#
# **`torch.nn.utils.parametrize` works, but draws four masks per forward, and renames the
# weight.** A parametrization that returns a dropped `weight_hh_l0` is the other clean way.
# But `nn.LSTM`'s forward reads each weight four times (`hasattr` and `getattr` to check
# whether the weights changed, both again to collect them), and each read runs the
# parametrization: four masks drawn, the last one used. `parametrize.cached()` makes it one.
# And the weight moves in the `state_dict`:

# %%
masks_drawn = []


class DropWeight(nn.Module):
    def forward(self, weight):
        dropped = F.dropout(weight, 0.5, self.training)
        masks_drawn.append(dropped.detach())
        return dropped


set_seed(0)
p_lstm = nn.LSTM(5, 6, batch_first=True)
parametrize.register_parametrization(p_lstm, "weight_hh_l0", DropWeight())
masks_drawn.clear()                                      # registering ran it once: not counted
p_out, _ = p_lstm(x2)
reads = len(masks_drawn)
with parametrize.cached():
    p_lstm(x2)
print(f"masks drawn by one forward: {reads}; under parametrize.cached(): "
      f"{len(masks_drawn) - reads}; state_dict keys: {list(p_lstm.state_dict())}")

# %%
assert reads == 4 and len(masks_drawn) - reads == 1
torch.testing.assert_close(p_out, loop_with(p_lstm, x2, lambda t: masks_drawn[reads - 1]))
assert not torch.allclose(p_out, loop_with(p_lstm, x2, lambda t: masks_drawn[0]))

# %% [markdown]
# The renamed weight makes a plain checkpoint fail to load, and the failed `load_state_dict`
# has already copied the tensors whose names did match before it raised:

# %%
plain_checkpoint = nn.LSTM(5, 6, batch_first=True).state_dict()
before = p_lstm.weight_ih_l0.detach().clone()
load_message = error_of(lambda: p_lstm.load_state_dict(plain_checkpoint))
print(load_message)
assert load_message.startswith("RuntimeError: Error(s) in loading state_dict for ParametrizedLSTM")
assert 'Missing key(s) in state_dict: "parametrizations.weight_hh_l0.original"' in load_message
assert not torch.equal(before, plain_checkpoint["weight_ih_l0"])
assert torch.equal(p_lstm.weight_ih_l0.detach(), plain_checkpoint["weight_ih_l0"])  # copied

# %% [markdown]
# **`F.dropout` does not know about `model.eval()`.** Its `training` argument defaults to
# `True`; a model that calls `F.dropout(x, p)` in its `forward` keeps dropping after
# `model.eval()`, and its evaluation is random. Pass
# `training=self.training` (as `utils.regularisation` does), or use the `nn.Dropout` module,
# which follows the mode:

# %%
class Forgetful(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(5, 6, batch_first=True)

    def forward(self, x):
        return F.dropout(self.lstm(x)[0], 0.5)                 # training= forgotten


forgetful = Forgetful().eval()
first_call, second_call = forgetful(x2), forgetful(x2)
print(f"two calls in eval() mode differ by up to {(first_call - second_call).abs().max():.3f}")
assert not torch.equal(first_call, second_call) and (first_call == 0).any()

# %% [markdown]
# **`nn.LSTM(dropout=p)` with one layer does nothing, and says so** (section 2,
# and notebook 01's Pitfalls):

# %%
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    nn.LSTM(8, 6, dropout=0.5, batch_first=True)
print("UserWarning:", caught[0].message)
assert "non-zero dropout expects num_layers greater than 1" in str(caught[0].message)

# %% [markdown]
# ## Exercises
#
# Replace `None` with your answer and run the cell; the checker says whether it is right.
#
# **Exercise 1.** How many parameters does weight tying save in this notebook's model
# (65 characters, embedding and hidden size 64)? A whole number.

# %%
answer_1 = None
nb17.check_tying_saving(answer_1)

# %% [markdown]
# <details><summary>Solution</summary>
#
# `65 * 64 = 4160`: the head's weight matrix becomes the embedding's, while its 65 biases stay
# its own (`count(RegularisedCharLSTM(V, 64, 64)) - count(tied)` in section 8).
#
# </details>
#
# **Exercise 2.** With a new dropout mask at every step, p = 0.25, what is the probability
# that one unit's recurrent input is kept at all 64 steps of a batch?

# %%
answer_2 = None
nb17.check_kept_every_step(answer_2)

# %% [markdown]
# <details><summary>Solution</summary>
#
# `0.75 ** 64`, about 1.0e-8: each step keeps it with probability 0.75, independently. With a
# locked mask the answer is 0.75: one draw for the whole sequence.
#
# </details>
#
# **Exercise 3.** Write locked dropout yourself: a function `my_locked(x, p, training)` for
# `x` of shape `(batch, seq_len, features)`, one mask per sequence and feature shared by every
# step, kept values scaled by `1 / (1 - p)`, and `x` unchanged when `training` is False. (The
# checker tries p = 0.25 and p = 0.6, where dropping and keeping are told apart.)

# %%
def my_locked(x, p, training):
    return None   # your code here


nb17.check_locked_dropout(my_locked)

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# def my_locked(x, p, training):
#     if not training:
#         return x
#     mask = x.new_empty(x.shape[0], 1, x.shape[2]).bernoulli_(1 - p) / (1 - p)
#     return x * mask
# ```
#
# </details>
#
# **Exercise 4.** One sequence of 3 steps and 2 units: the dropped outputs are
# `nb17.AR_TAR_DROPPED` and the raw outputs `nb17.AR_TAR_RAW` (each a tuple of 3 steps). With
# α = 2 and β = 1, what are AR and TAR? Give a pair `(AR, TAR)`.

# %%
answer_4 = None
nb17.check_ar_tar(answer_4)

# %% [markdown]
# <details><summary>Solution</summary>
#
# `(5.0, 0.75)`: AR = 2 × mean(0, 4, 1, 1, 9, 0) = 2 × 2.5; the raw outputs change by
# (0.5, −1.5) and (0.5, 0.5), so TAR = 1 × mean(0.25, 2.25, 0.25, 0.25) = 0.75. With
# tensors: `ar_tar(torch.tensor([nb17.AR_TAR_DROPPED]), torch.tensor([nb17.AR_TAR_RAW]), 2.0,
# 1.0)`.
#
# </details>

# %% [markdown]
# ## Key takeaways
#
# - `nn.LSTM(dropout=p)` is plain dropout between layers, a new mask at every step; it does
#   nothing inside a layer's recurrence, on the last layer's output, or in a one-layer LSTM.
# - Locked dropout shares one mask over time; on the recurrent state it is a thinned
#   recurrent matrix. Stepped in Python, a training step cost more than twice the fused
#   kernel's, and here the per-step mask did not measurably hurt (one seed each).
# - Weight dropout thins `weight_hh` once per batch and lets the fused kernel use that one
#   matrix at every step; `torch.func.functional_call` does it without deleting or renaming a
#   parameter, and `eval()` uses the full, unscaled weights.
# - Embedding dropout removes whole characters; AR and TAR are loss terms on the outputs;
#   tying, decay and early stopping come from notebooks 10, 07 and 08.
# - Measured with five seeds, compared seed by seed on a validation and a test passage: all
#   together, at its last step, helps on every seed of both and has a lower mean than any
#   single technique; embedding dropout, tying, weight decay and weight dropout each helped on
#   both texts; early stopping, judged on the test text where its choice was not made, helped
#   alone and did nothing useful on top of all the rest; locked dropout at 0.1 was unclear on
#   validation and helped on every test seed; AR/TAR hurt on every test seed (unclear on
#   validation), although it made the activations several times smaller.
# - A verdict "every seed on one side" still convicts a do-nothing technique with probability
#   2 / 2ⁿ (1/16 with five seeds, 1/4 with three); over this ablation's 16 verdicts about one
#   false verdict is expected if nothing worked, so the thinnest intervals (weight tying's,
#   early stopping's and weight decay's on test) deserve the least trust. And a verdict is on
#   one passage: judge a choice on text it was not made on, and run the ablation on your own
#   task and budget.
#
# Before this one: [16 · Many processes](16_many_processes.ipynb); back to the start:
# [00 · The whole picture](00_the_whole_picture.ipynb). Next:
# [18 · Forecasting in depth](18_forecasting_in_depth.ipynb).

# %%
print(run_summary(notebook_started))

# %% [markdown] tags=["course-nav"]
# ---
#
# **Part V · Beyond** · notebook 18 of 20
#
# Previous: [16 · Many processes](16_many_processes.ipynb) · Next: [18 · Forecasting in depth](18_forecasting_in_depth.ipynb) · [The map of the course](00_the_whole_picture.ipynb#cell-id=cell-015) · [Find your question](../README.md#find-your-question)

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
# # 10 · A character language model
#
# Most people who reach for an LSTM want it for text. The simplest useful text model reads
# characters and, at every step, predicts the next one: a *character language model*. It needs
# everything the course has built so far (shapes, carried states, a loss, Adam, clipping) and
# adds what every text model needs: ids instead of numbers, embeddings, a loss over many
# classes, and a way to turn predictions back into text. We train one on 1.1 million characters
# of Shakespeare, compare it honestly with counting, and let it write.
#
# **You will learn**
#
# - **KP 10.1** text to ids and back with a character vocabulary, and why `nn.Embedding` is a
#   one-hot vector times a weight matrix, computed the cheap way;
# - **KP 10.2** the stream batch layout: one long text cut into parallel streams, so that row
#   `b` of each batch continues row `b` of the one before;
# - **KP 10.3** targets are the inputs shifted by one; `CrossEntropyLoss` on `(B*T, V)` logits
#   is the mean negative log-likelihood; and why the model must output logits, not a softmax;
# - **KP 10.4** honest baselines in nats per character and perplexity: uniform, unigram and
#   n-gram count models fitted on the training text only, their order chosen on a held-out
#   slice of it;
# - **KP 10.5** training with the state carried and detached between batches (truncated
#   back-propagation through time), clipping and a learning-rate schedule, to a validation loss
#   below every baseline;
# - **KP 10.6** `nn.LSTMCell`, given the trained `nn.LSTM`'s `_l0` weights and stepped one
#   character at a time, reproduces `nn.LSTM` over a whole sequence, so generation can step the
#   cell instead: this notebook's samples and its explorer do;
# - **KP 10.7** generation: greedy, temperature and top-k sampling, what temperature does to
#   the distribution's entropy, and what warming the state up on a prompt is worth;
# - **KP 10.8** weight tying: what sharing the embedding with the output layer saves, and what
#   it requires of the sizes (the LSTM's output size equal to the embedding's, with `proj_size`
#   if the hidden size is larger) and of the initial scale.
#
# **Run time:** about 90 s on a 2-core laptop-class CPU (most of it one training run of 2,250
# steps); the last cell prints the measured time and peak memory of the run whose outputs you see.

# %%
import time

notebook_started = time.perf_counter()

import math
import re
import warnings

import torch
from matplotlib.patches import Rectangle
from torch import nn
from torch.nn import functional as F
from torch.utils.flop_counter import FlopCounterMode
from tqdm.auto import tqdm

from utils.checks import error_of, nb10
from utils.language_model import (CharLSTM, NGramModel, StepwiseCharLSTM, detach_state,
                                  nats_per_char)
from utils.text import (CharVocab, load_shakespeare, sample, sampling_probs, split_text,
                        stream_batches)
from utils.training import env_report, pick_device, run_summary, set_seed
from utils.viz import GATE_COLORS, new_figure
from utils.widgets.generate import generation_explorer

torch.set_num_threads(1)   # one thread, as in notebook 09
set_seed(0)
device = pick_device("cpu")
print(env_report(device))

# %% [markdown]
# Everything runs on one CPU thread, as in notebook 09, which leaves the other core free for
# your browser.
#
# ## 1. Text to ids, and embeddings
#
# The corpus is tiny Shakespeare (`utils.text.load_shakespeare`, shipped in `utils/datasets/`
# with its provenance): 1,115,394 characters of the plays, checked on loading. A
# `CharVocab` gives each distinct character an id, in sorted order.

# %%
text = load_shakespeare()
vocab = CharVocab(text)
V = len(vocab)
print(f"{len(text):,} characters, {V} distinct: {''.join(vocab.chars)!r}")
print(text[:120])

# %%
# NBVAL_CHECK_OUTPUT
ids = vocab.encode("ROMEO:")
print("ids of 'ROMEO:'", ids.tolist(), "->", repr(vocab.decode(ids)), "| of 'A', 'B':",
      vocab.encode("AB").tolist())
print(error_of(lambda: vocab.encode("Romeo, my love — à demain")))

# %% [markdown]
# A character outside the vocabulary is refused with its position. (Corpora that need it can
# opt in to an `<unk>` token: `CharVocab(text, specials=("<pad>", "<unk>"))`; the next
# notebooks use such special tokens, and a character model pays nothing for them.)

# %%
# KP 10.1
piece = text[50_000:60_000]
assert vocab.decode(vocab.encode(piece)) == piece                  # a round trip, exactly
assert V == 65 and vocab.encode("AB").tolist() == [13, 14]
assert vocab.encode("A").item() == sum(c < "A" for c in set(text))   # an id is the sorted rank
unknown = "Romeo, my love — à demain"
assert f"'—' at position {unknown.index('—')}" in error_of(lambda: vocab.encode(unknown))

# %% [markdown]
# An id is a name, not a quantity: `'B'` (id 14) is not "more" than `'A'` (id 13). The classic
# answer is a *one-hot* vector, all zeros except a 1 at the id, fed to a linear layer. Its
# product with a weight matrix `W` of shape `(V, E)` picks out row `id` of `W`, so
# `nn.Embedding(V, E)` skips the multiplication and looks the row up:

# %%
embedding = nn.Embedding(V, 8)
x = vocab.encode("To be, or not to be").unsqueeze(0)               # (1, 19)
one_hot = F.one_hot(x, num_classes=V).float()                       # (1, 19, 65)
by_product = one_hot @ embedding.weight                             # (1, 19, 8)
print("one-hot", tuple(one_hot.shape), "@ W", tuple(embedding.weight.shape), "->",
      tuple(by_product.shape), "| lookup:", tuple(embedding(x).shape))

# %% [markdown]
# Both give the same numbers, and both give the same gradient: only the rows of the characters
# that occur receive one. The product spends `V x E` multiply-adds per character (65 x 8 = 520
# here) to produce `E` numbers, almost all of them multiplications by 0; the lookup copies the
# `E` numbers of one row and does no arithmetic. PyTorch's `FlopCounterMode` counts both (2
# floating-point operations per multiply-add):

# %%
# KP 10.1
torch.testing.assert_close(by_product, embedding(x))
embedding(x).sum().backward()
grad_lookup = embedding.weight.grad.clone()
embedding.weight.grad = None
(one_hot @ embedding.weight).sum().backward()
torch.testing.assert_close(grad_lookup, embedding.weight.grad)
used = torch.zeros(V, dtype=torch.bool)
used[x.unique()] = True
assert grad_lookup[~used].abs().max() == 0 and grad_lookup[used].abs().min() > 0
with FlopCounterMode(display=False) as product_flops, torch.no_grad():
    one_hot @ embedding.weight
with FlopCounterMode(display=False) as lookup_flops, torch.no_grad():
    embedding(x)
per_char = product_flops.get_total_flops() / 2 / x.numel()         # multiply-adds per character
assert per_char == V * 8 and lookup_flops.get_total_flops() == 0
print(f"{int(used.sum())} of {V} rows receive a gradient; one-hot product: {per_char:.0f} "
      f"multiply-adds per character, lookup: {lookup_flops.get_total_flops()}")

# %% [markdown]
# ## 2. The stream batch layout
#
# The split is fixed and in order: the first 90 % of the text for training, the last 10 % for
# validation (`split_text`). No text is shuffled across the cut, so the validation plays are
# text the model never read.

# %%
train_text, val_text = split_text(text)
train_ids, val_ids = vocab.encode(train_text), vocab.encode(val_text)
print(f"train {len(train_ids):,} ids, validation {len(val_ids):,} ids; the cut falls in: "
      f"{text[len(train_text) - 30:len(train_text) + 30]!r}")

# %% [markdown]
# An LSTM could read the 1,003,854 training characters as one sequence, but one step at a time
# in a single stream is slow, and a backward pass through a million steps is out of the
# question. The layout of pytorch/examples' `batchify` cuts the text into `B` contiguous
# *streams* (row `b` holds the `b`-th slice of the text) and serves them `T` columns at a
# time. Batch `k + 1` then continues batch `k` row by row, so the state the LSTM ends a batch
# with is exactly the right state to start the next one with. Drawn for the first 37
# characters, `B = 3` streams and `T = 4`:

# %%
tiny = stream_batches(vocab.encode(text[:37]), batch_size=3, seq_len=4)
BATCH_COLORS = (GATE_COLORS["i"], GATE_COLORS["g"], GATE_COLORS["o"])
fig, ax = new_figure(width=7.5, height=2.2)
for k in range(len(tiny)):
    for b in range(3):
        for t in range(4):
            char = vocab.decode([tiny[k][0][b, t].item()]).replace("\n", "⏎").replace(" ", "␣")
            ax.add_patch(Rectangle((4 * k + t, 2 - b), 0.95, 0.9, color=BATCH_COLORS[k],
                                   alpha=0.35))
            ax.text(4 * k + t + 0.47, 2 - b + 0.42, char, ha="center", va="center", fontsize=11)
ax.set_xlim(0, 12)
ax.set_ylim(0, 3)
ax.set_yticks([2.45, 1.45, 0.45], ["stream 0", "stream 1", "stream 2"])
ax.set_xticks([2, 6, 10], ["batch 0", "batch 1", "batch 2"])
ax.grid(False)
ax.set_title("stream_batches(first 37 characters, batch_size=3, seq_len=4): "
             "each row reads on across batches", fontsize=9);

# %% [markdown]
# The training batches of this notebook: 32 streams of 31,370 characters, served 50 at a time
# (the last 20 characters of each stream do not fill a batch and are left out). The proof
# checks the two promises against the text itself: row `b` of all the batches put end to end
# is the `b`-th slice of the training text, and the targets are that slice shifted by one
# character, across the boundary between two batches too.

# %%
BATCH, SEQ_LEN = 32, 50
train_batches = stream_batches(train_ids, BATCH, SEQ_LEN)
print(train_batches)
x0, y0 = train_batches[0]
print("x", tuple(x0.shape), "y", tuple(y0.shape), "| row 3 of batch 0 reads",
      repr(vocab.decode(x0[3][:30])))

# %%
# KP 10.2
stream_len = (len(train_ids) - 1) // BATCH                         # 31,370
for b in (0, 3, BATCH - 1):
    inputs = vocab.decode(torch.cat([x[b] for x, _ in train_batches]))
    targets = vocab.decode(torch.cat([y[b] for _, y in train_batches]))
    assert inputs == train_text[b * stream_len:b * stream_len + len(inputs)]  # reads on
    assert targets == train_text[b * stream_len + 1:b * stream_len + 1 + len(inputs)]  # next char
    assert targets[SEQ_LEN - 1] == inputs[SEQ_LEN]   # batch 0's last target: batch 1's first input
assert len(inputs) == len(train_batches) * SEQ_LEN == 31_350

# %% [markdown]
# ## 3. The loss: cross-entropy over 65 classes
#
# The model reads `x` and, at every position, outputs 65 *logits*, one score per possible
# next character; the target at position `t` is the character at `t + 1`, which is what `y`
# holds. The loss is the mean over all `B x T` positions of `-log p(target)`, with `p` the
# softmax of the logits. `nn.CrossEntropyLoss` (or `F.cross_entropy`) wants the classes in the
# second dimension: logits flattened to `(B*T, V)` and targets to `(B*T,)`, of dtype long.
# Here is the model we will train, before training:

# %%
set_seed(0)
model = CharLSTM(V, embedding_dim=64, hidden_size=256)
print(model)
print(f"{sum(p.numel() for p in model.parameters()):,} parameters")
logits, _ = model(x0)
print("logits", tuple(logits.shape), "-> flattened", tuple(logits.reshape(-1, V).shape),
      "| targets", tuple(y0.reshape(-1).shape), y0.dtype)

# %%
loss = F.cross_entropy(logits.reshape(-1, V), y0.reshape(-1))
log_p = logits.log_softmax(dim=-1)                                   # (B, T, V)
by_hand = -log_p.gather(-1, y0.unsqueeze(-1)).mean()                 # -log p(target), mean
print(f"cross_entropy {loss.item():.4f}, by hand {by_hand.item():.4f}, "
      f"ln 65 = {math.log(V):.4f}")

# %% [markdown]
# At initialisation the logits are small, the softmax is nearly uniform and the loss is close to
# ln 65 ≈ 4.17, the loss of guessing uniformly. The model returns raw logits with no softmax,
# because `cross_entropy` applies log-softmax itself. A softmax added in the model changes the
# loss: the loss then sees probabilities in [0, 1] as logits. Their softmax is almost flat, and
# even a perfect prediction, probability 1 on the target, scores `-1 + ln(e + V - 1)` ≈ 3.20
# nats. No amount of training can take such a model below that floor, which is worse than
# counting pairs of characters does (the bigram model of section 4). To test the claim, let an
# optimiser choose the 65 logits freely, as the best possible model would, and minimise the
# loss with the softmax inside (for target 0; every target is the same up to relabelling):

# %%
double_softmax = F.cross_entropy(logits.softmax(-1).reshape(-1, V), y0.reshape(-1))
floor = math.log(math.e + V - 1) - 1
free = torch.zeros(V, requires_grad=True)                  # 65 logits, free to be anything
search = torch.optim.Adam([free], lr=0.5)
for _ in range(1000):
    lowest = F.cross_entropy(free.softmax(-1), torch.tensor(0))    # softmax in the model
    search.zero_grad()
    lowest.backward()
    search.step()
print(f"with a softmax in the model: {double_softmax.item():.4f} now; the lowest that 1,000 "
      f"Adam steps on free logits reach: {lowest.item():.6f}; the floor {floor:.6f}")

# %%
# KP 10.3
torch.testing.assert_close(loss, by_hand)
assert abs(loss.item() - math.log(V)) < 0.05                         # nearly uniform at init
assert abs(double_softmax.item() - loss.item()) > 1e-4               # the loss changed
perfect = F.one_hot(y0.reshape(-1), V).float()                       # probability 1 on target
torch.testing.assert_close(F.cross_entropy(perfect, y0.reshape(-1)), torch.tensor(floor))
assert floor - 1e-5 <= lowest.item() <= floor + 1e-3   # minimised: the floor, and no lower
assert free.softmax(-1)[0] > 0.999                     # all its mass on the target

# %% [markdown]
# And it hurts training, measured: two small copies of the model (hidden size 64), one with a
# softmax on its output, the same 200 batches and Adam steps each. The copy with the softmax
# ends more than a nat worse than the plain one, which is far below the floor:

# %%
def train_small(with_softmax, steps=200):
    set_seed(1)
    small = CharLSTM(V, embedding_dim=16, hidden_size=64)
    optimizer = torch.optim.Adam(small.parameters(), lr=1e-2)
    state, losses = None, []
    for k in range(steps):
        x, y = train_batches[k]
        logits, state = small(x, detach_state(state))
        if with_softmax:
            logits = logits.softmax(dim=-1)
        loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return sum(losses[-50:]) / 50


plain_loss, softmax_loss = train_small(False), train_small(True)
print(f"mean loss of the last 50 of 200 steps: logits {plain_loss:.3f}, "
      f"softmax in the model {softmax_loss:.3f} (floor {floor:.3f})")

# %%
# KP 10.3
assert softmax_loss > plain_loss + 1                  # more than a nat worse, same steps
assert plain_loss < floor - 0.5                       # the same model without it: far below

# %% [markdown]
# ## 4. Honest baselines
#
# A loss means little alone. Four yardsticks, all scored on the same validation text and all
# fitted on the training text only:
#
# - **uniform**: every character equally likely, ln 65 ≈ 4.17 nats per character;
# - **unigram**: each character's frequency in the training text, ignoring context;
# - **n-gram counts**: the next character from the previous `n - 1`, counted in the training
#   text, with interpolated absolute discounting so that an unseen continuation keeps a little
#   probability (`utils.language_model.NGramModel`; order 2 is the bigram model).
#
# The unit is nats per character, the mean of `-ln p(next character)`; its exponential is the
# *perplexity*, the number of equally likely characters that would leave a model as unsure.
#
# The order `n` is a choice, and a choice made by scoring the validation text would fit the
# baseline to it. So it is made on a held-out slice of the training text: count on its first
# 90 %, score its last 10 % at every order, keep the best; then count again on the whole
# training text and score the validation text.

# %%
cut = len(train_ids) * 9 // 10                             # hold out the last 10 % of training
held_out = NGramModel(order=7, vocab_size=V).fit(train_ids[:cut])
count_held = held_out.nats_by_order(train_ids[cut:])       # {order n: nats/char}, n = 1 .. 7
count_seen = held_out.nats_by_order(train_ids[:100_000])   # on text it has counted
best_order = min(count_held, key=count_held.get)
del held_out                                               # its job is done: free its counts
counts = NGramModel(order=7, vocab_size=V).fit(train_ids)  # counted again, on all of it
count_val = counts.nats_by_order(val_ids)
for n in count_val:
    print(f"order {n}: held-out slice {count_held[n]:.3f}, validation {count_val[n]:.3f} "
          f"nats/char (perplexity {math.exp(count_val[n]):5.2f}); on counted text "
          f"{count_seen[n]:.3f}"
          + ("   <- the order chosen" if n == best_order else ""))

# %%
fig, ax = new_figure(width=6.4, height=3)
orders = list(count_val)
ax.plot(orders, list(count_seen.values()), "o-", color="0.6", label="counted text (seen)")
ax.plot(orders, list(count_held.values()), "o-", color=GATE_COLORS["g"],
        label="held-out slice of training (chooses n)")
ax.plot(orders, list(count_val.values()), "o-", color=GATE_COLORS["o"], label="validation text")
ax.axhline(math.log(V), color="black", ls="--", lw=1, label="uniform, ln 65")
ax.set_xlabel("order n of the count model")
ax.set_ylabel("nats per character")
ax.set_title("Count models: longer contexts help, until the counts run out")
ax.legend(fontsize=8);

# %% [markdown]
# The bigram model already beats the 3.20-nat floor of a model with a softmax inside (section
# 3). On the held-out slice longer contexts help until order 5, so order 5 it is (the
# validation text, not consulted, agrees). Beyond, the contexts grow rare. How often did the
# training text hold each context that the validation text asks about?

# %%
context_counts = {n: counts.ngram_counts(val_ids[:-1], n - 1) for n in (6, 7)}   # n - 1 chars
for n, seen in context_counts.items():
    print(f"order {n}: of the validation text's {n - 1}-character contexts, "
          f"{(seen == 0).double().mean():.1%} never occur in the training text and "
          f"{(seen < 5).double().mean():.1%} fewer than 5 times; median count "
          f"{seen.median().item()}")

# %% [markdown]
# Of the 5-character contexts (order 6), 10.1 % were never counted and 23.3 % fewer than 5
# times, the median 23 times; of the 6-character ones (order 7), 20.8 % were never counted and
# 43.0 % fewer than 5 times, the median 7 times. Where a context was never seen the model falls
# back to a shorter one, and where it was seen only a few times its counts are noisy;
# meanwhile, on text it has counted, it keeps improving (the grey curve): it memorises. The
# proofs below check that the counts come from the training text only, and that every context,
# seen or not, of any length, gets a distribution that sums to 1.

# %%
# KP 10.4
uniform_logits = torch.zeros(len(val_ids) - 1, V)
torch.testing.assert_close(F.cross_entropy(uniform_logits, val_ids[1:]), torch.tensor(math.log(V)))
assert "PROSPER" not in train_text and val_text.count("PROSPER") > 50   # validation's play only
assert counts.ngram_counts(vocab.encode("PROSPER"), 7).item() == 0      # so never counted
assert counts.ngram_counts(vocab.encode("GREMIO:"), 7).item() == train_text.count("GREMIO:") \
    < text.count("GREMIO:")                              # its validation occurrences left out
assert count_val[1] < math.log(V) and count_val[2] < count_val[1] - 0.5
assert count_val[2] < floor                       # section 3's softmax floor: above the bigram
assert best_order == 5 and count_held[7] > count_held[5]             # then the counts run out
assert min(count_val, key=count_val.get) == best_order               # validation agrees
assert count_seen[7] < count_seen[5] < count_seen[1]                 # while memorising
never = {n: (seen == 0).double().mean().item() for n, seen in context_counts.items()}
assert 0.1 < never[6] < 0.2 < never[7] and (context_counts[7] < 5).double().mean() > 0.4
assert context_counts[7].median() < context_counts[6].median() / 2

# %%
# KP 10.4
for context in ("", "e", "th", "the", " the", "ROMEO", "ROMEO:", "ROSPER"):   # lengths 0 to 6
    n = len(context) + 1                          # the order that reads exactly this context
    with_w = [torch.cat([torch.tensor([0]), vocab.encode(context), torch.tensor([w])])
              for w in range(V)]                  # a leading id: probs needs one target's past
    p = torch.stack([counts.probs(ids, order=n)[-1] for ids in with_w])   # P(w | context)
    assert abs(p.sum().item() - 1) < 1e-9 and p.min() > 0             # a real distribution
assert counts.ngram_counts(vocab.encode("ROSPER"), 6).item() == 0     # the last: never seen

# %% [markdown]
# ## 5. Training with the state carried
#
# Notebook 03 showed that carrying the state from one chunk to the next reproduces reading the
# whole sequence, and that `detach()` keeps the values but cuts the graph, so that backward
# stops at the chunk boundary: *truncated back-propagation through time*. With the stream
# layout that is exactly what we want: each batch starts from the state the previous batch
# ended with (its context), and each backward pass covers the last 50 steps only. A two-batch
# check on the untrained model:

# %%
(x1, y1), (x2, y2) = train_batches[0], train_batches[1]
whole, _ = model(torch.cat([x1, x2], dim=1))
first, state = model(x1)
carried, _ = model(x2, detach_state(state))
torch.testing.assert_close(carried, whole[:, SEQ_LEN:])          # the same predictions
loss_2 = F.cross_entropy(carried.reshape(-1, V), y2.reshape(-1))
grad_detached = torch.autograd.grad(loss_2, model.embedding.weight)[0]
loss_whole = F.cross_entropy(whole[:, SEQ_LEN:].reshape(-1, V), y2.reshape(-1))
grad_whole = torch.autograd.grad(loss_whole, model.embedding.weight)[0]
only_in_x1 = torch.isin(torch.arange(V), x1) & ~torch.isin(torch.arange(V), x2)
print(f"characters in batch 1 only: {vocab.decode(torch.arange(V)[only_in_x1])!r}")

# %%
# KP 10.5
assert only_in_x1.any()
assert grad_detached[only_in_x1].abs().max() == 0          # detached: no gradient reaches x1
assert grad_whole[only_in_x1].abs().max() > 0              # attached: it does
assert state[0].requires_grad and not detach_state(state)[0].requires_grad

# %% [markdown]
# The recipe, sized for the budget of a notebook on this machine: 32 streams, 50 steps per
# batch, Adam at 0.01 decayed along a cosine to 0.001 over 2,250 steps (about 3.6 passes over
# the training text), the gradient's norm clipped to 1. The recipe was chosen by a few short
# trials scored on this validation text, so its number is slightly optimistic: the model never
# trains on the validation text, but its recipe was picked by looking at it. At each new pass
# the streams start over from their beginnings, so the state is reset to zeros. Every 250
# steps we record the mean training loss since the last record and the loss on the first
# quarter of the validation text (a quick probe; the final score in the table below uses all
# of it).

# %%
STEPS, EVAL_EVERY = 2250, 250
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=STEPS, eta_min=1e-3)
val_probe = val_ids[:len(val_ids) // 4]
history = {"step": [0], "train": [loss.item()], "val": [nats_per_char(model, val_probe)]}


def record(step, losses):
    history["step"].append(step)
    history["train"].append(sum(losses) / len(losses))
    history["val"].append(nats_per_char(model, val_probe))    # eval() inside, train() after

# %%
state, losses, step = None, [], 0
started = time.perf_counter()
with tqdm(total=STEPS, desc="training", mininterval=1.0) as bar:   # redrawn once a second
    while step < STEPS:
        state = None                                         # a new pass: the streams restart
        for x, y in train_batches:
            logits, state = model(x, state)
            state = detach_state(state)                      # keep the values, cut the graph
            loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
            step += 1
            bar.update()
            if step % EVAL_EVERY == 0:
                record(step, losses)
                losses = []
                bar.set_postfix(train=f"{history['train'][-1]:.3f}", val=f"{history['val'][-1]:.3f}")
            if step == STEPS:
                break
train_seconds = time.perf_counter() - started
print(f"{STEPS} steps in {train_seconds:.0f} s ({STEPS / train_seconds:.1f} steps/s)")

# %%
fig, ax = new_figure(width=7, height=3.2)
ax.plot(history["step"], history["train"], "o-", ms=3, color="0.5", label="training (mean since last)")
ax.plot(history["step"], history["val"], "o-", ms=3, color=GATE_COLORS["i"],
        label="validation (first quarter)")
for n, name, color in ((1, "unigram", "#8C8C8C"), (2, "bigram", GATE_COLORS["g"]),
                       (best_order, f"{best_order}-gram", GATE_COLORS["o"])):
    ax.axhline(count_val[n], color=color, ls=":", lw=1.2, label=f"{name} counts")
ax.set_ylim(1.0, 4.5)
ax.set_xlabel("training step")
ax.set_ylabel("nats per character")
ax.set_title("The LSTM against the count models")
ax.legend(fontsize=8, ncol=2);

# %% [markdown]
# The final score is on the whole validation text: all 111,539 next characters, read as 64
# streams that each start from a zero state (`nats_per_char`), beside the baselines:

# %%
lstm_val = nats_per_char(model, val_ids)
table = {"uniform (ln 65)": math.log(V), "unigram counts": count_val[1],
         "bigram counts": count_val[2], f"{best_order}-gram counts (chosen order)": count_val[best_order],
         "LSTM, this run": lstm_val}
print(f"{'model':<28}{'nats/char':>10}{'perplexity':>12}")
for name, nats in table.items():
    print(f"{name:<28}{nats:>10.3f}{math.exp(nats):>12.2f}")

# %%
# KP 10.5
assert lstm_val <= 1.60                                   # the target of this notebook
assert lstm_val < count_val[best_order] - 0.1             # below the best count model
assert history["val"][-1] < history["val"][1] < history["val"][0]

# %% [markdown]
# ## 6. `nn.LSTMCell`, one character at a time
#
# Generation cannot hand the LSTM a whole sequence: each character is drawn from the
# prediction for it, then fed back in. `nn.LSTMCell` is one step of one layer. Given the
# trained layer's `_l0` weights (`weight_ih_l0 -> weight_ih`, `weight_hh_l0 -> weight_hh`, and
# the two biases), stepping it over a sequence must reproduce `nn.LSTM`'s outputs at every step
# and its final `h_n` and `c_n`:

# %%
cell = nn.LSTMCell(64, 256)
with torch.no_grad():
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(cell, name).copy_(getattr(model.lstm, f"{name}_l0"))
sequence = val_ids[:400].unsqueeze(0)                        # (1, 400)
with torch.no_grad():
    embedded = model.embedding(sequence)                     # (1, 400, 64)
    outputs, (h_n, c_n) = model.lstm(embedded)
    h, c = torch.zeros(1, 256), torch.zeros(1, 256)
    stepped = []
    for t in range(sequence.shape[1]):
        h, c = cell(embedded[:, t], (h, c))
        stepped.append(h)
    stepped = torch.stack(stepped, dim=1)                    # (1, 400, 256)
print("nn.LSTM", tuple(outputs.shape), "| stepped LSTMCell", tuple(stepped.shape),
      f"| largest difference {(stepped - outputs).abs().max():.1e}")

# %%
# KP 10.6
torch.testing.assert_close(stepped, outputs)
torch.testing.assert_close(h, h_n[0])
torch.testing.assert_close(c, c_n[0])
torch.testing.assert_close(model.head(stepped), model(sequence)[0])    # the same predictions
assert outputs.abs().max() > 0.5                                       # a trained, non-trivial state

# %% [markdown]
# The cell is also the faster way to take one step: called on a single character, the fused
# `nn.LSTM` pays a fixed overhead per call that dominates at batch 1. Timed over 400 steps each
# (`utils.language_model.StepwiseCharLSTM` packages the cell with the model's embedding and
# head; section 7 and the explorer of section 9 write with it):

# %%
with torch.no_grad():
    started, state = time.perf_counter(), None
    for t in range(400):
        _, state = model.lstm(embedded[:, t:t + 1], state)      # nn.LSTM, one step per call
    layer = (time.perf_counter() - started) / 400
    started, hc = time.perf_counter(), None
    for t in range(400):
        hc = cell(embedded[:, t], hc)                           # nn.LSTMCell, one step
    stepper = (time.perf_counter() - started) / 400
print(f"one step: nn.LSTM {layer * 1e6:.0f} µs, nn.LSTMCell {stepper * 1e6:.0f} µs "
      f"({layer / stepper:.1f} times faster)")
assert stepper < layer

# %% [markdown]
# ## 7. Generation
#
# `utils.text.sample` reads a prompt in one call (warming the state up), then draws one
# character at a time from `sampling_probs(logits, temperature, top_k)` and feeds it back,
# just like the loop above. We give it `writer`, the trained model stepped through the cell of
# section 6 (the proofs below check that it writes what `model` writes). The temperature
# divides the logits before the softmax: below 1 it sharpens the distribution, above 1 it
# flattens it; 0 means greedy, always the likeliest character. Top-k keeps only the k
# likeliest characters. The same prompt, each with a generator seeded 0:

# %%
PROMPT = "ROMEO:\n"
writer = StepwiseCharLSTM(model)      # section 6's cell with the model's embedding and head
settings = {"greedy (temperature 0)": dict(temperature=0), "temperature 0.5": dict(temperature=0.5),
            "temperature 1": dict(temperature=1.0), "temperature 1.5": dict(temperature=1.5),
            "temperature 1, top-k 5": dict(temperature=1.0, top_k=5)}
samples = {name: sample(writer, vocab, PROMPT, 240, generator=torch.Generator().manual_seed(0),
                        **kwargs) for name, kwargs in settings.items()}
known_words = set(re.findall(r"[a-z']+", train_text.lower()))


def real_share(passage):
    """The share of the passage's words that occur in the training text."""
    words = re.findall(r"[a-z']+", passage.lower())
    return sum(w in known_words for w in words) / len(words)


for name, generated in samples.items():
    print(f"--- {name}: {real_share(generated[len(PROMPT):]):.0%} of its words occur in the training text"
          f" ---\n{generated}\n")

# %% [markdown]
# At temperature 0.5 the text is tidy but plain; at 1 it is more varied; at 1.5 the rare
# characters get enough mass to break words apart, and fewer of its words are real (the share
# is printed above each sample). Top-k 5 at temperature 1 cuts the tail of rare characters
# off, and more of its words are real than at temperature 1 alone. How Shakespeare-like is it?
# Two measurable signs on a longer sample at temperature 0.8: speaker names in capitals
# followed by a colon, on a line of their own, and words that exist in the training text:

# %%
long_sample = sample(writer, vocab, PROMPT, 2000, temperature=0.8,
                     generator=torch.Generator().manual_seed(1))
speakers = re.findall(r"^([A-Z][A-Z ]+):$", long_sample, flags=re.MULTILINE)
long_share, val_share = real_share(long_sample[len(PROMPT):]), real_share(val_text)
print(f"speaker lines: {len(speakers)}, e.g. {sorted(set(speakers))[:6]}")
print(f"{long_share:.0%} of its words occur in the training text (of the validation text's "
      f"own words: {val_share:.0%})")

# %% [markdown]
# The sample's share is above the validation text's own: the model prefers common words. The
# share says that its words are real, not that its sentences make sense.

# %%
# KP 10.7
greedy = samples["greedy (temperature 0)"]
assert sample(model, vocab, PROMPT, 240, temperature=0) == greedy    # KP 10.6: nn.LSTM agrees
assert sample(writer, vocab, PROMPT, 240, temperature=1.0, top_k=1) == greedy   # top-1 = greedy
again = sample(writer, vocab, PROMPT, 240, temperature=1.0, generator=torch.Generator().manual_seed(0))
assert again == samples["temperature 1"]                                       # seeded: same text
assert len(speakers) >= 5 and long_share > 0.8 and long_share > val_share
share = {name: real_share(generated[len(PROMPT):]) for name, generated in samples.items()}
assert share["temperature 0.5"] > share["temperature 1.5"] + 0.1
assert share["temperature 1, top-k 5"] > share["temperature 1"]      # the tail cut: more words

# %% [markdown]
# What temperature does to the distribution, over the model's predictions for 2,000 validation
# characters: the mean entropy (in nats) of `sampling_probs` at each temperature. Greedy is 0;
# as the temperature grows the entropy climbs towards ln 65, the uniform distribution's; at
# temperature 10 it is within 0.15 nats of it. Top-k 5 caps it at ln 5.

# %%
with torch.no_grad():
    val_logits = model(val_ids[:2000].unsqueeze(0))[0][0]               # (2000, 65)


def mean_entropy(temperature, top_k=None):
    p = sampling_probs(val_logits, temperature, top_k)
    return -(p * p.clamp_min(1e-30).log()).sum(-1).mean().item()


temperatures = [0.0] + [round(0.1 * k, 1) for k in range(1, 31)] + [5.0, 10.0]
entropies = [mean_entropy(t) for t in temperatures]
fig, ax = new_figure(width=6.4, height=3)
ax.plot(temperatures[:31], entropies[:31], "o-", ms=3, color=GATE_COLORS["i"], label="all 65")
ax.plot(temperatures[:31], [mean_entropy(t, 5) for t in temperatures[:31]], "o-", ms=3,
        color=GATE_COLORS["o"], label="top-k 5")
ax.axhline(math.log(V), color="black", ls="--", lw=1, label="ln 65 (uniform)")
ax.axhline(math.log(5), color=GATE_COLORS["o"], ls=":", lw=1, label="ln 5")
ax.set_xlabel("temperature")
ax.set_ylabel("mean entropy (nats)")
ax.set_title("Temperature flattens the next-character distribution")
ax.legend(fontsize=8);
print(f"mean entropy: T=0.5 {mean_entropy(0.5):.3f}, T=1 {mean_entropy(1.0):.3f}, "
      f"T=10 {mean_entropy(10.0):.3f} nats (ln 65 = {math.log(V):.3f})")

# %%
# KP 10.7
assert entropies[0] == 0                                           # greedy: no uncertainty
assert all(a < b for a, b in zip(entropies, entropies[1:], strict=False))       # rises with temperature
assert math.log(V) - 0.15 < entropies[-1] < math.log(V)           # T = 10: near uniform
assert mean_entropy(3.0, top_k=5) < math.log(5) + 1e-6            # top-k caps it at ln k
torch.testing.assert_close(mean_entropy(1.0), -(val_logits.softmax(-1) * val_logits.log_softmax(-1)).sum(-1).mean().item())

# %% [markdown]
# **Warming up.** The prompt matters because it sets the state. Take 64 windows of the
# validation text and score characters 300 to 400 of each twice: *warm*, after the model has
# read the 300 characters before them, and *cold*, starting from a zero state at character 300.
# Over the first 10 characters the cold start is more than 0.3 nats worse; 50 characters in,
# the two agree within 0.05 nats: the state has caught up with the text.

# %%
starts = torch.arange(64) * 1700
windows = torch.stack([val_ids[s:s + 401] for s in starts.tolist()])   # (64, 401)
with torch.no_grad():
    warm_logits = model(windows[:, :400])[0][:, 300:]
    cold_logits = model(windows[:, 300:400])[0]
targets = windows[:, 301:401]
warm_loss = F.cross_entropy(warm_logits.transpose(1, 2), targets, reduction="none").mean(0)
cold_loss = F.cross_entropy(cold_logits.transpose(1, 2), targets, reduction="none").mean(0)
fig, ax = new_figure(width=6.4, height=3)
ax.plot(cold_loss.numpy(), color=GATE_COLORS["o"], label="cold: zero state at character 300")
ax.plot(warm_loss.numpy(), color=GATE_COLORS["i"], label="warm: after reading 300 characters")
ax.set_xlabel("position after character 300")
ax.set_ylabel("loss (nats), mean of 64 windows")
ax.legend(fontsize=8);
print(f"first 10 characters: cold {cold_loss[:10].mean():.2f}, warm {warm_loss[:10].mean():.2f}"
      f" nats; last 50: cold {cold_loss[50:].mean():.2f}, warm {warm_loss[50:].mean():.2f}")

# %%
# KP 10.7
assert cold_loss[:10].mean() > warm_loss[:10].mean() + 0.3   # cold starts worse ...
assert abs(cold_loss[50:].mean() - warm_loss[50:].mean()) < 0.05  # ... and catches up

# %% [markdown]
# ## 8. Weight tying
#
# The embedding matrix is `(V, E)`: one row per character. The head's weight is `(V, H_out)`,
# `H_out` being the size of the LSTM's output, which the head reads: also one row per
# character, the direction in the output space that votes for it. When `H_out = E` the two can
# be one matrix (Press & Wolf, 2017; Inan et al., 2017): `tie_weights=True` sets `head.weight
# = embedding.weight`, which saves `V x E` parameters. That is all it requires: `H_out = E`.
# A plain LSTM outputs its hidden state, so `H_out = H` and tying needs `E = H`:

# %%
untied = CharLSTM(V, embedding_dim=256, hidden_size=256)
tied = CharLSTM(V, embedding_dim=256, hidden_size=256, tie_weights=True)
count = lambda m: sum(p.numel() for p in m.parameters())     # a shared tensor counts once
print(f"untied {count(untied):,}, tied {count(tied):,}: saves {count(untied) - count(tied):,} "
      f"= {V} x 256 ({(count(untied) - count(tied)) / count(untied):.1%})")
print(error_of(lambda: CharLSTM(V, embedding_dim=64, hidden_size=256, tie_weights=True)))

# %% [markdown]
# But the hidden size may stay larger. An LSTM with `proj_size` (notebooks 01-02) projects its
# output, and its `h`, to `proj_size` features: `nn.LSTM(64, 256, proj_size=64)` keeps 256 cells
# and outputs 64 numbers per step, so `E = 64` ties with `H = 256`:

# %%
projected = CharLSTM(V, embedding_dim=64, hidden_size=256, proj_size=64, tie_weights=True)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")           # a note that oneDNN has no fused kernel for it
    output, (h_p, c_p) = projected.lstm(projected.embedding(x0))
print(projected.lstm, "-> output", tuple(output.shape), "| h", tuple(h_p.shape), "c",
      tuple(c_p.shape), "| head", tuple(projected.head.weight.shape), "= embedding",
      tuple(projected.embedding.weight.shape))

# %% [markdown]
# One matrix, two uses: its gradient is the sum of what the embedding lookup and the head send
# it. And its initial scale is the embedding's: `nn.Embedding` draws from N(0, 1), standard
# deviation 1, where `nn.Linear` draws the head from U(-1/16, 1/16) for 256 inputs, standard
# deviation 1/(16√3) ≈ 0.036. A tied head starts with weights about 28 times larger, and a
# first loss more than 2 nats above ln 65. Tying pays when the vocabulary is large (for
# 30,000 words and E = 650 it would save 30,000 x 650 = 19.5 million parameters); for 65
# characters it saves about 3 % (printed above), and the initial scale must be set by hand.

# %%
set_seed(0)
tied = CharLSTM(V, embedding_dim=256, hidden_size=256, tie_weights=True)
twin = CharLSTM(V, embedding_dim=256, hidden_size=256)
twin.load_state_dict({k: v for k, v in tied.state_dict().items()})   # same values, untied
loss_tied = F.cross_entropy(tied(x0)[0].reshape(-1, V), y0.reshape(-1))
loss_twin = F.cross_entropy(twin(x0)[0].reshape(-1, V), y0.reshape(-1))
loss_tied.backward()
loss_twin.backward()
set_seed(0)
loss_untied = F.cross_entropy(CharLSTM(V, 256, 256)(x0)[0].reshape(-1, V), y0.reshape(-1))
untied_head_std = CharLSTM(V, 256, 256).head.weight.std().item()
print(f"head weight std: tied {tied.head.weight.std():.3f}, untied {untied_head_std:.3f} "
      f"(1/(16√3) = {1 / (16 * 3 ** 0.5):.3f}); first loss: tied {loss_tied.item():.2f}, "
      f"untied {loss_untied.item():.2f}, ln 65 = {math.log(V):.2f}")

# %%
# KP 10.8
assert count(untied) - count(tied) == V * 256 and (count(untied) - count(tied)) / count(untied) < 0.035
assert abs(tied.head.weight.std().item() - 1) < 0.05 and abs(untied_head_std - 1 / (16 * 3 ** 0.5)) < 0.002
assert tied.head.weight is tied.embedding.weight and untied.head.weight is not untied.embedding.weight
assert "== embedding_dim (64)" in error_of(lambda: CharLSTM(V, 64, 256, tie_weights=True))
assert output.shape[-1] == projected.embedding.embedding_dim == 64 and c_p.shape[-1] == 256
assert projected.head.weight is projected.embedding.weight         # E = 64, H = 256: tied
assert count(CharLSTM(V, 64, 256, proj_size=64)) - count(projected) == V * 64
torch.testing.assert_close(loss_tied, loss_twin)
torch.testing.assert_close(tied.embedding.weight.grad,
                           twin.embedding.weight.grad + twin.head.weight.grad)
assert loss_tied.item() > math.log(V) + 2 and abs(loss_untied.item() - math.log(V)) < 0.1

# %% [markdown]
# Trained comparison: an untied and a tied model of this size, each trained for section 5's
# 2,250 steps, would take two more training runs on top of section 5's, about tripling the
# notebook's training time; that does not fit the notebook's two minutes, and it was **not run
# here**. Exercise 3 counts the saving.
#
# ## 9. Explore: write with the trained model
#
# Type a prompt (end it with a newline to start a new speech) and move the sliders: the
# temperature (0 is greedy) and top-k (65 keeps every character). Each update reads the prompt,
# shows the five likeliest next characters and writes 200 more, with a generator seeded 0, so
# that a change you see is the control's doing. Try: temperature 0 and watch it loop, then 0.8;
# a name from the plays such as `JULIET:`; top-k 1 at any temperature. (It steps the trained
# weights through an `nn.LSTMCell`, as in section 6.)

# %%
explorer = generation_explorer(model, vocab, prompt="JULIET:\n")
explorer

# %%
print(f"last update: {explorer.last_update_seconds * 1000:.0f} ms")
assert explorer.last_update_seconds < 0.3 and explorer.result["text"].startswith("JULIET:\n")

# %% [markdown]
# ## Pitfalls
#
# **`(B, T, V)` logits with `(B, T)` targets.** `cross_entropy` reads the classes from
# dimension 1, so it takes the 50 time steps for classes and the 65 logits for a length:

# %%
with torch.no_grad():
    logits, _ = model(x0)                                   # (32, 50, 65)
print(error_of(lambda: F.cross_entropy(logits, y0)))

# %% [markdown]
# Worse, when `T` happens to equal `V` nothing fails and the number is wrong. Flatten both, or
# move the classes to dimension 1:

# %%
square_logits = torch.randn(4, V, V, generator=torch.Generator().manual_seed(0))
square_y = torch.randint(0, V, (4, V), generator=torch.Generator().manual_seed(1))
silent = F.cross_entropy(square_logits, square_y)
right = F.cross_entropy(square_logits.reshape(-1, V), square_y.reshape(-1))
print(f"T = V = 65: 3-D call {silent.item():.4f} (no error), flattened {right.item():.4f}")
torch.testing.assert_close(F.cross_entropy(square_logits.transpose(1, 2), square_y), right)
assert abs(silent.item() - right.item()) > 1e-3

# %% [markdown]
# **A float target.** Class indices must be integers (`torch.long`):

# %%
print(error_of(lambda: F.cross_entropy(logits.reshape(-1, V), y0.reshape(-1).float())))

# %% [markdown]
# **Forgetting to detach the carried state.** The second batch's state still hangs on the first
# batch's graph, which the first `backward()` has already freed:

# %%
def two_steps_without_detach():
    state = None
    for x, y in (train_batches[0], train_batches[1]):
        logits, state = model(x, state)                     # state not detached
        F.cross_entropy(logits.reshape(-1, V), y.reshape(-1)).backward()


message = error_of(two_steps_without_detach)
model.zero_grad()
print(message[:150], "...")
assert message.startswith("RuntimeError: Trying to backward through the graph a second time")

# %% [markdown]
# `retain_graph=True` silences the error and is no fix: each backward pass then runs back
# through every earlier batch too, the opposite of truncation. Batch 2's loss alone now sends a
# gradient to the characters that only batch 1 holds:

# %%
model.zero_grad()
logits_1, state = model(x1)
F.cross_entropy(logits_1.reshape(-1, V), y1.reshape(-1)).backward(retain_graph=True)
model.zero_grad()
logits_2, _ = model(x2, state)                                # not detached
F.cross_entropy(logits_2.reshape(-1, V), y2.reshape(-1)).backward()
reached = model.embedding.weight.grad[only_in_x1].abs().max().item()
model.zero_grad()
print(f"largest gradient of batch 2's loss on characters only batch 1 holds: {reached:.1e}")
assert reached > 0

# %% [markdown]
# And the graph that backward pass walks keeps growing. Count the autograd nodes behind each
# loss over four batches: with the state carried undetached, every batch adds the same number
# of nodes (its whole forward pass) to the graph of the one before; detached, each loss has a
# graph one batch long:

# %%
def graph_nodes(loss):
    """The number of autograd nodes that loss.backward() would visit."""
    seen, todo = set(), [loss.grad_fn]
    while todo:
        node = todo.pop()
        if node is not None and node not in seen:
            seen.add(node)
            todo.extend(parent for parent, _ in node.next_functions)
    return len(seen)


sizes = {}
for kind, carry in (("not detached", lambda state: state), ("detached", detach_state)):
    state, sizes[kind] = None, []
    for x, y in (train_batches[k] for k in range(4)):
        logits, state = model(x, carry(state))
        sizes[kind].append(graph_nodes(F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))))
print("autograd nodes behind the loss of batches 1-4:", sizes)

# %%
grown = sizes["not detached"]
added = [b - a for a, b in zip(grown[:-1], grown[1:], strict=True)]    # nodes each batch adds
assert min(added) > 0 and len(set(added)) == 1                       # the same, every batch
assert sizes["detached"] == [grown[0]] * 4                              # truncated: one batch

# %% [markdown]
# **Sampling with `argmax` only.** Greedy decoding picks the likeliest character every time,
# with no chance in it: the text soon falls into a loop and never leaves it.

# %%
greedy_long = sample(writer, vocab, PROMPT, 600, temperature=0)
tail = greedy_long[-300:]
period = next((p for p in range(1, 151) if tail[p:] == tail[:-p]), None)
loop_start = None if period is None else next(            # the first character of the loop
    s for s in range(len(greedy_long)) if greedy_long[s + period:] == greedy_long[s:-period])
print(repr(greedy_long[-150:]))
print(f"the last 300 characters repeat with a period of {period} characters; the loop runs "
      f"from character {loop_start - len(PROMPT)} of the 600 written to the end")

# %%
assert period is not None and loop_start - len(PROMPT) < 100   # looping within 100 characters
sampled_tail = samples["temperature 1"][-120:]
assert not any(sampled_tail[p:] == sampled_tail[:-p] for p in range(1, 60))   # sampling: none

# %% [markdown]
# ## Exercises
#
# Replace `None` with your answer and run the cell; the checker says whether it is right.
#
# **Exercise 1.** A model scores 1.5 nats per character. What is its perplexity?

# %%
answer_1 = None
nb10.check_perplexity(answer_1, loss=1.5)

# %% [markdown]
# <details><summary>Solution</summary>
#
# Perplexity is the exponential of the loss in nats: `nb10.check_perplexity(math.exp(1.5))`,
# about 4.48: as unsure as a fair choice among four or five characters.
#
# </details>
#
# **Exercise 2.** What are the sampling probabilities of the logits `[2.0, 1.0, 0.0]` at
# temperature 0.5? Give three numbers (a list or a tensor), without `sampling_probs`.

# %%
answer_2 = None
nb10.check_temperature_probs(answer_2, logits=(2.0, 1.0, 0.0), temperature=0.5)

# %% [markdown]
# <details><summary>Solution</summary>
#
# Divide by the temperature, then softmax: `torch.softmax(torch.tensor([2.0, 1.0, 0.0]) / 0.5,
# dim=0)`, about `[0.867, 0.117, 0.016]`. At temperature 1 the first would get only 0.665.
#
# </details>
#
# **Exercise 3.** How many parameters does tying save for the notebook's 65 characters, with
# `E = H = 256` as in section 8?

# %%
answer_3 = None
nb10.check_tying_saving(answer_3, vocab_size=65, hidden_size=256)

# %% [markdown]
# <details><summary>Solution</summary>
#
# The head's weight matrix, `65 x 256 = 16640`; its bias stays:
# `nb10.check_tying_saving(16640)`.
#
# </details>
#
# **Exercise 4.** Compute the cross-entropy of these logits against these targets, scoring every
# position. (Here `T = V = 5`: the wrong call runs without complaint.)

# %%
generator = torch.Generator().manual_seed(0)
exercise_logits = torch.randn(2, 5, 5, generator=generator)        # (B, T, V)
exercise_targets = torch.randint(0, 5, (2, 5), generator=generator)   # (B, T)
answer_4 = None
nb10.check_flat_cross_entropy(answer_4, exercise_logits, exercise_targets)

# %% [markdown]
# <details><summary>Solution</summary>
#
# `F.cross_entropy(exercise_logits.reshape(-1, 5), exercise_targets.reshape(-1))`, or with the
# classes moved to dimension 1, `F.cross_entropy(exercise_logits.transpose(1, 2),
# exercise_targets)`.
#
# </details>

# %% [markdown]
# ## Key takeaways
#
# - Characters become ids through a vocabulary; `nn.Embedding` is one-hot times a matrix,
#   done as a row lookup, and only the rows of characters that occur get a gradient.
# - The stream layout cuts one text into `B` streams so that each batch continues the last one
#   row by row; carry the state across batches and detach it (truncated BPTT); reset it when the
#   streams start over.
# - The model outputs logits; `cross_entropy` wants `(B*T, V)` against `(B*T,)` long targets. A
#   softmax in the model puts a floor of 3.20 nats under the loss.
# - Score a language model in nats per character (perplexity is its exponential) against
#   uniform, unigram and n-gram counts fitted on the training text only, their order chosen on
#   a held-out slice of it: here order 5 is a hard baseline, and the LSTM beats it on text
#   neither was fitted on (its recipe was picked by short trials on that text, so its score
#   is slightly optimistic).
# - Generation steps an `nn.LSTMCell` equivalent one character at a time; temperature and top-k
#   trade variety for tidiness, greedy decoding loops, and a warm state matters for the first
#   characters.
# - Weight tying saves `V x E` parameters when the LSTM's output size equals `E` (`E = H`, or
#   `proj_size = E` with a larger `H`): little for characters, much for words; mind the
#   initial scale.
#
# **Next:** [11 · Classifying sequences](11_classifying_sequences.ipynb) classifies whole
# sequences (names by language, review sentiment), with padding and packing; back to the
# start: [00 · The whole picture](00_the_whole_picture.ipynb).

# %%
print(run_summary(notebook_started))

# %% [markdown] tags=["course-nav"]
# ---
#
# **Part III · Text** · notebook 11 of 20
#
# Previous: [09 · Why LSTM: long memory](09_why_lstm_long_memory.ipynb) · Next: [11 · Classifying sequences](11_classifying_sequences.ipynb) · [The map of the course](00_the_whole_picture.ipynb#cell-id=cell-015) · [Find your question](../README.md#find-your-question)

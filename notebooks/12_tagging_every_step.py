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
# # 12 · Tagging every step
#
# Notebook 11 asked one question per sequence. Many problems ask one question per *step*: is
# this character the end of a word, is this word a name, is this sample an anomaly. Chinese is
# written without spaces, so the first thing a Chinese text pipeline does is word
# segmentation (中文分词): decide after which characters a word ends. This notebook builds the
# same problem from Shakespeare, with the spaces taken out, and solves it with an LSTM that
# puts a linear head on every step's output. Two things decide how well that works: whether
# the LSTM can see the characters that come *after* the one it tags (a bidirectional LSTM
# can), and whether the tags are chosen one at a time or as a sequence (a linear-chain CRF on
# top, the classic BiLSTM-CRF). Both are measured; the CRF's algorithms are proven against
# brute-force enumeration of every tag sequence.
#
# **You will learn**
#
# - **KP 12.1** the task and its data: unspaced lines tagged with where each word ends, the
#   B/M/E/S tags of Chinese word segmentation on the same data, and a split by position;
# - **KP 12.2** many-to-many: one linear head on every step's output, on a packed batch;
# - **KP 12.3** that `cross_entropy(..., ignore_index=-100)` over a padded batch is the mean
#   over the real steps only;
# - **KP 12.4** why that mask matters: the number, and the gradient, you get without it;
# - **KP 12.5** a unidirectional against a bidirectional LSTM with the same parameter budget,
#   boundary F1 measured, in one table;
# - **KP 12.6** the reason, on one example: the decision needs the next characters;
# - **KP 12.7** the linear-chain CRF: the score of a tag path, the forward algorithm for the
#   partition function and the per-step marginals (its gradient) proven equal to enumerating
#   every tag sequence;
# - **KP 12.8** Viterbi decoding proven equal to the brute-force best path;
# - **KP 12.9** a BiLSTM-CRF trained end to end, and the transition matrix it learns;
# - **KP 12.10** the CRF's gain over a per-step softmax, measured, and how much of it the
#   B/M/E/S rules imposed at decoding time give without any training.
#
# **Run time:** about 45 s on a 2-core laptop-class CPU (it trains three small taggers); the
# last cell prints the measured time and peak memory of the run whose outputs you see.

# %%
import time

notebook_started = time.perf_counter()

import inspect
import itertools

import numpy as np
import torch
from torch import nn

from utils.checks import error_of, nb12
from utils.sequences import IGNORE_INDEX, run_packed
from utils.tagging import (BMES, LinearChainCRF, Tagger, all_tag_paths, bmes_from_ends,
                           bmes_tags, bmes_violations, boundary_f1, brute_force_best_path,
                           brute_force_log_partition, end_tags, ends_from_bmes, length_buckets,
                           make_batch, normalise_words, segment, segmentation_split)
from utils.text import CharVocab, load_shakespeare
from utils.training import env_report, pick_device, run_summary, set_seed
from utils.viz import GATE_COLORS, new_figure
from utils.widgets.segment import segmentation_explorer

torch.set_num_threads(1)   # one thread: a rerun trains exactly the same models (see 09)
set_seed(0)
device = pick_device("cpu")
print(env_report(device))

# %% [markdown]
# ## 1. The task: where does a word end?
#
# Each spoken line of the plays (speaker headings left out) becomes one example: lowercased,
# with everything but letters and apostrophes removed, so that neither capitals nor
# punctuation give a boundary away, and with the spaces taken out. The tag of a character is 1
# if a word ends there (`utils.tagging.segmentation_split`, `SegmentedLine`).

# %%
corpus = load_shakespeare()
train_lines, test_lines = segmentation_split(corpus)
line = train_lines[0]
raw = corpus[line.offset:corpus.index("\n", line.offset)]
print("in the corpus:", repr(raw))
print("its words:    ", line.words)
print("the input:    ", line.text)
print("end tags:     ", "".join(map(str, line.ends)))
print("B/M/E/S tags: ", "".join(BMES[t] for t in line.bmes))

# %% [markdown]
# The last line is the tagging used for Chinese word segmentation: **B** begins a word of two
# or more characters, **M** continues it, **E** ends it, **S** is a word of a single
# character. On a Chinese sentence, 我爱北京 ("I love Beijing": 我 / 爱 / 北京):

# %%
words_zh = ["我", "爱", "北京"]
print(" / ".join(words_zh), "->", "".join(BMES[t] for t in bmes_tags(words_zh)))

# %% [markdown]
# The two taggings hold the same information: a character's B/M/E/S tag depends only on
# whether the previous character ended a word and whether it ends one itself, and a word ends
# exactly where the tag is E or S. The models below predict the four B/M/E/S tags, and a
# predicted boundary is a predicted E or S. The four tags have rules (after B or M comes M or
# E; after E or S comes B or S), which matters in section 6.
#
# The split is by position: the first 90 % of the lines train, the last 10 % test, so every
# test line comes after every training line in the corpus, as new text would. (A line the plays
# repeat, such as a short exclamation, can still occur in both parts: the count is printed,
# under 5 % of the test lines.)

# %%
chars = {name: sum(len(l) for l in part) for name, part in (("train", train_lines),
                                                           ("test", test_lines))}
end_share = sum(sum(l.ends) for l in train_lines) / chars["train"]
mean_word = chars["train"] / sum(len(l.words) for l in train_lines)
same_text = len({l.text for l in test_lines} & {l.text for l in train_lines})
rows = corpus.split("\n")                                  # every line of the corpus, and where
row_starts = np.cumsum([0] + [len(r) + 1 for r in rows[:-1]])          # it starts
headings = [(int(o), r) for o, r, before in zip(row_starts, rows, [""] + rows[:-1], strict=True)
            if r.strip() and not before.strip()]              # the line after a blank one
print(f"{len(train_lines):,} training lines ({chars['train']:,} characters), "
      f"{len(test_lines):,} test lines ({chars['test']:,} characters)")
print(f"{end_share:.1%} of the characters end a word (mean word length {mean_word:.2f}); "
      f"{same_text} test lines repeat the text of a training line")
print(f"{len(headings):,} speaker headings left out, such as {headings[0][1]!r} and "
      f"{headings[1][1]!r}")

# %%
# KP 12.1
assert (len(train_lines), len(test_lines)) == (23_000, 2_555)
assert max(l.offset for l in train_lines) < min(l.offset for l in test_lines)   # by position
assert normalise_words(raw) == list(line.words)
for l in train_lines + test_lines:
    assert segment(l.text, l.ends) == list(l.words)               # the tags give the words back
    assert bmes_from_ends(l.ends) == l.bmes and ends_from_bmes(l.bmes) == l.ends
    assert bmes_violations(l.bmes) == 0                           # true tags follow the rules
assert same_text < 0.05 * len(test_lines)
assert all(text.endswith(":") for _, text in headings)           # each one a speaker's name
kept = {l.offset for l in train_lines + test_lines}
assert kept.isdisjoint(o for o, _ in headings)                   # and none of them is a line

# %% [markdown]
# The characters become ids in a vocabulary built from the training text, with `<pad>` (id 0)
# for padding and `<unk>` for a character it has never seen:

# %%
vocab = CharVocab("".join(l.text for l in train_lines), specials=("<pad>", "<unk>"))
print(vocab, "| <pad> id", vocab.token_id("<pad>"), "| characters:", "".join(vocab.chars))

# %% [markdown]
# ## 2. Many-to-many: a head on every step
#
# A classifier reads one summary of the sequence; a tagger reads the LSTM's output at every
# step. `nn.Linear` acts on the last dimension and treats the others as batch, so the same
# head applied to `out` of shape `(B, T, D·H)` gives a score for each of the K tags at each
# step: `(B, T, K)`. `utils.tagging.Tagger` is exactly that (embedding → LSTM → linear), on a
# batch packed with `enforce_sorted=False` so that the lines' lengths are respected. Six test
# lines of different lengths, through an untrained bidirectional tagger:

# %%
# NBVAL_CHECK_OUTPUT
ids, lengths, tags = make_batch(test_lines[:6], vocab)
torch.manual_seed(0)
demo = Tagger(len(vocab), num_tags=4, embedding_dim=32, hidden_size=41, bidirectional=True)
out, _ = run_packed(demo.lstm, demo.embedding(ids), lengths)
logits = demo.head(out)
print("ids   ", tuple(ids.shape), "  lengths", lengths.tolist())
print("out   ", tuple(out.shape), "  (batch, seq_len, 2 directions x 41)")
print("logits", tuple(logits.shape), "  (batch, seq_len, 4 tags)")
print("tags  ", tuple(tags.shape), "  padded with", IGNORE_INDEX)

# %% [markdown]
# The proof: `Tagger.forward` is this computation; the head acts on each step on its own; and
# each line's scores equal those of the line run alone, without any padding, in both
# directions. After each length the packed output is zero, so the "scores" there are just
# the head's bias: not predictions of anything, which the loss must skip.

# %%
# KP 12.2
torch.testing.assert_close(demo(ids, lengths), logits)
for t in range(ids.shape[1]):
    torch.testing.assert_close(logits[:, t], demo.head(out[:, t]))
for b, n in enumerate(lengths.tolist()):
    torch.testing.assert_close(logits[b, :n], demo(ids[b:b + 1, :n], [n])[0])   # alone
    assert (out[b, n:] == 0).all()
    torch.testing.assert_close(logits[b, n:], demo.head.bias.expand(ids.shape[1] - n, 4))

# %% [markdown]
# ## 3. A loss over the real steps only
#
# `cross_entropy` wants `(N, K)` scores and `(N,)` class indices, so flatten batch and time
# together. The padding steps carry the target `IGNORE_INDEX = -100` (`make_batch` puts it
# there), and `-100` is `cross_entropy`'s default `ignore_index`: those steps add nothing to
# the sum and are not counted in the mean.

# %%
masked_loss = nn.functional.cross_entropy(logits.flatten(0, 1), tags.flatten(),
                                          ignore_index=IGNORE_INDEX)
per_step = [nn.functional.cross_entropy(logits[b, t], tags[b, t])
            for b, n in enumerate(lengths.tolist()) for t in range(n)]
by_hand = torch.stack(per_step).mean()
default_loss = nn.functional.cross_entropy(logits.flatten(0, 1), tags.flatten())   # no argument
print(f"ignore_index: {masked_loss.item():.6f};  mean over the {len(per_step)} real steps "
      f"by hand: {by_hand.item():.6f};  without ignore_index: {default_loss.item():.6f}")

# %%
# KP 12.3
torch.testing.assert_close(masked_loss, by_hand)
assert len(per_step) == lengths.sum() < tags.numel()        # fewer real steps than entries
log_p = logits.log_softmax(-1)                              # the same mean, written out
real = tags != IGNORE_INDEX
torch.testing.assert_close(masked_loss, -log_p[real].gather(1, tags[real].unsqueeze(1)).mean())
assert inspect.signature(nn.functional.cross_entropy).parameters["ignore_index"].default == -100
torch.testing.assert_close(default_loss, by_hand)           # -100 is skipped by default too

# %% [markdown]
# ## 4. Why the mask matters
#
# Pad the tags with a real class instead (0, which is `pad_sequence`'s default and here means
# B) and nothing fails: the loss is a number, just a different one. It now averages over the
# padding steps too, and it trains the model to answer "B" on padding. After each length the
# scores are the head's bias alone (section 2), so every padding step pulls on that bias: its
# gradient there is softmax − one-hot(B), negative for B and positive for the other three
# tags, whatever the weights, so each descent step raises B's bias and lowers the others'.
# With the mask, the padding adds nothing to any gradient.

# %%
zero_padded = tags.masked_fill(~real, 0)
unmasked_loss = nn.functional.cross_entropy(logits.flatten(0, 1), zero_padded.flatten())
padding_share = 1 - real.float().mean().item()
print(f"{padding_share:.0%} of the batch's steps are padding; loss with the mask "
      f"{masked_loss.item():.4f}, with tag 0 on the padding {unmasked_loss.item():.4f}")
grad_masked, = torch.autograd.grad(masked_loss, logits, retain_graph=True)
grad_unmasked, = torch.autograd.grad(unmasked_loss, logits, retain_graph=True)
print(f"gradient on the padding steps' scores: with the mask {grad_masked[~real].abs().max():.1e}, "
      f"without {grad_unmasked[~real].abs().max():.1e}")

# %% [markdown]
# The head's bias gradient with and without the mask, and the part of it that the padding
# steps contribute:

# %%
bias_grad = {}
for name, loss_ in (("with the mask", masked_loss), ("tag 0 on the padding", unmasked_loss)):
    demo.zero_grad()
    loss_.backward(retain_graph=True)
    bias_grad[name] = demo.head.bias.grad.clone()
demo.zero_grad()
padding_pull = grad_unmasked[~real].sum(0)          # what the padding steps add to the bias
print("head.bias.grad", {name: [round(v, 4) for v in g.tolist()] for name, g in bias_grad.items()})
print(f"of which the padding steps ({'/'.join(BMES)}):",
      [round(v, 4) for v in padding_pull.tolist()])

# %%
# KP 12.4
assert padding_share > 0.2
assert abs(unmasked_loss - masked_loss) > 0.01
total = nn.functional.cross_entropy(logits.flatten(0, 1), zero_padded.flatten(), reduction="sum")
torch.testing.assert_close(unmasked_loss, total / tags.numel())   # divided by all B x T steps
assert (grad_masked[~real] == 0).all() and (grad_unmasked[~real] != 0).any()
unpadded = [tags[b, :n] for b, n in enumerate(lengths.tolist())]
padded_by_default = nn.utils.rnn.pad_sequence(unpadded, batch_first=True)
assert torch.equal(padded_by_default, zero_padded)                 # 0 is pad_sequence's default
torch.testing.assert_close(bias_grad["with the mask"], grad_masked[real].sum(0))   # real steps only
torch.testing.assert_close(bias_grad["tag 0 on the padding"],
                           grad_unmasked[real].sum(0) + padding_pull)   # and the padding's pull
assert padding_pull[0] < 0 and (padding_pull[1:] > 0).all()       # raises B, lowers M, E, S
assert (grad_unmasked[~real][:, 0] < 0).all()                     # at every padding step

# %% [markdown]
# ## 5. One direction or two, at the same budget
#
# To compare the two fairly, they get about the same number of parameters: a unidirectional
# LSTM with 64 units (26,276 parameters) against a bidirectional one with 41 units per
# direction (25,860: the closest size, slightly smaller; 42 units would give 26,804), the same
# embedding and the same data, optimizer and steps.

# %%
def make_tagger(bidirectional, hidden_size, crf=False, seed=0):
    torch.manual_seed(seed)
    return Tagger(len(vocab), num_tags=4, embedding_dim=32, hidden_size=hidden_size,
                  bidirectional=bidirectional, crf=crf)


parameters = {name: sum(p.numel() for p in make_tagger(bi, size).parameters())
              for name, bi, size in (("unidirectional", False, 64), ("bidirectional", True, 41))}
bi_sizes = {h: sum(p.numel() for p in make_tagger(True, h).parameters()) for h in (40, 41, 42, 43)}
print("parameters:", {name: f"{n:,}" for name, n in parameters.items()})
print("bidirectional, by units per direction:", {h: f"{n:,}" for h, n in bi_sizes.items()})

# %% [markdown]
# **The training loop.** 1,000 steps of Adam (learning rate 0.005) on batches of at most 64
# training lines, the same batches for every model. Each batch holds lines *of one length*
# (`length_buckets`): such a batch has no padding, and `Tagger` then runs the LSTM unpacked,
# which gives the same numbers as packing: KP 12.2 proved it, since each line run alone there,
# `demo(ids[b:b + 1, :n], [n])`, has no padding, takes the unpacked path, and equals its rows
# of the packed batch. It is also more than twice as fast on a CPU, where packed sequences of
# mixed lengths take a slow path. Two batches to measure it, 64 random lines (padded, so
# packed) and 64 lines of one length:

# %%
g = torch.Generator().manual_seed(1)
mixed = make_batch([train_lines[i] for i in torch.randperm(len(train_lines), generator=g)[:64]],
                   vocab)
bucket = next(b for b in length_buckets(train_lines, 64) if len(b) == 64)
one_length = make_batch([train_lines[i] for i in bucket], vocab)
print(f"padded shapes {tuple(mixed[0].shape)} and {tuple(one_length[0].shape)}")

# %% [markdown]
# One training step's forward and backward pass, per character, on each (the best of five
# runs):

# %%
def microseconds_per_character(batch):
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        demo.loss(*batch).backward()
        runs.append(time.perf_counter() - started)
    return 1e6 * min(runs) / batch[1].sum().item()


cost = {name: microseconds_per_character(batch)
        for name, batch in (("mixed lengths, packed", mixed), ("one length", one_length))}
demo.zero_grad()
print({name: f"{value:.1f} µs per character" for name, value in cost.items()})
assert cost["mixed lengths, packed"] > 2 * cost["one length"]        # more than twice as slow

# %% [markdown]
# The loop itself is the one of notebook 07, with the tagger's masked loss:

# %%
STEPS, LR, BATCH = 1000, 5e-3, 64


def train(model, steps=STEPS, seed=0):
    """Adam on batches of one length each, in an order fixed by ``seed``; the losses."""
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    generator, batches, losses = torch.Generator().manual_seed(seed), [], []
    for _ in range(steps):
        if not batches:                      # a new epoch: reshuffle the batches
            batches = length_buckets(train_lines, BATCH, generator)
        ids_, lengths_, tags_ = make_batch([train_lines[i] for i in batches.pop()], vocab)
        loss = model.loss(ids_, lengths_, tags_)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    return losses

# %%
started = time.perf_counter()
uni = make_tagger(False, 64)
uni_losses = train(uni)
bi = make_tagger(True, 41)
bi_losses = train(bi)
print(f"two taggers trained for {STEPS} steps each in {time.perf_counter() - started:.0f} s; "
      f"last training loss: unidirectional {np.mean(uni_losses[-50:]):.3f}, "
      f"bidirectional {np.mean(bi_losses[-50:]):.3f} (mean of the last 50 steps)")

# %% [markdown]
# **Boundary F1.** On the test lines, a predicted boundary is a character tagged E or S.
# Precision is the share of predicted boundaries that are real, recall the share of real ones
# found, F1 their harmonic mean. The last character of a line always ends a word, and the
# data say where a line ends, so it is left out: only boundaries *inside* lines count
# (`utils.tagging.boundary_f1`).

# %%
test_batches = [make_batch([test_lines[i] for i in batch], vocab)
                for batch in length_buckets(test_lines, 512)]


def evaluate(predict):
    """Per-line predicted and true end tags on the test lines, and the broken B/M/E/S rules,
    of ``predict(ids, lengths)`` (such as ``model.predict``): B/M/E/S tags ``(B, T)``."""
    predicted, gold, broken = [], [], 0
    for ids_, lengths_, tags_ in test_batches:
        for row, true, n in zip(predict(ids_, lengths_), tags_, lengths_.tolist(),
                                strict=True):
            predicted.append(ends_from_bmes(row[:n].tolist()))
            gold.append(ends_from_bmes(true[:n].tolist()))
            broken += bmes_violations(row[:n].tolist())
    return predicted, gold, broken


results = {"unidirectional LSTM": (uni, evaluate(uni.predict)),
           "bidirectional LSTM": (bi, evaluate(bi.predict))}


def table(rows):
    width = max(map(len, rows)) + 2
    print(f"{'model':<{width}}{'parameters':>11}{'precision':>11}{'recall':>8}{'F1':>8}"
          f"{'broken rules':>14}")
    for name, (model, (predicted, gold, broken)) in rows.items():
        score = boundary_f1(predicted, gold)
        print(f"{name:<{width}}{sum(p.numel() for p in model.parameters()):>11,}"
              f"{score.precision:>11.4f}{score.recall:>8.4f}{score.f1:>8.4f}{broken:>14,}")


table(results)

# %%
fig, ax = new_figure(width=7, height=3)
smooth = np.ones(50) / 50
for name, losses, color in (("unidirectional", uni_losses, GATE_COLORS["i"]),
                            ("bidirectional", bi_losses, GATE_COLORS["o"])):
    ax.plot(np.convolve(losses, smooth, mode="valid"), color=color, label=name)
ax.set(xlabel="training step", ylabel="loss per real step (mean of 50)",
       title="Training loss of the two taggers")
ax.legend(fontsize=8);

# %% [markdown]
# The bidirectional tagger, with slightly fewer parameters, is better on both counts: its
# precision and its recall are each more than 0.1 higher (the table above; "broken rules" is
# the number of places where the predicted B/M/E/S tags break a rule, section 10). The proof
# checks the budget and the gaps:

# %%
# KP 12.5
f1 = {name: boundary_f1(*res[1][:2]).f1 for name, res in results.items()}
uni_f1, bi_f1 = f1["unidirectional LSTM"], f1["bidirectional LSTM"]
budget = parameters["bidirectional"] / parameters["unidirectional"]
print(f"bidirectional: {budget:.1%} of the unidirectional parameters; F1 {bi_f1:.4f} "
      f"against {uni_f1:.4f} ({bi_f1 - uni_f1:+.4f})")
assert 0.98 < budget <= 1.0                 # the same budget, within 2 %, not more
closest = min(bi_sizes, key=lambda h: abs(bi_sizes[h] - parameters["unidirectional"]))
assert closest == 41 and bi_sizes[41] == parameters["bidirectional"]      # the closest size
assert bi_f1 - uni_f1 > 0.1                 # more than 0.1 higher
uni_score, bi_score = (boundary_f1(*res[1][:2]) for res in results.values())
assert bi_score.precision - uni_score.precision > 0.1 and bi_score.recall - uni_score.recall > 0.1
for res in results.values():                # every test line scored, by both
    assert len(res[1][0]) == len(test_lines)

# %% [markdown]
# ## 6. Why: the decision needs the next characters
#
# Whether a word ends after "inthe" depends on what follows: "in the morning" or "in
# themselves". A unidirectional LSTM tags the "e" after reading only "inthe", so its answer
# for that character is the same whatever comes next (the two texts share "inthem", and so do
# its first six answers), and it must be wrong for one of the two; the bidirectional one has
# read the rest of the line backwards. This is one example, chosen to show the point, not a
# measurement: section 5's table is that.

# %%
pair = {"in the morning": "inthemorning", "in themselves": "inthemselves"}
at = 4                                       # the "e" of "the"
end_probability = {}
for name, model in (("unidirectional", uni), ("bidirectional", bi)):
    for meaning, text in pair.items():
        probs = model.tag_probabilities(vocab.encode(text).unsqueeze(0), [len(text)])[0]
        end_probability[name, meaning] = probs[:, [2, 3]].sum(1)           # P(E) + P(S)
        print(f"{name:>14}  {text}: P(a word ends at '{text[at]}' of 'the') = "
              f"{end_probability[name, meaning][at]:.3f}")
truth = {meaning: end_tags(normalise_words(meaning))[at] for meaning in pair}
print("does a word end there?", truth)

# %%
# KP 12.6
assert truth == {"in the morning": 1, "in themselves": 0}
shared = 6                                                         # "inthem" in both
u_morning, u_selves = (end_probability["unidirectional", m] for m in pair)
torch.testing.assert_close(u_morning[:shared], u_selves[:shared])  # it cannot tell them apart
assert not torch.allclose(u_morning[shared:], u_selves[shared:])   # once they differ, it can
b_morning, b_selves = (end_probability["bidirectional", m] for m in pair)
assert b_morning[at] > 0.5 > b_selves[at]                          # both right
assert b_morning[at] - b_selves[at] > 0.5

# %% [markdown]
# ## 7. A linear-chain CRF
#
# The per-step softmax picks each tag on its own, so nothing stops it from predicting B
# followed by B, a word that begins twice. A **linear-chain conditional random field** scores
# whole tag sequences. With per-step scores e (the *emissions*, here the tagger's head), a
# path y of length L scores
#
# $$\text{score}(y) = \text{start}_{y_0} + \sum_{t=0}^{L-1} e_{t, y_t} + \sum_{t=1}^{L-1}
#   \text{trans}_{y_{t-1}, y_t} + \text{end}_{y_{L-1}},$$
#
# and its probability is $\exp(\text{score}(y)) / Z$, where the partition function Z sums
# $\exp(\text{score})$ over every one of the $K^L$ paths. Training minimises $\log Z -
# \text{score}(y_\text{true})$. With four tags a line of 31 characters has $4^{31}$ paths; the
# **forward algorithm** gets $\log Z$ in 31 steps instead. Let $\alpha_t(j)$ be the log of the
# summed $\exp(\text{score})$ of every path prefix that ends in tag j at step t:
#
# $$\alpha_0(j) = \text{start}_j + e_{0,j}, \qquad \alpha_t(j) = \log\sum_i \exp\big(\alpha_{t-1}(i)
#   + \text{trans}_{i,j}\big) + e_{t,j}, \qquad \log Z = \log\sum_j \exp\big(\alpha_{L-1}(j) +
#   \text{end}_j\big).$$
#
# `utils.tagging.LinearChainCRF` implements these lines (`score`, `log_partition`); in a
# batch, each sequence's α stops moving after its length. First the score of one path, by hand:

# %%
crf = LinearChainCRF(4).double()
g = torch.Generator().manual_seed(1)
with torch.no_grad():                        # random tables: a CRF that could be anything
    for table_ in (crf.start, crf.end, crf.transitions):
        table_.copy_(torch.randn(table_.shape, generator=g, dtype=torch.float64))
emissions = torch.randn(3, 6, 4, generator=g, dtype=torch.float64)
short_lengths = torch.tensor([6, 3, 1])
path = torch.tensor([[0, 1, 2, 3, 0, 2], [3, 0, 2, -100, -100, -100], [3, -100, -100, -100,
                                                                        -100, -100]])
y = path[0].tolist()
by_hand = (crf.start[y[0]] + sum(emissions[0, t, y[t]] for t in range(6))
           + sum(crf.transitions[y[t - 1], y[t]] for t in range(1, 6)) + crf.end[y[-1]])
print(f"score of path {y}: by hand {by_hand.item():.6f}, "
      f"crf.score {crf.score(emissions, path, short_lengths)[0].item():.6f}")

# %% [markdown]
# Now the partition function. The brute force scores every one of the $4^6 = 4{,}096$ paths of
# the first sequence (and the $4^3$ and $4^1$ of the shorter ones) and takes their
# `logsumexp`; the forward algorithm must give the same numbers:

# %%
forward = crf.log_partition(emissions, short_lengths)
brute = brute_force_log_partition(crf, emissions, short_lengths)
print("forward algorithm:", [round(v, 6) for v in forward.tolist()])
print("every path:       ", [round(v, 6) for v in brute.tolist()])
print(f"paths of a 31-character line: 4^31 = {4 ** 31:.2e}; forward-algorithm terms: "
      f"(31 - 1) x 4 x 4 + 2 x 4 = {(31 - 1) * 4 ** 2 + 2 * 4}")

# %% [markdown]
# (Those terms: $\alpha_0$ adds K starts, each of the L − 1 steps sums K² terms, and the end
# adds K: $(L-1)K^2 + 2K$, about $L \cdot K^2$.)
#
# The same enumeration gives the **marginals**: $P(y_t = k)$, the summed probability of every
# path that has tag k at step t. They are the gradient of $\log Z$ with respect to the
# emissions (differentiating the `logsumexp` hands each path's probability to every emission
# it passes through), which is how `crf.marginals` computes them, by autograd through the
# forward algorithm; section 11 shows them. For the first sequence, against the sums over
# its 4,096 paths:

# %%
paths_6 = all_tag_paths(4, 6)                                        # every path of sequence 0
scores_6 = crf.score(emissions[:1].expand(4 ** 6, 6, 4), paths_6, [6] * 4 ** 6)
path_probability = torch.exp(scores_6 - brute[0])
by_paths = torch.stack([torch.stack([path_probability[paths_6[:, t] == k].sum() for k in range(4)])
                        for t in range(6)])                          # (6 steps, 4 tags)
marginals = crf.marginals(emissions, short_lengths)
print("crf.marginals, sequence 0 (a row per step, a column per tag):\n",
      marginals[0].detach().numpy().round(4))
print("summed over the paths:\n", by_paths.detach().numpy().round(4))

# %%
# KP 12.7
torch.testing.assert_close(crf.score(emissions, path, short_lengths)[0], by_hand)
torch.testing.assert_close(forward, brute)                         # float64, tight tolerance
assert paths_6.shape == (4 ** 6, 6) and len(set(map(tuple, paths_6.tolist()))) == 4 ** 6
torch.testing.assert_close(torch.exp(scores_6 - forward[0]).sum(),
                           torch.tensor(1.0, dtype=torch.float64))   # probabilities sum to 1
cut = crf.log_partition(emissions[1:2, :3], [3])                     # sequence 1 alone
torch.testing.assert_close(forward[1:2], cut)                        # padding ignored
assert not torch.allclose(crf.log_partition(emissions, [6, 6, 6])[1], forward[1])
torch.testing.assert_close(marginals[0], by_paths)                   # the brute-force marginals
leaf = emissions.clone().requires_grad_(True)                        # the gradient of the
grad_of_brute, = torch.autograd.grad(brute_force_log_partition(crf, leaf, short_lengths).sum(),
                                     leaf)                           # enumeration's log Z
torch.testing.assert_close(marginals, grad_of_brute)                 # all three sequences
real_steps = (torch.arange(6) < short_lengths.unsqueeze(1)).double()
torch.testing.assert_close(marginals.sum(2), real_steps)             # 1 per step, 0 on padding

# %% [markdown]
# ## 8. Viterbi: the best path without enumerating
#
# Replace the log-sum-exp in the forward algorithm by a max, remember which previous tag gave
# each max, and follow those pointers back from the best last tag: that is the Viterbi
# algorithm (`LinearChainCRF.decode`), the highest-scoring path in the same $L \cdot K^2$ work.
# Against the brute force over the same 4,096 + 64 + 4 paths:

# %%
viterbi_paths, viterbi_scores = crf.decode(emissions, short_lengths)
brute_paths, brute_scores = brute_force_best_path(crf, emissions, short_lengths)
for b, n in enumerate(short_lengths.tolist()):
    print(f"sequence {b} (length {n}): Viterbi {viterbi_paths[b, :n].tolist()} "
          f"score {viterbi_scores[b]:.4f} | every path: {brute_paths[b, :n].tolist()} "
          f"score {brute_scores[b]:.4f}")

# %%
# KP 12.8
assert torch.equal(viterbi_paths, brute_paths)
torch.testing.assert_close(viterbi_scores, brute_scores)
torch.testing.assert_close(crf.score(emissions, viterbi_paths, short_lengths), viterbi_scores)
assert (scores_6 > viterbi_scores[0] + 1e-9).sum() == 0              # no path scores more
assert (scores_6 > viterbi_scores[0] - 1e-9).sum() == 1              # and only one as much

# %% [markdown]
# ## 9. BiLSTM-CRF, trained end to end
#
# The BiLSTM's head now produces the emissions, and the loss is the CRF's negative
# log-likelihood (divided by the number of real steps, the scale of the per-step loss).
# Gradients flow through the CRF into the head, the LSTM and the embedding. The CRF's tables
# start at zero, and at zero a CRF *is* a per-step softmax: $\log Z$ becomes a sum of
# per-step `logsumexp`s and the loss equals the cross-entropy. The BiLSTM-CRF starts from the
# same weights as the bidirectional tagger and sees the same batches, so the comparison is
# paired: only the CRF differs. Checked on the six test lines:

# %%
crf_model = make_tagger(True, 41, crf=True)
same_start = zip(make_tagger(True, 41).parameters(), crf_model.parameters(), strict=False)
assert all(torch.equal(p, q) for p, q in same_start)   # as bi (the CRF's 3 tables come last)
with torch.no_grad():
    emissions_0 = crf_model(ids, lengths)
    ce_0 = nn.functional.cross_entropy(emissions_0.flatten(0, 1), tags.flatten())
    nll_0 = crf_model.crf.nll(emissions_0, tags, lengths, reduction="sum")
print(f"at initialisation: CRF loss {nll_0.item():.4f} summed over the {lengths.sum()} real "
      f"steps, {nll_0.item() / lengths.sum():.6f} per step; per-step cross-entropy of the same "
      f"scores {ce_0.item():.6f}")
crf_model.loss(ids, lengths, tags).backward()
reached = {name: p.grad.abs().sum().item() > 0 for name, p in crf_model.named_parameters()}
print("parameters that receive a gradient:", sorted(name for name, ok in reached.items() if ok))
crf_model.zero_grad()

# %%
started = time.perf_counter()
crf_losses = train(crf_model)
results["bidirectional LSTM-CRF"] = (crf_model, evaluate(crf_model.predict))
print(f"trained for {STEPS} steps in {time.perf_counter() - started:.0f} s; last training "
      f"loss {np.mean(crf_losses[-50:]):.3f} (mean of the last 50 steps)")

# %% [markdown]
# What did the CRF learn? Its transition matrix scores each pair of neighbouring tags; the
# start and end vectors score the first and last tag. The boxed cells are the moves the
# B/M/E/S rules forbid:

# %%
learned = {"trans": crf_model.crf.transitions.detach(), "start": crf_model.crf.start.detach(),
           "end": crf_model.crf.end.detach()}
allowed = torch.tensor([[0, 1, 1, 0], [0, 1, 1, 0], [1, 0, 0, 1], [1, 0, 0, 1]], dtype=torch.bool)
print("allowed next tags:", {BMES[i]: "".join(BMES[j] for j in range(4) if allowed[i, j])
                             for i in range(4)})

# %%
from matplotlib.patches import Rectangle


def draw_transitions(ax, trans):
    """The transition scores as a heatmap, each cell labelled, the forbidden moves boxed."""
    limit = trans.abs().max().item()
    ax.imshow(trans, cmap="RdBu", vmin=-limit, vmax=limit)
    for i, j in itertools.product(range(4), repeat=2):
        value = trans[i, j].item()
        ax.text(j, i, f"{value:+.2f}", ha="center", va="center", fontsize=9,
                color="white" if abs(value) > 0.6 * limit else "black")
        if not allowed[i, j]:
            ax.add_patch(Rectangle((j - 0.45, i - 0.45), 0.9, 0.9, fill=False, lw=1.5, ec="black"))
    ax.set(xticks=range(4), yticks=range(4), xticklabels=BMES, yticklabels=BMES,
           xlabel="next tag", ylabel="tag", title="learned transition scores")
    ax.grid(False)

# %%
fig, (ax, ax2) = new_figure(ncols=2, width=8, height=3.4, gridspec_kw={"width_ratios": [4, 1.6]})
draw_transitions(ax, learned["trans"])
ax2.barh(np.arange(4) - 0.2, learned["start"], 0.4, color=GATE_COLORS["i"], label="start")
ax2.barh(np.arange(4) + 0.2, learned["end"], 0.4, color=GATE_COLORS["o"], label="end")
ax2.set(yticks=range(4), yticklabels=BMES, title="first / last tag")
ax2.invert_yaxis()
ax2.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2);

# %% [markdown]
# Nobody told the CRF the rules; it learned them from the tags: every forbidden move scores
# below every allowed one, a line is scored down for starting with M or E and for ending with
# B or M. The proof checks that, the initial equality with the per-step loss, and that the
# CRF's loss reached every part of the model:

# %%
# KP 12.9
torch.testing.assert_close(nll_0, ce_0 * lengths.sum())             # at zero: a softmax
assert all(reached.values()) and "crf.transitions" in reached       # end to end
assert np.mean(crf_losses[-50:]) < 0.5 * np.mean(crf_losses[:50])   # it trained
trans, start, end = learned["trans"], learned["start"], learned["end"]
assert trans[~allowed].max() < trans[allowed].min()                 # every forbidden move
assert start[[1, 2]].max() < start[[0, 3]].min()                   # start with M or E
assert end[[0, 1]].max() < end[[2, 3]].min()                       # end with B or M

# %% [markdown]
# ## 10. What the CRF gains
#
# Before the table, a fourth row that needs no training. The per-step softmax breaks the
# B/M/E/S rules, but its scores can be *decoded* under them: Viterbi over the bidirectional
# tagger's log-probabilities, with a CRF whose tables are fixed by hand, not learned: 0 for an
# allowed move and −10,000 for a forbidden one, and the same for a first tag M or E and a last
# tag B or M. Its path is the most probable tag sequence under the per-step softmax among
# those that break no rule (*constrained* Viterbi):

# %%
FORBIDDEN = -1e4
rules = LinearChainCRF(4)
with torch.no_grad():                                  # the hard rules, nothing learned
    rules.transitions.copy_(torch.where(allowed, 0.0, FORBIDDEN))
    rules.start.copy_(torch.tensor([0.0, FORBIDDEN, FORBIDDEN, 0.0]))     # B or S first
    rules.end.copy_(torch.tensor([FORBIDDEN, FORBIDDEN, 0.0, 0.0]))       # E or S last
print("fixed tables: start", rules.start.tolist(), "end", rules.end.tolist())
print("transitions:", rules.transitions.tolist())

# %%
def rule_viterbi(ids_, lengths_):
    """The bidirectional tagger's per-step log-probabilities, decoded under the rules."""
    with torch.no_grad():
        return rules.decode(bi(ids_, lengths_).log_softmax(-1), lengths_)[0]


SOFTMAX, RULES, CRF = ("bidirectional LSTM", "bidirectional LSTM + constrained Viterbi",
                       "bidirectional LSTM-CRF")
results[RULES] = (bi, evaluate(rule_viterbi))

# %% [markdown]
# The four on the same test lines (the CRF's prediction is its Viterbi path; the constrained
# row has the bidirectional tagger's parameters, since its rule tables are not trained):

# %%
table({name: results[name] for name in ("unidirectional LSTM", SOFTMAX, RULES, CRF)})

# %% [markdown]
# Two numbers to read. *Broken rules* counts the places where a model's predicted tags break
# a B/M/E/S rule (a B after a B, an M after an E, a line that starts with M...): the per-step
# softmax breaks them by the hundred, each time guessing tags that cannot belong to any
# segmentation; the CRF's Viterbi path breaks one, the constrained path none (it cannot). F1
# moves much less. Are its differences more than the luck of which lines are in the test set?
# Resampling the test lines with replacement (a paired bootstrap, 1,000 times, the same
# resamples for every pair) gives an interval for each:

# %%
def line_counts(predicted, gold):
    """Right, wrong and missed boundaries of each line: an (N, 3) array."""
    return np.array([[s.true_positives, s.false_positives, s.false_negatives]
                     for s in (boundary_f1([p], [g])
                               for p, g in zip(predicted, gold, strict=True))])


def f1_of(counts):                            # counts: (..., 3) summed over lines
    tp, fp, fn = counts[..., 0], counts[..., 1], counts[..., 2]
    return 2 * tp / (2 * tp + fp + fn)

# %%
counts = {name: line_counts(*results[name][1][:2]) for name in (SOFTMAX, RULES, CRF)}
draws = np.random.default_rng(0).integers(0, len(test_lines), (1000, len(test_lines)))


def f1_gain(better, worse):
    """F1 of ``better`` minus F1 of ``worse`` on the test lines, and its 95 % interval."""
    resampled = f1_of(counts[better][draws].sum(1)) - f1_of(counts[worse][draws].sum(1))
    gain = f1_of(counts[better].sum(0)) - f1_of(counts[worse].sum(0))
    return gain, *np.quantile(resampled, [0.025, 0.975])

# %%
gains = {"CRF minus softmax": f1_gain(CRF, SOFTMAX),
         "constrained minus softmax": f1_gain(RULES, SOFTMAX),
         "CRF minus constrained": f1_gain(CRF, RULES)}
for name, (gain, low, high) in gains.items():
    print(f"{name:<26} F1 {gain:+.4f}  (95 % bootstrap interval {low:+.4f} to {high:+.4f}, "
          f"which {'excludes' if low > 0 or high < 0 else 'includes'} zero)")
broken = {name: res[1][2] for name, res in results.items()}
share = gains["constrained minus softmax"][0] / gains["CRF minus softmax"][0]
print(f"broken rules: softmax {broken[SOFTMAX]:,}, constrained {broken[RULES]}, CRF "
      f"{broken[CRF]}; the rules alone give {share:.0%} of the CRF's F1 gain")

# %% [markdown]
# So, measured here: the CRF's F1 gain over the per-step softmax, +0.0086, is small (under
# 0.03), and its interval, +0.0060 to +0.0112, excludes zero: on these test lines it is real
# (the interval measures only the choice of test lines, not another training seed). Most of
# it needs no CRF at all. Decoding the softmax's own scores under the rules fixes every broken
# rule and gains +0.0067 (interval +0.0049 to +0.0086), 78 % of the CRF's gain; the learned
# transitions add the rest, +0.0019, with an interval (−0.0007 to +0.0042) that includes zero,
# so on these lines that last part is not told apart from luck. The softmax and constrained
# rows are one trained tagger, and the CRF started from its initial weights and saw its
# batches: the differences are the decoding, and then what training the tables adds.

# %%
# KP 12.10
crf_gain, crf_low, crf_high = gains["CRF minus softmax"]
rule_gain, rule_low, rule_high = gains["constrained minus softmax"]
rest, rest_low, rest_high = gains["CRF minus constrained"]
assert abs(crf_gain) < 0.03 and crf_low > 0                         # small, and real here
assert broken[RULES] == 0                                            # the rules fix every one
assert rule_low > 0 and 0.5 < rule_gain / crf_gain < 1               # most of the gain
assert rest > 0 and rest_low < 0 < rest_high                         # the rest: not told apart
assert broken[SOFTMAX] > 100                                         # by the hundred
assert broken[CRF] * 100 < broken[SOFTMAX]
torch.testing.assert_close(torch.tensor(f1_of(counts[CRF].sum(0))),
                           torch.tensor(boundary_f1(*results[CRF][1][:2]).f1,
                                        dtype=torch.float64))      # the same F1 as the table

# %% [markdown]
# ## 11. Try it: segment your own text
#
# Type text without spaces (or paste a line with spaces: they are removed, and the model's
# segmentation is scored against yours) and pick a model. Under each character: its predicted
# tag and the probability that a word ends there (for the CRF, its marginal probability, the
# gradient of log Z with respect to the emissions, section 7). Try `themanwhoisnotthere`, then switch to
# the unidirectional LSTM and watch the probabilities after "the".

# %%
explorer = segmentation_explorer({"unidirectional LSTM": uni, "bidirectional LSTM": bi,
                                  "BiLSTM-CRF": crf_model}, vocab)
explorer

# %% [markdown]
# ## Pitfalls
#
# **Per-step logits straight into `cross_entropy`.** It reads dimension 1 as the classes, so a
# `(B, T, K)` tensor is taken for T classes:

# %%
message = error_of(lambda: nn.functional.cross_entropy(logits, tags))
print(message)
assert message.startswith("RuntimeError: Expected target size [6, 4], got [6, 41]")
right = nn.functional.cross_entropy(logits.transpose(1, 2), tags)     # (B, K, T): also right
torch.testing.assert_close(right, masked_loss)

# %% [markdown]
# Worse, when the lines happen to have as many steps as there are tags, there is **no error**:
# four-character lines give `(B, 4, 4)` logits, and time is silently read as the classes.

# %%
four = [l for l in train_lines if len(l) == 4][:8]
f_ids, f_lengths, f_tags = make_batch(four, vocab)
f_logits = demo(f_ids, f_lengths)
silent = nn.functional.cross_entropy(f_logits, f_tags)
proper = nn.functional.cross_entropy(f_logits.flatten(0, 1), f_tags.flatten())
print(f"logits {tuple(f_logits.shape)}: no error, loss {silent.item():.4f}; the right loss "
      f"{proper.item():.4f}")
assert not torch.isclose(silent, proper)

# %% [markdown]
# **Tags that are int32 or float.** `cross_entropy` takes class ids as `Long` (int64) or
# `Byte` (uint8) only: tags stored as `int32`, or made with a float tensor, are refused:

# %%
flat_logits = logits.flatten(0, 1)
int_message = error_of(lambda: nn.functional.cross_entropy(flat_logits, tags.flatten().int()))
float_message = error_of(lambda: nn.functional.cross_entropy(flat_logits, tags.flatten().float()))
print(int_message)
print(float_message)
assert int_message == "RuntimeError: expected target dtype to be Long or Byte, but got Int"
assert float_message == "RuntimeError: expected target dtype to be Long or Byte, but got Float"

# %% [markdown]
# **A bidirectional LSTM on a padded batch, not packed.** No error, and the forward half of
# each step is even right; but the backward direction of a short line starts on the padding,
# so its outputs, and its scores, change with the amount of padding in the batch. Packing
# (section 2) makes each line's scores equal to the line run alone.

# %%
with torch.no_grad():
    unpacked_out = demo.lstm(demo.embedding(ids))[0]                  # padding read as input
    errors = [(unpacked_out[b, :n] - demo.lstm(demo.embedding(ids[b:b + 1, :n]))[0][0]).abs()
              for b, n in enumerate(lengths.tolist()) if n < ids.shape[1]]
forward_error = max(e[:, :41].max().item() for e in errors)
backward_error = max(e[:, 41:].max().item() for e in errors)
print(f"short lines unpacked, against each line alone: forward half {forward_error:.1e}, "
      f"backward half {backward_error:.3f}")
assert forward_error < 1e-5 and backward_error > 1e-3

# %% [markdown]
# **A tag where the lengths say there is a real step.** If the lengths and the tags disagree,
# the CRF would score `-100` as a tag; `LinearChainCRF` refuses it, naming the step. A length
# longer than the padded tensor is refused the same way:

# %%
bad_tags = tags.clone()
n0 = lengths[1].item()
bad_tags[1, n0 - 1] = IGNORE_INDEX
print(error_of(lambda: crf_model.crf.nll(emissions_0, bad_tags, lengths)))
print(error_of(lambda: crf_model.crf.nll(emissions_0, tags, lengths + 1)))
assert f"tags[1, {n0 - 1}] = -100 is outside the 4 classes" in error_of(
    lambda: crf_model.crf.nll(emissions_0, bad_tags, lengths))

# %% [markdown]
# ## Exercises
#
# Replace `None` with your answer and run the cell; the checker says whether it is right.
#
# **Exercise 1.** Write the B/M/E/S tags of `iamthequeen` ("i am the queen"), one letter per
# character, as a string such as `"BME..."`.

# %%
answer_1 = None
nb12.check_bmes_tags(answer_1, words=("i", "am", "the", "queen"))

# %% [markdown]
# <details><summary>Solution</summary>
#
# `"SBEBMEBMMME"`: "i" is a one-character word (S), "am" is B E, "the" B M E, "queen"
# B M M M E. `"".join(BMES[t] for t in bmes_tags(["i", "am", "the", "queen"]))` computes it.
#
# </details>
#
# **Exercise 2.** How many different tag sequences does a line of 31 characters have with the
# four B/M/E/S tags (valid or not)? That is the number of paths the partition function sums
# over.

# %%
answer_2 = None
nb12.check_path_count(answer_2, num_tags=4, length=31)

# %% [markdown]
# <details><summary>Solution</summary>
#
# `4 ** 31`, about 4.6e18: four choices at each of 31 steps. The forward algorithm needs only
# (31 − 1) × 4 × 4 + 2 × 4 = 488 terms for the same sum (section 7), about L·K².
#
# </details>
#
# **Exercise 3.** This two-tag CRF and the emissions of a three-step sequence are given. What
# is the score of the path `[0, 1, 1]`? Work it out from the tables, then check it.

# %%
toy = LinearChainCRF(2)
with torch.no_grad():
    toy.start.copy_(torch.tensor([0.5, -0.5]))
    toy.end.copy_(torch.tensor([0.0, 1.0]))
    toy.transitions.copy_(torch.tensor([[1.0, -1.0], [-2.0, 0.5]]))
toy_emissions = torch.tensor([[[1.0, 0.0], [0.0, 2.0], [0.5, 0.5]]])
answer_3 = None
nb12.check_path_score(answer_3, toy, toy_emissions, [0, 1, 1])

# %% [markdown]
# <details><summary>Solution</summary>
#
# start[0] + e[0, 0] + trans[0, 1] + e[1, 1] + trans[1, 1] + e[2, 1] + end[1]
# = 0.5 + 1 − 1 + 2 + 0.5 + 0.5 + 1 = `4.5`, which is
# `toy.score(toy_emissions, torch.tensor([[0, 1, 1]]), [3])`.
#
# </details>
#
# **Exercise 4.** The true segmentation is "to be or not to be"; a model says "tobe or not
# tobe". What is its boundary F1 (boundaries inside the text only, as in section 5)?

# %%
answer_4 = None
nb12.check_boundary_f1(answer_4, predicted=["tobe", "or", "not", "tobe"],
                       gold=["to", "be", "or", "not", "to", "be"])

# %% [markdown]
# <details><summary>Solution</summary>
#
# True inner boundaries: after "to", "be", "or", "not", "to" (5). Predicted: after "tobe",
# "or", "not" (3), all of them right. Precision 3/3 = 1, recall 3/5 = 0.6, F1 = 2 · 1 · 0.6 /
# 1.6 = `0.75`.
#
# </details>

# %% [markdown]
# ## Key takeaways
#
# - Tagging is many-to-many: the same linear head on every step's output gives `(B, T, K)`
#   scores; flatten to `(B·T, K)` for `cross_entropy`, and pad the tags with `-100` so that
#   padding steps add nothing (otherwise the loss is another number and the padding trains).
# - Word boundaries depend on the characters that follow: at the same budget a bidirectional
#   LSTM beats a unidirectional one by a wide margin in boundary F1 here; a unidirectional
#   tagger's answer for a character cannot depend on what comes after it.
# - A linear-chain CRF scores whole tag sequences; the forward algorithm computes the
#   partition function over all K^L paths in L·K² work, and Viterbi finds the best path; both
#   equal brute-force enumeration, and so do its marginals, the gradient of log Z. At zero
#   tables (transitions, start and end) it is a per-step softmax.
# - Trained end to end, the CRF learned the B/M/E/S rules by itself and almost never breaks
#   them; its F1 gain over the per-step softmax was small here (+0.0086). Viterbi under hard
#   B/M/E/S rules over the softmax's own scores, with no training, breaks none and gives most
#   of that gain (+0.0067, F1 0.9304 against the CRF's 0.9323); the learned transitions add
#   the rest. Measure before you add one, and try the rules first.
# - Pack bidirectional batches (or batch lines of one length, which needs no padding and is
#   faster on a CPU).
#
# **Back:** [10 · A character language model](10_character_language_model.ipynb) built the
# text tools used here; [11 · Classifying sequences](11_classifying_sequences.ipynb) reads one
# summary per sequence instead of one answer per step;
# [05 · Last-step output](05_last_step_output.ipynb) first put a head on every step.
#
# **Next:** [13 · Sequence to sequence](13_sequence_to_sequence.ipynb): an encoder, a decoder,
# and attention.

# %%
print(run_summary(notebook_started))

# %% [markdown] tags=["course-nav"]
# ---
#
# **Part III · Text** · notebook 13 of 20
#
# Previous: [11 · Classifying sequences](11_classifying_sequences.ipynb) · Next: [13 · Sequence to sequence](13_sequence_to_sequence.ipynb) · [The map of the course](00_the_whole_picture.ipynb#cell-id=cell-015) · [Find your question](../README.md#find-your-question)

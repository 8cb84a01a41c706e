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
# # 13 · Sequence to sequence
#
# Until now an LSTM read a sequence and we read its states: a number, a class, the next
# character. An **encoder-decoder** hands the state of one LSTM to a second LSTM, which writes a
# new sequence of its own length, one token at a time (Sutskever, Vinyals & Le, 2014). It is the
# architecture in which **attention** was born (Bahdanau, Cho & Bengio, 2015): instead of
# squeezing the whole input into one final state, the decoder looks back at every input
# position at every step, and that idea grew into the Transformer.
#
# The classic task is machine translation, which needs a corpus and has no single right answer.
# We use a task whose data we generate and whose answers can be checked exactly: **normalising
# dates**. `tuesday, 1 december 2026`, `Dec 1, 2026`, `1.12.26`, `the 1st of December 2026`
# and `二〇二六年十二月一日` should all become `2026-12-01`.
#
# **You will learn**
#
# - **KP 13.1** how the encoder's final `(h, c)` becomes the decoder's initial state, and how a
#   bidirectional encoder's two directions are joined (with shapes);
# - **KP 13.2** what `<bos>`, `<eos>` and `<pad>` do, and teacher forcing: the decoder reads the
#   previous *target* token, so training reads the whole target in one call;
# - **KP 13.3** the masked token loss, proven equal to the mean over the real tokens;
# - **KP 13.4** attention (multiplicative, Luong's "general" score): weights that sum to 1 and
#   are exactly 0 on padding, and the context vector;
# - **KP 13.5** with versus without attention on the same budget, on dates never trained on,
#   measured by exact match (the metric that matters), by input length and by format;
# - **KP 13.6** the exposure-bias gap between teacher-forced and free-running scores, measured,
#   and scheduled sampling against teacher forcing;
# - **KP 13.7** greedy decoding and beam search: width 1 is greedy, how often a wider beam beats,
#   ties or loses to greedy, a full beam is exhaustive search, and length normalisation;
# - **KP 13.8** attention heatmaps: the output's year, month and day look mostly at the source's
#   year, month and day.
#
# **Run time:** about 40 s on a 2-core laptop-class CPU (it trains three small models); the last
# cell prints the measured time and peak memory of the run whose outputs you see.

# %%
import time

notebook_started = time.perf_counter()

import datetime as dt

import torch
from torch.nn import functional as F

from utils.checks import error_of, nb13
from utils.dates import (CHARACTERS, FIRST_DAY, FORMATS, LAST_DAY, date_pairs, field_spans,
                         format_of, render)
from utils.seq2seq import (BOS, EOS, PAD, SOURCE_SPECIALS, TARGET_SPECIALS, Seq2Seq,
                           beam_search, bridge_state, encode_pairs, evaluate, exact_match,
                           exhaustive_search, greedy_decode, masked_token_loss, to_strings,
                           train_seq2seq)
from utils.sequences import IGNORE_INDEX
from utils.text import CharVocab
from utils.training import env_report, pick_device, run_summary, set_seed
from utils.viz import GATE_COLORS, new_figure
from utils.widgets.seq2seq import date_explorer, draw_attention

torch.set_num_threads(1)   # a rerun trains exactly the same models (see notebook 09)
set_seed(0)
device = pick_device("cpu")
print(env_report(device))

# %% [markdown]
# ## 1. The task
#
# `utils.dates.date_pairs` draws distinct days of 1900-2099 with a seed and writes each in one
# of twelve formats, drawn at random; the target is always the ISO form `YYYY-MM-DD`. The test
# dates are days the training set never contains. (Two-digit years appear only for 1969-2068,
# where Python's `%y` puts the century right; `/` always separates month/day/year and `.`
# day.month.year.)

# %%
# NBVAL_CHECK_OUTPUT
pairs = date_pairs(40_000, 500, 2_000, seed=0)
print(f"{len(pairs.train):,} training, {len(pairs.val):,} validation, {len(pairs.test):,} test "
      "pairs; a few test pairs:")
for source, target in pairs.test[:8]:
    print(f"  {source!r:>30} -> {target}")

# %% [markdown]
# Every score below rests on three claims about this data (they belong to KP 13.5, which scores
# the models on unseen dates): no validation or test day is a training day; the formats are
# mixed alike in training and test; and no input is ambiguous, so each has one right answer.
# Below, the share of each format in both parts (`utils.dates.format_of`; `May 3, 2020` reads
# alike in `Mon d, yyyy` and `Month d, yyyy` and counts as the first). The two two-digit-year
# formats are about half as common as the others: they can write only the years 1969-2068.

# %%
TWO_DIGIT_FORMATS = ("d.m.yy", "m/d/yy")     # the formats with a two-digit year (1969-2068)
format_names = {part: [format_of(source) for source, _ in getattr(pairs, part)]
                for part in ("train", "test")}
format_share = {part: {fmt: names.count(fmt) / len(names) for fmt in FORMATS}
                for part, names in format_names.items()}
print(f"{'format':<24}{'train':>7}{'test':>7}")
for fmt in FORMATS:
    print(f"{fmt:<24}{format_share['train'][fmt]:>7.1%}{format_share['test'][fmt]:>7.1%}")
largest_gap = max(abs(format_share["train"][f] - format_share["test"][f]) for f in FORMATS)
print(f"largest difference between the two parts: {largest_gap:.1%}")

# %% [markdown]
# The proof: the training days and the other days are disjoint; every format is used, with
# shares that agree within 2 points; and no input is ambiguous, not only among our 42,500
# pairs: every day of 1900-2099 written in every format that can write it gives 797,340
# distinct strings (fewer than the renderings because `May 3, 2020` is written alike by two
# formats), and none of them is written for two different days.

# %%
# KP 13.5
train_days = {target for _, target in pairs.train}
assert not train_days & {target for _, target in pairs.val + pairs.test}   # never trained on
assert None not in format_names["train"] + format_names["test"]          # every source read
assert all(format_share["train"][fmt] > 0.03 for fmt in FORMATS) and largest_gap < 0.02


def strings_of_two_days():
    """Every day of 1900-2099 in every format that can write it: the strings written for two
    different days, and the number of distinct strings (the table is freed on return)."""
    every_day = [FIRST_DAY + dt.timedelta(days=n) for n in range((LAST_DAY - FIRST_DAY).days + 1)]
    written, clashes = {}, []
    for fmt in FORMATS:
        for day in every_day:
            if fmt not in TWO_DIGIT_FORMATS or 1969 <= day.year <= 2068:
                if written.setdefault(render(day, fmt), day) != day:
                    clashes.append((fmt, day))
    return clashes, len(written)


clashes, distinct = strings_of_two_days()
assert clashes == [] and distinct == 797_340                    # one string, one day

# %% [markdown]
# The model reads characters and writes characters. The source vocabulary holds every
# character a format writes and the capitals of the full month names (`utils.dates.CHARACTERS`;
# two of those capitals, `H` and `I`, appear in no format, so no training source holds them),
# plus `<pad>` and `<unk>` (for a character typed into the widget that the vocabulary lacks);
# the target vocabulary holds the ten
# digits, `-`, and `<pad>`, `<bos>`, `<eos>`. `encode_pairs` turns the strings into padded id
# tensors.

# %%
src_vocab = CharVocab(CHARACTERS, specials=SOURCE_SPECIALS)
tgt_vocab = CharVocab("0123456789-", specials=TARGET_SPECIALS)
train, val, test = (encode_pairs(part, src_vocab, tgt_vocab)
                    for part in (pairs.train, pairs.val, pairs.test))
print(src_vocab, "|", tgt_vocab, f"| ids: <pad> {PAD}, <bos> {BOS}, <eos> {EOS}")
print(f"train.src {tuple(train.src.shape)} (pairs, longest source), "
      f"train.tgt_in {tuple(train.tgt_in.shape)}, train.tgt_out {tuple(train.tgt_out.shape)}")

# %% [markdown]
# ## 2. The encoder hands its state to the decoder
#
# The **encoder** (`utils.seq2seq.Encoder`) embeds the source characters and reads them with a
# bidirectional LSTM of 32 units per direction, run packed (notebook 05) so that each source's
# final state is the one at its own last real character. It returns its output at every
# position, the `memory` that attention will read, and its final `(h_n, c_n)`, each of shape
# `(directions × layers, batch, 32)`.
#
# The **decoder** is another LSTM. It starts from the encoder's final state, so it needs one
# state per layer of a width it can take. `bridge_state` concatenates, layer by layer, the
# forward and the backward final states: `(2 · layers, B, H)` becomes `(layers, B, 2H)`, and
# the decoder gets 64 units. (Other choices exist: a linear layer from `2H` to the decoder's
# size; or, as Bahdanau et al. did, a linear layer and tanh applied to the backward
# direction's state alone, `s_0 = tanh(W_s ←h_1)`. Concatenation needs no extra weights.)

# %%
def new_model(attention, seed=0):
    """The notebook's encoder-decoder: embeddings of 32, 2 x 32 encoder units, 64 decoder units."""
    torch.manual_seed(seed)
    return Seq2Seq(len(src_vocab), len(tgt_vocab), embed_size=32, hidden_size=32,
                   bidirectional=True, attention=attention)


demo_model = new_model(attention=True)
demo = encode_pairs(pairs.test[:4], src_vocab, tgt_vocab)
src, src_lengths, tgt_in, tgt_out = demo.batch(slice(0, 4))
memory, (h_n, c_n) = demo_model.encoder(src, src_lengths)
h_0, c_0 = bridge_state(h_n, c_n, num_layers=1, bidirectional=True)
print(f"source ids {tuple(src.shape)}, lengths {src_lengths.tolist()}")
print(f"memory {tuple(memory.shape)}   h_n {tuple(h_n.shape)}  ->  decoder h_0 {tuple(h_0.shape)}")

# %% [markdown]
# The forward half of `h_0` must be the forward direction's output at each source's last real
# character; the backward half the backward direction's output at the *first* character, where
# it finished reading. And the decoder's output must come from that state: from zeros it
# would differ.

# %%
# KP 13.1
rows, last = torch.arange(4), src_lengths - 1
assert len(set(src_lengths.tolist())) > 1                 # sources of different lengths
torch.testing.assert_close(h_0[0, :, :32], memory[rows, last, :32])   # forward: last character
torch.testing.assert_close(h_0[0, :, 32:], memory[:, 0, 32:])         # backward: first character
mask = torch.arange(src.shape[1]) < src_lengths[:, None]
from_bridge, _, _ = demo_model.decoder(tgt_in, (h_0, c_0), memory, mask)
from_zeros, _, _ = demo_model.decoder(tgt_in, (torch.zeros_like(h_0), torch.zeros_like(c_0)),
                                      memory, mask)
torch.testing.assert_close(demo_model(src, src_lengths, tgt_in)[0], from_bridge)
assert not torch.allclose(from_bridge, from_zeros, atol=1e-3)

# %% [markdown]
# ## 3. `<bos>`, `<eos>`, `<pad>` and teacher forcing
#
# Three special tokens make variable-length input and output work:
#
# - `<pad>` fills a batch up to its longest source; the encoder skips it (packing) and attention
#   will give it no weight (section 5);
# - `<bos>` ("begin of sequence") is the decoder's first input: it has no previous token yet;
# - `<eos>` ("end of sequence") is the decoder's last output: writing it means "done", which is
#   how a decoder decides the length of what it writes.
#
# At step t the decoder predicts target token t from the tokens before it. In training we feed
# it the **true** previous token, not its own guess: **teacher forcing**. So the decoder's input
# `tgt_in` is `<bos>` followed by the target, and what it must predict, `tgt_out`, is the target
# followed by `<eos>`: the same sequence shifted by one.

# %%
shortest = int(src_lengths.argmin())
print("source  ", [src_vocab.tokens[i] for i in src[shortest].tolist()])
print("tgt_in  ", [tgt_vocab.tokens[i] for i in tgt_in[shortest].tolist()])
print("tgt_out ", [tgt_vocab.tokens[i] for i in tgt_out[shortest].tolist()])

# %% [markdown]
# Because every input is known in advance, teacher forcing reads the whole target in **one**
# call of the decoder's `nn.LSTM`, which is what makes training fast (this needs attention to
# sit after the LSTM, as it does here: section 5). Decoding a new date
# cannot do that: there the input at step t is the model's own output at step t - 1, one step
# at a time (`Decoder.step`). The proof checks the shift over the whole training set, the
# padding of every source, and that the one call equals the step-by-step loop fed the true
# tokens.

# %%
# KP 13.2
assert torch.equal(train.tgt_in[:, 1:], train.tgt_out[:, :-1])     # input t = target t - 1
assert (train.tgt_in[:, 0] == BOS).all() and (train.tgt_out[:, -1] == EOS).all()
is_padding = torch.arange(train.src.shape[1]) >= train.src_lengths[:, None]
assert (train.src[is_padding] == PAD).all() and (train.src[~is_padding] != PAD).all()
encoded = demo_model.encode(src, src_lengths)
state, step_logits = encoded.state, []
for t in range(tgt_in.shape[1]):
    logits_t, state, _ = demo_model.decoder.step(tgt_in[:, t], state, encoded.memory, encoded.mask)
    step_logits.append(logits_t)
torch.testing.assert_close(torch.stack(step_logits, dim=1), from_bridge)

# %% [markdown]
# ## 4. The masked token loss
#
# Every date target has 10 characters, but a sequence-to-sequence loss must work when targets
# differ in length. Imagine a batch asking for the year of one date, the month and day of
# another, and the whole of a third: the targets are padded with `IGNORE_INDEX` (-100), which
# `F.cross_entropy` skips. The loss is then the mean of −log p(target) over the **real** tokens
# only, `<eos>` included (`utils.seq2seq.masked_token_loss`). The model here is still
# untrained: it gives every token about the same probability, so every position, padding
# included, costs about log 14 ≈ 2.64, and a loss over every position differs from the masked
# one only a little. On the trained model the difference is large (Pitfalls).

# %%
(s0, t0), (s1, t1), (s2, t2) = pairs.test[:3]
ragged = encode_pairs([(s0, t0[:4]), (s1, t1[5:]), (s2, t2)], src_vocab, tgt_vocab)
r_src, r_lengths, r_in, r_out = ragged.batch(slice(0, 3))
r_logits, _ = demo_model(r_src, r_lengths, r_in)
real = r_out != IGNORE_INDEX
print("targets:", [t0[:4], t1[5:], t2], "\ntgt_out:\n", r_out)
print(f"real tokens per row {real.sum(1).tolist()}: {int(real.sum())} of {real.numel()} positions")

# %%
# KP 13.3
log_probs = torch.log_softmax(r_logits, dim=-1)
by_hand = -log_probs[real].gather(1, r_out[real].unsqueeze(1)).mean()   # real tokens only
masked = masked_token_loss(r_logits, r_out)
over_every_position = F.cross_entropy(r_logits.flatten(0, 1), r_out.clamp(min=0).flatten())
print(f"masked loss {masked:.5f} = mean over the real tokens {by_hand:.5f}; "
      f"over every position (padding read as <pad>) {over_every_position:.5f}")
torch.testing.assert_close(masked, by_hand)
assert abs(over_every_position - masked) > 0.01

# %% [markdown]
# ## 5. Attention
#
# Without attention, all the decoder knows about the source is its initial state: 64 numbers
# for the whole date. With **attention** it also looks at the encoder's output at every source
# position, `s_1 .. s_S` (the `memory`), at every step. We use the multiplicative score of
# Luong, Pham & Manning (2015), "general": for the decoder's output `h_t` at step t,
#
# - scores `e_tj = h_tᵀ W_a s_j` for every source position j;
# - weights `a_t = softmax_j(e_tj)`, taken over the **real** positions only: a padded position's
#   score is set to −∞ before the softmax, so its weight is exactly 0;
# - the context vector `c_t = Σ_j a_tj s_j`, a weighted average of the encoder outputs;
# - the output `logits = W_out tanh(W_c [h_t; c_t])`.
#
# (Bahdanau et al.'s additive score, `vᵀ tanh(W h + U s)`, is the other classic, and it too can
# be computed for every step at once. What lets teacher forcing run this decoder in one call
# is *where* attention sits: after the LSTM, with no "input feeding", so the LSTM's input at
# step t never depends on a context vector. In Bahdanau et al.'s decoder, and in Luong's with
# input feeding, the context enters the next step's LSTM input, and even training must run
# one step at a time.)

# %%
_, weights = demo_model(src, src_lengths, tgt_in)
print(f"weights {tuple(weights.shape)}: (batch, output step, source position)")
print(f"source {shortest} has {int(src_lengths[shortest])} real characters; its weights at "
      f"output step 0:\n", weights[shortest, 0].detach().numpy().round(3))

# %% [markdown]
# The proof recomputes the weights by hand, as a softmax over each source's real positions
# only, and the context as the weighted sum of the memory; and runs each source alone, without
# padding, to check that the padding changes nothing.

# %%
# KP 13.4
decoder = demo_model.decoder
h_dec, _ = decoder.lstm(decoder.embed(tgt_in), encoded.state)           # (B, T, 64)
scores = h_dec @ decoder.attention.W_a(memory).transpose(1, 2)          # h_t^T W_a s_j
context, weights_again = decoder.attention(h_dec, memory, encoded.mask)
for b, n in enumerate(src_lengths.tolist()):
    torch.testing.assert_close(weights[b, :, :n], torch.softmax(scores[b, :, :n], dim=-1))
    assert (weights[b, :, n:] == 0).all()                              # exactly 0 on padding
    alone, _ = demo_model(src[b:b + 1, :n], src_lengths[b:b + 1], tgt_in[b:b + 1])
    torch.testing.assert_close(alone[0], from_bridge[b])                # padding changes nothing
torch.testing.assert_close(weights.sum(dim=-1), torch.ones(weights.shape[:2]))
torch.testing.assert_close(context, torch.einsum("bts,bsm->btm", weights, memory))
torch.testing.assert_close(weights_again, weights)

# %% [markdown]
# ## 6. With and without attention, on the same budget
#
# Two models, identical but for attention: the same sizes, the same seed for the weights, the
# same 400 Adam steps on the same batches of 256 training pairs (learning rate 0.01, gradient
# norm clipped to 1). Each batch holds sources of one length (`PairData.same_length_batch`),
# so it has no padding and the encoder needs no packing, which on a CPU costs time; section 5
# proved that padding changes nothing, so the padded test batches get the same answers.

# %%
RECIPE = dict(steps=400, batch_size=256, lr=1e-2, max_norm=1.0, seed=1)


def trained(attention, **options):
    """A fresh model trained with RECIPE; prints its speed and its loss."""
    model, started = new_model(attention), time.perf_counter()
    history = train_seq2seq(model, train, **RECIPE, **options)
    seconds = time.perf_counter() - started
    print(f"{'with' if attention else 'without'} attention: {RECIPE['steps']} steps in "
          f"{seconds:.1f} s ({RECIPE['steps'] / seconds:.0f} steps/s); training loss "
          f"{history[0][1]:.3f} (first 50 steps) -> {history[-1][1]:.4f} (last 50)")
    return model


attention_model = trained(attention=True)
plain_model = trained(attention=False)

# %% [markdown]
# Both are scored on the 2,000 test dates, never seen in training. The teacher-forced numbers
# give the decoder the true previous characters; **exact match** lets it write the date itself
# (greedy decoding, section 8) and counts the outputs equal to the target, character for
# character. A date with one wrong digit is a wrong date, so exact match is the number that
# matters.

# %%
models = {"with attention": attention_model, "without attention": plain_model}
results = {name: evaluate(model, test, tgt_vocab) for name, model in models.items()}
print(f"{'model':<19}{'parameters':>11}{'loss (TF)':>11}{'tokens right (TF)':>19}"
      f"{'exact match':>13}")
for name, model in models.items():
    r = results[name]
    print(f"{name:<19}{sum(p.numel() for p in model.parameters()):>11,}{r.loss:>11.4f}"
          f"{r.tf_token_accuracy:>19.2%}{r.exact_match:>13.2%}")
val_exact = evaluate(attention_model, val, tgt_vocab).exact_match
print(f"(with attention on the {len(val)} validation dates: {val_exact:.2%} exact match)")

# %% [markdown]
# With attention the model writes at least 95 % of the unseen dates exactly right (the table
# has the measured value); without attention, on the same budget, it gets more than 90 % of
# the characters right under teacher forcing but fewer than 60 % of the dates. Token accuracy
# flatters: a date has 10 characters to get right, and one slip ruins it. (The model without
# attention has fewer parameters, printed above: attention adds `W_a` and `W_c`. Without it,
# all the decoder is told about the source has to pass through the encoder's final `(h, c)`;
# with it, the decoder reads the encoder's output at every source position again at every
# step.)
#
# Where do the errors fall? By length of the input, in six groups:

# %%
GROUPS = [(6, 8), (9, 10), (11, 12), (13, 18), (19, 22), (23, 28)]
lengths = test.src_lengths
in_group = [(lengths >= lo) & (lengths <= hi) for lo, hi in GROUPS]
by_length = {name: [r.exact[g].float().mean().item() for g in in_group]
             for name, r in results.items()}
fig, ax = new_figure(width=7, height=3.2)
labels = [f"{lo}-{hi}\n({int(g.sum())} dates)" for (lo, hi), g in zip(GROUPS, in_group,
                                                                    strict=True)]
for (name, accuracy), color in zip(by_length.items(), (GATE_COLORS["i"], GATE_COLORS["o"]),
                                   strict=True):
    ax.plot(labels, accuracy, "o-", color=color, label=name)
ax.set_ylim(0, 1.02)
ax.set_xlabel("source length in characters")
ax.set_ylabel("exact match on test dates")
ax.set_title("Accuracy by input length, same budget")
ax.legend(fontsize=8);
for name, accuracy in by_length.items():
    print(f"{name:<18}", "  ".join(f"{a:.0%}" for a in accuracy))

# %% [markdown]
# With attention every length group is almost entirely right, and ahead of the model without
# attention by more than 30 points. The plain model does not fall steadily as the input grows:
# it does better on 19-22 characters than on the shortest group. But here length is mostly
# *format*. Each format has lengths of its own, so each group holds only a few formats:

# %%
test_formats = format_names["test"]
formats_in = [{fmt for fmt, g in zip(test_formats, group.tolist(), strict=True) if g}
              for group in in_group]
for (lo, hi), fmts in zip(GROUPS, formats_in, strict=True):
    print(f"{lo:>2}-{hi:<2} characters: {', '.join(f for f in FORMATS if f in fmts)}")

# %% [markdown]
# 13-18 characters are all `Month d, yyyy`, 19-28 only the two spelled-out formats, 6-8
# `yyyymmdd` and the two formats with a two-digit year. So the curve above says which formats a
# model finds hard as much as it says anything about length. (In translation, where sentences
# run to 50 words and more, Bahdanau et al. found the model without attention falling sharply
# as sentences grew longer. Inputs of at most 28 characters, tangled with their format, can
# show neither that nor its absence.) Exact match by format:

# %%
in_format = {fmt: torch.tensor([f == fmt for f in test_formats]) for fmt in FORMATS}
by_format = {name: {fmt: r.exact[rows].float().mean().item() for fmt, rows in in_format.items()}
             for name, r in results.items()}
print(f"{'format':<24}{'dates':>6}{'with attention':>16}{'without':>9}")
for fmt, rows in in_format.items():
    print(f"{fmt:<24}{int(rows.sum()):>6}{by_format['with attention'][fmt]:>16.1%}"
          f"{by_format['without attention'][fmt]:>9.1%}")
attention_errors = {f for f, right in zip(test_formats, results["with attention"].exact.tolist(),
                                          strict=True) if not right}
print(f"the model with attention got wrong {int((~results['with attention'].exact).sum())} "
      f"dates, all in: {', '.join(f for f in FORMATS if f in attention_errors)}")

# %% [markdown]
# Without attention the two formats with a two-digit year are the hardest; they are also the
# only ones whose century is not in the source at all and has to be inferred from the two
# digits that are (69-99 are 19xx, 00-68 are 20xx). With attention every format is above 96 %, and its few errors all
# fall in the three formats of 6-8 characters: `yyyymmdd`, which has no separators, and the
# two with a two-digit year.

# %%
# KP 13.5
attention_result, plain_result = results["with attention"], results["without attention"]
assert attention_result.exact_match >= 0.95                 # the target, on unseen dates
assert plain_result.tf_token_accuracy > 0.9 and plain_result.exact_match < 0.6
assert all(a - p > 0.3 for a, p in zip(*by_length.values(), strict=True))
assert by_length["without attention"][4] > by_length["without attention"][0]   # not steadily
assert formats_in[3] == {"Month d, yyyy"}                                      # length = format
assert formats_in[4] | formats_in[5] == {"weekday day month year", "the dth of Month yyyy"}
assert formats_in[0] == {"yyyymmdd", *TWO_DIGIT_FORMATS}
plain_worst = sorted(FORMATS, key=by_format["without attention"].get)[:2]
assert set(plain_worst) == set(TWO_DIGIT_FORMATS)                      # two-digit years
assert min(by_format["with attention"].values()) > 0.96 and attention_errors <= formats_in[0]

# %% [markdown]
# ## 7. Exposure bias: teacher-forced scores versus free running
#
# Teacher forcing trains, and the teacher-forced loss scores, the decoder on the true previous
# characters. At use time it reads its **own** previous outputs, and after its first mistake it
# reads an input it never saw in training. The difference is called *exposure bias*
# (Ranzato et al., 2016). Two consequences are worth separating:
#
# - For the **whole output** there is no gap, example by example: if every teacher-forced
#   prediction is right, greedy decoding feeds itself exactly the true characters and writes
#   the target; if one is wrong, greedy decoding follows the true path up to the first wrong
#   one and makes the same mistake there.
# - For the **characters after a first mistake** there is: the teacher-forced score still
#   reads the true prefix, the free-running decoder its own wrong one.

# %%
def after_first_error_by_date(r):
    """For each date: how many positions follow its output's first wrong character (free
    running), and how many of those are right free-running and teacher-forced."""
    wrong = r.real & ~r.free_correct
    first = torch.where(wrong.any(1), wrong.float().argmax(1), wrong.shape[1])
    after = r.real & (torch.arange(wrong.shape[1]) > first[:, None])
    return after.sum(1), (r.free_correct & after).sum(1), (r.tf_correct & after).sum(1)


def after_first_error(r):
    """Over all those positions: the share right free-running, teacher-forced, and how many."""
    n, free, tf = (counts.sum().item() for counts in after_first_error_by_date(r))
    return free / n, tf / n, n


print(f"{'model':<19}{'tokens right: TF':>17}{'free':>7}{'   after a first error: TF':>28}"
      f"{'free':>7}")
for name, r in results.items():
    free_after, tf_after, n = after_first_error(r)
    print(f"{name:<19}{r.tf_token_accuracy:>17.2%}{r.free_token_accuracy:>7.2%}"
          f"{tf_after:>28.1%}{free_after:>7.1%}   ({n:,} positions)")

# %%
# KP 13.6
for r in results.values():
    teacher_forced_exact = r.tf_correct.sum(1) == r.real.sum(1)
    assert torch.equal(teacher_forced_exact, r.exact)             # the same, date by date
plain_free_after, plain_tf_after, _ = after_first_error(plain_result)
assert plain_tf_after - plain_free_after > 0.2                    # the gap after a mistake
assert plain_result.tf_token_accuracy - plain_result.free_token_accuracy > 0.03

# %% [markdown]
# So, without attention, a teacher-forced token accuracy overstates the free-running one by
# more than 3 points, and after a first mistake the free-running decoder gets over 20 points
# fewer of the remaining characters right than the same model given the true prefix.
#
# **Scheduled sampling** (Bengio et al., 2015) trains on the model's own predictions some of
# the time: at each position the decoder reads the true previous token with probability p, and
# otherwise a token from its own prediction, and p falls during training. (Bengio et al. allow
# either a token sampled from the model's distribution or its most likely one; we feed the
# argmax.) Here p falls linearly from 1 to 0.5 over the same 400 steps, for the model without
# attention (the one that makes mistakes to learn from). Feeding its own predictions means one
# decoder step at a time, so this run is slower. Its coin flips come from the same random
# generator as the batches, so after its first step with p < 1 it draws **different batches**
# from the teacher-forced run: the two runs differ in more than the decoder's inputs.

# %%
def schedule(step):
    """Teacher-forcing probability at a training step: 1 at the start, 0.5 at the end."""
    return 1.0 - 0.5 * step / RECIPE["steps"]


sampled_model = trained(attention=False, teacher_forcing=schedule)
sampled_result = evaluate(sampled_model, test, tgt_vocab)
for name, r in (("teacher forcing", plain_result), ("scheduled sampling", sampled_result)):
    free_after, _, _ = after_first_error(r)
    print(f"{name:<19} loss (TF) {r.loss:.4f}  exact match {r.exact_match:.1%}  "
          f"after a first error, free running: {free_after:.1%} right")

# %% [markdown]
# Is the difference in exact match real, or the luck of these 2,000 dates? Both models answered
# the same dates, so compare them date by date: only the dates that one got right and the
# other wrong say anything. If the two were equally good, each such date would be a coin flip,
# and the difference of the two counts would stay within about two standard deviations,
# 2 √(number of such dates), of zero (McNemar's test, in its normal approximation).

# %%
only_sampled = int((sampled_result.exact & ~plain_result.exact).sum())
only_teacher = int((plain_result.exact & ~sampled_result.exact).sum())
print(f"right only with scheduled sampling: {only_sampled}, only with teacher forcing: "
      f"{only_teacher}; difference {only_sampled - only_teacher}, two standard deviations "
      f"{2 * (only_sampled + only_teacher) ** 0.5:.1f}")

# %% [markdown]
# The share right after a first error is a different question, and a harder one to test: each
# model makes its own first errors, so the two shares are taken over different positions. A
# **bootstrap** over dates asks how much the difference moves with the sample: draw 2,000 of
# the test dates with replacement, 1,000 times, recompute both shares on each draw, and look
# at the middle 95 % of the differences.

# %%
draws = torch.randint(len(test), (1000, len(test)), generator=torch.Generator().manual_seed(0))


def free_after_share(r, rows):
    """The share right free-running after a first error, over the dates ``rows`` (per draw)."""
    n, free, _ = after_first_error_by_date(r)
    return free[rows].sum(-1) / n[rows].sum(-1)


gain = free_after_share(sampled_result, draws) - free_after_share(plain_result, draws)
gain_low, gain_high = gain.quantile(torch.tensor([0.025, 0.975])).tolist()
sampled_free_after, plain_free_after = (after_first_error(r)[0]
                                        for r in (sampled_result, plain_result))
print(f"right after a first error: {sampled_free_after - plain_free_after:+.1%} with scheduled "
      f"sampling; 95 % of the bootstrap draws between {gain_low:+.1%} and {gain_high:+.1%}")

# %% [markdown]
# On this budget and seed, the model trained with scheduled sampling was more robust to its
# own mistakes: after a first wrong character it got more of the remaining ones right, by
# more than 5 points even at the low end of the bootstrap interval. Practising on its own
# errors is the natural explanation, but one pair of runs cannot separate it from the other
# difference between them, the batches they drew, and it is one seed. And it did not write
# measurably more dates exactly right: the difference lies within two standard deviations.
# A measurement of one setting, not a verdict on the method.
#
# The model **with** attention has the smallest gap of all: its teacher-forced and
# free-running token accuracies differ by less than a tenth of a point (the table before).
# That is not because its decoder recovers from a mistake; it is because it rarely makes
# one. After its few first errors the gap is back:

# %%
attention_free_after, attention_tf_after, attention_n = after_first_error(attention_result)
print(f"with attention: a first error in {int((~attention_result.exact).sum())} of "
      f"{len(test):,} dates; after it, {attention_tf_after:.1%} of the {attention_n} remaining "
      f"characters right teacher-forced, {attention_free_after:.1%} free running: a gap of "
      f"{attention_tf_after - attention_free_after:.1%} (without attention: "
      f"{plain_tf_after - plain_free_after:.1%})")

# %% [markdown]
# Attention made mistakes rare, not the decoder robust after one: on its 39 positions after a
# first error (few, so a rough number), the gap between the true prefix and its own is 10.3
# points, against 27.0 for the model without attention.

# %%
# KP 13.6
assert gain_low > 0.05                                       # more robust after a mistake, here
assert abs(only_sampled - only_teacher) < 2 * (only_sampled + only_teacher) ** 0.5
assert torch.equal(sampled_result.tf_correct.sum(1) == sampled_result.real.sum(1),
                   sampled_result.exact)
assert attention_result.tf_token_accuracy - attention_result.free_token_accuracy < 0.001
assert (~attention_result.exact).float().mean() < 0.01       # mistakes are rare ...
assert attention_tf_after - attention_free_after > 0.05      # ... but after one, a gap remains
assert attention_tf_after - attention_free_after < plain_tf_after - plain_free_after

# %% [markdown]
# ## 8. Greedy decoding and beam search
#
# **Greedy decoding** (`greedy_decode`) writes, at every step, the single most probable next
# character and feeds it back in. The product of the chosen probabilities is not necessarily
# the largest over whole outputs: a likely first character can lead to unlikely ones.
#
# **Beam search** keeps the `width` most probable *prefixes* instead of one. At every step it
# extends each by every possible next token, adds the token's log-probability, and keeps the
# `width` best candidates. A prefix ending in `<eos>` is finished: it is carried unchanged and
# keeps competing for a place. Written out, for any model that gives the log-probabilities of
# the next token after a list of prefixes:

# %%
def beam_search_written_out(next_log_probs, width, max_len=12):
    """The most probable output found by a beam of ``width``: (log_prob, tokens).
    ``next_log_probs(prefixes)`` returns one row of next-token log-probabilities per prefix."""
    beam = [(0.0, [BOS])]
    for _ in range(max_len):
        candidates = [c for c in beam if c[1][-1] == EOS]        # finished: carried as they are
        growing = [c for c in beam if c[1][-1] != EOS]
        if not growing:
            break
        rows = next_log_probs([tokens for _, tokens in growing])
        for (log_prob, tokens), row in zip(growing, rows, strict=True):
            candidates += [(log_prob + float(row[token]), tokens + [token])
                           for token in range(EOS, len(row))]   # never <pad> (0) or <bos> (1)
        beam = sorted(candidates, key=lambda c: c[0], reverse=True)[:width]
    return max([c for c in beam if c[1][-1] == EOS] or beam, key=lambda c: c[0])


def scorer(model, source):
    """next_log_probs for a Seq2Seq model and one source: the decoder reads each prefix."""
    src = src_vocab.encode(source).unsqueeze(0)
    def next_log_probs(prefixes):             # all prefixes of one step have the same length
        with torch.no_grad():
            logits, _ = model(src.expand(len(prefixes), -1), torch.tensor([len(source)] *
                              len(prefixes)), torch.tensor(prefixes))
        return torch.log_softmax(logits[:, -1], dim=-1)
    return next_log_probs

# %% [markdown]
# `utils.seq2seq.beam_search` is the same algorithm for a whole batch at once (the beams of all
# sources side by side in one tensor, the decoder's state carried instead of re-reading each
# prefix). On the test set, for both models, greedy against widths 1, 2, 3 and 5: on how many
# dates the beam's output is greedy's own (tied), a different and more probable one (better),
# or a different and *less* probable one (worse).

# %%
def same_output(a, b):
    """Per row, whether two decodings wrote the same tokens (padded to one length)."""
    n = max(a.shape[1], b.shape[1])
    return (F.pad(a, (0, n - a.shape[1]), value=PAD) == F.pad(b, (0, n - b.shape[1]),
                                                              value=PAD)).all(1)


targets, greedy, beams, versus = list(test.targets), {}, {}, {}
print(f"{'model':<19}{'decoder':<9}{'exact match':>12}{'better':>8}{'tied':>6}{'worse':>7}")
for name, model in models.items():
    greedy[name] = greedy_decode(model, test.src, test.src_lengths)
    print(f"{name:<19}{'greedy':<9}"
          f"{exact_match(to_strings(greedy[name].tokens, tgt_vocab), targets):>12.2%}")
    for width in (1, 2, 3, 5):
        beams[name, width] = beam = beam_search(model, test.src, test.src_lengths, width)
        same = same_output(beam.tokens, greedy[name].tokens)
        versus[name, width] = (int((~same & (beam.log_prob > greedy[name].log_prob)).sum()),
                               int(same.sum()),
                               int((~same & (beam.log_prob < greedy[name].log_prob)).sum()))
        print(f"{'':<19}{f'width {width}':<9}"
              f"{exact_match(to_strings(beam.tokens, tgt_vocab), targets):>12.2%}"
              f"{versus[name, width][0]:>8}{versus[name, width][1]:>6}{versus[name, width][2]:>7}")

# %% [markdown]
# On the model with attention every width ties greedy on every date: greedy already finds the
# output beam search would, so this model cannot show what a beam does. The model without
# attention can. There width 5 found a more probable output than greedy for 320 of the 2,000
# dates and a less probable one for none, and took exact match from 34.55 % to 38.90 %. Width
# 2 also did better on 289 dates, but did **worse** on one. So "a wider beam never returns a
# less probable output than greedy" is not a theorem: here it held for widths 3 and 5 and
# failed for width 2.
#
# The proof: width 1 *is* greedy on every test date for both models (a beam of one keeps the
# single best extension); the counts above, as measured (ties everywhere with attention;
# without it, width 5 often better and never worse, width 2 worse at least once); and the
# written-out version returns what the batched one does, on 20 dates where width 5 beats
# greedy and on the date where width 2 loses to it.

# %%
# KP 13.7
plain_greedy, plain_beams = greedy["without attention"], {w: beams["without attention", w]
                                                          for w in (2, 5)}
for name in models:
    n = greedy[name].tokens.shape[1]
    assert torch.equal(beams[name, 1].tokens[:, :n], greedy[name].tokens)   # width 1 = greedy
    assert (beams[name, 1].tokens[:, n:] == PAD).all()
    torch.testing.assert_close(beams[name, 1].log_prob, greedy[name].log_prob)
assert all(versus["with attention", w] == (0, len(test), 0) for w in (2, 3, 5))
better_5, _, worse_5 = versus["without attention", 5]
assert better_5 > 0.1 * len(test) and worse_5 == 0                   # often better, never worse
assert versus["without attention", 2][2] >= 1                        # a wider beam can do worse
assert exact_match(to_strings(plain_beams[5].tokens, tgt_vocab), targets) > \
    plain_result.exact_match + 0.03
worse_date = int((plain_beams[2].log_prob - plain_greedy.log_prob).argmin())
improved = (plain_beams[5].log_prob > plain_greedy.log_prob + 1e-3).nonzero()[:20, 0].tolist()
for width, i in [(5, i) for i in improved] + [(2, worse_date)]:
    log_prob, tokens = beam_search_written_out(scorer(plain_model, test.sources[i]), width)
    assert [tgt_vocab.decode(tokens, skip_specials=True)] == \
        to_strings(plain_beams[width].tokens[i:i + 1], tgt_vocab)
    torch.testing.assert_close(torch.tensor(log_prob), plain_beams[width].log_prob[i])

# %% [markdown]
# How can a wider beam do worse? Greedy's prefix can be pushed out of the beam by prefixes that
# look better early and end worse. A hand-made model over the tokens `a`, `b` and `<eos>` shows
# it with numbers small enough to follow. After `<bos>` it writes `a` with probability 0.5
# and `b` with 0.45; after `a`, `<eos>` is most likely (0.4), so greedy writes `a<eos>`,
# probability 0.5 · 0.4 = 0.2. After `b` both letters have probability 0.4995, so `ba` and `bb`
# (0.2248 each) both beat `a<eos>` and a beam of width 2 drops it; and after `ba` or `bb`,
# `<eos>` has probability 0.8, so the beam ends with 0.18.

# %%
A, B_ = tgt_vocab.token_id("1"), tgt_vocab.token_id("2")        # stand-ins for a and b
TREE = {(): {A: 0.5, B_: 0.45, EOS: 0.05}, (A,): {A: 0.3, B_: 0.3, EOS: 0.4},
        (B_,): {A: 0.4995, B_: 0.4995, EOS: 0.001}}
for first in (A, B_):
    for second in (A, B_):
        TREE[first, second] = {A: 0.1, B_: 0.1, EOS: 0.8}


def tree_log_probs(prefixes):
    rows = torch.full((len(prefixes), len(tgt_vocab)), float("-inf"))
    for row, prefix in zip(rows, prefixes, strict=True):
        for token, p in TREE.get(tuple(prefix[1:]), {A: 1 / 3, B_: 1 / 3, EOS: 1 / 3}).items():
            row[token] = torch.log(torch.tensor(p))
    return rows


tree_result = {w: beam_search_written_out(tree_log_probs, w, max_len=4) for w in (1, 2, 3)}
for w, (log_prob, tokens) in tree_result.items():
    text = "".join({A: "a", B_: "b", EOS: "<eos>"}[t] for t in tokens[1:])
    print(f"width {w}: {text:<9} probability {torch.tensor(log_prob).exp():.4f}")

# %% [markdown]
# Width 2 does worse than width 1 (greedy) *and* than width 3. So does the real date on which
# width 2 lost to greedy, decoded by `utils.seq2seq.beam_search` with the model without
# attention:

# %%
print(f"{test.sources[worse_date]!r}, right answer {test.targets[worse_date]}:")
for label, decoded in (("greedy", plain_greedy), ("width 2", plain_beams[2]),
                       ("width 3", beams["without attention", 3])):
    (output,) = to_strings(decoded.tokens[worse_date:worse_date + 1], tgt_vocab)
    print(f"  {label:<8}{output}  log-probability {decoded.log_prob[worse_date]:.3f}")

# %% [markdown]
# A beam search is a heuristic; only a beam that never prunes is exact. To check that, we need
# a model small enough for **exhaustive search**: random untrained models that write `a`, `b`
# or `<eos>`, at most 5 tokens, whose output layer is scaled by 6 so that their distributions
# are far from uniform. Every output (n letters, then `<eos>`, n = 0 .. 4) can be scored,
# 1 + 2 + 4 + 8 + 16 = 31 of them. After t steps a beam holds at most 2^t ≤ 32 unfinished
# prefixes and 31 finished outputs, so a beam of 64 never has to drop one: a **full beam**.
#
# **Length normalisation.** Every token multiplies the probability by a number below 1, so
# raw log-probability prefers short outputs: a decoder that writes `<eos>` early wins. Beam
# search therefore often ranks the finished hypotheses by `log_prob / length^α`
# (`length_penalty=α`): α = 0 is the raw score, α = 1 the mean log-probability per token (GNMT
# uses a smoothed variant, `((5 + length) / 6)^α`). On dates every right output has the same
# 11 tokens, so it should not matter there. The proof, over 20 tiny models: a full beam equals
# exhaustive search with α = 0 and with α = 1; greedy's output is not the most probable one
# for some of them (so the check is not trivial); α = 1 sometimes prefers a longer output; the
# hand-made model's width-2 beam loses to greedy; and α changes no output on the first 500
# test dates.

# %%
tiny_src_vocab = CharVocab("xyz", specials=SOURCE_SPECIALS)
tiny_tgt_vocab = CharVocab("ab", specials=TARGET_SPECIALS)
tiny_source, tiny_length = tiny_src_vocab.encode("xyzzy").unsqueeze(0), torch.tensor([5])


def tiny_model(seed):
    """A random untrained model writing a, b or <eos>, its output layer scaled by 6."""
    torch.manual_seed(seed)
    model = Seq2Seq(len(tiny_src_vocab), len(tiny_tgt_vocab), embed_size=4, hidden_size=4)
    with torch.no_grad():
        model.decoder.out.weight.mul_(6)
        model.decoder.out.bias.mul_(6)
    return model.eval()

# %%
# KP 13.7
missed, longer = 0, 0
for seed in range(20):
    model, chosen = tiny_model(seed), {}
    for alpha in (0.0, 1.0):
        tokens, log_prob, score = exhaustive_search(model, tiny_source, tiny_length, 5, alpha)
        full = beam_search(model, tiny_source, tiny_length, width=64, max_len=5,
                           length_penalty=alpha)
        assert torch.equal(full.tokens[0, :len(tokens)], tokens)            # full beam = exact
        torch.testing.assert_close(full.score[0], score)
        chosen[alpha] = tokens
    greedy_tokens = greedy_decode(model, tiny_source, tiny_length, max_len=5).tokens[0]
    missed += not torch.equal(greedy_tokens[greedy_tokens != PAD], chosen[0.0])
    longer += len(chosen[1.0]) > len(chosen[0.0])
print(f"greedy's output was not the most probable for {missed} of 20 tiny models; "
      f"α = 1 chose a longer output for {longer}")
assert missed > 0 and longer > 0
assert tree_result[2][0] < tree_result[1][0] and tree_result[2][0] < tree_result[3][0]
normalised = beam_search(attention_model, test.src[:500], test.src_lengths[:500], 5,
                         length_penalty=1.0)
assert to_strings(normalised.tokens, tgt_vocab) == \
    to_strings(beams["with attention", 5].tokens[:500], tgt_vocab)

# %% [markdown]
# ## 9. Where the decoder looks
#
# The attention weights say which source characters each output character used. Four test dates
# in four formats (darker = more weight; Chinese characters are labelled by their pinyin, as
# the plotting font has no Chinese glyphs):

# %%
SHOWN = ("weekday day month year", "the dth of Month yyyy", "Chinese numerals", "m/d/yy")
OUTPUT_FIELDS = {"year": [0, 1, 2, 3], "month": [5, 6], "day": [8, 9]}       # in YYYY-MM-DD
FIELD_AT = {position: field for field, positions in OUTPUT_FIELDS.items() for position in positions}
shown = [next(s for s in test.sources if format_of(s) == fmt) for fmt in SHOWN]
fig, axes = new_figure(ncols=2, nrows=2, width=11, height=6.4)
for ax, source, fmt in zip(axes.flat, shown, SHOWN, strict=True):
    decoded = greedy_decode(attention_model, src_vocab.encode(source).unsqueeze(0),
                            torch.tensor([len(source)]))
    (output,) = to_strings(decoded.tokens, tgt_vocab)
    draw_attention(ax, decoded.weights[0, :len(output)], source, output, f"{fmt} -> {output}")
    looks, spans = [], field_spans(source)
    for t, char in enumerate(output):                 # where each output character looks most
        j = int(decoded.weights[0, t].argmax())
        outside = t in FIELD_AT and not spans[FIELD_AT[t]][0] <= j < spans[FIELD_AT[t]][1]
        looks.append(f"{char}→{source[j]}" + ("!" if outside else ""))
    print(f"{source!r} -> {output}:  {' '.join(looks)}")

# %% [markdown]
# Mostly, the year's digits look at the source's year, the month's at the month (its name, or
# its number), the day's at the day: the decoder has learned *where* each part of the date is
# in every format, which is most of the task. Mostly, not always: each line above gives, for
# every output character, the source character it weighs most (`!` when that lies outside its
# own field). In the Chinese-numerals date the second year digit, `0`, puts most of its weight
# on `日`. In the `m/d/yy` date the century digits `20` look at the `/`, and for a reason: the
# source has no century to look at. A two-digit year is 19xx from 69 up and 20xx below, so
# the century has to be worked out from the two digits that are written, and the weights
# cannot point at it.
#
# Over all 2,000 test dates, the share of each output field's attention that falls on the
# source characters of the same field, beside what a uniform spread over the source would
# give, and the century digits (the year's first two) of the two-digit-year formats on their
# own. These weights come from the **teacher-forced** path (the decoder reads the true previous
# characters, one call for all dates); greedy decoding takes the same path on every date the
# model writes right, 99.50 % of them.

# %%
with torch.no_grad():
    _, test_weights = attention_model(test.src, test.src_lengths, test.tgt_in)   # (N, 11, S)
share, uniform = {field: [] for field in OUTPUT_FIELDS}, {field: [] for field in OUTPUT_FIELDS}
century = {True: [], False: []}             # the century digits' share, two-digit year or not
for n, (source, fmt) in enumerate(zip(test.sources, test_formats, strict=True)):
    spans = field_spans(source)
    for field, positions in OUTPUT_FIELDS.items():
        start, stop = spans[field]
        share[field] += test_weights[n, positions, start:stop].sum(-1).tolist()
        uniform[field].append((stop - start) / len(source))
    two_digit = fmt in TWO_DIGIT_FORMATS
    century[two_digit] += test_weights[n, :2, slice(*spans["year"])].sum(-1).tolist()
share, uniform, century = ({key: sum(v) / len(v) for key, v in d.items()}
                           for d in (share, uniform, century))
for field in OUTPUT_FIELDS:
    print(f"{field:>5}: {share[field]:.1%} of the attention on the source's {field} "
          f"(uniform attention: {uniform[field]:.1%})")
print(f"century digits: {century[True]:.1%} on the source's year when it has two digits, "
      f"{century[False]:.1%} when it has four")

# %%
# KP 13.8
assert all(share[field] > 0.85 for field in OUTPUT_FIELDS)
assert all(share[field] > 2 * uniform[field] for field in OUTPUT_FIELDS)
assert share["year"] > share["month"] and share["year"] > share["day"]
assert century[False] - century[True] > 0.2                # no century written, none looked at

# %% [markdown]
# Each field puts more than 85 % of its attention on its own source characters, more than
# twice what a uniform spread would. The year is the most focused (it is written in full, four
# digits or four Chinese numerals, in ten of the twelve formats), although the century digits
# of a two-digit year, which have no characters of their own, put more than 20 points less of
# their weight on the year than those of a four-digit one.
#
# ## 10. Explore: type a date
#
# Type a date in any format (or pick one) and choose a model: you see its output, whether it
# is a valid ISO date and the right one (when the rules of `utils.dates` can read what you
# typed), and the attention heatmap. Try: `Feb 29, 2023` (a day that does not exist), a date
# in an unusual case like `dec 1, 2026`, a year outside 1900-2099, and the same dates with the
# model without attention.

# %%
explorer = date_explorer(models, src_vocab, tgt_vocab)
explorer

# %% [markdown]
# ## Pitfalls
#
# **A decoder state of the wrong shape.** A bidirectional encoder's `h_n` has one entry per
# direction; handed straight to a one-layer decoder, `nn.LSTM` refuses it. So does the state
# of a two-layer encoder given to a one-layer decoder:

# %%
embedded = plain_model.decoder.embed(tgt_in)
_, (enc_h, enc_c) = plain_model.encoder(src, src_lengths)          # bidirectional: (2, 4, 32)
deep = torch.nn.LSTM(32, 64, num_layers=2, batch_first=True)
_, deep_state = deep(plain_model.encoder.embed(src))                # two layers: (2, 4, 64)
messages = [error_of(lambda: plain_model.decoder.lstm(embedded, (enc_h, enc_c))),
            error_of(lambda: plain_model.decoder.lstm(embedded, deep_state)),
            error_of(lambda: plain_model.decoder(tgt_in, (enc_h, enc_c), memory, mask))]
print(*messages, sep="\n")
assert messages == [
    "RuntimeError: Expected hidden[0] size (1, 4, 64), got [2, 4, 32]",
    "RuntimeError: Expected hidden[0] size (1, 4, 64), got [2, 4, 64]",
    "ValueError: the decoder's initial h must have shape (1, 4, 64) (num_layers, batch, "
    "hidden_size), got (2, 4, 32); from a bidirectional encoder use bridge_state"]

# %% [markdown]
# The first two messages are `nn.LSTM`'s; the third is the `Decoder`'s own check, which names
# the fix. `bridge_state` joins the directions; for a deeper encoder, give the decoder as many
# layers (`Seq2Seq` does), or pass only some layers on purpose.
#
# **Forgetting to mask padded source positions.** Without the mask the softmax gives every
# padded position a weight too, the weights over the real characters no longer sum to 1, and
# the answer depends on how much padding the batch happened to have. On the test set, padded
# to the longest source:

# %%
test_encoded = attention_model.encode(test.src, test.src_lengths)
with torch.no_grad():
    unmasked_logits, _, unmasked_weights = attention_model.decoder(
        test.tgt_in, test_encoded.state, test_encoded.memory, torch.ones_like(test_encoded.mask))
padding = ~test_encoded.mask[:, None, :].expand_as(unmasked_weights)
on_padding = (unmasked_weights * padding).sum(-1)                      # (N, 11)
rows_with_padding = (~test_encoded.mask).any(1)
unmasked_right = ((unmasked_logits.argmax(-1) == test.tgt_out) | ~attention_result.real).all(1)
masked_right = attention_result.tf_correct.sum(1) == attention_result.real.sum(1)
print(f"weight on padding: mean {on_padding[rows_with_padding].mean():.1%}, "
      f"largest {on_padding.max():.1%}; exact match on the teacher-forced path "
      f"{masked_right.float().mean():.2%} with the mask, {unmasked_right.float().mean():.2%} "
      "without")
b = int(rows_with_padding.float().argmax())                            # a padded source ...
n = int(test.src_lengths[b])
with torch.no_grad():
    alone_logits, _ = attention_model(test.src[b:b + 1, :n], test.src_lengths[b:b + 1],
                                      test.tgt_in[b:b + 1])                 # ... run alone
assert (on_padding[rows_with_padding] > 0).all() and (test_weights[padding] == 0).all()
assert not torch.allclose(unmasked_logits[b], alone_logits[0], atol=1e-4)   # padding matters
assert unmasked_right.float().mean() < masked_right.float().mean()

# %% [markdown]
# **A loss over `<pad>`.** Pad the targets with the `<pad>` id and forget `ignore_index`, and
# the loss averages over the padding positions as well: it divides by every position instead
# of the real tokens, and it teaches the model to predict `<pad>` after `<eos>`. Section 4's
# model was untrained, and there the two numbers were close. The trained model, on section 4's
# ragged batch, never learnt to write `<pad>`, so every padded position costs it dearly:

# %%
with torch.no_grad():
    trained_logits, _ = attention_model(r_src, r_lengths, r_in)
padded_target = r_out == IGNORE_INDEX
masked_trained = masked_token_loss(trained_logits, r_out)
over_pad_trained = F.cross_entropy(trained_logits.flatten(0, 1), r_out.clamp(min=0).flatten())
per_pad = F.cross_entropy(trained_logits[padded_target], r_out[padded_target].clamp(min=0))
from_padding = per_pad * padded_target.sum() / (over_pad_trained * padded_target.numel())
print(f"trained model: masked loss {masked_trained:.3f}, over every position "
      f"{over_pad_trained:.3f}; a padded position costs {per_pad:.1f} on average (p(<pad>) "
      f"about {(-per_pad).exp():.0e}), {from_padding:.0%} of the loss over every position")
assert over_pad_trained > 2 * masked_trained and from_padding > 0.5

# %% [markdown]
# The loss over every position is more than twice the right one, most of it from the padding,
# and its gradient would push the model towards writing `<pad>` there. (The masked loss is high
# too: this model never saw a target cut short, like `1923` followed by `<eos>`.) The reverse
# slip is loud: targets padded with -100 but a loss told to ignore `<pad>` (id 0) reads -100
# as a class:

# %%
message = error_of(lambda: F.cross_entropy(r_logits.flatten(0, 1), r_out.flatten(),
                                           ignore_index=PAD))
print(message)
assert message == "IndexError: Target -100 is out of bounds."

# %% [markdown]
# ## Exercises
#
# Replace `None` with your answer and run the cell; the checker says whether it is right.
#
# **Exercise 1.** A bidirectional encoder with `num_layers=2` and `hidden_size=32` reads a
# batch of 256 sources. What shape must the decoder's initial `h` have after `bridge_state`?
# Give a tuple.

# %%
answer_1 = None
nb13.check_decoder_state_shape(answer_1)

# %% [markdown]
# <details><summary>Solution</summary>
#
# `(2, 256, 64)`: `h_n` is `(4, 256, 32)` (layer by layer, forward before backward), and each
# layer's two directions are concatenated: `nb13.check_decoder_state_shape((2, 256, 64))`.
#
# </details>
#
# **Exercise 2.** Exhaustive search over our date decoder: it can write 11 tokens besides
# `<eos>` (ten digits and `-`), and an output has at most 11 tokens (a date and `<eos>`). How
# many outputs would exhaustive search score for *one* source? A whole number.

# %%
answer_2 = None
nb13.check_exhaustive_count(answer_2)

# %% [markdown]
# <details><summary>Solution</summary>
#
# An output of n + 1 tokens is n free tokens then `<eos>`, n = 0 .. 10: `sum(11 ** n for n in
# range(11))` = 28,531,167,061, which is why `exhaustive_search` refuses it
# (`nb13.check_exhaustive_count(28_531_167_061)`).
#
# </details>
#
# **Exercise 3.** Build the attention mask for a batch whose sources have lengths 5, 2 and 3,
# padded to 5 positions: a `(3, 5)` bool tensor, True at the real characters.

# %%
mask_3 = None   # your tensor here
nb13.check_source_mask(mask_3)

# %% [markdown]
# <details><summary>Solution</summary>
#
# `mask_3 = torch.arange(5) < torch.tensor([5, 2, 3])[:, None]`, which broadcasts a row of
# positions against a column of lengths (`utils.sequences.length_mask([5, 2, 3], 5)` does the
# same).
#
# </details>
#
# **Exercise 4.** A beam ends with two finished hypotheses: A with log-probability −1.2 and 3
# tokens, B with −1.8 and 6 tokens. Which does beam search return with `length_penalty=1.0`?
# Answer `"A"` or `"B"`.

# %%
answer_4 = None
nb13.check_length_normalised_choice(answer_4)

# %% [markdown]
# <details><summary>Solution</summary>
#
# `"B"`: the scores are −1.2 / 3 = −0.4 and −1.8 / 6 = −0.3. With `length_penalty=0` A wins on
# its raw log-probability.
#
# </details>

# %% [markdown]
# ## Key takeaways
#
# - The decoder starts from the encoder's final `(h, c)`; a bidirectional encoder's two
#   directions are concatenated per layer, `(2·L, B, H)` → `(L, B, 2H)`, and a state of the
#   wrong shape is refused by `nn.LSTM`.
# - `<bos>` starts the output, `<eos>` ends it, `<pad>` fills batches; teacher forcing feeds the
#   true previous token, so a whole target trains in one call; the loss skips padded targets
#   (`ignore_index=-100`) and is the mean over real tokens.
# - Attention lets the decoder look at every source position: weights that sum to 1, exactly 0
#   on padding (masked before the softmax), and a context vector. On the same budget it took
#   exact match from under 60 % to at least 95 % of unseen dates, in every format.
# - Exact match, not token accuracy, is the metric; teacher-forced scores overstate free running
#   after a first mistake (exposure bias). Attention made mistakes rare rather than the decoder
#   robust after one. The run with scheduled sampling (one seed, different batches) was more
#   robust after a mistake, without a measurable change in exact match.
# - Beam width 1 is greedy; a full beam is exhaustive search; an ordinary beam is a heuristic
#   that often ties greedy, sometimes finds a more probable output, and can do worse. Without
#   attention, width 5 found a more probable output for 320 of 2,000 test dates and never a
#   less probable one (exact match 34.55 % → 38.90 %); width 2 did worse on one date; with
#   attention every width tied greedy. Normalise by length when outputs differ in length.
#
# **Where attention led.** Attention began as a helper for a recurrent decoder. Vaswani et al.
# (2017) asked what happens if attention is all there is, and the Transformer replaced the
# recurrence with attention over every position at once. Notebook 19, later in the course,
# compares an LSTM with a Transformer.
#
# Before this one: [12 · Tagging every step](12_tagging_every_step.ipynb); back to the start:
# [00 · The whole picture](00_the_whole_picture.ipynb). Next comes notebook 14, on speed.

# %%
print(run_summary(notebook_started))

# %% [markdown] tags=["course-nav"]
# ---
#
# **Part III · Text** · notebook 14 of 20
#
# Previous: [12 · Tagging every step](12_tagging_every_step.ipynb) · Next: [14 · Speed](14_speed.ipynb), which opens Part IV · Engineering · [The map of the course](00_the_whole_picture.ipynb#cell-id=cell-015) · [Find your question](../README.md#find-your-question)

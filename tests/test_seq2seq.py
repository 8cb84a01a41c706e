"""utils.seq2seq: the hand-off, attention and its mask, the masked loss, teacher forcing, the
decoders (beam width 1 is greedy, a full beam is exhaustive search), training, bad input."""

import re

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from utils.dates import CHARACTERS, date_pairs
from utils.seq2seq import (
    BOS,
    EOS,
    PAD,
    SOURCE_SPECIALS,
    TARGET_SPECIALS,
    Decoder,
    Encoder,
    LuongAttention,
    Seq2Seq,
    beam_search,
    bridge_state,
    decoder_inputs,
    encode_pairs,
    evaluate,
    exact_match,
    exhaustive_search,
    greedy_decode,
    masked_token_loss,
    sequence_log_prob,
    teacher_forced_predictions,
    to_strings,
    train_seq2seq,
    translate,
)
from utils.sequences import IGNORE_INDEX, pad_batch
from utils.text import CharVocab

SRC = CharVocab(CHARACTERS, specials=SOURCE_SPECIALS)
TGT = CharVocab("0123456789-", specials=TARGET_SPECIALS)
TINY_SRC = CharVocab("xyz", specials=SOURCE_SPECIALS)
TINY_TGT = CharVocab("ab", specials=TARGET_SPECIALS)


ONE_PAIR = encode_pairs([("1.2.03", "2003-02-01")], SRC, TGT)


@pytest.fixture(scope="module")
def dates():
    return encode_pairs(date_pairs(40, 2, 12, seed=5).train, SRC, TGT)


def date_model(seed=0, attention=True, **kwargs):
    torch.manual_seed(seed)
    return Seq2Seq(len(SRC), len(TGT), 8, 8, attention=attention, **kwargs).eval()


def tiny_model(seed):
    """A random tiny model with sharp next-token distributions (the output layer scaled)."""
    torch.manual_seed(seed)
    model = Seq2Seq(len(TINY_SRC), len(TINY_TGT), 4, 4).eval()
    with torch.no_grad():
        model.decoder.out.weight.mul_(6)
        model.decoder.out.bias.mul_(6)
    return model


def tiny_source(text="xyzzy"):
    return TINY_SRC.encode(text).unsqueeze(0), torch.tensor([len(text)])


# --- the data ---------------------------------------------------------------------------

def test_specials_and_the_shifted_target(dates):
    assert (TGT.token_id("<pad>"), TGT.token_id("<bos>"), TGT.token_id("<eos>")) == (PAD, BOS, EOS)
    assert SRC.token_id("<pad>") == PAD
    assert dates.tgt_in.shape == dates.tgt_out.shape == (40, 11)
    assert (dates.tgt_in[:, 0] == BOS).all() and (dates.tgt_out[:, -1] == EOS).all()
    assert torch.equal(dates.tgt_in[:, 1:], dates.tgt_out[:, :-1])   # the previous target token
    assert torch.equal(decoder_inputs(dates.tgt_out), dates.tgt_in)
    for n, (source, length) in enumerate(zip(dates.sources, dates.src_lengths, strict=True)):
        assert length == len(source) and (dates.src[n, length:] == PAD).all()
        assert SRC.decode(dates.src[n, :length]) == source
    ragged = encode_pairs([("1.2.03", "1"), ("Dec 1, 2026", "2026-12-01")], SRC, TGT)
    assert ragged.tgt_out[0].tolist()[:3] == [TGT.token_id("1"), EOS, IGNORE_INDEX]
    assert ragged.tgt_in[0].tolist()[:3] == [BOS, TGT.token_id("1"), PAD]
    assert torch.equal(decoder_inputs(ragged.tgt_out), ragged.tgt_in)


def test_same_length_batches_have_no_padding(dates):
    generator = torch.Generator().manual_seed(0)
    for _ in range(20):
        src, lengths, _, _ = dates.batch(dates.same_length_batch(16, generator))
        assert (lengths == src.shape[1]).all()
    assert sum(len(rows) for rows in dates.by_length.values()) == len(dates)


# --- the hand-off -----------------------------------------------------------------------

def test_bridge_state_concatenates_each_layer_s_two_directions():
    torch.manual_seed(0)
    lstm = nn.LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=True)
    out, (h_n, c_n) = lstm(torch.randn(4, 7, 3))
    h_0, c_0 = bridge_state(h_n, c_n, num_layers=2, bidirectional=True)
    assert h_0.shape == c_0.shape == (2, 4, 10)
    for layer in range(2):
        assert torch.equal(h_0[layer, :, :5], h_n[2 * layer])        # forward
        assert torch.equal(h_0[layer, :, 5:], h_n[2 * layer + 1])    # backward
        assert torch.equal(c_0[layer, :, 5:], c_n[2 * layer + 1])
    torch.testing.assert_close(h_0[-1], torch.cat([out[:, -1, :5], out[:, 0, 5:]], dim=1))
    uni_h, uni_c = bridge_state(h_n[:2], c_n[:2], num_layers=2, bidirectional=False)
    assert uni_h is h_n[:2] or torch.equal(uni_h, h_n[:2])


def test_the_encoder_reads_real_steps_and_the_decoder_starts_from_it():
    model = date_model(bidirectional=True)
    sources = ["1.2.03", "Dec 1, 2026", "2026年12月1日"]
    src, lengths = pad_batch([SRC.encode(s) for s in sources], PAD)
    memory, (h_n, _) = model.encoder(src, lengths)
    assert memory.shape == (3, 11, 16) and h_n.shape == (2, 3, 8)
    for b, source in enumerate(sources):
        alone, (h_alone, _) = model.encoder(SRC.encode(source).unsqueeze(0),
                                            torch.tensor([len(source)]))   # unpacked path
        torch.testing.assert_close(memory[b, :len(source)], alone[0])
        torch.testing.assert_close(h_n[:, b], h_alone[:, 0])
        assert (memory[b, len(source):] == 0).all()
    encoded = model.encode(src, lengths)
    assert encoded.state[0].shape == (1, 3, 16)
    assert encoded.mask.tolist()[0] == [True] * 6 + [False] * 5


def test_the_decoder_refuses_a_state_of_the_wrong_shape():
    model = date_model()
    src, lengths = SRC.encode("1.2.03").unsqueeze(0), torch.tensor([6])
    memory, (h_n, c_n) = model.encoder(src, lengths)
    mask = torch.ones(1, 6, dtype=torch.bool)
    with pytest.raises(ValueError, match=re.escape("must have shape (1, 1, 16)") + ".*"
                       + re.escape("got (2, 1, 8)")):
        model.decoder(torch.tensor([[BOS]]), (h_n, c_n), memory, mask)
    with pytest.raises(RuntimeError, match=re.escape("Expected hidden[0] size (1, 1, 16)")):
        model.decoder.lstm(model.decoder.embed(torch.tensor([[BOS]])), (h_n, c_n))
    with pytest.raises(ValueError, match=r"h_n of an encoder.*\(4, batch, hidden\)"):
        bridge_state(h_n, c_n, num_layers=2, bidirectional=True)


# --- attention --------------------------------------------------------------------------

def test_attention_weights_sum_to_one_and_are_exactly_zero_on_padding():
    torch.manual_seed(0)
    attention = LuongAttention(6, 4)
    memory, query = torch.randn(3, 5, 4), torch.randn(3, 2, 6)
    lengths = torch.tensor([5, 2, 3])
    mask = torch.arange(5) < lengths[:, None]
    context, weights = attention(query, memory, mask)
    assert weights.shape == (3, 2, 5) and context.shape == (3, 2, 4)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 2))
    assert (weights.masked_select(~mask[:, None, :].expand_as(weights)) == 0).all()
    assert (weights.masked_select(mask[:, None, :].expand_as(weights)) > 0).all()
    torch.testing.assert_close(context, torch.einsum("bts,bsm->btm", weights, memory))
    scores = query @ attention.W_a.weight @ memory.transpose(1, 2)   # h^T W_a s
    torch.testing.assert_close(weights[0], torch.softmax(scores[0], -1))
    # without the mask, the padded positions take weight, and the padding changes the result
    _, unmasked = attention(query, memory, torch.ones_like(mask))
    assert (unmasked[1, :, 2:] > 0).all()


def test_a_source_gives_the_same_output_alone_and_in_a_padded_batch(dates):
    model = date_model()
    src, lengths, tgt_in, _ = dates.batch(slice(0, 8))
    logits, weights = model(src, lengths, tgt_in)
    for b in range(8):
        n = int(lengths[b])
        alone, alone_weights = model(src[b:b + 1, :n], lengths[b:b + 1], tgt_in[b:b + 1])
        torch.testing.assert_close(logits[b], alone[0])
        torch.testing.assert_close(weights[b, :, :n], alone_weights[0])
        assert (weights[b, :, n:] == 0).all()


# --- teacher forcing and the loss -------------------------------------------------------

def test_teacher_forcing_in_one_call_equals_the_step_loop(dates):
    for attention in (True, False):
        model = date_model(attention=attention)
        src, lengths, tgt_in, _ = dates.batch(slice(0, 6))
        logits, _ = model(src, lengths, tgt_in)
        encoded = model.encode(src, lengths)
        state, steps = encoded.state, []
        for t in range(tgt_in.shape[1]):
            step_logits, state, _ = model.decoder.step(tgt_in[:, t], state, encoded.memory,
                                                       encoded.mask)
            steps.append(step_logits)
        torch.testing.assert_close(logits, torch.stack(steps, 1))


def test_masked_loss_is_the_mean_over_real_tokens():
    torch.manual_seed(0)
    logits = torch.randn(3, 5, 7)
    targets = torch.tensor([[1, 2, 3, 4, 5], [6, 1, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX],
                            [3, 3, 3, IGNORE_INDEX, IGNORE_INDEX]])
    real = targets != IGNORE_INDEX
    log_probs = torch.log_softmax(logits, -1)
    by_hand = -sum(log_probs[b, t, targets[b, t]] for b, t in real.nonzero().tolist()) / 10
    torch.testing.assert_close(masked_token_loss(logits, targets), by_hand)
    over_pad = F.cross_entropy(logits.flatten(0, 1), targets.clamp(min=0).flatten())
    assert abs(over_pad - by_hand) > 0.05            # a loss over <pad> (id 0) is another number


def test_sequence_log_prob_scores_what_greedy_wrote(dates):
    model = date_model()
    src, lengths, _, _ = dates.batch(slice(0, 10))
    decoded = greedy_decode(model, src, lengths, max_len=6)
    targets = decoded.tokens.masked_fill(decoded.tokens == PAD, IGNORE_INDEX)
    torch.testing.assert_close(sequence_log_prob(model, src, lengths, targets), decoded.log_prob)


# --- decoding ---------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(4))
def test_beam_width_one_is_greedy(dates, seed):
    model = date_model(seed)
    src, lengths, _, _ = dates.batch(slice(0, 20))
    greedy = greedy_decode(model, src, lengths, max_len=12)
    beam = beam_search(model, src, lengths, width=1, max_len=12)
    width = greedy.tokens.shape[1]
    assert torch.equal(beam.tokens[:, :width], greedy.tokens)
    assert (beam.tokens[:, width:] == PAD).all()
    torch.testing.assert_close(beam.log_prob, greedy.log_prob)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("length_penalty", [0.0, 0.7, 1.0])
def test_a_full_beam_is_exhaustive_search(seed, length_penalty):
    model = tiny_model(seed)
    src, lengths = tiny_source()
    tokens, log_prob, score = exhaustive_search(model, src, lengths, 5, length_penalty)
    full = beam_search(model, src, lengths, width=64, max_len=5, length_penalty=length_penalty)
    assert torch.equal(full.tokens[0, :len(tokens)], tokens)
    torch.testing.assert_close(full.log_prob[0], log_prob)
    torch.testing.assert_close(full.score[0], score)
    torch.testing.assert_close(score, log_prob / len(tokens) ** length_penalty)


def test_greedy_can_miss_the_best_output():
    src, lengths = tiny_source()
    missed = 0
    for seed in range(8):
        model = tiny_model(seed)
        best = exhaustive_search(model, src, lengths, 5)[0]
        greedy = greedy_decode(model, src, lengths, 5).tokens[0]
        missed += not torch.equal(greedy[greedy != PAD], best)
    assert missed                         # so the full-beam proof above is not trivial


def test_length_normalisation_can_prefer_a_longer_output():
    src, lengths = tiny_source()
    changed = 0
    for seed in range(12):
        model = tiny_model(seed)
        raw = exhaustive_search(model, src, lengths, 5, 0.0)[0]
        normalised = exhaustive_search(model, src, lengths, 5, 1.0)[0]
        assert len(normalised) >= len(raw)
        changed += len(normalised) > len(raw)
    assert changed


def test_strings_and_exact_match():
    tokens = torch.tensor([[TGT.token_id("1"), TGT.token_id("-"), EOS, PAD],
                           [TGT.token_id("2"), TGT.token_id("2"), TGT.token_id("2"),
                            TGT.token_id("2")]])
    assert to_strings(tokens, TGT) == ["1-", "2222"]
    assert exact_match(["2026-12-01", "2026-12-02"], ["2026-12-01", "2026-12-01"]) == 0.5
    assert exact_match(["1"], ["1"]) == 1.0


# --- training and evaluation ------------------------------------------------------------

def test_training_lowers_the_loss_and_is_seeded(dates):
    histories = []
    for _ in range(2):
        model = date_model(3)
        histories.append(train_seq2seq(model, dates, steps=30, batch_size=16, lr=1e-2,
                                       log_every=10))
    assert histories[0] == histories[1]
    assert histories[0][-1][1] < histories[0][0][1]
    sampled = train_seq2seq(date_model(3), dates, steps=10, batch_size=16, log_every=5,
                            teacher_forcing=lambda step: 1 - step / 20, same_length=False)
    assert [step for step, _ in sampled] == [5, 10]


def test_teacher_forced_and_free_running_exact_match_agree(dates):
    model = date_model(1)
    train_seq2seq(model, dates, steps=40, batch_size=16, lr=1e-2)
    result = evaluate(model, dates, TGT, batch_size=15)
    tf_exact = result.tf_correct.sum(1) == result.real.sum(1)
    assert torch.equal(tf_exact, result.exact)       # a right output is the teacher-forced path
    predictions, _ = translate(model, list(dates.sources), SRC, TGT)
    assert predictions == result.predictions
    tf = teacher_forced_predictions(model, *dates.batch(slice(0, 40))[:3])
    assert torch.equal((tf == dates.tgt_out) & result.real, result.tf_correct)


# --- bad input --------------------------------------------------------------------------

@pytest.mark.parametrize("call, error, words", [
    (lambda: encode_pairs([("a", "b")], TGT, TGT), ValueError, "specials=('<pad>', '<unk>')"),
    (lambda: encode_pairs([("1.2.03", "")], SRC, TGT), TypeError, "pairs[0] must be"),
    (lambda: encode_pairs("1.2.03", SRC, TGT), ValueError, "non-empty list"),
    (lambda: bridge_state(torch.zeros(2, 1, 3), torch.zeros(2, 1, 3), 1, False), ValueError,
     "must have shape (1, batch, hidden), got (2, 1, 3)"),
    (lambda: bridge_state(torch.zeros(2, 1, 3), torch.zeros(2, 1, 4), 1, True), ValueError,
     "the same shape"),
    (lambda: bridge_state(torch.zeros(2, 1, 3), torch.zeros(2, 1, 3), 1, "yes"), TypeError,
     "bidirectional must be a bool"),
    (lambda: masked_token_loss(torch.zeros(2, 3, 5), torch.zeros(2, 4, dtype=torch.long)),
     ValueError, "got (2, 3, 5) and (2, 4)"),
    (lambda: masked_token_loss(torch.zeros(2, 3, 5), torch.zeros(2, 3)), TypeError,
     "torch.long, got torch.float32"),
    (lambda: masked_token_loss(torch.zeros(1, 2, 5), torch.tensor([[1, 0]]) - 1), ValueError,
     "outside [0, 4]"),
    (lambda: masked_token_loss(torch.zeros(1, 1, 5), torch.tensor([[IGNORE_INDEX]])), ValueError,
     "no real token"),
    (lambda: LuongAttention(4, 4)(torch.zeros(1, 1, 4), torch.zeros(1, 3, 4),
                                  torch.ones(1, 3)), ValueError, "mask must be a bool tensor"),
    (lambda: greedy_decode(nn.LSTM(2, 2), torch.zeros(1, 2, dtype=torch.long), [2]), TypeError,
     "model must be a Seq2Seq"),
    (lambda: greedy_decode(date_model(), torch.zeros(1, 2), [2]), TypeError, "torch.long"),
    (lambda: greedy_decode(date_model(), torch.zeros(1, 2, dtype=torch.long), [3]), ValueError,
     "every length must be in [1, 2]"),
    (lambda: beam_search(date_model(), torch.zeros(1, 2, dtype=torch.long), [2], width=0),
     ValueError, "width must be >= 1, got 0"),
    (lambda: beam_search(date_model(), torch.zeros(1, 2, dtype=torch.long), [2], 2,
                         length_penalty=-1), ValueError, "length_penalty must be"),
    (lambda: exhaustive_search(date_model(), torch.zeros(1, 2, dtype=torch.long), [2], 11),
     ValueError, "28,531,167,061 outputs"),
    (lambda: exhaustive_search(date_model(), torch.zeros(2, 2, dtype=torch.long), [2, 2], 2),
     ValueError, "one source"),
    (lambda: train_seq2seq(date_model(), None, steps=1), TypeError, "PairData"),
    (lambda: train_seq2seq(date_model(), encode_pairs([("1.2.03", "2003-02-01")], SRC, TGT),
                           steps=2, teacher_forcing=1.5), ValueError, "in [0, 1], got 1.5"),
    (lambda: exact_match(["a"], ["a", "b"]), ValueError, "got 1 and 2"),
    (lambda: exact_match("a", ["a"]), TypeError, "list of strings"),
    (lambda: Encoder(10, 4, 0), ValueError, "hidden_size must be >= 1"),
    (lambda: Decoder(10, 4, 4, 4, attention=1), TypeError, "attention must be a bool"),
    # the training recipe: a negative max_norm flips the gradients, 0 zeroes them
    (lambda: train_seq2seq(date_model(), ONE_PAIR, steps=1, max_norm=-1.0), ValueError,
     "max_norm must be a finite number > 0 or None, got -1.0"),
    (lambda: train_seq2seq(date_model(), ONE_PAIR, steps=1, max_norm=0), ValueError,
     "max_norm must be a finite number > 0 or None, got 0"),
    (lambda: train_seq2seq(date_model(), ONE_PAIR, steps=1, max_norm="1"), TypeError,
     "max_norm must be a finite number > 0 or None, got str ('1')"),
    (lambda: train_seq2seq(date_model(), ONE_PAIR, steps=1, lr=0.0), ValueError,
     "lr must be a finite number > 0, got 0.0"),
    (lambda: train_seq2seq(date_model(), ONE_PAIR, steps=1, lr=-1e-3), ValueError,
     "lr must be a finite number > 0, got -0.001"),
    (lambda: train_seq2seq(date_model(), ONE_PAIR, steps=1, lr=float("nan")), ValueError,
     "lr must be a finite number > 0, got nan"),
    (lambda: train_seq2seq(date_model(), ONE_PAIR, steps=1, lr=None), TypeError,
     "lr must be a finite number > 0, got NoneType (None)"),
    (lambda: train_seq2seq(date_model(), ONE_PAIR, steps=2, teacher_forcing="0.5"), TypeError,
     "must be a number in [0, 1] (or a function of the step returning one), got str ('0.5')"),
    (lambda: train_seq2seq(date_model(), ONE_PAIR, steps=2, teacher_forcing=lambda step: None),
     TypeError, "got NoneType (None) at step 0"),
    # attention: a source with no real position, widths that do not fit W_a, wrong types
    (lambda: LuongAttention(4, 6)(torch.zeros(2, 1, 4), torch.zeros(2, 3, 6),
                                  torch.tensor([[True, False, False], [False] * 3])),
     ValueError, "every row of mask needs at least one True (a real source position), got "
     "none in row 1"),
    (lambda: LuongAttention(4, 6)(torch.zeros(1, 2, 4), torch.zeros(1, 3, 5),
                                  torch.ones(1, 3, dtype=torch.bool)), ValueError,
     "query must be (batch, tgt_len, 4) and memory (batch, src_len, 6) with the same batch, "
     "got query (1, 2, 4) and memory (1, 3, 5)"),
    (lambda: LuongAttention(4, 6)(torch.zeros(1, 2, 5), torch.zeros(1, 3, 6),
                                  torch.ones(1, 3, dtype=torch.bool)), ValueError,
     "got query (1, 2, 5) and memory (1, 3, 6)"),
    (lambda: LuongAttention(4, 6)(torch.zeros(1, 2, 4), [[0.0]], None), TypeError,
     "memory must be a torch.Tensor, got list"),
    (lambda: masked_token_loss([[0.0]], torch.zeros(1, 1, dtype=torch.long)), TypeError,
     "logits must be a torch.Tensor, got list"),
    (lambda: masked_token_loss(torch.zeros(1, 1, 5), (0,)), TypeError,
     "targets must be a torch.Tensor, got tuple"),
    # ids outside the vocabulary (the embedding's raw IndexError otherwise)
    (lambda: greedy_decode(date_model(), torch.tensor([[3, len(SRC)]]), [2]), ValueError,
     f"src must hold ids in [0, {len(SRC) - 1}] (a vocabulary of {len(SRC)}), got id "
     f"{len(SRC)}"),
    (lambda: date_model().encoder(torch.tensor([[-2, 3]]), [2]), ValueError,
     f"src must hold ids in [0, {len(SRC) - 1}]"),
    (lambda: date_model()(torch.tensor([[3, 4]]), [2], torch.tensor([[BOS, len(TGT)]])),
     ValueError, f"tgt_in must hold ids in [0, {len(TGT) - 1}] (a vocabulary of {len(TGT)}), "
     f"got id {len(TGT)}"),
    (lambda: to_strings(torch.tensor([[3, 99]]), TGT), ValueError,
     f"tokens must hold ids in [0, {len(TGT) - 1}]"),
    (lambda: beam_search(date_model(), torch.zeros(1, 2, dtype=torch.long), [2], 2,
                         length_penalty="1"), TypeError,
     "length_penalty must be a finite number >= 0, got str ('1')"),
    (lambda: beam_search(date_model(), torch.zeros(1, 2, dtype=torch.long), [2], 2,
                         length_penalty=float("inf")), ValueError, "got inf"),
    # translate
    (lambda: translate(date_model(), ["1.2.03"], SRC, TGT, batch_size=0), ValueError,
     "batch_size must be >= 1, got 0"),
    (lambda: translate(date_model(), "1.2.03", SRC, TGT), TypeError,
     "sources must be a non-empty list of non-empty strings, got str"),
    (lambda: translate(date_model(), [], SRC, TGT), TypeError, "got an empty list"),
    (lambda: translate(date_model(), ["1.2.03", 7], SRC, TGT), TypeError, "got an entry 7"),
    (lambda: translate(date_model(), ["1.2.03"], SRC, SRC), ValueError,
     "tgt_vocab must be built with specials=('<pad>', '<bos>', '<eos>')"),
])
def test_bad_input_is_refused(call, error, words):
    with pytest.raises(error, match=re.escape(words)):
        call()


def test_beam_search_in_chunks_gives_the_same_results(dates):
    model = date_model(2)
    src, lengths, _, _ = dates.batch(slice(0, 40))
    whole = beam_search(model, src, lengths, width=3, chunk=40)
    chunked = beam_search(model, src, lengths, width=3, chunk=7)
    for name in ("tokens", "log_prob", "score", "lengths", "beam_tokens", "beam_finished"):
        a, b = getattr(whole, name), getattr(chunked, name)
        width = max(a.shape[-1], b.shape[-1]) if a.dim() > 1 else None
        if width:
            a, b = (F.pad(t, (0, width - t.shape[-1]), value=PAD) for t in (a, b))
        torch.testing.assert_close(a, b)


def test_why_max_norm_must_be_positive():
    """What train_seq2seq refuses: clip_grad_norm_ with a negative max_norm multiplies every
    gradient by a negative number (a step then climbs the loss), and with 0 zeroes them."""
    for max_norm, sign in ((-1.0, -1), (0.0, 0)):
        weight = nn.Parameter(torch.tensor([3.0, 4.0]))
        (weight * torch.tensor([3.0, 4.0])).sum().backward()       # gradient (3, 4), norm 5
        nn.utils.clip_grad_norm_([weight], max_norm)
        torch.testing.assert_close(weight.grad, sign * torch.tensor([0.6, 0.8]),
                                   atol=1e-6, rtol=0)


def test_a_mask_row_with_no_real_position_would_give_nan():
    """What LuongAttention refuses: the softmax over a row of -inf scores is NaN."""
    scores = torch.zeros(1, 1, 3).masked_fill(torch.ones(1, 1, 3, dtype=torch.bool), float("-inf"))
    assert torch.softmax(scores, dim=-1).isnan().all()
    with pytest.raises(ValueError, match="at least one True"):
        LuongAttention(2, 2)(torch.zeros(1, 1, 2), torch.zeros(1, 3, 2),
                             torch.zeros(1, 3, dtype=torch.bool))

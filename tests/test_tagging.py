"""utils.tagging: the segmentation data, the tags, the tagger, the CRF against brute force."""

import itertools
import math

import pytest
import torch

from utils.sequences import IGNORE_INDEX
from utils.tagging import (
    BMES,
    B,
    E,
    LinearChainCRF,
    M,
    S,
    SegmentedLine,
    Tagger,
    all_tag_paths,
    bmes_from_ends,
    bmes_tags,
    bmes_violations,
    boundary_f1,
    brute_force_best_path,
    brute_force_log_partition,
    end_tags,
    ends_from_bmes,
    length_buckets,
    make_batch,
    normalise_words,
    segment,
    segmentation_split,
    tagger_parameter_count,
    verse_lines,
)
from utils.text import CharVocab

PLAY = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n" \
       "-- !\n\nFirst Citizen:\nYou are all resolved rather to die than to famish?\n"


def random_crf(num_tags=3, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    crf = LinearChainCRF(num_tags).to(dtype)
    with torch.no_grad():
        for p in crf.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=dtype))
    return crf


def random_emissions(batch, seq_len, num_tags, seed=1, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, seq_len, num_tags, generator=g, dtype=dtype)


# ------------------------------------------------------------------------------------ data

def test_normalise_words_keeps_letters_and_apostrophes_lowercased():
    assert normalise_words("Before we proceed any further, hear me speak.") == \
        ["before", "we", "proceed", "any", "further", "hear", "me", "speak"]
    assert normalise_words("'Tis not -- a mile; I'll go!") == ["'tis", "not", "a", "mile", "i'll",
                                                                 "go"]
    assert normalise_words("' -- 42") == []
    with pytest.raises(TypeError, match="str"):
        normalise_words(["a"])


def test_verse_lines_skip_speakers_blanks_and_empty_lines_and_keep_offsets():
    lines = verse_lines(PLAY)
    assert [line.words for line in lines] == [
        ("before", "we", "proceed", "any", "further", "hear", "me", "speak"),
        ("speak", "speak"),
        ("you", "are", "all", "resolved", "rather", "to", "die", "than", "to", "famish")]
    for line in lines:
        raw = PLAY[line.offset:PLAY.index("\n", line.offset)]
        assert tuple(normalise_words(raw)) == line.words


def test_tags_of_one_line():
    words = ["i", "am", "the", "queen"]
    assert end_tags(words) == [1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1]
    assert "".join(BMES[t] for t in bmes_tags(words)) == "SBEBMEBMMME"
    line = SegmentedLine(0, tuple(words))
    assert line.text == "iamthequeen" and len(line) == 11
    assert line.ends == end_tags(words) and line.bmes == bmes_tags(words)
    assert segment(line.text, line.ends) == words


def test_bmes_is_a_function_of_the_end_tags_and_back():
    for n in range(1, 8):
        for ends in itertools.product((0, 1), repeat=n):
            if ends[-1] != 1:
                continue
            words = segment("x" * n, list(ends))
            assert bmes_from_ends(list(ends)) == bmes_tags(words)
            assert ends_from_bmes(bmes_tags(words)) == list(ends)
            assert bmes_violations(bmes_tags(words)) == 0


def test_bmes_violations_count_each_broken_rule():
    assert bmes_violations([B, E, S]) == 0
    assert bmes_violations([M, E]) == 1          # starts inside a word
    assert bmes_violations([B, M]) == 1          # ends inside a word
    assert bmes_violations([B, B, E]) == 1       # B after B
    assert bmes_violations([E, M, B]) == 4       # start, E->M, M->B, end
    assert bmes_violations([S]) == 0 and bmes_violations([B]) == 1


def test_bad_tags_are_refused_with_clear_errors():
    with pytest.raises(ValueError, match=r"ends\[1\] = 2"):
        bmes_from_ends([0, 2, 1])
    with pytest.raises(ValueError, match="must end with 1"):
        bmes_from_ends([1, 0])
    with pytest.raises(ValueError, match="empty"):
        ends_from_bmes([])
    with pytest.raises(ValueError, match=r"tags\[0\] = 4"):
        ends_from_bmes([4])
    with pytest.raises(TypeError, match="int"):
        ends_from_bmes([0.5])
    with pytest.raises(ValueError, match="one tag per character"):
        segment("abc", [0, 1])
    with pytest.raises(ValueError, match="empty"):
        end_tags([])
    with pytest.raises(ValueError, match="without spaces"):
        bmes_tags(["to be"])
    with pytest.raises(TypeError, match="list of str"):
        end_tags("tobe")


def test_the_corpus_split_is_by_position_and_every_line_is_consistent():
    train, test = segmentation_split()
    assert len(train) == 23_000 and len(test) == 2_555
    assert max(line.offset for line in train) < min(line.offset for line in test)
    assert {line.offset for line in train}.isdisjoint(line.offset for line in test)
    for line in train[:500] + test[:500]:
        assert segment(line.text, line.ends) == list(line.words)
        assert bmes_from_ends(line.ends) == line.bmes
        assert set(line.text) <= set("abcdefghijklmnopqrstuvwxyz'")
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        segmentation_split(PLAY, test_fraction=1.0)
    with pytest.raises(ValueError, match="too few"):
        segmentation_split("A:\nword\n", test_fraction=0.5)


def test_make_batch_pads_ids_with_pad_and_tags_with_ignore_index():
    lines = verse_lines(PLAY)
    vocab = CharVocab("".join(line.text for line in lines), specials=("<pad>",))
    ids, lengths, tags = make_batch(lines, vocab)
    assert lengths.dtype == torch.int64 and lengths.device.type == "cpu"
    assert lengths.tolist() == [len(line) for line in lines]
    assert ids.shape == tags.shape == (3, max(lengths))
    for b, line in enumerate(lines):
        n = len(line)
        assert vocab.decode(ids[b, :n]) == line.text
        assert tags[b, :n].tolist() == line.bmes
        assert (ids[b, n:] == 0).all() and (tags[b, n:] == IGNORE_INDEX).all()
    _, _, ends = make_batch(lines, vocab, scheme="ends")
    assert ends[0, :len(lines[0])].tolist() == lines[0].ends
    with pytest.raises(ValueError, match="scheme"):
        make_batch(lines, vocab, scheme="bio")
    with pytest.raises(ValueError, match="<pad>"):
        make_batch(lines, CharVocab("abc"))
    with pytest.raises(ValueError, match="non-empty"):
        make_batch([], vocab)
    with pytest.raises(TypeError, match="lines must be a list of SegmentedLine.*str"):
        make_batch("to be", vocab)
    with pytest.raises(TypeError, match="lines must be a list of SegmentedLine.*SegmentedLine"):
        make_batch(lines[0], vocab)
    with pytest.raises(TypeError, match=r"lines\[0\] must be a SegmentedLine.*got str 'abc'"):
        make_batch(["abc", "de"], vocab)
    with pytest.raises(TypeError, match="CharVocab"):
        make_batch(lines, "abc")


def test_length_buckets_hold_one_length_each_and_cover_every_line():
    train, _ = segmentation_split()
    lines = train[:3000]
    for generator in (None, torch.Generator().manual_seed(0)):
        batches = length_buckets(lines, 64, generator)
        assert sorted(i for batch in batches for i in batch) == list(range(len(lines)))
        assert all(1 <= len(batch) <= 64 for batch in batches)
        assert all(len({len(lines[i]) for i in batch}) == 1 for batch in batches)
    assert length_buckets(lines, 64, torch.Generator().manual_seed(0)) == \
        length_buckets(lines, 64, torch.Generator().manual_seed(0))
    with pytest.raises(TypeError, match="Generator"):
        length_buckets(lines, 64, generator=0)
    with pytest.raises(TypeError, match=r"lines\[0\] must be a SegmentedLine.*got str 'abc'"):
        length_buckets(["abc", "de"], 2)                # plain strings: refused, not bucketed
    with pytest.raises(TypeError, match="lines must be a list of SegmentedLine .*got str"):
        length_buckets("abc", 2)
    with pytest.raises(TypeError, match="got SegmentedLine"):
        length_buckets(lines[0], 2)
    with pytest.raises(TypeError, match="got int"):
        length_buckets(5, 2)
    with pytest.raises(ValueError, match="non-empty"):
        length_buckets([], 2)


# ------------------------------------------------------------------------------------ CRF

def test_score_is_the_sum_of_start_emissions_transitions_and_end():
    crf = random_crf(3)
    e = random_emissions(2, 4, 3)
    tags = torch.tensor([[0, 2, 2, 1], [1, 0, IGNORE_INDEX, IGNORE_INDEX]])
    lengths = [4, 2]
    by_hand = []
    for b, n in enumerate(lengths):
        y = tags[b, :n].tolist()
        total = crf.start[y[0]] + crf.end[y[-1]] + sum(e[b, t, y[t]] for t in range(n))
        total = total + sum(crf.transitions[y[t - 1], y[t]] for t in range(1, n))
        by_hand.append(total)
    torch.testing.assert_close(crf.score(e, tags, lengths), torch.stack(by_hand))


@pytest.mark.parametrize("num_tags, lengths", [(2, [1]), (3, [5, 2, 4]), (4, [4, 1, 3, 4])])
def test_forward_algorithm_equals_brute_force(num_tags, lengths):
    for seed in range(3):
        crf = random_crf(num_tags, seed)
        e = random_emissions(len(lengths), max(lengths), num_tags, seed + 10)
        torch.testing.assert_close(crf.log_partition(e, lengths),
                                   brute_force_log_partition(crf, e, lengths))


def test_forward_algorithm_by_hand_for_one_two_step_sequence():
    crf = random_crf(2)
    e = random_emissions(1, 2, 2)
    terms = [crf.start[i] + e[0, 0, i] + crf.transitions[i, j] + e[0, 1, j] + crf.end[j]
             for i in range(2) for j in range(2)]
    torch.testing.assert_close(crf.log_partition(e, [2])[0], torch.logsumexp(torch.stack(terms), 0))


@pytest.mark.parametrize("num_tags, lengths", [(2, [3]), (3, [5, 2, 4]), (4, [4, 1, 3, 4])])
def test_viterbi_equals_the_brute_force_best_path(num_tags, lengths):
    for seed in range(3):
        crf = random_crf(num_tags, seed)
        e = random_emissions(len(lengths), max(lengths), num_tags, seed + 20)
        paths, scores = crf.decode(e, lengths)
        best_paths, best_scores = brute_force_best_path(crf, e, lengths)
        assert torch.equal(paths, best_paths)
        torch.testing.assert_close(scores, best_scores)
        torch.testing.assert_close(crf.score(e, paths, lengths), scores)
        for b, n in enumerate(lengths):
            assert (paths[b, n:] == IGNORE_INDEX).all()


def test_padding_steps_change_nothing():
    crf = random_crf(3)
    e = random_emissions(3, 6, 3)
    lengths = [6, 2, 4]
    noisy = e.clone()
    for b, n in enumerate(lengths):
        noisy[b, n:] = 100 * torch.randn(6 - n, 3, dtype=e.dtype)
    tags = torch.randint(0, 3, (3, 6))
    torch.testing.assert_close(crf.log_partition(noisy, lengths), crf.log_partition(e, lengths))
    torch.testing.assert_close(crf.score(noisy, tags, lengths), crf.score(e, tags, lengths))
    assert torch.equal(crf.decode(noisy, lengths)[0], crf.decode(e, lengths)[0])
    for b, n in enumerate(lengths):  # each sequence alone, cut to its length
        alone = e[b:b + 1, :n]
        torch.testing.assert_close(crf.log_partition(e, lengths)[b],
                                   crf.log_partition(alone, [n])[0])
    # without the lengths the padding is read as real steps
    assert not torch.allclose(crf.log_partition(noisy, [6, 6, 6])[1:], crf.log_partition(e, lengths)[1:])


def test_nll_is_minus_the_log_probability_and_probabilities_sum_to_one():
    crf = random_crf(3)
    e = random_emissions(1, 4, 3)
    paths = all_tag_paths(3, 4)
    nll = crf.nll(e.expand(len(paths), 4, 3), paths, [4] * len(paths), reduction="none")
    assert (nll > 0).all()
    torch.testing.assert_close(torch.exp(-nll).sum(), torch.tensor(1.0, dtype=e.dtype))
    tags = paths[:2]
    two = e.expand(2, 4, 3)
    losses = crf.nll(two, tags, [4, 4], reduction="none")
    torch.testing.assert_close(crf.nll(two, tags, [4, 4]), losses.mean())
    torch.testing.assert_close(crf.nll(two, tags, [4, 4], reduction="sum"), losses.sum())
    torch.testing.assert_close(crf.nll(two, tags, [4, 4], reduction="per_step"), losses.sum() / 8)
    with pytest.raises(ValueError, match="reduction"):
        crf.nll(two, tags, [4, 4], reduction="max")


def test_a_fresh_crf_is_a_per_step_softmax():
    crf = LinearChainCRF(4)
    e = random_emissions(3, 5, 4, dtype=torch.float32)
    lengths = [5, 3, 1]
    tags = torch.randint(0, 4, (3, 5))
    tags[1, 3:] = IGNORE_INDEX
    tags[2, 1:] = IGNORE_INDEX
    per_step = torch.nn.functional.cross_entropy(e.flatten(0, 1), tags.flatten(), reduction="sum")
    torch.testing.assert_close(crf.nll(e, tags, lengths, reduction="sum"), per_step)
    torch.testing.assert_close(crf.marginals(e, lengths)[0], e[0].softmax(-1))


def test_marginals_equal_brute_force_and_sum_to_one():
    crf = random_crf(3)
    e = random_emissions(2, 4, 3)
    lengths = [4, 2]
    marginals = crf.marginals(e, lengths)
    for b, n in enumerate(lengths):
        paths = all_tag_paths(3, n)
        scores = crf.score(e[b:b + 1, :n].expand(len(paths), n, 3), paths, [n] * len(paths))
        probs = (scores - torch.logsumexp(scores, 0)).exp()
        expected = torch.stack([torch.stack([probs[paths[:, t] == k].sum() for k in range(3)])
                                for t in range(n)])
        torch.testing.assert_close(marginals[b, :n], expected)
        assert (marginals[b, n:] == 0).all()
    assert not e.requires_grad


def test_the_crf_trains_its_transitions_and_passes_gradients_to_the_emissions():
    crf = LinearChainCRF(3)
    e = random_emissions(2, 4, 3, dtype=torch.float32).requires_grad_(True)
    crf.nll(e, torch.tensor([[0, 1, 2, 0], [2, 2, 0, 0]]), [4, 3]).backward()
    assert crf.transitions.grad.abs().sum() > 0 and crf.start.grad.abs().sum() > 0
    assert e.grad[:, :3].abs().sum() > 0 and (e.grad[1, 3] == 0).all()


def test_crf_bad_input_is_refused_with_clear_errors():
    crf = LinearChainCRF(3)
    e = random_emissions(2, 4, 3, dtype=torch.float32)
    tags = torch.zeros(2, 4, dtype=torch.long)
    with pytest.raises(ValueError, match="at least one step"):
        crf.log_partition(torch.zeros(2, 0, 3), [1, 1])
    with pytest.raises(ValueError, match=r"\[1, 4\].*lengths\[1\] = 5"):
        crf.log_partition(e, [4, 5])
    with pytest.raises(ValueError, match=r"\[1, 4\].*lengths\[0\] = 0"):
        crf.decode(e, [0, 4])
    with pytest.raises(TypeError, match="lengths must hold integers.*float"):
        crf.log_partition(e, torch.tensor([4.0, 2.0]))
    with pytest.raises(TypeError, match="lengths must be"):
        crf.log_partition(e, 4)
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        crf.log_partition(e, [4])
    bad = tags.clone()
    bad[1, 2] = 3
    with pytest.raises(ValueError, match=r"tags\[1, 2\] = 3 is outside the 3 classes"):
        crf.nll(e, bad, [4, 4])
    bad[1, 2] = IGNORE_INDEX   # -100 at a real step: the lengths and the tags disagree
    with pytest.raises(ValueError, match=r"tags\[1, 2\] = -100"):
        crf.score(e, bad, [4, 4])
    assert torch.isfinite(crf.score(e, bad, [4, 2])).all()   # at a padding step it is fine
    with pytest.raises(TypeError, match="integer tag ids"):
        crf.nll(e, tags.float(), [4, 4])
    with pytest.raises(ValueError, match=r"\(2, 4\)"):
        crf.nll(e, tags[:, :3], [4, 4])
    with pytest.raises(ValueError, match=r"\(batch, seq_len, 3\).*\(2, 4, 2\)"):
        crf.log_partition(e[..., :2], [4, 4])
    with pytest.raises(TypeError, match="floating point"):
        crf.log_partition(tags.unsqueeze(-1).expand(2, 4, 3), [4, 4])
    with pytest.raises(TypeError, match="tensor"):
        crf.decode(e.tolist(), [4, 4])
    with pytest.raises(ValueError, match="limit"):
        all_tag_paths(4, 31)
    with pytest.raises(TypeError, match="LinearChainCRF"):
        brute_force_log_partition(torch.nn.Linear(3, 3), e, [4, 4])


# --------------------------------------------------------------------------------- tagger

def lines_and_vocab():
    lines = verse_lines(PLAY)
    return lines, CharVocab("".join(line.text for line in lines), specials=("<pad>",))


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("crf", [False, True])
def test_tagger_scores_every_step_and_equal_each_line_alone(bidirectional, crf):
    lines, vocab = lines_and_vocab()
    torch.manual_seed(0)
    model = Tagger(len(vocab), 4, 8, 6, bidirectional=bidirectional, crf=crf)
    ids, lengths, tags = make_batch(lines, vocab)
    scores = model(ids, lengths)
    assert scores.shape == (3, ids.shape[1], 4)
    for b, line in enumerate(lines):
        n = len(line)
        alone = model(ids[b:b + 1, :n], [n])[0]
        torch.testing.assert_close(scores[b, :n], alone)
    predicted = model.predict(ids, lengths)
    probs = model.tag_probabilities(ids, lengths)
    for b, n in enumerate(lengths.tolist()):
        assert (predicted[b, n:] == IGNORE_INDEX).all() and (predicted[b, :n] >= 0).all()
        torch.testing.assert_close(probs[b, :n].sum(-1), torch.ones(n))
        assert (probs[b, n:] == 0).all()
    loss = model.loss(ids, lengths, tags)
    loss.backward()
    assert loss.dim() == 0 and model.embedding.weight.grad[0].abs().sum() == 0  # <pad> row
    assert sum(p.numel() for p in model.parameters()) == tagger_parameter_count(
        len(vocab), 4, 8, 6, bidirectional, crf)


def test_tagger_loss_is_the_mean_over_real_steps():
    lines, vocab = lines_and_vocab()
    torch.manual_seed(0)
    model = Tagger(len(vocab), 4, 8, 6, bidirectional=True)
    ids, lengths, tags = make_batch(lines, vocab)
    scores = model(ids, lengths)
    real = [torch.nn.functional.cross_entropy(scores[b, :n], tags[b, :n], reduction="sum")
            for b, n in enumerate(lengths.tolist())]
    torch.testing.assert_close(model.loss(ids, lengths, tags), sum(real) / lengths.sum())


@pytest.mark.parametrize("crf", [False, True])
def test_the_lengths_decide_the_padding_whatever_the_padded_tags_hold(crf):
    lines, vocab = lines_and_vocab()
    torch.manual_seed(0)
    model = Tagger(len(vocab), 4, 8, 6, bidirectional=True, crf=crf)
    ids, lengths, tags = make_batch(lines, vocab)
    padding = tags == IGNORE_INDEX
    assert padding.any()
    expected = model.loss(ids, lengths, tags)
    for value in (0, 7, 3):        # pad_sequence's default, an out-of-range id, a real tag
        padded = tags.masked_fill(padding, value)
        torch.testing.assert_close(model.loss(ids, lengths, padded), expected)
    if not crf:                    # what an unmasked cross-entropy gives is another number
        unmasked = torch.nn.functional.cross_entropy(model(ids, lengths).flatten(0, 1),
                                                     tags.masked_fill(padding, 0).flatten())
        assert not torch.isclose(unmasked, expected)


def test_the_unpadded_fast_path_equals_packing():
    lines, vocab = lines_and_vocab()
    torch.manual_seed(0)
    model = Tagger(len(vocab), 4, 8, 6, bidirectional=True)
    ids = vocab.encode(lines[1].text).unsqueeze(0).repeat(2, 1)       # no padding at all
    n = ids.shape[1]
    from utils.sequences import run_packed
    packed_out, _ = run_packed(model.lstm, model.embedding(ids), [n, n])
    torch.testing.assert_close(model(ids, [n, n]), model.head(packed_out))


def test_tagger_bad_input_is_refused_with_clear_errors():
    lines, vocab = lines_and_vocab()
    model = Tagger(len(vocab), 4, 8, 6, bidirectional=True, crf=True)
    ids, lengths, tags = make_batch(lines, vocab)
    with pytest.raises(ValueError, match="at least one step"):
        model(ids[:, :0], lengths)
    with pytest.raises(ValueError, match=rf"\[1, {ids.shape[1]}\]"):
        model(ids, lengths + 1)
    with pytest.raises(TypeError, match="lengths"):
        model(ids, lengths.float())
    with pytest.raises(TypeError, match="integer ids"):
        model(ids.float(), lengths)
    with pytest.raises(ValueError, match=r"ids must be in \[0, "):
        model(ids + len(vocab), lengths)
    bad = tags.clone()
    bad[0, 0] = 4
    with pytest.raises(ValueError, match="outside the 4 classes"):
        model.loss(ids, lengths, bad)
    plain = Tagger(len(vocab), 4, 8, 6)
    with pytest.raises(ValueError, match="outside the 4 classes"):
        plain.loss(ids, lengths, bad)
    with pytest.raises(TypeError, match="bidirectional must be a bool"):
        Tagger(len(vocab), 4, bidirectional="yes")
    with pytest.raises(ValueError, match="padding_idx"):
        Tagger(5, 4, padding_idx=5)


# ------------------------------------------------------------------------------- scoring

def test_boundary_f1_counts_inner_boundaries_only():
    gold = [[1, 0, 1, 0, 0, 1]]          # "a bc def": inner ends at 0 and 2
    predicted = [[1, 0, 0, 1, 0, 1]]     # one right (0), one missed (2), one wrong (3)
    score = boundary_f1(predicted, gold)
    assert (score.true_positives, score.false_positives, score.false_negatives) == (1, 1, 1)
    assert score.precision == score.recall == score.f1 == 0.5
    perfect = boundary_f1(gold, gold)
    assert perfect.f1 == 1.0
    nothing = boundary_f1([[0, 0, 0, 0, 0, 1]], gold)
    assert nothing.precision == 0.0 and nothing.f1 == 0.0 and nothing.recall == 0.0
    pooled = boundary_f1(predicted + gold, gold + gold)
    assert (pooled.true_positives, pooled.false_positives, pooled.false_negatives) == (3, 1, 1)
    assert math.isclose(pooled.f1, 0.75)
    with pytest.raises(ValueError, match="line 0"):
        boundary_f1([[1, 1]], [[1, 0, 1]])
    with pytest.raises(ValueError, match="lines"):
        boundary_f1([], [[1]])
    with pytest.raises(TypeError, match="padded tensor"):
        boundary_f1(torch.ones(1, 3), gold)
    with pytest.raises(ValueError, match=r"predicted\[0\]\[1\] = 2|predicted\[0\]"):
        boundary_f1([[1, 2, 1, 0, 0, 1]], gold)

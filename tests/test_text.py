import math

import pytest
import torch

from utils.text import (
    SPECIAL_TOKENS,
    CharVocab,
    load_shakespeare,
    sample,
    sampling_probs,
    split_text,
    stream_batches,
)

# ---------------------------------------------------------------- CharVocab


def test_vocab_is_the_sorted_characters():
    vocab = CharVocab("hello world")
    assert vocab.chars == (" ", "d", "e", "h", "l", "o", "r", "w")
    assert len(vocab) == 8
    ids = vocab.encode("hello")
    assert ids.dtype == torch.long and ids.tolist() == [3, 2, 4, 4, 5]
    assert vocab.decode(ids) == "hello"
    assert vocab.decode([0, 1]) == " d"
    assert repr(vocab) == "CharVocab(8 characters)"


def test_encode_decode_round_trip_on_the_corpus():
    text = load_shakespeare()
    vocab = CharVocab(text)
    assert len(vocab) == 65
    piece = text[:5000]
    assert vocab.decode(vocab.encode(piece)) == piece


def test_unknown_character_names_it_and_its_position():
    vocab = CharVocab("abc")
    with pytest.raises(ValueError, match=r"'z' at position 2 .* 3 characters.*<unk>"):
        vocab.encode("abzc")


def test_opt_in_unk_token():
    vocab = CharVocab("abc", specials=("<pad>", "<unk>"))
    assert vocab.tokens == ("<pad>", "<unk>", "a", "b", "c")
    assert vocab.token_id("<pad>") == 0 and vocab.token_id("<unk>") == 1
    assert vocab.encode("azb").tolist() == [2, 1, 3]
    assert vocab.decode([2, 1, 3, 0]) == "a<unk>b<pad>"
    assert vocab.decode([2, 1, 3, 0], skip_specials=True) == "ab"
    assert repr(vocab) == "CharVocab(3 characters, specials ('<pad>', '<unk>'))"


def test_the_character_model_pays_nothing_for_specials():
    plain, special = CharVocab("abc"), CharVocab("abc", specials=SPECIAL_TOKENS)
    assert len(plain) == 3 and len(special) == 7
    assert "<pad>" not in plain and "<pad>" in special
    assert special.encode("ab", bos=True, eos=True).tolist() == [2, 4, 5, 3]
    with pytest.raises(ValueError, match="'<bos>' is not in this vocabulary"):
        plain.encode("ab", bos=True)


def test_vocab_bad_inputs():
    with pytest.raises(TypeError, match="text must be a str, got list"):
        CharVocab(["a", "b"])
    with pytest.raises(ValueError, match="empty"):
        CharVocab("")
    with pytest.raises(ValueError, match="among .*'<mask>'"):
        CharVocab("abc", specials=("<mask>",))
    with pytest.raises(TypeError, match="tuple of tokens"):
        CharVocab("abc", specials="<pad>")
    with pytest.raises(ValueError, match="repeats"):
        CharVocab("abc", specials=("<pad>", "<pad>"))
    vocab = CharVocab("abc")
    with pytest.raises(TypeError, match="text must be a str, got bytes"):
        vocab.encode(b"ab")
    with pytest.raises(ValueError, match=r"id 3 is outside .*\[0, 2\]"):
        vocab.decode([0, 3])
    with pytest.raises(ValueError, match=r"id -1 is outside"):
        vocab.decode(torch.tensor([-1]))
    with pytest.raises(TypeError, match="dtype torch.float32"):
        vocab.decode(torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"1-D .*\(1, 2\)"):
        vocab.decode(torch.tensor([[0, 1]]))
    with pytest.raises(TypeError, match="ints, got 1.0"):
        vocab.decode([0, 1.0])
    with pytest.raises(TypeError, match="got str"):
        vocab.decode("ab")
    with pytest.raises(ValueError, match="'d' is not in this vocabulary"):
        vocab.token_id("d")

# ---------------------------------------------------------------- stream_batches


def test_stream_batches_shapes_and_shift():
    ids = torch.arange(100)
    batches = stream_batches(ids, batch_size=4, seq_len=5)
    assert batches.inputs.shape == (4, 24)                     # (100 - 1) // 4 = 24 per stream
    assert len(batches) == 4                                   # 24 // 5, the rest left out
    for x, y in batches:
        assert x.shape == y.shape == (4, 5) and x.dtype == torch.long
        torch.testing.assert_close(y, x + 1)                   # the next id of arange


def test_row_b_continues_across_batches():
    ids = torch.randint(0, 50, (1000,), generator=torch.Generator().manual_seed(0))
    batches = list(stream_batches(ids, batch_size=3, seq_len=7))
    L = (1000 - 1) // 3
    for b in range(3):
        row = torch.cat([x[b] for x, _ in batches])
        torch.testing.assert_close(row, ids[b * L: b * L + len(row)])
        targets = torch.cat([y[b] for _, y in batches])
        torch.testing.assert_close(targets, ids[b * L + 1: b * L + 1 + len(row)])
    starts = torch.arange(3) * L
    for k, ((_, y0), (x1, _)) in enumerate(zip(batches, batches[1:], strict=False)):
        boundary = ids[starts + 7 * (k + 1)]                  # the text at the batch boundary
        torch.testing.assert_close(y0[:, -1], boundary)       # the last target of batch k ...
        torch.testing.assert_close(x1[:, 0], boundary)        # ... is batch k + 1's first input


def test_stream_batches_is_reiterable_and_indexable():
    batches = stream_batches(torch.arange(50), 2, 4)
    assert len(list(batches)) == len(list(batches)) == 6
    torch.testing.assert_close(batches[-1][0], batches[5][0])
    with pytest.raises(IndexError, match="6 batches"):
        batches[6]
    assert "2 streams of 24 ids, 6 batches of (2, 4)" in repr(batches)


def test_stream_batches_bad_inputs():
    with pytest.raises(ValueError, match=r"20 ids, too few .*4 x seq_len 5 needs at least 21"):
        stream_batches(torch.arange(20), 4, 5)
    assert len(stream_batches(torch.arange(21), 4, 5)) == 1
    with pytest.raises(TypeError, match="dtype torch.float32"):
        stream_batches(torch.arange(100.0), 4, 5)
    with pytest.raises(ValueError, match=r"1-D .*\(10, 10\)"):
        stream_batches(torch.arange(100).view(10, 10), 4, 5)
    with pytest.raises(TypeError, match="got list"):
        stream_batches(list(range(100)), 4, 5)
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        stream_batches(torch.arange(100), 0, 5)
    with pytest.raises(TypeError, match="seq_len must be an int"):
        stream_batches(torch.arange(100), 4, 5.0)

# ---------------------------------------------------------------- sampling_probs


def test_temperature_one_is_softmax():
    logits = torch.tensor([2.0, 1.0, 0.0, -1.0])
    torch.testing.assert_close(sampling_probs(logits), torch.softmax(logits, -1))
    expected = torch.exp(logits / 0.5) / torch.exp(logits / 0.5).sum()
    torch.testing.assert_close(sampling_probs(logits, 0.5), expected)


def test_temperature_zero_is_greedy():
    logits = torch.tensor([[0.1, 3.0, 3.0, -2.0], [5.0, 0.0, 1.0, 2.0]])
    probs = sampling_probs(logits, temperature=0)
    assert probs.tolist() == [[0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]]   # first on a tie


def test_temperature_moves_entropy():
    logits = torch.randn(65, generator=torch.Generator().manual_seed(0)) * 3

    def entropy(t):
        p = sampling_probs(logits, t)
        return -(p * p.clamp_min(1e-30).log()).sum().item()
    values = [entropy(t) for t in (0.25, 0.5, 1.0, 2.0, 8.0)]
    assert values == sorted(values)
    assert values[-1] < math.log(65) and math.log(65) - values[-1] < 0.1


def test_top_k_keeps_k_and_renormalises():
    logits = torch.tensor([1.0, 4.0, 2.0, 3.0, 0.0])
    probs = sampling_probs(logits, top_k=2)
    assert (probs > 0).tolist() == [False, True, False, True, False]
    torch.testing.assert_close(probs.sum(), torch.tensor(1.0))
    torch.testing.assert_close(probs[[1, 3]], torch.softmax(torch.tensor([4.0, 3.0]), -1))
    tie = sampling_probs(torch.zeros(5), top_k=3)
    assert (tie > 0).sum() == 3                                 # exactly k, even on ties
    torch.testing.assert_close(sampling_probs(logits, top_k=5), torch.softmax(logits, -1))
    assert sampling_probs(logits, top_k=1).argmax() == 1


def test_sampling_probs_bad_inputs():
    logits = torch.zeros(5)
    with pytest.raises(ValueError, match=r">= 0 .*got -0.5"):
        sampling_probs(logits, -0.5)
    with pytest.raises(ValueError, match="got nan"):
        sampling_probs(logits, float("nan"))
    with pytest.raises(TypeError, match="temperature must be a number, got str"):
        sampling_probs(logits, "1")
    with pytest.raises(ValueError, match=r"top_k must be in \[1, 5\] .*got 0"):
        sampling_probs(logits, top_k=0)
    with pytest.raises(ValueError, match=r"top_k must be in \[1, 5\] .*got 6"):
        sampling_probs(logits, top_k=6)
    with pytest.raises(TypeError, match="top_k must be an int"):
        sampling_probs(logits, top_k=2.0)
    with pytest.raises(TypeError, match="floating point"):
        sampling_probs(torch.tensor([1, 2]))
    with pytest.raises(TypeError, match="got list"):
        sampling_probs([1.0, 2.0])
    with pytest.raises(ValueError, match="non-empty last dimension"):
        sampling_probs(torch.tensor(1.0))
    with pytest.raises(ValueError, match="2 of 5 are NaN or infinite"):
        sampling_probs(torch.tensor([0.0, float("nan"), 1.0, float("inf"), 2.0]))
    with pytest.raises(ValueError, match="1 of 6 are NaN or infinite"):
        sampling_probs(torch.tensor([[0.0, 1.0, 2.0], [0.0, float("-inf"), 1.0]]), top_k=2)
    with pytest.raises(ValueError, match="1 of 3"):
        sampling_probs(torch.tensor([0.0, float("nan"), 1.0]), temperature=0)

# ---------------------------------------------------------------- sample


class Counter(torch.nn.Module):
    """A model that puts all its mass on (last id + 1) mod V; its state counts the calls."""

    def __init__(self, vocab_size):
        super().__init__()
        self.vocab_size = vocab_size
        self.scale = torch.nn.Parameter(torch.tensor(10.0))

    def forward(self, ids, state):
        logits = self.scale * torch.nn.functional.one_hot((ids + 1) % self.vocab_size,
                                                          self.vocab_size).float()
        return logits, (0 if state is None else state) + 1


class Uniform(torch.nn.Module):
    def __init__(self, vocab_size):
        super().__init__()
        self.bias = torch.nn.Parameter(torch.zeros(vocab_size))

    def forward(self, ids, state):
        return self.bias.expand(*ids.shape, -1), state


def test_sample_starts_with_the_prompt_and_follows_the_model():
    vocab = CharVocab("abcd")
    model = Counter(4)
    assert sample(model, vocab, "ab", 6, temperature=0) == "abcdabcd"
    assert sample(model, vocab, "d", 3, temperature=1.0, top_k=1) == "dabc"
    assert sample(model, vocab, "abc", 0) == "abc"


def test_sample_is_reproducible_with_a_generator():
    vocab = CharVocab("abcdefgh")
    model = Uniform(8)
    first = sample(model, vocab, "a", 50, generator=torch.Generator().manual_seed(1))
    again = sample(model, vocab, "a", 50, generator=torch.Generator().manual_seed(1))
    other = sample(model, vocab, "a", 50, generator=torch.Generator().manual_seed(2))
    assert first == again and first != other and len(first) == 51
    assert len(set(first)) == 8                                   # uniform: every character


def test_sample_restores_the_mode_and_stops_at_eos():
    vocab = CharVocab("ab", specials=("<eos>",))                   # ids: <eos> 0, a 1, b 2
    model = Counter(3)                                             # b (2) -> <eos> (0)
    model.train()
    assert sample(model, vocab, "a", 10, temperature=0) == "ab<eos>"
    assert model.training


def test_sample_bad_inputs():
    vocab, model = CharVocab("abcd"), Counter(4)
    with pytest.raises(ValueError, match="prompt is empty"):
        sample(model, vocab, "", 5)
    with pytest.raises(ValueError, match="'z' at position 1"):
        sample(model, vocab, "az", 5)
    with pytest.raises(ValueError, match="length must be >= 0, got -1"):
        sample(model, vocab, "a", -1)
    with pytest.raises(ValueError, match=r"top_k must be in \[1, 4\]"):
        sample(model, vocab, "a", 5, top_k=5)
    with pytest.raises(ValueError, match="temperature"):
        sample(model, vocab, "a", 5, temperature=-1)
    with pytest.raises(TypeError, match="torch.Generator"):
        sample(model, vocab, "a", 5, generator=0)
    with pytest.raises(TypeError, match="nn.Module"):
        sample(lambda ids, state: (ids, state), vocab, "a", 5)
    with pytest.raises(ValueError, match=r"logits of shape \(1, t, 5\).*\(1, 1, 4\)"):
        sample(model, CharVocab("abcde"), "a", 5)

# ---------------------------------------------------------------- the corpus


def test_corpus_and_split():
    text = load_shakespeare()
    assert len(text) == 1_115_394 and len(set(text)) == 65
    assert text.startswith("First Citizen:\n")
    train, val = split_text(text)
    assert len(train) == 1_003_854 and train + val == text      # in order, nothing lost
    assert set(train) == set(text)                              # every character seen in training


def test_corpus_checks(tmp_path):
    short = tmp_path / "short.txt"
    short.write_text("First Citizen:\n", encoding="utf-8")
    with pytest.raises(ValueError, match="expected 1,115,394 characters, got 15"):
        load_shakespeare(short)
    with pytest.raises(FileNotFoundError, match="no file 'missing.txt'"):
        load_shakespeare(tmp_path / "missing.txt")
    with pytest.raises(ValueError, match=r"val_fraction must be in \(0, 1\), got 1.5"):
        split_text("abcdef", 1.5)
    with pytest.raises(ValueError, match="too short"):
        split_text("abc", 0.1)
    with pytest.raises(TypeError, match="text must be a str"):
        split_text(None)

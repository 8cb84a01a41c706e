"""utils.words: tokenising, a vocabulary fitted on training text only, and the <unk> rate."""

import pytest
import torch

from utils.words import PAD, UNK, WordVocab, tokenize

TRAIN = ["The food was great!", "Great phone, great price.", "The food was cold."]


def test_tokenize_keeps_words_and_punctuation():
    assert tokenize("Don't buy it!!") == ["don't", "buy", "it", "!", "!"]
    assert tokenize("10/10  Great.") == ["10", "/", "10", "great", "."]
    assert tokenize("Café must-stop") == ["café", "must", "-", "stop"]
    assert tokenize("") == []
    with pytest.raises(TypeError, match="text must be a str"):
        tokenize(3)


def test_vocab_layout_and_order():
    vocab = WordVocab(TRAIN)
    assert vocab.tokens[:2] == (PAD, UNK) and (vocab.pad_id, vocab.unk_id) == (0, 1)
    assert vocab.tokens[2] == "great"        # commonest first (3 times)
    assert vocab.tokens[3:7] == (".", "food", "the", "was")   # twice each, alphabetical
    assert len(vocab) == 2 + len({t for text in TRAIN for t in tokenize(text)})


def test_encode_decode_and_unknown_words():
    vocab = WordVocab(TRAIN)
    ids = vocab.encode("The food was awful!")
    assert ids.dtype == torch.long and ids.dim() == 1
    assert ids[3].item() == vocab.unk_id and (ids != vocab.unk_id).sum() == 4
    assert vocab.decode(ids) == "the food was <unk> !"
    assert vocab.encode("").tolist() == []
    with pytest.raises(ValueError, match=r"\[0, \d+\].*99"):
        vocab.decode([99])
    with pytest.raises(TypeError, match="integers"):
        vocab.decode(torch.tensor([1.0]))


def test_min_freq_drops_rare_words_into_unk():
    vocab = WordVocab(TRAIN, min_freq=2)
    assert "great" in vocab and "food" in vocab and "cold" not in vocab and "phone" not in vocab
    assert vocab.counts["cold"] == 1                     # counted, not kept
    assert vocab.encode("cold phone").tolist() == [vocab.unk_id, vocab.unk_id]
    assert vocab.unk_rate(TRAIN) > 0 and WordVocab(TRAIN).unk_rate(TRAIN) == 0


def test_unk_rate_counts_tokens():
    vocab = WordVocab(TRAIN)
    assert vocab.unk_rate(["great soup", "the food"]) == pytest.approx(1 / 4)
    with pytest.raises(ValueError, match="no words"):
        vocab.unk_rate(["", "  "])


def test_fitting_on_all_text_hides_the_unknown_words():
    test = ["The soup was awful."]
    honest, leaky = WordVocab(TRAIN), WordVocab(TRAIN + test)
    assert honest.unk_rate(test) == pytest.approx(2 / 5) and leaky.unk_rate(test) == 0


@pytest.mark.parametrize("texts, min_freq, error, match", [
    ("one string", 1, TypeError, "list of strings"),
    (["fine", 3], 1, TypeError, "hold strings"),
    ([""], 1, ValueError, "no words"),
    (TRAIN, 0, ValueError, "min_freq must be an int >= 1"),
    (TRAIN, 1.5, ValueError, "min_freq"),
])
def test_bad_input_is_refused(texts, min_freq, error, match):
    with pytest.raises(error, match=match):
        WordVocab(texts, min_freq=min_freq)

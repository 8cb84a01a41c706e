"""Notebook 11's explorer: every text typed updates both answers, fast, and matches the model."""

import pytest
import torch

from utils.classifier import SequenceClassifier
from utils.corpora import load_names, load_sentiment
from utils.text import CharVocab
from utils.widgets.classify import classify_explorer, name_languages, sentence_sentiment
from utils.words import WordVocab

NAMES = ["Nakamura", "Ivanov", "O'Brien", "Schmidt", "Nguyen", "Zhang", "Müller", "Dvořák", "X",
         "Rossi", "de la Cruz", "Łukasz", "  Kim  "]
SENTENCES = ["The food was not bad at all.", "Worst phone ever!!", "I loved this movie.",
             "zzqx blorf", "ok", "Great service, great price, would come back.", "10/10"]


@pytest.fixture(scope="module")
def setup():
    names, sentiment = load_names(), load_sentiment()
    chars = CharVocab("".join(names.texts[:5000]), specials=("<pad>", "<unk>"))
    words = WordVocab(sentiment.texts[:2000], min_freq=2)
    torch.manual_seed(0)
    name_model = SequenceClassifier(len(chars), 18, 32, 64, bidirectional=True)   # notebook size
    sentiment_model = SequenceClassifier(len(words), 2, 32, 32, bidirectional=True,
                                         summary="mean")
    return name_model, chars, names.classes, sentiment_model, words, sentiment.classes


def test_every_text_updates_both_answers_fast(setup):
    name_model, chars, languages, sentiment_model, words, classes = setup
    explorer = classify_explorer(name_model, chars, languages, sentiment_model, words, classes)
    slowest = 0.0
    for name in NAMES:
        explorer.controls["name"].value = name
        result = explorer.result["name"]
        assert result["name"] == name.strip() and len(result["top"]) == 3
        probs = [p for _, p in result["top"]]
        assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
        assert len({language for language, _ in result["top"]}) == 3
        slowest = max(slowest, explorer.last_update_seconds)
    for sentence in SENTENCES:
        explorer.controls["sentence"].value = sentence
        result = explorer.result["sentence"]
        assert result["sentence"] == sentence and set(result["probs"]) == set(classes)
        assert sum(result["probs"].values()) == pytest.approx(1.0)
        assert result["label"] == max(result["probs"], key=result["probs"].get)
        slowest = max(slowest, explorer.last_update_seconds)
    assert slowest < 0.3, slowest


def test_answers_are_the_models_softmax(setup):
    name_model, chars, languages, sentiment_model, words, classes = setup
    result = name_languages(name_model, chars, languages, "Nakamura")
    with torch.no_grad():
        ids = chars.encode("Nakamura").unsqueeze(0)
        probs = torch.softmax(name_model(ids, torch.tensor([8]))[0], dim=-1)
    top = probs.topk(3)
    assert [language for language, _ in result["top"]] == [languages[i] for i in top.indices]
    assert [p for _, p in result["top"]] == pytest.approx(top.values.tolist())
    view = sentence_sentiment(sentiment_model, words, classes, "Worst phone ever!!")
    with torch.no_grad():
        ids = words.encode("Worst phone ever!!")
        expected = torch.softmax(sentiment_model(ids.unsqueeze(0), torch.tensor([len(ids)]))[0], 0)
    assert list(view["probs"].values()) == pytest.approx(expected.tolist())
    assert view["tokens"] == ["worst", "phone", "ever", "!", "!"]


def test_unknown_characters_and_words_are_listed(setup):
    name_model, chars, languages, sentiment_model, words, classes = setup
    assert "ř" not in chars
    assert "ř" in name_languages(name_model, chars, languages, "Dvořák")["unknown"]
    assert sentence_sentiment(sentiment_model, words, classes, "zzqx blorf")["unknown"] == \
        ["zzqx", "blorf"]


def test_empty_input_is_shown_not_raised(setup):
    name_model, chars, languages, sentiment_model, words, classes = setup
    explorer = classify_explorer(name_model, chars, languages, sentiment_model, words, classes)
    explorer.controls["name"].value = "   "
    assert explorer.result["name"]["error"] == "type a name"
    explorer.controls["sentence"].value = ""
    assert explorer.result["sentence"]["error"] == "type a sentence"
    explorer.controls["name"].value = "Ivanov"
    assert explorer.result["name"]["error"] is None


def test_bad_arguments_are_refused(setup):
    name_model, chars, languages, sentiment_model, words, classes = setup
    with pytest.raises(ValueError, match="predicts 18 classes but 2"):
        name_languages(name_model, chars, classes, "Ivanov")
    with pytest.raises(TypeError, match="WordVocab"):
        sentence_sentiment(sentiment_model, chars, classes, "fine")
    with pytest.raises(TypeError, match="name must be a str"):
        name_languages(name_model, chars, languages, 3)

"""Notebook 11's explorer: type a surname, see the three likeliest languages; type a sentence,
see its sentiment.

Both boxes feed trained :class:`~utils.classifier.SequenceClassifier` models: one forward pass
of one short sequence each, on one CPU thread, far below 0.3 s. Characters or words that the
training part never had are encoded as ``<unk>`` and listed, so the learner sees what the
model could not read.
"""

from __future__ import annotations

import ipywidgets as widgets
import torch
from torch import nn

from ..text import CharVocab
from ..training import one_thread
from ..words import WordVocab, tokenize
from . import Explorer

__all__ = ["name_languages", "sentence_sentiment", "classify_explorer"]


def _probabilities(model: nn.Module, ids: torch.Tensor) -> torch.Tensor:
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), one_thread():
            logits = model(ids.unsqueeze(0), torch.tensor([len(ids)]))
    finally:
        model.train(was_training)
    return torch.softmax(logits[0], dim=-1)


def _check_model(model: object, classes: object) -> tuple[str, ...]:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module with forward(ids, lengths) -> logits, "
                        f"got {type(model).__name__}")
    if isinstance(classes, str) or not isinstance(classes, (tuple, list)) or len(classes) < 2:
        raise TypeError(f"classes must be a tuple of at least 2 class names, got {classes!r}")
    if getattr(model, "num_classes", len(classes)) != len(classes):
        raise ValueError(f"the model predicts {model.num_classes} classes but "
                         f"{len(classes)} class names were given")
    return tuple(classes)


def name_languages(model: nn.Module, vocab: CharVocab, languages: tuple[str, ...], name: str,
                   k: int = 3) -> dict:
    """The ``k`` likeliest languages of ``name`` with their probabilities (softmax of the
    model's logits), likeliest first, and the characters the vocabulary did not know. An empty
    name gives ``{"error": message}`` instead of raising."""
    languages = _check_model(model, languages)
    if not isinstance(vocab, CharVocab) or "<unk>" not in vocab:
        raise TypeError("vocab must be a CharVocab with an <unk> token")
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    name = name.strip()
    if not name:
        return {"name": name, "error": "type a name", "top": [], "unknown": []}
    probs = _probabilities(model, vocab.encode(name))
    top = probs.topk(min(k, len(languages)))
    return {"name": name, "error": None,
            "top": [(languages[i], p) for i, p in zip(top.indices.tolist(), top.values.tolist(),
                                                      strict=True)],
            "unknown": sorted({c for c in name if c not in vocab})}


def sentence_sentiment(model: nn.Module, vocab: WordVocab, classes: tuple[str, ...],
                       sentence: str) -> dict:
    """The probability of each class for ``sentence``, the likeliest class, the tokens the
    model read and those it read as ``<unk>``. A sentence without a word gives an error."""
    classes = _check_model(model, classes)
    if not isinstance(vocab, WordVocab):
        raise TypeError(f"vocab must be a WordVocab, got {type(vocab).__name__}")
    if not isinstance(sentence, str):
        raise TypeError(f"sentence must be a str, got {type(sentence).__name__}")
    tokens = tokenize(sentence)
    if not tokens:
        return {"sentence": sentence, "error": "type a sentence", "probs": {}, "label": None,
                "tokens": [], "unknown": []}
    probs = _probabilities(model, vocab.encode(sentence)).tolist()
    return {"sentence": sentence, "error": None,
            "probs": dict(zip(classes, probs, strict=True)),
            "label": classes[max(range(len(probs)), key=probs.__getitem__)],
            "tokens": tokens, "unknown": [t for t in tokens if t not in vocab]}


def _bar(p: float, width: int = 30) -> str:
    return "█" * round(p * width) + "·" * (width - round(p * width))


def _render(result: dict) -> None:
    names, sentiment = result["name"], result["sentence"]
    if names["error"]:
        print(f"name: ⚠ {names['error']}")
    else:
        print(f"{names['name']!r}: the three likeliest languages")
        for language, p in names["top"]:
            print(f"  {language:<11} {p:6.1%}  {_bar(p)}")
        if names["unknown"]:
            print(f"  (characters the training names never had, read as <unk>: "
                  f"{' '.join(names['unknown'])})")
    print()
    if sentiment["error"]:
        print(f"sentence: ⚠ {sentiment['error']}")
        return
    print(f"sentence: {sentiment['label']}")
    for label, p in sentiment["probs"].items():
        print(f"  {label:<11} {p:6.1%}  {_bar(p)}")
    if sentiment["unknown"]:
        print(f"  (words outside the training vocabulary, read as <unk>: "
              f"{', '.join(sentiment['unknown'])})")


def classify_explorer(name_model: nn.Module, char_vocab: CharVocab, languages: tuple[str, ...],
                      sentiment_model: nn.Module, word_vocab: WordVocab,
                      sentiment_classes: tuple[str, ...] = ("negative", "positive"),
                      name: str = "Nakamura",
                      sentence: str = "The food was not bad at all.") -> Explorer:
    """Two text boxes: a surname (top-3 languages) and a sentence (its sentiment)."""
    name_languages(name_model, char_vocab, languages, name)           # checks the arguments
    sentence_sentiment(sentiment_model, word_vocab, sentiment_classes, sentence)
    controls = {
        "name": widgets.Text(value=name, description="surname", continuous_update=False),
        "sentence": widgets.Text(value=sentence, description="sentence",
                                 continuous_update=False,
                                 layout=widgets.Layout(width="34em")),
    }

    def compute(name: str, sentence: str) -> dict:
        return {"name": name_languages(name_model, char_vocab, languages, name),
                "sentence": sentence_sentiment(sentiment_model, word_vocab, sentiment_classes,
                                               sentence)}

    return Explorer(controls, compute, _render,
                    title="Type a surname or a sentence: what do the trained models say?")

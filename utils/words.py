"""Words as ids: a tokeniser and a word vocabulary fitted on training text only.

- :func:`tokenize` - lowercase words (``don't`` stays one word) and punctuation marks.
- :class:`WordVocab` - ``<pad>`` (id 0) and ``<unk>`` (id 1), then every word seen at least
  ``min_freq`` times in the texts it was built from, commonest first. ``encode`` maps a word
  it has not seen to ``<unk>``; :meth:`WordVocab.unk_rate` says how often that happens.

Build the vocabulary from the training part only. A vocabulary built from all the data
quietly gives ids to words that the test sentences contain: with ``min_freq=1`` the test
part's ``<unk>`` rate then reads zero, and with a higher ``min_freq`` it still reads lower
than new text will give (on notebook 11's sentences, with ``min_freq=2``: 7.9 % instead of
14.3 %). Some of those words were never in training, so their embeddings stay at their random
start; others were seen there too rarely to be kept, and are now learned from a sentence or
so each. Either way the rate no longer measures how much of new text the model cannot read.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import torch

from .text import ids_as_list

__all__ = ["tokenize", "WordVocab", "PAD", "UNK"]

PAD, UNK = "<pad>", "<unk>"
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?|[^\w\s]|_")


def tokenize(text: str) -> list[str]:
    """Lowercase ``text`` and cut it into words (letters and digits, accents included, with
    one inner apostrophe at most) and single punctuation marks: ``tokenize("Don't buy it!!")``
    is ``["don't", "buy", "it", "!", "!"]``, ``tokenize("Café 10/10")`` is
    ``["café", "10", "/", "10"]``."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return _TOKEN.findall(text.lower())


def _check_texts(texts: object) -> list[str]:
    if isinstance(texts, str) or not isinstance(texts, Iterable):
        raise TypeError(f"texts must be a list of strings, got {type(texts).__name__}")
    texts = list(texts)
    bad = next((t for t in texts if not isinstance(t, str)), None)
    if bad is not None:
        raise TypeError(f"texts must hold strings, got {type(bad).__name__} ({bad!r})")
    return texts


class WordVocab:
    """``<pad>`` = 0, ``<unk>`` = 1, then the words of ``texts`` seen ``min_freq`` times or
    more, by falling count (ties alphabetically). ``counts`` keeps every word's training
    count, kept or not."""

    def __init__(self, texts: Iterable[str], min_freq: int = 1):
        texts = _check_texts(texts)
        if isinstance(min_freq, bool) or not isinstance(min_freq, int) or min_freq < 1:
            raise ValueError(f"min_freq must be an int >= 1, got {min_freq!r}")
        self.counts = Counter(token for text in texts for token in tokenize(text))
        if not self.counts:
            raise ValueError("texts hold no words: a vocabulary needs at least one")
        self.min_freq = min_freq
        kept = sorted((w for w, n in self.counts.items() if n >= min_freq),
                      key=lambda w: (-self.counts[w], w))
        self.tokens: tuple[str, ...] = (PAD, UNK, *kept)
        self._id = {token: index for index, token in enumerate(self.tokens)}
        self.pad_id, self.unk_id = 0, 1

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, word: object) -> bool:
        return word in self._id

    def __repr__(self) -> str:
        return (f"WordVocab({len(self) - 2:,} words with count >= {self.min_freq}, "
                f"+ <pad>, <unk>)")

    def encode(self, text: str) -> torch.Tensor:
        """The ids of ``tokenize(text)`` as a 1-D ``LongTensor`` (unknown words: ``<unk>``).
        A text without a word gives an empty tensor (which ``pad_batch`` refuses)."""
        return torch.tensor([self._id.get(t, self.unk_id) for t in tokenize(text)],
                            dtype=torch.long)

    def decode(self, ids: torch.Tensor | Sequence[int]) -> str:
        """The tokens of ``ids`` joined by spaces (``<unk>``/``<pad>`` shown by name)."""
        ids = ids_as_list(ids, "one text")
        bad = next((i for i in ids if not 0 <= i < len(self)), None)
        if bad is not None:
            raise ValueError(f"every id must be an int in [0, {len(self) - 1}], got {bad!r}")
        return " ".join(self.tokens[i] for i in ids)

    def unk_rate(self, texts: Iterable[str]) -> float:
        """The fraction of the tokens of ``texts`` that ``encode`` maps to ``<unk>``."""
        tokens = [t for text in _check_texts(texts) for t in tokenize(text)]
        if not tokens:
            raise ValueError("texts hold no words: no rate to measure")
        return sum(t not in self._id for t in tokens) / len(tokens)

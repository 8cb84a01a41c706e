"""Two labelled text corpora for classification, checked when loaded, and honest splits.

- :func:`load_names` - 20,074 surnames, each labelled with one of 18 languages (the data of
  PyTorch's char-RNN classification tutorial). It repeats itself: Arabic has 2,000 lines but
  only 108 distinct names, and 469 names appear under more than one language.
- :func:`load_sentiment` - 3,000 review sentences labelled negative or positive, 1,000 from
  each of amazon, imdb and yelp, 500 of each label per site (Kotzias et al., KDD 2015).
- :class:`Labelled` - texts, their integer labels and the class names, plus an optional group
  per item (the site of a sentence); ``subset`` keeps the class list.
- :func:`split_lines` - the *naive* split: shuffle the items and cut. When a text occurs more
  than once, its copies land on both sides, and the test part rewards memorising.
- :func:`split_by_text` - the honest split: shuffle the *distinct texts* and cut, so a text
  is in exactly one part (with ``deduplicate=True``, each (text, label) pair once).
- :func:`best_possible_accuracy` and :func:`seen_fraction` - the ceiling that texts under
  several labels put on any classifier, and how much of a test part was already in training.

Every split is seeded (a ``torch.Generator``) and returns ``(train, val, test)``.
"""

from __future__ import annotations

import numbers
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

__all__ = ["Labelled", "NAMES_FACTS", "SENTIMENT_FACTS", "load_names", "load_sentiment",
           "split_lines", "split_by_text", "best_possible_accuracy", "seen_fraction"]

DATASETS = Path(__file__).parent / "datasets"
NAMES_DIR = DATASETS / "names-by-language"
SENTIMENT_DIR = DATASETS / "sentiment-labelled-sentences"

NAMES_FACTS = {"lines": 20_074, "languages": 18, "Russian": 9_408, "Arabic lines": 2_000,
               "Arabic distinct": 108, "distinct names": 17_453, "under several languages": 469}
SENTIMENT_FACTS = {"sentences": 3_000, "per site": 1_000, "per label and site": 500}
SENTIMENT_SITES = ("amazon", "imdb", "yelp")
SENTIMENT_FILES = {"amazon": "amazon_cells_labelled.txt", "imdb": "imdb_labelled.txt",
                   "yelp": "yelp_labelled.txt"}
SENTIMENT_CLASSES = ("negative", "positive")


@dataclass(frozen=True)
class Labelled:
    """``texts[k]`` has label ``labels[k]``, an index into ``classes``; ``groups[k]`` (or
    ``None`` for all) says where the item came from."""
    texts: tuple[str, ...]
    labels: tuple[int, ...]
    classes: tuple[str, ...]
    groups: tuple[str, ...] | None = None

    def __post_init__(self):
        if len(self.texts) != len(self.labels):
            raise ValueError(f"texts and labels must have the same length, got "
                             f"{len(self.texts)} and {len(self.labels)}")
        if self.groups is not None and len(self.groups) != len(self.texts):
            raise ValueError(f"groups must have one entry per text ({len(self.texts)}), got "
                             f"{len(self.groups)}")
        bad = next((y for y in self.labels if isinstance(y, bool)
                    or not isinstance(y, numbers.Integral) or not 0 <= y < len(self.classes)),
                   None)
        if bad is not None:
            raise ValueError(f"every label must be an int in [0, {len(self.classes) - 1}] "
                             f"(one of {len(self.classes)} classes), got {bad!r}")

    def __len__(self) -> int:
        return len(self.texts)

    def __repr__(self) -> str:
        return f"Labelled({len(self):,} texts, {len(self.classes)} classes)"

    def counts(self) -> list[int]:
        """How many items each class has, in the order of ``classes``."""
        counter = Counter(self.labels)
        return [counter[k] for k in range(len(self.classes))]

    def subset(self, indices: Sequence[int]) -> Labelled:
        """The items at ``indices``, in that order, with the same classes."""
        indices = list(indices)
        return Labelled(tuple(self.texts[i] for i in indices),
                        tuple(self.labels[i] for i in indices), self.classes,
                        None if self.groups is None else tuple(self.groups[i] for i in indices))


def _check_folder(folder: Path, what: str) -> Path:
    if not folder.is_dir():
        raise FileNotFoundError(f"the {what} are missing: no folder {str(folder)!r}")
    return folder


def _expect(name: str, what: str, expected: int, got: int) -> None:
    if got != expected:
        raise ValueError(f"{name}: expected {expected:,} {what}, got {got:,}")


def load_names(folder: str | Path | None = None) -> Labelled:
    """The names-by-language corpus: one item per line, the language from the file name.

    Names are stripped of surrounding spaces (ten Chinese and Korean lines end with one;
    stripped, ``'Park '`` and ``'Park'`` are one name). The facts of ``NAMES_FACTS`` are
    checked: 20,074 lines in 18 files; Russian 9,408; Arabic 2,000 lines but 108 distinct
    names; 17,453 distinct names, 469 of them under more than one language. Classes are the
    languages in alphabetical order; ``groups`` is ``None``. ``folder`` replaces the shipped
    one (for tests). Source: ``utils/datasets/names-by-language.source.txt``."""
    folder = _check_folder(NAMES_DIR if folder is None else Path(folder), "names")
    files = sorted(folder.glob("*.txt"))
    facts = NAMES_FACTS
    _expect(folder.name, "language files", facts["languages"], len(files))
    classes = tuple(f.stem for f in files)
    texts, labels = [], []
    for label, file in enumerate(files):
        lines = file.read_text(encoding="utf-8").splitlines()
        if any(not line.strip() for line in lines):
            raise ValueError(f"{file.name}: an empty line (every line must hold a name)")
        texts += [line.strip() for line in lines]
        labels += [label] * len(lines)
    data = Labelled(tuple(texts), tuple(labels), classes)
    _expect(folder.name, "lines", facts["lines"], len(data))
    for language in ("Russian", "Arabic"):
        if language not in classes:
            raise ValueError(f"{folder.name}: no {language}.txt")
    counts = dict(zip(classes, data.counts(), strict=True))
    _expect(folder.name, "Russian lines", facts["Russian"], counts["Russian"])
    _expect(folder.name, "Arabic lines", facts["Arabic lines"], counts["Arabic"])
    arabic = classes.index("Arabic")
    _expect(folder.name, "distinct Arabic names", facts["Arabic distinct"],
            len({t for t, y in zip(texts, labels, strict=True) if y == arabic}))
    languages = _labels_per_text(data)
    _expect(folder.name, "distinct names", facts["distinct names"], len(languages))
    _expect(folder.name, "names under more than one language", facts["under several languages"],
            sum(len(v) > 1 for v in languages.values()))
    return data


def load_sentiment(folder: str | Path | None = None) -> Labelled:
    """The sentiment-labelled sentences: one item per line ``sentence<TAB>0 or 1``.

    Labels: 0 ``negative``, 1 ``positive``; ``groups`` holds each sentence's site (amazon,
    imdb, yelp, in that order). Sentences are stripped of surrounding spaces (every imdb line
    ends with two). Checked: 3,000 sentences, 1,000 per site, 500 of each label per site.
    ``folder`` replaces the shipped one (for tests). Source:
    ``utils/datasets/sentiment-labelled-sentences.source.txt`` (and the authors' readme.txt)."""
    folder = _check_folder(SENTIMENT_DIR if folder is None else Path(folder),
                           "sentiment sentences")
    texts, labels, groups = [], [], []
    for site in SENTIMENT_SITES:
        file = folder / SENTIMENT_FILES[site]
        if not file.is_file():
            raise FileNotFoundError(f"the sentiment sentences are missing: no file "
                                    f"{file.name!r} in {str(folder)!r}")
        lines = file.read_text(encoding="utf-8").splitlines()
        _expect(file.name, "sentences", SENTIMENT_FACTS["per site"], len(lines))
        for number, line in enumerate(lines, start=1):
            sentence, tab, score = line.rpartition("\t")
            if not tab or score.strip() not in ("0", "1") or not sentence.strip():
                raise ValueError(f"{file.name} line {number}: expected 'sentence<TAB>0 or 1', "
                                 f"got {line[:60]!r}")
            texts.append(sentence.strip())
            labels.append(int(score))
            groups.append(site)
        per_label = Counter(labels[-len(lines):])
        for label, name in enumerate(SENTIMENT_CLASSES):
            _expect(file.name, f"{name} sentences", SENTIMENT_FACTS["per label and site"],
                    per_label[label])
    data = Labelled(tuple(texts), tuple(labels), SENTIMENT_CLASSES, tuple(groups))
    _expect(folder.name, "sentences", SENTIMENT_FACTS["sentences"], len(data))
    return data


def _labels_per_text(data: Labelled) -> dict[str, Counter]:
    per_text: dict[str, Counter] = defaultdict(Counter)
    for text, label in zip(data.texts, data.labels, strict=True):
        per_text[text][label] += 1
    return per_text


def _check_split_args(data: object, fractions: object, seed: object) -> tuple[float, float]:
    if not isinstance(data, Labelled):
        raise TypeError(f"data must be a Labelled corpus (load_names() or load_sentiment()), "
                        f"got {type(data).__name__}")
    if not (isinstance(fractions, (tuple, list)) and len(fractions) == 2
            and all(isinstance(f, numbers.Real) and not isinstance(f, bool) for f in fractions)):
        raise TypeError(f"fractions must be a pair (val_fraction, test_fraction), "
                        f"got {fractions!r}")
    val, test = (float(f) for f in fractions)
    if not (0 <= val < 1 and 0 < test < 1 and val + test < 1):
        raise ValueError(f"fractions (val, test) must be >= 0 and > 0 with val + test < 1, "
                         f"got {fractions!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__} ({seed!r})")
    return val, test


def _cut(n: int, val: float, test: float) -> tuple[int, int]:
    n_test, n_val = round(n * test), round(n * val)
    if n_test < 1 or n - n_test - n_val < 1:
        raise ValueError(f"{n} units are too few to split with fractions ({val}, {test})")
    return n_val, n_test


def split_lines(data: Labelled, fractions: tuple[float, float] = (0.1, 0.2), seed: int = 0
                ) -> tuple[Labelled, Labelled, Labelled]:
    """The naive split: shuffle the items (lines) with ``seed``, then cut ``(train, val,
    test)``, the last two taking ``fractions = (val_fraction, test_fraction)`` of the items.
    A text that occurs several times can land in training *and* test."""
    val, test = _check_split_args(data, fractions, seed)
    n_val, n_test = _cut(len(data), val, test)
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed)).tolist()
    return (data.subset(order[n_val + n_test:]), data.subset(order[n_test:n_test + n_val]),
            data.subset(order[:n_test]))


def split_by_text(data: Labelled, fractions: tuple[float, float] = (0.1, 0.2), seed: int = 0,
                  deduplicate: bool = True) -> tuple[Labelled, Labelled, Labelled]:
    """The honest split: shuffle the *distinct texts* with ``seed`` and cut them into
    ``(train, val, test)`` (``fractions`` of the distinct texts for val and test); each part
    holds the items of its texts, so no text is in two parts.

    ``deduplicate=True`` keeps each (text, label) pair once (a name repeated 40 times under
    Arabic counts once; a name under two languages gives two items); ``False`` keeps every
    item, copies included, in the part of its text. Items keep their first-seen order within
    a text; texts follow the shuffled order."""
    val, test = _check_split_args(data, fractions, seed)
    if not isinstance(deduplicate, bool):
        raise TypeError(f"deduplicate must be a bool, got {type(deduplicate).__name__}")
    items: dict[str, list[int]] = {}
    seen_pairs: set[tuple[str, int]] = set()
    for index, (text, label) in enumerate(zip(data.texts, data.labels, strict=True)):
        if deduplicate and (text, label) in seen_pairs:
            continue
        seen_pairs.add((text, label))
        items.setdefault(text, []).append(index)
    texts = list(items)
    n_val, n_test = _cut(len(texts), val, test)
    order = torch.randperm(len(texts), generator=torch.Generator().manual_seed(seed)).tolist()

    def part(positions: list[int]) -> Labelled:
        return data.subset([i for p in positions for i in items[texts[p]]])

    return (part(order[n_val + n_test:]), part(order[n_test:n_test + n_val]),
            part(order[:n_test]))


def best_possible_accuracy(data: Labelled) -> float:
    """The highest accuracy any function of the text can reach on ``data``.

    A classifier gives one answer per text; for a text that carries several labels the best
    answer is its most frequent label, and every other item of that text is lost. So the
    ceiling is ``sum over distinct texts of (count of its commonest label) / len(data)``."""
    if not isinstance(data, Labelled):
        raise TypeError(f"data must be a Labelled corpus, got {type(data).__name__}")
    if len(data) == 0:
        raise ValueError("data is empty: no accuracy to bound")
    return sum(max(c.values()) for c in _labels_per_text(data).values()) / len(data)


def seen_fraction(train: Labelled, test: Labelled) -> float:
    """The fraction of ``test`` items whose text also occurs in ``train``."""
    if not isinstance(train, Labelled) or not isinstance(test, Labelled):
        raise TypeError(f"train and test must be Labelled corpora, got "
                        f"{type(train).__name__} and {type(test).__name__}")
    if len(test) == 0:
        raise ValueError("test is empty")
    known = set(train.texts)
    return sum(text in known for text in test.texts) / len(test)

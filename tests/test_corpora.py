"""utils.corpora: the two corpora's facts, checked on load, and the splits that are honest."""

import shutil
from collections import Counter

import pytest

from utils.corpora import (
    NAMES_DIR,
    SENTIMENT_DIR,
    Labelled,
    best_possible_accuracy,
    load_names,
    load_sentiment,
    seen_fraction,
    split_by_text,
    split_lines,
)


@pytest.fixture(scope="module")
def names():
    return load_names()


@pytest.fixture(scope="module")
def sentiment():
    return load_sentiment()


def test_names_facts(names):
    assert len(names) == 20_074 and len(names.classes) == 18
    counts = dict(zip(names.classes, names.counts(), strict=True))
    assert counts["Russian"] == 9_408 and abs(9_408 / 20_074 - 0.47) < 0.005
    assert counts["Arabic"] == 2_000
    arabic = names.classes.index("Arabic")
    assert len({t for t, y in zip(names.texts, names.labels, strict=True) if y == arabic}) == 108
    languages = {}
    for text, label in zip(names.texts, names.labels, strict=True):
        languages.setdefault(text, set()).add(label)
    assert len(languages) == 17_453
    assert sum(len(v) > 1 for v in languages.values()) == 469
    assert names.classes == tuple(sorted(names.classes)) and names.groups is None
    assert all(t == t.strip() and t for t in names.texts)


def test_sentiment_facts(sentiment):
    assert len(sentiment) == 3_000 and sentiment.classes == ("negative", "positive")
    assert Counter(sentiment.groups) == {"amazon": 1000, "imdb": 1000, "yelp": 1000}
    per = Counter(zip(sentiment.groups, sentiment.labels, strict=True))
    assert set(per.values()) == {500} and len(per) == 6
    assert all(t == t.strip() and t for t in sentiment.texts)


def copy_names(tmp_path):
    folder = tmp_path / "names"
    shutil.copytree(NAMES_DIR, folder)
    return folder


def test_damaged_names_are_refused(tmp_path):
    folder = copy_names(tmp_path)
    arabic = folder / "Arabic.txt"
    lines = arabic.read_text(encoding="utf-8").splitlines()
    arabic.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="expected 20,074 lines, got 20,073"):
        load_names(folder)
    (folder / "Korean.txt").unlink()
    with pytest.raises(ValueError, match="expected 18 language files, got 17"):
        load_names(folder)
    with pytest.raises(FileNotFoundError, match="no folder"):
        load_names(tmp_path / "nowhere")


def test_an_empty_line_in_names_is_refused(tmp_path):
    folder = copy_names(tmp_path)
    with open(folder / "Irish.txt", "a", encoding="utf-8") as file:
        file.write("\n")
    with pytest.raises(ValueError, match="Irish.txt: an empty line"):
        load_names(folder)


def test_damaged_sentiment_is_refused(tmp_path):
    folder = tmp_path / "sentiment"
    shutil.copytree(SENTIMENT_DIR, folder)
    yelp = folder / "yelp_labelled.txt"
    lines = yelp.read_text(encoding="utf-8").splitlines()
    flipped = [line[:-1] + ("1" if line.endswith("0") else "0") if k == 0 else line
               for k, line in enumerate(lines)]
    yelp.write_text("\n".join(flipped) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="yelp_labelled.txt: expected 500"):
        load_sentiment(folder)
    yelp.write_text("\n".join(["no tab here"] + lines[1:]) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 1: expected 'sentence<TAB>0 or 1'"):
        load_sentiment(folder)
    yelp.unlink()
    with pytest.raises(FileNotFoundError, match="yelp_labelled.txt"):
        load_sentiment(folder)


def test_naive_split_shares_names_between_train_and_test(names):
    train, val, test = split_lines(names, seed=0)
    assert (len(train), len(val), len(test)) == (14_052, 2_007, 4_015)
    assert sorted(train.texts + val.texts + test.texts) == sorted(names.texts)
    assert seen_fraction(train, test) > 0.1     # the same surname on both sides
    arabic = names.classes.index("Arabic")
    arabic_test = test.subset([k for k, y in enumerate(test.labels) if y == arabic])
    assert seen_fraction(train, arabic_test) > 0.95   # 108 names over 2,000 lines


def test_split_by_text_keeps_each_name_in_one_part(names):
    train, val, test = split_by_text(names, seed=0)
    parts = [set(p.texts) for p in (train, val, test)]
    assert not parts[0] & parts[1] and not parts[0] & parts[2] and not parts[1] & parts[2]
    assert sum(len(p) for p in parts) == 17_453
    assert abs(len(parts[2]) - 0.2 * 17_453) <= 1 and abs(len(parts[1]) - 0.1 * 17_453) <= 1
    pairs = [set(zip(p.texts, p.labels, strict=True)) for p in (train, val, test)]
    assert sum(len(p) for p in pairs) == len(train) + len(val) + len(test)  # deduplicated
    assert sum(len(p) for p in pairs) == len(set(zip(names.texts, names.labels, strict=True)))
    assert seen_fraction(train, test) == 0.0


def test_split_by_text_without_dedup_keeps_every_copy(sentiment):
    train, val, test = split_by_text(sentiment, seed=0, deduplicate=False)
    assert len(train) + len(val) + len(test) == 3_000
    assert seen_fraction(train, test) == 0.0 and seen_fraction(train, val) == 0.0
    assert len(test.groups) == len(test)


def test_splits_are_seeded(names):
    a, b = split_by_text(names, seed=3), split_by_text(names, seed=3)
    assert all(x.texts == y.texts for x, y in zip(a, b, strict=True))
    assert split_by_text(names, seed=4)[2].texts != a[2].texts
    assert split_lines(names, seed=1)[2].texts == split_lines(names, seed=1)[2].texts


def test_best_possible_accuracy_counts_the_commonest_label_per_text():
    toy = Labelled(("Park", "Park", "Park", "Lee", "Kim"), (0, 0, 1, 1, 0), ("Korean", "Chinese"))
    assert best_possible_accuracy(toy) == 4 / 5
    assert best_possible_accuracy(toy.subset([3, 4])) == 1.0


def test_best_possible_accuracy_on_names(names):
    ceiling = best_possible_accuracy(names)
    per_name = {}
    for text, label in zip(names.texts, names.labels, strict=True):
        per_name.setdefault(text, Counter())[label] += 1
    assert ceiling == sum(max(c.values()) for c in per_name.values()) / len(names)
    assert 0.97 < ceiling < 0.975                  # 469 names under several languages
    test = split_by_text(names, seed=0)[2]
    assert best_possible_accuracy(test) < 1.0


@pytest.mark.parametrize("call, error, match", [
    (lambda n: split_lines("names"), TypeError, "Labelled corpus"),
    (lambda n: split_lines(n, (0.5, 0.5)), ValueError, "val \\+ test < 1"),
    (lambda n: split_lines(n, 0.2), TypeError, "pair"),
    (lambda n: split_by_text(n, seed=1.5), TypeError, "seed must be an int"),
    (lambda n: split_by_text(n, deduplicate="yes"), TypeError, "deduplicate"),
    (lambda n: best_possible_accuracy([]), TypeError, "Labelled"),
    (lambda n: seen_fraction(n, n.subset([])), ValueError, "test is empty"),
    (lambda n: Labelled(("a",), (2,), ("x", "y")), ValueError, r"in \[0, 1\].*got 2"),
    (lambda n: Labelled(("a", "b"), (0,), ("x", "y")), ValueError, "same length"),
])
def test_bad_input_is_refused(names, call, error, match):
    with pytest.raises(error, match=match):
        call(names)

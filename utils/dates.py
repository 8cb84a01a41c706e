"""Date normalisation, the sequence-to-sequence task of notebook 13: human dates in, ISO out.

``tuesday, 1 december 2026``, ``Dec 1, 2026``, ``1.12.26``, ``12/01/2026``,
``the 1st of December 2026`` and ``2026年12月1日`` all become ``2026-12-01``. The data is made
with ``datetime`` from a seed, so every answer can be checked exactly, and the test set's dates
are dates the training set never contains (the format mix is the same).

- ``FORMATS``            the names of the input formats, in a fixed order
- ``render(day, fmt)``   one ``datetime.date`` written in one format
- ``date_pairs(...)``    ``(source, target)`` pairs for disjoint training/validation/test dates
- ``is_valid_iso(s)``    whether ``s`` is a real date written ``YYYY-MM-DD``

Two-digit years follow Python's ``%y`` rule (69-99 are 19xx, 00-68 are 20xx), so the formats
that use them are drawn only for years 1969-2068, where that rule gives the right century;
``/`` separates month/day/year (the US order) and ``.`` day.month.year, so no input is
ambiguous.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass

__all__ = ["FIRST_DAY", "LAST_DAY", "FORMATS", "render", "DatePairs", "date_pairs",
           "is_valid_iso"]

FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2099, 12, 31)
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
TWO_DIGIT_YEARS = range(1969, 2069)  # where strptime's %y puts the century right
CHINESE_DIGITS = "〇一二三四五六七八九"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _chinese_number(n: int) -> str:
    """1..31 in Chinese numerals: 十二, 二十一, 三十."""
    tens, ones = divmod(n, 10)
    return ((CHINESE_DIGITS[tens] if tens > 1 else "") + ("十" if tens else "")
            + (CHINESE_DIGITS[ones] if ones or not tens else ""))


def _formats() -> dict:
    def month(d):
        return MONTHS[d.month - 1]

    return {
        "weekday day month year": lambda d: f"{WEEKDAYS[d.weekday()]}, {d.day} {month(d)} {d.year}",
        "Mon d, yyyy": lambda d: f"{month(d)[:3].title()} {d.day}, {d.year}",
        "Month d, yyyy": lambda d: f"{month(d).title()} {d.day}, {d.year}",
        "d MON yyyy": lambda d: f"{d.day} {month(d)[:3].upper()} {d.year}",
        "d.m.yy": lambda d: f"{d.day}.{d.month}.{d.year % 100:02d}",
        "dd.mm.yyyy": lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",
        "mm/dd/yyyy": lambda d: f"{d.month:02d}/{d.day:02d}/{d.year}",
        "m/d/yy": lambda d: f"{d.month}/{d.day}/{d.year % 100:02d}",
        "the dth of Month yyyy": lambda d: f"the {_ordinal(d.day)} of {month(d).title()} {d.year}",
        "yyyymmdd": lambda d: f"{d.year}{d.month:02d}{d.day:02d}",
        "yyyy年m月d日": lambda d: f"{d.year}年{d.month}月{d.day}日",
        "Chinese numerals": lambda d: ("".join(CHINESE_DIGITS[int(c)] for c in str(d.year))
                                       + f"年{_chinese_number(d.month)}月{_chinese_number(d.day)}日"),
    }


_RENDER = _formats()
FORMATS = tuple(_RENDER)
_TWO_DIGIT = frozenset({"d.m.yy", "m/d/yy"})


def render(day: dt.date, fmt: str) -> str:
    """``day`` written in the format named ``fmt`` (one of ``FORMATS``)."""
    if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
        raise TypeError(f"day must be a datetime.date, got {type(day).__name__}")
    if fmt not in _RENDER:
        raise ValueError(f"fmt must be one of {FORMATS}, got {fmt!r}")
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"day must lie in {FIRST_DAY}..{LAST_DAY}, got {day}")
    if fmt in _TWO_DIGIT and day.year not in TWO_DIGIT_YEARS:
        raise ValueError(f"format {fmt!r} writes a two-digit year, which reads as "
                         f"{TWO_DIGIT_YEARS.start}-{TWO_DIGIT_YEARS.stop - 1} only; got {day}")
    return _RENDER[fmt](day)


@dataclass(frozen=True)
class DatePairs:
    """``(source, target)`` string pairs of the three parts; no date is in two parts."""
    train: list[tuple[str, str]]
    val: list[tuple[str, str]]
    test: list[tuple[str, str]]


def _check_count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return value


def date_pairs(n_train: int, n_val: int, n_test: int, seed: int = 0) -> DatePairs:
    """Draw ``n_train + n_val + n_test`` distinct dates of 1900-2099 with ``seed``, split them
    into the three parts, and write each in a format drawn uniformly (among the formats
    that can write it). The same seed gives the same pairs."""
    sizes = [_check_count(name, value) for name, value in
             (("n_train", n_train), ("n_val", n_val), ("n_test", n_test))]
    n_days = (LAST_DAY - FIRST_DAY).days + 1
    if sum(sizes) > n_days:
        raise ValueError(f"n_train + n_val + n_test must be at most {n_days:,} (the days of "
                         f"1900-2099), got {sum(sizes):,}")
    rng = random.Random(seed)
    offsets = rng.sample(range(n_days), sum(sizes))
    pairs = []
    for offset in offsets:
        day = FIRST_DAY + dt.timedelta(days=offset)
        usable = [f for f in FORMATS if f not in _TWO_DIGIT or day.year in TWO_DIGIT_YEARS]
        pairs.append((render(day, rng.choice(usable)), day.isoformat()))
    a, b = sizes[0], sizes[0] + sizes[1]
    return DatePairs(pairs[:a], pairs[a:b], pairs[b:])


ISO = re.compile(r"\d{4}-\d{2}-\d{2}")


def is_valid_iso(text: object) -> bool:
    """True if ``text`` is exactly ``YYYY-MM-DD`` and names a real day (no 2026-02-30)."""
    if not isinstance(text, str) or not ISO.fullmatch(text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True

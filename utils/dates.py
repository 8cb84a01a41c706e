"""Date normalisation, the sequence-to-sequence task of notebook 13: human dates in, ISO out.

``tuesday, 1 december 2026``, ``Dec 1, 2026``, ``1.12.26``, ``12/01/2026``,
``the 1st of December 2026`` and ``2026年12月1日`` all become ``2026-12-01``. The data is made
with ``datetime`` from a seed, so every answer can be checked exactly, and the test set's dates
are dates the training set never contains (the format mix is the same).

- ``FORMATS``            the names of the input formats, in a fixed order
- ``render(day, fmt)``   one ``datetime.date`` written in one format
- ``date_pairs(...)``    ``(source, target)`` pairs for disjoint training/validation/test dates
- ``is_valid_iso(s)``    whether ``s`` is a real date written ``YYYY-MM-DD``
- ``read_date(source)``  the rule-based reading of a source in any of the formats (or ``None``)
- ``format_of(source)``  the name of the format a source is written in (or ``None``)
- ``field_spans(source)`` where the year, month and day are written in a source
- ``judge(output, source)`` whether a model's output is a valid ISO date and the right one
- ``CHARACTERS``         every character any format writes (and ``H``, ``I``: see below)

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

__all__ = ["FIRST_DAY", "LAST_DAY", "FORMATS", "CHARACTERS", "render", "DatePairs",
           "date_pairs", "is_valid_iso", "read_date", "format_of", "field_spans", "Judgement", "judge"]

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


# The alphabet of the sources: every character a format writes, and the capitals of the full
# month names (one can type "DECEMBER"). Two of those capitals, H (MARCH) and I (APRIL, ...),
# appear in no format, so no training source holds them: like <unk>, their embeddings stay as
# initialised. (Dropping them would change the vocabulary's size, and with it the random
# initialisation of every model of notebook 13.)
CHARACTERS = "".join(sorted(
    set("".join(MONTHS) + "".join(MONTHS).upper() + "".join(WEEKDAYS) + "0123456789")
    | set(CHINESE_DIGITS + "十年月日") | set(" ,./") | set("theofstndrd")))

_NAME = "[A-Za-z]+"
# One pattern per format, with named groups for the fields: the rule-based reader and the
# spans the attention heatmaps are checked against. "May 3, 2020" fits two formats alike.
_PATTERNS = {
    "weekday day month year": rf"(?P<weekday>{_NAME}), (?P<day>\d{{1,2}}) (?P<month>{_NAME}) "
                              r"(?P<year>\d{4})",
    "Mon d, yyyy": r"(?P<month>[A-Z][a-z]{2}) (?P<day>\d{1,2}), (?P<year>\d{4})",
    "Month d, yyyy": r"(?P<month>[A-Z][a-z]+) (?P<day>\d{1,2}), (?P<year>\d{4})",
    "d MON yyyy": r"(?P<day>\d{1,2}) (?P<month>[A-Z]{3}) (?P<year>\d{4})",
    "d.m.yy": r"(?P<day>\d{1,2})\.(?P<month>\d{1,2})\.(?P<year>\d{2})",
    "dd.mm.yyyy": r"(?P<day>\d{2})\.(?P<month>\d{2})\.(?P<year>\d{4})",
    "mm/dd/yyyy": r"(?P<month>\d{2})/(?P<day>\d{2})/(?P<year>\d{4})",
    "m/d/yy": r"(?P<month>\d{1,2})/(?P<day>\d{1,2})/(?P<year>\d{2})",
    "the dth of Month yyyy": r"the (?P<day>\d{1,2})(?:st|nd|rd|th) of (?P<month>[A-Z][a-z]+) "
                             r"(?P<year>\d{4})",
    "yyyymmdd": r"(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})",
    "yyyy年m月d日": r"(?P<year>\d{4})年(?P<month>\d{1,2})月(?P<day>\d{1,2})日",
    "Chinese numerals": rf"(?P<year>[{CHINESE_DIGITS}]{{4}})年(?P<month>[一二三四五六七八九十]+)月"
                        r"(?P<day>[一二三四五六七八九十]+)日",
}
_COMPILED = {fmt: re.compile(pattern) for fmt, pattern in _PATTERNS.items()}
assert tuple(_COMPILED) == FORMATS


def _match(source: str):
    for fmt, pattern in _COMPILED.items():
        found = pattern.fullmatch(source)
        if found:
            day = _date_of(found)
            if day is not None and FIRST_DAY <= day <= LAST_DAY \
                    and render(day, fmt) == source:    # written exactly as render writes it
                return fmt, found, day
    return None


def _from_chinese(text: str) -> int:
    if all(c in CHINESE_DIGITS for c in text):
        return int("".join(str(CHINESE_DIGITS.index(c)) for c in text))
    tens, _, ones = text.partition("十")   # 十二 = 12, 二十一 = 21, 三十 = 30
    return ((CHINESE_DIGITS.index(tens) if tens else 1) * 10
            + (CHINESE_DIGITS.index(ones) if ones else 0))


def _date_of(found) -> dt.date | None:
    fields = found.groupdict()
    try:
        year, day = (_from_chinese(fields[k]) if not fields[k].isascii() else int(fields[k])
                     for k in ("year", "day"))
        month = fields["month"]
        if month.isdigit():
            month = int(month)
        elif month.isascii():
            month = next(k for k, name in enumerate(MONTHS, 1) if name.startswith(month.lower())
                         and len(month) in (3, len(name)))
        else:
            month = _from_chinese(month)
        if len(fields["year"]) == 2:
            year = dt.datetime.strptime(fields["year"], "%y").year
        return dt.date(year, month, day)
    except (ValueError, StopIteration):
        return None


def read_date(source: object) -> dt.date | None:
    """The date that ``source`` writes in one of ``FORMATS``, read by rules (regular
    expressions, no model); ``None`` if it is not written exactly as :func:`render` writes."""
    if not isinstance(source, str):
        raise TypeError(f"source must be a str, got {type(source).__name__}")
    found = _match(source)
    return None if found is None else found[2]


def format_of(source: object) -> str | None:
    """The name (in ``FORMATS``) of the format ``source`` is written in, ``None`` if none;
    ``"May 3, 2020"`` fits ``"Mon d, yyyy"`` and ``"Month d, yyyy"`` alike and gets the first."""
    if not isinstance(source, str):
        raise TypeError(f"source must be a str, got {type(source).__name__}")
    found = _match(source)
    return None if found is None else found[0]


def field_spans(source: object) -> dict[str, tuple[int, int]] | None:
    """Where ``source`` writes the year, the month and the day: ``{field: (start, stop)}``
    character positions (``source[start:stop]``), or ``None`` if no format reads it."""
    if not isinstance(source, str):
        raise TypeError(f"source must be a str, got {type(source).__name__}")
    found = _match(source)
    if found is None:
        return None
    return {name: found[1].span(name) for name in ("year", "month", "day")}


@dataclass(frozen=True)
class Judgement:
    """What :func:`judge` found: ``valid`` (a real ISO date), ``right`` (the source's date),
    ``expected`` (the source's date in ISO, ``None`` when no format reads the source)."""
    valid: bool
    right: bool | None
    expected: str | None


def judge(output: object, source: object) -> Judgement:
    """Is a model's ``output`` for ``source`` a valid ISO date, and the right one? ``right``
    is ``None`` when :func:`read_date` cannot read ``source`` (no answer to compare with)."""
    day = read_date(source)
    expected = None if day is None else day.isoformat()
    valid = is_valid_iso(output)
    return Judgement(valid, None if expected is None else output == expected, expected)

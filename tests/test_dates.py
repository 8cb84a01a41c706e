"""utils.dates: every format reads back to its date, the parts are disjoint, bad input is refused."""

import datetime as dt
import re

import pytest

from utils.dates import (
    CHARACTERS,
    FIRST_DAY,
    FORMATS,
    LAST_DAY,
    Judgement,
    date_pairs,
    field_spans,
    format_of,
    is_valid_iso,
    judge,
    read_date,
    render,
)

DAY = dt.date(2026, 12, 1)

# An independent reading of each format: datetime.strptime where it has the directives.
STRPTIME = {
    "weekday day month year": "%A, %d %B %Y",
    "Mon d, yyyy": "%b %d, %Y",
    "Month d, yyyy": "%B %d, %Y",
    "d MON yyyy": "%d %b %Y",
    "d.m.yy": "%d.%m.%y",
    "dd.mm.yyyy": "%d.%m.%Y",
    "mm/dd/yyyy": "%m/%d/%Y",
    "m/d/yy": "%m/%d/%y",
    "yyyymmdd": "%Y%m%d",
    "yyyy年m月d日": "%Y年%m月%d日",
}


def test_the_issue_s_examples():
    assert render(DAY, "weekday day month year") == "tuesday, 1 december 2026"
    assert render(DAY, "Mon d, yyyy") == "Dec 1, 2026"
    assert render(DAY, "d.m.yy") == "1.12.26"
    assert render(DAY, "mm/dd/yyyy") == "12/01/2026"
    assert render(DAY, "the dth of Month yyyy") == "the 1st of December 2026"
    assert render(DAY, "yyyy年m月d日") == "2026年12月1日"
    assert render(DAY, "Chinese numerals") == "二〇二六年十二月一日"


@pytest.mark.parametrize("fmt", STRPTIME)
def test_strptime_reads_every_rendering_back(fmt):
    for day in (dt.date(1969, 1, 2), dt.date(2000, 2, 29), DAY, dt.date(2068, 12, 31)):
        assert dt.datetime.strptime(render(day, fmt), STRPTIME[fmt]).date() == day
    if "yy" not in fmt.replace("yyyy", ""):
        for day in (dt.date(1900, 1, 1), dt.date(2099, 12, 31)):
            assert dt.datetime.strptime(render(day, fmt), STRPTIME[fmt]).date() == day


def test_ordinals_and_chinese_numerals():
    ordinals = [render(dt.date(2001, 1, d), "the dth of Month yyyy").split()[1]
                for d in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31)]
    assert ordinals == ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd",
                        "23rd", "31st"]
    assert render(dt.date(1910, 10, 20), "Chinese numerals") == "一九一〇年十月二十日"
    assert render(dt.date(2099, 11, 31 - 1), "Chinese numerals") == "二〇九九年十一月三十日"
    assert render(dt.date(2005, 1, 25), "Chinese numerals") == "二〇〇五年一月二十五日"


def test_parts_are_disjoint_in_dates_and_share_the_format_mix():
    pairs = date_pairs(6000, 500, 3000, seed=0)
    dates = [{t for _, t in part} for part in (pairs.train, pairs.val, pairs.test)]
    assert [len(d) for d in dates] == [6000, 500, 3000]          # distinct within a part
    assert not (dates[0] & dates[1] or dates[0] & dates[2] or dates[1] & dates[2])
    assert all(is_valid_iso(t) for _, t in pairs.train + pairs.test)
    shares = []
    for part in (pairs.train, pairs.test):
        share = {f: 0 for f in FORMATS}
        for source, target in part:
            day = dt.date.fromisoformat(target)
            matches = [f for f in FORMATS if (f not in ("d.m.yy", "m/d/yy")
                       or 1969 <= day.year <= 2068) and render(day, f) == source]
            assert matches, (source, target)
            share[matches[0]] += 1 / len(part)
        shares.append(share)
    for fmt in FORMATS:  # every format used, in the same proportion in both parts
        assert shares[0][fmt] > 0.02 and abs(shares[0][fmt] - shares[1][fmt]) < 0.02, fmt
    assert date_pairs(6000, 500, 3000, seed=0) == pairs
    assert date_pairs(6000, 500, 3000, seed=1) != pairs


def test_no_source_string_is_ambiguous_and_the_alphabet():
    """Every day of 1900-2099 in every format that can write it: no string is written for two
    different days (so every input has one right answer), and every character written is in
    CHARACTERS, which holds only H and I besides (capitals of the full month names)."""
    days = [FIRST_DAY + dt.timedelta(days=n) for n in range((LAST_DAY - FIRST_DAY).days + 1)]
    assert len(days) == 73_049
    written: dict[str, dt.date] = {}
    characters: set[str] = set()
    for fmt in FORMATS:
        for day in days:
            if fmt in ("d.m.yy", "m/d/yy") and not 1969 <= day.year <= 2068:
                continue
            source = render(day, fmt)
            assert written.setdefault(source, day) == day, (source, written[source], day)
            characters.update(source)
    assert len(written) == 797_340   # 10 x 73,049 + 2 x 36,525 less 6,200 Mays written alike
    assert set(CHARACTERS) - characters == {"H", "I"} and characters <= set(CHARACTERS)


def test_is_valid_iso():
    assert is_valid_iso("2026-12-01") and is_valid_iso("2000-02-29")
    for bad in ("2026-02-30", "1900-02-29", "2026-1-01", "2026-12-01 ", "20261201", None, 20261201):
        assert not is_valid_iso(bad)


def test_dates_read_back_and_their_spans():
    day = dt.date(2026, 12, 1)
    for fmt in FORMATS:
        source = render(day, fmt)
        assert read_date(source) == day, fmt
        assert format_of(source) == fmt or (fmt, format_of(source)) == ("Month d, yyyy",
                                                                       "Mon d, yyyy")
        spans = field_spans(source)
        year, month, dday = (source[slice(*spans[k])] for k in ("year", "month", "day"))
        assert year in ("2026", "26", "二〇二六"), (fmt, year)
        assert month.lower() in ("12", "dec", "december", "十二"), (fmt, month)
        assert dday in ("1", "01", "一"), (fmt, dday)
    pairs = date_pairs(500, 1, 1, seed=2).train
    assert all(read_date(s).isoformat() == t for s, t in pairs)
    assert all(set(s) <= set(CHARACTERS) for s, _ in pairs)
    assert read_date("monday, 1 december 2026") is None           # wrong weekday
    assert read_date("Feb 30, 2026") is None and read_date("Dec 1, 2150") is None
    assert field_spans("yesterday") is None and format_of("yesterday") is None
    assert format_of("May 3, 2020") == "Mon d, yyyy"
    assert judge("2026-12-01", "Dec 1, 2026") == Judgement(True, True, "2026-12-01")
    assert judge("2026-12-02", "Dec 1, 2026") == Judgement(True, False, "2026-12-01")
    assert judge("2026-13-01", "Dec 1, 2026").valid is False
    assert judge("2026-12-01", "next tuesday").right is None
    with pytest.raises(TypeError, match="source must be a str"):
        read_date(20261201)


@pytest.mark.parametrize("call, error, words", [
    (lambda: render("2026-12-01", "yyyymmdd"), TypeError, "datetime.date"),
    (lambda: render(DAY, "dd/mm"), ValueError, "one of"),
    (lambda: render(dt.date(1899, 12, 31), "yyyymmdd"), ValueError, "1900-01-01..2099-12-31"),
    (lambda: render(dt.date(1950, 1, 1), "d.m.yy"), ValueError, "1969-2068"),
    (lambda: date_pairs(0, 1, 1), ValueError, "n_train must be an int >= 1, got 0"),
    (lambda: date_pairs(70_000, 3_000, 100), ValueError, "at most 73,049"),
])
def test_bad_input_is_refused(call, error, words):
    with pytest.raises(error, match=re.escape(words)):
        call()

"""Regenerate the READMEs' generated sections from the registries and the measured timings:
the notebook table grouped by part (with each part's run time) and the question index, in
``README.md`` and, in Chinese, in ``README.zh-CN.md``.

    python tools/readme.py          # rewrite the generated sections of both READMEs
    python tools/readme.py --check  # exit 1 if either is out of date
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tools.navigation import zh_title  # noqa: E402
from utils.curriculum import load_parts, load_registry  # noqa: E402
from utils.edition import SUMMARY_ID, parse_blocks  # noqa: E402
from utils.questions import load_questions, notebook_of, section_cell_id  # noqa: E402

READMES = {"en": ROOT / "README.md", "zh": ROOT / "README.zh-CN.md"}
TIMINGS = ROOT / "notebooks" / "timings.json"
MARKERS = {"notebooks": ("<!-- notebooks:start -->", "<!-- notebooks:end -->"),
           "printed": ("<!-- printed:start -->", "<!-- printed:end -->"),
           "questions": ("<!-- questions:start -->", "<!-- questions:end -->")}
WORDS = {
    "en": {"header": "| # | notebook | what you learn | knowledge points | run time | peak memory |",
           "planned": "planned", "part": "{label} · notebooks {first}-{last} · {seconds} s",
           "total": "Each notebook's last run by `tools/run_notebooks.py`: all {n} notebooks {seconds:.0f} s.",
           "count": "{n} questions, each linked to the section whose proof cell answers it."},
    "zh": {"header": "| # | 笔记本 | 你将学到 | 知识点 | 运行时间 | 内存峰值 |",
           "planned": "计划中", "part": "{label} · 笔记本 {first}-{last} · {seconds} 秒",
           "total": "各笔记本最近一次由 `tools/run_notebooks.py` 实测：全部 {n} 本笔记本共 {seconds:.0f} 秒。",
           "count": "共 {n} 个问题，每个都链接到以证明单元格回答它的那一节。"},
}


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def zh_summary(entry) -> str:
    source = ROOT / "notebooks" / "zh" / Path(entry.file).with_suffix(".md").name
    if source.exists():
        for block in parse_blocks(source.read_text(encoding="utf-8")):
            if block.cell_id == SUMMARY_ID:
                return block.text.strip()
    return entry.summary


def notebook_path(file: str, language: str) -> str:
    return f"notebooks/{file}" if language == "en" else f"notebooks/zh/{file}"


def render_table(language: str = "en") -> str:
    words, zh = WORDS[language], language == "zh"
    timings = _load(TIMINGS) if TIMINGS.exists() else {}
    entries = {e.number: e for e in load_registry()}
    rows, total, measured = [], 0.0, 0
    for part in load_parts():
        present = [n for n in part.notebooks if (ROOT / "notebooks" / entries[n].file).exists()]
        seconds = sum(timings[entries[n].file]["seconds"] for n in present
                      if entries[n].file in timings)
        label = part.label_zh if zh else part.label
        rows += [f"### {words['part'].format(label=label, first=part.notebooks[0], last=part.notebooks[-1], seconds=round(seconds))}",
                 "", words["header"], "| --- | --- | --- | --- | --- | --- |"]
        for number in part.notebooks:
            entry = entries[number]
            title = zh_title(entry) if zh else entry.title
            is_present = (ROOT / "notebooks" / entry.file).exists()
            name = (f"[{title}]({notebook_path(entry.file, language)})" if is_present
                    else f"{title} ({words['planned']})")
            t = timings.get(entry.file) if is_present else None
            run = (f"{t['seconds']:.0f} 秒" if zh else f"{t['seconds']:.0f} s") if t else "—"
            mem = f"{t['peak_mb']} MB" if t else "—"
            summary = zh_summary(entry) if zh else entry.summary
            rows.append(f"| {number} | {name} | {summary} | {len(entry.points)} | {run} | {mem} |")
            if t:
                total += t["seconds"]
                measured += 1
        rows.append("")
    rows.append(words["total"].format(n=measured, seconds=total))
    return "\n".join(rows)


def question_links(language: str = "en") -> list[tuple[str, str, str, str]]:
    """``(theme, question, link, kp ids)`` of every question, in the registry's order."""
    _, questions = load_questions()
    cache: dict[str, dict] = {}
    out = []
    for q in questions:
        file = notebook_of(q.kp[0])
        path = ROOT / notebook_path(file, language)
        if not path.exists():
            raise SystemExit(f"{path.relative_to(ROOT)} is missing: run `python tools/zh.py "
                             f"build` before the README")
        nb = cache.setdefault(str(path), _load(path))
        link = f"{path.relative_to(ROOT).as_posix()}#cell-id={section_cell_id(nb, q.kp[0])}"
        out.append((q.theme, q.zh if language == "zh" else q.en, link,
                    ", ".join(f"KP {kp}" for kp in q.kp)))
    return out


def render_questions(language: str = "en") -> str:
    themes, questions = load_questions()
    links = question_links(language)
    rows = [WORDS[language]["count"].format(n=len(questions)), ""]
    for theme in themes:
        rows += [f"### {theme.zh if language == 'zh' else theme.en}", ""]
        rows += [f"- [{text}]({link}) ({kps})" for key, text, link, kps in links
                 if key == theme.key]
        rows.append("")
    return "\n".join(rows).rstrip()


def render_printed() -> str:
    """The glossary's table of the English names that outputs and widgets print."""
    import tomllib
    data = tomllib.loads((ROOT / "notebooks" / "glossary.toml").read_text(encoding="utf-8"))
    rows = ["| 输出或控件中的名称 | 含义 |", "| --- | --- |"]
    rows += [f"| {entry['en']} | {entry['zh']} |" for entry in data.get("printed", [])]
    return "\n".join(rows)


def _replace(text: str, name: str, body: str, path: Path) -> str:
    start, end = MARKERS[name]
    if start not in text or end not in text:
        raise SystemExit(f"{path.name} lacks the markers {start} ... {end}")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}\n{end}{tail}"


def updated(language: str) -> str:
    path = READMES[language]
    text = path.read_text(encoding="utf-8")
    text = _replace(text, "notebooks", render_table(language), path)
    if language == "zh":
        text = _replace(text, "printed", render_printed(), path)
    return _replace(text, "questions", render_questions(language), path)


def updated_readme() -> str:
    return updated("en")


def main() -> int:
    stale = []
    for language, path in READMES.items():
        new = updated(language)
        if new != path.read_text(encoding="utf-8"):
            stale.append(path.name)
            if "--check" not in sys.argv[1:]:
                path.write_text(new, encoding="utf-8")
    if "--check" in sys.argv[1:] and stale:
        print(f"out of date: {', '.join(stale)}: run `make readme`")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

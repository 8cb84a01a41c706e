"""Keep the Chinese edition (中文版) in step with the English notebooks (see utils/edition.py).

    python tools/zh.py extract 05      # write/refresh notebooks/zh/05_*.md: English text in
                                       # every block that lacks a current translation
    python tools/zh.py build [NN ...]  # write notebooks/zh/NN_*.ipynb from the English .ipynb
                                       # (code and outputs copied) and the translation
    python tools/zh.py check           # exit 1 on any missing, stale or untranslated block, a
                                       # wrong glossary term, or a stored edition out of date
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from utils import edition  # noqa: E402
from utils.curriculum import load_registry  # noqa: E402

NOTEBOOKS = ROOT / "notebooks"
ZH = NOTEBOOKS / "zh"
GLOSSARY = NOTEBOOKS / "glossary.toml"


def english_notebooks(only: list[str] | None = None) -> list[Path]:
    paths = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if only:
        paths = [p for p in paths if p.name[:2] in only or p.name in only or p.stem in only]
    return paths


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def dump(nb: dict) -> str:
    return nbformat.writes(nbformat.from_dict(nb)) + "\n"


def translation_path(english: Path) -> Path:
    return ZH / english.with_suffix(".md").name


def summary_of(english: Path) -> str:
    return next(e.summary for e in load_registry() if e.file == english.name)


def problems_of(english: Path, terms=None, source: Path | None = None,
                summary: str | None = "registry", summary_zh=None
                ) -> tuple[dict | None, list[edition.Problem]]:
    """The built Chinese notebook (or None without a translation file) and every problem:
    the build's (missing, stale, untranslated, markup, code, run time), the registry
    summary's, and the glossary's. ``source`` and ``summary`` default to the course's own
    translation file and registry summary (a test passes a fixture's)."""
    source = translation_path(english) if source is None else Path(source)
    en_nb = load(english)
    if not source.exists():
        return None, [edition.Problem("missing", english.name, f"no translation file {source}")]
    blocks = edition.parse_blocks(source.read_text(encoding="utf-8"))
    nav = nav_footer(english, "zh") if summary == "registry" else summary_zh
    zh_nb, problems = edition.build(en_nb, blocks, nav_zh=nav)
    if summary is not None:
        text = summary_of(english) if summary == "registry" else summary
        found = next((b for b in blocks if b.cell_id == edition.SUMMARY_ID), None)
        if found is not None or summary == "registry":
            _, summary_problem = edition.summary_block(text, blocks)
            problems += [summary_problem] if summary_problem else []
    terms = edition.load_glossary(GLOSSARY) if terms is None else terms
    failed = {p.cell_id for p in problems}      # a cell not translated yet has no terms to check
    for en_cell, zh_cell in zip(en_nb["cells"], zh_nb["cells"], strict=True):
        if en_cell["cell_type"] == "markdown" and en_cell["id"] not in failed \
                and not edition.is_nav(en_cell):
            problems += edition.term_problems(en_cell["id"], "".join(en_cell["source"]),
                                              "".join(zh_cell["source"]), terms)
    return zh_nb, problems


def nav_footer(english: Path, language: str) -> str | None:
    """The navigation footer of a notebook in ``language`` (None until footers exist)."""
    try:
        from tools.navigation import footer
    except ImportError:
        return None
    return footer(english.name, language)


def extract(english: Path) -> Path:
    source = translation_path(english)
    old = edition.parse_blocks(source.read_text(encoding="utf-8")) if source.exists() else []
    ZH.mkdir(exist_ok=True)
    summary, _ = edition.summary_block(summary_of(english), old)
    blocks = [summary] + edition.skeleton(load(english), old)
    source.write_text(edition.render_blocks(blocks), encoding="utf-8")
    return source


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("extract", "build", "check"):
        print(__doc__)
        return 2
    command, only = argv[0], argv[1:]
    failed = 0
    for english in english_notebooks(only):
        if command == "extract":
            print(f"wrote {extract(english).relative_to(ROOT)}")
            continue
        zh_nb, problems = problems_of(english)
        target = ZH / english.name
        if command == "check" and zh_nb is not None and not problems:
            if not target.exists() or target.read_text(encoding="utf-8") != dump(zh_nb):
                problems.append(edition.Problem("stale", english.name, f"{target.name} is not "
                                                "the build of the current English notebook and "
                                                "translation: run `python tools/zh.py build`"))
        for problem in problems:
            print(f"{english.name}: {problem}")
        failed += bool(problems)
        if command == "build" and zh_nb is not None and not problems:
            target.write_text(dump(zh_nb), encoding="utf-8")
            print(f"wrote {target.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

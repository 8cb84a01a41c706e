"""The navigation footer: the last cell of every notebook says where it stands in the course
(its part, its place) and links to the previous and the next notebook, in English and, in the
Chinese edition, in Chinese. Generated from the registry, so no footer names a notebook that
does not exist, and a notebook added later updates every footer.

    python tools/navigation.py          # write the footer into every English notebook (.py and
                                        # .ipynb, no re-execution)
    python tools/navigation.py --check  # exit 1 if a footer is missing or out of date
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from utils.curriculum import load_parts, load_registry  # noqa: E402
from utils.edition import NAV_TAG, is_nav, parse_blocks  # noqa: E402

NOTEBOOKS = ROOT / "notebooks"
PY_HEADER = f'# %% [markdown] tags=["{NAV_TAG}"]'


def present() -> list:
    """The registry's notebooks that exist, in order."""
    return [e for e in load_registry() if (NOTEBOOKS / e.file).exists()
            or (NOTEBOOKS / e.file).with_suffix(".py").exists()]


def zh_title(entry) -> str:
    """The Chinese title from the translation's title cell (``# NN · 标题``), else English."""
    source = NOTEBOOKS / "zh" / Path(entry.file).with_suffix(".md").name
    if source.exists():
        for block in parse_blocks(source.read_text(encoding="utf-8")):
            match = re.match(rf"# {entry.number} · (.+)", block.text)
            if match:
                return match.group(1).strip()
    return entry.title


def map_cell_id(first: str) -> str:
    """The id of the cell of notebook 00 whose heading is the map of the course."""
    nb = json.loads((NOTEBOOKS / first).read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown" and re.match(r"## \d+\. The map of the course",
                                                         "".join(cell["source"])):
            return cell["id"]
    raise ValueError(f"{first} has no heading '## N. The map of the course'")


def footer(name: str, language: str = "en") -> str:
    """The footer of notebook ``name`` (its file name) in ``language`` ('en' or 'zh')."""
    if language not in ("en", "zh"):
        raise ValueError(f"language must be 'en' or 'zh', got {language!r}")
    entries = present()
    files = [e.file for e in entries]
    if name not in files:
        raise ValueError(f"{name!r} is not a notebook of the registry; expected one of {files}")
    k = files.index(name)
    part_of = {n: p for p in load_parts() for n in p.notebooks}
    zh = language == "zh"

    def link(entry) -> str:
        title = zh_title(entry) if zh else entry.title
        return f"[{entry.number} · {title}]({entry.file})"

    def label(entry) -> str:
        part = part_of[entry.number]
        return part.label_zh if zh else part.label

    here = entries[k]
    lines = ["---", "", (f"**{label(here)}** · 第 {k + 1} 篇，共 {len(entries)} 篇" if zh else
                         f"**{label(here)}** · notebook {k + 1} of {len(entries)}")]
    if k > 0:
        lines.append(("上一篇：" if zh else "Previous: ") + link(entries[k - 1]))
    if k + 1 < len(entries):
        nxt = entries[k + 1]
        opens = part_of[nxt.number] is not part_of[here.number]
        if zh:
            lines.append(f"下一篇：{link(nxt)}" + (f"，开启{label(nxt)}" if opens else ""))
        else:
            lines.append(f"Next: {link(nxt)}" + (f", which opens {label(nxt)}" if opens else ""))
    else:
        lines.append("这是课程的最后一篇。" if zh else "This is the last notebook of the course.")
    course_map = f"{entries[0].file}#cell-id={map_cell_id(entries[0].file)}"
    readme = "../../README.zh-CN.md" if zh else "../README.md"
    lines.append(f"[课程地图]({course_map}) · [按问题查找]({readme}#按问题查找)" if zh else
                 f"[The map of the course]({course_map}) · "
                 f"[Find your question]({readme}#find-your-question)")
    return "\n".join(lines[:3]) + "\n\n" + " · ".join(lines[3:]) + "\n"


def _py_cell(text: str) -> str:
    return PY_HEADER + "\n" + "\n".join(f"# {line}".rstrip() for line in text.rstrip().split("\n"))


def write(entry) -> bool:
    """Put the current footer last in the notebook's .py and .ipynb; True if anything changed."""
    text = footer(entry.file)
    changed = False
    py = (NOTEBOOKS / entry.file).with_suffix(".py")
    source = py.read_text(encoding="utf-8")
    head = source.split("\n" + PY_HEADER + "\n")[0].rstrip("\n")
    new = head + "\n\n" + _py_cell(text) + "\n"
    if new != source:
        py.write_text(new, encoding="utf-8")
        changed = True
    ipynb = NOTEBOOKS / entry.file
    if ipynb.exists():
        nb = nbformat.read(ipynb, as_version=4)
        cells = [c for c in nb["cells"] if not is_nav(c)]
        ids = {c.get("id") for c in cells}
        k = len(cells)
        while f"cell-{k:03d}" in ids:
            k += 1
        cell = nbformat.v4.new_markdown_cell(text.rstrip("\n"), id=f"cell-{k:03d}",
                                             metadata={"tags": [NAV_TAG]})
        if cells + [cell] != nb["cells"]:
            nb["cells"] = cells + [cell]
            nbformat.write(nb, ipynb)
            changed = True
    return changed


def stale() -> list[str]:
    """Notebooks whose last cell is not their current footer."""
    out = []
    for entry in present():
        ipynb = NOTEBOOKS / entry.file
        nb = json.loads(ipynb.read_text(encoding="utf-8"))
        last = nb["cells"][-1]
        if not is_nav(last) or "".join(last["source"]).rstrip() != footer(entry.file).rstrip():
            out.append(entry.file)
    return out


def main(argv: list[str]) -> int:
    if "--check" in argv:
        bad = stale()
        for name in bad:
            print(f"{name}: the navigation footer is missing or out of date: run "
                  f"`python tools/navigation.py`")
        return 1 if bad else 0
    only = [a for a in argv if not a.startswith("-")]
    for entry in present():
        if (not only or entry.number in only) and write(entry):
            print(f"updated {entry.file}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

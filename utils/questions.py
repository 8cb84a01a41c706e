"""The question index: questions learners ask, each sent to the proof cell that answers it.

``notebooks/questions.toml`` holds the questions (English and Chinese, a theme, the knowledge
points that answer it). :func:`answer_link` finds the section of the notebook whose proof cell
proves the first point, and links to it the way JupyterLab names a heading's anchor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import tomllib

from utils.curriculum import KP_ID, load_registry, proof_cells

__all__ = ["Question", "Theme", "load_questions", "question_problems", "link_problems", "link_anchor", "section_cell_id", "fragment_problems", "heading_anchor", "headings", "section_of",
           "QUESTIONS"]

QUESTIONS = Path(__file__).resolve().parent.parent / "notebooks" / "questions.toml"


@dataclass(frozen=True)
class Theme:
    key: str
    en: str
    zh: str


@dataclass(frozen=True)
class Question:
    theme: str
    en: str
    zh: str
    kp: tuple[str, ...]


def load_questions(path: str | Path = QUESTIONS) -> tuple[list[Theme], list[Question]]:
    """Themes and questions, validated: every question has a known theme, English and Chinese
    text, and knowledge-point ids of the form ``NN.k``; no question appears twice."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    themes = [Theme(key, t["en"], t["zh"]) for key, t in data.get("themes", {}).items()]
    keys = {t.key for t in themes}
    questions, seen = [], set()
    for k, q in enumerate(data.get("question", [])):
        for field in ("theme", "en", "zh", "kp"):
            if field not in q:
                raise ValueError(f"{path}: question {k} lacks '{field}': {q}")
        if q["theme"] not in keys:
            raise ValueError(f"{path}: question {q['en']!r} has theme {q['theme']!r}; expected "
                             f"one of {sorted(keys)}")
        kps = q["kp"]
        if not isinstance(kps, list) or not kps or not all(isinstance(i, str) and KP_ID.match(i)
                                                            for i in kps):
            raise ValueError(f"{path}: question {q['en']!r} needs a list of ids like '02.4', "
                             f"got {kps!r}")
        if not re.search(r"[\u4e00-\u9fff]", q["zh"]):
            raise ValueError(f"{path}: question {q['en']!r} has no Chinese text: {q['zh']!r}")
        if q["en"] in seen:
            raise ValueError(f"{path}: the question {q['en']!r} appears twice")
        seen.add(q["en"])
        questions.append(Question(q["theme"], q["en"], q["zh"], tuple(kps)))
    return themes, questions


def heading_anchor(heading: str) -> str:
    """JupyterLab's anchor for a markdown heading: its text as rendered (code spans, emphasis
    and links reduced to their text), spaces replaced by ``-``."""
    text = re.sub(r"^#+\s*", "", heading.strip())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    pieces = re.split(r"(`[^`]*`)", text)              # code spans keep every character
    text = "".join(p[1:-1] if p.startswith("`") else p.replace("**", "").replace("*", "")
                   for p in pieces)
    return text.strip().replace(" ", "-")


def link_anchor(heading: str) -> str:
    """The anchor as written in a markdown link: parentheses percent-encoded, so that the
    link's ``(...)`` does not end early."""
    return heading_anchor(heading).replace("(", "%28").replace(")", "%29")


def headings(notebook: dict) -> list[tuple[int, str]]:
    """``(cell index, heading line)`` of every markdown heading of a notebook."""
    out = []
    for k, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "markdown":
            source = "".join(cell["source"])
            source = re.sub(r"```.*?```", "", source, flags=re.DOTALL)
            out += [(k, line) for line in source.splitlines() if re.match(r"#{1,6} ", line)]
    return out


def section_cell_id(notebook: dict, kp: str) -> str:
    """The id of the markdown cell whose heading opens the section that holds the first proof
    cell of ``kp``: the fragment ``#cell-id=<id>`` makes JupyterLab scroll there (heading
    anchors are matched undecoded, so a link to a Chinese or a non-ASCII heading would not)."""
    heading = section_of(notebook, kp)
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown" and heading in "".join(cell["source"]).splitlines():
            return cell["id"]
    raise ValueError(f"no cell holds the heading {heading!r}")


def heading_cell_ids(notebook: dict) -> set[str]:
    """The ids of the markdown cells that hold a heading."""
    return {notebook["cells"][k].get("id") for k, _ in headings(notebook)}


def section_of(notebook: dict, kp: str) -> str:
    """The heading of the section that holds the first proof cell of ``kp``."""
    cells = notebook["cells"]
    proofs = proof_cells(notebook).get(kp)
    if not proofs:
        raise ValueError(f"knowledge point {kp} has no proof cell in this notebook")
    first = next(k for k, c in enumerate(cells) if c["cell_type"] == "code"
                 and "".join(c["source"]) == proofs[0])
    before = [line for k, line in headings(notebook) if k <= first]
    if not before:
        raise ValueError(f"the proof cell of {kp} has no heading above it")
    return before[-1]


def notebook_of(kp: str) -> str:
    """The file name of the notebook that holds ``kp``; refuses an unknown point."""
    for entry in load_registry():
        if any(p.id == kp for p in entry.points):
            return entry.file
    raise ValueError(f"no knowledge point {kp!r} in the registry")


def question_problems(questions: list[Question], notebooks: Path) -> list[str]:
    """Every question whose knowledge point is unknown or has no proof cell in its notebook."""
    from utils.curriculum import read_notebook
    entries = load_registry()
    known = {p.id: e for e in entries for p in e.points}
    cache: dict[str, dict] = {}
    out = []
    for q in questions:
        for kp in q.kp:
            if kp not in known:
                out.append(f"{q.en!r}: knowledge point {kp} does not exist")
                continue
            path = Path(notebooks) / known[kp].file
            if not path.exists():
                out.append(f"{q.en!r}: knowledge point {kp}'s notebook {path.name} is missing")
                continue
            nb = cache.setdefault(str(path), read_notebook(path))
            if not proof_cells(nb).get(kp):
                out.append(f"{q.en!r}: knowledge point {kp} has no proof cell in {path.name}")
    return out


LINK = re.compile(r"\]\((notebooks/[^)\s#]+\.ipynb)#([^)\s]+)\)")


def fragment_problems(notebook: dict, fragment: str) -> list[str]:
    """Why a link's ``#fragment`` would not find its place in ``notebook`` (empty when it
    would): ``cell-id=<id>`` must name a heading cell; a legacy heading anchor must be ASCII
    (JupyterLab compares it undecoded) and name an existing heading."""
    if fragment.startswith("cell-id="):
        if fragment[len("cell-id="):] not in heading_cell_ids(notebook):
            return ["no heading cell with this id"]
        return []
    if not fragment.isascii() or "%" in fragment:
        return ["a heading anchor that is not plain ASCII does not scroll in JupyterLab: "
                "link #cell-id=<the heading cell's id>"]
    if fragment not in {heading_anchor(h) for _, h in headings(notebook)}:
        return ["no section with this heading"]
    return []


def link_problems(markdown: str, root: Path) -> list[str]:
    """Every ``notebooks/...ipynb#anchor`` link in ``markdown`` whose notebook or section
    heading does not exist (anchors as JupyterLab names them)."""
    import json
    out = []
    for file, anchor in LINK.findall(markdown):
        path = Path(root) / file
        if not path.exists():
            out.append(f"{file}#{anchor}: no such notebook")
            continue
        nb = json.loads(path.read_text(encoding="utf-8"))
        out += [f"{file}#{anchor}: {why}" for why in fragment_problems(nb, anchor)]
    return out

"""The registry of knowledge points (``notebooks/curriculum.toml``) and the proof-cell check.

A *proof cell* for knowledge point ``02.4`` is a code cell whose first line is ``# KP 02.4``
(or that carries the cell tag ``kp-02.4``) and that holds a check which would fail if the claim
were wrong. What counts as such a check is decided by ``utils.proofs`` (read there): an
``assert`` or ``assert*`` call that runs, reads more than literals, does not compare an
expression with itself or a view of itself, and has a tolerance that still means something.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from .proofs import Check, checks_in, is_proof

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

__all__ = ["budget_seconds", "stated_seconds", "KnowledgePoint", "NotebookEntry", "load_registry", "load_parts", "Part", "proof_cells",
           "Check", "checks_in", "is_proof", "missing_proofs", "read_notebook"]

REPO_ROOT = Path(__file__).resolve().parent.parent
REGISTRY = REPO_ROOT / "notebooks" / "curriculum.toml"
KP_LINE = re.compile(r"^#\s*KP\s+(\d{2}\.\d+)\b")
KP_ID = re.compile(r"^\d{2}\.\d+$")


def budget_seconds(number: str) -> int:
    """A notebook's run-time budget, headless on 2 cores: 00 within 30 s, 01-07 within 60 s,
    08-09 within 90 s, 10 onwards within 120 s."""
    if not re.fullmatch(r"\d{2}", number):
        raise ValueError(f"number must be a notebook's two digits such as '08', got {number!r}")
    value = int(number)
    return 30 if value == 0 else 60 if value <= 7 else 90 if value <= 9 else 120


def stated_seconds(seconds: float) -> int:
    """The run time a title states for a measured one: the nearest second under 10 s, the
    nearest 5 s above (``about 2 s`` for 2.2 s, ``about 35 s`` for 33.1 s)."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds >= 0:
        raise ValueError(f"seconds must be a number >= 0, got {seconds!r}")
    return max(1, round(seconds)) if seconds < 9.5 else 5 * round(seconds / 5)


@dataclass(frozen=True)
class KnowledgePoint:
    id: str
    text: str


@dataclass(frozen=True)
class NotebookEntry:
    number: str
    file: str
    title: str
    summary: str
    points: tuple[KnowledgePoint, ...]


def load_registry(path: Path | str = REGISTRY) -> list[NotebookEntry]:
    """Read and validate the registry; entries come back in notebook order."""
    path = Path(path)
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    if "notebooks" not in data:
        raise ValueError(f"{path}: expected a [notebooks.NN] table, found keys {sorted(data)}")
    entries = []
    for number, table in sorted(data["notebooks"].items()):
        for key in ("file", "title", "summary", "points"):
            if key not in table:
                raise ValueError(f"{path}: notebook {number} lacks '{key}'")
        if not table["file"].startswith(f"{number}_"):
            raise ValueError(f"{path}: notebook {number}'s file must start with "
                             f"'{number}_', got {table['file']!r}")
        points = tuple(KnowledgePoint(p["id"], p["text"]) for p in table["points"])
        if not points:
            raise ValueError(f"{path}: notebook {number} has no knowledge points")
        for point in points:
            if not KP_ID.match(point.id) or not point.id.startswith(f"{number}."):
                raise ValueError(f"{path}: knowledge point id {point.id!r} of notebook "
                                 f"{number} must look like '{number}.1'")
        ids = [p.id for p in points]
        if len(set(ids)) != len(ids):
            raise ValueError(f"{path}: notebook {number} repeats a knowledge point id: {ids}")
        entries.append(NotebookEntry(number, table["file"], table["title"], table["summary"],
                                     points))
    return entries


@dataclass(frozen=True)
class Part:
    numeral: str
    name: str
    zh: str
    notebooks: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"Part {self.numeral} · {self.name}"

    @property
    def label_zh(self) -> str:
        return f"第 {self.numeral} 部分 · {self.zh}"


def load_parts(path: Path | str = REGISTRY) -> list[Part]:
    """The course's parts in order; every notebook of the registry is in exactly one, in
    number order, and a part names no notebook the registry lacks."""
    path = Path(path)
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    numbers = [e.number for e in load_registry(path)]
    parts = [Part(numeral, t["name"], t["zh"], tuple(t["notebooks"]))
             for numeral, t in data.get("parts", {}).items()]
    listed = [n for part in parts for n in part.notebooks]
    if listed != numbers:
        raise ValueError(f"{path}: the parts must list every notebook once, in order: expected "
                         f"{numbers}, got {listed}")
    return parts


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def proof_cells(notebook: dict) -> dict[str, list[str]]:
    """Map each knowledge-point id to the sources of the code cells tagged with it."""
    found: dict[str, list[str]] = {}
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = _source(cell)
        ids = {tag[3:] for tag in cell.get("metadata", {}).get("tags", [])
               if tag.startswith("kp-")}
        first_line = source.lstrip().splitlines()[0] if source.strip() else ""
        match = KP_LINE.match(first_line)
        if match:
            ids.add(match.group(1))
        for kp in ids:
            found.setdefault(kp, []).append(source)
    return found


def missing_proofs(entry: NotebookEntry, notebook: dict) -> list[str]:
    """Ids of the entry's knowledge points without a proof cell in ``notebook``."""
    cells = proof_cells(notebook)
    return [p.id for p in entry.points if not any(is_proof(src) for src in cells.get(p.id, []))]


def read_notebook(path: Path | str) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))

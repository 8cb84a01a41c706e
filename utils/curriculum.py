"""The registry of knowledge points (``notebooks/curriculum.toml``) and the proof-cell check.

A *proof cell* for knowledge point ``02.4`` is a code cell whose first line is ``# KP 02.4``
(or that carries the cell tag ``kp-02.4``) and that contains something that would fail if
the claim were wrong: an ``assert`` statement, a call of a function whose name starts with
``assert`` (``torch.testing.assert_close``, ``np.testing.assert_allclose``), or a call into
``utils.checks``.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

__all__ = ["KnowledgePoint", "NotebookEntry", "load_registry", "proof_cells",
           "checks_names", "is_proof", "missing_proofs", "read_notebook"]

REPO_ROOT = Path(__file__).resolve().parent.parent
REGISTRY = REPO_ROOT / "notebooks" / "curriculum.toml"
KP_LINE = re.compile(r"^#\s*KP\s+(\d{2}\.\d+)\b")
KP_ID = re.compile(r"^\d{2}\.\d+$")


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


def _called_name(node: ast.Call) -> str:
    func = node.func
    parts = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if isinstance(func, ast.Name):
        parts.append(func.id)
    return ".".join(reversed(parts))


def _parse(source: str) -> ast.Module | None:
    code = "\n".join(line for line in source.splitlines()
                     if not line.lstrip().startswith(("%", "!")))  # drop IPython magics
    try:
        return ast.parse(code)
    except SyntaxError:
        return None


def checks_names(notebook: dict) -> set[str]:
    """Names a notebook binds by importing from ``utils.checks`` (in any of its cells)."""
    names = set()
    for cell in notebook.get("cells", []):
        tree = _parse(_source(cell)) if cell.get("cell_type") == "code" else None
        for node in ast.walk(tree) if tree else []:
            if not isinstance(node, ast.ImportFrom):
                continue
            module = node.module or ""
            if module == "utils":
                names |= {a.asname or a.name for a in node.names if a.name == "checks"}
            elif module == "utils.checks" or module.startswith("utils.checks."):
                names |= {a.asname or a.name for a in node.names}
    return names


def is_proof(source: str, imported_checks: set[str] | frozenset[str] = frozenset()) -> bool:
    """True if the cell's code contains an assert, an ``assert*`` call or a checks call.

    ``imported_checks`` holds the names the notebook imported from ``utils.checks``."""
    tree = _parse(source)
    if tree is None:
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            return True
        if isinstance(node, ast.Call):
            name = _called_name(node)
            last = name.rsplit(".", 1)[-1]
            if last.startswith("assert") or ".checks." in f".{name}" or \
                    name.split(".")[0] in set(imported_checks) | {"checks"}:
                return True
    return False


def missing_proofs(entry: NotebookEntry, notebook: dict) -> list[str]:
    """Ids of the entry's knowledge points without a proof cell in ``notebook``."""
    cells = proof_cells(notebook)
    names = checks_names(notebook)
    return [p.id for p in entry.points
            if not any(is_proof(src, names) for src in cells.get(p.id, []))]


def read_notebook(path: Path | str) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))

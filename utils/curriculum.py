"""The registry of knowledge points (``notebooks/curriculum.toml``) and the proof-cell check.

A *proof cell* for knowledge point ``02.4`` is a code cell whose first line is ``# KP 02.4``
(or that carries the cell tag ``kp-02.4``) and that holds a check which would fail if the claim
were wrong: an ``assert``, or a call of an ``assert*`` function (``torch.testing.assert_close``,
``np.testing.assert_allclose``) or of ``gradcheck``. The check is read for meaning, with
Python's ``ast``: it must run when the cell runs (not sit in a ``def`` nobody calls), read
something besides literals (not ``assert True`` or ``assert 1 + 1 == 2``), and not compare an expression with itself or
with a view or copy of itself. A ``utils.checks`` verdict proves something only when asserted.
"""

from __future__ import annotations

import ast
import builtins
import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

__all__ = ["budget_seconds", "KnowledgePoint", "NotebookEntry", "load_registry", "proof_cells",
           "Check", "checks_in", "is_proof", "missing_proofs", "read_notebook"]

REPO_ROOT = Path(__file__).resolve().parent.parent
REGISTRY = REPO_ROOT / "notebooks" / "curriculum.toml"
KP_LINE = re.compile(r"^#\s*KP\s+(\d{2}\.\d+)\b")
KP_ID = re.compile(r"^\d{2}\.\d+$")
# Operations that return the same values (a view, a copy, a cast): comparing an expression with
# one of these applied to itself proves nothing.
SAME_VALUES = frozenset({
    "view", "view_as", "reshape", "reshape_as", "flatten", "ravel", "squeeze", "unsqueeze",
    "t", "T", "mT", "transpose", "permute", "contiguous", "detach", "clone", "copy", "data",
    "cpu", "to", "float", "double", "numpy", "tolist", "item", "expand", "expand_as",
    "chunk", "split", "unbind", "tensor", "as_tensor", "asarray", "array",
})
# Calls that compare their first two arguments.
COMPARING = frozenset({"equal", "allclose", "isclose", "array_equal", "assert_close",
                       "assert_allclose", "assert_equal", "assert_array_equal",
                       "assert_array_almost_equal", "assert_almost_equal"})
# Calls that raise when their check fails (their result need not be asserted).
RAISING = frozenset({"gradcheck", "gradgradcheck"})
MODULES = frozenset({"torch", "np", "numpy", "math", "nn", "F"})
BUILTINS = frozenset(dir(builtins))
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def budget_seconds(number: str) -> int:
    """A notebook's run-time budget, headless on 2 cores: 00 within 30 s, 01-07 within 60 s,
    08-09 within 90 s, 10 onwards within 120 s."""
    if not re.fullmatch(r"\d{2}", number):
        raise ValueError(f"number must be a notebook's two digits such as '08', got {number!r}")
    value = int(number)
    return 30 if value == 0 else 60 if value <= 7 else 90 if value <= 9 else 120


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


class _SameValues(ast.NodeTransformer):
    """Rewrite an expression so that views, copies and casts of ``x`` read as ``x``, and a
    name bound in the cell to such a view reads as what it views."""

    def __init__(self, aliases: dict[str, ast.expr]):
        self.aliases = aliases

    def visit_Name(self, node: ast.Name) -> ast.AST:
        target = self.aliases.get(node.id)
        return self.visit(copy.deepcopy(target)) if target is not None else node

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        node = self.generic_visit(node)
        return node.value if node.attr in SAME_VALUES else node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in SAME_VALUES:
            root = func.value
            if isinstance(root, ast.Name) and root.id in MODULES and len(node.args) == 1:
                return self.visit(node.args[0])  # torch.as_tensor(x), np.asarray(x)
            return self.visit(root)  # x.view(...), x.detach(), x.float()
        return self.generic_visit(node)


def _aliases(tree: ast.Module) -> dict[str, ast.expr]:
    """Names the cell binds once, at its top level, to a view or copy of another name."""
    bound: dict[str, list[ast.expr]] = {}
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For)) else []
        for target in targets:
            for name in ast.walk(target):
                if isinstance(name, ast.Name):
                    value = node.value if isinstance(node, ast.Assign) and \
                        isinstance(target, ast.Name) else None
                    bound.setdefault(name.id, []).append(value)
    aliases = {}
    for name, values in bound.items():
        if len(values) == 1 and values[0] is not None:
            stripped = _SameValues({}).visit(copy.deepcopy(values[0]))
            if isinstance(stripped, ast.Name) and stripped.id != name:
                aliases[name] = values[0]
    return aliases


def _constants(tree: ast.Module) -> set[str]:
    """Names the cell binds only to literal constants (``ok = True``)."""
    values: dict[str, list[bool]] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For, ast.With,
                             ast.NamedExpr)):
            value = getattr(node, "value", None)
            literal = isinstance(node, (ast.Assign, ast.AnnAssign, ast.NamedExpr)) and \
                isinstance(value, ast.Constant)
            targets = getattr(node, "targets", None) or [getattr(node, "target", node)]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name) and isinstance(name.ctx, ast.Store):
                        values.setdefault(name.id, []).append(literal)
    return {name for name, literal in values.items() if all(literal)}


def _live_nodes(tree: ast.Module) -> list[ast.AST]:
    """The nodes that run when the cell runs: the top level, and the bodies of the functions
    and classes that the running code names (a ``def`` nobody calls does not run)."""
    definitions = {node.name: node for node in ast.walk(tree) if isinstance(node, DEFINITIONS)}
    live: list[ast.AST] = []
    pending, entered = [tree], set()
    while pending:
        scope = pending.pop()
        if isinstance(scope, ast.ClassDef):  # a class in use: its methods may all run
            live.extend(ast.walk(scope))
            stack = [n for n in ast.walk(scope) if isinstance(n, ast.Name)]
        else:
            stack = list(scope.body) if isinstance(scope, DEFINITIONS) else [scope]
        while stack:
            node = stack.pop()
            live.append(node)
            if isinstance(node, ast.Name) and node.id in definitions and node.id not in entered:
                entered.add(node.id)
                pending.append(definitions[node.id])
            if isinstance(node, DEFINITIONS):
                stack.extend(node.decorator_list)  # the body runs only when called
                continue
            stack.extend(ast.iter_child_nodes(node))
    return live


def _self_comparison(test: ast.AST, same: _SameValues) -> bool:
    """True if ``test`` compares an expression with itself (or a view or copy of itself)."""
    def key(node: ast.AST) -> str:
        return ast.dump(same.visit(copy.deepcopy(node)))
    for node in ast.walk(test):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for op, a, b in zip(node.ops, operands, operands[1:], strict=False):
                if isinstance(op, (ast.Is, ast.IsNot)):  # identity: x.to(...) is x is a claim
                    if ast.dump(a) == ast.dump(b):
                        return True
                elif key(a) == key(b):
                    return True
        if isinstance(node, ast.Call) and len(node.args) >= 2 and \
                _called_name(node).rsplit(".", 1)[-1] in COMPARING:
            if key(node.args[0]) == key(node.args[1]):
                return True
    return False


def _is_constant(test: ast.AST, constants: set[str]) -> bool:
    """True if ``test`` reads no value computed in the notebook (``True``, ``1 + 1 == 2``)."""
    names = {n.id for n in ast.walk(test) if isinstance(n, ast.Name)} - BUILTINS
    return not names or names <= constants


@dataclass(frozen=True)
class Check:
    """One check in a cell: its code, and why it proves nothing (``None`` if it can fail)."""
    code: str
    problem: str | None


def checks_in(source: str) -> list[Check]:
    """Every check in a cell, each with what (if anything) keeps it from proving its claim."""
    tree = _parse(source)
    if tree is None:
        return []
    same, constants = _SameValues(_aliases(tree)), _constants(tree)
    live = {id(node) for node in _live_nodes(tree)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            test, code = node.test, f"assert {ast.unparse(node.test)}"
        elif isinstance(node, ast.Call) and (
                _called_name(node).rsplit(".", 1)[-1].startswith("assert")
                or _called_name(node).rsplit(".", 1)[-1] in RAISING):
            test, code = node, ast.unparse(node)
        else:
            continue
        if id(node) not in live:
            problem = "inside a definition the cell never runs"
        elif _is_constant(test, constants):
            problem = "checks a constant"
        elif _self_comparison(test, same):
            problem = "compares an expression with itself (or a view or copy of itself)"
        else:
            problem = None
        found.append(Check(code, problem))
    return found


def is_proof(source: str) -> bool:
    """True if the cell holds a check that would fail were its claim false.

    A check is an ``assert``, or a call of an ``assert*`` function
    (``torch.testing.assert_close``) or of ``gradcheck``, that runs when the cell runs, reads
    something besides literals and builtins, and does not compare an expression with itself
    or with a view, copy or cast of itself. A checker of ``utils.checks`` returns a verdict and
    never raises, so it proves something only when the verdict is asserted:
    ``assert nb04.check_x(...)``."""
    return any(check.problem is None for check in checks_in(source))


def missing_proofs(entry: NotebookEntry, notebook: dict) -> list[str]:
    """Ids of the entry's knowledge points without a proof cell in ``notebook``."""
    cells = proof_cells(notebook)
    return [p.id for p in entry.points if not any(is_proof(src) for src in cells.get(p.id, []))]


def read_notebook(path: Path | str) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))

"""The stored notebooks: one clean run's outputs, paired text twins, the anatomy, the budget."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import jupytext
import pytest

from utils.curriculum import budget_seconds, stated_seconds
from utils.questions import fragment_problems

ROOT = Path(__file__).parent.parent
NOTEBOOK_PATHS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
IDS = [p.name for p in NOTEBOOK_PATHS]
TIMINGS = json.loads((ROOT / "notebooks" / "timings.json").read_text())
PEAK_MEMORY_MB = 1024


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def should_show_something(code: str) -> bool:
    """A cell that prints, plots or ends in a bare value must have stored outputs."""
    try:
        tree = ast.parse("\n".join(line for line in code.splitlines()
                                   if not line.startswith(("%", "!"))))
    except SyntaxError:
        return False
    if any(isinstance(n, ast.Call) and getattr(n.func, "id", getattr(n.func, "attr", ""))
           in ("print", "display", "show") for n in ast.walk(tree)):
        return True
    last = tree.body[-1] if tree.body else None
    return (isinstance(last, ast.Expr) and not code.rstrip().endswith(";")
            and isinstance(last.value, (ast.Name, ast.Attribute, ast.Subscript, ast.Tuple,
                                        ast.Compare, ast.BinOp)))


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=IDS)
def test_stored_outputs_come_from_one_clean_run(path):
    cells = code_cells(load(path))
    counts = [c["execution_count"] for c in cells]
    assert counts == list(range(1, len(cells) + 1)), \
        f"execution counts {counts} are not 1..{len(cells)}: run `make notebooks`"
    for index, cell in enumerate(cells):
        assert source(cell).strip(), f"code cell {index + 1} is empty"
        errors = [o for o in cell["outputs"] if o["output_type"] == "error"]
        assert not errors, f"code cell {index + 1} stores an error: {errors[0]['ename']}"
        if should_show_something(source(cell)):
            assert cell["outputs"], f"code cell {index + 1} should show its result but has no output"


def test_a_missing_output_is_detected():
    assert should_show_something("x = 1\nprint(x)")
    assert should_show_something("out.shape")
    assert not should_show_something("x = 1")
    assert not should_show_something("loss.backward()")


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=IDS)
def test_text_twin_is_in_sync(path):
    twin = path.with_suffix(".py")
    assert twin.exists(), f"{twin.name} is missing: the py:percent twin is the reviewable source"
    nb_cells = [(c["cell_type"], source(c)) for c in load(path)["cells"]]
    py_cells = [(c.cell_type, c.source) for c in jupytext.read(twin).cells]
    assert nb_cells == py_cells, f"{path.name} and {twin.name} differ: run `make notebooks`"


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=IDS)
def test_anatomy(path):
    nb = load(path)
    text = "\n".join(source(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    number = path.name[:2]
    assert source(nb["cells"][0]).startswith(f"# {number} · "), "title must read 'NN · Topic'"
    for heading in ("You will learn", "Pitfalls", "Exercises", "Key takeaways"):
        assert heading in text, f"{path.name} lacks a '{heading}' section"
    assert "KP " in text, "the 'You will learn' list must carry knowledge-point ids"
    assert "<details>" in text, "exercise solutions are revealed with <details>"
    assert "env_report(" in source(code_cells(nb)[0]), "the setup cell reports versions and device"
    assert "run_summary(" in source(code_cells(nb)[-1]), "the last cell reports the measured run"


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=IDS)
def test_measured_time_and_memory_within_budget(path):
    assert path.name in TIMINGS, f"{path.name} has no measurement: run `make notebooks`"
    measured = TIMINGS[path.name]
    stated = re.search(r"\*\*Run time:\*\* about (\d+) s", source(load(path)["cells"][0]))
    assert stated, "the title cell states the run time"
    assert int(stated.group(1)) == stated_seconds(measured["seconds"]), \
        f"the title's run time is not the measured {measured['seconds']} s: run `make notebooks`"
    assert measured["seconds"] <= budget_seconds(path.name[:2]), measured
    assert measured["peak_mb"] < PEAK_MEMORY_MB, measured


def test_readme_table_is_current():
    import subprocess
    import sys
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "readme.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+?)\)")


ZH_PATHS = sorted((ROOT / "notebooks" / "zh").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOK_PATHS + ZH_PATHS,
                         ids=IDS + [f"zh/{p.name}" for p in ZH_PATHS])
def test_every_relative_link_names_a_file_that_exists(path):
    """A pointer to the next notebook (or any file) must not dangle in a fresh clone."""
    broken = []
    for cell in load(path)["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        for target in MARKDOWN_LINK.findall(source(cell)):
            file, _, fragment = target.partition("#")
            if not file or "://" in file or file.startswith("mailto:"):
                continue
            if not (path.parent / file).exists():
                broken.append(target)
            elif fragment and file.endswith(".ipynb"):
                broken += [f"{target}: {why}" for why in
                           fragment_problems(load(path.parent / file), fragment)]
    assert broken == [], f"links to missing files: {broken}"


def test_every_notebook_ends_with_its_navigation_footer():
    """The last cell names the notebook's part and links the previous and the next notebook
    (tools/navigation.py generates it from the registry, so it names none that is missing)."""
    import subprocess
    import sys
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "navigation.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    for path in NOTEBOOK_PATHS:
        last = source(load(path)["cells"][-1])
        number = int(path.name[:2])
        following = [p for p in NOTEBOOK_PATHS if int(p.name[:2]) > number]
        assert "Part " in last
        if following:
            assert f"]({following[0].name})" in last
        else:
            assert "last notebook of the course" in last


def test_navigation_footer_names_the_next_part_where_a_part_ends():
    sys_path = str(ROOT)
    import sys
    if sys_path not in sys.path:
        sys.path.insert(0, sys_path)
    from tools.navigation import footer
    text = footer("07_adam_training_step.ipynb")
    assert "which opens Part II · Practice" in text and "Part I · The classic example" in text
    assert "08_training_on_real_data.ipynb" in text
    assert "开启第 II 部分 · 实践" in footer("07_adam_training_step.ipynb", "zh")
    with pytest.raises(ValueError, match="not a notebook of the registry"):
        footer("77_missing.ipynb")


def test_notebook_00s_table_of_parts_is_the_registry():
    from utils.curriculum import load_parts
    text = (ROOT / "notebooks" / "00_the_whole_picture.py").read_text(encoding="utf-8")
    table = text.split("# | part | notebooks | what it answers |\n# | --- | --- | --- |\n")[1]
    rows = []
    for line in table.splitlines():
        if not line.startswith("# | "):
            break
        rows.append(line[4:].split(" | "))
    expected = []
    for part in load_parts():
        linked = [part.notebooks[0], part.notebooks[-1]]
        expected.append((f"{part.numeral} · {part.name}", linked))
    found = [(cells[0], re.findall(r"\[(\d\d)\]\(\1_[a-z_]+\.ipynb\)", cells[1])) for cells in rows]
    assert found == expected

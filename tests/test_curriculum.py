"""The registry and the proof-cell check: on a fixture notebook, then on the real course."""

import copy
from pathlib import Path

import pytest

from utils.curriculum import is_proof, load_registry, missing_proofs, proof_cells, read_notebook

FIXTURES = Path(__file__).parent / "fixtures"
NOTEBOOKS = Path(__file__).parent.parent / "notebooks"


@pytest.fixture
def fixture_pair():
    entry, = load_registry(FIXTURES / "curriculum.toml")
    return entry, read_notebook(FIXTURES / entry.file)


def without_proof_of(notebook, kp):
    """A copy of ``notebook`` with every cell tagged with ``kp`` removed."""
    nb = copy.deepcopy(notebook)
    tagged = proof_cells(notebook).get(kp, [])
    assert tagged, f"the fixture has no cell tagged {kp}"
    nb["cells"] = [c for c in nb["cells"] if "".join(c["source"]) not in tagged]
    return nb


def test_fixture_passes(fixture_pair):
    entry, nb = fixture_pair
    assert missing_proofs(entry, nb) == []


@pytest.mark.parametrize("kp", ["00.1", "00.2", "00.3"])
def test_fixture_fails_when_a_proof_cell_is_removed(fixture_pair, kp):
    entry, nb = fixture_pair
    assert missing_proofs(entry, without_proof_of(nb, kp)) == [kp]


def test_a_cell_that_only_mentions_a_point_is_not_a_proof(fixture_pair):
    entry, nb = fixture_pair
    nb = copy.deepcopy(nb)
    nb["cells"] = [c for c in nb["cells"] if "kp-00.2" not in c["metadata"].get("tags", [])]
    assert missing_proofs(entry, nb) == ["00.2"]  # the "# KP 00.2 ... x = 1" cell remains


@pytest.mark.parametrize("source, expected", [
    ("assert 1 + 1 == 2", True),
    ("torch.testing.assert_close(a, b)", True),
    ("np.testing.assert_allclose(a, b)", True),
    ("checks.check_shape(x)", True),
    ("utils.checks.nb01.check_count(3)", True),
    ("print('assert')", False),
    ("x = 1  # assert x == 1", False),
    ("%time y = f(x)\nassert y", True),
    ("def (:", False),
])
def test_is_proof(source, expected):
    assert is_proof(source) is expected


def test_registry_rejects_bad_ids(tmp_path):
    bad = tmp_path / "curriculum.toml"
    bad.write_text('[notebooks.01]\nfile = "01_x.ipynb"\ntitle = "x"\nsummary = "x"\n'
                   'points = [{ id = "02.1", text = "wrong notebook" }]\n')
    with pytest.raises(ValueError, match="02.1"):
        load_registry(bad)


REGISTRY = load_registry()
PRESENT = [e for e in REGISTRY if (NOTEBOOKS / e.file).exists()]


def test_every_notebook_file_has_registry_entries():
    registered = {e.file for e in REGISTRY}
    on_disk = {p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")}
    assert on_disk <= registered, f"notebooks without registry entries: {on_disk - registered}"
    assert PRESENT, "no course notebook found"


@pytest.mark.parametrize("entry", PRESENT, ids=[e.file for e in PRESENT])
def test_every_knowledge_point_has_a_proof_cell(entry):
    assert missing_proofs(entry, read_notebook(NOTEBOOKS / entry.file)) == []

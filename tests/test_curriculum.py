"""The registry and the proof-cell check: on a fixture notebook, then on the real course."""

import copy
from pathlib import Path

import pytest

from utils.curriculum import (
    budget_seconds,
    checks_in,
    is_proof,
    load_registry,
    missing_proofs,
    proof_cells,
    read_notebook,
    stated_seconds,
)

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


REAL = ["00.1", "00.2", "00.3"]
FAKE = {  # knowledge point of the fixture -> the problem its only "proof" has
    "00.4": "checks a constant",
    "00.5": "checks a constant",
    "00.6": "compares an expression with itself",
    "00.7": "compares an expression with itself",
    "00.8": "never runs",
    "00.9": None,  # a bare checker call: no check at all
    "00.10": "checks a constant",
}


def test_fixture_real_proofs_pass_and_every_fake_is_rejected(fixture_pair):
    entry, nb = fixture_pair
    assert missing_proofs(entry, nb) == list(FAKE)


@pytest.mark.parametrize("kp", FAKE)
def test_each_kind_of_fake_proof_is_rejected_for_its_reason(fixture_pair, kp):
    _, nb = fixture_pair
    source, = proof_cells(nb)[kp]
    checks = checks_in(source)
    assert not is_proof(source)
    if FAKE[kp] is None:
        assert checks == []
    else:
        assert checks and all(c.problem and c.problem.startswith(FAKE[kp]) for c in checks)


@pytest.mark.parametrize("kp", REAL)
def test_fixture_fails_when_a_proof_cell_is_removed(fixture_pair, kp):
    entry, nb = fixture_pair
    assert missing_proofs(entry, without_proof_of(nb, kp)) == [kp, *FAKE]


def test_a_cell_that_only_mentions_a_point_is_not_a_proof(fixture_pair):
    entry, nb = fixture_pair
    nb = copy.deepcopy(nb)
    nb["cells"] = [c for c in nb["cells"] if "kp-00.2" not in c["metadata"].get("tags", [])]
    assert missing_proofs(entry, nb)[0] == "00.2"  # the "# KP 00.2 ... x = 1" cell remains


@pytest.mark.parametrize("source, expected", [
    # checks that can fail
    ("assert loss < 0.01", True),
    ("assert losses[-1] < losses[0]", True),
    ("torch.testing.assert_close(a, b)", True),
    ("torch.testing.assert_close(out.transpose(0, 1), out_batch_first)", True),
    ("np.testing.assert_allclose(a, b)", True),
    ("assert nb01.check_count(answer)", True),
    ("verdict = checks.check_shape(x)\nassert verdict", True),
    ("assert model.to('cpu') is model", True),  # identity is the claim, not a copy
    ("assert torch.sigmoid(torch.tensor(30.0)) > 0.99", True),  # computed by the installed torch
    ("def run():\n    assert f(x) > 0\nrun()", True),
    ("class Probe:\n    def __init__(self):\n        assert x.dim() == 3\nProbe()", True),
    ("for i in range(3):\n    assert out[i].sum() > 0", True),
    ("torch.autograd.gradcheck(f, (x,))", True),
    ("%time y = f(x)\nassert y", True),
    # checks that cannot fail
    ("assert True", False),
    ("assert 1 + 1 == 2", False),
    ("assert len([1, 2]) == 2", False),
    ("assert x == x", False),
    ("assert (a == a.detach()).all()", False),
    ("assert torch.equal(x, x.view(-1))", False),
    ("torch.testing.assert_close(a, a.clone())", False),
    ("np.testing.assert_allclose(np.asarray(a), a)", False),
    ("v = h.view(2, 3)\nassert torch.equal(v, h)", False),
    ("ok = True\nassert ok", False),
    ("def proof():\n    assert x > 0", False),
    ("class M(nn.Module):\n    def forward(self, x):\n        assert x.dim() == 3", False),
    # no check at all
    ("checks.check_shape(x)", False),
    ("utils.checks.nb01.check_count(3)", False),
    ("print('assert')", False),
    ("x = 1  # assert x == 1", False),
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


@pytest.mark.parametrize("entry", PRESENT, ids=[e.file for e in PRESENT])
def test_no_proof_cell_holds_a_check_that_cannot_fail(entry):
    """Beside a real check, a fake one is noise that a reader takes for evidence."""
    fakes = [f"KP {kp}: {check.code} ({check.problem})"
             for kp, sources in proof_cells(read_notebook(NOTEBOOKS / entry.file)).items()
             for source in sources for check in checks_in(source) if check.problem]
    assert fakes == []


@pytest.mark.parametrize("number, seconds", [("00", 30), ("01", 60), ("07", 60), ("08", 90),
                                             ("09", 90), ("10", 120), ("19", 120)])
def test_budgets(number, seconds):
    assert budget_seconds(number) == seconds


def test_a_bad_notebook_number_is_refused():
    with pytest.raises(ValueError, match="two digits"):
        budget_seconds("8")


@pytest.mark.parametrize("seconds, stated", [(0.4, 1), (2.2, 2), (4.4, 4), (9.4, 9), (9.6, 10),
                                             (12.4, 10), (13.3, 15), (66.9, 65), (104.0, 105)])
def test_a_title_states_the_nearest_honest_run_time(seconds, stated):
    assert stated_seconds(seconds) == stated

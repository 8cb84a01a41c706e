"""The Chinese edition (中文版): complete, current, the English code, one term per translation.

The course-wide tests run over every English notebook; the fixture tests plant each defect the
checks must catch (a changed English cell, a missing translation, a wrong term, changed code) in
``tests/fixtures/edition`` and show that the check names it.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from utils import edition

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
ENGLISH = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
IDS = [p.name for p in ENGLISH]
FIXTURE = ROOT / "tests" / "fixtures" / "edition"
sys.path.insert(0, str(ROOT))
from tools import zh as zh_tool  # noqa: E402


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def joined(nb: dict) -> dict:
    """The notebook with every cell's source as one string."""
    for cell in nb["cells"]:
        cell["source"] = "".join(cell["source"])
    return nb


@pytest.fixture(scope="module")
def terms():
    return edition.load_glossary(NOTEBOOKS / "glossary.toml")


@pytest.mark.parametrize("english", ENGLISH, ids=IDS)
def test_every_notebook_has_a_complete_current_translation(english, terms):
    _, problems = zh_tool.problems_of(english, terms)
    assert not problems, "\n".join(str(p) for p in problems) + \
        f"\n(run `python tools/zh.py extract {english.name[:2]}`, translate, then build)"


@pytest.mark.parametrize("english", ENGLISH, ids=IDS)
def test_stored_chinese_notebook_is_the_build_of_english_and_translation(english, terms):
    built, problems = zh_tool.problems_of(english, terms)
    stored = NOTEBOOKS / "zh" / english.name
    assert stored.exists(), f"{stored} is missing: run `python tools/zh.py build`"
    assert stored.read_text(encoding="utf-8") == zh_tool.dump(built), \
        f"{stored.name} is out of date: run `python tools/zh.py build {english.name[:2]}`"


@pytest.mark.parametrize("english", ENGLISH, ids=IDS)
def test_chinese_code_cells_are_the_english_code_with_its_outputs(english):
    stored = NOTEBOOKS / "zh" / english.name
    assert not edition.code_differences(load(english), load(stored))
    en_code = [c["source"] for c in load(english)["cells"] if c["cell_type"] == "code"]
    zh_code = [c["source"] for c in load(stored)["cells"] if c["cell_type"] == "code"]
    assert zh_code == en_code                       # byte for byte, comments included


def test_zh_tool_check_passes():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "zh.py"), "check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_glossary_is_notebook_00s_table():
    text = (NOTEBOOKS / "00_the_whole_picture.py").read_text(encoding="utf-8")
    table = text.split("# | English | 中文 | in PyTorch |\n# | --- | --- | --- |\n")[1]
    rows = []
    for line in table.splitlines():
        if not line.startswith("# | "):
            break
        rows.append([cell.strip() for cell in line[4:].rstrip(" |").split(" | ")])
    import tomllib
    entries = tomllib.loads((NOTEBOOKS / "glossary.toml").read_text(encoding="utf-8"))["term"]
    expected = [[e["en"] if isinstance(e["en"], str) else " / ".join(e["en"]), e["zh"], e["torch"]]
                for e in entries]
    assert rows == expected


def test_chinese_notebooks_are_not_paired_with_a_text_twin():
    assert 'formats = "ipynb"' in (NOTEBOOKS / "zh" / "jupytext.toml").read_text()
    assert not list((NOTEBOOKS / "zh").glob("*.py"))


# --- the fixture: each defect planted, each caught -------------------------------------------

@pytest.fixture
def fixture_pair():
    nb = joined(load(FIXTURE / "99_fixture.ipynb"))
    blocks = edition.parse_blocks((FIXTURE / "99_fixture.md").read_text(encoding="utf-8"))
    return nb, blocks


def all_problems(nb, blocks, terms):
    zh_nb, problems = edition.build(nb, blocks)
    failed = {p.cell_id for p in problems}
    for en, zh in zip(nb["cells"], zh_nb["cells"], strict=True):
        if en["cell_type"] == "markdown" and en["id"] not in failed:
            problems += edition.term_problems(en["id"], "".join(en["source"]),
                                              "".join(zh["source"]), terms)
    return zh_nb, problems


def test_fixture_builds_clean(fixture_pair, terms):
    nb, blocks = fixture_pair
    zh_nb, problems = all_problems(nb, blocks, terms)
    assert problems == []
    assert "约 3 秒" in zh_nb["cells"][0]["source"]      # the English run time, filled in
    assert zh_nb["cells"][1] == nb["cells"][1]            # the code cell, outputs included


def test_a_changed_english_cell_makes_its_translation_stale(fixture_pair, terms):
    nb, blocks = fixture_pair
    nb["cells"][2]["source"] = "The cell state `c` carries the long memory."
    _, problems = all_problems(nb, blocks, terms)
    assert [(p.kind, p.cell_id) for p in problems] == [("stale", "cell-002")]
    assert "changed after its translation" in str(problems[0])


def test_a_new_run_time_does_not_make_the_title_stale(fixture_pair, terms):
    nb, blocks = fixture_pair
    nb["cells"][0]["source"] = nb["cells"][0]["source"].replace("about 3 s", "about 45 s")
    zh_nb, problems = all_problems(nb, blocks, terms)
    assert problems == [] and "约 45 秒" in zh_nb["cells"][0]["source"]


def test_a_missing_translation_fails(fixture_pair, terms):
    nb, blocks = fixture_pair
    _, problems = all_problems(nb, [b for b in blocks if b.cell_id != "cell-003"], terms)
    assert [(p.kind, p.cell_id) for p in problems] == [("missing", "cell-003")]


def test_an_untranslated_block_fails(fixture_pair, terms):
    nb, blocks = fixture_pair
    blocks = [edition.Block(b.cell_id, b.sha, "## Key takeaways\n\n- A gate scales a signal.")
              if b.cell_id == "cell-003" else b for b in blocks]
    _, problems = all_problems(nb, blocks, terms)
    assert ("untranslated", "cell-003") in [(p.kind, p.cell_id) for p in problems]


def test_a_wrong_term_fails(fixture_pair, terms):
    nb, blocks = fixture_pair
    blocks = [edition.Block(b.cell_id, b.sha, b.text.replace("细胞状态", "单元状态"))
              for b in blocks]
    _, problems = all_problems(nb, blocks, terms)
    messages = [str(p) for p in problems if p.kind == "term"]
    assert any("'cell state'" in m and "细胞状态" in m for m in messages)    # term missing
    assert any("'单元状态' is not the glossary's term" in m for m in messages)  # wrong one used


def test_a_longer_term_is_matched_before_its_parts(fixture_pair, terms):
    # "forget gate" needs 遗忘门, and does not also demand 门 for "gate" on its own.
    problems = edition.term_problems("x", "One forget gate.", "一个遗忘门。", terms)
    assert problems == []
    problems = edition.term_problems("x", "One forget gate.", "一个门。", terms)
    assert [p.kind for p in problems] == ["term"] and "遗忘门" in str(problems[0])


def test_terms_inside_code_are_not_prose():
    prose = edition.prose_of("Call `gate()` and ```\nweight = 1\n``` then read [it](gate.md).")
    assert "gate" not in prose.replace("Call", "") and "weight" not in prose


def test_changed_code_is_caught(fixture_pair):
    nb, blocks = fixture_pair
    zh_nb, _ = edition.build(nb, blocks)
    assert edition.code_differences(nb, zh_nb) == []
    commented = copy.deepcopy(zh_nb)
    commented["cells"][1]["source"] = commented["cells"][1]["source"].replace("# two ones",
                                                                              "# 两个 1")
    assert edition.code_differences(nb, commented) == []       # a translated comment is fine
    changed = copy.deepcopy(zh_nb)
    changed["cells"][1]["source"] = changed["cells"][1]["source"].replace("ones(2)", "ones(3)")
    assert edition.code_differences(nb, changed) == ["cell 1 (cell-001): the code differs "
                                                     "from the English"]
    rerun = copy.deepcopy(zh_nb)
    rerun["cells"][1]["outputs"][0]["text"] = "tensor(3.)\n"
    assert "stored outputs differ" in edition.code_differences(nb, rerun)[0]


def test_a_translation_of_a_removed_cell_is_an_orphan(fixture_pair):
    nb, blocks = fixture_pair
    _, problems = edition.build(nb, blocks + [edition.Block("cell-042", "0" * 12, "多余的。")])
    assert [(p.kind, p.cell_id) for p in problems] == [("orphan", "cell-042")]


def test_marker_lines_are_required_and_unique():
    with pytest.raises(ValueError, match="must start with a marker"):
        edition.parse_blocks("stray text\n<!-- translates cell-000 sha:0123456789ab -->\n中文")
    twice = "<!-- translates cell-000 sha:0123456789ab -->\n中\n" * 2
    with pytest.raises(ValueError, match="repeated"):
        edition.parse_blocks(twice)
    with pytest.raises(TypeError):
        edition.parse_blocks(None)


def test_skeleton_keeps_current_translations_and_marks_the_rest(fixture_pair):
    nb, blocks = fixture_pair
    nb["cells"][2]["source"] = "A changed cell."
    fresh = edition.skeleton(nb, blocks)
    assert [b.cell_id for b in fresh] == ["cell-000", "cell-002", "cell-003"]
    assert fresh[0].text == blocks[0].text and fresh[2].text == blocks[2].text
    assert fresh[1].text.startswith("A changed cell.") and "stale translation" in fresh[1].text
    assert edition.parse_blocks(edition.render_blocks(fresh)) == fresh


def test_glossary_refuses_bad_entries(tmp_path):
    bad = tmp_path / "g.toml"
    bad.write_text('[[term]]\nen = "gate"\nzh = "gate"\n')
    with pytest.raises(ValueError, match="must be a Chinese term"):
        edition.load_glossary(bad)
    bad.write_text('[[term]]\nen = "gate"\nzh = "门"\n[[term]]\nen = ["Gate"]\nzh = "门控"\n')
    with pytest.raises(ValueError, match="appears twice"):
        edition.load_glossary(bad)


def test_run_time_slot_is_required_in_a_title(fixture_pair):
    nb, blocks = fixture_pair
    blocks = [edition.Block(b.cell_id, b.sha, re.sub(r"\{\{run_time\}\}", "3", b.text))
              for b in blocks]
    _, problems = edition.build(nb, blocks)
    assert [(p.kind, p.cell_id) for p in problems] == [("run-time", "cell-000")]


def test_bold_that_would_not_render_is_caught(fixture_pair):
    nb, blocks = fixture_pair
    assert edition.unrendered_markup("**运行时间**：约 3 秒") == []
    assert edition.unrendered_markup("**运行时间：**约 3 秒")
    blocks = [edition.Block(b.cell_id, b.sha, b.text.replace("**遗忘门**。", "**遗忘门。**下"))
              for b in blocks]
    _, problems = edition.build(nb, blocks)
    assert [(p.kind, p.cell_id) for p in problems] == [("markup", "cell-000")]


def test_a_stale_translation_pairs_with_its_own_cell_after_an_insertion(fixture_pair, terms):
    nb, blocks = fixture_pair
    inserted = {"cell_type": "markdown", "id": "cell-002", "metadata": {},
                "source": "A new paragraph above."}
    for cell in nb["cells"][2:]:
        cell["id"] = f"cell-{int(cell['id'][5:]) + 1:03d}"       # ids shift, as a re-run does
    nb["cells"].insert(2, inserted)
    nb["cells"][4]["source"] = "## Key takeaways\n\n- A gate scales a signal by a number."
    _, problems = edition.build(nb, blocks)
    assert [(p.kind, p.cell_id) for p in problems] == [("missing", "cell-002"),
                                                        ("renumbered", "cell-003"),
                                                        ("stale", "cell-004")]
    fresh = {b.cell_id: b for b in edition.skeleton(nb, blocks)}
    assert "门对信号进行缩放" in fresh["cell-004"].text        # its own old translation
    assert fresh["cell-003"].text.startswith("细胞状态")       # kept, under its new id
    assert "stale translation" not in fresh["cell-002"].text  # none for the new cell


def test_questions_summaries_themes_and_parts_use_the_glossary(terms):
    from tools.readme import zh_summary
    from utils.curriculum import load_parts, load_registry
    from utils.questions import load_questions
    themes, questions = load_questions()
    pairs = [(q.en, q.en, q.zh) for q in questions]
    pairs += [(e.number, e.summary, zh_summary(e)) for e in load_registry()]
    pairs += [(t.key, t.en, t.zh) for t in themes] + [(p.name, p.name, p.zh) for p in load_parts()]
    problems = [f"{name}: {p.detail}" for name, en, zh in pairs
                for p in edition.term_problems(name, en, zh, terms)]
    assert problems == []
    wrong = edition.term_problems("q", "What is exposure bias?", "什么是曝光偏差？", terms)
    assert wrong and "暴露偏差" in str(wrong[0])                 # the check can fail here too


def test_hyphenated_forms_count_as_the_term(terms):
    assert edition.term_problems("x", "The forget-gate bias.", "遗忘门的偏置。", terms) == []
    missing = edition.term_problems("x", "The forget-gate bias.", "它的偏置。", terms)
    assert [p.kind for p in missing] == ["term"] and "遗忘门" in str(missing[0])


def test_a_block_that_is_its_english_cell_is_untranslated(fixture_pair):
    nb, blocks = fixture_pair
    nb["cells"][2]["source"] = "The cell state 细胞状态 `c` carries the memory."   # has Chinese
    english = edition.skeleton(nb, blocks)                   # the skeleton's English block
    _, problems = edition.build(nb, english)
    assert ("untranslated", "cell-002") in [(p.kind, p.cell_id) for p in problems]


def test_fenced_code_in_a_translation_must_be_the_english_code(fixture_pair):
    nb, blocks = fixture_pair
    nb["cells"][3]["source"] += "\n\n```python\nx = 1  # one\n```"
    fixed = [edition.Block(b.cell_id, edition.cell_hash(nb["cells"][3]["source"]),
                           b.text + "\n\n```python\nx = 1  # 一\n```") if b.cell_id == "cell-003"
             else b for b in blocks]
    assert edition.build(nb, fixed)[1] == []                          # a translated comment
    changed = [edition.Block(b.cell_id, b.sha, b.text.replace("x = 1", "x = 2")) for b in fixed]
    assert [(p.kind, p.cell_id) for p in edition.build(nb, changed)[1]] == [("code", "cell-003")]


def test_the_course_check_itself_fails_on_planted_defects(tmp_path, terms):
    """tools/zh.py's own problems_of (what `zh.py check` and the tests above run) on the
    fixture: clean as shipped, and naming each planted defect."""
    english, source = FIXTURE / "99_fixture.ipynb", FIXTURE / "99_fixture.md"
    summary = "A fixture."
    clean = zh_tool.problems_of(english, terms, source=source, summary=summary,
                                summary_zh=None)[1]
    assert [p.kind for p in clean] == []
    nb = load(english)
    nb["cells"][2]["source"] = ["The cell state `c` carries all the memory."]
    changed = tmp_path / "99_fixture.ipynb"
    changed.write_text(json.dumps(nb), encoding="utf-8")
    stale = zh_tool.problems_of(changed, terms, source=source, summary=summary, summary_zh=None)[1]
    assert [(p.kind, p.cell_id) for p in stale] == [("stale", "cell-002")]
    text = source.read_text(encoding="utf-8").replace("细胞状态", "单元状态")
    (tmp_path / "wrong.md").write_text(text, encoding="utf-8")
    wrong = zh_tool.problems_of(english, terms, source=tmp_path / "wrong.md", summary=summary,
                                summary_zh=None)[1]
    assert {p.kind for p in wrong} == {"term"}
    blocks = edition.parse_blocks(source.read_text(encoding="utf-8"))
    (tmp_path / "short.md").write_text(edition.render_blocks(blocks[:-1]), encoding="utf-8")
    short = zh_tool.problems_of(english, terms, source=tmp_path / "short.md", summary=summary,
                                summary_zh=None)[1]
    assert [(p.kind, p.cell_id) for p in short] == [("missing", "cell-003")]

"""The question index: at least 80 questions, each answered by a real proof cell, each README
link naming a section that exists (English and Chinese)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from utils.questions import (
    Question,
    heading_anchor,
    link_anchor,
    link_problems,
    load_questions,
    question_problems,
)

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def test_at_least_80_questions_in_every_theme_resolve_to_a_proof_cell():
    themes, questions = load_questions()
    assert len(questions) >= 80
    assert {q.theme for q in questions} == {t.key for t in themes}
    assert question_problems(questions, NOTEBOOKS) == []


@pytest.mark.parametrize("readme", ["README.md", "README.zh-CN.md"])
def test_every_question_link_in_the_readmes_names_an_existing_section(readme):
    text = (ROOT / readme).read_text(encoding="utf-8")
    _, questions = load_questions()
    assert text.count("(KP ") >= len(questions)            # the generated index is there
    assert link_problems(text, ROOT) == []


def test_the_chinese_index_links_the_chinese_edition():
    text = (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")
    index = text.split("<!-- questions:start -->")[1]
    assert "](notebooks/zh/" in index and not re.search(r"\]\(notebooks/\d", index)


def test_an_unknown_point_and_a_point_without_proof_are_caught(tmp_path):
    unknown = Question("model", "Q?", "问？", ("01.99",))
    assert question_problems([unknown], NOTEBOOKS) == ["'Q?': knowledge point 01.99 does not exist"]
    layout = Question("model", "Gate order?", "门的顺序？", ("01.4",))
    assert question_problems([layout], NOTEBOOKS) == []
    nb = json.loads((NOTEBOOKS / "01_model_definition.ipynb").read_text(encoding="utf-8"))
    nb["cells"] = [c for c in nb["cells"] if not "".join(c["source"]).startswith("# KP 01.4")]
    (tmp_path / "01_model_definition.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    assert question_problems([layout], tmp_path) == [
        "'Gate order?': knowledge point 01.4 has no proof cell in 01_model_definition.ipynb"]


def test_a_link_to_a_missing_section_is_caught():
    good = f"[q](notebooks/01_model_definition.ipynb#{link_anchor('## 4. The parameter layout')})"
    assert link_problems(good, ROOT) == []
    bad = "[q](notebooks/01_model_definition.ipynb#4.-The-weight-layout)"
    assert link_problems(bad, ROOT) == ["notebooks/01_model_definition.ipynb#4.-The-weight-layout: "
                                        "no section with this heading"]
    assert "no such notebook" in link_problems("[q](notebooks/77_none.ipynb#x)", ROOT)[0]
    assert link_problems("[q](notebooks/01_model_definition.ipynb#cell-id=cell-032)", ROOT) == []
    code_cell = "[q](notebooks/01_model_definition.ipynb#cell-id=cell-001)"      # not a heading
    assert link_problems(code_cell, ROOT)[0].endswith("no heading cell with this id")
    chinese = "[q](notebooks/zh/03_state_initialisation.ipynb#6.-最后一个批量与何时重置状态)"
    assert "does not scroll in JupyterLab" in link_problems(chinese, ROOT)[0]


def test_heading_anchors_follow_jupyterlab():
    assert heading_anchor("## 5. How many parameters?") == "5.-How-many-parameters?"
    assert heading_anchor("## 4. `output` is `(B, T, D*H_out)`") == "4.-output-is-(B,-T,-D*H_out)"
    assert heading_anchor("### A **bold** [link](x.md)") == "A-bold-link"
    assert link_anchor("## 2. f(x)") == "2.-f%28x%29"


def test_a_bad_registry_is_refused(tmp_path):
    path = tmp_path / "q.toml"
    path.write_text('[themes]\nmodel = { en = "M", zh = "模型" }\n[[question]]\ntheme = "x"\n'
                    'en = "Q?"\nzh = "问？"\nkp = ["01.1"]\n')
    with pytest.raises(ValueError, match="has theme 'x'"):
        load_questions(path)
    path.write_text('[themes]\nmodel = { en = "M", zh = "模型" }\n[[question]]\ntheme = "model"\n'
                    'en = "Q?"\nzh = "Q?"\nkp = ["01.1"]\n')
    with pytest.raises(ValueError, match="no Chinese"):
        load_questions(path)
    path.write_text('[themes]\nmodel = { en = "M", zh = "模型" }\n[[question]]\ntheme = "model"\n'
                    'en = "Q?"\nzh = "问？"\nkp = ["1.1"]\n')
    with pytest.raises(ValueError, match="ids like"):
        load_questions(path)

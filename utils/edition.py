"""The Chinese edition (中文版): one course in two languages that cannot drift apart.

Each English notebook ``notebooks/NN_topic.ipynb`` has a translation file
``notebooks/zh/NN_topic.md``: one block per English markdown cell, each opened by a marker line

    <!-- translates cell-007 sha:3f2a9c0d1b4e -->

that names the English cell it translates and a hash of that cell's text. :func:`build` makes
the Chinese notebook ``notebooks/zh/NN_topic.ipynb`` from the English one: every code cell,
with its stored outputs, is copied unchanged, and every markdown cell is replaced by its
translation. A translation whose hash no longer matches its English cell is *stale* (the English
changed after it was translated); an English cell without one is *missing*; both are refused,
and so is a block with no Chinese in it. The glossary (``notebooks/glossary.toml``) is the
single source of the Chinese terms: :func:`term_problems` finds a cell whose English uses a
term while its translation lacks the glossary's Chinese for it, or uses a rejected alternative.

The run time that ``tools/run_notebooks.py`` stamps into each title changes with every run, so
the hash ignores its number and a translation writes ``{{run_time}}`` where the number goes.
"""

from __future__ import annotations

import copy
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import tomllib

__all__ = ["Block", "Term", "Problem", "cell_hash", "parse_blocks", "render_blocks",
           "skeleton", "build", "load_glossary", "term_problems", "prose_of",
           "code_without_comments", "code_differences", "unrendered_markup", "is_nav", "summary_block", "RUN_TIME_SLOT", "SUMMARY_ID"]

MARKER = re.compile(r"^<!-- translates (?P<cell_id>[\w-]+) sha:(?P<sha>[0-9a-f]{12}) -->$",
                    re.MULTILINE)
RUN_TIME = re.compile(r"(\*\*Run time:\*\* about )\d+( s)")
RUN_TIME_SLOT = "{{run_time}}"
CJK = re.compile(r"[\u4e00-\u9fff]")
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)


@dataclass(frozen=True)
class Block:
    """The translation of one English markdown cell."""
    cell_id: str
    sha: str
    text: str


@dataclass(frozen=True)
class Problem:
    """Why an edition cannot be built: ``kind`` is 'missing', 'stale', 'orphan', 'untranslated',
    'renumbered', 'markup', 'code', 'run-time' or 'term'; ``cell_id`` names the English cell."""
    kind: str
    cell_id: str
    detail: str

    def __str__(self) -> str:
        return f"{self.cell_id}: {self.kind}: {self.detail}"


@dataclass(frozen=True)
class Term:
    """A glossary entry: the English forms that name it, its one Chinese term, and Chinese
    alternatives the edition must not use for it."""
    en: tuple[str, ...]
    zh: str
    avoid: tuple[str, ...] = ()


def _text(source) -> str:
    if isinstance(source, list):
        source = "".join(source)
    if not isinstance(source, str):
        raise TypeError(f"a cell's source must be a str or a list of str, got "
                        f"{type(source).__name__}")
    return source


def cell_hash(source) -> str:
    """12 hex digits of SHA-256 of an English cell's text, blind to trailing spaces and to the
    stamped run-time number."""
    text = RUN_TIME.sub(r"\g<1>N\g<2>", _text(source))
    text = "\n".join(line.rstrip() for line in text.strip().splitlines())
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def parse_blocks(text: str) -> list[Block]:
    """The blocks of a translation file, in order; text before the first marker is refused."""
    if not isinstance(text, str):
        raise TypeError(f"expected the translation file's text (str), got {type(text).__name__}")
    markers = list(MARKER.finditer(text))
    if text.strip() and (not markers or text[:markers[0].start()].strip()):
        raise ValueError("a translation file must start with a marker line "
                         "'<!-- translates cell-NNN sha:XXXXXXXXXXXX -->'")
    blocks = []
    for k, marker in enumerate(markers):
        end = markers[k + 1].start() if k + 1 < len(markers) else len(text)
        blocks.append(Block(marker["cell_id"], marker["sha"], text[marker.end():end].strip("\n")))
    ids = [b.cell_id for b in blocks]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ValueError(f"a translation file translates each cell once; repeated: {repeated}")
    return blocks


def render_blocks(blocks: list[Block]) -> str:
    """The translation file that :func:`parse_blocks` reads back as ``blocks``."""
    return "".join(f"<!-- translates {b.cell_id} sha:{b.sha} -->\n{b.text.strip(chr(10))}\n\n"
                   for b in blocks)


NAV_TAG = "course-nav"
SUMMARY_ID = "summary"      # the block that translates the registry's one-line summary


def is_nav(cell: dict) -> bool:
    """The generated navigation footer (tag ``course-nav``): built in each language from the
    registry, never translated by hand."""
    return NAV_TAG in cell.get("metadata", {}).get("tags", [])


def _markdown_cells(nb: dict) -> list[dict]:
    cells = [c for c in nb["cells"] if c["cell_type"] == "markdown" and not is_nav(c)]
    missing_ids = [k for k, c in enumerate(cells) if not c.get("id")]
    if missing_ids:
        raise ValueError(f"every markdown cell needs an id (nbformat 4.5); cells without: "
                         f"{missing_ids}")
    return cells


def summary_block(summary: str, blocks: list[Block]) -> tuple[Block, Problem | None]:
    """The translation of the registry's summary of a notebook (for README.zh-CN.md), or the
    English summary with the problem: missing, stale or untranslated."""
    sha = cell_hash(summary)
    found = next((b for b in blocks if b.cell_id == SUMMARY_ID), None)
    if found is None:
        return Block(SUMMARY_ID, sha, summary), Problem("missing", SUMMARY_ID, "no translation "
                                                        "of the registry's summary")
    if found.sha != sha:
        return Block(SUMMARY_ID, sha, summary), Problem("stale", SUMMARY_ID, "the registry's "
                                                        "summary changed after its translation")
    if CJK.search(found.text) is None:
        return found, Problem("untranslated", SUMMARY_ID, "no Chinese in the summary")
    return found, None


def _previous_translations(cells: list[dict], blocks: list[Block]) -> dict[str, Block]:
    """For each English cell without a current translation, the block that most likely
    translated its earlier text: the cells and the blocks are aligned by their hashes
    (difflib), so a cell inserted or removed above does not pair a cell with its neighbour's
    old translation; inside a changed run, cells and blocks pair in order."""
    import difflib
    old = [b for b in blocks if b.cell_id != SUMMARY_ID]
    new = [cell_hash(c["source"]) for c in cells]
    pairs: dict[str, Block] = {}
    matcher = difflib.SequenceMatcher(a=[b.sha for b in old], b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "replace":
            for block, cell in zip(old[i1:i2], cells[j1:j2], strict=False):
                pairs[cell["id"]] = block
    return pairs


def skeleton(en_nb: dict, blocks: list[Block] = ()) -> list[Block]:
    """Blocks for every English markdown cell, in order: a current translation is kept, and a
    missing or stale one is replaced by the English text, to be translated (a stale block's old
    Chinese is kept below it as a comment, for the translator)."""
    current = {b.sha: b for b in blocks}
    cells = _markdown_cells(en_nb)
    previous = _previous_translations(cells, blocks)
    out = []
    for cell in cells:
        sha = cell_hash(cell["source"])
        if sha in current:
            out.append(Block(cell["id"], sha, current[sha].text))
            continue
        english = RUN_TIME.sub(rf"\g<1>{RUN_TIME_SLOT}\g<2>", _text(cell["source"]))
        old = previous.get(cell["id"])
        note = f"\n\n<!-- stale translation, for reference:\n{old.text}\n-->" if old else ""
        out.append(Block(cell["id"], sha, english + note))
    return out


def build(en_nb: dict, blocks: list[Block], nav_zh: str | None = None
          ) -> tuple[dict, list[Problem]]:
    """The Chinese notebook made from ``en_nb`` and its translation ``blocks``, and every
    problem found. Code cells (outputs included) are copied; markdown cells are translated;
    the navigation footer becomes ``nav_zh``."""
    zh_nb = copy.deepcopy(en_nb)
    for cell in zh_nb["cells"]:
        if cell["cell_type"] == "markdown" and is_nav(cell):
            if nav_zh is None:
                raise ValueError("the English notebook has a navigation footer; pass nav_zh")
            cell["source"] = nav_zh
    current = {b.sha: b for b in blocks}
    previous = _previous_translations(_markdown_cells(zh_nb), blocks)
    used, problems = set(), []
    stated = RUN_TIME.search(_text(en_nb["cells"][0]["source"])) if en_nb["cells"] else None
    for cell in _markdown_cells(zh_nb):
        sha = cell_hash(cell["source"])
        block = current.get(sha)
        if block is None:
            old = previous.get(cell["id"])
            if old is not None:
                used.add(old.cell_id)
                problems.append(Problem("stale", cell["id"], f"the English cell changed after "
                                        f"its translation (translated sha {old.sha}, English "
                                        f"now {sha})"))
            else:
                problems.append(Problem("missing", cell["id"], f"no translation of the English "
                                        f"cell (sha {sha}): {_text(cell['source'])[:60]!r}"))
            continue
        used.add(block.cell_id)
        if block.cell_id != cell["id"]:
            problems.append(Problem("renumbered", cell["id"], f"the block translating this "
                                    f"cell is marked {block.cell_id}: run `python tools/zh.py "
                                    f"extract NN` to renumber the markers"))
        text = block.text
        if "<!-- stale translation" in text:
            problems.append(Problem("untranslated", cell["id"], "the block still holds the "
                                    "stale translation kept for reference"))
        english = RUN_TIME.sub(rf"\g<1>{RUN_TIME_SLOT}\g<2>", _text(cell["source"]))
        if text.strip() == english.strip() and re.search(r"[A-Za-z]{3}", english):
            problems.append(Problem("untranslated", cell["id"], "the block is the English "
                                    "cell itself"))
        elif CJK.search(_text(cell["source"])) is None and CJK.search(text) is None \
                and re.search(r"[A-Za-z]{3}", _text(cell["source"])):
            problems.append(Problem("untranslated", cell["id"], f"no Chinese in the "
                                    f"translation: {text[:60]!r}"))
        en_fences, zh_fences = FENCE.findall(_text(cell["source"])), FENCE.findall(text)
        if len(en_fences) != len(zh_fences) or any(
                code_without_comments(a) != code_without_comments(b)
                for a, b in zip(en_fences, zh_fences, strict=False)):
            problems.append(Problem("code", cell["id"], "a fenced code block differs from the "
                                    "English one (comments aside)"))
        for literal in unrendered_markup(text):
            problems.append(Problem("markup", cell["id"], f"'**' that renders as literal "
                                    f"text (move the punctuation outside the bold): "
                                    f"{literal[:60]!r}"))
        if RUN_TIME_SLOT in text:
            if stated is None:
                problems.append(Problem("run-time", cell["id"], f"{RUN_TIME_SLOT} in a notebook "
                                        "whose title states no run time"))
            else:
                text = text.replace(RUN_TIME_SLOT, stated.group(0).split("about ")[1][:-2])
        elif cell is zh_nb["cells"][0] and stated is not None:
            problems.append(Problem("run-time", cell["id"], f"the title's translation must state "
                                    f"the run time as {RUN_TIME_SLOT}"))
        cell["source"] = text
    for block in blocks:
        if block.cell_id not in used and block.cell_id != SUMMARY_ID:
            problems.append(Problem("orphan", block.cell_id, "translates no cell of the English "
                                    "notebook"))
    zh_nb.setdefault("metadata", {})["language_info"] = {"name": "python"}
    zh_nb["metadata"]["course_edition"] = "zh-CN"
    return zh_nb, problems


def unrendered_markup(markdown: str) -> list[str]:
    """Text that CommonMark leaves as literal ``**`` (an emphasis that does not close): in
    Chinese, ``**标签：**后文`` is not bold, because a closing ``**`` after a full-width
    punctuation mark must be followed by a space or punctuation; write ``**标签**：后文``."""
    from markdown_it import MarkdownIt
    out = []
    for token in MarkdownIt("commonmark").parse(markdown):
        for child in token.children or ():
            if child.type == "text" and "**" in child.content:
                out.append(child.content)
    return out


def load_glossary(path: str | Path) -> list[Term]:
    """Read ``glossary.toml``: ``[[term]]`` tables with ``en`` (a form or a list of forms),
    ``zh`` and optional ``avoid``; refuses an entry without Chinese or with a repeated form."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    terms, seen = [], set()
    for k, entry in enumerate(data.get("term", [])):
        en = entry.get("en")
        forms = (en,) if isinstance(en, str) else tuple(en or ())
        zh = entry.get("zh")
        if not forms or not all(isinstance(f, str) and f.strip() for f in forms):
            raise ValueError(f"glossary term {k}: 'en' must be a form or a list of forms, got "
                             f"{en!r}")
        if not isinstance(zh, str) or not CJK.search(zh):
            raise ValueError(f"glossary term {forms[0]!r}: 'zh' must be a Chinese term, got "
                             f"{zh!r}")
        for form in forms:
            if form.lower() in seen:
                raise ValueError(f"glossary: the English form {form!r} appears twice")
            seen.add(form.lower())
        terms.append(Term(forms, zh, tuple(entry.get("avoid", ()))))
    if not terms:
        raise ValueError(f"{path}: no [[term]] entries")
    return terms


def prose_of(markdown: str) -> str:
    """Markdown without code (fenced blocks and `spans`), link targets, HTML tags and
    ``$...$`` maths, so that only the words a reader reads are searched for terms."""
    text = re.sub(r"```.*?```", " ", markdown, flags=re.DOTALL)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.DOTALL)
    text = re.sub(r"`[^`]+`", " ", text)
    text = re.sub(r"\]\([^)]*\)", "] ", text)
    text = re.sub(r"<[^>\n]+>", " ", text)
    return re.sub(r"\$[^$\n]+\$", " ", text)


def _mentions(form: str, prose: str) -> list[tuple[int, int]]:
    words = r"[ -]".join(re.escape(word) for word in re.split(r"[ -]", form))
    pattern = r"(?<![\w-])" + words + r"(?:s|es)?(?![\w-])"     # "forget-gate" counts too
    return [m.span() for m in re.finditer(pattern, prose, flags=re.IGNORECASE)]


def term_problems(cell_id: str, english: str, chinese: str, terms: list[Term]) -> list[Problem]:
    """The glossary's rule for one cell: where the English prose uses a term, the Chinese uses
    the glossary's Chinese term, and never a rejected alternative. Longer terms are matched
    first ('forget gate' before 'gate'), so each word of the English counts once."""
    prose, problems = prose_of(english), []
    zh_prose = prose_of(chinese)
    taken = [False] * len(prose)
    by_length = sorted(((form, term) for term in terms for form in term.en),
                       key=lambda pair: -len(pair[0]))
    used = set()
    for form, term in by_length:
        for start, end in _mentions(form, prose):
            if not any(taken[start:end]):
                taken[start:end] = [True] * (end - start)
                used.add(term)
    for term in terms:
        if term in used and term.zh not in zh_prose:
            problems.append(Problem("term", cell_id, f"the English uses {term.en[0]!r}; the "
                                    f"Chinese must use the glossary's {term.zh!r}"))
        for wrong in term.avoid:
            if wrong in zh_prose:
                problems.append(Problem("term", cell_id, f"{wrong!r} is not the glossary's term "
                                        f"for {term.en[0]!r}; use {term.zh!r}"))
    return problems


def code_without_comments(source) -> str:
    """A code cell's code with comments and trailing spaces removed (tokenize-exact), so code
    whose comments were translated compares equal to the English."""
    import io
    import tokenize
    text = _text(source)
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(("%", "!"))]
    magics = [line for line in text.splitlines() if line.lstrip().startswith(("%", "!"))]
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline)
                  if t.type != tokenize.COMMENT]
        code = tokenize.untokenize(tokens)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        code = "\n".join(lines)
    code = "\n".join(line.rstrip() for line in code.splitlines() if line.strip())
    return "\n".join(magics) + "\n" + code


def code_differences(en_nb: dict, zh_nb: dict) -> list[str]:
    """Where a Chinese notebook's code is not the English notebook's: the cells must pair up
    one to one by type, and each code cell must have the same code (comments aside) and the
    same stored outputs. An empty list means the Chinese edition runs the English code."""
    en_cells, zh_cells = en_nb["cells"], zh_nb["cells"]
    if [c["cell_type"] for c in en_cells] != [c["cell_type"] for c in zh_cells]:
        return [f"the cell types differ: English {[c['cell_type'][0] for c in en_cells]}, "
                f"Chinese {[c['cell_type'][0] for c in zh_cells]}"]
    out = []
    for k, (en, zh) in enumerate(zip(en_cells, zh_cells, strict=True)):
        if en["cell_type"] != "code":
            continue
        if code_without_comments(en["source"]) != code_without_comments(zh["source"]):
            out.append(f"cell {k} ({en.get('id')}): the code differs from the English")
        if en.get("outputs") != zh.get("outputs"):
            out.append(f"cell {k} ({en.get('id')}): the stored outputs differ from the English")
    return out

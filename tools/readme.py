"""Regenerate the README's notebook table from the registry and the measured timings.

    python tools/readme.py          # rewrite the table in README.md
    python tools/readme.py --check  # exit 1 if README.md is out of date
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from utils.curriculum import load_registry  # noqa: E402

README = ROOT / "README.md"
TIMINGS = ROOT / "notebooks" / "timings.json"
START, END = "<!-- notebooks:start -->", "<!-- notebooks:end -->"


def render_table() -> str:
    timings = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
    rows = ["| # | notebook | what you learn | knowledge points | run time | peak memory |",
            "| --- | --- | --- | --- | --- | --- |"]
    for entry in load_registry():
        present = (ROOT / "notebooks" / entry.file).exists()
        name = f"[{entry.title}](notebooks/{entry.file})" if present else f"{entry.title} (planned)"
        t = timings.get(entry.file) if present else None
        run = f"{t['seconds']:.0f} s" if t else "—"
        mem = f"{t['peak_mb']} MB" if t else "—"
        rows.append(f"| {entry.number} | {name} | {entry.summary} | {len(entry.points)} | "
                    f"{run} | {mem} |")
    measured = {e.number: timings[e.file]["seconds"] for e in load_registry()
                if e.file in timings and (ROOT / "notebooks" / e.file).exists()}
    core = [seconds for number, seconds in measured.items() if number <= "07"]
    rows.append("")
    rows.append(f"Measured in one `make notebooks` run: the core course (00-07) "
                f"{sum(core):.0f} s, all {len(measured)} notebooks {sum(measured.values()):.0f} s.")
    return "\n".join(rows)


def updated_readme() -> str:
    text = README.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"README.md lacks the markers {START} ... {END}")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{render_table()}\n{END}{tail}"


def main() -> int:
    new = updated_readme()
    if "--check" in sys.argv[1:]:
        if new != README.read_text(encoding="utf-8"):
            print("README.md's notebook table is out of date: run `make readme`")
            return 1
        return 0
    README.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Project-wide pytest hooks: per-notebook wall time at the end of every run.

nbval runs each notebook as a series of cell items; their durations (setup, call,
teardown, kernel start included) are summed per notebook file and printed slowest first.
A notebook over twice its budget fails the run: a safety net against a hang or a large
regression, not a benchmark (the README's table holds the measured times).
"""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict
from pathlib import Path

# Set before torch is imported (here and in every nbval kernel, which inherits it): see the
# Makefile for why PyTorch's threads should wait passively on a shared 2-core machine.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
from utils.proofs import guarded_ipython_dir  # noqa: E402

# Every notebook kernel the tests start runs with utils.proofs' memory guard: a proof that
# compares a tensor with a view of its own memory fails the run (see utils/proofs.py).
os.environ["IPYTHONDIR"] = guarded_ipython_dir(tempfile.mkdtemp(prefix="ipython-proof-guard-"))

from utils.curriculum import budget_seconds  # noqa: E402

NOTEBOOK_TIMES: dict[str, float] = defaultdict(float)


def budget(name: str) -> float:
    return float(budget_seconds(name[:2]))


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        NOTEBOOK_TIMES[Path(path).name] += report.duration


def pytest_terminal_summary(terminalreporter):
    if not NOTEBOOK_TIMES:
        return
    terminalreporter.section("notebook wall times (slowest first)")
    for name, seconds in sorted(NOTEBOOK_TIMES.items(), key=lambda kv: -kv[1]):
        flag = "  OVER 2x BUDGET" if seconds > 2 * budget(name) else ""
        terminalreporter.write_line(f"{seconds:7.1f} s  {name}  (budget {budget(name):.0f} s){flag}")
    terminalreporter.write_line(f"{sum(NOTEBOOK_TIMES.values()):7.1f} s  all notebooks")


def pytest_sessionfinish(session, exitstatus):
    if any(seconds > 2 * budget(name) for name, seconds in NOTEBOOK_TIMES.items()):
        session.exitstatus = 1

"""Re-execute the course notebooks in order, each in a fresh kernel (``make notebooks``).

The py:percent twin (``notebooks/NN_topic.py``) is the source: it is converted to the
``.ipynb``, every cell is executed top to bottom, and both files are written back, so the
stored outputs are the product of one clean run. The wall time and the kernel's peak memory
(VmHWM) of each notebook go to ``notebooks/timings.json``, which the README's table shows.

    python tools/run_notebooks.py                 # every notebook of the registry
    python tools/run_notebooks.py 02 03           # only these (by number or file name)
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from utils.curriculum import load_registry, stated_seconds  # noqa: E402
from utils.proofs import guarded_ipython_dir  # noqa: E402

NOTEBOOKS = ROOT / "notebooks"
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # inherited by each kernel; see Makefile
# Each kernel starts with the proof guard: a comparison of a tensor with its own memory fails.
os.environ["IPYTHONDIR"] = guarded_ipython_dir(tempfile.mkdtemp(prefix="ipython-proof-guard-"))
TIMINGS = NOTEBOOKS / "timings.json"


def peak_memory_mb(pid: int) -> float:
    """Peak resident memory of a running process (Linux ``VmHWM``), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


# No cell of the course takes a minute. A cell that takes CELL_TIMEOUT seconds hit a known
# nbclient bug (jupyter/nbclient#312): output printed into an ipywidgets Output area can make
# the client miss the cell's reply and wait forever. Such a run is thrown away and the
# notebook executed again from scratch, in a fresh kernel.
CELL_TIMEOUT = 150
ATTEMPTS = 3


def execute(ipynb: Path) -> tuple[float, float]:
    """Execute ``ipynb`` in place from its twin, retrying a stalled run; (seconds, peak MB)."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return execute_once(ipynb)
        except CellTimeoutError as error:
            print(f"  attempt {attempt}: a cell stalled for {CELL_TIMEOUT} s "
                  f"({str(error).splitlines()[0]}); starting over in a fresh kernel", flush=True)
    raise RuntimeError(f"{ipynb.name}: every one of {ATTEMPTS} runs stalled")


def execute_once(ipynb: Path) -> tuple[float, float]:
    """Execute ``ipynb`` in place from its py:percent twin; return (seconds, peak MB)."""
    twin = ipynb.with_suffix(".py")
    nb = jupytext.read(twin) if twin.exists() else nbformat.read(ipynb, as_version=4)
    for index, cell in enumerate(nb.cells):
        cell.id = f"cell-{index:03d}"  # stable ids: a re-run diffs only where outputs changed
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    started = time.perf_counter()
    with client.setup_kernel():
        info = client.wait_for_reply(client.kc.kernel_info())
        nb.metadata["language_info"] = info["content"]["language_info"]
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        seconds = round(time.perf_counter() - started, 1)  # as recorded and as stamped
        peak = peak_memory_mb(client.km.provisioner.pid)
        client.set_widgets_metadata()
    stamp_run_time(nb, seconds)
    nb.metadata.setdefault("jupytext", {}).pop("text_representation", None)
    nbformat.write(nb, ipynb)
    jupytext.write(nb, twin, fmt="py:percent")
    return seconds, peak


RUN_TIME = re.compile(r"\*\*Run time:\*\* about \d+ s on a (busy )?2-core")


def stamp_run_time(nb, seconds: float) -> None:
    """Write the measured time, rounded as ``stated_seconds`` says, into the title cell's
    **Run time:** line."""
    title = nb.cells[0]
    rounded = stated_seconds(seconds)
    title.source, count = RUN_TIME.subn(f"**Run time:** about {rounded} s on a 2-core",
                                        title.source)
    if count != 1:
        raise ValueError(f"the first cell needs one line '**Run time:** about N s on a 2-core "
                         f"laptop-class CPU', found {count}")


def record(name: str, seconds: float, peak: float) -> None:
    """Merge one measurement into timings.json (locked: several runs may write at once)."""
    with open(TIMINGS.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
        data[name] = {"seconds": round(seconds, 1), "peak_mb": round(peak),
                      "machine": f"{platform.machine()}, {os.cpu_count()} cores"}
        TIMINGS.write_text(json.dumps(dict(sorted(data.items())), indent=2) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", help="notebook numbers or file names")
    args = parser.parse_args()
    entries = [e for e in load_registry()
               if (NOTEBOOKS / e.file).exists() or (NOTEBOOKS / e.file).with_suffix(".py").exists()]
    if args.only:
        wanted = set(args.only)
        entries = [e for e in entries if e.number in wanted or e.file in wanted]
        if not entries:
            parser.error(f"no notebook matches {args.only}")
    for entry in entries:
        print(f"executing {entry.file} ...", flush=True)
        seconds, peak = execute(NOTEBOOKS / entry.file)
        record(entry.file, seconds, peak)
        print(f"  {seconds:6.1f} s, peak memory {peak:5.0f} MB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

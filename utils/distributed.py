"""Data-parallel training on several processes: the script ``torchrun`` starts, and its launcher.

**The script.** ``torchrun`` starts one copy of this module per process ("rank") and tells each
who it is through environment variables (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR``, ``MASTER_PORT``). Each copy joins the process group
(``init_process_group("gloo", timeout=...)``: gloo is the CPU backend), builds the same
dataset (the adding problem) and the same :class:`~utils.models.LSTMRegressor`, wraps the
model in ``DistributedDataParallel`` (which averages the gradients over the ranks during
``backward()``), reads its own shard of the data through a ``DistributedSampler`` and trains
for a fixed number of steps. What it measured goes to ``--out``: one JSON file per rank
(shard, batches, losses, timing, peak memory), the gradients of the first step and the final
parameters of every rank, and a checkpoint that rank 0 alone writes::

    python -m torch.distributed.run --nnodes=1 --nproc-per-node=2 \\
        --master-addr=127.0.0.1 --master-port=29500 \\
        -m utils.distributed --out /tmp/ddp --steps 40

**The launcher** (for the notebook): :func:`free_port` asks the operating system for an unused
port, :func:`torchrun_command` builds the command above, :func:`launch` runs it as a subprocess
with a timeout and returns a :class:`Run`; when a rank fails, :func:`launch` raises
:class:`RankFailedError` with that rank's own error message.

The script stops by itself: it trains for ``--steps`` steps, and every collective operation
gives up after ``--pg-timeout`` seconds (the process group's timeout) instead of waiting
forever for a rank that is stuck.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import torch
from torch.distributed.elastic.multiprocessing.errors import record

__all__ = ["DTYPES", "ROOT", "build_parser", "parse_script_args", "script_args", "free_port",
           "loopback_interface", "rank_environment", "torchrun_command", "multinode_command",
           "Run", "RankFailedError", "launch", "run_command", "rank_pids", "shard_indices",
           "load_tensors", "hang_seconds", "train", "main"]

ROOT = Path(__file__).resolve().parent.parent
DTYPES = {"float32": torch.float32, "float64": torch.float64}
LOOPBACK = "127.0.0.1"
MAX_STEPS = 100_000


# --------------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------------

def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The script's command-line options (``python -m utils.distributed --help``)."""
    parser = argparse.ArgumentParser(
        prog="utils.distributed", description="Data-parallel training of an LSTM regressor "
        "on the adding problem with DistributedDataParallel; start it with torchrun.")
    parser.add_argument("--out", required=True, help="directory for what the ranks measured")
    parser.add_argument("--steps", type=_positive_int, default=20,
                        help=f"optimizer steps to train (at most {MAX_STEPS})")
    parser.add_argument("--global-batch", type=_positive_int, default=64,
                        help="samples per step over all ranks; each rank gets "
                             "global-batch / world-size of them")
    parser.add_argument("--dataset-size", type=_positive_int, default=512)
    parser.add_argument("--seq-len", type=_positive_int, default=30)
    parser.add_argument("--hidden-size", type=_positive_int, default=16)
    parser.add_argument("--lr", type=_positive_float, default=0.01)
    parser.add_argument("--seed", type=int, default=0,
                        help="seeds the weights, the data and the sampler's shuffle")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="float32")
    parser.add_argument("--pg-timeout", type=_positive_float, default=30.0,
                        help="seconds a collective operation waits for the other ranks")
    parser.add_argument("--fail-rank", type=int, default=None,
                        help="this rank raises an error (to see how a failure is reported)")
    parser.add_argument("--hang-rank", type=int, default=None,
                        help="this rank stops answering (to see the process-group timeout)")
    parser.add_argument("--at-step", type=_positive_int, default=2,
                        help="the step at which --fail-rank fails or --hang-rank hangs")
    parser.add_argument("--no-checkpoint", action="store_true",
                        help="rank 0 does not write checkpoint.pt")
    return parser


class _RaisingParser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse would print and exit; a helper raises instead
        raise ValueError(f"bad script arguments: {message}")


def parse_script_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse and check the script's arguments in-process; raise ``ValueError`` on bad ones
    (``argparse`` itself would exit), so a launcher can refuse them before starting anything."""
    if isinstance(argv, str) or not all(isinstance(a, str) for a in argv):
        raise TypeError(f"expected a sequence of str arguments, got {argv!r}")
    parser = build_parser()
    parser.__class__ = _RaisingParser
    return _checked(parser.parse_args(list(argv)))


def _checked(args: argparse.Namespace) -> argparse.Namespace:
    """The checks argparse cannot do alone (``ValueError``)."""
    if args.steps > MAX_STEPS:
        raise ValueError(f"--steps must be at most {MAX_STEPS}, got {args.steps}")
    if (args.fail_rank is not None or args.hang_rank is not None) and args.at_step > args.steps:
        raise ValueError(f"--at-step {args.at_step} is after the last step ({args.steps}): "
                         "the failure would never happen")
    return args


def script_args(**options: object) -> list[str]:
    """Keyword options as the script's command line: ``script_args(out="/tmp/x", steps=5,
    dtype="float64", no_checkpoint=True)`` -> ``["--out", "/tmp/x", "--steps", "5", ...]``.

    Unknown names raise ``TypeError``; a ``True`` flag is written bare, ``False``/``None``
    left out."""
    known = {a.dest: a for a in build_parser()._actions if a.dest != "help"}
    argv: list[str] = []
    for name, value in options.items():
        if name not in known:
            raise TypeError(f"unknown script option {name!r}; expected one of {sorted(known)}")
        flag = known[name].option_strings[0]
        if isinstance(known[name], argparse._StoreTrueAction):
            if not isinstance(value, bool):
                raise TypeError(f"{name} is a flag: expected True or False, got {value!r}")
            argv += [flag] if value else []
        elif value is not None:
            argv += [flag, str(value)]
    parse_script_args(argv)  # refuse bad values here, not in two processes
    return argv


# --------------------------------------------------------------------------------------------
# The script: what each rank runs
# --------------------------------------------------------------------------------------------

def shard_indices(dataset_size: int, world_size: int, *, shuffle: bool = True, seed: int = 0,
                  epoch: int = 0, drop_last: bool = False) -> list[list[int]]:
    """The indices each rank's ``DistributedSampler`` yields, one list per rank, computed here
    in one process with the installed torch's own sampler (``num_replicas``/``rank`` given,
    so no process group is needed)."""
    from torch.utils.data.distributed import DistributedSampler
    for name, value, low in (("dataset_size", dataset_size, 1), ("world_size", world_size, 1),
                             ("epoch", epoch, 0)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
        if value < low:
            raise ValueError(f"{name} must be >= {low}, got {value}")
    if drop_last and dataset_size < world_size:
        raise ValueError(f"drop_last with {dataset_size} samples on {world_size} ranks leaves "
                         f"every rank empty; expected dataset_size >= world_size")
    dataset = range(dataset_size)  # the sampler needs only len()
    shards = []
    for rank in range(world_size):
        sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank,
                                     shuffle=shuffle, seed=seed, drop_last=drop_last)
        sampler.set_epoch(epoch)
        shards.append(list(sampler))
    return shards


def hang_seconds(pg_timeout: float) -> float:
    """How long ``--hang-rank`` sleeps: far longer than the group's timeout, so that only the
    timeout can end the run in time."""
    return 10 * pg_timeout + 60


def _peak_rss_mb(pid: int | None = None) -> float:
    """Peak resident memory of this process (``ru_maxrss``) or of process ``pid`` (Linux's
    ``VmHWM``; NaN where there is no ``/proc``), in MB."""
    if pid is None:  # ru_maxrss is in KiB on Linux, in bytes on macOS
        scale = 1024 * 1024 if sys.platform == "darwin" else 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _rollup_mb(pid: int | str = "self") -> dict[str, float]:
    """``Rss`` and ``Pss`` of a process, read together from one read of Linux's
    ``/proc/<pid>/smaps_rollup``, in MB: the resident memory now, and the same with every
    page shared by k processes counted 1/k (so that the PSS of several processes adds up to
    the memory they really take together). NaN for both where there is no ``/proc``."""
    found = {"rss": float("nan"), "pss": float("nan")}
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return found
    for line in text.splitlines():
        key = line.split(":", 1)[0]
        if key in ("Rss", "Pss"):
            found[key.lower()] = int(line.split()[1]) / 1024
    return found


def _parent_pid(pid: int) -> int | None:
    """The parent of process ``pid`` (Linux ``/proc/<pid>/stat``), or ``None``."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _say(line: str) -> None:
    """Print one line in one write, so that lines of two ranks sharing a pipe never mix."""
    os.write(sys.stdout.fileno(), (line + "\n").encode())


def _save_json(path: Path, data: Mapping) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)  # a reader never sees half a file


def train(args: argparse.Namespace) -> dict:
    """One rank's work: join the group, train ``args.steps`` steps with DDP, write the results.

    Needs the environment ``torchrun`` sets (``RANK``, ``WORLD_SIZE``, ...)."""
    import torch.distributed as dist
    from torch import nn
    from torch.nn.parallel import DistributedDataParallel
    from torch.utils.data import DataLoader, TensorDataset
    from torch.utils.data.distributed import DistributedSampler

    from .data import adding_problem
    from .models import LSTMRegressor

    missing = [v for v in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
               if v not in os.environ]
    if missing:
        raise RuntimeError(f"environment variables {missing} are not set: start this script "
                           "with torchrun (python -m torch.distributed.run ... -m "
                           "utils.distributed ...), which sets them for every rank")
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.global_batch % world:
        raise ValueError(f"--global-batch {args.global_batch} must divide by the world size "
                         f"{world}, so that every rank gets the same number of samples")
    local_batch = args.global_batch // world
    for name in ("fail_rank", "hang_rank"):
        chosen = getattr(args, name)
        if chosen is not None and not 0 <= chosen < world:
            raise ValueError(f"--{name.replace('_', '-')} must be a rank in [0, {world - 1}], "
                             f"got {chosen}")
    dtype = DTYPES[args.dtype]
    started = time.perf_counter()

    dist.init_process_group("gloo", timeout=timedelta(seconds=args.pg_timeout))
    check = torch.tensor([rank + 1.0])
    dist.all_reduce(check)                         # the sum of 1..world on every rank
    log = f"[rank {rank}/{world}]"
    _say(f"{log} joined the group: backend {dist.get_backend()}, "
         f"MASTER_ADDR={os.environ['MASTER_ADDR']} MASTER_PORT={os.environ['MASTER_PORT']}, "
         f"{torch.get_num_threads()} thread(s), pid {os.getpid()}")

    x, y = adding_problem(args.dataset_size, args.seq_len, seed=args.seed)
    dataset = TensorDataset(torch.arange(args.dataset_size), x.to(dtype), y.to(dtype))
    sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True,
                                 seed=args.seed)
    loader = DataLoader(dataset, batch_size=local_batch, sampler=sampler, drop_last=True)
    if len(loader) == 0:
        raise ValueError(f"each rank's shard ({len(sampler)} samples) is smaller than its "
                         f"batch ({local_batch}); use a larger --dataset-size")
    torch.manual_seed(args.seed)                    # the same initial weights on every rank
    model = LSTMRegressor(2, args.hidden_size).to(dtype)
    ddp = DistributedDataParallel(model)            # broadcasts rank 0's weights to all
    optimizer = torch.optim.Adam(ddp.parameters(), lr=args.lr)

    report = {"rank": rank, "world_size": world, "local_rank": int(os.environ["LOCAL_RANK"]),
              "master_addr": os.environ["MASTER_ADDR"],
              "master_port": int(os.environ["MASTER_PORT"]), "pid": os.getpid(),
              "threads": torch.get_num_threads(), "all_reduce_sum": check.item(),
              "local_batch": local_batch, "global_batch": args.global_batch,
              "dtype": args.dtype, "steps": args.steps, "shard_epoch_0": None,
              "losses": [], "step_seconds": []}
    dist.barrier()                                  # start the clock together
    loop_started = time.perf_counter()
    step, epoch = 0, 0
    while step < args.steps:
        sampler.set_epoch(epoch)                    # a new shuffle every epoch
        if epoch == 0:
            report["shard_epoch_0"] = list(sampler)
        for index, xb, yb in loader:
            step += 1
            if rank == args.fail_rank and step == args.at_step:
                raise RuntimeError(f"rank {rank} failed on purpose at step {step} "
                                   f"(--fail-rank {rank})")
            if rank == args.hang_rank and step == args.at_step:
                _say(f"{log} stops answering at step {step} (--hang-rank {rank})")
                _save_json(out / "hang.json", {"rank": rank, "step": step, "time": time.time()})
                time.sleep(hang_seconds(args.pg_timeout))
            t0 = time.perf_counter()
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(ddp(xb), yb)   # the mean over this rank's batch
            loss.backward()                              # DDP averages the gradients here
            if step == 1:
                torch.save({"index": index, **{name: p.grad.detach().clone()
                                               for name, p in model.named_parameters()}},
                           out / f"grads_rank{rank}.pt")
            optimizer.step()
            report["step_seconds"].append(time.perf_counter() - t0)
            report["losses"].append(loss.item())
            if step == args.steps:
                break
        epoch += 1
    dist.barrier()                                  # the slowest rank sets the time
    report["loop_seconds"] = time.perf_counter() - loop_started
    report["epochs_started"] = epoch
    report["samples_per_second"] = args.steps * args.global_batch / report["loop_seconds"]

    torch.save(model.state_dict(), out / f"params_rank{rank}.pt")
    if rank == 0 and not args.no_checkpoint:        # one writer: rank 0
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "step": step, "written_by_rank": rank,
                    "config": {k: v for k, v in vars(args).items() if k != "out"}},
                   out / "checkpoint.pt")
    dist.barrier()                                  # nobody reads it before it is written
    report["wrote_checkpoint"] = rank == 0 and not args.no_checkpoint
    report["seconds"] = time.perf_counter() - started
    dist.barrier()                                  # both ranks read their memory now
    memory = _rollup_mb()                           # Rss and Pss: one read, one moment
    report.update(peak_rss_mb=_peak_rss_mb(), rss_mb=memory["rss"], pss_mb=memory["pss"])
    if int(os.environ["LOCAL_RANK"]) == 0:           # the torchrun agent is our parent
        agent = os.getppid()
        agent_memory = _rollup_mb(agent)
        report.update(agent_pid=agent, agent_peak_rss_mb=_peak_rss_mb(agent),
                      agent_rss_mb=agent_memory["rss"], agent_pss_mb=agent_memory["pss"])
        caller = _parent_pid(agent)                  # whoever started torchrun
        caller_memory = _rollup_mb(caller) if caller else _rollup_mb(-1)
        report.update(caller_pid=caller, caller_rss_mb=caller_memory["rss"],
                      caller_pss_mb=caller_memory["pss"])
    _save_json(out / f"rank{rank}.json", report)
    _say(f"{log} trained {step} steps of {local_batch} samples in "
         f"{report['loop_seconds']:.2f} s; last loss {report['losses'][-1]:.4f}; "
         f"peak memory {report['peak_rss_mb']:.0f} MB")
    dist.destroy_process_group()
    return report


def _write_error(args: argparse.Namespace | None, error: BaseException) -> None:
    """Leave this rank's error where the launcher looks for it (``errors/rank<r>.json``)."""
    out = Path(args.out) if args is not None else None
    if out is None:
        return
    (out / "errors").mkdir(parents=True, exist_ok=True)
    rank = int(os.environ.get("RANK", -1))
    _save_json(out / "errors" / f"rank{rank}.json",
               {"rank": rank, "time": time.time(), "type": type(error).__name__,
                "message": str(error), "traceback": traceback.format_exc()})


def _write_pid(out: Path) -> None:
    """Leave this rank's pid in ``pids/rank<r>.pid``: torchrun starts every rank in a
    session of its own, so the launcher finds the ranks to kill on a timeout here."""
    (out / "pids").mkdir(parents=True, exist_ok=True)
    (out / "pids" / f"rank{os.environ.get('RANK', -1)}.pid").write_text(str(os.getpid()))


@record  # torchrun's failure summary then shows this rank's traceback
def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m utils.distributed`` (one call per rank)."""
    args = None
    try:
        args = build_parser().parse_args(argv)
        _write_pid(Path(args.out))
        train(_checked(args))
    except Exception as error:
        _write_error(args, error)
        raise
    return 0


# --------------------------------------------------------------------------------------------
# The launcher: what the notebook runs
# --------------------------------------------------------------------------------------------

def free_port() -> int:
    """A TCP port that is free right now where torchrun's store will listen: the store binds
    the wildcard address of every interface (IPv6 ``::``, dual-stack, else IPv4
    ``0.0.0.0``), so the probe binds the same (the operating system picks the port: bind to
    port 0, read it, close). Another program could take it before torchrun does; the window
    is short, and :func:`launch` reports the failure if it happens."""
    if socket.has_ipv6:
        try:
            with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
                probe.bind(("::", 0))
                return probe.getsockname()[1]
        except OSError:
            pass  # no IPv6 here: the store falls back to IPv4 as well
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("0.0.0.0", 0))
        return probe.getsockname()[1]


def loopback_interface() -> str | None:
    """The name of the loopback network interface (``lo`` on Linux, ``lo0`` on macOS), or
    ``None`` if there is none to name."""
    try:
        names = [name for _, name in socket.if_nameindex()]
    except (OSError, AttributeError):
        return None
    for name in ("lo", "lo0"):
        if name in names:
            return name
    return None


def rank_environment(threads: int = 1) -> dict[str, str]:
    """The environment for torchrun and its ranks: this one, plus ``threads`` OpenMP threads
    per rank (two ranks on two cores: one each), passive waiting, gloo bound to the loopback
    interface, unbuffered output, and this repository on ``PYTHONPATH``."""
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be an int >= 1, got {threads!r}")
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS=str(threads), OMP_WAIT_POLICY="PASSIVE", PYTHONUNBUFFERED="1",
               PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])]))
    interface = loopback_interface()
    if interface:
        env["GLOO_SOCKET_IFNAME"] = interface
    return env


def _check_count(name: str, value: object, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return value


def torchrun_command(argv: Sequence[str], *, nproc_per_node: int = 2, port: int,
                     host: str = LOOPBACK, python: str = sys.executable) -> list[str]:
    """The command that starts ``nproc_per_node`` ranks of this script on this machine::

        python -m torch.distributed.run --nnodes=1 --nproc-per-node=2
            --master-addr=127.0.0.1 --master-port=PORT -m utils.distributed ARGV...

    ``python -m torch.distributed.run`` is what the ``torchrun`` command runs; naming the
    interpreter (``sys.executable``) makes sure the ranks use this environment's torch."""
    _check_count("nproc_per_node", nproc_per_node)
    _check_count("port", port)
    if port > 65535:
        raise ValueError(f"port must be in [1, 65535], got {port}")
    return [python, "-m", "torch.distributed.run", "--nnodes=1",
            f"--nproc-per-node={nproc_per_node}", f"--master-addr={host}",
            f"--master-port={port}", "-m", "utils.distributed", *_checked_argv(argv)]


def multinode_command(argv: Sequence[str], *, nnodes: int, nproc_per_node: int,
                      endpoint: str, job_id: str = "lstm-course",
                      local_addr: str | None = None, python: str = "python") -> list[str]:
    """The command to run on *each* of ``nnodes`` machines (the same on all of them)::

        python -m torch.distributed.run --nnodes=2 --nproc-per-node=4
            --rdzv-backend=c10d --rdzv-endpoint=HOST:PORT --rdzv-id=JOB -m utils.distributed ...

    The agents meet at the rendezvous ``endpoint`` (``host:port`` of one of the machines),
    agree on who is who, and number the ranks 0 .. nnodes * nproc_per_node - 1.
    ``local_addr`` is the address the others should use to reach this machine."""
    _check_count("nnodes", nnodes)
    _check_count("nproc_per_node", nproc_per_node)
    if not isinstance(endpoint, str) or endpoint.count(":") != 1 or \
            not endpoint.rsplit(":", 1)[1].isdigit():
        raise ValueError(f"endpoint must be 'host:port', got {endpoint!r}")
    command = [python, "-m", "torch.distributed.run", f"--nnodes={nnodes}",
               f"--nproc-per-node={nproc_per_node}", "--rdzv-backend=c10d",
               f"--rdzv-endpoint={endpoint}", f"--rdzv-id={job_id}"]
    if local_addr is not None:
        command.append(f"--local-addr={local_addr}")
    return [*command, "-m", "utils.distributed", *_checked_argv(argv)]


def _checked_argv(argv: Sequence[str]) -> list[str]:
    """``argv`` checked by the script's own parser (``ValueError`` on bad arguments)."""
    parse_script_args(argv)
    return list(argv)


class RankFailedError(RuntimeError):
    """A rank of a torchrun launch failed; ``rank`` and ``message`` are that rank's own."""

    def __init__(self, rank: int, error_type: str, message: str, output: str):
        self.rank, self.error_type, self.message, self.output = rank, error_type, message, output
        super().__init__(f"rank {rank} failed with {error_type}: {message}")


@dataclass
class Run:
    """A finished launch: the command, what it printed, how long it took, and what the ranks
    wrote to ``out`` (``ranks[r]`` is rank r's JSON record)."""
    command: list[str]
    out: Path
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    ranks: list[dict] = field(default_factory=list)

    @property
    def port(self) -> int | None:
        """The ``--master-port`` of the (first) command, if it has one."""
        for arg in self.command[0]:
            if arg.startswith("--master-port="):
                return int(arg.split("=", 1)[1])
        return None

    def rank_lines(self) -> str:
        """The lines the ranks printed (they start with ``[rank``), in the order they came."""
        return "\n".join(line for line in self.stdout.splitlines() if line.startswith("[rank"))


def run_command(commands: Sequence[Sequence[str]], out: Path, *, timeout: float = 60.0,
                env: Mapping[str, str] | None = None, grace: float = 5.0) -> Run:
    """Start each command (one torchrun agent each, all at once), wait at most ``timeout``
    seconds, and return the :class:`Run`.

    On timeout: SIGTERM to each launcher (torchrun forwards it to its ranks), ``grace``
    seconds to stop, then SIGKILL to the launchers and to every rank, which torchrun starts
    in sessions of their own (found from ``/proc/<pid>/task/*/children`` and from the pid
    each rank writes to ``out/pids``). The processes' output is read by threads, so a full
    pipe never blocks a process, and every wait has a time limit.

    Raises :class:`RankFailedError` with the first failing rank's error when a command exits
    with an error, ``TimeoutError`` when they do not finish in time."""
    if not commands or isinstance(commands[0], str):
        raise TypeError("expected a list of commands, each a list of str")
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not timeout > 0:
        raise ValueError(f"timeout must be a number of seconds > 0, got {timeout!r}")
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"out must be a new or empty directory (the ranks' files go there), "
                         f"got {str(out)!r} with files in it")
    env = dict(rank_environment() if env is None else env)
    started = time.perf_counter()
    processes: list[subprocess.Popen] = []
    readers: list[tuple[threading.Thread, list[str]]] = []
    timed_out = False
    try:
        for c in commands:
            process = subprocess.Popen(list(c), cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True,
                                       start_new_session=True)
            processes.append(process)
            readers += [_reader(process.stdout), _reader(process.stderr)]
        for process in processes:
            left = timeout - (time.perf_counter() - started)
            try:
                process.wait(timeout=max(0.01, left))
            except subprocess.TimeoutExpired:
                timed_out = True
                break
    finally:
        if timed_out or any(p.poll() is None for p in processes):
            _stop(processes, out, grace)
        for thread, _ in readers:
            thread.join(timeout=grace)
    texts = ["".join(chunks) for _, chunks in readers]
    stdout, stderr = "".join(texts[0::2]), "".join(texts[1::2])
    if timed_out:
        raise TimeoutError(f"the launch did not finish within {timeout} s; output:\n"
                           f"{(stdout + stderr)[-3000:]}")
    seconds = time.perf_counter() - started
    returncode = next((p.returncode for p in processes if p.returncode), 0)
    if returncode:
        raise _failure(out, stdout + stderr, returncode)
    ranks = sorted((json.loads(p.read_text()) for p in out.glob("rank*.json")),
                   key=lambda r: r["rank"])
    return Run([list(c) for c in commands], out, returncode, stdout, stderr, seconds, ranks)


def _reader(stream) -> tuple[threading.Thread, list[str]]:
    """A daemon thread that reads ``stream`` to its end into a list of chunks."""
    chunks: list[str] = []

    def read() -> None:
        try:
            for chunk in iter(lambda: stream.read(8192), ""):
                chunks.append(chunk)
        except (OSError, ValueError):
            pass
        finally:
            stream.close()

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread, chunks


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (Linux ``/proc/<pid>/task/*/children``; none elsewhere)."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        for task in Path(f"/proc/{todo.pop()}/task").glob("*"):
            try:
                children = {int(c) for c in (task / "children").read_text().split()}
            except (OSError, ValueError):
                continue
            todo += sorted(children - found)
            found |= children
    return found


def rank_pids(out: str | Path) -> list[int]:
    """The pids the ranks of a launch into ``out`` wrote at their start (``pids/``)."""
    pids = []
    for path in sorted(Path(out).glob("pids/rank*.pid")):
        try:
            pids.append(int(path.read_text()))
        except (OSError, ValueError):
            pass
    return pids


def _is_rank_of(pid: int, out: Path) -> bool:
    """Whether ``pid`` is still a process started with ``--out out`` (not a reused pid)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return sys.platform != "linux"  # no /proc to ask: trust the pid file
    return str(out).encode() in argv


def _stop(processes: Sequence[subprocess.Popen], out: Path, grace: float) -> None:
    """End the launchers and all their ranks: SIGTERM, ``grace`` seconds, SIGKILL."""
    ranks: set[int] = set()
    for process in processes:
        ranks |= _descendants(process.pid)           # before they are orphaned
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)      # torchrun forwards it to its ranks
    deadline = time.perf_counter() + grace
    for process in processes:
        try:
            process.wait(timeout=max(0.01, deadline - time.perf_counter()))
        except subprocess.TimeoutExpired:
            pass
    for process in processes:
        ranks |= _descendants(process.pid)
    ranks |= {pid for pid in rank_pids(out) if _is_rank_of(pid, out)}
    for process in processes:
        _kill(process.pid)
    for pid in sorted(ranks):
        _kill(pid)
    for process in processes:
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass


def _kill(pid: int) -> None:
    """SIGKILL a process, and the process group it leads if it leads one (a launcher, and
    every rank, run in sessions of their own); never a group it merely belongs to."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _failure(out: Path, output: str, returncode: int) -> Exception:
    """The error to raise for a failed launch: the rank that failed first, with its message."""
    errors = [json.loads(p.read_text()) for p in (out / "errors").glob("rank*.json")]
    if not errors:
        return RuntimeError(f"torchrun exited with status {returncode} before any rank "
                            f"reported an error; its output ends:\n{output[-3000:]}")
    first = min(errors, key=lambda e: e["time"])
    return RankFailedError(first["rank"], first["type"], first["message"], output)


def launch(nproc_per_node: int = 2, *, out: str | Path | None = None, timeout: float = 60.0,
           threads: int = 1, **options: object) -> Run:
    """Run this script on ``nproc_per_node`` ranks of this machine, on the loopback address
    and a free port, and return the :class:`Run`; ``options`` are the script's (``steps=20``,
    ``dtype="float64"``, ``fail_rank=1``, ...). Without ``out`` the ranks write to a new
    temporary directory that is removed before this returns (``Run.ranks`` keeps their
    records; pass ``out`` to keep their files).

    Raises :class:`RankFailedError` when a rank fails, ``TimeoutError`` after ``timeout``
    seconds."""
    temporary = out is None
    out = Path(tempfile.mkdtemp(prefix="ddp-")) if temporary else Path(out)
    try:
        argv = script_args(out=str(out), **options)
        command = torchrun_command(argv, nproc_per_node=nproc_per_node, port=free_port())
        return run_command([command], out, timeout=timeout, env=rank_environment(threads))
    finally:
        if temporary:
            shutil.rmtree(out, ignore_errors=True)


def load_tensors(path: str | Path) -> dict:
    """``torch.load(path, weights_only=True)``: tensors and plain containers only, never
    arbitrary pickled objects."""
    return torch.load(path, weights_only=True)


if __name__ == "__main__":
    sys.exit(main())

"""Checkers for the exercises of notebook 16 (many processes)."""

from __future__ import annotations

import contextlib
import io
import math
import shlex
from collections.abc import Mapping

import torch

from . import Verdict, as_shape, feedback

__all__ = ["check_padding", "check_steps_per_epoch", "check_node_command",
           "check_plain_state_dict"]


def _sampler_sizes(dataset_size: int, world_size: int, drop_last: bool) -> tuple[int, int]:
    """(samples per rank, padding copies or left-out samples), as ``DistributedSampler``."""
    if drop_last and dataset_size % world_size:
        per_rank = math.ceil((dataset_size - world_size) / world_size)
        return per_rank, dataset_size - per_rank * world_size
    per_rank = math.ceil(dataset_size / world_size)
    return per_rank, per_rank * world_size - dataset_size


def check_padding(answer: object, dataset_size: int = 10, world_size: int = 4) -> Verdict:
    """Exercise 16.1: ``(samples per rank, repeated samples)`` that ``DistributedSampler``
    gives ``dataset_size`` samples on ``world_size`` ranks with ``drop_last=False``."""
    pair = as_shape(answer)
    if pair is None or len(pair) != 2:
        return feedback(False, "", f"give two whole numbers, (per rank, repeated), "
                        f"got {answer!r}.")
    per_rank, padding = _sampler_sizes(dataset_size, world_size, drop_last=False)
    got_rank, got_padding = pair
    if got_rank == dataset_size // world_size and dataset_size % world_size:
        return feedback(False, "", f"{got_rank} per rank would leave samples out: that is "
                        "drop_last=True. Without it every rank gets ceil(n / ranks).")
    return feedback(pair == (per_rank, padding),
                    f"ceil({dataset_size} / {world_size}) = {per_rank} per rank, "
                    f"{per_rank * world_size} in all: the first {padding} indices of the "
                    "shuffled order are dealt out a second time, so every rank takes the same "
                    "number of steps.",
                    f"{pair} is not it. Each rank gets ceil(n / ranks) samples; the padding is "
                    "what that total has beyond n.")


def check_steps_per_epoch(answer: object, dataset_size: int = 10_000, nodes: int = 2,
                          per_node: int = 4, batch_size: int = 16) -> Verdict:
    """Exercise 16.2: ``(global batch, optimizer steps per epoch)`` for ``nodes`` machines of
    ``per_node`` ranks, a per-rank ``DataLoader(batch_size=..., drop_last=True)`` and a
    ``DistributedSampler`` with ``drop_last=False``."""
    pair = as_shape(answer)
    if pair is None or len(pair) != 2:
        return feedback(False, "", f"give two whole numbers, (global batch, steps), "
                        f"got {answer!r}.")
    world = nodes * per_node
    per_rank, _ = _sampler_sizes(dataset_size, world, drop_last=False)
    expected = (world * batch_size, per_rank // batch_size)
    if pair[0] == batch_size:
        return feedback(False, "", f"{batch_size} is one rank's batch; a step averages the "
                        f"gradients of all {world} ranks' batches.")
    if pair[1] == dataset_size // batch_size:
        return feedback(False, "", f"{pair[1]} steps is one process reading everything; here "
                        f"each of the {world} ranks reads only its shard.")
    return feedback(pair == expected,
                    f"{world} ranks x {batch_size} = {expected[0]} samples per step; each rank's "
                    f"shard has ceil({dataset_size} / {world}) = {per_rank} samples, which make "
                    f"{expected[1]} full batches of {batch_size}.",
                    f"{pair} is not it. World size = machines x processes per machine; steps = "
                    "full batches in one rank's shard.")


def _tokens(command: object) -> list[str] | None:
    if isinstance(command, str):
        try:
            return shlex.split(command)
        except ValueError:
            return None
    if isinstance(command, (list, tuple)) and all(isinstance(t, str) for t in command):
        return list(command)
    return None


def check_node_command(command: object, *, nnodes: int = 2, nproc_per_node: int = 4,
                       endpoint: str = "10.0.0.1:29400",
                       script: tuple[str, ...] = ("--out", "/tmp/ddp", "--steps", "100")
                       ) -> Verdict:
    """Exercise 16.3: the command for one machine of ``nnodes``, ``nproc_per_node`` ranks
    each, meeting at ``endpoint`` with the c10d rendezvous, running ``-m utils.distributed``
    with ``script`` arguments. Read by torchrun's own argument parser."""
    from torch.distributed.run import get_args_parser

    tokens = _tokens(command)
    if not tokens:
        return feedback(False, "", f"give the command as a string or a list of str, "
                        f"got {command!r}.")
    for start, prefix in ((1, ("torchrun",)), (3, ("python", "-m", "torch.distributed.run"))):
        head = [t.rsplit("/", 1)[-1] for t in tokens[:start]]
        if head[0].startswith("python") and prefix[0] == "python":
            head[0] = "python"
        if tuple(head) == prefix:
            options = tokens[start:]
            break
    else:
        return feedback(False, "", "start the command with torchrun or with "
                        "python -m torch.distributed.run.")
    complaint = io.StringIO()
    try:
        with contextlib.redirect_stderr(complaint):
            args = get_args_parser().parse_args(options)
    except SystemExit:
        said = complaint.getvalue().strip().splitlines()
        reason = said[-1].split("error: ", 1)[-1] if said else "no script given"
        return feedback(False, "", f"torchrun cannot read these options: {reason}.")
    wrong = []
    if str(args.nnodes) != str(nnodes):
        wrong.append(f"--nnodes={nnodes} (the number of machines), not {args.nnodes}")
    if str(args.nproc_per_node) != str(nproc_per_node):
        wrong.append(f"--nproc-per-node={nproc_per_node}, not {args.nproc_per_node}")
    if args.standalone:
        wrong.append("no --standalone (it starts a rendezvous on this machine alone and "
                     "ignores --rdzv-endpoint)")
    if args.rdzv_backend != "c10d":
        wrong.append(f"--rdzv-backend=c10d, not {args.rdzv_backend!r}")
    if args.rdzv_endpoint != endpoint:
        wrong.append(f"--rdzv-endpoint={endpoint} (host:port of the rendezvous), not "
                     f"{args.rdzv_endpoint!r}")
    if not args.module or args.training_script != "utils.distributed":
        wrong.append("-m utils.distributed (run the module, not a file)")
    if tuple(args.training_script_args) != tuple(script):
        wrong.append(f"the script's own arguments {' '.join(script)}, not "
                     f"{' '.join(args.training_script_args)!r}")
    if wrong:
        return feedback(False, "", "torchrun reads your command, but it needs " +
                        "; ".join(wrong) + ".")
    return feedback(True, "Every machine runs this same command; the agents meet at "
                    f"{endpoint}, agree on the membership and number the ranks 0 to "
                    f"{nnodes * nproc_per_node - 1}.", "")


def check_plain_state_dict(state_dict: object, reference: Mapping[str, torch.Tensor]
                           ) -> Verdict:
    """Exercise 16.4: ``state_dict`` must be ``reference`` (a plain model's state_dict) with the
    same tensors, whatever the learner did to a DDP-style ``module.``-prefixed copy."""
    if not isinstance(state_dict, Mapping):
        return feedback(False, "", f"give a dict of tensors, got {type(state_dict).__name__}.")
    keys, expected = list(state_dict), list(reference)
    if any(k.startswith("module.") for k in keys):
        return feedback(False, "", "the keys still start with 'module.': that is the name "
                        "DistributedDataParallel gives the model it wraps.")
    if sorted(keys) != sorted(expected):
        missing = sorted(set(expected) - set(keys))
        extra = sorted(set(keys) - set(expected))
        return feedback(False, "", f"the keys differ: missing {missing}, unexpected {extra}.")
    same = all(isinstance(state_dict[k], torch.Tensor)
               and state_dict[k].shape == reference[k].shape
               and torch.equal(state_dict[k].detach().cpu().to(reference[k].dtype),
                               reference[k].detach().cpu()) for k in expected)
    return feedback(same, "Those are the plain model's keys with the checkpoint's values: "
                    "load_state_dict takes them as they are.",
                    "the keys are right but some values changed; only rename the keys.")

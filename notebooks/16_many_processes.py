# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 16 · Many processes
#
# One process trains on one batch at a time. To train on more data per second, PyTorch runs
# several copies of the same script, one per core, GPU or machine, each called a *rank*: every
# rank keeps a full copy of the model, reads its own part of each batch, and before each
# optimizer step the ranks average their gradients, so that every copy takes the same step and
# stays the same. That is *data parallelism*, and `torch.nn.parallel.DistributedDataParallel`
# (DDP) is PyTorch's implementation of it, started by `torchrun`. This notebook runs it for
# real: two processes on this machine, talking over the loopback address 127.0.0.1 with the
# `gloo` backend (the one for CPUs), training the course's LSTM regressor on the adding
# problem of notebook 09. What the notebook claims about the training, it checks on what the
# processes wrote to disk.
#
# **You will learn**
#
# - **KP 16.1** how `torchrun` starts the ranks of a script (here `utils.distributed`) and how
#   they find each other: `RANK`, `WORLD_SIZE`, a free port on 127.0.0.1, one thread per rank;
# - **KP 16.2** how `DistributedSampler` cuts the data: disjoint shards that cover it, and what
#   it does (padding or dropping) when the data does not divide by the number of ranks;
# - **KP 16.3** that after one step the DDP gradient equals the single-process gradient of the
#   whole batch, in float64;
# - **KP 16.4** that the ranks' parameters stay identical, and that two processes train the same
#   model as one;
# - **KP 16.5** checkpointing from rank 0 only, reloaded with `weights_only=True`;
# - **KP 16.6** what happens when a rank fails: the launch fails with that rank's error;
# - **KP 16.7** why the script always stops: a fixed number of steps and a timeout on the
#   process group;
# - **KP 16.8** the same script on several machines (`--nnodes`, `--rdzv-endpoint`), simulated
#   with two launchers on this one;
# - **KP 16.9** why not `nn.DataParallel`;
# - **KP 16.10** throughput with one and two processes and the memory they take, measured.
#
# **Run time:** about 30 s on a 2-core laptop-class CPU (most of it is starting six `torchrun`
# launchers and a Python process per rank for each); the last cell prints the measured time
# and peak memory of the run whose outputs you see (this kernel's; section 10 measures the
# ranks').

# %%
import time

notebook_started = time.perf_counter()

import argparse
import inspect
import json
import math
import os
import re
import shlex
import socket
import sys
import tempfile
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data.distributed import DistributedSampler

from utils import distributed
from utils.checks import error_of, nb16
from utils.data import adding_problem
from utils.distributed import (RankFailedError, free_port, hang_seconds, launch, load_tensors,
                               multinode_command, parse_script_args, rank_environment,
                               run_command, script_args, shard_indices, torchrun_command, train)
from utils.models import LSTMRegressor
from utils.training import env_report, run_summary, set_seed
from utils.viz import new_figure
from utils.widgets.shards import shard_explorer

torch.set_num_threads(1)        # this kernel mostly waits: the two cores are for the ranks
set_seed(0)
workspace = tempfile.TemporaryDirectory(prefix="nb16-")   # every launch writes here
WORK = Path(workspace.name)


def shown(command):
    """A command as you would type it: `python`, and $WORK for this run's temporary folder."""
    return shlex.join(command).replace(sys.executable, "python").replace(str(WORK), "$WORK")


print(env_report(torch.device("cpu")))
print(f"torch.distributed available: {dist.is_available()}, gloo: {dist.is_gloo_available()}")

# %% [markdown]
# ## 1. One script, two processes
#
# The training script is a module of this course, `utils/distributed.py`. Every rank runs all
# of it; these are the lines that make it distributed, printed from its source:

# %%
DISTRIBUTED_LINES = ("init_process_group", "DistributedSampler(", "DataLoader(",
                     "DistributedDataParallel(model)", "set_epoch", "backward()",
                     "rank == 0 and")
for line in inspect.getsource(distributed.train).splitlines():
    if any(key in line for key in DISTRIBUTED_LINES):
        print(line.strip())

# %% [markdown]
# In words: join the process group (`gloo`, with a timeout); give each rank its shard of the
# data (`DistributedSampler`) and batch it; wrap the model in DDP, which hooks into `backward()`
# to average the gradients over the ranks; reshuffle every epoch; let rank 0 alone write the
# checkpoint.
#
# `torchrun` (the same program as `python -m torch.distributed.run`) starts the ranks: it runs
# `--nproc-per-node` copies of the script and gives each its identity in environment variables:
# `RANK` (0, 1, ...), `WORLD_SIZE` (how many ranks in all), `LOCAL_RANK` (its number on this
# machine) and `MASTER_ADDR`/`MASTER_PORT`, the address of a small key-value store (run by
# the launcher on the first machine) where the ranks meet and swap their addresses. We give
# the ranks the address 127.0.0.1, so they connect to the store only within this machine, and
# bind gloo's own connections (the gradients) to the loopback interface `lo`
# (`GLOO_SOCKET_IFNAME`). The store itself is less private: it listens on every interface of
# the machine (the wildcard address), for as long as the run lasts; the cell after next reads
# that from the kernel's table of listening sockets. So `free_port` asks the system for a port
# that is free right now on that same wildcard address. The ranks get one OpenMP thread each
# (`OMP_NUM_THREADS=1`, two ranks on two cores) and wait passively (`OMP_WAIT_POLICY=PASSIVE`),
# as every notebook of this course does:

# %%
env = rank_environment(threads=1)
print({name: env[name] for name in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GLOO_SOCKET_IFNAME")
       if name in env})
OPTIONS = dict(steps=40, global_batch=256, dataset_size=1024, seq_len=30, hidden_size=16,
               lr=0.01, dtype="float64")
port = free_port()
two_dir = WORK / "two-ranks"
command = torchrun_command(script_args(out=str(two_dir), **OPTIONS), nproc_per_node=2, port=port)
print(shown(command))

# %% [markdown]
# Where does the store listen? The launcher runs a `TCPStore` as master; this kernel can start
# the same kind of store for a moment, on a free port, and look it up in Linux's table of TCP
# sockets (`/proc/net/tcp` and `/proc/net/tcp6`; state `0A` is LISTEN, and an address of all
# zeros is the wildcard, every interface; 127.0.0.1 would read `0100007F`):

# %%
def listening_addresses(port):
    """(table, local address in hex) of every socket listening on ``port`` (Linux only)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            local, state = row.split()[1], row.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.append((table.rsplit("/", 1)[1], address))
    return found


store_port = free_port()
store = dist.TCPStore("127.0.0.1", store_port, world_size=1, is_master=True)
listening = listening_addresses(store_port)
del store
print(f"a TCPStore created with host 127.0.0.1 listens on port {store_port} at:", listening)

# %%
if Path("/proc/net/tcp").exists():
    assert listening, "the store's socket is in the table"
    assert all(set(address) == {"0"} for _, address in listening)   # every interface
    assert ("tcp", "0100007F") not in listening                       # not 127.0.0.1 alone
assert env.get("GLOO_SOCKET_IFNAME") in (None, distributed.loopback_interface())

# %% [markdown]
# The notebook runs that command as a subprocess with a timeout (`run_command`) and shows what
# the ranks printed. Float64 everywhere, so that section 3 can compare gradients to 15 digits.

# %%
two = run_command([command], two_dir, timeout=90, env=env)
print(two.rank_lines())
print(f"torchrun and both ranks finished in {two.seconds:.1f} s; torchrun's own messages: "
      f"{two.stderr.strip() or 'none'}")

# %% [markdown]
# Each rank also wrote a record (`rank0.json`, `rank1.json`). Before doing anything, each rank
# added its number plus one into a shared sum with `dist.all_reduce`, the collective operation
# DDP uses for gradients: 1 + 2 = 3 on both, so both are in one group.

# %%
for record in two.ranks:
    print(f"rank {record['rank']}: world size {record['world_size']}, local rank "
          f"{record['local_rank']}, pid {record['pid']}, {record['threads']} thread(s), "
          f"master {record['master_addr']}:{record['master_port']}, "
          f"all_reduce sum {record['all_reduce_sum']:g}")

# %%
# KP 16.1
assert [r["rank"] for r in two.ranks] == [0, 1]
assert two.ranks[0]["pid"] != two.ranks[1]["pid"]                  # two processes
assert all(r["world_size"] == 2 and r["all_reduce_sum"] == 1 + 2 for r in two.ranks)
assert all(r["master_addr"] == "127.0.0.1" and r["master_port"] == port for r in two.ranks)
assert all(r["threads"] == 1 for r in two.ranks)                   # OMP_NUM_THREADS=1 each
assert two.rank_lines().count("joined the group") == 2

# %% [markdown]
# ## 2. Who reads what: `DistributedSampler`
#
# DDP does not cut the data; the sampler does. `DistributedSampler` shuffles the indices of the
# whole dataset with a generator seeded by `seed + epoch` (the same on every rank, so all ranks
# agree on the order without talking), then deals them out: rank r takes positions r,
# r + world_size, r + 2·world_size, ... Each rank recorded the indices its sampler gave it in
# epoch 0, and the check below rebuilds the shuffled order here and compares the shards with
# it position by position:

# %%
shards = [r["shard_epoch_0"] for r in two.ranks]
n = OPTIONS["dataset_size"]
print(f"rank 0: {len(shards[0])} indices, first {shards[0][:6]}")
print(f"rank 1: {len(shards[1])} indices, first {shards[1][:6]}")
print(f"shared by both: {len(set(shards[0]) & set(shards[1]))}; "
      f"together {len(set(shards[0]) | set(shards[1]))} of {n}")

# %% [markdown]
# When the dataset does not divide by the number of ranks, every rank must still take the same
# number of steps (a rank that runs out early would leave the others waiting in a collective).
# The installed torch's sampler, asked here in this process for 10 samples on 3 ranks
# (`shard_indices` gives `num_replicas` and `rank` explicitly, so no process group is needed),
# does one of two things. With `drop_last=False` (the default) it pads: it appends the first
# indices of the shuffled order again until the total divides. With `drop_last=True` it cuts
# the tail instead.

# %%
order = torch.randperm(10, generator=torch.Generator().manual_seed(0)).tolist()
padded, dropped = shard_indices(10, 3), shard_indices(10, 3, drop_last=True)
print("shuffled order:", order)
print("drop_last=False:", padded, "->", sum(map(len, padded)), "samples")
print("drop_last=True: ", dropped, "->", sum(map(len, dropped)), "samples")

# %%
# KP 16.2
assert not set(shards[0]) & set(shards[1])                         # disjoint
assert sorted(shards[0] + shards[1]) == list(range(n))             # and they cover the data
epoch_0_order = torch.randperm(n, generator=torch.Generator().manual_seed(0 + 0)).tolist()
assert shards[0] == epoch_0_order[0::2] and shards[1] == epoch_0_order[1::2]  # r, r + 2, ...
flat_padded = [i for s in padded for i in s]
assert [len(s) for s in padded] == [4, 4, 4] and set(flat_padded) == set(range(10))
assert sorted(flat_padded) == sorted(order + order[:2])            # the first two, repeated
assert [len(s) for s in dropped] == [3, 3, 3]
assert set(range(10)) - {i for s in dropped for i in s} == {order[-1]}   # the tail, dropped
assert shard_indices(10, 3, epoch=1) != padded                     # set_epoch: a new shuffle

# %% [markdown]
# So with padding, two of the 12 samples of an epoch are seen twice (a small bias in the
# epoch's average, usually harmless); with `drop_last=True` one sample is not seen in that
# epoch (a different one each epoch, since the shuffle changes).
#
# ## Explore: the sampler's cut
#
# Choose the number of samples and of ranks, the epoch, and the two switches; each cell is one
# index, coloured by the rank that reads it, hatched when it is a padding repeat. Try 10 samples
# on 4 ranks, then tick `drop_last`; then move the epoch and watch every rank's share change
# while the rows stay disjoint.

# %%
shard_explorer(dataset_size=10, world_size=3)

# %% [markdown]
# ## 3. The gradient after one step
#
# DDP's promise: the average of the ranks' gradients is the gradient a single process would
# compute on the union of their batches. With the mean squared error, rank r's loss is the mean
# over its b samples, and the mean of two such means is the mean over all 2b samples, so the
# average of the gradients is the gradient of the whole batch's loss. DDP does the averaging
# during `backward()` (an all-reduce of the gradients, divided by the world size).
#
# After the first `backward()` each rank saved its `.grad` and the indices of its batch. Here,
# in this single process, the same model (same seed) computes the gradient on the union of the
# two batches:

# %%
grads = [load_tensors(two_dir / f"grads_rank{r}.pt") for r in (0, 1)]
index = [g.pop("index") for g in grads]
global_batch = torch.cat(index)
x_all, y_all = adding_problem(n, OPTIONS["seq_len"], seed=0)
x_all, y_all = x_all.double(), y_all.double()


def gradient_on(rows):
    """The single-process gradient of the MSE on ``rows``, from the script's initial weights."""
    torch.manual_seed(0)
    model = LSTMRegressor(2, OPTIONS["hidden_size"]).double()
    nn.functional.mse_loss(model(x_all[rows]), y_all[rows]).backward()
    return {name: p.grad for name, p in model.named_parameters()}


single = gradient_on(global_batch)
local = [gradient_on(rows) for rows in index]          # each rank's half, alone
ddp_error = max((grads[0][k] - single[k]).abs().max().item() for k in single)
local_gap = max((local[0][k] - single[k]).abs().max().item() for k in single)
print(f"{len(global_batch)} samples in the global batch ({len(index[0])} per rank)")
print(f"largest |DDP gradient - single-process gradient|: {ddp_error:.1e}")
print(f"largest |rank 0's own-half gradient - single-process gradient|: {local_gap:.1e}")

# %%
# KP 16.3
assert len(set(global_batch.tolist())) == OPTIONS["global_batch"]   # two disjoint halves
for name in single:
    torch.testing.assert_close(grads[0][name], single[name], rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(grads[1][name], single[name], rtol=1e-12, atol=1e-14)
    torch.testing.assert_close((local[0][name] + local[1][name]) / 2, single[name],
                               rtol=1e-12, atol=1e-14)              # the average of the halves
assert local_gap > 1e-3                                            # which alone differ

# %% [markdown]
# The DDP gradient agrees with the single-process one to within rounding (the difference
# printed above is about the size of float64's last digit: the same numbers were added in
# another order), while a rank's own half alone is off by far more: the all-reduce is what
# made the difference. Float64 makes the check sharp: a tolerance of 1e-12 leaves no room for
# a gradient that is almost right.
#
# ## 4. The copies stay identical
#
# Both ranks start from the same weights (the same seed, and DDP's constructor also copies rank
# 0's weights to all ranks), apply the same averaged gradient and run the same Adam update, so
# after 40 steps they should hold the same numbers, bit for bit. And because the two ranks'
# batches of a step are together exactly the samples one process would take with the same
# global batch (positions `k·256 ... k·256 + 255` of the shuffled order), the same script on
# *one* process should train the same model. The second launch runs it:

# %%
one = launch(1, out=WORK / "one-rank", timeout=60, **OPTIONS)
print(one.rank_lines())
params = [load_tensors(two_dir / f"params_rank{r}.pt") for r in (0, 1)]
params_one = load_tensors(one.out / "params_rank0.pt")
gap_one = max((params[0][k] - params_one[k]).abs().max().item() for k in params_one)
ranks_equal = all(torch.equal(params[0][k], params[1][k]) for k in params[0])
print(f"rank 0 and rank 1 identical after {OPTIONS['steps']} steps: {ranks_equal}; "
      f"largest |two processes - one process|: {gap_one:.1e}")

# %% [markdown]
# Each rank's loss is the loss of its half of the batch; the mean of the two is the loss of
# the whole batch, which is what the single process computed:

# %%
losses = torch.tensor([r["losses"] for r in two.ranks], dtype=torch.float64)  # (2, steps)
loss_one = torch.tensor(one.ranks[0]["losses"], dtype=torch.float64)
fig, ax = new_figure(width=7, height=3)
ax.plot(losses[0], lw=1, alpha=0.7, label="rank 0 (its half)")
ax.plot(losses[1], lw=1, alpha=0.7, label="rank 1 (its half)")
ax.plot(losses.mean(0), "k", lw=2.5, label="mean of the two ranks")
ax.plot(loss_one, color="gold", ls="--", lw=1.5, label="one process, whole batch")
ax.set_xlabel("step")
ax.set_ylabel("training MSE")
ax.set_title("Two ranks, one model")
ax.legend(fontsize=8);

# %%
# KP 16.4
for name in params[0]:
    assert torch.equal(params[0][name], params[1][name])            # bit for bit
    torch.testing.assert_close(params[0][name], params_one[name], rtol=1e-10, atol=1e-12)
torch.testing.assert_close(losses.mean(0), loss_one, rtol=1e-10, atol=1e-12)
assert (losses[0] - losses[1]).abs().max() > 1e-3                  # the halves differ
first_one = load_tensors(one.out / "grads_rank0.pt")["index"]
assert sorted(first_one.tolist()) == sorted(global_batch.tolist())  # the same first batch

# %% [markdown]
# ## 5. One checkpoint, written by rank 0
#
# All ranks hold the same weights, so one copy is enough, and two ranks writing one file at
# once could leave a mix of both. The script saves from rank 0 only, then waits at a barrier
# so that no rank reads the file before it is complete. It saves the plain model's
# `state_dict()` (not the DDP wrapper's, see the Pitfalls), the optimizer's state and the
# configuration as a plain dict, everything `torch.load(..., weights_only=True)` accepts:

# %%
files = sorted(p.name for p in two_dir.glob("*.pt"))
checkpoint = load_tensors(two_dir / "checkpoint.pt")        # torch.load(weights_only=True)
print("files:", files)
print("wrote a checkpoint:", {r["rank"]: r["wrote_checkpoint"] for r in two.ranks})
print(f"checkpoint: step {checkpoint['step']}, written by rank {checkpoint['written_by_rank']}, "
      f"keys {sorted(checkpoint)}")
restored = LSTMRegressor(2, OPTIONS["hidden_size"]).double()
restored.load_state_dict(checkpoint["model"])
optimizer = torch.optim.Adam(restored.parameters(), lr=OPTIONS["lr"])
optimizer.load_state_dict(checkpoint["optimizer"])       # ready to resume training

# %%
# KP 16.5
assert files.count("checkpoint.pt") == 1
assert [r["wrote_checkpoint"] for r in two.ranks] == [True, False]
assert checkpoint["written_by_rank"] == 0 and checkpoint["step"] == OPTIONS["steps"]
for name, value in restored.state_dict().items():
    assert torch.equal(value, params[1][name])                   # rank 1's weights too
trained = LSTMRegressor(2, OPTIONS["hidden_size"]).double()
trained.load_state_dict(params[1])
with torch.no_grad():
    assert torch.equal(restored(x_all[:64]), trained(x_all[:64]))
assert optimizer.state_dict()["state"][0]["step"] == OPTIONS["steps"]

# %% [markdown]
# ## 6. When a rank fails
#
# A real job fails for real reasons: a bad sample, a full disk, a bug that only one shard
# reaches. The script has a switch to make one rank fail on purpose, `--fail-rank 1`, at step
# 2. The launcher helper waits for `torchrun`, and when it exits with an error, reads the error
# each rank left in `errors/` and raises `RankFailedError` with the first one. Had this cell
# not caught it, the cell would have failed with rank 1's message:

# %%
try:
    launch(2, out=WORK / "failing", timeout=60, fail_rank=1, **OPTIONS)
except RankFailedError as error:
    failure = error
print("RankFailedError:", failure)
root_cause = failure.output[failure.output.index("Root Cause"):].splitlines()
print("\n".join(line for line in root_cause[:6] if line.strip()))
failed_errors = {r: WORK / "failing" / "errors" / f"rank{r}.json" for r in (0, 1)}
rank_1_error = json.loads(failed_errors[1].read_text())
rank_0_error = json.loads(failed_errors[0].read_text()) if failed_errors[0].exists() else None
if rank_0_error is None:
    print("rank 0 was stopped by torchrun before it reported an error of its own")
else:
    print(f"rank 0 failed too, {rank_0_error['time'] - rank_1_error['time']:.2f} s later:",
          rank_0_error["type"], rank_0_error["message"][:90])

# %% [markdown]
# Rank 1 raised its error; rank 0 was waiting for rank 1 in the next collective operation.
# Which comes first then is a race: either rank 0 finds the connection closed and fails too
# (then its error is printed above, and came later), or `torchrun` stops it before it can
# report. Either way `torchrun` stops what is left. Its own summary
# ("Root Cause (first observed failure)") names the same rank as the helper does. Always look
# for the *first* failure: the others are consequences.

# %%
# KP 16.6
assert failure.rank == 1 and failure.error_type == "RuntimeError"
assert "rank 1 failed on purpose at step 2" in failure.message
assert "rank      : 1 (local_rank: 1)" in "\n".join(root_cause)   # torchrun agrees
if rank_0_error is not None:                                       # if rank 0 reported:
    assert rank_0_error["rank"] == 0 and rank_0_error["time"] >= rank_1_error["time"]

# %% [markdown]
# ## 7. The script always stops
#
# A crash ends a run; a rank that *hangs* (stuck on a file system, on a lock, in an endless
# loop) would leave the others waiting in the next all-reduce forever. Two things bound this
# script: it trains for `--steps` steps, not until some condition; and it joins the group with
# `init_process_group("gloo", timeout=...)`, so that a collective that waits longer than the
# timeout raises instead. PyTorch's default for gloo, per the installed docstring, is 30
# minutes:

# %%
docstring = " ".join(dist.init_process_group.__doc__.split())
print(re.search(r"Default value is [^.]*\.", docstring).group())
print("torch.distributed.constants.default_pg_timeout:",
      torch.distributed.constants.default_pg_timeout)

# %% [markdown]
# Here rank 1 stops answering at step 2 (`--hang-rank 1`: it sleeps for `hang_seconds(3)`,
# printed below) and the group's timeout is 3 s:

# %%
started = time.perf_counter()
try:
    launch(2, out=WORK / "hanging", timeout=60, hang_rank=1, pg_timeout=3, **OPTIONS)
except RankFailedError as error:
    hang = error
hang_elapsed = time.perf_counter() - started
print("RankFailedError:", hang)
hung_at = json.loads((WORK / "hanging" / "hang.json").read_text())["time"]
gave_up = json.loads((WORK / "hanging" / "errors" / "rank0.json").read_text())["time"]
print(f"rank 0 gave up {gave_up - hung_at:.1f} s after rank 1 stopped answering; the launch "
      f"ended after {hang_elapsed:.1f} s; the hung rank would have slept "
      f"{hang_seconds(3):.0f} s")

# %%
# KP 16.7
assert hang.rank == 0 and "Timed out waiting 3000ms" in hang.message   # the waiting rank
assert 2.5 < gave_up - hung_at < 10        # about the group's 3 s timeout
assert 3 < hang_elapsed < hang_seconds(3)   # it waited the timeout, not the hung rank's sleep
assert "30 minutes for other backends" in docstring
assert len(two.ranks[0]["losses"]) == OPTIONS["steps"]                  # bounded steps

# %% [markdown]
# ## 8. Several machines
#
# Nothing in the script knows how many machines there are: it reads `RANK` and `WORLD_SIZE`.
# To train on two machines with four processes each, run **the same command on each machine**;
# only the launcher's options change. With the c10d rendezvous (the recommended one), the
# launchers meet at `--rdzv-endpoint`, the `host:port` of one of the machines, agree on who is
# who, and number the ranks 0 to 7:

# %%
job = script_args(out="runs/ddp", steps=100)
print(shlex.join(multinode_command(job, nnodes=2, nproc_per_node=4,
                                   endpoint="node1.example.com:29400", job_id="lstm-job")))

# %% [markdown]
# The older *static* form names each machine's place explicitly: `--nnodes=2 --node-rank=0`
# on the first machine and `--node-rank=1` on the second, both with
# `--master-addr=node1.example.com --master-port=29500`. Either way, every machine needs the
# same code, the same data (or its own copy of it), and open ports between the machines.
#
# This machine can play two machines: two launchers, one process each, meeting at a
# rendezvous on 127.0.0.1 (`--local-addr=127.0.0.1` tells each launcher to give that address
# to the others, instead of its host name):

# %%
nodes_dir = WORK / "two-nodes"
endpoint = f"127.0.0.1:{free_port()}"
node_command = multinode_command(script_args(out=str(nodes_dir), **{**OPTIONS, "steps": 5}),
                                 nnodes=2, nproc_per_node=1, endpoint=endpoint,
                                 local_addr="127.0.0.1", python=sys.executable)
print(shown(node_command))
nodes = run_command([node_command, node_command], nodes_dir, timeout=90, env=env)
print(nodes.rank_lines())
for record in nodes.ranks:
    print(f"rank {record['rank']} of {record['world_size']}: local rank {record['local_rank']}, "
          f"started by launcher pid {record['agent_pid']}")

# %%
# KP 16.8
assert [r["rank"] for r in nodes.ranks] == [0, 1]
assert all(r["world_size"] == 2 and r["local_rank"] == 0 for r in nodes.ranks)  # 1 per node
assert nodes.ranks[0]["agent_pid"] != nodes.ranks[1]["agent_pid"]     # two launchers
node_params = [load_tensors(nodes_dir / f"params_rank{r}.pt") for r in (0, 1)]
assert all(torch.equal(node_params[0][k], node_params[1][k]) for k in node_params[0])
assert not set(nodes.ranks[0]["shard_epoch_0"]) & set(nodes.ranks[1]["shard_epoch_0"])

# %% [markdown]
# ## 9. Why not `nn.DataParallel`?
#
# `nn.DataParallel` is older and looks simpler: wrap the model, and it splits each batch over
# the GPUs *inside one process*: it copies the model to every GPU at every forward pass, runs
# the copies in Python threads, and sums the gradients back on the first GPU. One process
# means one Python interpreter, whose lock the threads share, and a first GPU that does extra
# work; it cannot span machines. PyTorch's own docstring, in the installed version, recommends
# DDP instead, "even if there is only a single node". It does not say "maintenance mode" (the
# words you may read elsewhere about DataParallel); the cell checks both:

# %%
doc = " ".join(nn.DataParallel.__doc__.split())
print(re.search(r"It is recommended to use .*? single node\.", doc).group())
print('"maintenance mode" in the docstring:', "maintenance mode" in doc.lower())
threads_in_apply = "threading.Thread" in inspect.getsource(torch.nn.parallel.parallel_apply)
print("parallel_apply runs the copies in threading.Thread:", threads_in_apply)
cpu_model = LSTMRegressor(2, 8)
wrapped = nn.DataParallel(cpu_model)
x_probe = torch.randn(4, 5, 2)
print("on this machine, DataParallel's device_ids:", wrapped.device_ids)

# %% [markdown]
# On a machine without GPUs it does nothing at all: with no devices to split over, it calls
# the model it wraps, on the whole batch, in this one process.

# %%
# KP 16.9
assert "DistributedDataParallel" in doc and "even if there is only a single node" in doc
assert "maintenance mode" not in doc.lower()
assert threads_in_apply
if not torch.cuda.is_available():
    assert wrapped.device_ids == []
    with torch.no_grad():
        assert torch.equal(wrapped(x_probe), cpu_model(x_probe))   # a pass-through

# %% [markdown]
# ## 10. How fast, honestly, and how much memory
#
# Each rank timed its own training loop (40 steps of the same global batch of 256, between two
# barriers, so the slower rank sets the time). Ideally two processes on two cores would be
# twice as fast: each does half the work per step. In practice each step also waits for the
# all-reduce of the gradients, DDP adds bookkeeping, and on a 2-core machine the two ranks
# share the cores with everything else that runs, this notebook's kernel and, on a shared
# machine, other people's programs.

# %%
rate_one = one.ranks[0]["samples_per_second"]
rate_two = two.ranks[0]["samples_per_second"]
speedup = rate_two / rate_one
print(f"1 process:   {rate_one:8,.0f} samples/s ({one.ranks[0]['loop_seconds']:.2f} s "
      f"for {OPTIONS['steps']} steps)")
print(f"2 processes: {rate_two:8,.0f} samples/s ({two.ranks[0]['loop_seconds']:.2f} s), "
      f"{speedup:.2f}x the throughput of one (ideal: 2x)")
print(f"whole launch, start-up included: {one.seconds:.1f} s with 1 process, "
      f"{two.seconds:.1f} s with 2")
print(f"in this run, two processes were {'faster' if speedup > 1 else 'slower'} than one")

# %% [markdown]
# Whether two processes beat one here depends on what else the two cores are doing: the
# model is small (a step takes milliseconds, so the fixed cost of synchronising is a large
# share of it), and the second core is only free on an idle machine. The last line above says
# which way it went in this run. Data parallelism pays when each rank has a core (or a GPU) of
# its own and a step's compute is large against its communication. On this run the ratio
# stayed below the ideal 2 (the check below asserts it), as expected: on two cores each rank
# can at best do half the work in half the time, and the all-reduce comes on top. The launch
# itself costs seconds (a Python process with torch per rank, plus the launcher), which only a
# long run amortises.
#
# Memory: every rank is a full Python process with its own torch, model and data. At the end
# of training, at the same moment (after a barrier), each rank read its resident size (`Rss`)
# and its proportional set size (`Pss`) from one read of Linux's `/proc/self/smaps_rollup`,
# and rank 0 read the launcher's and this kernel's (the launcher's parent) the same way, at
# the same moment. The course's budget is 1 GB (1024 MB):

# %%
rank_0, rank_1 = two.ranks
rows = [("rank 0", rank_0["rss_mb"], rank_0["pss_mb"]),
        ("rank 1", rank_1["rss_mb"], rank_1["pss_mb"]),
        ("torchrun launcher", rank_0["agent_rss_mb"], rank_0["agent_pss_mb"]),
        ("this kernel", rank_0["caller_rss_mb"], rank_0["caller_pss_mb"])]
for name, rss, pss in rows:
    print(f"{name:18} Rss {rss:4.0f} MB, Pss {pss:4.0f} MB")
rss_total, pss_total = sum(r[1] for r in rows), sum(r[2] for r in rows)
print(f"all four at that moment: Rss summed {rss_total:.0f} MB, Pss summed {pss_total:.0f} MB "
      f"({pss_total / rss_total:.0%} of the plain sum); the budget: 1024 MB")

# %%
# KP 16.10
assert rate_one > 0 and rate_two > 0
assert speedup < 2.0                                        # below the ideal on this run
if not math.isnan(pss_total):                               # smaps_rollup: Linux only
    assert rank_0["caller_pid"] == os.getpid()              # the kernel's figures: this one's
    assert pss_total < 0.8 * rss_total                      # shared pages: counted once
    assert pss_total < 1024 < rss_total                     # in budget only counted fairly
    assert all(pss <= rss for _, rss, pss in rows)          # the same read, the same moment

# %% [markdown]
# The resident sizes add up to more than the machine really holds: counted fairly, the
# four processes take less than 80 % of their plain sum (the ratio is printed above). Summed
# as resident sizes they would be over the 1 GB budget; counted fairly, they are under it. Much of each
# process is the torch library, whose pages the operating system shares between processes, and
# a plain sum counts them once per process; PSS (proportional set size, Linux only) gives each
# of k processes 1/k of a shared page.
#
# ## Pitfalls
#
# **A `DistributedSampler` outside a process group.** Without `num_replicas` and `rank`, the
# sampler asks the process group for them:

# %%
sampler_error = error_of(lambda: DistributedSampler(range(10)))
print(sampler_error)
assert "Default process group has not been initialized" in sampler_error

# %% [markdown]
# **Forgetting `sampler.set_epoch(epoch)`.** The shuffle is seeded with `seed + epoch`; if the
# epoch never changes, every epoch reads the same order:

# %%
sampler = DistributedSampler(range(10), num_replicas=2, rank=0)
first_pass, second_pass = list(sampler), list(sampler)
sampler.set_epoch(1)
print("epoch 0, twice:", first_pass, second_pass, "| after set_epoch(1):", list(sampler))
assert first_pass == second_pass != list(sampler)

# %% [markdown]
# **Saving the DDP wrapper's `state_dict()`.** DDP keeps the model as `.module`, so its keys
# start with `module.` and a plain model refuses them. A one-process group in this kernel
# (`HashStore`, world size 1) is enough to show it:

# %%
if distributed.loopback_interface():    # gloo's sockets on loopback here too, as the ranks'
    os.environ["GLOO_SOCKET_IFNAME"] = distributed.loopback_interface()
dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
ddp_model = nn.parallel.DistributedDataParallel(LSTMRegressor(2, 4))
wrapped_keys = list(ddp_model.state_dict())[:2]
prefix_error = error_of(lambda: LSTMRegressor(2, 4).load_state_dict(ddp_model.state_dict()))
dist.destroy_process_group()
print(wrapped_keys)
print(prefix_error)
assert "Unexpected key(s) in state_dict: \"module.lstm.weight_ih_l0\"" in prefix_error

# %% [markdown]
# Save `ddp_model.module.state_dict()` instead, as the script does, or strip the prefix when
# loading (Exercise 4).
#
# **A port that is taken.** The launcher's store listens on `MASTER_PORT`; if another
# program holds it, the store cannot start. This is why the notebook asks for a free port
# instead of the usual 29500:

# %%
with socket.socket() as holder:
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    taken = holder.getsockname()[1]
    port_error = error_of(lambda: dist.TCPStore("127.0.0.1", taken, world_size=1,
                                                is_master=True))
print(port_error)
assert "EADDRINUSE" in port_error and str(taken) in port_error

# %% [markdown]
# **An object in the checkpoint that `weights_only=True` refuses.** Saving the script's
# `argparse.Namespace` (instead of `vars(args)`, a plain dict) makes the checkpoint need
# full unpickling, which `torch.load` refuses by default since PyTorch 2.6: the call below
# does not pass `weights_only` at all:

# %%
bad_file = WORK / "namespace.pt"
torch.save({"model": restored.state_dict(), "args": argparse.Namespace(steps=40)}, bad_file)
load_error = re.sub(r"\x1b\[[0-9;]*m", "", error_of(lambda: torch.load(bad_file)))
print(load_error[:160], "...")
print(next(line.strip() for line in load_error.splitlines() if "Unsupported global" in line))
assert "Unsupported global: GLOBAL argparse.Namespace" in load_error

# %% [markdown]
# **Running the script with plain `python`.** It needs the variables `torchrun` sets, and
# says so:

# %%
no_torchrun = error_of(lambda: train(parse_script_args(["--out", str(WORK / "plain")])))
print(no_torchrun)
assert "start this script with torchrun" in no_torchrun

# %% [markdown]
# ## Exercises
#
# Replace `None` with your answer and run the cell; the checker says whether it is right.
#
# **Exercise 1.** A dataset of 10 samples, 4 ranks, `DistributedSampler` with its defaults
# (`drop_last=False`). How many samples does each rank get, and how many samples of the epoch
# are repeats? Answer as a pair `(per_rank, repeats)`.

# %%
answer_1 = None
nb16.check_padding(answer_1)

# %% [markdown]
# <details><summary>Solution</summary>
#
# `(3, 2)`: each rank gets ceil(10 / 4) = 3, 12 in all, so the first 2 indices of the
# shuffled order are dealt out again: `nb16.check_padding((3, 2))`. The explorer above shows
# it with 10 samples and 4 ranks.
#
# </details>
#
# **Exercise 2.** Two machines with four processes each; each rank's `DataLoader` has
# `batch_size=16` and `drop_last=True`; the dataset has 10,000 samples. What is the global
# batch of one optimizer step, and how many steps make one epoch? Answer `(global_batch,
# steps)`.

# %%
answer_2 = None
nb16.check_steps_per_epoch(answer_2)

# %% [markdown]
# <details><summary>Solution</summary>
#
# The world size is 2 × 4 = 8 ranks, so a step averages 8 × 16 = 128 samples; each rank's shard
# has ceil(10,000 / 8) = 1,250 samples, which make 78 full batches of 16:
# `nb16.check_steps_per_epoch((128, 78))`. An epoch takes 8 times fewer steps than on one
# process with the same per-rank batch; that is where the speed comes from.
#
# </details>
#
# **Exercise 3.** Write the command to run on *each* of two machines, four processes each,
# meeting at the c10d rendezvous `10.0.0.1:29400`, for the script `utils.distributed` with the
# arguments `--out /tmp/ddp --steps 100`. A string or a list of strings; `torchrun` or
# `python -m torch.distributed.run`. (The checker reads it with `torchrun`'s own parser.)

# %%
answer_3 = None
nb16.check_node_command(answer_3)

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```
# torchrun --nnodes=2 --nproc-per-node=4 --rdzv-backend=c10d --rdzv-endpoint=10.0.0.1:29400 --rdzv-id=job1 -m utils.distributed --out /tmp/ddp --steps 100
# ```
#
# `multinode_command(["--out", "/tmp/ddp", "--steps", "100"], nnodes=2, nproc_per_node=4,
# endpoint="10.0.0.1:29400")` builds the same, with `python -m torch.distributed.run`.
#
# </details>
#
# **Exercise 4.** `ddp_style` is the checkpoint's model as a DDP wrapper's `state_dict()`
# would give it: every key starts with `module.`. Make `answer_4` a dict that
# `LSTMRegressor(2, 16).load_state_dict` accepts, with the same tensors.

# %%
ddp_style = {"module." + key: value for key, value in checkpoint["model"].items()}
answer_4 = None
nb16.check_plain_state_dict(answer_4, checkpoint["model"])

# %% [markdown]
# <details><summary>Solution</summary>
#
# Strip the prefix from every key: `answer_4 = {k.removeprefix("module."): v for k, v in
# ddp_style.items()}`. PyTorch has a helper that does it in place:
# `torch.nn.modules.utils.consume_prefix_in_state_dict_if_present(ddp_style, "module.")`.
#
# </details>

# %% [markdown]
# ## Key takeaways
#
# - Data parallelism: one process per core, GPU or machine; every rank holds the whole model,
#   reads its own shard (`DistributedSampler`), and DDP averages the gradients in `backward()`,
#   so all copies take the same step. `torchrun` starts the ranks and tells each its `RANK` and
#   `WORLD_SIZE`.
# - Measured here: after one step the DDP gradient equals the single-process gradient of the
#   whole batch to rounding in float64; after 40 steps the ranks are identical bit for bit and
#   agree with a one-process run to rounding.
# - The sampler's shards are disjoint and cover the data; when the data does not divide, it
#   pads with repeats (or drops the tail with `drop_last=True`). Call `set_epoch` every epoch.
# - Save from rank 0 only, the plain model's `state_dict()`, as plain data that
#   `weights_only=True` loads.
# - A failing rank fails the launch with its own error (look for the first failure); a hung
#   rank is ended by the process group's timeout; a fixed number of steps bounds the rest.
# - Several machines: the same command on each, with `--nnodes` and a rendezvous endpoint.
# - Prefer DDP to `nn.DataParallel`. And measure before you scale: on this run, two processes
#   on 2 cores were less than twice as fast as one, and each launch costs seconds of start-up.
#
# **Saving and reloading a trained model** on one process is in
# [08 · Training on real data](08_training_on_real_data.ipynb); back to the previous notebook:
# [13 · Sequence to sequence](13_sequence_to_sequence.ipynb), or to the start:
# [00 · The whole picture](00_the_whole_picture.ipynb).

# %%
print(run_summary(notebook_started))

# %% [markdown] tags=["course-nav"]
# ---
#
# **Part IV · Engineering** · notebook 17 of 20
#
# Previous: [15 · Export and deployment](15_export_and_deployment.ipynb) · Next: [17 · Regularising an LSTM](17_regularisation.ipynb), which opens Part V · Beyond · [The map of the course](00_the_whole_picture.ipynb#cell-id=cell-015) · [Find your question](../README.md#find-your-question)

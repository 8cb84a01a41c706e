"""utils.distributed: the script's arguments, the launcher, and real torchrun launches on the
loopback address (two processes, gloo): a quick training run, a failing rank, a hung rank."""

import os
import socket
import sys
import time
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data.distributed import DistributedSampler

from utils import distributed
from utils.data import adding_problem
from utils.distributed import (
    ROOT,
    RankFailedError,
    free_port,
    launch,
    load_tensors,
    main,
    multinode_command,
    parse_script_args,
    rank_environment,
    rank_pids,
    run_command,
    script_args,
    shard_indices,
    torchrun_command,
)
from utils.models import LSTMRegressor

# --- arguments ------------------------------------------------------------------------------


def test_script_args_round_trip_through_the_parser():
    argv = script_args(out="/tmp/x", steps=5, dtype="float64", no_checkpoint=True,
                       fail_rank=None)
    assert argv == ["--out", "/tmp/x", "--steps", "5", "--dtype", "float64", "--no-checkpoint"]
    args = parse_script_args(argv)
    assert (args.steps, args.dtype, args.no_checkpoint, args.fail_rank) == (5, "float64", True,
                                                                            None)
    assert script_args(out="o", no_checkpoint=False) == ["--out", "o"]


@pytest.mark.parametrize("argv, words", [
    (["--steps", "3"], "--out"),                              # required
    (["--out", "o", "--steps", "0"], ">= 1"),
    (["--out", "o", "--steps", "100001"], "at most 100000"),
    (["--out", "o", "--dtype", "float16"], "invalid choice"),
    (["--out", "o", "--lr", "nan"], "> 0"),
    (["--out", "o", "--steps", "3", "--fail-rank", "1", "--at-step", "4"], "never happen"),
    (["--out", "o", "--unknown", "1"], "unrecognized"),
])
def test_bad_script_arguments_raise_value_error(argv, words):
    with pytest.raises(ValueError, match="bad script arguments|at most|never happen") as error:
        parse_script_args(argv)
    assert words in str(error.value)


def test_script_args_refuse_unknown_names_and_bad_types():
    with pytest.raises(TypeError, match="unknown script option 'step'"):
        script_args(out="o", step=3)
    with pytest.raises(TypeError, match="flag"):
        script_args(out="o", no_checkpoint="yes")
    with pytest.raises(TypeError, match="sequence of str"):
        parse_script_args("--out o")
    with pytest.raises(ValueError, match=">= 1"):
        script_args(out="o", steps=0)


def test_commands():
    argv = script_args(out="/tmp/x", steps=2)
    command = torchrun_command(argv, port=29511)
    assert command[:3] == [sys.executable, "-m", "torch.distributed.run"]
    assert "--nproc-per-node=2" in command and "--master-addr=127.0.0.1" in command
    assert "--master-port=29511" in command
    assert command[-6:] == ["-m", "utils.distributed", *argv]
    node = multinode_command(argv, nnodes=2, nproc_per_node=4, endpoint="10.0.0.1:29400")
    assert node[:3] == ["python", "-m", "torch.distributed.run"]
    assert {"--nnodes=2", "--nproc-per-node=4", "--rdzv-backend=c10d",
            "--rdzv-endpoint=10.0.0.1:29400"} <= set(node)
    # torchrun's own parser reads both
    from torch.distributed.run import get_args_parser
    parsed = get_args_parser().parse_args(node[3:])
    assert (parsed.nnodes, parsed.nproc_per_node, parsed.rdzv_backend) == ("2", "4", "c10d")
    assert parsed.module and parsed.training_script == "utils.distributed"
    assert parsed.training_script_args == argv


@pytest.mark.parametrize("call, error", [
    (lambda: torchrun_command([], port=1), ValueError),                  # --out missing
    (lambda: torchrun_command(["--out", "o"], port=0), ValueError),
    (lambda: torchrun_command(["--out", "o"], port=70000), ValueError),
    (lambda: torchrun_command(["--out", "o"], port="29500"), TypeError),
    (lambda: torchrun_command(["--out", "o"], port=1, nproc_per_node=0), ValueError),
    (lambda: multinode_command(["--out", "o"], nnodes=2, nproc_per_node=1,
                               endpoint="10.0.0.1"), ValueError),
    (lambda: rank_environment(0), ValueError),
])
def test_launcher_helpers_refuse_bad_input(call, error):
    with pytest.raises(error):
        call()


def test_free_port_is_free_and_environment_is_one_thread_each():
    port = free_port()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))                    # nobody holds it
    store = torch.distributed.TCPStore("127.0.0.1", free_port(), world_size=1,
                                       is_master=True)   # where the store binds: free too
    del store
    env = rank_environment()
    assert env["OMP_NUM_THREADS"] == "1" and env["OMP_WAIT_POLICY"] == "PASSIVE"
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(ROOT)
    assert rank_environment(2)["OMP_NUM_THREADS"] == "2"


# --- the sampler ----------------------------------------------------------------------------


@pytest.mark.parametrize("n, world", [(12, 2), (12, 3), (7, 7), (64, 4)])
def test_shards_are_disjoint_and_cover_the_data_when_n_divides(n, world):
    shards = shard_indices(n, world, epoch=3)
    flat = [i for shard in shards for i in shard]
    assert sorted(flat) == list(range(n)) and len({len(s) for s in shards}) == 1


def test_uneven_shards_pad_or_drop():
    padded = shard_indices(10, 3)
    order = torch.randperm(10, generator=torch.Generator().manual_seed(0)).tolist()
    assert [len(s) for s in padded] == [4, 4, 4]
    flat = [i for s in padded for i in s]
    assert sorted(set(flat)) == list(range(10))
    assert sorted(flat) == sorted(list(range(10)) + order[:2])     # the first two, repeated
    dropped = shard_indices(10, 3, drop_last=True)
    assert [len(s) for s in dropped] == [3, 3, 3]
    assert set(range(10)) - {i for s in dropped for i in s} == {order[9]}   # the tail
    assert shard_indices(5, 2, shuffle=False) == [[0, 2, 4], [1, 3, 0]]


def test_shards_equal_the_sampler_and_change_with_the_epoch():
    sampler = DistributedSampler(range(20), num_replicas=4, rank=2, seed=5)
    sampler.set_epoch(1)
    assert shard_indices(20, 4, seed=5, epoch=1)[2] == list(sampler)
    assert shard_indices(20, 4, epoch=0) != shard_indices(20, 4, epoch=1)


@pytest.mark.parametrize("kwargs, error", [
    (dict(dataset_size=0, world_size=2), ValueError),
    (dict(dataset_size=4, world_size=0), ValueError),
    (dict(dataset_size=4.0, world_size=2), TypeError),
    (dict(dataset_size=4, world_size=True), TypeError),
    (dict(dataset_size=2, world_size=3, drop_last=True), ValueError),
])
def test_shard_indices_refuses_bad_input(kwargs, error):
    with pytest.raises(error):
        shard_indices(**kwargs)


# --- the script outside torchrun --------------------------------------------------------------


def test_the_script_outside_torchrun_says_how_to_start_it(tmp_path, monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match="start this script with torchrun"):
        main(["--out", str(tmp_path), "--steps", "1"])
    assert (tmp_path / "errors" / "rank-1.json").exists()   # no rank: -1


def test_run_command_refuses_a_used_directory(tmp_path):
    (tmp_path / "old.json").write_text("{}")
    with pytest.raises(ValueError, match="new or empty directory"):
        run_command([["true"]], tmp_path)
    with pytest.raises(TypeError):
        run_command(["true"], tmp_path / "new")
    with pytest.raises(ValueError, match="timeout"):
        run_command([["true"]], tmp_path / "new", timeout=0)


def test_run_command_kills_what_outlives_its_timeout(tmp_path):
    with pytest.raises(TimeoutError, match="within 0.5 s"):
        run_command([[sys.executable, "-c", "import time; time.sleep(30)"]], tmp_path,
                    timeout=0.5)


def test_run_command_reads_full_pipes_of_several_processes(tmp_path):
    noisy = [sys.executable, "-c", "import sys; sys.stdout.write('x' * 300_000); "
             "sys.stderr.write('y' * 300_000)"]
    run = run_command([noisy, noisy], tmp_path, timeout=30)
    assert run.stdout.count("x") == 600_000 and run.stderr.count("y") == 600_000


def test_launch_without_out_removes_its_temporary_directory(monkeypatch):
    made = []
    real = distributed.tempfile.mkdtemp
    monkeypatch.setattr(distributed.tempfile, "mkdtemp",
                        lambda **kw: made.append(real(**kw)) or made[-1])
    run = launch(1, timeout=120, **OPTIONS)
    assert len(run.ranks) == 1 and len(made) == 1 and not Path(made[0]).exists()


# --- real launches ----------------------------------------------------------------------------

OPTIONS = dict(steps=3, global_batch=8, dataset_size=32, seq_len=6, hidden_size=4,
               dtype="float64")


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    return launch(2, out=tmp_path_factory.mktemp("ddp"), timeout=120, **OPTIONS)


def test_two_ranks_join_one_group_on_the_loopback_address(two_ranks):
    assert [r["rank"] for r in two_ranks.ranks] == [0, 1]
    for record in two_ranks.ranks:
        assert record["world_size"] == 2 and record["all_reduce_sum"] == 3.0
        assert record["master_addr"] == "127.0.0.1"
        assert record["master_port"] == two_ranks.port
        assert record["threads"] == 1 and len(record["losses"]) == 3
    assert two_ranks.ranks[0]["pid"] != two_ranks.ranks[1]["pid"]
    assert two_ranks.rank_lines().count("joined the group") == 2


def test_the_ranks_shards_are_disjoint_and_cover_the_data(two_ranks):
    shards = [r["shard_epoch_0"] for r in two_ranks.ranks]
    assert not set(shards[0]) & set(shards[1])
    assert sorted(shards[0] + shards[1]) == list(range(OPTIONS["dataset_size"]))


def test_ddp_gradients_equal_the_single_process_gradient(two_ranks):
    grads = [load_tensors(two_ranks.out / f"grads_rank{r}.pt") for r in (0, 1)]
    index = torch.cat([grads[0].pop("index"), grads[1].pop("index")])
    assert len(set(index.tolist())) == OPTIONS["global_batch"]
    x, y = adding_problem(OPTIONS["dataset_size"], OPTIONS["seq_len"], seed=0)
    torch.manual_seed(0)
    model = LSTMRegressor(2, OPTIONS["hidden_size"]).double()
    nn.functional.mse_loss(model(x[index].double()), y[index].double()).backward()
    for name, p in model.named_parameters():
        torch.testing.assert_close(grads[0][name], p.grad, rtol=1e-12, atol=1e-14)
        assert torch.equal(grads[0][name], grads[1][name])


def test_parameters_equal_across_ranks_and_the_checkpoint_is_rank_0s(two_ranks):
    params = [load_tensors(two_ranks.out / f"params_rank{r}.pt") for r in (0, 1)]
    assert all(torch.equal(params[0][k], params[1][k]) for k in params[0])
    assert [r["wrote_checkpoint"] for r in two_ranks.ranks] == [True, False]
    checkpoint = load_tensors(two_ranks.out / "checkpoint.pt")
    assert checkpoint["written_by_rank"] == 0 and checkpoint["step"] == 3
    model = LSTMRegressor(2, OPTIONS["hidden_size"]).double()
    model.load_state_dict(checkpoint["model"])
    assert all(torch.equal(v, params[1][k]) for k, v in model.state_dict().items())
    assert len(list(two_ranks.out.glob("*.pt"))) == 5    # 2 grads, 2 params, 1 checkpoint


def test_a_failing_rank_raises_with_its_own_message(tmp_path):
    with pytest.raises(RankFailedError) as caught:
        launch(2, out=tmp_path, timeout=120, fail_rank=1, **OPTIONS)
    failure = caught.value
    assert failure.rank == 1 and failure.error_type == "RuntimeError"
    assert "rank 1 failed on purpose at step 2" in str(failure)
    assert "Root Cause" in failure.output          # torchrun's own summary comes along


def test_a_hung_rank_ends_the_run_after_the_group_timeout(tmp_path):
    with pytest.raises(RankFailedError) as caught:
        launch(2, out=tmp_path, timeout=60, hang_rank=1, pg_timeout=2, **OPTIONS)
    assert caught.value.rank == 0 and "Timed out" in caught.value.message


def test_a_timeout_kills_the_launcher_and_every_rank(tmp_path):
    started = time.perf_counter()
    with pytest.raises(TimeoutError, match="within 5 s"):
        launch(2, out=tmp_path, timeout=5, hang_rank=1, pg_timeout=30, **OPTIONS)
    assert time.perf_counter() - started < 15
    pids = rank_pids(tmp_path)
    assert len(pids) == 2                              # both ranks had started
    for pid in pids:                                   # and none outlives the launch
        alive = Path(f"/proc/{pid}").exists() and \
            Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
        assert not alive, f"rank pid {pid} still runs"


def test_a_rank_out_of_range_is_refused_by_every_rank(tmp_path):
    with pytest.raises(RankFailedError, match="must be a rank in"):
        launch(2, out=tmp_path, timeout=120, fail_rank=2, **OPTIONS)

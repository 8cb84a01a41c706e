import numpy as np
import torch

from utils.checks.nb16 import (
    check_node_command,
    check_padding,
    check_plain_state_dict,
    check_steps_per_epoch,
)
from utils.distributed import shard_indices
from utils.models import LSTMRegressor


def test_padding_agrees_with_the_real_sampler():
    shards = shard_indices(10, 4)
    per_rank, total = len(shards[0]), sum(map(len, shards))
    assert check_padding((per_rank, total - 10)) and check_padding([3, 2])
    assert check_padding((np.int64(3), torch.tensor(2)))
    for n, world in ((7, 3), (9, 2), (8, 4)):
        shards = shard_indices(n, world)
        assert check_padding((len(shards[0]), sum(map(len, shards)) - n), n, world)


def test_padding_wrong_answers_get_hints():
    assert not check_padding((2, 2)) and "drop_last" in repr(check_padding((2, 2)))
    assert not check_padding((3, 0)) and not check_padding(3) and not check_padding(None)
    assert "two whole numbers" in repr(check_padding("3, 2"))


def test_steps_per_epoch():
    assert check_steps_per_epoch((128, 78)) and check_steps_per_epoch([128.0, 78])
    assert "one rank's batch" in repr(check_steps_per_epoch((16, 78)))
    assert "one process" in repr(check_steps_per_epoch((128, 625)))
    assert not check_steps_per_epoch((128, 79)) and not check_steps_per_epoch(128)
    assert check_steps_per_epoch((8, 2), dataset_size=20, nodes=1, per_node=2, batch_size=4)


RIGHT = ("torchrun --nnodes=2 --nproc-per-node=4 --rdzv-backend=c10d "
         "--rdzv-endpoint=10.0.0.1:29400 --rdzv-id=job -m utils.distributed "
         "--out /tmp/ddp --steps 100")


def test_node_command_right_in_every_spelling():
    assert check_node_command(RIGHT)
    assert check_node_command(RIGHT.split())
    assert check_node_command(RIGHT.replace("torchrun", "/usr/bin/python3 -m "
                                            "torch.distributed.run"))
    assert check_node_command(RIGHT.replace("--nproc-per-node=4", "--nproc_per_node 4"))


def test_node_command_wrong_answers_name_what_is_wrong():
    assert "c10d" in repr(check_node_command(RIGHT.replace("c10d", "static")))
    assert "--nnodes=2" in repr(check_node_command(RIGHT.replace("--nnodes=2", "--nnodes=1")))
    assert "host:port" in repr(check_node_command(RIGHT.replace(":29400", ":29500")))
    assert "-m utils.distributed" in repr(check_node_command(
        RIGHT.replace("-m utils.distributed", "utils/distributed.py")))
    assert "script's own" in repr(check_node_command(RIGHT.replace("100", "10")))
    assert "start the command" in repr(check_node_command("python train.py"))
    assert "cannot read" in repr(check_node_command("torchrun --nnodes=2"))
    assert not check_node_command(None) and not check_node_command(["torchrun", 3])
    standalone = check_node_command(RIGHT.replace("torchrun", "torchrun --standalone"))
    assert not standalone and "--standalone" in repr(standalone)


def test_plain_state_dict():
    torch.manual_seed(0)
    reference = LSTMRegressor(2, 4).state_dict()
    wrapped = {"module." + k: v.clone() for k, v in reference.items()}
    assert check_plain_state_dict({k.removeprefix("module."): v for k, v in wrapped.items()},
                                  reference)
    assert "module." in repr(check_plain_state_dict(wrapped, reference))
    changed = {k.removeprefix("module."): v + 1 for k, v in wrapped.items()}
    assert "values changed" in repr(check_plain_state_dict(changed, reference))
    partial = dict(list(reference.items())[:2])
    assert "missing" in repr(check_plain_state_dict(partial, reference))
    assert not check_plain_state_dict([1, 2], reference)

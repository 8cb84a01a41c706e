import pytest

from utils.distributed import shard_indices
from utils.widgets.shards import shard_explorer, shard_table, shards_html


def test_even_split_is_disjoint_and_complete():
    table = shard_table(12, 3)
    assert table["disjoint"] and table["padded"] == [] and table["dropped"] == []
    assert sorted(i for s in table["shards"] for i in s) == list(range(12))


def test_padding_is_the_start_of_the_shuffled_order():
    table = shard_table(10, 3)
    order = [table["shards"][p % 3][p // 3] for p in range(12)]
    assert table["padded"] == order[:2] and not table["disjoint"]
    assert table["repeated"] == [(1, 3), (2, 3)]
    for rank, position in table["repeated"]:
        assert table["shards"][rank][position] in table["padded"]


def test_drop_last_leaves_the_tail_out():
    table = shard_table(10, 3, drop_last=True)
    assert table["per_rank"] == 3 and table["total"] == 9 and len(table["dropped"]) == 1
    assert table["disjoint"]


def test_html_marks_padding():
    text = shards_html(shard_table(10, 4, shuffle=False))
    assert text.count("rank ") >= 4 and text.count("padding: a repeat") == 2
    assert "left out" in shards_html(shard_table(10, 4, drop_last=True))


def test_shard_table_refuses_bad_input():
    with pytest.raises(TypeError):
        shard_table(10, 3, shuffle="yes")
    with pytest.raises(ValueError):
        shard_table(0, 3)


@pytest.mark.parametrize("name, values", [("dataset_size", [1, 7, 30]),
                                          ("world_size", [1, 4, 8]), ("epoch", [0, 3])])
def test_every_control_asks_the_sampler_again_fast(name, values):
    explorer = shard_explorer()
    for value in values:
        explorer.controls[name].value = value
        v = explorer.values()
        if "error" in explorer.result:
            continue
        assert explorer.result["shards"] == shard_indices(
            v["dataset_size"], v["world_size"], epoch=v["epoch"], shuffle=v["shuffle"],
            drop_last=v["drop_last"])
        assert explorer.last_update_seconds < 0.3


def test_switches_and_the_impossible_case():
    explorer = shard_explorer(dataset_size=10, world_size=4)
    explorer.controls["drop_last"].value = True
    assert explorer.result["total"] == 8
    explorer.controls["shuffle"].value = False
    assert explorer.result["shards"][0] == [0, 4]
    explorer.controls["dataset_size"].value = 2
    assert "every rank empty" in explorer.result["error"]

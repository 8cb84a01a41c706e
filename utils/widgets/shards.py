"""Notebook 16's explorer: which sample goes to which rank under ``DistributedSampler``.

``shard_table(...)`` asks the installed torch's own ``DistributedSampler`` (one per rank, with
``num_replicas`` and ``rank`` given, so no process group is needed) for the indices of every
rank and says, as plain data, how the dataset was cut: the samples each rank gets, the indices
added as padding (``drop_last=False``: the first indices of the shuffled order, repeated until
the total divides by the number of ranks) and those left out (``drop_last=True``).
``shard_explorer()`` draws one row of coloured cells per rank.
"""

from __future__ import annotations

import html
from collections import Counter

import ipywidgets as widgets
from IPython.display import HTML, display

from ..distributed import shard_indices
from . import Explorer

__all__ = ["shard_table", "shards_html", "shard_explorer"]

_RANK_COLORS = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860",
                "#DA8BC3", "#8C8C8C")


def shard_table(dataset_size: int, world_size: int, shuffle: bool = True,
                drop_last: bool = False, epoch: int = 0, seed: int = 0) -> dict:
    """How ``DistributedSampler`` cuts ``range(dataset_size)`` over ``world_size`` ranks.

    Returns ``shards`` (one index list per rank), ``per_rank`` (the samples each rank gets),
    ``total`` (over all ranks), ``padded`` (the indices yielded twice, in the order added),
    ``dropped`` (the indices no rank gets, sorted), ``repeated`` (``(rank, position)`` of every
    padding copy) and ``disjoint`` (no index on two ranks)."""
    if not isinstance(shuffle, bool) or not isinstance(drop_last, bool):
        raise TypeError(f"shuffle and drop_last must be bool, got {shuffle!r} and "
                        f"{drop_last!r}")
    shards = shard_indices(dataset_size, world_size, shuffle=shuffle, seed=seed, epoch=epoch,
                           drop_last=drop_last)
    flat = [i for shard in shards for i in shard]
    counts = Counter(flat)
    # the sampler appends the padding after the whole list, then deals it out round robin:
    # position p of rank r is element p * world_size + r of that list
    order = [shards[p % world_size][p // world_size] for p in range(len(flat))]
    padding_start = dataset_size if not drop_last else len(order)
    repeated = [(p % world_size, p // world_size) for p in range(padding_start, len(order))]
    return {"shards": shards, "per_rank": len(shards[0]), "total": len(flat),
            "padded": order[padding_start:], "repeated": repeated,
            "dropped": sorted(set(range(dataset_size)) - set(counts)),
            "disjoint": all(c == 1 for c in counts.values())}


def shards_html(table: dict) -> str:
    """One row of cells per rank; padding copies hatched, left-out indices listed below."""
    repeated = set(table["repeated"])
    rows = []
    for rank, shard in enumerate(table["shards"]):
        color = _RANK_COLORS[rank % len(_RANK_COLORS)]
        cells = []
        hatched = f"repeating-linear-gradient(45deg,#fff,#fff 3px,{color} 3px,{color} 6px)"
        for position, index in enumerate(shard):
            pad = (rank, position) in repeated
            style = (f"background:{hatched if pad else color};color:{'#000' if pad else '#fff'};"
                     "padding:2px 6px;margin:1px;display:inline-block;min-width:1.6em;"
                     "text-align:center;font-family:monospace;border-radius:3px")
            title = "padding: a repeat" if pad else "its own sample"
            cells.append(f'<span style="{style}" title="{title}">{index}</span>')
        rows.append(f"<div><b style='display:inline-block;width:4.5em'>rank {rank}</b>"
                    f"{''.join(cells)}</div>")
    notes = [f"{table['per_rank']} samples per rank, {table['total']} in all"]
    if table["padded"]:
        notes.append("padding (hatched): " + ", ".join(map(str, table["padded"])))
    if table["dropped"]:
        notes.append("left out (drop_last): " + ", ".join(map(str, table["dropped"])))
    return "".join(rows) + f"<p>{html.escape('; '.join(notes))}</p>"


def shard_explorer(dataset_size: int = 10, world_size: int = 3) -> Explorer:
    """Sliders for the dataset size, the number of ranks and the epoch; switches for shuffle
    and drop_last. Every move asks the real ``DistributedSampler`` again."""
    def slider(description, value, low, high):
        return widgets.IntSlider(value=value, min=low, max=high, description=description,
                                 continuous_update=False)
    controls = {
        "dataset_size": slider("samples", dataset_size, 1, 30),
        "world_size": slider("ranks", world_size, 1, 8),
        "epoch": slider("epoch", 0, 0, 5),
        "shuffle": widgets.Checkbox(value=True, description="shuffle"),
        "drop_last": widgets.Checkbox(value=False, description="drop_last"),
    }

    def compute(dataset_size, world_size, epoch, shuffle, drop_last):
        if drop_last and dataset_size < world_size:
            return {"error": f"drop_last with {dataset_size} samples on {world_size} ranks "
                             "would leave every rank empty: add samples or remove ranks."}
        return shard_table(dataset_size, world_size, shuffle=shuffle, drop_last=drop_last,
                           epoch=epoch)

    def render(table):
        if "error" in table:
            print(table["error"])
        else:
            display(HTML(shards_html(table)))

    return Explorer(controls, compute, render,
                    title="DistributedSampler: which rank reads which sample")

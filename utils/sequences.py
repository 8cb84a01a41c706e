"""Summaries of padded batches: the right way to read "the last step" of each sequence.

A right-padded batch ``(B, T, F)`` holds sequences of different ``lengths``; the steps after
each length are padding. ``out[:, -1]`` then reads a step the sequence never had. These
helpers read the real last step, or pool over the real steps only, and check their input:

- ``last_valid_step``      ``out`` at ``lengths - 1`` for each sequence (a gather)
- ``run_packed``           an ``nn.LSTM`` over ``pack_padded_sequence(..., enforce_sorted=False)``
- ``summary_from_packed``  the top layer's ``h_n`` of that packed run (both directions joined)
- ``top_layer_summary``    the top layer's final state from ``h_n`` (uni- or bidirectional)
- ``bidirectional_summary`` ``cat(h_n[-2], h_n[-1])``: forward and backward final states
- ``length_mask``, ``masked_mean``, ``masked_max``  pooling over the real steps only
- ``summaries_one_by_one`` the reference: each sequence run alone, without any padding
- ``pad_batch``, ``collate_fn``  make the padded batch: ``pad_sequence`` plus the lengths

For a *bidirectional* LSTM run on a padded batch, gathering at ``lengths - 1`` is not enough:
the backward direction started on padding (and with stacked layers, the next layer's forward
direction reads those backward outputs). Pack the batch instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

__all__ = ["check_lengths", "length_mask", "last_valid_step", "run_packed",
           "summary_from_packed", "top_layer_summary", "bidirectional_summary",
           "masked_mean", "masked_max", "summaries_one_by_one", "pad_batch", "collate_fn",
           "IGNORE_INDEX"]

IGNORE_INDEX = -100  # cross_entropy's default ignore_index: padded targets add nothing


def _check_tensor(name: str, value: object, dims: int, expected: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {expected}, "
                        f"got {type(value).__name__}")
    if value.dim() != dims:
        raise ValueError(f"{name} must be {dims}-D of shape {expected}, "
                         f"got {value.dim()}-D shape {tuple(value.shape)}")
    return value


def check_lengths(lengths: object, batch: int, max_len: int) -> torch.Tensor:
    """Return ``lengths`` as a 1-D CPU int64 tensor, or raise a clear error.

    Each length must be a whole number in ``[1, max_len]`` and there must be ``batch`` of them.
    (``pack_padded_sequence`` itself does not check the upper bound, and ``out[rows,
    lengths - 1]`` silently reads the *last* step for a length of 0.)
    """
    if isinstance(lengths, torch.Tensor):
        if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
            raise TypeError(f"lengths must hold integers, got dtype {lengths.dtype}")
        tensor = lengths.detach().to("cpu", torch.int64)
    elif isinstance(lengths, Sequence) and not isinstance(lengths, str):
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in lengths):
            raise TypeError(f"lengths must hold ints, got {list(lengths)!r}")
        tensor = torch.tensor(list(lengths), dtype=torch.int64)
    else:
        raise TypeError(f"lengths must be a 1-D integer tensor or a list of ints, "
                        f"got {type(lengths).__name__}")
    if tensor.dim() != 1 or tensor.numel() != batch:
        raise ValueError(f"lengths must have shape ({batch},), one length per sequence, "
                         f"got shape {tuple(tensor.shape)}")
    bad = (tensor < 1) | (tensor > max_len)
    if bad.any():
        index = int(bad.nonzero()[0])
        raise ValueError(f"every length must be in [1, {max_len}] (the padded sequence "
                         f"length), got lengths[{index}] = {int(tensor[index])} in "
                         f"{tensor.tolist()}")
    return tensor


def _batch_and_time(out: torch.Tensor, batch_first: bool) -> tuple[int, int]:
    if not isinstance(batch_first, bool):
        raise TypeError(f"batch_first must be a bool, got {type(batch_first).__name__}")
    return (out.shape[0], out.shape[1]) if batch_first else (out.shape[1], out.shape[0])


def length_mask(lengths: object, max_len: int) -> torch.Tensor:
    """``(B, max_len)`` bool mask, True at the real steps ``t < lengths[b]``."""
    if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1:
        raise ValueError(f"max_len must be an int >= 1, got {max_len!r}")
    if isinstance(lengths, torch.Tensor):
        batch = lengths.numel()
    else:
        batch = len(lengths) if isinstance(lengths, Sequence) else 0  # 0: the check says why
    lengths = check_lengths(lengths, batch, max_len)
    return torch.arange(max_len).unsqueeze(0) < lengths.unsqueeze(1)


def last_valid_step(out: torch.Tensor, lengths: object, batch_first: bool = True) -> torch.Tensor:
    """``out[b, lengths[b] - 1]`` for every sequence ``b``: shape ``(B, features)``.

    ``out`` is ``(B, T, F)`` if ``batch_first`` else ``(T, B, F)``. For a unidirectional LSTM
    this equals each sequence's final hidden state run alone; for a bidirectional one it does
    not (see the module docstring).
    """
    expected = "(batch, seq_len, features)" if batch_first else "(seq_len, batch, features)"
    _check_tensor("out", out, 3, expected)
    batch, max_len = _batch_and_time(out, batch_first)
    lengths = check_lengths(lengths, batch, max_len).to(out.device)
    if not batch_first:
        out = out.transpose(0, 1)
    index = (lengths - 1).view(batch, 1, 1).expand(batch, 1, out.shape[2])
    return out.gather(1, index).squeeze(1)


def _check_lstm_input(lstm: nn.LSTM, padded: torch.Tensor) -> tuple[int, int]:
    if not isinstance(lstm, nn.LSTM):
        raise TypeError(f"lstm must be an nn.LSTM, got {type(lstm).__name__}")
    expected = (f"(batch, seq_len, {lstm.input_size})" if lstm.batch_first
                else f"(seq_len, batch, {lstm.input_size})")
    _check_tensor("padded", padded, 3, expected)
    if padded.shape[2] != lstm.input_size:
        raise ValueError(f"padded must have shape {expected}, got {tuple(padded.shape)}")
    return _batch_and_time(padded, lstm.batch_first)


def run_packed(lstm: nn.LSTM, padded: torch.Tensor, lengths: object,
               hx: tuple[torch.Tensor, torch.Tensor] | None = None):
    """Run ``lstm`` on the real steps only; return ``(out, (h_n, c_n))`` like ``nn.LSTM``.

    The batch is packed with ``enforce_sorted=False`` (any order of lengths); ``out`` comes
    back padded to the input's ``seq_len`` with zeros after each length, and ``h_n``/``c_n``
    are in the batch's original order, each sequence's state at its own last real step.
    """
    batch, max_len = _check_lstm_input(lstm, padded)
    lengths = check_lengths(lengths, batch, max_len)
    packed = pack_padded_sequence(padded, lengths, batch_first=lstm.batch_first,
                                  enforce_sorted=False)
    packed_out, (h_n, c_n) = lstm(packed, hx)
    out, _ = pad_packed_sequence(packed_out, batch_first=lstm.batch_first, total_length=max_len)
    return out, (h_n, c_n)


def _check_num_layers(num_layers: object) -> int:
    if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 1:
        raise ValueError(f"num_layers must be an int >= 1, got {num_layers!r}")
    return num_layers


def bidirectional_summary(h_n: torch.Tensor, num_layers: int) -> torch.Tensor:
    """``cat(h_n[-2], h_n[-1], dim=-1)``: the top layer's forward and backward final states.

    ``h_n`` is ``(2 * num_layers, B, H)``, ordered layer by layer, forward before backward.
    """
    num_layers = _check_num_layers(num_layers)
    _check_tensor("h_n", h_n, 3, f"({2 * num_layers}, batch, hidden)")
    if h_n.shape[0] != 2 * num_layers:
        raise ValueError(f"a bidirectional LSTM with num_layers={num_layers} has h_n of shape "
                         f"({2 * num_layers}, batch, hidden), got {tuple(h_n.shape)}")
    return torch.cat([h_n[-2], h_n[-1]], dim=-1)


def top_layer_summary(h_n: torch.Tensor, num_layers: int, bidirectional: bool) -> torch.Tensor:
    """The top layer's final hidden state: ``h_n[-1]``, or both directions joined."""
    if not isinstance(bidirectional, bool):
        raise TypeError(f"bidirectional must be a bool, got {type(bidirectional).__name__}")
    if bidirectional:
        return bidirectional_summary(h_n, num_layers)
    num_layers = _check_num_layers(num_layers)
    _check_tensor("h_n", h_n, 3, f"({num_layers}, batch, hidden)")
    if h_n.shape[0] != num_layers:
        raise ValueError(f"a unidirectional LSTM with num_layers={num_layers} has h_n of "
                         f"shape ({num_layers}, batch, hidden), got {tuple(h_n.shape)}")
    return h_n[-1]


def summary_from_packed(lstm: nn.LSTM, padded: torch.Tensor, lengths: object) -> torch.Tensor:
    """Each sequence's summary from a packed run: ``(B, D * H_out)``, in the batch's order."""
    _, (h_n, _) = run_packed(lstm, padded, lengths)
    return top_layer_summary(h_n, lstm.num_layers, lstm.bidirectional)


def _masked_inputs(out: torch.Tensor, lengths: object, batch_first: bool):
    expected = "(batch, seq_len, features)" if batch_first else "(seq_len, batch, features)"
    _check_tensor("out", out, 3, expected)
    batch, max_len = _batch_and_time(out, batch_first)
    lengths = check_lengths(lengths, batch, max_len)
    if not batch_first:
        out = out.transpose(0, 1)
    mask = (torch.arange(max_len).unsqueeze(0) < lengths.unsqueeze(1)).to(out.device)
    return out, mask.unsqueeze(-1), lengths.to(out.device)


def masked_mean(out: torch.Tensor, lengths: object, batch_first: bool = True) -> torch.Tensor:
    """The mean of ``out`` over each sequence's real steps only: ``(B, features)``."""
    out, mask, lengths = _masked_inputs(out, lengths, batch_first)
    return (out * mask).sum(dim=1) / lengths.unsqueeze(1).to(out.dtype)


def masked_max(out: torch.Tensor, lengths: object, batch_first: bool = True) -> torch.Tensor:
    """The maximum of ``out`` over each sequence's real steps only: ``(B, features)``."""
    out, mask, _ = _masked_inputs(out, lengths, batch_first)
    return out.masked_fill(~mask, float("-inf")).amax(dim=1)


def summaries_one_by_one(lstm: nn.LSTM, padded: torch.Tensor, lengths: object):
    """The reference: run each sequence alone on its real steps (no padding, no packing).

    Returns ``(summaries, outs)``: ``summaries`` is ``(B, D * H_out)`` (the top layer's final
    state of each lone run) and ``outs`` a list of each run's output ``(length, D * H_out)``.
    """
    batch, max_len = _check_lstm_input(lstm, padded)
    lengths = check_lengths(lengths, batch, max_len)
    rows = padded if lstm.batch_first else padded.transpose(0, 1)
    summaries, outs = [], []
    for row, length in zip(rows, lengths.tolist(), strict=True):
        sequence = row[:length].unsqueeze(0 if lstm.batch_first else 1)
        out, (h_n, _) = lstm(sequence)
        summaries.append(top_layer_summary(h_n, lstm.num_layers, lstm.bidirectional)[0])
        outs.append(out[0] if lstm.batch_first else out[:, 0])
    return torch.stack(summaries), outs


def pad_batch(sequences: object, padding_value: float = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad a list of sequences, each ``(T_b,)`` or ``(T_b, F)``, into ``(B, T_max, ...)``.

    Returns ``(padded, lengths)``: ``padded`` from ``pad_sequence(..., batch_first=True)`` and
    ``lengths`` a CPU int64 tensor, the form ``pack_padded_sequence`` requires. An empty
    sequence is refused: packing cannot hold it, and it has no last step to read."""
    if not isinstance(sequences, Sequence) or isinstance(sequences, (str, torch.Tensor)) \
            or not sequences:
        raise ValueError(f"sequences must be a non-empty list of tensors, got "
                         f"{type(sequences).__name__}"
                         f"{' of length 0' if isinstance(sequences, Sequence) else ''}")
    first = sequences[0]
    for index, seq in enumerate(sequences):
        if not isinstance(seq, torch.Tensor):
            raise TypeError(f"sequences[{index}] must be a torch.Tensor, got "
                            f"{type(seq).__name__}")
        if seq.dim() not in (1, 2) or seq.shape[1:] != first.shape[1:]:
            raise ValueError(f"every sequence must be (T,) or (T, F) with the same F as "
                             f"sequences[0] {tuple(first.shape)}, got sequences[{index}] of "
                             f"shape {tuple(seq.shape)}")
        if seq.dtype != first.dtype:
            raise TypeError(f"every sequence must have sequences[0]'s dtype {first.dtype}, got "
                            f"{seq.dtype} at sequences[{index}]")
        if len(seq) == 0:
            raise ValueError(f"sequences[{index}] is empty: every sequence needs at least one "
                             "step")
    lengths = torch.tensor([len(seq) for seq in sequences], dtype=torch.int64)
    return pad_sequence(list(sequences), batch_first=True, padding_value=padding_value), lengths


def collate_fn(batch: object, padding_value: float = 0, target_padding: int = IGNORE_INDEX
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A ``DataLoader`` ``collate_fn`` for ``(sequence, target)`` pairs.

    Returns ``(padded, lengths, targets)``. A target that is one class index per sequence
    gives ``targets`` of shape ``(B,)``; a target with one entry per step (tagging) must have
    the sequence's length and is padded with ``target_padding`` (``-100``, the
    ``ignore_index`` of ``cross_entropy``), giving ``(B, T_max)``. Give ``padding_value`` the
    vocabulary's ``<pad>`` id with ``functools.partial(collate_fn, padding_value=pad_id)``."""
    if not isinstance(batch, Sequence) or not batch:
        raise ValueError(f"batch must be a non-empty list of (sequence, target) pairs, got "
                         f"{type(batch).__name__}")
    for index, pair in enumerate(batch):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"batch[{index}] must be a (sequence, target) pair, got "
                            f"{type(pair).__name__}")
    sequences = [seq for seq, _ in batch]
    padded, lengths = pad_batch(sequences, padding_value)
    targets = [torch.as_tensor(target) for _, target in batch]
    if all(t.dim() == 0 for t in targets):
        return padded, lengths, torch.stack(targets)
    for index, (seq, target) in enumerate(zip(sequences, targets, strict=True)):
        if target.dim() != 1 or len(target) != len(seq):
            raise ValueError(f"batch[{index}]: a per-step target must have one entry per step, "
                             f"shape ({len(seq)},), got {tuple(target.shape)}")
    return padded, lengths, pad_sequence(targets, batch_first=True, padding_value=target_padding)

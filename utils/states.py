"""Initial states of an ``nn.LSTM``: their shapes, zeros that match the input, a learned state.

- ``state_shapes``         the shapes ``nn.LSTM`` expects for ``h0`` and ``c0``
- ``zero_state``           zeros of those shapes with the input's dtype and device
- ``LearnedInitialState``  a trainable ``(h0, c0)``: one vector per layer and direction,
                           expanded (not copied) over the batch

``h0`` is ``(D * num_layers, batch, H_out)`` and ``c0`` is ``(D * num_layers, batch, H)``,
where ``D`` is 2 for a bidirectional LSTM, ``H`` is ``hidden_size`` and ``H_out`` is
``proj_size`` if it is set, else ``H``. ``batch_first`` never applies to them; for an
unbatched 2-D input the batch dimension is left out.
"""

from __future__ import annotations

import torch
from torch import nn

from .models import check_positive_int

__all__ = ["state_shapes", "zero_state", "LearnedInitialState"]


def _check_lstm(lstm: object) -> nn.LSTM:
    if not isinstance(lstm, nn.LSTM):
        raise TypeError(f"expected an nn.LSTM, got {type(lstm).__name__}")
    return lstm


def state_shapes(lstm: nn.LSTM, batch_size: int | None
                 ) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The shapes of ``(h0, c0)`` for ``lstm`` and a batch of ``batch_size`` sequences
    (``None``: one unbatched 2-D sequence)."""
    _check_lstm(lstm)
    rows = (2 if lstm.bidirectional else 1) * lstm.num_layers
    h_out = lstm.proj_size if lstm.proj_size > 0 else lstm.hidden_size
    if batch_size is None:
        return (rows, h_out), (rows, lstm.hidden_size)
    check_positive_int("batch_size", batch_size)
    return (rows, batch_size, h_out), (rows, batch_size, lstm.hidden_size)


def zero_state(lstm: nn.LSTM, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Zeros ``(h0, c0)`` for input ``x``: the batch size read the way ``lstm`` reads ``x``
    (``batch_first`` or not, 2-D means unbatched), and ``x``'s dtype and device."""
    _check_lstm(lstm)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() not in (2, 3):
        raise ValueError(f"x must be 3-D (batched) or 2-D (unbatched), got {x.dim()}-D "
                         f"shape {tuple(x.shape)}")
    batch_size = None if x.dim() == 2 else x.shape[0 if lstm.batch_first else 1]
    h_shape, c_shape = state_shapes(lstm, batch_size)
    return x.new_zeros(h_shape), x.new_zeros(c_shape)


class LearnedInitialState(nn.Module):
    """A trainable initial state: ``h0`` and ``c0`` are parameters of shape
    ``(D * num_layers, 1, H_out)`` and ``(D * num_layers, 1, H)``, one vector per layer and
    direction shared by every sequence; ``forward(batch_size)`` expands them over the batch.

    They start at zero, so an untrained model behaves exactly like one with default states.
    """

    def __init__(self, num_layers: int, hidden_size: int, bidirectional: bool = False,
                 proj_size: int = 0):
        super().__init__()
        check_positive_int("num_layers", num_layers)
        check_positive_int("hidden_size", hidden_size)
        if not isinstance(bidirectional, bool):
            raise TypeError(f"bidirectional must be a bool, got {type(bidirectional).__name__}")
        if isinstance(proj_size, bool) or not isinstance(proj_size, int) or \
                not 0 <= proj_size < hidden_size:
            raise ValueError(f"proj_size must be an int in [0, hidden_size={hidden_size}), "
                             f"got {proj_size!r}")
        rows = (2 if bidirectional else 1) * num_layers
        self.h0 = nn.Parameter(torch.zeros(rows, 1, proj_size or hidden_size))
        self.c0 = nn.Parameter(torch.zeros(rows, 1, hidden_size))

    @classmethod
    def like(cls, lstm: nn.LSTM) -> LearnedInitialState:
        """A learned state with the sizes of ``lstm`` (on its device, in its dtype)."""
        _check_lstm(lstm)
        state = cls(lstm.num_layers, lstm.hidden_size, lstm.bidirectional, lstm.proj_size)
        weight = lstm.weight_ih_l0
        return state.to(device=weight.device, dtype=weight.dtype)

    def forward(self, batch_size: int | None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(h0, c0)`` for ``batch_size`` sequences: a view, no copy (``None``: unbatched)."""
        if batch_size is None:
            return self.h0[:, 0], self.c0[:, 0]
        check_positive_int("batch_size", batch_size)
        return self.h0.expand(-1, batch_size, -1), self.c0.expand(-1, batch_size, -1)

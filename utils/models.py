"""Models used across the course.

``LSTMRegressor`` is the classic example: an ``nn.LSTM`` (``batch_first=True``) whose
last time step feeds a linear head. It checks its input, so a wrong shape fails with a
message that names the expected and the received shape instead of a deep matmul error.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["LSTMRegressor", "check_positive_int"]


def check_positive_int(name: str, value: object) -> int:
    """Return ``value`` if it is a positive ``int``; raise a clear error otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return value


class LSTMRegressor(nn.Module):
    """An LSTM reads a sequence; a linear layer maps its last hidden output to predictions.

    Input ``(batch, seq_len, input_size)`` -> output ``(batch, output_size)``.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 output_size: int = 1):
        super().__init__()
        self.input_size = check_positive_int("input_size", input_size)
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.output_size = check_positive_int("output_size", output_size)
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, output_size)

    def check_input(self, x: torch.Tensor) -> None:
        """Raise ``TypeError``/``ValueError`` unless ``x`` is ``(batch, seq_len, input_size)``."""
        expected = f"(batch, seq_len, {self.input_size})"
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"expected a torch.Tensor of shape {expected}, "
                            f"got {type(x).__name__}")
        if not x.is_floating_point():
            raise TypeError(f"expected a floating-point tensor of shape {expected}, "
                            f"got dtype {x.dtype}")
        received = tuple(x.shape)
        if x.dim() != 3:
            raise ValueError(f"expected a 3-D input of shape {expected}, got {x.dim()}-D "
                             f"shape {received}; add a batch dimension with x.unsqueeze(0) "
                             f"or a feature dimension with x.unsqueeze(-1)")
        if received[2] != self.input_size:
            raise ValueError(f"expected input of shape {expected}, got {received}: "
                             f"the last dimension must be input_size={self.input_size}")
        if received[0] == 0 or received[1] == 0:
            raise ValueError(f"expected a non-empty input of shape {expected} with batch >= 1 "
                             f"and seq_len >= 1, got {received}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        out, _ = self.lstm(x)          # out: (batch, seq_len, hidden_size)
        return self.head(out[:, -1])   # last time step -> (batch, output_size)

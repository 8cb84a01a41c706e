"""Models used across the course.

``LSTMRegressor`` is the classic example: an ``nn.LSTM`` (``batch_first=True``) whose
last time step feeds a linear head. It checks its input, so a wrong shape fails with a
message that names the expected and the received shape instead of a deep matmul error.

``ScratchLSTMCell`` and ``ScratchLSTM`` are ``nn.LSTMCell`` and ``nn.LSTM`` written in plain
tensor operations (matrix products, sigmoid, tanh). They take the same constructor
arguments, register parameters with the same names and shapes (so ``load_state_dict``
works in both directions), draw them from the same distribution and return the same
tensors; ``tests/test_scratch_lstm.py`` proves them equal to ``torch.nn``'s.
"""

from __future__ import annotations

import math
import numbers
import warnings

import torch
from torch import nn

__all__ = ["LSTMRegressor", "ScratchLSTM", "ScratchLSTMCell", "check_positive_int",
           "lstm_step"]


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


def lstm_step(x, h, c, weight_ih, weight_hh, bias_ih=None, bias_hh=None, weight_hr=None):
    """One time step of PyTorch's LSTM; returns the new ``(h, c)``.

    ``x`` is ``(..., input_size)``, ``h`` ``(..., H_out)``, ``c`` ``(..., H)``; the rows of
    ``weight_ih``, ``weight_hh`` and of both biases are four gate blocks in the order i, f, g, o.
    """
    gates = x @ weight_ih.T + h @ weight_hh.T
    if bias_ih is not None:
        gates = gates + bias_ih + bias_hh             # two bias vectors, simply added
    i, f, g, o = gates.chunk(4, dim=-1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c = f * c + i * g                                 # keep some memory, write some new
    h = o * torch.tanh(c)                             # show some of the memory
    if weight_hr is not None:
        h = h @ weight_hr.T                           # proj_size: h shrinks, c does not
    return h, c


class ScratchLSTMCell(nn.Module):
    """One LSTM step with ``nn.LSTMCell``'s parameters: ``h, c = cell(x, (h, c))``.

    One matrix product gives the four gates; the cell state keeps an ``f`` share of its old
    value and adds ``i * g``, and the hidden output is ``o * tanh(c)``.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        self.input_size = check_positive_int("input_size", input_size)
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        self.bias = _check_bool("bias", bias)
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(4 * hidden_size)) if bias else None
        self.bias_hh = nn.Parameter(torch.empty(4 * hidden_size)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every parameter from U(-1/sqrt(H), 1/sqrt(H)), in registration order, as torch does."""
        bound = 1 / math.sqrt(self.hidden_size)
        for parameter in self.parameters():
            nn.init.uniform_(parameter, -bound, bound)

    def forward(self, x: torch.Tensor, hx: tuple[torch.Tensor, torch.Tensor] | None = None):
        """``x``: ``(batch, input_size)`` or unbatched ``(input_size,)``; returns ``(h, c)``."""
        _check_input(x, "(batch, input_size) or unbatched (input_size,)", (1, 2),
                     self.input_size, self.weight_ih)
        state_shape = (*x.shape[:-1], self.hidden_size)   # (batch, H) or unbatched (H,)
        if hx is None:
            h = c = x.new_zeros(state_shape)
        else:
            h, c = _check_state(hx, [state_shape, state_shape], x)
        return lstm_step(x, h, c, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class ScratchLSTM(nn.Module):
    """``nn.LSTM`` as loops over layers, directions and time steps of :func:`lstm_step`.

    Each layer reads the whole output sequence of the layer below (both directions side by
    side); the reverse direction reads its input from the last step to the first.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0):
        super().__init__()
        _check_lstm_args(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size)
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        D, H, H_out = 1 + bidirectional, hidden_size, proj_size or hidden_size
        for layer in range(num_layers):
            for suffix in ("", "_reverse")[:D]:
                shapes = {"weight_ih": (4 * H, input_size if layer == 0 else D * H_out),
                          "weight_hh": (4 * H, H_out)}
                if bias:
                    shapes |= {"bias_ih": (4 * H,), "bias_hh": (4 * H,)}
                if proj_size:
                    shapes |= {"weight_hr": (proj_size, H)}
                for name, shape in shapes.items():
                    self.register_parameter(f"{name}_l{layer}{suffix}",
                                            nn.Parameter(torch.empty(shape)))
        self.reset_parameters()

    reset_parameters = ScratchLSTMCell.reset_parameters   # the same rule, for every parameter

    def forward(self, x: torch.Tensor, hx: tuple[torch.Tensor, torch.Tensor] | None = None):
        """``x``: ``(seq, batch, input_size)`` (``(batch, seq, ...)`` if ``batch_first``) or
        unbatched ``(seq, input_size)``; returns ``output, (h_n, c_n)`` as ``nn.LSTM`` does."""
        x, h0, c0, unbatched = _time_major_input_and_state(self, x, hx)   # x: (T, B, I)
        D, T = 1 + self.bidirectional, x.shape[0]
        layer_input, h_n, c_n = x, [], []
        for layer in range(self.num_layers):
            if layer > 0 and self.training and self.dropout > 0:   # between layers only
                layer_input = nn.functional.dropout(layer_input, self.dropout)
            outputs = []
            for direction, suffix in enumerate(("", "_reverse")[:D]):
                weights = [getattr(self, f"{name}_l{layer}{suffix}", None) for name in
                           ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")]
                h, c, out = h0[layer * D + direction], c0[layer * D + direction], [None] * T
                for t in (range(T) if direction == 0 else reversed(range(T))):
                    h, c = lstm_step(layer_input[t], h, c, *weights)
                    out[t] = h
                outputs.append(torch.stack(out))
                h_n.append(h)
                c_n.append(c)
            layer_input = torch.cat(outputs, dim=-1)           # (T, B, D * H_out)
        output, h_n, c_n = layer_input, torch.stack(h_n), torch.stack(c_n)
        if unbatched:
            return output.squeeze(1), (h_n.squeeze(1), c_n.squeeze(1))
        return output.transpose(0, 1) if self.batch_first else output, (h_n, c_n)

    def extra_repr(self) -> str:
        defaults = {"proj_size": 0, "num_layers": 1, "bias": True, "batch_first": False,
                    "dropout": 0.0, "bidirectional": False}
        changed = [f"{k}={getattr(self, k)}" for k, v in defaults.items() if getattr(self, k) != v]
        return ", ".join([f"{self.input_size}, {self.hidden_size}", *changed])


# Input checks of the scratch modules: clear messages that name the expected and the received.

def _check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__} ({value!r})")
    return value


def _check_lstm_args(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                     bidirectional, proj_size) -> None:
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size),
                        ("num_layers", num_layers)):
        check_positive_int(name, value)
    for name, value in (("bias", bias), ("batch_first", batch_first),
                        ("bidirectional", bidirectional)):
        _check_bool(name, value)
    if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) \
            or not 0 <= dropout <= 1:
        raise ValueError(f"dropout must be a number in [0, 1], got {dropout!r}")
    if isinstance(proj_size, bool) or not isinstance(proj_size, int):
        raise TypeError(f"proj_size must be an int, got {type(proj_size).__name__} "
                        f"({proj_size!r})")
    if not 0 <= proj_size < hidden_size:
        raise ValueError(f"proj_size must be 0 (no projection) or in [1, hidden_size="
                         f"{hidden_size}), got {proj_size}")
    if dropout > 0 and num_layers == 1:
        warnings.warn(f"dropout acts between layers only, so dropout={dropout} does nothing "
                      f"with num_layers=1", stacklevel=3)


def _check_input(x: object, layout: str, dims: tuple[int, ...], input_size: int,
                 weight: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor of shape {layout}, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"expected a floating-point input of shape {layout}, "
                        f"got dtype {x.dtype}")
    if x.dim() not in dims or x.shape[-1] != input_size:
        raise ValueError(f"expected input of shape {layout} with input_size={input_size}, "
                         f"got shape {tuple(x.shape)}")
    if (x.dtype, x.device) != (weight.dtype, weight.device):
        raise ValueError(f"expected input of dtype {weight.dtype} on {weight.device} like the "
                         f"parameters, got {x.dtype} on {x.device}: convert the input with "
                         f"x.to(...) or the model with model.to(...)")


def _check_state(hx: object, shapes: list[tuple[int, ...]], x: torch.Tensor,
                 names=("h", "c"), layouts=("(batch, hidden_size)", "(batch, hidden_size)")):
    if not isinstance(hx, (tuple, list)) or len(hx) != 2:
        raise TypeError(f"expected the state as a tuple ({names[0]}, {names[1]}) of tensors of "
                        f"shapes {shapes[0]} and {shapes[1]}, got {type(hx).__name__}")
    for name, state, shape, layout in zip(names, hx, shapes, layouts, strict=True):
        if not isinstance(state, torch.Tensor):
            raise TypeError(f"expected {name} to be a torch.Tensor of shape {shape}, "
                            f"got {type(state).__name__}")
        if tuple(state.shape) != shape:
            raise ValueError(f"expected {name} of shape {shape} {layout}, "
                             f"got {tuple(state.shape)}")
        if (state.dtype, state.device) != (x.dtype, x.device):
            raise ValueError(f"expected {name} of dtype {x.dtype} on {x.device} like the "
                             f"input, got {state.dtype} on {state.device}")
    return tuple(hx)


def _time_major_input_and_state(lstm: ScratchLSTM, x: object, hx: object):
    """Check ``x`` and ``hx`` for ``lstm``; return ``x`` as ``(T, B, I)``, ``h0``, ``c0`` and
    whether the input was unbatched."""
    layout = "(batch, seq_len, input_size)" if lstm.batch_first \
        else "(seq_len, batch, input_size)"
    _check_input(x, f"{layout} or unbatched (seq_len, input_size)", (2, 3), lstm.input_size,
                 lstm.weight_ih_l0)
    unbatched, received = x.dim() == 2, tuple(x.shape)
    x = x.unsqueeze(1) if unbatched else x.transpose(0, 1) if lstm.batch_first else x
    if x.shape[0] == 0:
        raise ValueError(f"expected at least one time step (seq_len >= 1), got input of "
                         f"shape {received}")
    batch = () if unbatched else (x.shape[1],)
    states = (1 + lstm.bidirectional) * lstm.num_layers
    h_shape = (states, *batch, lstm.proj_size or lstm.hidden_size)
    c_shape = (states, *batch, lstm.hidden_size)
    if hx is None:
        hx = x.new_zeros(h_shape), x.new_zeros(c_shape)
    layer_dims = "num_layers * num_directions" + ("" if unbatched else ", batch")
    h0, c0 = _check_state(hx, [h_shape, c_shape], x, ("h0", "c0"),
                          (f"({layer_dims}, proj_size or hidden_size)",
                           f"({layer_dims}, hidden_size)"))
    return (x, h0.unsqueeze(1), c0.unsqueeze(1), True) if unbatched else (x, h0, c0, False)

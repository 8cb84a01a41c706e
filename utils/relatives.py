"""Notebook 19's relatives and successors of the LSTM, each small enough to read.

- :func:`gru_step` and :func:`scratch_gru` - the GRU in plain tensor operations, with
  ``nn.GRU``'s weights (gate blocks r, z, n) and a switch for where the reset gate acts:
  ``"after"`` the recurrent matrix product (PyTorch, cuDNN) or ``"before"`` it (Cho et al.,
  2014); :func:`gated_parameter_count` counts the parameters of any such layer.
- :class:`OneBiasLSTMCell` - an LSTM cell with one bias vector per gate block, as most
  hand-written LSTMs have (``nn.LSTM`` has two, simply added).
- :class:`PeepholeLSTMCell`, :class:`CoupledGateLSTMCell`, :class:`LayerNormLSTMCell` - three
  classic variants; :func:`run_cell` steps any of them (or ``nn.LSTMCell``) over a sequence.
- :func:`slstm_step` and :class:`SLSTMCell` - xLSTM's sLSTM (Beck et al., 2024): exponential
  input gate, a normaliser state ``n`` and, optionally, the stabiliser state ``m``.
- :func:`mlstm_recurrent` and :func:`mlstm_parallel` - xLSTM's mLSTM: a matrix memory ``C``
  updated step by step, and the same outputs computed for all steps at once.
- :class:`CharTransformer` - a small causal Transformer language model built on
  ``nn.TransformerEncoder``, with a key-value cache for generating one character at a time.
- :func:`windowed_nats_per_char` - a context-limited model's validation loss, every target
  scored once; :func:`path_length` - the fewest operations on any path of the autograd
  graph from an input to an output (the "path length" between two positions).
"""

from __future__ import annotations

import copy
import math
from collections import deque
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

__all__ = ["gru_weights", "gru_step", "scratch_gru", "gated_parameter_count",
           "OneBiasLSTMCell", "PeepholeLSTMCell", "CoupledGateLSTMCell", "LayerNormLSTMCell",
           "run_cell", "unrolled_function", "slstm_step", "SLSTMCell", "mlstm_recurrent", "mlstm_parallel",
           "sinusoidal_positions", "CharTransformer", "KVCache", "windowed_nats_per_char", "path_length"]


# ---------------------------------------------------------------------------------------------
# input checks


def _check_int(name: str, value: object, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return value


def _check_stabilised(stabilised: object) -> None:
    if not isinstance(stabilised, bool):
        raise TypeError(f"stabilised must be True or False, got {type(stabilised).__name__} "
                        f"({stabilised!r})")


def _check_tensor(name: str, value: object, shape: str, dims: int | tuple[int, ...]) -> Tensor:
    """``value`` must be a floating tensor with ``dims`` dimensions (``shape`` describes it)."""
    dims = (dims,) if isinstance(dims, int) else dims
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a tensor of shape {shape}, got {type(value).__name__}")
    if not value.is_floating_point():
        raise TypeError(f"{name} must be a floating tensor of shape {shape}, got dtype "
                        f"{value.dtype}")
    if value.dim() not in dims:
        raise ValueError(f"{name} must have shape {shape}, got {tuple(value.shape)}")
    return value


# ---------------------------------------------------------------------------------------------
# the GRU


def gru_weights(gru: nn.Module) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``(weight_ih, weight_hh, bias_ih, bias_hh)`` of a one-layer, one-direction ``nn.GRU``
    (or of an ``nn.GRUCell``): the module's own tensors, rows in gate order r, z, n."""
    if isinstance(gru, nn.GRU):
        if (gru.num_layers, gru.bidirectional, gru.bias) != (1, False, True):
            raise ValueError(f"expected an nn.GRU with one layer, one direction and biases, "
                             f"got {gru}")
        suffix = "_l0"
    elif isinstance(gru, nn.GRUCell):
        if not gru.bias:
            raise ValueError(f"expected an nn.GRUCell with biases, got {gru}")
        suffix = ""
    else:
        raise TypeError(f"expected an nn.GRU or nn.GRUCell, got {type(gru).__name__}")
    return tuple(getattr(gru, f"{name}{suffix}")
                 for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))


def _check_gru_weights(weights: object, input_size: int) -> int:
    """``weights`` must be ``(weight_ih, weight_hh, bias_ih, bias_hh)`` tensors of shapes
    ``(3H, input_size)``, ``(3H, H)``, ``(3H,)``, ``(3H,)``; returns ``H``."""
    if not (isinstance(weights, (tuple, list)) and len(weights) == 4
            and all(isinstance(w, Tensor) for w in weights)):
        got = type(weights).__name__ if not isinstance(weights, (tuple, list)) else \
            f"{type(weights).__name__} of {[type(w).__name__ for w in weights]}"
        raise TypeError("weights must be 4 tensors (weight_ih, weight_hh, bias_ih, bias_hh) "
                        f"(see gru_weights), got {got}")
    if weights[1].dim() != 2:
        raise ValueError(f"weight_hh must have shape (3 * hidden_size, hidden_size), got "
                         f"{tuple(weights[1].shape)}")
    hidden = weights[1].shape[1]
    expected = [(3 * hidden, input_size), (3 * hidden, hidden), (3 * hidden,), (3 * hidden,)]
    if [tuple(w.shape) for w in weights] != expected:
        raise ValueError(f"GRU weights for input size {input_size} must have shapes "
                         f"{expected}, got {[tuple(w.shape) for w in weights]}")
    return hidden


def gru_step(x, h, weight_ih, weight_hh, bias_ih, bias_hh, reset="after"):
    """One GRU step; returns the new ``h``. Gate blocks in PyTorch's order r, z, n:

    r = σ(W_ir x + b_ir + W_hr h + b_hr)          reset gate
    z = σ(W_iz x + b_iz + W_hz h + b_hz)          update gate
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn))   reset="after" (PyTorch)
    n = tanh(W_in x + b_in + W_hn (r * h) + b_hn)   reset="before" (Cho et al., 2014)
    h' = (1 - z) * n + z * h

    ``x`` is ``(B, I)``, ``h`` exactly ``(B, H)`` (nothing is broadcast), the weights as
    :func:`gru_weights` returns them."""
    if reset not in ("after", "before"):
        raise ValueError(f"reset must be 'after' (PyTorch) or 'before' (Cho et al.), "
                         f"got {reset!r}")
    _check_tensor("x", x, "(batch, input_size)", 2)
    hidden = _check_gru_weights((weight_ih, weight_hh, bias_ih, bias_hh), x.shape[1])
    _check_tensor("h", h, f"(batch, hidden_size) = {(x.shape[0], hidden)}", 2)
    if tuple(h.shape) != (x.shape[0], hidden):
        raise ValueError(f"h must have shape (batch, hidden_size) = {(x.shape[0], hidden)}, "
                         f"got {tuple(h.shape)}")
    x_r, x_z, x_n = (x @ weight_ih.T + bias_ih).chunk(3, dim=-1)
    w_hr, w_hz, w_hn = weight_hh.chunk(3, dim=0)
    b_hr, b_hz, b_hn = bias_hh.chunk(3, dim=0)
    r = torch.sigmoid(x_r + h @ w_hr.T + b_hr)
    z = torch.sigmoid(x_z + h @ w_hz.T + b_hz)
    if reset == "after":
        n = torch.tanh(x_n + r * (h @ w_hn.T + b_hn))     # r scales the product
    else:
        n = torch.tanh(x_n + (r * h) @ w_hn.T + b_hn)     # r scales h, then the product
    return (1 - z) * n + z * h


def scratch_gru(weights: tuple, x: Tensor, h: Tensor | None = None,
                reset: str = "after") -> tuple[Tensor, Tensor]:
    """:func:`gru_step` over a batch-first sequence ``x`` ``(B, T, I)``, from ``h`` ``(B, H)``
    (zeros if ``None``): returns the outputs ``(B, T, H)`` and the last ``h`` ``(B, H)``."""
    if reset not in ("after", "before"):
        raise ValueError(f"reset must be 'after' (PyTorch) or 'before' (Cho et al.), "
                         f"got {reset!r}")
    _check_tensor("x", x, "(batch, seq_len, input_size)", 3)
    hidden = _check_gru_weights(weights, x.shape[-1])
    w_ih, w_hh, b_ih, b_hh = weights
    if h is None:
        h = x.new_zeros(x.shape[0], hidden)
    else:
        _check_tensor("h", h, f"(batch, hidden_size) = {(x.shape[0], hidden)}", (1, 2, 3))
        if tuple(h.shape) != (x.shape[0], hidden):
            raise ValueError(f"h must have shape (batch, hidden_size) = "
                             f"{(x.shape[0], hidden)}, got {tuple(h.shape)}")
    outputs = []
    for t in range(x.shape[1]):
        h = gru_step(x[:, t], h, w_ih, w_hh, b_ih, b_hh, reset)
        outputs.append(h)
    return torch.stack(outputs, dim=1), h


def gated_parameter_count(gates: int, input_size: int, hidden_size: int, num_layers: int = 1,
                          biases: int = 2) -> int:
    """Parameters of a stack of gated recurrent layers: each layer has ``gates`` blocks of
    ``hidden_size`` rows, each reading the layer's input (``input_size`` for the first layer,
    ``hidden_size`` above it) and ``h``, plus ``biases`` bias vectors per block.
    ``nn.LSTM``: gates 4, biases 2; ``nn.GRU``: gates 3, biases 2; a one-bias LSTM: 4, 1."""
    gates, input_size = _check_int("gates", gates), _check_int("input_size", input_size)
    hidden_size, num_layers = _check_int("hidden_size", hidden_size), \
        _check_int("num_layers", num_layers)
    biases = _check_int("biases", biases, 0)
    if biases > 2:
        raise ValueError(f"biases must be 0, 1 or 2 bias vectors per gate block, got {biases}")
    total = 0
    for layer in range(num_layers):
        reads = input_size if layer == 0 else hidden_size
        total += gates * hidden_size * (reads + hidden_size + biases)
    return total


# ---------------------------------------------------------------------------------------------
# LSTM cells: one bias, peepholes, a coupled gate, layer normalisation


class _Cell(nn.Module):
    """Shared checks: ``forward(x, state)`` with ``x`` ``(B, input_size)`` and ``state`` a
    tuple of ``(B, hidden_size)`` tensors or ``None`` (zeros)."""

    state_size = 2                              # (h, c)

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.input_size = _check_int("input_size", input_size)
        self.hidden_size = _check_int("hidden_size", hidden_size)

    def _reset_uniform(self) -> None:
        bound = 1 / math.sqrt(self.hidden_size)
        for parameter in self.parameters():
            nn.init.uniform_(parameter, -bound, bound)

    def _state(self, x: object, state: object) -> tuple[Tensor, ...]:
        _check_tensor("x", x, f"(batch, {self.input_size})", 2)
        if x.shape[1] != self.input_size:
            raise ValueError(f"x must have shape (batch, {self.input_size}), got "
                             f"{tuple(x.shape)}")
        expected = (x.shape[0], self.hidden_size)
        if state is None:
            return tuple(x.new_zeros(expected) for _ in range(self.state_size))
        if not (isinstance(state, (tuple, list)) and len(state) == self.state_size
                and all(isinstance(s, Tensor) for s in state)):
            raise TypeError(f"state must be a tuple of {self.state_size} tensors of shape "
                            f"{expected}, got {type(state).__name__}")
        for s in state:
            if tuple(s.shape) != expected:
                raise ValueError(f"every state tensor must have shape (batch, hidden_size) = "
                                 f"{expected}, got {tuple(s.shape)}")
        return tuple(state)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"


class OneBiasLSTMCell(_Cell):
    """An LSTM cell with ONE bias vector per gate block (``bias``, ``(4H,)``), gate blocks
    i, f, g, o as in ``nn.LSTMCell``: the same function, ``4 * hidden_size`` fewer parameters.
    ``nn.LSTMCell``'s ``bias_ih + bias_hh`` is this cell's ``bias``."""

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__(input_size, hidden_size)
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))
        self.bias = nn.Parameter(torch.empty(4 * hidden_size))
        self._reset_uniform()

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor] | None = None):
        h, c = self._state(x, state)
        i, f, g, o = (x @ self.weight_ih.T + h @ self.weight_hh.T + self.bias).chunk(4, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c


class PeepholeLSTMCell(_Cell):
    """An LSTM cell whose gates also read the cell state (Gers & Schmidhuber, 2000), through
    diagonal "peephole" weights: ``i`` and ``f`` see ``c_{t-1}``, ``o`` sees the new ``c_t``.

    i = σ(W_i [x, h] + p_i * c_{t-1} + b_i)     f = σ(W_f [x, h] + p_f * c_{t-1} + b_f)
    c_t = f * c_{t-1} + i * tanh(W_g [x, h] + b_g)
    o = σ(W_o [x, h] + p_o * c_t + b_o)          h_t = o * tanh(c_t)

    ``weight_ih``, ``weight_hh`` and ``bias`` are laid out like ``nn.LSTMCell``'s (i, f, g, o);
    ``peephole`` ``(3, H)`` holds p_i, p_f, p_o. With ``peephole`` all zero it is an LSTM."""

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__(input_size, hidden_size)
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))
        self.bias = nn.Parameter(torch.empty(4 * hidden_size))
        self.peephole = nn.Parameter(torch.empty(3, hidden_size))
        self._reset_uniform()

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor] | None = None):
        h, c = self._state(x, state)
        p_i, p_f, p_o = self.peephole
        i, f, g, o = (x @ self.weight_ih.T + h @ self.weight_hh.T + self.bias).chunk(4, dim=-1)
        c = torch.sigmoid(f + p_f * c) * c + torch.sigmoid(i + p_i * c) * torch.tanh(g)
        return torch.sigmoid(o + p_o * c) * torch.tanh(c), c


class CoupledGateLSTMCell(_Cell):
    """An LSTM cell whose input gate is tied to its forget gate, ``i = 1 - f`` (the "coupled
    input and forget gate" of Greff et al., 2017): new content is written exactly as much as
    old content is forgotten. Three gate blocks f, g, o instead of four.

    f = σ(W_f [x, h] + b_f)   c_t = f * c_{t-1} + (1 - f) * tanh(W_g [x, h] + b_g)
    o = σ(W_o [x, h] + b_o)   h_t = o * tanh(c_t)"""

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__(input_size, hidden_size)
        self.weight_ih = nn.Parameter(torch.empty(3 * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(3 * hidden_size, hidden_size))
        self.bias = nn.Parameter(torch.empty(3 * hidden_size))
        self._reset_uniform()

    def gates(self, x: Tensor, state: tuple[Tensor, Tensor] | None = None):
        """The activated ``(i, f, g, o)`` of one step, ``i`` computed as ``1 - f``."""
        h, _ = self._state(x, state)
        f, g, o = (x @ self.weight_ih.T + h @ self.weight_hh.T + self.bias).chunk(3, dim=-1)
        f = torch.sigmoid(f)
        return 1 - f, f, torch.tanh(g), torch.sigmoid(o)

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor] | None = None):
        _, c = self._state(x, state)
        i, f, g, o = self.gates(x, state)
        c = f * c + i * g
        return o * torch.tanh(c), c


class LayerNormLSTMCell(_Cell):
    """An LSTM cell with layer normalisation (Ba, Kiros & Hinton, 2016): the input's and the
    hidden state's contributions to the gates are normalised separately over their 4H
    features, and so is the cell state before the output's tanh.

    (i, f, g, o) = LN(W_ih x) + LN(W_hh h) + b      c_t = σ(f) * c_{t-1} + σ(i) * tanh(g)
    h_t = σ(o) * tanh(LN(c_t))

    Each LN has its own gain and bias (``nn.LayerNorm``); ``eps`` is their epsilon. Scaling
    ``weight_ih`` or ``weight_hh`` by a constant changes nothing (up to ``eps``)."""

    def __init__(self, input_size: int, hidden_size: int, eps: float = 1e-5):
        super().__init__(input_size, hidden_size)
        if isinstance(eps, bool) or not isinstance(eps, (int, float)):
            raise TypeError(f"eps must be a number in (0, 1), got {type(eps).__name__} "
                            f"({eps!r})")
        if not 0 < eps < 1:
            raise ValueError(f"eps must be a number in (0, 1), got {eps!r}")
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))
        self.bias = nn.Parameter(torch.empty(4 * hidden_size))
        self._reset_uniform()
        self.norm_ih = nn.LayerNorm(4 * hidden_size, eps=eps)
        self.norm_hh = nn.LayerNorm(4 * hidden_size, eps=eps)
        self.norm_c = nn.LayerNorm(hidden_size, eps=eps)

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor] | None = None):
        h, c = self._state(x, state)
        gates = self.norm_ih(x @ self.weight_ih.T) + self.norm_hh(h @ self.weight_hh.T) + \
            self.bias
        i, f, g, o = gates.chunk(4, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(self.norm_c(c)), c


def run_cell(cell: nn.Module, x: Tensor, state: tuple | None = None, **options):
    """Step ``cell`` over a batch-first ``x`` ``(B, T, I)``: ``state = cell(x[:, t], state,
    **options)``, whose first entry is ``h``. Returns the outputs ``(B, T, H)`` and the last
    state. Works for ``nn.LSTMCell`` and every cell of this module."""
    if not isinstance(cell, nn.Module):
        raise TypeError(f"cell must be an nn.Module, got {type(cell).__name__}")
    _check_tensor("x", x, "(batch, seq_len, input_size)", 3)
    if x.shape[1] == 0:
        raise ValueError(f"x must hold at least one step, got shape {tuple(x.shape)}")
    outputs = []
    for t in range(x.shape[1]):
        state = cell(x[:, t], state, **options)
        outputs.append(state[0])
    return torch.stack(outputs, dim=1), state


class _Unrolled(nn.Module):
    def __init__(self, cell: nn.Module, options: dict):
        super().__init__()
        self.cell, self.options = cell, options

    def forward(self, x: Tensor, state: tuple) -> tuple[Tensor, ...]:
        outputs, final = run_cell(self.cell, x, state, **self.options)
        return (outputs, *final)


def unrolled_function(cell: nn.Module, steps: int = 3, batch: int = 2, seed: int = 0,
                      **options):
    """What ``torch.autograd.gradcheck`` needs to check a cell over ``steps`` steps: a function
    of ``(x, *state, *parameters)`` returning the outputs and the final state of a float64
    copy of ``cell``, and random float64 inputs for it (``requires_grad=True``; the state from
    N(0, 1), except an sLSTM's normaliser ``n``, drawn from U(0.5, 1.5): it divides). The
    parameters are the cell's own values; ``options`` go to every call of the cell."""
    if not isinstance(cell, nn.Module):
        raise TypeError(f"cell must be an nn.Module, got {type(cell).__name__}")
    for name, value in (("steps", steps), ("batch", batch)):
        _check_int(name, value)
    unrolled = _Unrolled(copy.deepcopy(cell).double(), options)
    names = [name for name, _ in unrolled.named_parameters()]
    generator = torch.Generator().manual_seed(seed)

    def draw(*shape: int) -> Tensor:
        return torch.randn(*shape, generator=generator, dtype=torch.float64)

    size = getattr(cell, "state_size", 2)
    x = draw(batch, steps, cell.input_size)
    state = [draw(batch, cell.hidden_size) for _ in range(size)]
    if isinstance(cell, SLSTMCell):
        state[2] = 0.5 + torch.rand(batch, cell.hidden_size, generator=generator,
                                    dtype=torch.float64)
    parameters = [p.detach().clone() for _, p in unrolled.named_parameters()]
    inputs = tuple(t.requires_grad_() for t in (x, *state, *parameters))

    def function(x: Tensor, *rest: Tensor) -> tuple[Tensor, ...]:
        values = dict(zip(names, rest[size:], strict=True))
        return torch.func.functional_call(unrolled, values, (x, tuple(rest[:size])))

    return function, inputs


# ---------------------------------------------------------------------------------------------
# xLSTM: the sLSTM


def slstm_step(z_pre, i_pre, f_pre, o_pre, c, n, m, stabilised=True, forget="sigmoid"):
    """One sLSTM step (Beck et al., 2024, eqs. 8-17) from the gates' pre-activations;
    returns the new ``(h, c, n, m)``.

    i = exp(ĩ)   f = σ(f̃) or exp(f̃)   z = tanh(z̃)   o = σ(õ)
    c_t = f c + i z    n_t = f n + i    h_t = o c_t / n_t
    stabilised: m_t = max(log f + m, ĩ), i' = exp(ĩ - m_t), f' = exp(log f + m - m_t), used
    in place of i and f; then c_t and n_t are the unstabilised ones times exp(-m_t), and h_t
    is the same. Unstabilised, ``m`` is passed through unchanged (it is not used).
    All seven tensors have one shape, ``(B, H)`` or ``(H,)``: nothing is broadcast.
    """
    if forget not in ("sigmoid", "exp"):
        raise ValueError(f"forget must be 'sigmoid' or 'exp', got {forget!r}")
    _check_stabilised(stabilised)
    values = dict(z_pre=z_pre, i_pre=i_pre, f_pre=f_pre, o_pre=o_pre, c=c, n=n, m=m)
    for name, value in values.items():
        _check_tensor(name, value, "(batch, hidden_size) or (hidden_size,)", (1, 2))
    for name, value in values.items():
        if value.shape != z_pre.shape:
            raise ValueError(f"{name} must have the shape of z_pre, {tuple(z_pre.shape)} (all "
                             f"seven inputs alike, nothing broadcast), got {tuple(value.shape)}")
    log_f = F.logsigmoid(f_pre) if forget == "sigmoid" else f_pre
    if stabilised:
        m_new = torch.maximum(log_f + m, i_pre)
        i, f = torch.exp(i_pre - m_new), torch.exp(log_f + m - m_new)
    else:
        m_new = m
        i, f = torch.exp(i_pre), torch.exp(log_f)
    c = f * c + i * torch.tanh(z_pre)
    n = f * n + i
    h = torch.sigmoid(o_pre) * c / n
    return h, c, n, m_new


class SLSTMCell(_Cell):
    """One head of xLSTM's sLSTM cell: gate pre-activations ``W x + R h + b`` in blocks
    z, i, f, o (full recurrent matrices; the paper's block-diagonal heads are several of
    these side by side), then :func:`slstm_step`. The state is ``(h, c, n, m)``; zeros at the
    start. ``forget`` picks the forget gate, ``"sigmoid"`` or ``"exp"``."""

    state_size = 4                                # (h, c, n, m)

    def __init__(self, input_size: int, hidden_size: int, forget: str = "sigmoid"):
        super().__init__(input_size, hidden_size)
        if forget not in ("sigmoid", "exp"):
            raise ValueError(f"forget must be 'sigmoid' or 'exp', got {forget!r}")
        self.forget = forget
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))
        self.bias = nn.Parameter(torch.empty(4 * hidden_size))
        self._reset_uniform()

    def forward(self, x: Tensor, state: tuple | None = None, stabilised: bool = True):
        _check_stabilised(stabilised)
        h, c, n, m = self._state(x, state)
        pre = x @ self.weight_ih.T + h @ self.weight_hh.T + self.bias
        return slstm_step(*pre.chunk(4, dim=-1), c, n, m, stabilised, self.forget)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, forget={self.forget!r}"


# ---------------------------------------------------------------------------------------------
# xLSTM: the mLSTM


def _check_mlstm(q, k, v, i_pre, f_pre, stabilised) -> None:
    _check_stabilised(stabilised)
    for name, t in (("q", q), ("k", k), ("v", v)):
        _check_tensor(name, t, "(batch, seq_len, d)", 3)
    if not q.shape == k.shape == v.shape:
        raise ValueError(f"q, k and v must have the same shape (batch, seq_len, d), got "
                         f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
    for name, t in (("i_pre", i_pre), ("f_pre", f_pre)):
        _check_tensor(name, t, "(batch, seq_len)", 2)
        if tuple(t.shape) != tuple(q.shape[:2]):
            raise ValueError(f"{name} must have shape (batch, seq_len) = {tuple(q.shape[:2])},"
                             f" got {tuple(t.shape)}")


def mlstm_recurrent(q, k, v, i_pre, f_pre, stabilised=True):
    """The mLSTM's memory step by step (Beck et al., 2024, eqs. 19-27), before the output
    gate: returns h̃ ``(B, T, d)``. ``k`` is already scaled by 1/√d; ``i_pre``, ``f_pre``
    ``(B, T)`` are the scalar gates' pre-activations; i = exp(ĩ), f = σ(f̃).

    C_t = f C + i v kᵀ     n_t = f n + i k     h̃_t = C_t q_t / max(|n_tᵀ q_t|, 1)
    stabilised: i, f -> i', f' as in the sLSTM, and the floor 1 -> exp(-m_t).
    """
    _check_mlstm(q, k, v, i_pre, f_pre, stabilised)
    batch, steps, d = q.shape
    C, n, m = q.new_zeros(batch, d, d), q.new_zeros(batch, d), q.new_zeros(batch)
    log_f, outputs = F.logsigmoid(f_pre), []
    for t in range(steps):
        if stabilised:
            m_new = torch.maximum(log_f[:, t] + m, i_pre[:, t])
            i, f = torch.exp(i_pre[:, t] - m_new), torch.exp(log_f[:, t] + m - m_new)
            floor, m = torch.exp(-m_new), m_new
        else:
            i, f = torch.exp(i_pre[:, t]), torch.exp(log_f[:, t])
            floor = torch.ones_like(i)
        C = f[:, None, None] * C + i[:, None, None] * (v[:, t, :, None] * k[:, t, None, :])
        n = f[:, None] * n + i[:, None] * k[:, t]
        numerator = (C @ q[:, t, :, None]).squeeze(-1)                 # C_t q_t
        denominator = torch.maximum((n * q[:, t]).sum(-1).abs(), floor)
        outputs.append(numerator / denominator[:, None])
    return torch.stack(outputs, dim=1)


def mlstm_parallel(q, k, v, i_pre, f_pre, stabilised=True):
    """The same h̃ as :func:`mlstm_recurrent`, for all steps at once (the paper's parallel
    form): with F_t = Σ_{j≤t} log f_j, log D_ts = F_t - F_s + ĩ_s for s ≤ t (else -∞), so
    D_ts = f_{s+1} ... f_t i_s is how much of step s's write is left at step t; then

    S = (Q Kᵀ) ⊙ D     h̃ = S V / max(|row sums of S|, 1)
    stabilised: D -> exp(log D - m_t) with m_t the row maximum of log D, the floor 1 ->
    exp(-m_t)."""
    _check_mlstm(q, k, v, i_pre, f_pre, stabilised)
    steps = q.shape[1]
    cumulative = torch.cumsum(F.logsigmoid(f_pre), dim=1)                      # F_t
    log_d = cumulative[:, :, None] - cumulative[:, None, :] + i_pre[:, None, :]  # (B, t, s)
    causal = torch.ones(steps, steps, dtype=torch.bool, device=q.device).tril()
    log_d = log_d.masked_fill(~causal, float("-inf"))
    if stabilised:
        m = log_d.amax(dim=-1, keepdim=True)
        d, floor = torch.exp(log_d - m), torch.exp(-m)
    else:
        d, floor = torch.exp(log_d), torch.ones_like(log_d[..., :1])
    s = (q @ k.transpose(1, 2)) * d
    return (s @ v) / torch.maximum(s.sum(-1, keepdim=True).abs(), floor)


# ---------------------------------------------------------------------------------------------
# a small causal Transformer language model


def sinusoidal_positions(length: int, d_model: int) -> Tensor:
    """Vaswani et al.'s fixed position encodings, ``(length, d_model)``: sines in the even
    features, cosines in the odd ones, wavelengths from 2π to 10000·2π."""
    position = torch.arange(length, dtype=torch.float32)[:, None]
    rate = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32)
                     * (-math.log(10000.0) / d_model))
    table = torch.zeros(length, d_model)
    table[:, 0::2] = torch.sin(position * rate)
    table[:, 1::2] = torch.cos(position * rate)
    return table


@dataclass
class KVCache:
    """Every layer's keys and values of the positions read so far: ``keys`` and ``values``
    are ``(num_layers, batch, nhead, max_len, head_dim)`` buffers, filled up to ``length``."""
    keys: Tensor
    values: Tensor
    length: int = 0

    def floats(self) -> int:
        """The numbers the cache holds now: 2 (K and V) · layers · batch · length · d_model."""
        return 2 * self.keys[..., :self.length, :].numel()


class CharTransformer(nn.Module):
    """A causal Transformer language model: ids -> ``nn.Embedding`` + sinusoidal positions ->
    ``nn.TransformerEncoder`` (pre-norm layers, GELU, no dropout) under a causal mask ->
    ``nn.LayerNorm`` -> ``nn.Linear`` logits for the next character at every position.

    ``forward(ids)`` reads ``(B, T)`` ids at once (training, or recomputing the whole
    context); :meth:`step` reads one new position with a :class:`KVCache` of the earlier
    positions' keys and values, and gives the same logits."""

    def __init__(self, vocab_size: int, d_model: int = 64, nhead: int = 4, num_layers: int = 2,
                 dim_feedforward: int | None = None, max_len: int = 2048):
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("d_model", d_model),
                            ("nhead", nhead), ("num_layers", num_layers),
                            ("max_len", max_len)):
            _check_int(name, value)
        if d_model % nhead:
            raise ValueError(f"d_model ({d_model}) must be divisible by nhead ({nhead})")
        dim_feedforward = 4 * d_model if dim_feedforward is None else \
            _check_int("dim_feedforward", dim_feedforward)
        self.vocab_size, self.d_model, self.nhead, self.max_len = \
            vocab_size, d_model, nhead, max_len
        self.embedding = nn.Embedding(vocab_size, d_model)
        self.register_buffer("positions", sinusoidal_positions(max_len, d_model),
                             persistent=False)
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout=0.0,
                                           activation="gelu", batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)

    def _check_ids(self, ids: object, dims: int) -> Tensor:
        shape = "(batch, seq_len)" if dims == 2 else "(batch,)"
        if not isinstance(ids, Tensor) or ids.dtype != torch.long:
            got = ids.dtype if isinstance(ids, Tensor) else type(ids).__name__
            raise TypeError(f"ids must be a LongTensor of shape {shape}, got {got}")
        if ids.dim() != dims or 0 in ids.shape:
            raise ValueError(f"ids must have shape {shape}, non-empty, got {tuple(ids.shape)}")
        if ids.min() < 0 or ids.max() >= self.vocab_size:
            raise ValueError(f"ids must lie in [0, {self.vocab_size - 1}], got values in "
                             f"[{ids.min().item()}, {ids.max().item()}]")
        return ids

    def forward(self, ids: Tensor) -> Tensor:
        ids = self._check_ids(ids, 2)
        steps = ids.shape[1]
        if steps > self.max_len:
            raise ValueError(f"ids has {steps} positions, more than max_len = {self.max_len}")
        x = self.embedding(ids) + self.positions[:steps]
        mask = nn.Transformer.generate_square_subsequent_mask(steps, device=ids.device)
        return self.head(self.norm(self.encoder(x, mask=mask, is_causal=True)))

    def new_cache(self, batch: int = 1) -> KVCache:
        """An empty cache for ``batch`` sequences of up to ``max_len`` positions."""
        _check_int("batch", batch)
        p = self.head.weight
        shape = (len(self.encoder.layers), batch, self.nhead, self.max_len,
                 self.d_model // self.nhead)
        return KVCache(p.new_zeros(shape), p.new_zeros(shape))

    def step(self, ids: Tensor, cache: KVCache, position: int | None = None) -> Tensor:
        """The logits ``(B, vocab_size)`` after reading ``ids`` ``(B,)`` at ``position``
        (default ``cache.length``), attending to the cached positions before it. Its key and
        value are written into the cache at ``position``, and ``cache.length`` becomes
        ``position + 1``. Each layer does what ``nn.TransformerEncoderLayer`` (norm_first)
        does, for one position: x += attention(norm1(x)); x += linear2(gelu(linear1(norm2(x))))."""
        ids = self._check_ids(ids, 1)
        if not isinstance(cache, KVCache):
            raise TypeError(f"cache must be a KVCache (see new_cache), got "
                            f"{type(cache).__name__}")
        position = cache.length if position is None else position
        if isinstance(position, bool) or not isinstance(position, int):
            raise TypeError(f"position must be an int, got {type(position).__name__} "
                            f"({position!r})")
        if not 0 <= position <= cache.length or position >= self.max_len:
            raise ValueError(f"position must be an int in [0, {min(cache.length, self.max_len - 1)}]"
                             f" (the cache holds {cache.length}), got {position!r}")
        if cache.keys.shape[1] != ids.shape[0]:
            raise ValueError(f"the cache is for batch {cache.keys.shape[1]}, ids has batch "
                             f"{ids.shape[0]}")
        batch, heads = ids.shape[0], self.nhead
        x = self.embedding(ids) + self.positions[position]                     # (B, d)
        for index, layer in enumerate(self.encoder.layers):
            attention = layer.self_attn
            qkv = F.linear(layer.norm1(x), attention.in_proj_weight, attention.in_proj_bias)
            q, k, v = qkv.view(batch, 3, heads, -1).unbind(1)                  # (B, heads, hd)
            cache.keys[index, :, :, position] = k
            cache.values[index, :, :, position] = v
            read = F.scaled_dot_product_attention(
                q[:, :, None], cache.keys[index, :, :, :position + 1],
                cache.values[index, :, :, :position + 1])                       # (B, heads, 1, hd)
            x = x + attention.out_proj(read.reshape(batch, self.d_model))
            x = x + layer.linear2(layer.activation(layer.linear1(layer.norm2(x))))
        cache.length = position + 1
        return self.head(self.norm(x))


def windowed_nats_per_char(model: nn.Module, ids: Tensor, context: int, stride: int | None = None,
                           batch: int = 256, return_count: bool = False):
    """Mean negative log-likelihood (nats) of every next id of ``ids`` (all ``len(ids) - 1``
    targets, each scored once) for a model that reads at most ``context`` positions:
    ``model(x)`` maps ``(B, context)`` ids to ``(B, context, V)`` logits.

    Windows of ``context`` ids start every ``stride`` positions (default ``context // 2``);
    the first window scores all its targets, each later one only the targets no window has
    scored yet, so every target after the first ``context`` is predicted from at least
    ``context - stride`` earlier ids. With ``return_count=True`` it returns ``(nats, count)``,
    ``count`` the number of targets it scored (``len(ids) - 1``). Runs in ``eval()`` mode without autograd; the model's
    mode is put back afterwards."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if not isinstance(ids, Tensor):
        raise TypeError(f"ids must be a 1-D LongTensor, got {type(ids).__name__}")
    if ids.dtype != torch.long:
        raise TypeError(f"ids must be a 1-D LongTensor (dtype torch.long), got dtype "
                        f"{ids.dtype}")
    if ids.dim() != 1:
        raise ValueError(f"ids must be a 1-D LongTensor (length,), got shape "
                         f"{tuple(ids.shape)}")
    context = _check_int("context", context)
    stride = context // 2 if stride is None else stride
    stride, batch = _check_int("stride", stride), _check_int("batch", batch)
    if not isinstance(return_count, bool):
        raise TypeError(f"return_count must be True or False, got "
                        f"{type(return_count).__name__} ({return_count!r})")
    if stride > context:
        raise ValueError(f"stride ({stride}) must be at most context ({context}), or some "
                         f"targets would never be scored")
    targets = len(ids) - 1
    if targets < context:
        raise ValueError(f"ids has {len(ids)} ids, too few for one window of context "
                         f"{context} (it needs at least {context + 1})")
    starts = list(range(0, targets - context + 1, stride))
    if starts[-1] != targets - context:
        starts.append(targets - context)             # a last window, flush with the end
    # window w scores its targets (start + p + 1) beyond those of the window before
    scored_until = [0] + [s + context for s in starts[:-1]]
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    try:
        with torch.no_grad():
            for first in range(0, len(starts), batch):
                start = torch.tensor(starts[first:first + batch])
                index = start[:, None] + torch.arange(context)
                logits = model(ids[index])
                losses = F.cross_entropy(logits.transpose(1, 2), ids[index + 1],
                                         reduction="none")                   # (b, context)
                until = torch.tensor(scored_until[first:first + batch])
                keep = index + 1 > until[:, None]
                total += losses[keep].sum().item()
                count += int(keep.sum())
    finally:
        model.train(was_training)
    if count != targets:
        raise RuntimeError(f"scored {count} targets instead of {targets}")  # cannot happen
    return (total / count, count) if return_count else total / count


# ---------------------------------------------------------------------------------------------
# path length in an autograd graph


def path_length(output: Tensor, source: Tensor) -> int:
    """The fewest operations on any path of ``output``'s autograd graph back to the leaf
    tensor ``source``: every node of the graph that computes something counts 1 (the leaf's
    own ``AccumulateGrad`` counts 0). This is the *path length* between two positions of a
    sequence model: how many operations information from ``source`` must pass through, at
    the least, to reach ``output``. Raises ``ValueError`` if no path exists."""
    for name, value in (("output", output), ("source", source)):
        if not isinstance(value, Tensor):
            raise TypeError(f"{name} must be a tensor, got {type(value).__name__}")
    if output.grad_fn is None:
        raise ValueError("output must be a tensor computed with autograd (it has no grad_fn)")
    if not (source.is_leaf and source.requires_grad):
        raise ValueError(f"source must be a leaf tensor with requires_grad=True, got "
                         f"is_leaf={source.is_leaf}, requires_grad={source.requires_grad}")
    depth = {output.grad_fn: 1}
    todo = deque([output.grad_fn])
    while todo:                                  # breadth first: the shortest path first
        node = todo.popleft()
        for parent, _ in node.next_functions:
            if parent is None or parent in depth:
                continue
            if getattr(parent, "variable", None) is source:
                return depth[node]
            depth[parent] = depth[node] + 1
            todo.append(parent)
    raise ValueError("output does not depend on source: no path in the autograd graph")

"""Notebook 09's tools for looking at long memory: comparable recurrent models, the gradient that
reaches each input step, and the gates of an LSTM computed from its weights.

- :class:`RecurrentRegressor` - a tanh RNN, GRU or LSTM core with a linear head on the last step;
  :func:`make_recurrent_regressor` builds one (seeded), :func:`matching_hidden_size` finds the
  hidden size that gives a core about as many parameters as another.
- :func:`input_gradient_norms` - how strongly the loss depends on each input time step.
- :func:`lstm_gates` / :func:`forget_gate_activations` - the i, f, g, o gates, the cell and the
  hidden state of a one-layer ``nn.LSTM`` over a sequence, recomputed from ``weight_ih_l0``,
  ``weight_hh_l0`` and the two biases (gate order i, f, g, o).
- :func:`set_forget_bias` - the forget gate's effective bias, set in place;
  :func:`init_input_weights` - input weights scaled for the number of input features.
- :class:`AddingBatches` - fresh adding-problem batches for every epoch of ``utils.training.fit``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from .data import adding_problem
from .models import check_positive_int

__all__ = ["KINDS", "RecurrentRegressor", "make_recurrent_regressor", "recurrent_parameter_count",
           "matching_hidden_size", "set_forget_bias", "init_input_weights", "AddingBatches",
           "input_gradient_norms", "lstm_gates", "forget_gate_activations"]

# Each kind's core and its number of gate blocks (rows of weight_ih_l0 = blocks x hidden_size).
KINDS = {"rnn": (nn.RNN, 1), "gru": (nn.GRU, 3), "lstm": (nn.LSTM, 4)}


def _check_kind(kind: object) -> str:
    if not isinstance(kind, str) or kind.lower() not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)}, got {kind!r}")
    return kind.lower()


def _check_sequence(x: object, input_size: int, name: str = "x",
                    batch_first: bool = True) -> torch.Tensor:
    layout = "batch, seq_len" if batch_first else "seq_len, batch"
    expected = f"({layout}, {input_size})"
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {expected}, "
                        f"got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if x.dim() != 3 or x.shape[-1] != input_size or 0 in x.shape:
        raise ValueError(f"{name} must have shape {expected} with {layout} >= 1, "
                         f"got {tuple(x.shape)}")
    return x


class RecurrentRegressor(nn.Module):
    """One recurrent layer reads the sequence; a linear layer maps its last hidden output to the
    prediction. The kinds differ only in the core (``nn.RNN`` with tanh, ``nn.GRU`` or
    ``nn.LSTM``), so comparing them compares the cores.

    Input ``(batch, seq_len, input_size)`` -> output ``(batch, output_size)``.
    """

    def __init__(self, kind: str, input_size: int, hidden_size: int, output_size: int = 1):
        super().__init__()
        self.kind = _check_kind(kind)
        self.input_size = check_positive_int("input_size", input_size)
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        self.output_size = check_positive_int("output_size", output_size)
        core_class, _ = KINDS[self.kind]
        self.core = core_class(input_size, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, output_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_sequence(x, self.input_size)
        out, _ = self.core(x)          # (batch, seq_len, hidden_size)
        return self.head(out[:, -1])   # last step -> (batch, output_size)

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}"


def recurrent_parameter_count(kind: str, input_size: int, hidden_size: int,
                              output_size: int = 1) -> int:
    """Parameters of a :class:`RecurrentRegressor`: blocks*H*(I + H + 2) for the core (two bias
    vectors) plus H*out + out for the head; blocks is 1 (RNN), 3 (GRU) or 4 (LSTM)."""
    blocks = KINDS[_check_kind(kind)][1]
    i = check_positive_int("input_size", input_size)
    h = check_positive_int("hidden_size", hidden_size)
    o = check_positive_int("output_size", output_size)
    return blocks * h * (i + h + 2) + h * o + o


def matching_hidden_size(kind: str, n_parameters: int, input_size: int = 2,
                         output_size: int = 1) -> int:
    """The hidden size whose :class:`RecurrentRegressor` of this ``kind`` has the parameter
    count closest to ``n_parameters`` (the smaller size on a tie)."""
    check_positive_int("n_parameters", n_parameters)
    h = 1
    while recurrent_parameter_count(kind, input_size, h + 1, output_size) <= n_parameters:
        h += 1
    above = recurrent_parameter_count(kind, input_size, h + 1, output_size)
    below = recurrent_parameter_count(kind, input_size, h, output_size)
    return h + 1 if above - n_parameters < abs(n_parameters - below) else h


def set_forget_bias(lstm: nn.LSTM, value: float) -> nn.LSTM:
    """Give every layer's forget gate the effective bias ``value`` (in place; returns ``lstm``).

    ``nn.LSTM`` adds two bias vectors, so the forget block (rows H..2H) of ``bias_ih_l{k}`` is
    set to ``value`` and that of ``bias_hh_l{k}`` to 0; filling both with ``value`` would give
    2 * value. ``value`` is a real number: a Python or NumPy scalar, or a one-element tensor
    or array; it must be finite and within the range of the LSTM's dtype
    (``torch.finfo(dtype).max``, about 3.4e38 for float32)."""
    if not isinstance(lstm, nn.LSTM):
        raise TypeError(f"expected an nn.LSTM, got {type(lstm).__name__}")
    if not lstm.bias:
        raise ValueError("this nn.LSTM was built with bias=False: it has no forget bias to set")
    given = value
    if isinstance(value, (torch.Tensor, np.ndarray, np.generic)):
        count = value.numel() if isinstance(value, torch.Tensor) else value.size
        if count != 1:
            raise TypeError(f"value must be one real number, got a {type(value).__name__} of "
                            f"shape {tuple(value.shape)}")
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"value must be a real number, got {type(given).__name__} ({given!r})")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"value must be a finite number, got {value}: a NaN bias makes every "
                         "output NaN, an infinite one pins the forget gate at 0 or 1")
    dtype = lstm.bias_ih_l0.dtype
    limit = torch.finfo(dtype).max
    if abs(value) > limit:
        raise ValueError(f"value {value:g} overflows this LSTM's dtype {dtype}: its magnitude "
                         f"must be at most torch.finfo({dtype}).max = {limit:g}")
    h = lstm.hidden_size
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            if name.startswith("bias_ih"):
                p[h:2 * h].fill_(value)
            elif name.startswith("bias_hh"):
                p[h:2 * h].zero_()
    return lstm


def init_input_weights(core: nn.RNNBase) -> nn.RNNBase:
    """Redraw the first layer's input weights ``weight_ih_l0`` from U(-sqrt(3/I), sqrt(3/I)),
    I = input_size: variance 1/I, so each gate's input pre-activation has about the scale of
    one input ("LeCun" scaling, ``nn.init.kaiming_uniform_(w, nonlinearity='linear')``).

    PyTorch's default draws every recurrent weight from U(-1/sqrt(H), 1/sqrt(H)), scaled by the
    hidden size H, whatever the number of inputs: with 2 inputs and H = 32 that is a bound of
    0.18 against 1.22 here. In place; returns ``core``."""
    if not isinstance(core, nn.RNNBase):
        raise TypeError(f"expected an nn.RNN, nn.GRU or nn.LSTM, got {type(core).__name__}")
    nn.init.kaiming_uniform_(core.weight_ih_l0, nonlinearity="linear")
    return core


def make_recurrent_regressor(kind: str, hidden_size: int, input_size: int = 2,
                             output_size: int = 1, forget_bias: float | None = None,
                             input_init: str = "default",
                             seed: int | None = None) -> RecurrentRegressor:
    """A :class:`RecurrentRegressor`, drawn from ``torch.manual_seed(seed)`` if a seed is given.

    ``forget_bias`` (LSTM only) sets the forget gate's effective bias after PyTorch's default
    initialisation; ``None`` keeps the default U(-1/sqrt(H), 1/sqrt(H)) draws.
    ``input_init="fan_in"`` redraws the input weights with :func:`init_input_weights`;
    ``"default"`` keeps PyTorch's."""
    kind = _check_kind(kind)
    if forget_bias is not None and kind != "lstm":
        raise ValueError(f"forget_bias applies to an LSTM only, got kind={kind!r}")
    if input_init not in ("default", "fan_in"):
        raise ValueError(f"input_init must be 'default' or 'fan_in', got {input_init!r}")
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int or None, got {type(seed).__name__}")
        torch.manual_seed(seed)
    model = RecurrentRegressor(kind, input_size, hidden_size, output_size)
    if input_init == "fan_in":
        init_input_weights(model.core)
    if forget_bias is not None:
        set_forget_bias(model.core, forget_bias)
    return model


class AddingBatches:
    """Fresh adding-problem batches, ``batches`` of them per pass: a training set for
    ``utils.training.fit`` in which every epoch brings new sequences.

    One seeded generator feeds every pass, so two instances with the same arguments yield the
    same batches in the same order: models trained on them see exactly the same data."""

    def __init__(self, batches: int, batch_size: int, seq_len: int, seed: int):
        self.batches = check_positive_int("batches", batches)
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.seq_len = check_positive_int("seq_len", seq_len)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, got {type(seed).__name__} ({seed!r})")
        if seq_len < 2:  # fail here, not in the first epoch
            raise ValueError(f"seq_len must be >= 2 (one marker in each half), got {seq_len}")
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return self.batches

    def __iter__(self):
        for _ in range(self.batches):
            yield adding_problem(self.batch_size, self.seq_len, generator=self.generator)


def input_gradient_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                         loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
                         | None = None) -> torch.Tensor:
    """The norm of d loss / d x[:, t] for each time step t: a ``(seq_len,)`` tensor.

    ``x`` is ``(batch, seq_len, features)``; the loss (MSE by default) is computed on the whole
    batch, and the norm at step t runs over the batch and the features. Only ``x`` receives a
    gradient: the model's ``.grad`` fields are left untouched.

    The norm is taken in float64 (and returned as float64): a float32 norm squares its entries
    first, and the squares of gradients below about 1e-19 underflow to 0, so the vanishing
    gradient of early steps would read exactly 0."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if not isinstance(x, torch.Tensor) or x.dim() != 3:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be a 3-D tensor (batch, seq_len, features), got {shape}")
    _check_sequence(x, x.shape[-1])
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"y must be a torch.Tensor, got {type(y).__name__}")
    loss_fn = nn.functional.mse_loss if loss_fn is None else loss_fn
    x = x.detach().clone().requires_grad_(True)
    prediction = model(x)
    if prediction.shape != y.shape:
        raise ValueError(f"the model's prediction has shape {tuple(prediction.shape)} but y has "
                         f"shape {tuple(y.shape)}; they must match")
    (grad,) = torch.autograd.grad(loss_fn(prediction, y), x)
    return grad.detach().to(torch.float64).norm(dim=(0, 2))


def lstm_gates(lstm: nn.LSTM, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Gates and states of a one-layer, unidirectional ``nn.LSTM`` over ``x``, from its weights.

    Returns ``i, f, g, o`` (the input, forget, candidate and output gates), ``c`` and ``h``,
    starting from zero states:
    ``i, f, o = sigmoid(.)``, ``g = tanh(.)`` of ``x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh``
    split in that order; ``c_t = f * c_{t-1} + i * g``; ``h_t = o * tanh(c_t)``.
    ``x`` is read, and every result laid out, as the LSTM itself does: ``(batch, seq_len, .)``
    when ``batch_first=True``, ``(seq_len, batch, .)`` otherwise; so ``h`` equals the LSTM's
    own ``output``."""
    if not isinstance(lstm, nn.LSTM):
        raise TypeError(f"expected an nn.LSTM, got {type(lstm).__name__}")
    if lstm.num_layers != 1 or lstm.bidirectional or lstm.proj_size:
        raise ValueError(f"expected a one-layer unidirectional LSTM without proj_size, got "
                         f"num_layers={lstm.num_layers}, bidirectional={lstm.bidirectional}, "
                         f"proj_size={lstm.proj_size}")
    _check_sequence(x, lstm.input_size, batch_first=lstm.batch_first)
    w_ih, w_hh = lstm.weight_ih_l0, lstm.weight_hh_l0
    if x.dtype != w_ih.dtype:
        raise TypeError(f"x has dtype {x.dtype} but the LSTM's weights have dtype {w_ih.dtype}; "
                        f"convert one, e.g. x.to({w_ih.dtype})")
    bad = int((~torch.isfinite(x)).sum())
    if bad:
        raise ValueError(f"x must be finite, got {bad} NaN or infinite value(s) out of "
                         f"{x.numel()}: every gate after them would be NaN")
    time_dim = 1 if lstm.batch_first else 0
    bias = lstm.bias_ih_l0 + lstm.bias_hh_l0 if lstm.bias else 0.0
    x = x if lstm.batch_first else x.transpose(0, 1)   # computed batch-first below
    batch, seq_len, _ = x.shape
    h = x.new_zeros(batch, lstm.hidden_size)
    c = x.new_zeros(batch, lstm.hidden_size)
    steps = {name: [] for name in "ifgoch"}
    with torch.no_grad():
        from_inputs = x @ w_ih.T + bias          # all steps at once: (batch, seq_len, 4H)
        for t in range(seq_len):
            i, f, g, o = (from_inputs[:, t] + h @ w_hh.T).chunk(4, dim=1)
            i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
            c = f * c + i * g
            h = o * c.tanh()
            for name, value in zip("ifgoch", (i, f, g, o, c, h), strict=True):
                steps[name].append(value)
    return {name: torch.stack(values, dim=time_dim) for name, values in steps.items()}


def forget_gate_activations(lstm: nn.LSTM, x: torch.Tensor) -> torch.Tensor:
    """The forget gate f_t of a one-layer LSTM over ``x``: ``(batch, seq_len, hidden_size)``,
    or ``(seq_len, batch, hidden_size)`` for an LSTM with ``batch_first=False``."""
    return lstm_gates(lstm, x)["f"]

"""Notebook 14's helpers: LSTM loops from slow to fast, a hand-written backward, benchmarks.

Every function here runs one LSTM layer over a time-major sequence ``x`` ``(T, B, I)`` with
``nn.LSTM``'s weights (gate blocks i, f, g, o) from zero state and returns the outputs
``(T, B, H)``. They differ only in *how*: a Python loop over ``nn.LSTMCell`` or over the
course's scratch step, the input projection hoisted out of the loop, fewer and larger gate
kernels, the loop compiled by TorchScript, and :class:`HandLSTMFunction`, whose backward pass
is back-propagation through time written out by hand.
"""

from __future__ import annotations

import statistics
import warnings

import torch
from torch import Tensor, nn
from torch.utils import benchmark

from .models import lstm_step

__all__ = ["lstm_weights", "cell_loop", "scratch_loop", "hoisted_loop", "fused_gates_loop",
           "scripted_loop", "hand_lstm", "HandLSTMFunction", "lstm_backward", "time_call",
           "median_ms", "compare_ms", "fit_slope", "check_sequence"]


def check_sequence(x: object, input_size: int | None = None) -> Tensor:
    """Return ``x`` if it is a floating ``(T, B, I)`` tensor (``I == input_size`` if given)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"x must be a torch.Tensor of shape (T, B, I), got {type(x).__name__}")
    if x.dim() != 3:
        raise ValueError(f"x must be time-major (T, B, I), got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating tensor (float32 or float64), got {x.dtype}")
    if input_size is not None and x.shape[-1] != input_size:
        raise ValueError(f"x must be (T, B, {input_size}) for this LSTM, got {tuple(x.shape)}")
    return x


def lstm_weights(lstm: nn.Module) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``(weight_ih, weight_hh, bias_ih, bias_hh)`` of a one-layer, one-direction ``nn.LSTM``
    (or ``nn.LSTMCell``), the tensors themselves, so gradients reach the module."""
    if not isinstance(lstm, (nn.LSTM, nn.LSTMCell)):
        raise TypeError(f"expected an nn.LSTM or nn.LSTMCell, got {type(lstm).__name__}")
    suffix = "_l0" if isinstance(lstm, nn.LSTM) else ""
    if isinstance(lstm, nn.LSTM) and (lstm.num_layers, lstm.bidirectional, lstm.proj_size,
                                      lstm.batch_first, lstm.bias) != (1, False, 0, False, True):
        raise ValueError("expected nn.LSTM(I, H) with one layer, one direction, biases, no "
                         f"proj_size, time-major; got {lstm}")
    return tuple(getattr(lstm, f"{name}{suffix}")
                 for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))


def _unpack(weights: object, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    if not (isinstance(weights, (tuple, list)) and len(weights) == 4
            and all(isinstance(w, Tensor) for w in weights)):
        raise TypeError("weights must be a tuple (weight_ih, weight_hh, bias_ih, bias_hh) of "
                        f"tensors (see lstm_weights), got {type(weights).__name__}")
    w_ih, w_hh, b_ih, b_hh = weights
    if w_ih.dim() == 2 and x.shape[-1] != w_ih.shape[1]:
        raise ValueError(f"x must be (T, B, {w_ih.shape[1]}) for these weights (time-major), "
                         f"got {tuple(x.shape)}")
    hidden = w_hh.shape[1]
    expected = [(4 * hidden, x.shape[-1]), (4 * hidden, hidden), (4 * hidden,), (4 * hidden,)]
    received = [tuple(w.shape) for w in weights]
    if received != expected:
        raise ValueError(f"weights for input size {x.shape[-1]} must have shapes {expected}, "
                         f"got {received}")
    return w_ih, w_hh, b_ih, b_hh


def cell_loop(cell: nn.LSTMCell, x: Tensor) -> Tensor:
    """A Python loop over ``nn.LSTMCell``: one call, hence one input projection, per step."""
    if not isinstance(cell, nn.LSTMCell):
        raise TypeError(f"cell must be an nn.LSTMCell, got {type(cell).__name__}")
    check_sequence(x, cell.input_size)
    h = c = x.new_zeros(x.shape[1], cell.hidden_size)
    outputs = []
    for x_t in x:
        h, c = cell(x_t, (h, c))
        outputs.append(h)
    return torch.stack(outputs)


def scratch_loop(weights: tuple, x: Tensor) -> Tensor:
    """A Python loop over the course's scratch step ``utils.models.lstm_step``."""
    w_ih, w_hh, b_ih, b_hh = _unpack(weights, check_sequence(x))
    h = c = x.new_zeros(x.shape[1], w_hh.shape[1])
    outputs = []
    for x_t in x:
        h, c = lstm_step(x_t, h, c, w_ih, w_hh, b_ih, b_hh)
        outputs.append(h)
    return torch.stack(outputs)


def hoisted_loop(weights: tuple, x: Tensor) -> Tensor:
    """The scratch loop with the input projection of *all* steps done first, in one matmul:
    only ``h @ W_hh^T`` is left inside the loop, because only it depends on the last step."""
    w_ih, w_hh, b_ih, b_hh = _unpack(weights, check_sequence(x))
    x_proj = torch.addmm(b_ih + b_hh, x.flatten(0, 1), w_ih.T).view(*x.shape[:2], -1)
    h = c = x.new_zeros(x.shape[1], w_hh.shape[1])
    outputs = []
    for xp_t in x_proj:
        i, f, g, o = (xp_t + h @ w_hh.T).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        outputs.append(h)
    return torch.stack(outputs)


def fused_gates_loop(weights: tuple, x: Tensor) -> Tensor:
    """:func:`hoisted_loop` with fewer, larger kernels per step: ``addmm`` adds the projection
    inside the matmul, one ``sigmoid`` covers all four gate blocks (g's is then unused), and
    ``addcmul`` does ``f * c + i * g`` in one call: 7 kernels a step instead of 13."""
    w_ih, w_hh, b_ih, b_hh = _unpack(weights, check_sequence(x))
    x_proj = torch.addmm(b_ih + b_hh, x.flatten(0, 1), w_ih.T).view(*x.shape[:2], -1)
    hidden = w_hh.shape[1]
    w_hh_t = w_hh.T
    h = c = x.new_zeros(x.shape[1], hidden)
    outputs = []
    for xp_t in x_proj:
        gates = torch.addmm(xp_t, h, w_hh_t)
        s = torch.sigmoid(gates)
        g = torch.tanh(gates[:, 2 * hidden:3 * hidden])
        c = torch.addcmul(s[:, hidden:2 * hidden] * c, s[:, :hidden], g)
        h = s[:, 3 * hidden:] * torch.tanh(c)
        outputs.append(h)
    return torch.stack(outputs)


def _script(function):
    """``torch.jit.script``, whose DeprecationWarning (2.13) notebook 14 shows once itself."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.jit.script(function)


def _forward_steps(x_proj: Tensor, w_hh_t: Tensor, save: bool) -> list[Tensor]:
    """The loop of :func:`fused_gates_loop` after the projection: returns ``[hs]``, or with
    ``save`` ``[hs, cs, acts]``: every ``c_t`` (``c_0 = 0`` first) and the activated gates."""
    steps, batch, hidden = x_proj.shape[0], x_proj.shape[1], w_hh_t.shape[0]
    hs = x_proj.new_empty(steps, batch, hidden)
    cs = x_proj.new_zeros(steps + 1, batch, hidden)
    acts = x_proj.new_empty(steps if save else 0, batch, 4 * hidden)
    h = x_proj.new_zeros(batch, hidden)
    c = x_proj.new_zeros(batch, hidden)
    for t in range(steps):
        gates = torch.addmm(x_proj[t], h, w_hh_t)
        s = torch.sigmoid(gates)
        g = torch.tanh(gates[:, 2 * hidden:3 * hidden])
        c = torch.addcmul(s[:, hidden:2 * hidden] * c, s[:, :hidden], g)
        h = s[:, 3 * hidden:] * torch.tanh(c)
        hs[t] = h
        if save:
            cs[t + 1] = c
            acts[t] = s
            acts[t, :, 2 * hidden:3 * hidden] = g
    return [hs, cs, acts] if save else [hs]


def _backward_steps(grad_hs: Tensor, cs: Tensor, acts: Tensor, w_hh: Tensor) -> Tensor:
    """BPTT through the saved steps, last to first; returns ∂loss/∂gates (pre-activation),
    ``(T, B, 4H)``. Per step, with ``dh`` = the output's gradient + what step t+1 sent back:

    ``do = dh * tanh(c_t)``, ``dc = dc_next + dh * o * (1 - tanh(c_t)^2)``,
    ``di = dc * g``, ``df = dc * c_(t-1)``, ``dg = dc * i``, ``dc_next = dc * f``;
    through the activations ``d(i, f, o)_pre = d * s * (1 - s)``, ``dg_pre = dg * (1 - g^2)``;
    and ``dh_next = dgates_pre @ W_hh`` carries the rest to step t-1."""
    steps, batch, hidden = grad_hs.shape[0], grad_hs.shape[1], w_hh.shape[1]
    d_gates = grad_hs.new_empty(steps, batch, 4 * hidden)
    dh_next = grad_hs.new_zeros(batch, hidden)
    dc_next = grad_hs.new_zeros(batch, hidden)
    for t in range(steps - 1, -1, -1):
        a = acts[t]
        i, f, g, o = a[:, :hidden], a[:, hidden:2 * hidden], a[:, 2 * hidden:3 * hidden], \
            a[:, 3 * hidden:]
        tanh_c = torch.tanh(cs[t + 1])
        dh = grad_hs[t] + dh_next
        dc = dc_next + dh * o * (1 - tanh_c * tanh_c)
        d_act = torch.cat([dc * g, dc * cs[t], dc * i, dh * tanh_c], dim=1)   # di df dg do
        # sigmoid' = s (1 - s) for i, f, o; tanh' = 1 - g^2 for g
        slope = a * (1 - a)
        slope[:, 2 * hidden:3 * hidden] = 1 - g * g
        d_pre = d_act * slope
        d_gates[t] = d_pre
        dh_next = d_pre @ w_hh
        dc_next = dc * f
    return d_gates


_forward_steps_scripted = _script(_forward_steps)
_backward_steps_scripted = _script(_backward_steps)


def _forward_only_steps(x_proj: Tensor, w_hh_t: Tensor) -> Tensor:
    """The forward loop with the gate columns in the order i, f, o, g (see
    :func:`scripted_loop`), every operation in place: the recurrent matmul accumulates into
    the step's own projection (``addmm_``, no copy of it), one ``sigmoid_`` covers the 3H
    columns of i, f and o, and ``h`` is written straight into the output."""
    steps, batch, hidden = x_proj.shape[0], x_proj.shape[1], w_hh_t.shape[0]
    hs = x_proj.new_empty(steps, batch, hidden)
    h = x_proj.new_zeros(batch, hidden)
    c = x_proj.new_zeros(batch, hidden)
    for t in range(steps):
        ifo, g = x_proj[t].addmm_(h, w_hh_t).split([3 * hidden, hidden], 1)
        i, f, o = ifo.sigmoid_().chunk(3, 1)
        c = c.mul_(f).addcmul_(i, g.tanh_())
        h = torch.tanh(c, out=hs[t]).mul_(o)
    return hs


_forward_only_scripted = _script(_forward_only_steps)
_IFOG = [0, 1, 3, 2]          # gate blocks i, f, g, o -> i, f, o, g


def scripted_loop(weights: tuple, x: Tensor) -> Tensor:
    """:func:`fused_gates_loop` with the loop compiled by TorchScript, so no Python runs per
    step, and the gate blocks reordered to i, f, o, g so that the three sigmoids are one call
    on adjacent columns, done in place. The bias rides in the projection's matmul as one more
    input column of ones (``[x, 1] @ [W_ih, b]ᵀ``), which spares a pass over the (T·B, 4H)
    result. Forward only (it writes into its intermediates)."""
    w_ih, w_hh, b_ih, b_hh = _unpack(weights, check_sequence(x))
    hidden = w_hh.shape[1]
    order = torch.arange(4 * hidden, device=x.device).view(4, hidden)[_IFOG].flatten()
    x_with_ones = torch.cat([x, x.new_ones(*x.shape[:2], 1)], dim=2).flatten(0, 1)
    w_with_bias = torch.cat([w_ih, (b_ih + b_hh)[:, None]], dim=1)[order]
    x_proj = torch.mm(x_with_ones, w_with_bias.T)
    return _forward_only_scripted(x_proj.view(*x.shape[:2], -1), w_hh[order].T)


def lstm_backward(grad_hs: Tensor, x: Tensor, cs: Tensor, hs: Tensor, acts: Tensor,
                  w_ih: Tensor, w_hh: Tensor, scripted: bool = True):
    """All gradients of one LSTM layer from the output gradient ``grad_hs`` ``(T, B, H)``:
    returns ``(dx, dW_ih, dW_hh, db)``. Only the recurrence is a loop; the weight gradients
    are then one matmul each over all steps, the mirror image of hoisting the projection."""
    steps = _backward_steps_scripted if scripted else _backward_steps
    d_gates = steps(grad_hs.contiguous(), cs, acts, w_hh)            # (T, B, 4H)
    flat = d_gates.flatten(0, 1)                                       # (T*B, 4H)
    h_prev = torch.cat([hs.new_zeros(1, *hs.shape[1:]), hs[:-1]]).flatten(0, 1)
    dx = (flat @ w_ih).view_as(x)
    return dx, flat.T @ x.flatten(0, 1), flat.T @ h_prev, flat.sum(0)


class HandLSTMFunction(torch.autograd.Function):
    """One LSTM layer whose backward pass is written out (no autograd inside).

    ``forward`` runs the scripted fused loop once and saves what backward needs: every
    ``c_t`` and the activated gates; ``backward`` is :func:`lstm_backward`."""

    @staticmethod
    def forward(ctx, x, w_ih, w_hh, b_ih, b_hh, scripted=True):
        x_proj = torch.addmm(b_ih + b_hh, x.flatten(0, 1), w_ih.T).view(*x.shape[:2], -1)
        steps = _forward_steps_scripted if scripted else _forward_steps
        hs, cs, acts = steps(x_proj, w_hh.T.contiguous(), True)
        ctx.save_for_backward(x, w_ih, w_hh, hs, cs, acts)
        ctx.scripted = scripted
        return hs

    @staticmethod
    def backward(ctx, grad_hs):
        x, w_ih, w_hh, hs, cs, acts = ctx.saved_tensors
        dx, dw_ih, dw_hh, db = lstm_backward(grad_hs, x, cs, hs, acts, w_ih, w_hh,
                                             ctx.scripted)
        return dx, dw_ih, dw_hh, db, db, None


def hand_lstm(weights: tuple, x: Tensor, scripted: bool = True) -> Tensor:
    """One LSTM layer through :class:`HandLSTMFunction` (hand-written BPTT)."""
    w_ih, w_hh, b_ih, b_hh = _unpack(weights, check_sequence(x))
    return HandLSTMFunction.apply(x, w_ih, w_hh, b_ih, b_hh, scripted)


def time_call(fn, *args, label: str = "", min_run_time: float = 0.3,
              backward: bool = False) -> benchmark.Measurement:
    """``torch.utils.benchmark.Timer(...).blocked_autorange(min_run_time=...)`` of
    ``fn(*args)`` (with ``backward``: ``fn(*args).sum().backward()``). The Timer runs at the
    current ``torch.get_num_threads()``; read the median with :func:`median_ms`."""
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if isinstance(min_run_time, bool) or not isinstance(min_run_time, (int, float)) \
            or not 0 < min_run_time <= 10:
        raise ValueError(f"min_run_time must be a number of seconds in (0, 10], got "
                         f"{min_run_time!r}")
    statement = "fn(*args).sum().backward()" if backward else "fn(*args)"
    timer = benchmark.Timer(stmt=statement, globals={"fn": fn, "args": args},
                            num_threads=torch.get_num_threads(), label=label,
                            description=label)
    return timer.blocked_autorange(min_run_time=min_run_time)


def median_ms(measurement: benchmark.Measurement) -> float:
    """The median time of one run, in milliseconds."""
    if not isinstance(measurement, benchmark.Measurement):
        raise TypeError(f"expected a torch.utils.benchmark Measurement, got "
                        f"{type(measurement).__name__}")
    return measurement.median * 1e3


def fit_slope(sizes, times) -> tuple[float, float]:
    """Least-squares line ``time = slope * size + intercept``; returns ``(slope, intercept)``."""
    sizes, times = [float(s) for s in sizes], [float(t) for t in times]
    if len(sizes) != len(times) or len(sizes) < 2:
        raise ValueError(f"need at least two (size, time) pairs of equal length, got "
                         f"{len(sizes)} sizes and {len(times)} times")
    slope, intercept = statistics.linear_regression(sizes, times)
    return slope, intercept


def compare_ms(calls: dict, rounds: int = 2, min_run_time: float = 0.25,
               backward: bool = False) -> dict[str, float]:
    """Median milliseconds of each ``name -> (fn, *args)`` in ``calls``, measured in
    ``rounds`` interleaved rounds (A, B, A, B, ...) and the median of the rounds' medians
    kept: on a shared machine a burst of load then hits every candidate, not just one."""
    if not isinstance(calls, dict) or not calls:
        raise ValueError(f"calls must be a non-empty dict name -> (fn, *args), got {calls!r}")
    if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
        raise ValueError(f"rounds must be an int >= 1, got {rounds!r}")
    medians: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, (fn, *args) in calls.items():
            medians[name].append(median_ms(time_call(fn, *args, label=name,
                                                     min_run_time=min_run_time,
                                                     backward=backward)))
    return {name: statistics.median(values) for name, values in medians.items()}

"""Named initialisation schemes for any ``nn.LSTM``, and what they do to the gates.

``init_lstm(lstm, scheme)`` re-initialises every layer and direction of an LSTM in place:

- ``"default"``            PyTorch's own: every weight and bias from U(-1/sqrt(H), 1/sqrt(H));
- ``"xavier_orthogonal"``  Xavier-uniform input weights, an orthogonal matrix for *each gate
                           block* of the recurrent weights, zero biases;
- ``"forget_bias_1"``      ``xavier_orthogonal`` plus a forget-gate bias of 1, written into
                           ``bias_ih`` only, so that the bias the gate sees is exactly 1;
- ``"chrono"``             ``xavier_orthogonal`` plus the chrono initialisation of Tallec &
                           Ollivier (2018): forget bias log(U(1, t_max - 1)), input bias its
                           negative, for dependencies up to about ``t_max`` steps.

``gate_activations`` re-runs an LSTM step by step in plain tensor operations and returns
its output with the four gates of every step; ``saturation_stats`` counts how many gate
values sit in the flat tails of their sigmoid (or tanh), where gradients vanish.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["SCHEMES", "GATES", "init_lstm", "gate_slice", "effective_bias",
           "gate_activations", "saturation_stats", "adding_model", "train_on_adding"]

SCHEMES = ("default", "xavier_orthogonal", "forget_bias_1", "chrono")
GATES = ("i", "f", "g", "o")  # the order of the four blocks in every weight and bias


def _check_lstm(lstm: object) -> nn.LSTM:
    if not isinstance(lstm, nn.LSTM):
        raise TypeError(f"expected a torch.nn.LSTM, got {type(lstm).__name__}")
    return lstm


def gate_slice(gate: str, hidden_size: int) -> slice:
    """The rows of ``weight_ih``/``weight_hh``/biases that belong to ``gate`` (i, f, g or o)."""
    if gate not in GATES:
        raise ValueError(f"gate must be one of {GATES}, got {gate!r}")
    k = GATES.index(gate)
    return slice(k * hidden_size, (k + 1) * hidden_size)


def _suffixes(lstm: nn.LSTM) -> list[str]:
    """'_l0', '_l0_reverse', '_l1', ... : one per layer and direction, in registration order."""
    directions = ("", "_reverse") if lstm.bidirectional else ("",)
    return [f"_l{layer}{d}" for layer in range(lstm.num_layers) for d in directions]


def effective_bias(lstm: nn.LSTM, gate: str, suffix: str = "_l0") -> torch.Tensor:
    """``bias_ih + bias_hh`` for one gate: the bias the gate really sees (zeros if bias=False)."""
    _check_lstm(lstm)
    if suffix not in _suffixes(lstm):
        raise ValueError(f"suffix must be one of {_suffixes(lstm)}, got {suffix!r}")
    rows = gate_slice(gate, lstm.hidden_size)
    if not lstm.bias:
        return torch.zeros(lstm.hidden_size)
    return (getattr(lstm, f"bias_ih{suffix}")[rows]
            + getattr(lstm, f"bias_hh{suffix}")[rows]).detach()


@torch.no_grad()
def init_lstm(lstm: nn.LSTM, scheme: str = "xavier_orthogonal", *, t_max: int | None = None,
              generator: torch.Generator | None = None) -> nn.LSTM:
    """Re-initialise ``lstm`` in place with a named scheme (see the module docstring).

    Every layer and direction is treated alike. Draws come from ``generator`` if given,
    else from the global generator, so ``torch.manual_seed`` makes the result reproducible.
    ``"default"`` without a generator is bit for bit ``lstm.reset_parameters()``.
    ``t_max`` (an int > 2) is needed by ``"chrono"`` and by no other scheme.
    Returns ``lstm``.
    """
    _check_lstm(lstm)
    if not isinstance(scheme, str):
        raise TypeError(f"scheme must be a str, one of {SCHEMES}, got {type(scheme).__name__}")
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; known schemes: {', '.join(SCHEMES)}")
    if scheme == "chrono":
        if isinstance(t_max, bool) or not isinstance(t_max, int) or t_max <= 2:
            raise ValueError(f"scheme 'chrono' needs t_max, an int > 2 (the longest "
                             f"dependency in steps), got {t_max!r}")
    elif t_max is not None:
        raise ValueError(f"t_max is used only by scheme 'chrono', got t_max={t_max!r} "
                         f"with scheme {scheme!r}")
    if scheme in ("forget_bias_1", "chrono") and not lstm.bias:
        raise ValueError(f"scheme {scheme!r} sets a gate bias, but this LSTM has bias=False")

    H = lstm.hidden_size
    if scheme == "default":
        k = 1 / math.sqrt(H)
        for p in lstm.parameters():  # registration order, as reset_parameters does
            nn.init.uniform_(p, -k, k, generator=generator)
        return lstm
    for s in _suffixes(lstm):
        nn.init.xavier_uniform_(getattr(lstm, f"weight_ih{s}"), generator=generator)
        weight_hh = getattr(lstm, f"weight_hh{s}")
        for gate in GATES:  # each (H, H) block its own orthogonal matrix
            nn.init.orthogonal_(weight_hh[gate_slice(gate, H)], generator=generator)
        if lstm.proj_size > 0:  # (P, H) with P < H: orthonormal rows
            nn.init.orthogonal_(getattr(lstm, f"weight_hr{s}"), generator=generator)
        if lstm.bias:
            bias_ih, bias_hh = getattr(lstm, f"bias_ih{s}"), getattr(lstm, f"bias_hh{s}")
            bias_ih.zero_()
            bias_hh.zero_()
            if scheme == "forget_bias_1":
                bias_ih[gate_slice("f", H)] = 1.0  # bias_hh stays 0: the sum is exactly 1
            elif scheme == "chrono":
                u = torch.empty(H).uniform_(1.0, t_max - 1.0, generator=generator)
                bias_ih[gate_slice("f", H)] = torch.log(u)
                bias_ih[gate_slice("i", H)] = -torch.log(u)
    return lstm


def _check_input(lstm: nn.LSTM, x: object) -> tuple[torch.Tensor, bool]:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    layout = "(batch, seq_len, input_size)" if lstm.batch_first else \
        "(seq_len, batch, input_size)"
    if x.dim() not in (2, 3) or x.shape[-1] != lstm.input_size or x.numel() == 0:
        raise ValueError(f"x must be {layout} or unbatched (seq_len, input_size) with "
                         f"input_size={lstm.input_size}, got shape {tuple(x.shape)}")
    unbatched = x.dim() == 2
    x = x.unsqueeze(1) if unbatched else (x.transpose(0, 1) if lstm.batch_first else x)
    return x, unbatched


@torch.no_grad()
def gate_activations(lstm: nn.LSTM,
                     x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Run ``lstm`` on ``x`` from zero states, step by step, recording every gate.

    Returns ``(output, gates)``: ``output`` equals ``lstm(x)[0]`` (eval mode: no dropout),
    and ``gates[name]`` for ``name`` in i, f, g, o has shape
    ``(num_layers * num_directions, seq_len, batch, hidden_size)``, in the order of ``h_n``.
    """
    _check_lstm(lstm)
    seq, unbatched = _check_input(lstm, x)               # (T, B, I)
    T, B, H = seq.shape[0], seq.shape[1], lstm.hidden_size
    out_size = lstm.proj_size or H
    gates = {name: [] for name in GATES}
    layer_input = seq
    for layer in range(lstm.num_layers):
        directions = []
        for reverse in ((False, True) if lstm.bidirectional else (False,)):
            s = f"_l{layer}" + ("_reverse" if reverse else "")
            w_ih, w_hh = getattr(lstm, f"weight_ih{s}"), getattr(lstm, f"weight_hh{s}")
            bias = (getattr(lstm, f"bias_ih{s}") + getattr(lstm, f"bias_hh{s}")
                    if lstm.bias else torch.zeros(4 * H, dtype=seq.dtype))
            h, c = seq.new_zeros(B, out_size), seq.new_zeros(B, H)
            steps, record = [None] * T, {name: [None] * T for name in GATES}
            for t in (reversed(range(T)) if reverse else range(T)):
                z = layer_input[t] @ w_ih.T + h @ w_hh.T + bias
                i, f, g, o = z.chunk(4, dim=1)
                i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
                c = f * c + i * g
                h = o * c.tanh()
                if lstm.proj_size:
                    h = h @ getattr(lstm, f"weight_hr{s}").T
                steps[t] = h
                for name, value in zip(GATES, (i, f, g, o), strict=True):
                    record[name][t] = value
            directions.append(torch.stack(steps))
            for name in GATES:
                gates[name].append(torch.stack(record[name]))
        layer_input = torch.cat(directions, dim=2)
    output = layer_input
    output = output.squeeze(1) if unbatched else (output.transpose(0, 1)
                                                  if lstm.batch_first else output)
    return output, {name: torch.stack(values) for name, values in gates.items()}


def saturation_stats(gates: dict[str, torch.Tensor], low: float = 0.05,
                     high: float = 0.95) -> dict[str, dict[str, float]]:
    """For each gate: the fraction of values below ``low``, above ``high``, and their sum.

    i, f and o are sigmoids in (0, 1). g is a tanh in (-1, 1), and tanh(x) = 2 sigmoid(2x) - 1,
    so g is mapped to (g + 1) / 2 first: the same thresholds then mark the same flat tails
    (|g| > 0.9 for 0.05 and 0.95).
    """
    if not isinstance(gates, dict) or set(gates) != set(GATES):
        got = sorted(gates) if isinstance(gates, dict) else type(gates).__name__
        raise ValueError(f"gates must be a dict with keys {GATES}, got {got}")
    if not 0 < low < high < 1:
        raise ValueError(f"need 0 < low < high < 1, got low={low}, high={high}")
    stats = {}
    for name in GATES:
        values = gates[name].detach().float()
        values = (values + 1) / 2 if name == "g" else values
        below = (values < low).float().mean().item()
        above = (values > high).float().mean().item()
        stats[name] = {"low": below, "high": above, "saturated": below + above}
    return stats


def _check_training_args(**sizes: int) -> None:
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")


def adding_model(scheme: str, seed: int, seq_len: int = 30, hidden_size: int = 16,
                 t_max: int | None = None) -> tuple[nn.LSTM, nn.Linear]:
    """``nn.LSTM(2, hidden_size, batch_first=True)`` initialised with ``scheme``, and a
    ``nn.Linear(hidden_size, 1)`` head whose weights depend on ``seed`` only: the LSTM draws
    its scheme from its own generator, so every scheme gets the same head for one seed.
    ``"chrono"`` uses ``t_max=seq_len`` unless told otherwise. The caller's global generator
    is left as it was."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32 - 10_000:
        raise ValueError(f"seed must be an int in [0, 2**32 - 10000), got {seed!r}")
    _check_training_args(seq_len=seq_len, hidden_size=hidden_size)
    with torch.random.fork_rng(devices=[]):  # leaves the caller's global generator alone
        torch.manual_seed(seed)
        lstm = nn.LSTM(2, hidden_size, batch_first=True)
        head = nn.Linear(hidden_size, 1)
    t_max = (seq_len if t_max is None else t_max) if scheme == "chrono" else None
    init_lstm(lstm, scheme, t_max=t_max, generator=torch.Generator().manual_seed(seed + 10_000))
    return lstm, head


def train_on_adding(scheme: str, seed: int, *, seq_len: int = 30, hidden_size: int = 16,
                    steps: int = 300, batch: int = 32, lr: float = 1e-2,
                    test_size: int = 1000, t_max: int | None = None) -> dict[str, object]:
    """Train :func:`adding_model` with Adam on the adding problem; the same budget for all.

    For a given ``seed`` everything but the LSTM's initialisation is shared between schemes:
    the head's initial weights, the training batches (a fresh batch per step, drawn from
    ``seed``) and the held-out test set (its own seed, the same for every run). Returns the
    training loss of each step (each on a batch the model had not seen yet) and the MSE on
    the held-out test set at the end.
    """
    _check_training_args(steps=steps, batch=batch, test_size=test_size)
    from .data import adding_problem  # local: keeps this module importable on its own

    lstm, head = adding_model(scheme, seed, seq_len, hidden_size, t_max)
    # fused=True: the same Adam update in one kernel, a few times faster for small models
    optimizer = torch.optim.Adam([*lstm.parameters(), *head.parameters()], lr=lr, fused=True)
    x_train, y_train = adding_problem(steps * batch, seq_len, seed=seed)  # one fresh batch a step
    x_train, y_train = x_train.split(batch), y_train.split(batch)
    losses = []
    for x, y in zip(x_train, y_train, strict=True):
        loss = nn.functional.mse_loss(head(lstm(x)[0][:, -1]), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    x_test, y_test = adding_problem(test_size, seq_len, seed=2**31 - 1)
    with torch.no_grad():
        test_mse = nn.functional.mse_loss(head(lstm(x_test)[0][:, -1]), y_test).item()
    return {"scheme": scheme, "seed": seed, "losses": losses, "test_mse": test_mse}

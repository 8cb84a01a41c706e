"""Notebook 17's regularisers for an LSTM language model, each a few lines, and the run that
compares them (the recipe of AWD-LSTM: Merity, Keskar & Socher, "Regularizing and Optimizing
LSTM Language Models", arXiv:1708.02182, 2017; ICLR 2018). Its optimiser NT-ASGD and its
variable-length BPTT are not here.

- :func:`locked_dropout` - one dropout mask per sequence and feature, shared by every time step
  (Gal & Ghahramani's variational dropout); ``nn.Dropout`` draws a new mask at every step.
- :func:`embedding_dropout` - whole tokens dropped: rows of the embedding matrix zeroed, so a
  dropped character is a zero vector wherever it occurs in the batch.
- :func:`drop_connect` - DropConnect (Wan et al., 2013): single entries of a weight matrix
  zeroed, the rest scaled by ``1 / (1 - p)``; outside training the full weight, unscaled.
- :func:`weight_dropped_lstm` - an ``nn.LSTM`` run with every ``weight_hh_l{k}`` replaced by a
  DropConnect copy through ``torch.func.functional_call``: one dropped matrix for every step of
  the call, the module and its ``state_dict`` untouched.
- :func:`state_dropout_lstm` - a one-layer ``nn.LSTM`` stepped in Python with dropout on
  ``h_{t-1}`` where it enters the recurrence: a new mask at every step (``"per_step"``) or one
  per sequence (``"locked"``).
- :func:`ar_tar` - activation regularisation (the dropped outputs' mean square) and temporal
  activation regularisation (the mean square of the raw outputs' step-to-step change).
- :class:`Recipe`, :class:`RegularisedCharLSTM`, :func:`train_run` and :func:`ablation_rows` -
  which techniques are on, the model that applies them, one seeded run of a fixed number of
  steps with its curves, and the table of runs against the baseline, seed by seed, on the
  validation and the test text.
- :func:`t_quantile` and :func:`paired_interval` - Student's t quantile (no SciPy needed) and
  the t interval of the mean of paired changes.
"""

from __future__ import annotations

import copy
import functools
import math
import numbers
import statistics
import time
from dataclasses import dataclass, field, fields

import torch
from torch import nn
from torch.func import functional_call
from torch.nn import functional as F

from .language_model import detach_state, nats_per_char
from .text import StreamBatches
from .training import check_int

__all__ = ["locked_dropout", "embedding_dropout", "drop_connect", "weight_dropped_lstm",
           "state_dropout_lstm", "ar_tar", "Recipe", "Outputs", "RegularisedCharLSTM", "Run",
           "train_run", "ablation_rows", "t_quantile", "paired_interval", "STATE_MASKS",
           "VERDICTS"]

STATE_MASKS = ("per_step", "locked")
VERDICTS = ("helps", "hurts", "unclear", "chosen", "baseline")


# ----------------------------------------------------------------------------- checks

def _check_p(p: object, name: str = "p") -> float:
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(f"{name} must be a number in [0, 1), got {type(p).__name__} ({p!r})")
    if not 0 <= p < 1:
        raise ValueError(f"{name} must be in [0, 1) (the probability of dropping), got {p}")
    return float(p)


def _check_bool(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def _check_float_tensor(x: object, name: str, dims: int | None, shape: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a float tensor of shape {shape}, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be floating point, got dtype {x.dtype}")
    if dims is not None and x.dim() != dims:
        raise ValueError(f"{name} must have shape {shape}, got {tuple(x.shape)}")
    return x


def _check_generator(generator: object) -> None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, "
                        f"got {type(generator).__name__}")


def _keep_mask(like: torch.Tensor, shape: tuple[int, ...], p: float,
               generator: torch.Generator | None) -> torch.Tensor:
    """A mask of ``shape``: 0 with probability ``p``, else ``1 / (1 - p)`` (inverted dropout)."""
    keep = torch.empty(shape, dtype=like.dtype, device=like.device)
    return keep.bernoulli_(1 - p, generator=generator).div_(1 - p)


# ----------------------------------------------------------------------------- the regularisers

def locked_dropout(x: torch.Tensor, p: float, training: bool = True,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Dropout with one mask per sequence and feature, the same at every time step.

    ``x`` is ``(batch, seq_len, features)``; the mask is ``(batch, 1, features)``, broadcast over
    time: a feature dropped at one step is dropped at every step of that sequence. Kept values
    are scaled by ``1 / (1 - p)``; outside training (or with ``p = 0``) ``x`` is returned."""
    x = _check_float_tensor(x, "x", 3, "(batch, seq_len, features)")
    p, training = _check_p(p), _check_bool(training, "training")
    _check_generator(generator)
    if not training or p == 0:
        return x
    return x * _keep_mask(x, (x.shape[0], 1, x.shape[2]), p, generator)


def embedding_dropout(weight: torch.Tensor, ids: torch.Tensor, p: float, training: bool = True,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """The embeddings of ``ids`` with whole tokens dropped (Gal & Ghahramani, 2016).

    One mask over the ``vocab_size`` rows of ``weight`` (``(vocab_size, embedding_dim)``): a
    dropped token's vector is zero at every position of the batch, a kept one is its row
    scaled by ``1 / (1 - p)``. Outside training (or with ``p = 0``) it is the plain lookup."""
    weight = _check_float_tensor(weight, "weight", 2, "(vocab_size, embedding_dim)")
    if not isinstance(ids, torch.Tensor) or ids.dtype != torch.long:
        raise TypeError(f"ids must be a LongTensor of token ids, got "
                        f"{ids.dtype if isinstance(ids, torch.Tensor) else type(ids).__name__}")
    p, training = _check_p(p), _check_bool(training, "training")
    _check_generator(generator)
    if ids.numel() and (ids.min() < 0 or ids.max() >= weight.shape[0]):
        bad = ids.min().item() if ids.min() < 0 else ids.max().item()
        raise ValueError(f"ids holds id {bad}, outside the {weight.shape[0]} rows of weight")
    if not training or p == 0:
        return F.embedding(ids, weight)
    return F.embedding(ids, weight * _keep_mask(weight, (weight.shape[0], 1), p, generator))


def drop_connect(weight: torch.Tensor, p: float, training: bool = True,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """DropConnect: each entry of ``weight`` zeroed with probability ``p``, the others scaled
    by ``1 / (1 - p)``, so the expected matrix is ``weight``. Outside training (or with
    ``p = 0``) the full ``weight`` itself is returned, unscaled (AWD-LSTM does the same)."""
    weight = _check_float_tensor(weight, "weight", None, "(rows, columns)")
    p, training = _check_p(p), _check_bool(training, "training")
    _check_generator(generator)
    if not training or p == 0:
        return weight
    return weight * _keep_mask(weight, tuple(weight.shape), p, generator)


def _check_lstm(lstm: object) -> nn.LSTM:
    if not isinstance(lstm, nn.LSTM):
        raise TypeError(f"lstm must be an nn.LSTM, got {type(lstm).__name__}")
    return lstm


def _check_state(state: object, expected: tuple[tuple[int, ...], tuple[int, ...]]):
    """``state`` must be ``None`` or a pair ``(h, c)`` of float tensors of the shapes given."""
    if state is None:
        return None
    if not isinstance(state, (tuple, list)) or len(state) != 2 or \
            not all(isinstance(s, torch.Tensor) for s in state):
        raise TypeError(f"state must be None or a pair (h, c) of tensors of shapes "
                        f"{expected[0]} and {expected[1]}, got {type(state).__name__}"
                        + (f" of {len(state)}" if isinstance(state, (tuple, list)) else ""))
    for name, tensor, shape in zip("hc", state, expected, strict=True):
        _check_float_tensor(tensor, name, None, str(shape))
        if tuple(tensor.shape) != shape:
            raise ValueError(f"state's {name} must have shape {shape} (num_layers * directions, "
                             f"batch, size), got {tuple(tensor.shape)}")
    return tuple(state)


def weight_dropped_lstm(lstm: nn.LSTM, x: torch.Tensor, state=None, p: float = 0.5,
                        training: bool | None = None, generator: torch.Generator | None = None):
    """Run ``lstm`` on ``x`` with DropConnect on its recurrent weights (AWD-LSTM's weight drop).

    Every ``weight_hh_l{k}`` is replaced, for this one call, by :func:`drop_connect` of itself,
    through ``torch.func.functional_call``: the fused kernel then uses that one dropped matrix
    at every time step, the gradient reaches the real parameter, and the module is left as it
    was (no parameter deleted or renamed, the same ``state_dict``). ``training`` defaults to
    ``lstm.training``. Returns ``(output, (h_n, c_n), used)`` with ``used`` the recurrent
    matrices the call used, by name."""
    lstm = _check_lstm(lstm)
    layout = "(batch, seq_len, input_size)" if lstm.batch_first else \
        "(seq_len, batch, input_size)"
    x = _check_float_tensor(x, "x", None, layout)
    if x.dim() not in (2, 3) or x.shape[-1] != lstm.input_size:
        raise ValueError(f"x must have shape {layout} (or (seq_len, input_size) unbatched) with "
                         f"input_size {lstm.input_size}, got {tuple(x.shape)}")
    layers = lstm.num_layers * (2 if lstm.bidirectional else 1)
    out_size = lstm.proj_size or lstm.hidden_size
    if x.dim() == 3:
        batch = x.shape[0] if lstm.batch_first else x.shape[1]
        expected = (layers, batch, out_size), (layers, batch, lstm.hidden_size)
    else:
        expected = (layers, out_size), (layers, lstm.hidden_size)
    state = _check_state(state, expected)
    p = _check_p(p)
    training = lstm.training if training is None else _check_bool(training, "training")
    _check_generator(generator)
    names = [name for name, _ in lstm.named_parameters() if name.startswith("weight_hh")]
    used = {name: drop_connect(getattr(lstm, name), p, training, generator) for name in names}
    if not training or p == 0:
        output, new_state = lstm(x, state)
    else:
        output, new_state = functional_call(lstm, used, (x, state))
    return output, new_state, used


def state_dropout_lstm(lstm: nn.LSTM, x: torch.Tensor, state=None, p: float = 0.25,
                       mask: str = "per_step", training: bool | None = None,
                       generator: torch.Generator | None = None):
    """A one-layer, batch-first ``nn.LSTM`` stepped in Python, with dropout on ``h_{t-1}``
    where it enters the recurrence: ``gates_t = W_ih x_t + b + W_hh (m_t * h_{t-1})``.

    ``mask="per_step"`` draws a new ``m_t`` at every step (plain dropout in a loop);
    ``"locked"`` draws one ``m`` per sequence (Gal & Ghahramani's variational RNN). The output
    and the returned state are not dropped. With ``p = 0`` or outside training it computes
    ``lstm``'s own outputs. ``state`` is ``None`` or ``(h, c)``, each ``(1, batch, hidden)``.
    Returns ``(output, (h_n, c_n))`` as ``nn.LSTM`` does."""
    lstm = _check_lstm(lstm)
    if lstm.num_layers != 1 or lstm.bidirectional or lstm.proj_size or not lstm.batch_first \
            or not lstm.bias:
        raise ValueError("state_dropout_lstm steps a one-layer, unidirectional, batch_first "
                         "nn.LSTM with biases and no proj_size, got " + repr(lstm))
    x = _check_float_tensor(x, "x", 3, "(batch, seq_len, input_size)")
    if x.shape[2] != lstm.input_size:
        raise ValueError(f"x must have {lstm.input_size} features, got shape {tuple(x.shape)}")
    p = _check_p(p)
    if mask not in STATE_MASKS:
        raise ValueError(f"mask must be one of {STATE_MASKS}, got {mask!r}")
    training = lstm.training if training is None else _check_bool(training, "training")
    _check_generator(generator)
    batch, steps, hidden = x.shape[0], x.shape[1], lstm.hidden_size
    state = _check_state(state, ((1, batch, hidden), (1, batch, hidden)))
    if state is None:
        h = c = x.new_zeros(batch, hidden)
    else:
        h, c = state[0][0], state[1][0]
    projected = x @ lstm.weight_ih_l0.T + lstm.bias_ih_l0 + lstm.bias_hh_l0   # all steps at once
    dropping = training and p > 0
    keep = _keep_mask(x, (batch, hidden), p, generator) if dropping else None
    outputs = []
    for t in range(steps):
        if dropping and mask == "per_step" and t > 0:
            keep = _keep_mask(x, (batch, hidden), p, generator)          # a new mask each step
        recurrent = h * keep if dropping else h
        i, f, g, o = (projected[:, t] + recurrent @ lstm.weight_hh_l0.T).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        outputs.append(h)
    return torch.stack(outputs, dim=1), (h.unsqueeze(0), c.unsqueeze(0))


def ar_tar(dropped: torch.Tensor, raw: torch.Tensor, alpha: float, beta: float
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """AWD-LSTM's two penalties on the LSTM's outputs, ``(batch, seq_len, hidden)`` each:
    AR ``alpha * mean(dropped ** 2)`` (large activations cost) and TAR
    ``beta * mean((raw[:, 1:] - raw[:, :-1]) ** 2)`` (fast changes from step to step cost)."""
    dropped = _check_float_tensor(dropped, "dropped", 3, "(batch, seq_len, hidden)")
    raw = _check_float_tensor(raw, "raw", 3, "(batch, seq_len, hidden)")
    if dropped.shape != raw.shape:
        raise ValueError(f"dropped and raw must have the same shape, got {tuple(dropped.shape)} "
                         f"and {tuple(raw.shape)}")
    if raw.shape[1] < 2:
        raise ValueError(f"TAR needs at least 2 time steps, got seq_len {raw.shape[1]}")
    for name, value in (("alpha", alpha), ("beta", beta)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
                not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    ar = alpha * dropped.pow(2).mean()
    tar = beta * (raw[:, 1:] - raw[:, :-1]).pow(2).mean()
    return ar, tar


# ----------------------------------------------------------------------------- the model

@dataclass(frozen=True)
class Recipe:
    """Which regularisers a run uses, and how strongly (all off by default).

    ``embed_p`` embedding dropout; ``input_p`` and ``output_p`` locked dropout on the LSTM's
    input and output; ``weight_p`` DropConnect on ``weight_hh``; ``state_p`` dropout on
    ``h_{t-1}`` in the recurrence (``state_mask`` ``"per_step"`` or ``"locked"``; a Python
    loop, slow); ``alpha``/``beta`` AR/TAR; ``tie_weights`` the head shares the embedding;
    ``weight_decay`` AdamW's decoupled decay. ``a | b`` switches on what either switches on."""
    embed_p: float = 0.0
    input_p: float = 0.0
    output_p: float = 0.0
    weight_p: float = 0.0
    state_p: float = 0.0
    state_mask: str = "per_step"
    alpha: float = 0.0
    beta: float = 0.0
    tie_weights: bool = False
    weight_decay: float = 0.0

    def __post_init__(self):
        for name in ("embed_p", "input_p", "output_p", "weight_p", "state_p"):
            _check_p(getattr(self, name), name)
        for name in ("alpha", "beta", "weight_decay"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
                    not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.state_mask not in STATE_MASKS:
            raise ValueError(f"state_mask must be one of {STATE_MASKS}, got {self.state_mask!r}")
        _check_bool(self.tie_weights, "tie_weights")
        if self.state_p and self.weight_p:
            raise ValueError("state_p and weight_p cannot both be on: the Python loop of "
                             "state_dropout_lstm does not apply weight dropout")

    def __or__(self, other: Recipe) -> Recipe:
        if not isinstance(other, Recipe):
            return NotImplemented
        default, merged = Recipe(), {}
        for f in fields(self):
            mine, theirs, off = getattr(self, f.name), getattr(other, f.name), \
                getattr(default, f.name)
            if off not in (mine, theirs) and mine != theirs:
                raise ValueError(f"the recipes disagree on {f.name}: {mine!r} and {theirs!r}")
            merged[f.name] = theirs if mine == off else mine
        return Recipe(**merged)

    def describe(self) -> str:
        """The settings that differ from the default, e.g. ``'input_p=0.1, output_p=0.2'``."""
        default = Recipe()
        changed = [f"{f.name}={getattr(self, f.name)!r}" for f in fields(self)
                   if getattr(self, f.name) != getattr(default, f.name)]
        return ", ".join(changed) or "nothing"


@dataclass
class Outputs:
    """What one forward pass of :class:`RegularisedCharLSTM` computed: the logits, the final
    state, the LSTM's raw outputs and the outputs after (locked) dropout, which the head read."""
    logits: torch.Tensor
    state: tuple[torch.Tensor, torch.Tensor]
    raw: torch.Tensor
    dropped: torch.Tensor


class RegularisedCharLSTM(nn.Module):
    """A character model ids -> embedding -> ``nn.LSTM`` -> linear head, regularised by a
    :class:`Recipe`: embedding dropout, locked dropout on the LSTM's input and output, weight
    dropout on ``weight_hh_l0`` (or dropout on ``h_{t-1}`` in a Python loop), weight tying.

    ``forward(ids, state) -> (logits, state)`` as :class:`utils.language_model.CharLSTM`
    (so :func:`nats_per_char` and :func:`utils.text.sample` read it); :meth:`run` returns
    every intermediate as :class:`Outputs`. The embedding starts as U(-0.1, 0.1), as in
    AWD-LSTM, whether tied or not, so tying does not change its initial scale. Each
    regulariser acts in ``train()`` mode only; ``last_weight_hh`` is the recurrent matrix the
    last forward pass used (the dropped one in training)."""

    def __init__(self, vocab_size: int, embedding_dim: int = 64, hidden_size: int = 64,
                 recipe: Recipe | None = None):
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("embedding_dim", embedding_dim),
                            ("hidden_size", hidden_size)):
            check_int(name, value)
        recipe = Recipe() if recipe is None else recipe
        if not isinstance(recipe, Recipe):
            raise TypeError(f"recipe must be a Recipe, got {type(recipe).__name__}")
        if recipe.tie_weights and embedding_dim != hidden_size:
            raise ValueError(f"tie_weights needs hidden_size == embedding_dim: the head's weight "
                             f"is (vocab_size, hidden_size) = ({vocab_size}, {hidden_size}), the "
                             f"embedding's (vocab_size, embedding_dim) = ({vocab_size}, "
                             f"{embedding_dim})")
        self.vocab_size, self.recipe = vocab_size, recipe
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, vocab_size)
        if recipe.tie_weights:
            self.head.weight = self.embedding.weight
        self.last_weight_hh: torch.Tensor | None = None

    def run(self, ids: torch.Tensor, state=None) -> Outputs:
        """One forward pass, every regulariser of the recipe applied (in training mode)."""
        if not isinstance(ids, torch.Tensor) or ids.dtype != torch.long or ids.dim() != 2:
            got = (f"{ids.dtype} of shape {tuple(ids.shape)}" if isinstance(ids, torch.Tensor)
                   else type(ids).__name__)
            raise TypeError(f"ids must be a LongTensor of shape (batch, seq_len), got {got}")
        r, training = self.recipe, self.training
        embedded = embedding_dropout(self.embedding.weight, ids, r.embed_p, training)
        embedded = locked_dropout(embedded, r.input_p, training)
        if r.state_p and training:           # the Python loop (outside training: the kernel)
            raw, state = state_dropout_lstm(self.lstm, embedded, state, r.state_p,
                                            r.state_mask, training)
            self.last_weight_hh = self.lstm.weight_hh_l0.detach()
        else:
            raw, state, used = weight_dropped_lstm(self.lstm, embedded, state, r.weight_p,
                                                   training)
            self.last_weight_hh = used["weight_hh_l0"].detach()
        dropped = locked_dropout(raw, r.output_p, training)
        return Outputs(self.head(dropped), state, raw, dropped)

    def forward(self, ids: torch.Tensor, state=None):
        outputs = self.run(ids, state)
        return outputs.logits, outputs.state


# ----------------------------------------------------------------------------- one run

@dataclass
class Run:
    """One seeded training run of :func:`train_run`.

    ``steps``, ``train_loss`` and ``val_loss`` are the curves: at each evaluation step, the
    mean training cross-entropy since the last one (measured in ``train()`` mode, so under
    dropout; without the AR/TAR terms) and the validation nats per character (``eval()``
    mode). ``best_step`` is the evaluation step with the lowest validation loss (early
    stopping's choice, made on validation); ``final_*`` are at the last step, ``best_*`` with
    the weights of ``best_step``; ``*_test`` the test loss of those weights (``nan`` when no
    test ids were given). ``model`` holds the last step's weights, ``best_state`` the best's."""
    recipe: Recipe
    seed: int
    steps: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    best_step: int = 0
    final_val: float = math.nan
    best_val: float = math.nan
    final_test: float = math.nan
    best_test: float = math.nan
    seconds: float = 0.0
    model: RegularisedCharLSTM | None = None
    best_state: dict | None = None

    def reported(self, early_stopping: bool) -> tuple[int, float, float]:
        """(step, validation loss, test loss) of the weights a run reports: the best
        validation step's with early stopping, the last step's without."""
        if _check_bool(early_stopping, "early_stopping"):
            return self.best_step, self.best_val, self.best_test
        return self.steps[-1], self.final_val, self.final_test


def _check_ids(ids: object, name: str, vocab_size: int) -> torch.Tensor:
    if not isinstance(ids, torch.Tensor) or ids.dtype != torch.long or ids.dim() != 1:
        got = (f"{ids.dtype} of shape {tuple(ids.shape)}" if isinstance(ids, torch.Tensor)
               else type(ids).__name__)
        raise TypeError(f"{name} must be a 1-D LongTensor of ids, got {got}")
    if len(ids) and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(f"{name} holds ids outside [0, {vocab_size - 1}]")
    return ids


def train_run(recipe: Recipe, batches: StreamBatches, val_ids: torch.Tensor, *, vocab_size: int,
              seed: int, steps: int, eval_every: int, lr: float = 1e-2,
              embedding_dim: int = 64, hidden_size: int = 64, test_ids: torch.Tensor | None = None,
              max_norm: float = 1.0, eval_streams: int = 32) -> Run:
    """Train a fresh :class:`RegularisedCharLSTM` with ``recipe`` for exactly ``steps`` steps.

    ``torch.manual_seed(seed)`` comes first, so a seed fixes the initial weights and every
    dropout mask. The batches are read in order, the state carried and detached between them
    (truncated BPTT) and reset at each new pass; the loss is the cross-entropy plus AR and
    TAR; the gradient norm is clipped to ``max_norm``; the optimizer is
    ``AdamW(lr, weight_decay=recipe.weight_decay)``. The validation loss is measured at step 0
    and every ``eval_every`` steps, and the weights of the best one are kept."""
    if not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a Recipe, got {type(recipe).__name__}")
    if not isinstance(batches, StreamBatches):
        raise TypeError(f"batches must be a StreamBatches (utils.text.stream_batches), "
                        f"got {type(batches).__name__}")
    vocab_size = check_int("vocab_size", vocab_size, 2)
    val_ids = _check_ids(val_ids, "val_ids", vocab_size)
    if test_ids is not None:
        test_ids = _check_ids(test_ids, "test_ids", vocab_size)
    seed, steps = check_int("seed", seed, 0), check_int("steps", steps)
    eval_every = check_int("eval_every", eval_every)
    if steps % eval_every:
        raise ValueError(f"steps ({steps}) must be a multiple of eval_every ({eval_every}), so "
                         f"that the last step is evaluated")
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not lr > 0:
        raise ValueError(f"lr must be a number > 0, got {lr!r}")
    started = time.perf_counter()
    torch.manual_seed(seed)
    model = RegularisedCharLSTM(vocab_size, embedding_dim, hidden_size, recipe)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=recipe.weight_decay)
    run = Run(recipe, seed)

    def evaluate(step: int, losses: list[float]) -> None:
        run.steps.append(step)
        run.train_loss.append(sum(losses) / len(losses) if losses else math.nan)
        run.val_loss.append(nats_per_char(model, val_ids, streams=eval_streams))
        if step == 0 or run.val_loss[-1] < run.best_val:   # the first, or a new best
            run.best_step, run.best_val = step, run.val_loss[-1]
            run.best_state = copy.deepcopy(model.state_dict())

    evaluate(0, [])
    model.train()
    state, losses, batch = None, [], len(batches)
    for step in range(1, steps + 1):
        if batch == len(batches):
            state, batch = None, 0                       # a new pass: the streams restart
        x, y = batches[batch]
        batch += 1
        out = model.run(x, state)
        state = detach_state(out.state)
        cross_entropy = F.cross_entropy(out.logits.reshape(-1, vocab_size), y.reshape(-1))
        ar, tar = ar_tar(out.dropped, out.raw, recipe.alpha, recipe.beta)
        optimizer.zero_grad()
        (cross_entropy + ar + tar).backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        losses.append(cross_entropy.item())
        if step % eval_every == 0:
            evaluate(step, losses)
            model.train()
            losses = []
    run.final_val = run.val_loss[-1]
    if test_ids is not None:
        run.final_test = nats_per_char(model, test_ids, streams=eval_streams)
        best = RegularisedCharLSTM(vocab_size, embedding_dim, hidden_size, recipe)
        best.load_state_dict(run.best_state)
        run.best_test = nats_per_char(best, test_ids, streams=eval_streams)
    model.eval()
    run.model, run.seconds = model, time.perf_counter() - started
    return run


# ----------------------------------------------------------------------------- the table

def _t_density(x: float, df: int) -> float:
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    return math.exp(log_c - (df + 1) / 2 * math.log1p(x * x / df))


def _t_cdf(x: float, df: int, pieces: int = 2000) -> float:
    """P(T <= x) for x >= 0: one half plus Simpson's rule on the density over [0, x]."""
    h = x / pieces
    inner = sum((4 if k % 2 else 2) * _t_density(k * h, df) for k in range(1, pieces))
    return 0.5 + h / 3 * (_t_density(0.0, df) + inner + _t_density(x, df))


def t_quantile(prob: float, df: int) -> float:
    """The ``prob`` quantile of Student's t with ``df`` degrees of freedom, ``prob`` in
    [0.5, 1): the ``x`` with ``P(T <= x) = prob`` (bisection on the integrated density,
    accurate to about 1e-6; ``t_quantile(0.975, 4)`` is 2.776)."""
    if isinstance(prob, bool) or not isinstance(prob, numbers.Real) or not 0.5 <= prob < 1:
        raise ValueError(f"prob must be a number in [0.5, 1), got {prob!r}")
    return _t_quantile(float(prob), check_int("df", df))


@functools.lru_cache(maxsize=64)
def _t_quantile(prob: float, df: int) -> float:
    low, high = 0.0, 1.0
    while _t_cdf(high, df) < prob:
        low, high = high, 2 * high
    for _ in range(40):
        middle = (low + high) / 2
        low, high = (middle, high) if _t_cdf(middle, df) < prob else (low, middle)
    return (low + high) / 2


def paired_interval(changes: list[float], level: float = 0.95) -> tuple[float, float]:
    """The t interval ``mean ± t * sd / sqrt(n)`` of the mean of ``n >= 2`` paired changes
    (one per seed), at confidence ``level``. It assumes the changes are independent draws of
    roughly normal noise around the true mean change."""
    if isinstance(changes, (str, bytes)) or not all(
            isinstance(c, numbers.Real) and not isinstance(c, bool) and math.isfinite(c)
            for c in changes):
        raise TypeError(f"changes must be a list of finite numbers, got {changes!r}")
    changes = [float(c) for c in changes]
    if len(changes) < 2:
        raise ValueError(f"a paired interval needs at least 2 changes, got {len(changes)}")
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0 < level < 1:
        raise ValueError(f"level must be a number in (0, 1), got {level!r}")
    half = t_quantile(0.5 + level / 2, len(changes) - 1) * statistics.stdev(changes) / \
        math.sqrt(len(changes))
    mean = statistics.fmean(changes)
    return mean - half, mean + half


def _sign_verdict(change: list[float]) -> str:
    return ("helps" if all(d < 0 for d in change) else
            "hurts" if all(d > 0 for d in change) else "unclear")


def ablation_rows(runs: dict[str, list[Run]], baseline: str = "none",
                  early_stopping: dict[str, bool] | None = None, level: float = 0.95
                  ) -> list[dict]:
    """One row per entry of ``runs`` (name -> runs of seeds 0, 1, ...), on the validation
    text and on the test text: the reported losses' mean, sample standard deviation, min and
    max over the seeds, the change against ``baseline`` seed by seed (same seed, same batches),
    its mean and its paired t interval at ``level``.

    A verdict is ``"helps"`` when every seed's change is below 0, ``"hurts"`` when every one
    is above, ``"unclear"`` otherwise: a technique that does nothing (each seed's change as
    likely above 0 as below, independently) gets helps or hurts with probability
    ``2 / 2 ** n_seeds``. ``early_stopping[name]`` says whether that row reports the best
    validation step; its step was chosen on the validation text, so its validation verdict is
    ``"chosen"`` (no verdict) and only ``test_verdict`` judges it. The baseline is compared
    at its last step."""
    if not isinstance(runs, dict) or baseline not in runs:
        raise ValueError(f"runs must be a dict of name -> list of Run holding the baseline "
                         f"{baseline!r}, got keys {list(runs) if isinstance(runs, dict) else runs}")
    early_stopping = {} if early_stopping is None else dict(early_stopping)
    unknown = set(early_stopping) - set(runs)
    if unknown:
        raise ValueError(f"early_stopping names rows that are not in runs: {sorted(unknown)}")
    if early_stopping.get(baseline, False):
        raise ValueError(f"the baseline {baseline!r} is compared at its last step; add its "
                         f"early-stopped runs as another entry of runs")
    for name, stop in early_stopping.items():
        _check_bool(stop, f"early_stopping[{name!r}]")
    seeds = [run.seed for run in runs.get(baseline) or []]
    if len(seeds) < 2:
        raise ValueError(f"the baseline needs at least 2 seeds for a spread, got {len(seeds)}")
    base = [r.reported(False) for r in runs[baseline]]
    rows = []
    for name, group in runs.items():
        if not group or not all(isinstance(r, Run) for r in group):
            raise TypeError(f"runs[{name!r}] must be a non-empty list of Run")
        if [r.seed for r in group] != seeds:
            raise ValueError(f"runs[{name!r}] has seeds {[r.seed for r in group]}, the baseline "
                             f"{seeds}: rows are compared seed by seed")
        stop = early_stopping.get(name, False)
        reported = [r.reported(stop) for r in group]
        if any(math.isnan(t) for _, _, t in reported):
            raise ValueError(f"runs[{name!r}] has no test loss: train them with "
                             f"train_run(..., test_ids=...)")
        row = {"name": name, "early_stopping": stop, "steps": [s for s, _, _ in reported]}
        for side, k in (("val", 1), ("test", 2)):
            values = [rep[k] for rep in reported]
            change = [v - b[k] for v, b in zip(values, base, strict=True)]
            prefix = "" if side == "val" else "test_"
            row.update({side: values, f"{side}_mean": statistics.fmean(values),
                        f"{side}_std": statistics.stdev(values), f"{side}_min": min(values),
                        f"{side}_max": max(values), f"{prefix}change": change,
                        f"{prefix}change_mean": statistics.fmean(change),
                        f"{prefix}interval": ((0.0, 0.0) if name == baseline else
                                              paired_interval(change, level)),
                        f"{prefix}verdict": ("baseline" if name == baseline else
                                             "chosen" if stop and side == "val" else
                                             _sign_verdict(change))})
        rows.append(row)
    return rows

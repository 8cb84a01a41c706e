"""Notebook 10's character language model, and the count models it must beat.

- :class:`CharLSTM` - an embedding, an ``nn.LSTM`` and a linear head that gives one logit per
  character at every step: ``forward(ids, state) -> (logits, state)``, the contract that
  :func:`utils.text.sample` draws from. ``tie_weights=True`` makes the head share the
  embedding matrix, which needs the LSTM's output size (``hidden_size``, or ``proj_size``
  when the LSTM projects its output) to equal ``embedding_dim``.
- :class:`StepwiseCharLSTM` - a trained one-layer ``CharLSTM`` read through an
  ``nn.LSTMCell`` holding a copy of its ``_l0`` weights: the same logits, one character at a
  time about five times faster than calling ``nn.LSTM`` on one step, which is what generation
  does.
- :func:`detach_state` - the carried state cut from the graph of the batch that made it
  (truncated back-propagation through time, notebook 03).
- :func:`nats_per_char` - the mean negative log-likelihood of every next character of a text,
  read as contiguous streams; ``exp`` of it is the perplexity.
- :class:`NGramModel` - a count model of order ``n`` (1: unigram, 2: bigram, ...) with
  interpolated absolute discounting, fitted on training ids only.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Iterator

import torch
from torch import nn
from torch.nn import functional as F

from .training import check_int

__all__ = ["CharLSTM", "StepwiseCharLSTM", "detach_state", "train_steps", "nats_per_char", "NGramModel"]


def _check_ids(ids: object, vocab_size: int, dims: int, name: str = "ids") -> torch.Tensor:
    shape = "(batch, seq_len)" if dims == 2 else "(length,)"
    if not isinstance(ids, torch.Tensor):
        raise TypeError(f"{name} must be a LongTensor of shape {shape}, got {type(ids).__name__}")
    if ids.dtype != torch.long:
        raise TypeError(f"{name} must hold token ids of dtype torch.long, got {ids.dtype}")
    if ids.dim() != dims or 0 in ids.shape:
        raise ValueError(f"{name} must have shape {shape}, non-empty, got {tuple(ids.shape)}")
    low, high = ids.min().item(), ids.max().item()
    if low < 0 or high >= vocab_size:
        bad = low if low < 0 else high
        raise ValueError(f"{name} holds id {bad}, outside the vocabulary [0, {vocab_size - 1}]")
    return ids


class CharLSTM(nn.Module):
    """A character language model: ids -> ``nn.Embedding`` -> ``nn.LSTM`` -> ``nn.Linear``.

    At every step it outputs one logit per vocabulary entry for the *next* character; the
    logits are raw scores (no softmax: ``nn.CrossEntropyLoss`` applies log-softmax itself).
    ``ids`` ``(batch, seq_len)`` -> logits ``(batch, seq_len, vocab_size)`` and the final
    ``(h_n, c_n)``; pass that state back in to continue the same streams.
    ``proj_size > 0`` makes the LSTM project its output (and ``h``) to ``proj_size`` features
    (``nn.LSTM``'s ``proj_size``, notebooks 01-02); the head then reads ``proj_size`` inputs.
    With ``tie_weights=True`` the head's weight *is* the embedding matrix (Press & Wolf,
    2017; Inan et al., 2017): ``vocab_size x embedding_dim`` fewer parameters. It needs the
    head's input size, the LSTM's output size (``proj_size`` if set, else ``hidden_size``), to
    equal ``embedding_dim``: ``CharLSTM(65, 64, 256, proj_size=64, tie_weights=True)`` ties."""

    def __init__(self, vocab_size: int, embedding_dim: int = 64, hidden_size: int = 256,
                 num_layers: int = 1, tie_weights: bool = False, proj_size: int = 0):
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("embedding_dim", embedding_dim),
                            ("hidden_size", hidden_size), ("num_layers", num_layers)):
            check_int(name, value)
        check_int("proj_size", proj_size, 0)
        if not isinstance(tie_weights, bool):
            raise TypeError(f"tie_weights must be True or False, got {tie_weights!r}")
        if proj_size >= hidden_size:
            raise ValueError(f"proj_size must be smaller than hidden_size ({hidden_size}), "
                             f"got {proj_size} (0: no projection)")
        output_size = proj_size or hidden_size
        if tie_weights and embedding_dim != output_size:
            name = "proj_size" if proj_size else "hidden_size"
            raise ValueError(f"tie_weights needs the LSTM's output size ({name} = {output_size})"
                             f" == embedding_dim ({embedding_dim}): the head's weight is "
                             f"(vocab_size, {name}) = ({vocab_size}, {output_size}) and the "
                             f"embedding's (vocab_size, embedding_dim) = ({vocab_size}, "
                             f"{embedding_dim}); with a larger hidden_size, set "
                             f"proj_size={embedding_dim}")
        self.vocab_size, self.tie_weights = vocab_size, tie_weights
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, num_layers, batch_first=True,
                            proj_size=proj_size)
        self.head = nn.Linear(output_size, vocab_size)
        if tie_weights:
            self.head.weight = self.embedding.weight

    def forward(self, ids: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        ids = _check_ids(ids, self.vocab_size, dims=2)
        output, state = self.lstm(self.embedding(ids), state)
        return self.head(output), state


class StepwiseCharLSTM(nn.Module):
    """A one-layer :class:`CharLSTM` stepped one character at a time through ``nn.LSTMCell``.

    The cell gets a copy of the LSTM's weights (``weight_ih_l0 -> weight_ih``, ``weight_hh_l0
    -> weight_hh``, the two biases likewise), taken when this wrapper is built; the embedding
    and the head are the model's own. ``forward(ids, state)`` has ``CharLSTM``'s contract and
    gives the same logits (notebook 10 proves the cell equal to the layer), but a step of one
    character skips the fused layer's per-call overhead, which dominates at batch 1: this is
    the fast path for :func:`utils.text.sample`. Build it again after more training."""

    def __init__(self, model: CharLSTM):
        super().__init__()
        if not isinstance(model, CharLSTM):
            raise TypeError(f"model must be a CharLSTM, got {type(model).__name__}")
        if model.lstm.num_layers != 1:
            raise ValueError(f"StepwiseCharLSTM steps one layer; the model has "
                             f"{model.lstm.num_layers}")
        if model.lstm.proj_size:
            raise ValueError(f"StepwiseCharLSTM steps an nn.LSTMCell, which has no projection; "
                             f"the model's LSTM has proj_size={model.lstm.proj_size}")
        self.vocab_size = model.vocab_size
        self.embedding, self.head = model.embedding, model.head
        self.cell = nn.LSTMCell(model.lstm.input_size, model.lstm.hidden_size,
                                device=model.head.weight.device)
        with torch.no_grad():
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(self.cell, name).copy_(getattr(model.lstm, f"{name}_l0"))

    def forward(self, ids: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        ids = _check_ids(ids, self.vocab_size, dims=2)
        if state is not None:
            self._check_state(state, ids.shape[0])
        embedded = self.embedding(ids)                               # (B, T, E)
        hc = None if state is None else (state[0][0], state[1][0])   # (1, B, H) -> (B, H)
        outputs = []
        for t in range(ids.shape[1]):
            hc = self.cell(embedded[:, t], hc)
            outputs.append(hc[0])
        h, c = hc
        return self.head(torch.stack(outputs, dim=1)), (h.unsqueeze(0), c.unsqueeze(0))

    def _check_state(self, state: object, batch: int) -> None:
        """``state`` must be ``(h, c)`` in ``nn.LSTM``'s format, ``(1, batch, hidden_size)``."""
        expected = (1, batch, self.cell.hidden_size)
        if not (isinstance(state, (tuple, list)) and len(state) == 2
                and all(isinstance(s, torch.Tensor) for s in state)):
            raise TypeError(f"state must be a tuple (h, c) of two tensors of shape {expected}, "
                            f"got {type(state).__name__}")
        for name, tensor in zip(("h", "c"), state, strict=True):
            if tuple(tensor.shape) != expected:
                raise ValueError(f"state {name} must have shape (num_layers, batch, "
                                 f"hidden_size) = {expected}, got {tuple(tensor.shape)}")


def detach_state(state: tuple[torch.Tensor, ...] | None) -> tuple[torch.Tensor, ...] | None:
    """The same state values, cut from the graph that computed them: the next batch starts
    from them, but its backward pass stops here (truncated back-propagation through time)."""
    if state is None:
        return None
    if not isinstance(state, tuple) or not all(isinstance(s, torch.Tensor) for s in state):
        raise TypeError(f"state must be a tuple of tensors such as (h, c), "
                        f"got {type(state).__name__}")
    return tuple(s.detach() for s in state)


def train_steps(model: nn.Module, batches: Iterable, optimizer: torch.optim.Optimizer,
                schedule=None, max_norm: float = 1.0) -> list[float]:
    """Notebook 10's training loop, for notebooks that need a trained model and not the lesson:
    for each ``(x, y)`` stream batch, carry the state (detached: truncated BPTT), take the
    cross-entropy over every step, clip the gradient norm to ``max_norm``, step the optimizer
    and the optional ``schedule``. Returns the loss of each batch."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if isinstance(max_norm, bool) or not isinstance(max_norm, (int, float)) or \
            not math.isfinite(max_norm) or max_norm <= 0:
        raise ValueError(f"max_norm must be a finite number > 0, got {max_norm!r}")
    model.train()
    state, losses = None, []
    for x, y in batches:
        logits, state = model(x, state)
        state = detach_state(state)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=max_norm)
        optimizer.step()
        if schedule is not None:
            schedule.step()
        losses.append(loss.item())
    return losses


def nats_per_char(model: nn.Module, ids: torch.Tensor, streams: int = 64,
                  chunk: int = 256) -> float:
    """The mean negative log-likelihood, in nats, of every next id of ``ids`` (all
    ``len(ids) - 1`` targets), in ``eval()`` mode without autograd.

    The text is read as ``streams`` contiguous streams of ``L = (len(ids) - 1) // streams``
    steps each, ``chunk`` steps at a time with the state carried; the ``(len(ids) - 1) %
    streams`` targets left over continue the last stream. Each stream starts from a zero state,
    so its first few characters are predicted with little context: one stream would score a
    little lower, and take ``streams`` times longer. The model's mode is put back afterwards."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    vocab_size = getattr(model, "vocab_size", None)
    if vocab_size is None:
        raise TypeError("model needs a .vocab_size attribute (the number of logits per step)")
    ids = _check_ids(ids, vocab_size, dims=1)
    streams, chunk = check_int("streams", streams), check_int("chunk", chunk)
    if len(ids) < streams + 1:
        raise ValueError(f"ids has {len(ids)} ids, too few for {streams} streams: it needs at "
                         f"least {streams + 1}")
    length = (len(ids) - 1) // streams
    inputs = ids[:streams * length].view(streams, length)
    targets = ids[1:streams * length + 1].view(streams, length)
    was_training = model.training
    model.eval()
    total, state = 0.0, None
    try:
        with torch.no_grad():
            for start in range(0, length, chunk):
                logits, state = model(inputs[:, start:start + chunk], state)
                total += nn.functional.cross_entropy(
                    logits.reshape(-1, vocab_size), targets[:, start:start + chunk].reshape(-1),
                    reduction="sum").item()
            rest = ids[streams * length:]
            if len(rest) > 1:                      # continue the last stream
                last = None if state is None else tuple(s[:, -1:].contiguous() for s in state)
                logits, _ = model(rest[:-1].unsqueeze(0), last)
                total += nn.functional.cross_entropy(logits[0], rest[1:], reduction="sum").item()
    finally:
        model.train(was_training)
    return total / (len(ids) - 1)


class NGramModel:
    """A count model of order ``n``: the next id from the ``n - 1`` ids before it.

    ``fit(ids)`` counts every n-gram (and every shorter one) of the training ids. A
    probability is interpolated absolute discounting (Ney, Essen & Kneser, 1994): each seen
    count gives up ``discount``, and the mass given up goes to the model one order lower,
    down to the uniform distribution, so an unseen continuation keeps some probability:

        P_n(w | h) = (max(c(h, w) - D, 0) + D * N(h) * P_(n-1)(w | h')) / c(h)

    where ``c(h)`` counts the context ``h``, ``N(h)`` the distinct ids seen after it, and ``h'``
    is ``h`` without its first id; an unseen context falls back to ``P_(n-1)``. Order 1 is the
    unigram model (interpolated with uniform), order 2 the bigram model."""

    def __init__(self, order: int, vocab_size: int, discount: float = 0.75):
        self.order = check_int("order", order)
        self.vocab_size = check_int("vocab_size", vocab_size, 2)
        if vocab_size ** order >= 2 ** 62:
            raise ValueError(f"order {order} is too high for a vocabulary of {vocab_size}: the "
                             f"n-gram keys must fit in 64 bits (vocab_size ** order < 2 ** 62)")
        if isinstance(discount, bool) or not isinstance(discount, numbers.Real):
            raise TypeError(f"discount must be a number, got {type(discount).__name__}")
        if not 0 < discount < 1:
            raise ValueError(f"discount must be in (0, 1), got {discount}")
        self.discount = float(discount)
        self.counts: list[dict[str, torch.Tensor]] | None = None

    def __repr__(self) -> str:
        fitted = "fitted" if self.counts is not None else "not fitted"
        return (f"NGramModel(order {self.order}, vocab_size {self.vocab_size}, "
                f"discount {self.discount}, {fitted})")

    def _keys(self, ids: torch.Tensor, n: int) -> torch.Tensor:
        """The key of the n-gram ending at each position n - 1, n, ...: its ids in base V."""
        keys = torch.zeros(len(ids) - n + 1, dtype=torch.long)
        for j in range(n):
            keys = keys * self.vocab_size + ids[j:len(ids) - n + 1 + j]
        return keys

    def fit(self, ids: torch.Tensor) -> NGramModel:
        """Count the n-grams of ``ids`` (1-D), for every order up to ``order``."""
        ids = _check_ids(ids, self.vocab_size, dims=1)
        if len(ids) < self.order:
            raise ValueError(f"ids has {len(ids)} ids, fewer than the order {self.order}")
        self.counts = []
        for n in range(1, self.order + 1):
            grams, gram_counts = torch.unique(self._keys(ids, n), return_counts=True)
            contexts, inverse = torch.unique(grams // self.vocab_size, return_inverse=True)
            context_counts = torch.zeros(len(contexts), dtype=torch.long).index_add_(
                0, inverse, gram_counts)
            followers = torch.bincount(inverse, minlength=len(contexts))
            self.counts.append({"grams": grams, "gram_counts": gram_counts,
                                "contexts": contexts, "context_counts": context_counts,
                                "followers": followers})
        return self

    @staticmethod
    def _lookup(sorted_keys: torch.Tensor, values: torch.Tensor, query: torch.Tensor
                ) -> torch.Tensor:
        at = torch.searchsorted(sorted_keys, query).clamp_max(len(sorted_keys) - 1)
        return torch.where(sorted_keys[at] == query, values[at], 0)

    def _check_order(self, order: object) -> int:
        if order is None:
            return self.order
        order = check_int("order", order)
        if order > self.order:
            raise ValueError(f"order must be at most the fitted order {self.order}, got {order}")
        return order

    def _check_fitted(self) -> None:
        if self.counts is None:
            raise RuntimeError("fit the model on training ids first: model.fit(train_ids)")

    def _each_order(self, ids: torch.Tensor, order: int) -> Iterator[tuple[int, torch.Tensor]]:
        """Yield ``(n, P_n)`` for n = 1 .. ``order``: the probabilities of every target of
        ``ids`` under the counts up to order n. One tensor, updated in place from order to
        order (each order interpolates with the one below), so read it before the next."""
        targets = len(ids) - 1
        p = torch.full((targets,), 1.0 / self.vocab_size, dtype=torch.float64)
        for n, table in enumerate(self.counts[:order], start=1):
            if n - 1 <= targets:            # else no target has a context of n - 1 ids
                grams = self._keys(ids, n) if n > 1 else ids[1:]
                # targets t >= n - 1 have a context of n - 1 ids: the last len(grams) targets
                count = self._lookup(table["grams"], table["gram_counts"], grams).double()
                context = grams // self.vocab_size
                total = self._lookup(table["contexts"], table["context_counts"], context).double()
                seen = self._lookup(table["contexts"], table["followers"], context).double()
                lower = p[-len(grams):]
                mixed = ((count - self.discount).clamp_min(0) + self.discount * seen * lower
                         ) / total.clamp_min(1)
                p[-len(grams):] = torch.where(total > 0, mixed, lower)
            yield n, p

    def _check_scored_ids(self, ids: object) -> torch.Tensor:
        ids = _check_ids(ids, self.vocab_size, dims=1)
        if len(ids) < 2:
            raise ValueError(f"ids needs at least 2 ids (one target), got {len(ids)}")
        return ids

    def probs(self, ids: torch.Tensor, order: int | None = None) -> torch.Tensor:
        """P(ids[t] | the ids before it) for t = 1 .. len(ids) - 1, as a float64 tensor; the
        first targets, with fewer than ``order - 1`` ids before them, use the longest context
        they have. ``order`` (at most the fitted one; default: it) uses the counts up to that
        order only, so one fit serves every lower order too."""
        self._check_fitted()
        order = self._check_order(order)
        ids = self._check_scored_ids(ids)
        *_, (_, p) = self._each_order(ids, order)        # the last order's probabilities
        return p

    def nats_by_order(self, ids: torch.Tensor) -> dict[int, float]:
        """``{n: nats_per_char(ids, order=n)}`` for every order n = 1 .. ``order``, in one pass
        (each order builds on the one below, so this costs what the highest order alone does)."""
        self._check_fitted()
        ids = self._check_scored_ids(ids)
        return {n: -p.log().mean().item() for n, p in self._each_order(ids, self.order)}

    def ngram_counts(self, ids: torch.Tensor, n: int) -> torch.Tensor:
        """How often each n-gram of ``ids`` (the window of ``n`` ids ending at position
        ``n - 1``, ``n``, ...) occurs in the training ids: a ``LongTensor`` of ``len(ids) - n +
        1`` counts, 0 for an n-gram the training ids never hold. ``n`` is at most the order."""
        self._check_fitted()
        n = self._check_order(n)
        ids = _check_ids(ids, self.vocab_size, dims=1)
        if len(ids) < n:
            raise ValueError(f"ids has {len(ids)} ids, fewer than n = {n}")
        table = self.counts[n - 1]
        return self._lookup(table["grams"], table["gram_counts"], self._keys(ids, n))

    def nats_per_char(self, ids: torch.Tensor, order: int | None = None) -> float:
        """The mean negative log-likelihood of every next id of ``ids``, in nats."""
        return -self.probs(ids, order).log().mean().item()

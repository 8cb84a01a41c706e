"""Sequence to sequence: an LSTM encoder hands its state to an LSTM decoder (notebook 13).

The encoder reads the source; the decoder writes the target one token at a time, starting
from ``<bos>`` and from the encoder's final ``(h, c)``, until it writes ``<eos>``.

- :class:`Encoder` - embedding + ``nn.LSTM`` (optionally bidirectional, several layers), run
  packed so that each source's final state is the one at its own last real character.
- :func:`bridge_state` - the encoder's ``(h_n, c_n)`` as the decoder's initial state: for a
  bidirectional encoder the two directions of each layer are *concatenated*, so
  ``(2 * layers, B, H)`` becomes ``(layers, B, 2H)`` and the decoder has ``2H`` units.
- :class:`LuongAttention` - multiplicative ("general") attention of Luong et al. (2015):
  ``score(h_t, s_j) = h_t^T W_a s_j``, a softmax over the real source positions (padded
  positions get weight exactly 0) and the context vector ``sum_j a_tj s_j``.
- :class:`Decoder` - embedding + ``nn.LSTM`` + (attention) + linear head; ``forward`` reads a
  whole teacher-forced target in one call, ``step`` one token (decoding).
- :class:`Seq2Seq` - both, with ``encode`` and a teacher-forced ``forward``.
- :func:`masked_token_loss` - cross-entropy over the real target tokens only (the mean over
  them; padded positions hold ``IGNORE_INDEX``).
- :func:`train_seq2seq` - a fixed number of Adam steps on random batches, with teacher
  forcing, a fixed teacher-forcing ratio, or a schedule of ratios (scheduled sampling).
- :func:`greedy_decode`, :func:`beam_search` (with length normalisation),
  :func:`exhaustive_search` (every output of a tiny vocabulary, for proofs),
  :func:`sequence_log_prob`, :func:`exact_match`.
- :func:`evaluate` - a model on a data set, teacher-forced (loss, token accuracy) and free
  running (greedy outputs, exact match); :func:`translate` - greedy outputs for strings.

The target's special tokens come from a ``utils.text.CharVocab`` built with
``specials=TARGET_SPECIALS``: ``<pad>`` is id 0, ``<bos>`` 1, ``<eos>`` 2. A model never emits
``<pad>`` or ``<bos>``: decoding gives them log-probability ``-inf``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import product

import torch
from torch import nn
from torch.nn import functional as F

from .sequences import IGNORE_INDEX, check_lengths, pad_batch, run_packed
from .text import CharVocab
from .training import check_int

__all__ = ["SOURCE_SPECIALS", "TARGET_SPECIALS", "PAD", "BOS", "EOS", "PairData", "encode_pairs",
           "Encoder", "bridge_state", "LuongAttention", "Decoder", "Seq2Seq", "Encoded",
           "masked_token_loss", "decoder_inputs", "train_seq2seq", "Decoded", "greedy_decode",
           "teacher_forced_predictions", "sequence_log_prob", "BeamResult", "beam_search",
           "exhaustive_search", "to_strings", "exact_match", "translate", "Evaluation",
           "evaluate"]

SOURCE_SPECIALS = ("<pad>", "<unk>")
TARGET_SPECIALS = ("<pad>", "<bos>", "<eos>")
PAD, BOS, EOS = 0, 1, 2          # the ids of TARGET_SPECIALS (and <pad> of SOURCE_SPECIALS)


def _check_vocab(name: str, vocab: object, specials: tuple[str, ...]) -> CharVocab:
    if not isinstance(vocab, CharVocab):
        raise TypeError(f"{name} must be a utils.text.CharVocab, got {type(vocab).__name__}")
    if vocab.specials[:len(specials)] != specials:
        raise ValueError(f"{name} must be built with specials={specials} (so that <pad> is id "
                         f"0), got specials={vocab.specials}")
    return vocab


def _check_ids(name: str, ids: object, dims: int, shape: str,
               vocab_size: int | None = None) -> torch.Tensor:
    """``ids`` as a non-empty LongTensor of ``dims`` dimensions, each id in
    ``[0, vocab_size - 1]`` when ``vocab_size`` is given; a clear error otherwise."""
    if not isinstance(ids, torch.Tensor):
        raise TypeError(f"{name} must be a LongTensor of shape {shape}, got "
                        f"{type(ids).__name__}")
    if ids.dtype != torch.long:
        raise TypeError(f"{name} must hold token ids of dtype torch.long, got {ids.dtype}")
    if ids.dim() != dims or 0 in ids.shape:
        raise ValueError(f"{name} must have shape {shape}, non-empty, got {tuple(ids.shape)}")
    if vocab_size is not None:
        bad = (ids < 0) | (ids >= vocab_size)
        if bad.any():
            raise ValueError(f"{name} must hold ids in [0, {vocab_size - 1}] (a vocabulary of "
                             f"{vocab_size}), got id {int(ids[bad][0])}")
    return ids


@dataclass(frozen=True)
class PairData:
    """Encoded ``(source, target)`` pairs, padded: ``src`` ``(N, S)`` with ``<pad>`` after
    each ``src_lengths[n]``; ``tgt_in`` ``(N, T)`` is ``<bos>`` + target (``<pad>`` after it),
    ``tgt_out`` ``(N, T)`` is target + ``<eos>`` (``IGNORE_INDEX`` after it): at step t the
    decoder reads ``tgt_in[:, t]`` and must predict ``tgt_out[:, t]``. ``sources`` and
    ``targets`` keep the strings."""
    src: torch.Tensor
    src_lengths: torch.Tensor
    tgt_in: torch.Tensor
    tgt_out: torch.Tensor
    sources: tuple[str, ...]
    targets: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.sources)

    @cached_property
    def by_length(self) -> dict[int, torch.Tensor]:
        """The row indices of the sources of each length."""
        return {int(n): (self.src_lengths == n).nonzero()[:, 0]
                for n in self.src_lengths.unique()}

    def same_length_batch(self, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        """Row indices of ``batch_size`` random sources that all have one length (drawn with
        replacement, the length with the probability of a random row's): a batch without
        padding, which the encoder runs without packing."""
        first = int(torch.randint(len(self), (1,), generator=generator))
        rows = self.by_length[int(self.src_lengths[first])]
        return rows[torch.randint(len(rows), (batch_size,), generator=generator)]

    def batch(self, index: torch.Tensor | slice) -> tuple[torch.Tensor, ...]:
        """``(src, src_lengths, tgt_in, tgt_out)`` of the rows ``index``, the source trimmed
        to the longest source among them."""
        lengths = self.src_lengths[index]
        width = int(lengths.max())
        return self.src[index, :width], lengths, self.tgt_in[index], self.tgt_out[index]


def encode_pairs(pairs: Sequence[tuple[str, str]], src_vocab: CharVocab,
                 tgt_vocab: CharVocab) -> PairData:
    """Encode and pad ``(source, target)`` string pairs into a :class:`PairData`."""
    _check_vocab("src_vocab", src_vocab, SOURCE_SPECIALS)
    _check_vocab("tgt_vocab", tgt_vocab, TARGET_SPECIALS)
    if isinstance(pairs, (str, bytes)) or not isinstance(pairs, Sequence) or not pairs:
        raise ValueError(f"pairs must be a non-empty list of (source, target) strings, got "
                         f"{type(pairs).__name__}")
    for index, pair in enumerate(pairs):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2
                and all(isinstance(s, str) and s for s in pair)):
            raise TypeError(f"pairs[{index}] must be a (source, target) pair of non-empty "
                            f"strings, got {pair!r}")
    src, src_lengths = pad_batch([src_vocab.encode(s) for s, _ in pairs], PAD)
    tgt_in, _ = pad_batch([tgt_vocab.encode(t, bos=True) for _, t in pairs], PAD)
    tgt_out, _ = pad_batch([tgt_vocab.encode(t, eos=True) for _, t in pairs], IGNORE_INDEX)
    return PairData(src, src_lengths, tgt_in, tgt_out, tuple(s for s, _ in pairs),
                    tuple(t for _, t in pairs))


class Encoder(nn.Module):
    """Source ids -> embedding -> LSTM, run on the real characters only (packed).

    ``forward(src, lengths)`` returns ``memory`` ``(B, S, D * H)`` (the top layer's output at
    every source position, zeros after each length: what attention reads) and the final
    ``(h_n, c_n)``, each ``(D * num_layers, B, H)``, every sequence's own final state."""

    def __init__(self, vocab_size: int, embed_size: int, hidden_size: int, num_layers: int = 1,
                 bidirectional: bool = True):
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("embed_size", embed_size),
                            ("hidden_size", hidden_size), ("num_layers", num_layers)):
            check_int(name, value)
        if not isinstance(bidirectional, bool):
            raise TypeError(f"bidirectional must be a bool, got {type(bidirectional).__name__}")
        self.embed = nn.Embedding(vocab_size, embed_size, padding_idx=PAD)
        self.lstm = nn.LSTM(embed_size, hidden_size, num_layers, batch_first=True,
                            bidirectional=bidirectional)

    def forward(self, src: torch.Tensor, lengths: torch.Tensor):
        _check_ids("src", src, 2, "(batch, src_len)", self.embed.num_embeddings)
        lengths = check_lengths(lengths, src.shape[0], src.shape[1])
        if bool((lengths == src.shape[1]).all()):   # no padding: packing would change nothing
            return self.lstm(self.embed(src))
        return run_packed(self.lstm, self.embed(src), lengths)


def bridge_state(h_n: torch.Tensor, c_n: torch.Tensor, num_layers: int, bidirectional: bool
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """The encoder's final ``(h_n, c_n)`` as the decoder's initial ``(h_0, c_0)``.

    A unidirectional encoder's state passes unchanged. A bidirectional encoder's is
    ``(2 * num_layers, B, H)``, ordered layer by layer, forward before backward; for each layer
    the forward and backward states are concatenated: ``(num_layers, B, 2H)``, so
    ``h_0[l, :, :H]`` is layer l's forward final state and ``h_0[l, :, H:]`` its backward one.
    """
    if not isinstance(bidirectional, bool):
        raise TypeError(f"bidirectional must be a bool, got {type(bidirectional).__name__}")
    check_int("num_layers", num_layers)
    directions = 2 if bidirectional else 1
    for name, state in (("h_n", h_n), ("c_n", c_n)):
        if not isinstance(state, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(state).__name__}")
        if state.dim() != 3 or state.shape[0] != directions * num_layers:
            raise ValueError(f"{name} of an encoder with num_layers={num_layers}, "
                             f"bidirectional={bidirectional} must have shape "
                             f"({directions * num_layers}, batch, hidden), got "
                             f"{tuple(state.shape)}")
    if h_n.shape != c_n.shape:
        raise ValueError(f"h_n and c_n must have the same shape, got {tuple(h_n.shape)} and "
                         f"{tuple(c_n.shape)}")
    if not bidirectional:
        return h_n, c_n
    _, batch, hidden = h_n.shape

    def join(state: torch.Tensor) -> torch.Tensor:
        by_layer = state.view(num_layers, 2, batch, hidden)
        return torch.cat([by_layer[:, 0], by_layer[:, 1]], dim=-1)

    return join(h_n), join(c_n)


class LuongAttention(nn.Module):
    """Multiplicative ("general") attention, Luong, Pham & Manning (2015).

    For a decoder output ``h_t`` and the encoder's outputs ``s_j``: scores
    ``e_tj = h_t^T W_a s_j``; weights ``a_t = softmax_j(e_tj)`` over the real source positions
    only (a padded position's score is set to ``-inf``, so its weight is exactly 0); context
    ``c_t = sum_j a_tj s_j``. ``forward(query (B, T, Hq), memory (B, S, M), mask (B, S))``
    returns ``(context (B, T, M), weights (B, T, S))``; each row of weights sums to 1."""

    def __init__(self, query_size: int, memory_size: int):
        super().__init__()
        check_int("query_size", query_size)
        check_int("memory_size", memory_size)
        self.W_a = nn.Linear(memory_size, query_size, bias=False)

    def forward(self, query: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor):
        for name, value in (("query", query), ("memory", memory), ("mask", mask)):
            if not isinstance(value, torch.Tensor):
                raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
        query_size, memory_size = self.W_a.out_features, self.W_a.in_features
        if query.dim() != 3 or memory.dim() != 3 or query.shape[0] != memory.shape[0] \
                or query.shape[-1] != query_size or memory.shape[-1] != memory_size:
            raise ValueError(f"query must be (batch, tgt_len, {query_size}) and memory (batch, "
                             f"src_len, {memory_size}) with the same batch, got query "
                             f"{tuple(query.shape)} and memory {tuple(memory.shape)}")
        if mask.dtype != torch.bool or mask.shape != memory.shape[:2]:
            raise ValueError(f"mask must be a bool tensor of shape {tuple(memory.shape[:2])} "
                             f"(True at real source positions), got {mask.dtype} "
                             f"{tuple(mask.shape)}")
        empty = ~mask.any(1)
        if empty.any():
            raise ValueError(f"every row of mask needs at least one True (a real source "
                             f"position), got none in row {int(empty.nonzero()[0])}: its "
                             "softmax over no position would be NaN")
        scores = query @ self.W_a(memory).transpose(1, 2)              # (B, T, S)
        scores = scores.masked_fill(~mask.unsqueeze(1), float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        return weights @ memory, weights


class Decoder(nn.Module):
    """Target ids -> embedding -> LSTM -> (attention) -> logits over the target vocabulary.

    Without attention the logits are ``out(h_t)``: everything the decoder knows about the
    source came through its initial state. With attention they are
    ``out(tanh(combine([h_t; c_t])))``, ``c_t`` the context vector of :class:`LuongAttention`
    (Luong's "attentional hidden state"). ``forward`` reads ``tokens`` ``(B, T)`` in one call
    (teacher forcing: the true previous tokens) and returns ``(logits (B, T, V), state,
    weights (B, T, S) or None)``; ``step`` does the same for one token ``(B,)``."""

    def __init__(self, vocab_size: int, embed_size: int, hidden_size: int, memory_size: int,
                 num_layers: int = 1, attention: bool = True):
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("embed_size", embed_size),
                            ("hidden_size", hidden_size), ("memory_size", memory_size),
                            ("num_layers", num_layers)):
            check_int(name, value)
        if not isinstance(attention, bool):
            raise TypeError(f"attention must be a bool, got {type(attention).__name__}")
        self.embed = nn.Embedding(vocab_size, embed_size, padding_idx=PAD)
        self.lstm = nn.LSTM(embed_size, hidden_size, num_layers, batch_first=True)
        self.attention = LuongAttention(hidden_size, memory_size) if attention else None
        self.combine = nn.Linear(hidden_size + memory_size, hidden_size) if attention else None
        self.out = nn.Linear(hidden_size, vocab_size)

    def check_state(self, state: object, batch: int) -> None:
        """Refuse an initial state of the wrong shape, naming both shapes."""
        expected = (self.lstm.num_layers, batch, self.lstm.hidden_size)
        if not (isinstance(state, tuple) and len(state) == 2
                and all(isinstance(s, torch.Tensor) for s in state)):
            raise TypeError(f"state must be a tuple (h, c) of tensors of shape {expected}, got "
                            f"{type(state).__name__}")
        for name, s in zip("hc", state, strict=True):
            if tuple(s.shape) != expected:
                raise ValueError(f"the decoder's initial {name} must have shape {expected} "
                                 f"(num_layers, batch, hidden_size), got {tuple(s.shape)}; "
                                 "from a bidirectional encoder use bridge_state")

    def forward(self, tokens: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor],
                memory: torch.Tensor, mask: torch.Tensor):
        _check_ids("tokens", tokens, 2, "(batch, tgt_len)", self.embed.num_embeddings)
        self.check_state(state, tokens.shape[0])
        h, state = self.lstm(self.embed(tokens), state)                 # (B, T, H)
        if self.attention is None:
            return self.out(h), state, None
        context, weights = self.attention(h, memory, mask)
        attentional = torch.tanh(self.combine(torch.cat([h, context], dim=-1)))
        return self.out(attentional), state, weights

    def step(self, token: torch.Tensor, state, memory, mask):
        """One decoding step: ``token`` ``(B,)`` -> logits ``(B, V)``, state, weights
        ``(B, S)`` or ``None``."""
        _check_ids("token", token, 1, "(batch,)", self.embed.num_embeddings)
        logits, state, weights = self(token.unsqueeze(1), state, memory, mask)
        return logits[:, 0], state, None if weights is None else weights[:, 0]


@dataclass(frozen=True)
class Encoded:
    """What the decoder needs from the encoder: ``memory`` ``(B, S, D * H)``, ``mask``
    ``(B, S)`` (True at real source positions) and the bridged initial ``state``."""
    memory: torch.Tensor
    mask: torch.Tensor
    state: tuple[torch.Tensor, torch.Tensor]


class Seq2Seq(nn.Module):
    """An encoder-decoder: :class:`Encoder` -> :func:`bridge_state` -> :class:`Decoder`.

    The decoder has ``D * hidden_size`` units (``D = 2`` when bidirectional) and as many
    layers as the encoder, so the bridged state fits it. ``forward(src, src_lengths, tgt_in)``
    is teacher forcing: logits ``(B, T, V)`` for every target position in one call, and the
    attention weights ``(B, T, S)`` (``None`` without attention)."""

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, embed_size: int = 32,
                 hidden_size: int = 64, num_layers: int = 1, bidirectional: bool = True,
                 attention: bool = True):
        super().__init__()
        self.encoder = Encoder(src_vocab_size, embed_size, hidden_size, num_layers,
                               bidirectional)
        self.bidirectional, self.num_layers = bidirectional, num_layers
        width = (2 if bidirectional else 1) * hidden_size
        self.decoder = Decoder(tgt_vocab_size, embed_size, width, width, num_layers, attention)

    @property
    def has_attention(self) -> bool:
        return self.decoder.attention is not None

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> Encoded:
        memory, (h_n, c_n) = self.encoder(src, src_lengths)
        lengths = check_lengths(src_lengths, src.shape[0], src.shape[1])
        mask = (torch.arange(src.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)).to(src.device)
        return Encoded(memory, mask, bridge_state(h_n, c_n, self.num_layers, self.bidirectional))

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor):
        encoded = self.encode(src, src_lengths)
        _check_ids("tgt_in", tgt_in, 2, "(batch, tgt_len)", self.decoder.embed.num_embeddings)
        if tgt_in.shape[0] != src.shape[0]:
            raise ValueError(f"tgt_in must have the source's batch size {src.shape[0]}, got "
                             f"shape {tuple(tgt_in.shape)}")
        logits, _, weights = self.decoder(tgt_in, encoded.state, encoded.memory, encoded.mask)
        return logits, weights


def masked_token_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The mean cross-entropy over the real target tokens only.

    ``logits`` ``(B, T, V)``, ``targets`` ``(B, T)`` with ``IGNORE_INDEX`` (-100) at padded
    positions; equal to the sum of ``-log p(target)`` over real tokens divided by their number
    (``F.cross_entropy(..., ignore_index=IGNORE_INDEX)``)."""
    for name, value in (("logits", logits), ("targets", targets)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if logits.dim() != 3 or targets.shape != logits.shape[:2]:
        raise ValueError(f"logits must be (batch, tgt_len, vocab) and targets (batch, tgt_len), "
                         f"got {tuple(logits.shape)} and {tuple(targets.shape)}")
    if targets.dtype != torch.long:
        raise TypeError(f"targets must hold class ids of dtype torch.long, got {targets.dtype}")
    real = targets != IGNORE_INDEX
    if not real.any():
        raise ValueError("targets has no real token (every entry is IGNORE_INDEX)")
    bad = real & ((targets < 0) | (targets >= logits.shape[-1]))
    if bad.any():
        raise ValueError(f"targets holds id {int(targets[bad][0])}, outside [0, "
                         f"{logits.shape[-1] - 1}] (pad with IGNORE_INDEX = {IGNORE_INDEX})")
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=IGNORE_INDEX)


def decoder_inputs(tgt_out: torch.Tensor) -> torch.Tensor:
    """The teacher-forced decoder inputs of targets ``tgt_out`` ``(B, T)`` (``<eos>`` at the
    end, ``IGNORE_INDEX`` after it): ``<bos>`` followed by the targets shifted right by one,
    ``<pad>`` after the last real input (``<eos>`` is never an input)."""
    _check_ids("tgt_out", tgt_out, 2, "(batch, tgt_len)")
    shifted = torch.cat([torch.full_like(tgt_out[:, :1], BOS), tgt_out[:, :-1]], dim=1)
    return shifted.masked_fill((shifted == IGNORE_INDEX) | (shifted == EOS), PAD)


def _ratio_at(teacher_forcing: float | Callable[[int], float], step: int) -> float:
    ratio = teacher_forcing(step) if callable(teacher_forcing) else teacher_forcing
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)):
        raise TypeError(f"the teacher-forcing ratio must be a number in [0, 1] (or a function "
                        f"of the step returning one), got {type(ratio).__name__} ({ratio!r}) "
                        f"at step {step}")
    if not 0 <= ratio <= 1:
        raise ValueError(f"the teacher-forcing ratio must be a number in [0, 1], got "
                         f"{ratio!r} at step {step}")
    return float(ratio)


def _check_positive(name: str, value: object, *, allow_none: bool = False) -> float | None:
    """A finite number > 0 (or ``None`` when allowed); a clear error otherwise."""
    if value is None and allow_none:
        return None
    expected = "a finite number > 0" + (" or None" if allow_none else "")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be {expected}, got {type(value).__name__} ({value!r})")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return float(value)


def _free_running_logits(model: Seq2Seq, src, src_lengths, tgt_in, ratio: float,
                         generator: torch.Generator) -> torch.Tensor:
    """Training logits when each position's input is the true previous token with probability
    ``ratio`` and the model's own previous prediction (its argmax, no gradient) otherwise."""
    encoded = model.encode(src, src_lengths)
    state, token, steps = encoded.state, tgt_in[:, 0], []
    for t in range(tgt_in.shape[1]):
        logits, state, _ = model.decoder.step(token, state, encoded.memory, encoded.mask)
        steps.append(logits)
        if t + 1 < tgt_in.shape[1]:
            coin = torch.rand(tgt_in.shape[0], generator=generator) < ratio
            token = torch.where(coin, tgt_in[:, t + 1], logits.detach().argmax(-1))
    return torch.stack(steps, dim=1)


def train_seq2seq(model: Seq2Seq, data: PairData, *, steps: int, batch_size: int = 256,
                  lr: float = 3e-3, teacher_forcing: float | Callable[[int], float] = 1.0,
                  max_norm: float | None = 1.0, same_length: bool = True, seed: int = 0,
                  log_every: int = 50) -> list[tuple[int, float]]:
    """Train ``model`` for exactly ``steps`` Adam steps on random batches of ``data``.

    ``teacher_forcing`` is the probability that the decoder reads the true previous token
    (1.0: teacher forcing, the whole target in one call), or a function of the step (0-based)
    returning it: scheduled sampling (Bengio et al., 2015), where the other inputs are the
    model's own argmax predictions. ``same_length`` draws every batch from sources of one
    length (:meth:`PairData.same_length_batch`): no padding, so the encoder needs no packing,
    which on a CPU costs about twice the time of the plain call. ``lr`` and ``max_norm`` (the
    gradient-norm clip, ``None`` for none) must be finite and > 0. Returns
    ``(step, mean training loss)`` every ``log_every`` steps. The batches are drawn with
    ``seed``, so a rerun trains the same model. The coin flips of a ratio below 1 are drawn
    from the same generator, so two runs with different ratios see different batches after
    the first such step."""
    if not isinstance(model, Seq2Seq):
        raise TypeError(f"model must be a Seq2Seq, got {type(model).__name__}")
    if not isinstance(data, PairData):
        raise TypeError(f"data must be a PairData (encode_pairs), got {type(data).__name__}")
    check_int("steps", steps)
    check_int("batch_size", batch_size)
    check_int("log_every", log_every)
    lr = _check_positive("lr", lr)
    # clip_grad_norm_ with a negative max_norm flips every gradient (the loss climbs), and
    # with 0 zeroes them (nothing is learnt): refuse both
    max_norm = _check_positive("max_norm", max_norm, allow_none=True)
    if not isinstance(same_length, bool):
        raise TypeError(f"same_length must be a bool, got {type(same_length).__name__}")
    _ratio_at(teacher_forcing, 0)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history, running = [], []
    model.train()
    for step in range(steps):
        index = (data.same_length_batch(batch_size, generator) if same_length
                 else torch.randint(len(data), (batch_size,), generator=generator))
        src, lengths, tgt_in, tgt_out = data.batch(index)
        ratio = _ratio_at(teacher_forcing, step)
        if ratio == 1.0:
            logits, _ = model(src, lengths, tgt_in)
        else:
            logits = _free_running_logits(model, src, lengths, tgt_in, ratio, generator)
        loss = masked_token_loss(logits, tgt_out)
        optimizer.zero_grad()
        loss.backward()
        if max_norm is not None:
            nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        running.append(loss.item())
        if (step + 1) % log_every == 0 or step + 1 == steps:
            history.append((step + 1, sum(running) / len(running)))
            running = []
    model.eval()
    return history


def _next_log_probs(logits: torch.Tensor) -> torch.Tensor:
    """log-softmax over the whole vocabulary, then ``-inf`` for ``<pad>`` and ``<bos>``, which
    a decoder never emits (not renormalised: a sequence's total is its teacher-forced one)."""
    log_probs = torch.log_softmax(logits, dim=-1)
    log_probs[..., PAD] = float("-inf")
    log_probs[..., BOS] = float("-inf")
    return log_probs


def _check_model_inputs(model: object, src: object, src_lengths: object, max_len: object):
    if not isinstance(model, Seq2Seq):
        raise TypeError(f"model must be a Seq2Seq, got {type(model).__name__}")
    _check_ids("src", src, 2, "(batch, src_len)", model.encoder.embed.num_embeddings)
    check_int("max_len", max_len)
    return check_lengths(src_lengths, src.shape[0], src.shape[1])


@dataclass(frozen=True)
class Decoded:
    """A decoding of a batch: ``tokens`` ``(B, L)`` (``<eos>`` included, ``<pad>`` after it),
    ``log_prob`` ``(B,)`` the total log-probability of each output, ``lengths`` ``(B,)`` its
    number of tokens, ``weights`` ``(B, L, S)`` the attention at each output step (``None``
    without attention)."""
    tokens: torch.Tensor
    log_prob: torch.Tensor
    lengths: torch.Tensor
    weights: torch.Tensor | None


@torch.no_grad()
def greedy_decode(model: Seq2Seq, src: torch.Tensor, src_lengths: torch.Tensor,
                  max_len: int = 12) -> Decoded:
    """Feed the model its own most likely token at every step until ``<eos>`` (or
    ``max_len`` tokens): free running, the way the model is used."""
    _check_model_inputs(model, src, src_lengths, max_len)
    model.eval()
    encoded = model.encode(src, src_lengths)
    batch = src.shape[0]
    token, state = torch.full((batch,), BOS, dtype=torch.long), encoded.state
    finished = torch.zeros(batch, dtype=torch.bool)
    total, tokens, weights = torch.zeros(batch), [], []
    for _ in range(max_len):
        logits, state, step_weights = model.decoder.step(token, state, encoded.memory,
                                                         encoded.mask)
        log_probs = _next_log_probs(logits)
        token = log_probs.argmax(-1)
        total += torch.where(finished, 0.0, log_probs.gather(1, token[:, None])[:, 0])
        token = token.masked_fill(finished, PAD)
        tokens.append(token)
        if step_weights is not None:
            weights.append(step_weights)
        finished |= token == EOS
        if finished.all():
            break
    tokens = torch.stack(tokens, dim=1)
    return Decoded(tokens, total, (tokens != PAD).sum(1),
                   torch.stack(weights, dim=1) if weights else None)


@torch.no_grad()
def teacher_forced_predictions(model: Seq2Seq, src: torch.Tensor, src_lengths: torch.Tensor,
                               tgt_in: torch.Tensor) -> torch.Tensor:
    """The most likely token at every target position when the decoder reads the *true*
    previous tokens ``tgt_in``: ``(B, T)`` (``<pad>`` and ``<bos>`` never chosen)."""
    model.eval()
    logits, _ = model(src, src_lengths, tgt_in)
    return _next_log_probs(logits).argmax(-1)


@torch.no_grad()
def sequence_log_prob(model: Seq2Seq, src: torch.Tensor, src_lengths: torch.Tensor,
                      tgt_out: torch.Tensor) -> torch.Tensor:
    """The total log-probability ``sum_t log p(y_t | y_<t, source)`` of given outputs
    ``tgt_out`` ``(B, T)`` (``<eos>`` included, ``IGNORE_INDEX`` after it), by teacher forcing:
    ``(B,)``."""
    model.eval()
    logits, _ = model(src, src_lengths, decoder_inputs(tgt_out))
    log_probs = torch.log_softmax(logits, dim=-1)
    real = tgt_out != IGNORE_INDEX
    picked = log_probs.gather(2, tgt_out.clamp(min=0).unsqueeze(-1))[..., 0]
    return (picked * real).sum(1)


@dataclass(frozen=True)
class BeamResult:
    """The outcome of :func:`beam_search` for a batch: the best output of each source
    (``tokens`` ``(B, L)``, ``log_prob``, ``score`` = ``log_prob / length ** length_penalty``,
    ``lengths``) and the whole final beam (``beam_tokens`` ``(B, K, L)``, ``beam_log_prob``
    and ``beam_finished`` ``(B, K)``)."""
    tokens: torch.Tensor
    log_prob: torch.Tensor
    score: torch.Tensor
    lengths: torch.Tensor
    beam_tokens: torch.Tensor
    beam_log_prob: torch.Tensor
    beam_finished: torch.Tensor


def _normalised(log_prob: torch.Tensor, lengths: torch.Tensor, length_penalty: float):
    return log_prob / lengths.clamp(min=1).to(log_prob.dtype) ** length_penalty


def _check_penalty(length_penalty: object) -> float:
    if isinstance(length_penalty, bool) or not isinstance(length_penalty, (int, float)):
        raise TypeError(f"length_penalty must be a finite number >= 0, got "
                        f"{type(length_penalty).__name__} ({length_penalty!r})")
    if not math.isfinite(length_penalty) or length_penalty < 0:
        raise ValueError(f"length_penalty must be a finite number >= 0, got {length_penalty!r}")
    return float(length_penalty)


@torch.no_grad()
def beam_search(model: Seq2Seq, src: torch.Tensor, src_lengths: torch.Tensor, width: int,
                max_len: int = 12, length_penalty: float = 0.0, chunk: int = 500) -> BeamResult:
    """Keep the ``width`` most probable prefixes at every step, for every source at once.

    Each step extends every prefix in the beam by every token, adds the token's
    log-probability to the prefix's, and keeps the ``width`` best of the ``width * V``
    candidates. A prefix that has written ``<eos>`` is finished: its only continuation is
    ``<pad>`` at no cost, so it keeps its log-probability and competes for a place in the beam
    with the unfinished ones. After ``max_len`` steps (or when all are finished) the output is
    the finished hypothesis with the best ``log_prob / length ** length_penalty`` (0: the raw
    log-probability, which favours short outputs because every token lowers it). A source
    whose beam finished nothing returns its best unfinished prefix. Width 1 is greedy.
    The sources are searched ``chunk`` at a time (the beams of all of them at once would hold
    ``width`` copies of every encoding); the results are the same."""
    lengths = _check_model_inputs(model, src, src_lengths, max_len)
    check_int("width", width)
    check_int("chunk", chunk)
    length_penalty = _check_penalty(length_penalty)
    model.eval()
    if src.shape[0] > chunk:
        parts = [beam_search(model, src[start:start + chunk], lengths[start:start + chunk],
                             width, max_len, length_penalty, chunk)
                 for start in range(0, src.shape[0], chunk)]
        steps = max(part.tokens.shape[1] for part in parts)

        def pad(tokens: torch.Tensor) -> torch.Tensor:
            return F.pad(tokens, (0, steps - tokens.shape[-1]), value=PAD)

        return BeamResult(*(torch.cat([pad(getattr(part, name)) if "tokens" in name
                                       else getattr(part, name) for part in parts])
                            for name in BeamResult.__dataclass_fields__))
    batch, k = src.shape[0], width
    # every source's encoding, repeated once per beam: row b * k + j is beam j of source b
    encoded = model.encode(src.repeat_interleave(k, 0), lengths.repeat_interleave(k, 0))
    memory, mask, state = encoded.memory, encoded.mask, encoded.state
    log_prob = torch.full((batch, k), float("-inf"))
    log_prob[:, 0] = 0.0                                   # one live prefix at the start: <bos>
    tokens = torch.empty(batch, k, 0, dtype=torch.long)
    finished = torch.zeros(batch, k, dtype=torch.bool)
    token = torch.full((batch * k,), BOS, dtype=torch.long)
    for _ in range(max_len):
        logits, state, _ = model.decoder.step(token, state, memory, mask)
        step = _next_log_probs(logits).view(batch, k, -1)            # (B, K, V)
        vocab = step.shape[-1]
        after_eos = torch.full((vocab,), float("-inf"))
        after_eos[PAD] = 0.0
        step = torch.where(finished.unsqueeze(-1), after_eos, step)
        candidates = (log_prob.unsqueeze(-1) + step).view(batch, k * vocab)
        log_prob, best = candidates.topk(k, dim=1)                    # (B, K)
        parent, token = best // vocab, best % vocab
        tokens = torch.cat([tokens.gather(1, parent.unsqueeze(-1).expand_as(tokens)),
                            token.unsqueeze(-1)], dim=2)
        finished = finished.gather(1, parent) | (token == EOS)
        rows = (parent + torch.arange(batch).unsqueeze(1) * k).flatten()
        state = tuple(s[:, rows] for s in state)
        token = token.flatten()
        if finished.all():
            break
    out_lengths = (tokens != PAD).sum(2)
    score = _normalised(log_prob, out_lengths, length_penalty)
    score = torch.where(finished | ~finished.any(1, keepdim=True), score, float("-inf"))
    choice = score.argmax(1)
    pick = torch.arange(batch)
    return BeamResult(tokens[pick, choice], log_prob[pick, choice], score[pick, choice],
                      out_lengths[pick, choice], tokens, log_prob, finished)


@torch.no_grad()
def exhaustive_search(model: Seq2Seq, src: torch.Tensor, src_lengths: torch.Tensor,
                      max_len: int, length_penalty: float = 0.0, limit: int = 200_000):
    """Score *every* output of at most ``max_len`` tokens that ends with its first ``<eos>``
    and return the best: ``(tokens (L,), log_prob, score)`` for the single source ``src``
    ``(1, S)``. Only for a tiny vocabulary and length: the number of outputs is
    ``sum_{n < max_len} V^n`` for ``V`` writable tokens, refused above ``limit``."""
    _check_model_inputs(model, src, src_lengths, max_len)
    length_penalty = _check_penalty(length_penalty)
    if src.shape[0] != 1:
        raise ValueError(f"src must be one source, shape (1, src_len), got {tuple(src.shape)}")
    vocab = model.decoder.out.out_features
    writable = [t for t in range(vocab) if t not in (PAD, BOS, EOS)]
    count = sum(len(writable) ** n for n in range(max_len))
    if count > limit:
        raise ValueError(f"exhaustive search would score {count:,} outputs ({len(writable)} "
                         f"writable tokens, max_len={max_len}), more than limit={limit:,}")
    outputs = [list(body) + [EOS] for n in range(max_len) for body in product(writable, repeat=n)]
    padded = torch.full((len(outputs), max_len), IGNORE_INDEX, dtype=torch.long)
    for row, output in enumerate(outputs):
        padded[row, :len(output)] = torch.tensor(output)
    log_prob = sequence_log_prob(model, src.expand(len(outputs), -1),
                                 check_lengths(src_lengths, 1, src.shape[1]).expand(len(outputs)),
                                 padded)
    lengths = torch.tensor([len(output) for output in outputs])
    score = _normalised(log_prob, lengths, length_penalty)
    best = int(score.argmax())
    return torch.tensor(outputs[best]), log_prob[best], score[best]


def to_strings(tokens: torch.Tensor, tgt_vocab: CharVocab) -> list[str]:
    """Each row of output ids ``(B, L)`` as text, up to its first ``<eos>`` (specials
    dropped)."""
    _check_vocab("tgt_vocab", tgt_vocab, TARGET_SPECIALS)
    _check_ids("tokens", tokens, 2, "(batch, length)", len(tgt_vocab))
    strings = []
    for row in tokens.tolist():
        if EOS in row:
            row = row[:row.index(EOS)]
        strings.append(tgt_vocab.decode(row, skip_specials=True))
    return strings


def exact_match(predictions: Sequence[str], targets: Sequence[str]) -> float:
    """The fraction of outputs equal to their target, character for character: a date with
    one wrong digit is a wrong date, so this, not the token accuracy, is the metric."""
    for name, strings in (("predictions", predictions), ("targets", targets)):
        if isinstance(strings, str) or not isinstance(strings, Sequence) \
                or not all(isinstance(s, str) for s in strings):
            raise TypeError(f"{name} must be a list of strings, got {type(strings).__name__}")
    if len(predictions) != len(targets) or not targets:
        raise ValueError(f"predictions and targets must be non-empty and of equal length, got "
                         f"{len(predictions)} and {len(targets)}")
    return sum(p == t for p, t in zip(predictions, targets, strict=True)) / len(targets)


def translate(model: Seq2Seq, sources: Sequence[str], src_vocab: CharVocab,
              tgt_vocab: CharVocab, max_len: int = 12, batch_size: int = 1000):
    """Greedy outputs for a list of source strings: ``(strings, Decoded of the last batch)``
    when one batch, else ``(strings, None)``. Characters outside ``src_vocab`` read as
    ``<unk>``."""
    _check_vocab("src_vocab", src_vocab, SOURCE_SPECIALS)
    _check_vocab("tgt_vocab", tgt_vocab, TARGET_SPECIALS)
    check_int("batch_size", batch_size)
    if isinstance(sources, str) or not isinstance(sources, Sequence) or not sources \
            or not all(isinstance(s, str) and s for s in sources):
        if isinstance(sources, str) or not isinstance(sources, Sequence):
            got = type(sources).__name__
        elif not sources:
            got = "an empty list"
        else:
            got = "an entry " + next(repr(s) for s in sources if not (isinstance(s, str) and s))
        raise TypeError(f"sources must be a non-empty list of non-empty strings, got {got}")
    strings, decoded = [], None
    for start in range(0, len(sources), batch_size):
        chunk = sources[start:start + batch_size]
        src, lengths = pad_batch([src_vocab.encode(s) for s in chunk], PAD)
        decoded = greedy_decode(model, src, lengths, max_len)
        strings += to_strings(decoded.tokens, tgt_vocab)
    return strings, decoded if len(sources) <= batch_size else None


@dataclass(frozen=True)
class Evaluation:
    """A model on a data set, teacher-forced and free-running.

    ``loss``: the masked token loss with the true previous tokens as inputs;
    ``tf_correct`` ``(N, T)``: whether the teacher-forced argmax is the target token (False at
    padded positions); ``free_correct`` ``(N, T)``: whether greedy decoding's own output has the
    target token at that position; ``real`` ``(N, T)``: the real target positions;
    ``predictions``: the greedy outputs as strings; ``exact`` ``(N,)``: output == target."""
    loss: float
    tf_correct: torch.Tensor
    free_correct: torch.Tensor
    real: torch.Tensor
    predictions: list[str]
    exact: torch.Tensor

    @property
    def tf_token_accuracy(self) -> float:
        return float(self.tf_correct.sum() / self.real.sum())

    @property
    def free_token_accuracy(self) -> float:
        return float(self.free_correct.sum() / self.real.sum())

    @property
    def exact_match(self) -> float:
        return float(self.exact.float().mean())


@torch.no_grad()
def evaluate(model: Seq2Seq, data: PairData, tgt_vocab: CharVocab, batch_size: int = 1000
             ) -> Evaluation:
    """Score ``model`` on every pair of ``data``, teacher-forced and free-running (greedy)."""
    if not isinstance(data, PairData):
        raise TypeError(f"data must be a PairData (encode_pairs), got {type(data).__name__}")
    check_int("batch_size", batch_size)
    model.eval()
    losses, tf, free, predictions = [], [], [], []
    width = data.tgt_out.shape[1]
    for start in range(0, len(data), batch_size):
        src, lengths, tgt_in, tgt_out = data.batch(slice(start, start + batch_size))
        logits, _ = model(src, lengths, tgt_in)
        real = tgt_out != IGNORE_INDEX
        losses.append(masked_token_loss(logits, tgt_out).item() * int(real.sum()))
        tf.append((_next_log_probs(logits).argmax(-1) == tgt_out) & real)
        decoded = greedy_decode(model, src, lengths, max_len=width + 1)
        own = torch.full_like(tgt_out, PAD)
        n = min(width, decoded.tokens.shape[1])
        own[:, :n] = decoded.tokens[:, :n]
        free.append((own == tgt_out) & real)
        predictions += to_strings(decoded.tokens, tgt_vocab)
    real = data.tgt_out != IGNORE_INDEX
    exact = torch.tensor([p == t for p, t in zip(predictions, data.targets, strict=True)])
    return Evaluation(sum(losses) / int(real.sum()), torch.cat(tf), torch.cat(free), real,
                      predictions, exact)

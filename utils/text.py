"""Text as sequences of ids: a character vocabulary, the stream batch layout, and sampling.

- :class:`CharVocab` - the sorted characters of a corpus, ``encode`` a string to a
  ``LongTensor`` of ids and ``decode`` ids back; special tokens (``<pad>``, ``<unk>``,
  ``<bos>``, ``<eos>``) only when asked for, so a character model pays nothing for them.
- :func:`stream_batches` - one long id sequence cut into ``batch_size`` contiguous streams and
  served as ``(x, y)`` batches of shape ``(batch_size, seq_len)``, ``y`` being ``x`` shifted by
  one; row ``b`` of batch ``k + 1`` continues row ``b`` of batch ``k``, which is what makes a
  state carried from batch to batch meaningful (the layout of pytorch/examples' ``batchify``).
- :func:`sampling_probs` - the next-token distribution at a temperature, optionally
  restricted to the ``top_k`` largest logits; :func:`sample` draws a continuation of a prompt
  from any model with ``forward(ids, state) -> (logits, state)``.
- :func:`load_shakespeare` and :func:`split_text` - the shipped corpus, checked, and its fixed
  split: the first 90 % for training, the last 10 % for validation, in order.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .training import check_int

__all__ = ["SPECIAL_TOKENS", "CharVocab", "ids_as_list", "StreamBatches", "stream_batches", "sampling_probs",
           "sample", "SHAKESPEARE_SOURCE", "SHAKESPEARE_CHARS", "SHAKESPEARE_DISTINCT",
           "load_shakespeare", "split_text"]

DATASETS = Path(__file__).parent / "datasets"
SPECIAL_TOKENS = ("<pad>", "<unk>", "<bos>", "<eos>")
SHAKESPEARE_SOURCE = ("tiny Shakespeare: public-domain text of Shakespeare's plays, the common "
                      "char-RNN corpus (Karpathy, 2015)")
SHAKESPEARE_CHARS, SHAKESPEARE_DISTINCT = 1_115_394, 65


class CharVocab:
    """The distinct characters of ``text``, sorted, each with an id; optional special tokens.

    ``specials`` (any of ``SPECIAL_TOKENS``, in the order given) take the first ids, so
    ``CharVocab(text, specials=("<pad>", "<unk>"))`` gives ``<pad>`` id 0; the characters
    follow in sorted order. Without specials the ids are exactly the sorted characters' ranks.
    A character that is not in the vocabulary raises ``ValueError`` naming it and its position,
    unless the vocabulary has ``<unk>``: then it is encoded as ``<unk>``.
    """

    def __init__(self, text: str, specials: Sequence[str] = ()):
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        if not text:
            raise ValueError("text is empty: a vocabulary needs at least one character")
        if isinstance(specials, str) or not isinstance(specials, Iterable):
            raise TypeError(f"specials must be a tuple of tokens such as ('<pad>', '<unk>'), "
                            f"got {specials!r}")
        specials = tuple(specials)
        for token in specials:
            if token not in SPECIAL_TOKENS:
                raise ValueError(f"special tokens must be among {SPECIAL_TOKENS}, got {token!r}")
        if len(set(specials)) != len(specials):
            raise ValueError(f"specials repeats a token: {specials}")
        self.specials = specials
        self.chars = tuple(sorted(set(text)))
        self.tokens = specials + self.chars
        self._id = {token: index for index, token in enumerate(self.tokens)}
        self._char_id = {c: self._id[c] for c in self.chars}

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: object) -> bool:
        return token in self._id

    def __repr__(self) -> str:
        specials = f", specials {self.specials}" if self.specials else ""
        return f"CharVocab({len(self.chars)} characters{specials})"

    def token_id(self, token: str) -> int:
        """The id of one token: a character or a special token of this vocabulary."""
        if token not in self._id:
            raise ValueError(f"{token!r} is not in this vocabulary ({self!r})")
        return self._id[token]

    def encode(self, text: str, bos: bool = False, eos: bool = False) -> torch.Tensor:
        """The ids of ``text``'s characters as a 1-D ``LongTensor`` (``<bos>``/``<eos>``
        added at the ends when asked; the vocabulary must have them)."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        unk = self._id.get("<unk>")
        try:
            ids = [self._char_id[c] for c in text]
        except KeyError:
            if unk is None:
                position, char = next((k, c) for k, c in enumerate(text)
                                      if c not in self._char_id)
                raise ValueError(f"character {char!r} at position {position} is not in the "
                                 f"vocabulary of {len(self.chars)} characters; build it with "
                                 f"specials=('<unk>',) to encode unknown characters as <unk>"
                                 ) from None
            ids = [self._char_id.get(c, unk) for c in text]
        if bos:
            ids.insert(0, self.token_id("<bos>"))
        if eos:
            ids.append(self.token_id("<eos>"))
        return torch.tensor(ids, dtype=torch.long)

    def decode(self, ids: torch.Tensor | Sequence[int], skip_specials: bool = False) -> str:
        """The text of a 1-D sequence of ids (a tensor of integers or a list of ints).
        Special tokens appear as their names, e.g. ``<pad>``, or not at all with
        ``skip_specials=True``."""
        ids = ids_as_list(ids, "one sequence")
        bad = next((i for i in ids if not 0 <= i < len(self.tokens)), None)
        if bad is not None:
            raise ValueError(f"id {bad} is outside this vocabulary's range [0, {len(self) - 1}]")
        first_char = len(self.specials)
        return "".join(self.tokens[i] for i in ids if i >= first_char or not skip_specials)


def ids_as_list(ids: object, what: str = "one sequence") -> list[int]:
    """A 1-D sequence of token ids (an integer tensor or a list of ints) as a list of ints;
    anything else raises, naming what was expected and what came. Vocabularies' ``decode``
    use it (``what`` says what one row is: ``"one sequence"``, ``"one text"``)."""
    if isinstance(ids, torch.Tensor):
        if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
            raise TypeError(f"ids must be integers, got a tensor of dtype {ids.dtype}")
        if ids.dim() != 1:
            raise ValueError(f"ids must be 1-D ({what}), got shape {tuple(ids.shape)}")
        return ids.tolist()
    if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
        raise TypeError(f"ids must be a 1-D tensor or a list of ints, got {type(ids).__name__}")
    ids = list(ids)
    bad = next((i for i in ids if isinstance(i, bool) or not isinstance(i, numbers.Integral)),
               None)
    if bad is not None:
        raise TypeError(f"ids must be ints, got {bad!r} ({type(bad).__name__})")
    return ids


def _check_ids(ids: object, name: str = "ids") -> torch.Tensor:
    if not isinstance(ids, torch.Tensor):
        raise TypeError(f"{name} must be a 1-D tensor of token ids, got {type(ids).__name__}")
    if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer ids (torch.long), got dtype {ids.dtype}")
    if ids.dim() != 1:
        raise ValueError(f"{name} must be 1-D (one long sequence), got shape {tuple(ids.shape)}")
    return ids.long()


@dataclass(frozen=True)
class StreamBatches:
    """``batch_size`` contiguous streams of one long id sequence, served in ``seq_len`` slices.

    ``inputs`` and ``targets`` are the ``(batch_size, stream_len)`` streams (``targets`` is
    ``inputs`` shifted by one id); batch ``k`` is column slice ``k * seq_len : (k + 1) *
    seq_len`` of both. Iterating yields every batch in order; ``len`` is their number; the
    object can be iterated again (one pass per epoch)."""
    inputs: torch.Tensor
    targets: torch.Tensor
    seq_len: int

    def __len__(self) -> int:
        return self.inputs.shape[1] // self.seq_len

    def __getitem__(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        if isinstance(k, bool) or not isinstance(k, int):
            raise TypeError(f"batch index must be an int, got {type(k).__name__}")
        if not -len(self) <= k < len(self):
            raise IndexError(f"batch index {k} out of range for {len(self)} batches")
        k %= len(self)
        window = slice(k * self.seq_len, (k + 1) * self.seq_len)
        return self.inputs[:, window], self.targets[:, window]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for k in range(len(self)):
            yield self[k]

    def __repr__(self) -> str:
        return (f"StreamBatches({self.inputs.shape[0]} streams of {self.inputs.shape[1]:,} ids, "
                f"{len(self)} batches of ({self.inputs.shape[0]}, {self.seq_len}))")


def stream_batches(ids: torch.Tensor, batch_size: int, seq_len: int) -> StreamBatches:
    """Cut ``ids`` (1-D) into ``batch_size`` contiguous streams; batches of ``(x, y)``.

    Stream ``b`` holds ``ids[b * L : (b + 1) * L]`` with ``L = (len(ids) - 1) // batch_size``,
    and its targets the same slice shifted by one. Batch ``k`` is ``x = streams[:, k*T:(k+1)*T]``
    with ``T = seq_len``, so row ``b`` of batch ``k + 1`` starts where row ``b`` of batch ``k``
    stopped. The ids that do not fill a whole batch at the end of each stream are left out
    (fewer than ``seq_len`` per stream), as are the last ``(len(ids) - 1) % batch_size``."""
    ids = _check_ids(ids)
    batch_size = check_int("batch_size", batch_size)
    seq_len = check_int("seq_len", seq_len)
    needed = batch_size * seq_len + 1
    if len(ids) < needed:
        raise ValueError(f"ids has {len(ids):,} ids, too few for one batch: batch_size "
                         f"{batch_size} x seq_len {seq_len} needs at least {needed:,} "
                         f"(one more for the shifted targets)")
    stream_len = (len(ids) - 1) // batch_size
    used = batch_size * stream_len
    return StreamBatches(ids[:used].view(batch_size, stream_len),
                         ids[1:used + 1].view(batch_size, stream_len), seq_len)


def _check_temperature(temperature: object) -> float:
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real):
        raise TypeError(f"temperature must be a number, got {type(temperature).__name__} "
                        f"({temperature!r})")
    if not math.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be a finite number >= 0 (0 means greedy), "
                         f"got {temperature}")
    return float(temperature)


def _check_top_k(top_k: object, vocab_size: int) -> int | None:
    if top_k is None:
        return None
    if isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral):
        raise TypeError(f"top_k must be an int or None, got {type(top_k).__name__} ({top_k!r})")
    if not 1 <= top_k <= vocab_size:
        raise ValueError(f"top_k must be in [1, {vocab_size}] (the vocabulary size), "
                         f"got {top_k}")
    return int(top_k)


def sampling_probs(logits: torch.Tensor, temperature: float = 1.0,
                   top_k: int | None = None) -> torch.Tensor:
    """The next-token distribution: ``softmax(logits / temperature)`` over the last dimension,
    restricted to the ``top_k`` largest logits and renormalised (``None``: all of them).

    ``temperature = 0`` is greedy: all the mass on the argmax (the first, on a tie). A low
    temperature sharpens the distribution, a high one flattens it towards uniform. NaN or
    infinite logits raise ``ValueError`` with their count."""
    if not isinstance(logits, torch.Tensor):
        raise TypeError(f"logits must be a tensor (..., vocab_size), got {type(logits).__name__}")
    if not logits.is_floating_point():
        raise TypeError(f"logits must be floating point, got dtype {logits.dtype}")
    if logits.dim() == 0 or logits.shape[-1] == 0:
        raise ValueError(f"logits must have a non-empty last dimension (vocab_size), "
                         f"got shape {tuple(logits.shape)}")
    bad = (~torch.isfinite(logits)).sum().item()
    if bad:
        raise ValueError(f"logits must be finite: {bad} of {logits.numel()} are NaN or "
                         f"infinite (to rule a token out, use top_k or mask its probability)")
    temperature = _check_temperature(temperature)
    top_k = _check_top_k(top_k, logits.shape[-1])
    if temperature == 0:
        greedy = logits.argmax(dim=-1, keepdim=True)
        return torch.zeros_like(logits).scatter_(-1, greedy, 1.0)
    scaled = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        keep = torch.zeros_like(scaled, dtype=torch.bool)
        keep.scatter_(-1, scaled.topk(top_k, dim=-1).indices, True)
        scaled = scaled.masked_fill(~keep, float("-inf"))
    return torch.softmax(scaled, dim=-1)


def sample(model: nn.Module, vocab: CharVocab, prompt: str, length: int,
           temperature: float = 1.0, top_k: int | None = None,
           generator: torch.Generator | None = None) -> str:
    """The ``prompt`` followed by ``length`` characters drawn from ``model``.

    ``model(ids, state)`` takes ids of shape ``(1, t)`` and a state (``None`` to start from
    zeros) and returns ``(logits, state)`` with logits ``(1, t, len(vocab))``. The prompt is
    read in one call, which warms the state up; then each character is drawn from
    :func:`sampling_probs` of the last logits and fed back. A seeded ``torch.Generator``
    makes the draw reproducible. Generation stops early at ``<eos>`` if the vocabulary has it.
    Runs without autograd and in ``eval()`` mode, and puts the model's mode back afterwards."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module with forward(ids, state) -> (logits, "
                        f"state), got {type(model).__name__}")
    if not isinstance(vocab, CharVocab):
        raise TypeError(f"vocab must be a CharVocab, got {type(vocab).__name__}")
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a str, got {type(prompt).__name__}")
    if not prompt:
        raise ValueError("prompt is empty: give at least one character to start from")
    length = check_int("length", length, 0)
    _check_temperature(temperature)
    _check_top_k(top_k, len(vocab))
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, "
                        f"got {type(generator).__name__}")
    eos = vocab.token_id("<eos>") if "<eos>" in vocab else None
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    was_training = model.training
    model.eval()
    drawn: list[int] = []
    try:
        with torch.no_grad():
            ids = vocab.encode(prompt).unsqueeze(0).to(device)
            logits, state = model(ids, None)
            if logits.shape != (1, ids.shape[1], len(vocab)):
                raise ValueError(f"model(ids, state) must return logits of shape (1, t, "
                                 f"{len(vocab)}) for ids (1, t) = {tuple(ids.shape)}, got "
                                 f"{tuple(logits.shape)}")
            for step in range(length):
                probs = sampling_probs(logits[0, -1].float().cpu(), temperature, top_k)
                next_id = torch.multinomial(probs, 1, generator=generator)
                drawn.append(next_id.item())
                if drawn[-1] == eos or step == length - 1:
                    break
                logits, state = model(next_id.view(1, 1).to(device), state)
    finally:
        model.train(was_training)
    return prompt + vocab.decode(drawn)


def load_shakespeare(path: str | Path | None = None) -> str:
    """The tiny Shakespeare corpus as one string, checked: 1,115,394 characters, 65 distinct.

    Source: see ``utils/datasets/tinyshakespeare.source.txt``. A file that fails a check
    raises ``ValueError`` saying which; ``path`` replaces the shipped file (for tests)."""
    path = DATASETS / "tinyshakespeare.txt" if path is None else Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"the corpus is missing: no file {path.name!r} in "
                                f"{str(path.parent)!r}")
    text = path.read_text(encoding="utf-8")
    if len(text) != SHAKESPEARE_CHARS:
        raise ValueError(f"{path.name}: expected {SHAKESPEARE_CHARS:,} characters, "
                         f"got {len(text):,}")
    if len(set(text)) != SHAKESPEARE_DISTINCT:
        raise ValueError(f"{path.name}: expected {SHAKESPEARE_DISTINCT} distinct characters, "
                         f"got {len(set(text))}")
    return text


def split_text(text: str, val_fraction: float = 0.1) -> tuple[str, str]:
    """``(train, validation)``: the first ``1 - val_fraction`` of ``text`` and the rest, in
    order (no shuffling across the split). The cut is at ``int(len(text) * (1 -
    val_fraction))``; for tiny Shakespeare that is character 1,003,854."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, numbers.Real):
        raise TypeError(f"val_fraction must be a number, got {type(val_fraction).__name__}")
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    cut = int(len(text) * (1 - val_fraction))
    if cut < 2 or len(text) - cut < 2:
        raise ValueError(f"text of {len(text)} characters is too short to split at "
                         f"val_fraction {val_fraction}: each part needs at least 2")
    return text[:cut], text[cut:]

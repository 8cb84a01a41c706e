"""Tagging every step: word segmentation of unspaced Shakespeare, a per-step tagger, a CRF.

The task is the one Chinese word segmentation (中文分词) solves for text written without
spaces: given ``"tobeornottobe"``, say after which characters a word ends. The data are the
verse lines of the shipped Shakespeare corpus, lowercased, with everything but letters and
apostrophes removed, so that neither capitals nor punctuation give a boundary away.

- :func:`normalise_words`, :func:`verse_lines`, :func:`segmentation_split` - the lines, each a
  :class:`SegmentedLine` (its words, its unspaced text, its tags), split by position in the
  corpus: the first lines train, the last ones test, and no line is in both parts.
- :func:`end_tags` (1 where a word ends), :func:`bmes_tags` (the B/M/E/S tags of Chinese word
  segmentation: Begin, Middle, End of a longer word, Single-character word) and the
  conversions between them; :func:`segment` turns a text and its end tags back into words.
- :func:`make_batch` - lines to a padded batch ``(ids, lengths, tags)`` for a tagger, the tags
  padded with ``IGNORE_INDEX`` (-100), which ``cross_entropy`` skips.
- :class:`Tagger` - embedding -> LSTM (uni- or bidirectional, packed with
  ``enforce_sorted=False``) -> one linear head applied to every step; optionally a
  :class:`LinearChainCRF` on top of its per-step scores (BiLSTM-CRF).
- :class:`LinearChainCRF` - the score of a tag path, the log partition function by the
  forward algorithm, the negative log-likelihood, Viterbi decoding and per-step marginals;
  :func:`all_tag_paths`, :func:`brute_force_log_partition` and
  :func:`brute_force_best_path` enumerate every tag sequence, the reference for the proofs.
- :func:`boundary_f1` - precision, recall and F1 of the predicted word ends.
"""

from __future__ import annotations

import itertools
import numbers
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial

import torch
from torch import nn

from .sequences import IGNORE_INDEX, check_lengths, collate_fn, length_mask, run_packed
from .text import CharVocab, load_shakespeare
from .training import check_int

__all__ = ["BMES", "B", "M", "E", "S", "SegmentedLine", "normalise_words", "verse_lines",
           "segmentation_split", "end_tags", "bmes_tags", "bmes_from_ends", "ends_from_bmes",
           "bmes_violations", "segment", "length_buckets", "make_batch", "Tagger", "LinearChainCRF",
           "all_tag_paths", "brute_force_log_partition", "brute_force_best_path",
           "BoundaryScore", "boundary_f1", "tagger_parameter_count"]

BMES = ("B", "M", "E", "S")
B, M, E, S = range(4)
# After B or M the word goes on (M or E); after E or S a new word starts (B or S).
_ALLOWED_AFTER = {B: {M, E}, M: {M, E}, E: {B, S}, S: {B, S}}
_KEEP = re.compile(r"[^a-z']")


# ---------------------------------------------------------------------------------- the data

def normalise_words(text: str) -> list[str]:
    """The words of ``text``: split at whitespace, lowercased, only letters and apostrophes
    kept; a word left without a letter (``"--"``, ``"'"``) is dropped.

    ``normalise_words("Speak, speak.")`` is ``["speak", "speak"]``."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    words = (_KEEP.sub("", word.lower()) for word in text.split())
    return [word for word in words if any(c.isalpha() for c in word)]


@dataclass(frozen=True)
class SegmentedLine:
    """One line of the corpus: ``offset`` (its first character's position in the corpus) and
    its ``words``; ``text`` is the words run together, ``ends`` and ``bmes`` its tags."""
    offset: int
    words: tuple[str, ...]

    @property
    def text(self) -> str:
        return "".join(self.words)

    @property
    def ends(self) -> list[int]:
        return end_tags(self.words)

    @property
    def bmes(self) -> list[int]:
        return bmes_tags(self.words)

    def __len__(self) -> int:
        return sum(len(word) for word in self.words)


def verse_lines(text: str) -> list[SegmentedLine]:
    """Every spoken line of a play-formatted corpus, in order, as a :class:`SegmentedLine`.

    Blank lines and speaker headings (the line right after a blank line, such as
    ``"First Citizen:"``) are skipped, and so is a line left without words."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    lines, offset, previous_blank = [], 0, True
    for raw in text.split("\n"):
        blank = not raw.strip()
        if not blank and not previous_blank:
            words = normalise_words(raw)
            if words:
                lines.append(SegmentedLine(offset, tuple(words)))
        previous_blank = blank
        offset += len(raw) + 1
    return lines


def segmentation_split(text: str | None = None, test_fraction: float = 0.1
                       ) -> tuple[list[SegmentedLine], list[SegmentedLine]]:
    """``(train, test)`` lines of ``text`` (default: the shipped Shakespeare), split by
    position: the first ``1 - test_fraction`` of the lines train, the rest test. Every test
    line comes after every training line in the corpus, so no line is in both parts (a line
    *string* that the plays repeat can still occur in both)."""
    text = load_shakespeare() if text is None else text
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, numbers.Real):
        raise TypeError(f"test_fraction must be a number, got {type(test_fraction).__name__}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    lines = verse_lines(text)
    cut = round(len(lines) * (1 - test_fraction))
    if cut < 1 or cut >= len(lines):
        raise ValueError(f"{len(lines)} lines are too few to split at test_fraction "
                         f"{test_fraction}: each part needs at least one")
    return lines[:cut], lines[cut:]


def _check_words(words: object) -> tuple[str, ...]:
    if isinstance(words, str) or not isinstance(words, Iterable):
        raise TypeError(f"words must be a list of str such as ['to', 'be'], got "
                        f"{type(words).__name__}")
    words = tuple(words)
    for index, word in enumerate(words):
        if not isinstance(word, str):
            raise TypeError(f"words[{index}] must be a str, got {type(word).__name__}")
        if not word or any(c.isspace() for c in word):
            raise ValueError(f"words[{index}] must be a non-empty word without spaces, "
                             f"got {word!r}")
    if not words:
        raise ValueError("words is empty: a line needs at least one word")
    return words


def end_tags(words: Sequence[str]) -> list[int]:
    """One tag per character of ``"".join(words)``: 1 where a word ends, else 0."""
    return [int(k == len(word) - 1) for word in _check_words(words) for k in range(len(word))]


def bmes_tags(words: Sequence[str]) -> list[int]:
    """The B/M/E/S tag ids (``BMES.index``) of every character: B begins, M continues and E
    ends a word of two or more characters; S is a one-character word."""
    tags = []
    for word in _check_words(words):
        tags.extend([S] if len(word) == 1 else [B, *[M] * (len(word) - 2), E])
    return tags


def _check_tag_list(name: str, tags: object, num_tags: int) -> list[int]:
    if isinstance(tags, torch.Tensor):
        if tags.dim() != 1 or tags.is_floating_point() or tags.dtype == torch.bool:
            raise TypeError(f"{name} must be a 1-D integer tensor or a list of ints, got a "
                            f"{tags.dim()}-D {tags.dtype} tensor")
        tags = tags.tolist()
    elif isinstance(tags, (str, bytes)) or not isinstance(tags, Iterable):
        raise TypeError(f"{name} must be a list of ints, got {type(tags).__name__}")
    tags = list(tags)
    for index, tag in enumerate(tags):
        if isinstance(tag, bool) or not isinstance(tag, numbers.Integral):
            raise TypeError(f"{name}[{index}] must be an int, got {tag!r}")
        if not 0 <= tag < num_tags:
            raise ValueError(f"{name}[{index}] = {tag} is not a tag: expected 0 to "
                             f"{num_tags - 1}")
    if not tags:
        raise ValueError(f"{name} is empty: a line needs at least one character")
    return [int(tag) for tag in tags]


def bmes_from_ends(ends: Sequence[int]) -> list[int]:
    """The B/M/E/S tags implied by end tags: a character's tag depends only on whether the
    previous character ended a word and whether it ends one itself."""
    ends = _check_tag_list("ends", ends, 2)
    if ends[-1] != 1:
        raise ValueError("ends must end with 1: the last character of a line ends a word")
    previous_end = [1, *ends[:-1]]
    return [(S if end else B) if starts else (E if end else M)
            for starts, end in zip(previous_end, ends, strict=True)]


def ends_from_bmes(tags: Sequence[int]) -> list[int]:
    """1 where the tag is E or S (a word ends there), else 0: the word ends of any B/M/E/S
    sequence, valid or not."""
    return [int(tag in (E, S)) for tag in _check_tag_list("tags", tags, 4)]


def bmes_violations(tags: Sequence[int]) -> int:
    """How many rules a B/M/E/S sequence breaks: it must start with B or S, end with E or S,
    and follow B or M by M or E, and E or S by B or S."""
    tags = _check_tag_list("tags", tags, 4)
    bad = int(tags[0] not in (B, S)) + int(tags[-1] not in (E, S))
    return bad + sum(b not in _ALLOWED_AFTER[a] for a, b in itertools.pairwise(tags))


def segment(text: str, ends: Sequence[int]) -> list[str]:
    """The words of ``text`` cut after every character whose end tag is 1 (a last piece
    without an end tag is a word too)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    ends = _check_tag_list("ends", ends, 2)
    if len(ends) != len(text):
        raise ValueError(f"ends must have one tag per character: {len(text)} for {text!r}, "
                         f"got {len(ends)}")
    words, start = [], 0
    for k, end in enumerate(ends):
        if end or k == len(text) - 1:
            words.append(text[start:k + 1])
            start = k + 1
    return words


def _check_lines(lines: object) -> Sequence[SegmentedLine]:
    """``lines`` if it is a non-empty list of :class:`SegmentedLine`: a TypeError for another
    type (a str, one line, a list of plain strings), a ValueError for an empty list."""
    if isinstance(lines, (str, bytes, SegmentedLine)) or not isinstance(lines, Sequence):
        raise TypeError(f"lines must be a list of SegmentedLine (from segmentation_split or "
                        f"verse_lines), got {type(lines).__name__}")
    if not lines:
        raise ValueError("lines must be a non-empty list of SegmentedLine, got an empty "
                         f"{type(lines).__name__}")
    for index, line in enumerate(lines):
        if not isinstance(line, SegmentedLine):
            raise TypeError(f"lines[{index}] must be a SegmentedLine (from segmentation_split "
                            f"or verse_lines), got {type(line).__name__} {line!r:.40}")
    return lines


def length_buckets(lines: Sequence[SegmentedLine], batch_size: int,
                   generator: torch.Generator | None = None) -> list[list[int]]:
    """Indices of ``lines`` in batches of at most ``batch_size`` lines *of one length*, so that
    a batch needs no padding. With a ``generator`` the lines within each length and the order
    of the batches are shuffled (one epoch); without one, both stay in order."""
    lines = _check_lines(lines)
    batch_size = check_int("batch_size", batch_size)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got "
                        f"{type(generator).__name__}")
    by_length: dict[int, list[int]] = {}
    for index, line in enumerate(lines):
        by_length.setdefault(len(line), []).append(index)
    batches = []
    for length in sorted(by_length):
        indices = by_length[length]
        if generator is not None:
            indices = [indices[k] for k in torch.randperm(len(indices), generator=generator)]
        batches.extend(indices[k:k + batch_size] for k in range(0, len(indices), batch_size))
    if generator is not None:
        batches = [batches[k] for k in torch.randperm(len(batches), generator=generator)]
    return batches


def make_batch(lines: Sequence[SegmentedLine], vocab: CharVocab, scheme: str = "bmes"
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(ids, lengths, tags)`` for a list of lines: ``ids`` ``(B, T_max)`` padded with the
    vocabulary's ``<pad>`` id, ``lengths`` a CPU int64 tensor, ``tags`` ``(B, T_max)`` padded
    with ``IGNORE_INDEX`` (-100). ``scheme`` is ``"bmes"`` (4 tags) or ``"ends"`` (2)."""
    if not isinstance(vocab, CharVocab):
        raise TypeError(f"vocab must be a CharVocab, got {type(vocab).__name__}")
    if "<pad>" not in vocab:
        raise ValueError("vocab needs a <pad> token: build it with specials=('<pad>', ...)")
    if scheme not in ("bmes", "ends"):
        raise ValueError(f"scheme must be 'bmes' or 'ends', got {scheme!r}")
    pairs = []
    for line in _check_lines(lines):
        tags = line.bmes if scheme == "bmes" else line.ends
        pairs.append((vocab.encode(line.text), torch.tensor(tags, dtype=torch.long)))
    return partial(collate_fn, padding_value=vocab.token_id("<pad>"))(pairs)


# ----------------------------------------------------------------------------------- checks

def _check_emissions(emissions: object, num_tags: int) -> torch.Tensor:
    if not isinstance(emissions, torch.Tensor):
        raise TypeError(f"emissions must be a tensor (batch, seq_len, {num_tags}), got "
                        f"{type(emissions).__name__}")
    if not emissions.is_floating_point():
        raise TypeError(f"emissions must be floating point, got dtype {emissions.dtype}")
    if emissions.dim() != 3 or emissions.shape[2] != num_tags:
        raise ValueError(f"emissions must have shape (batch, seq_len, {num_tags}), got "
                         f"{tuple(emissions.shape)}")
    if emissions.shape[0] == 0 or emissions.shape[1] == 0:
        raise ValueError(f"emissions must hold at least one sequence of at least one step, "
                         f"got shape {tuple(emissions.shape)}")
    return emissions


def _check_tags(tags: object, shape: tuple[int, int], mask: torch.Tensor,
                num_tags: int) -> torch.Tensor:
    if not isinstance(tags, torch.Tensor):
        raise TypeError(f"tags must be an integer tensor of shape {shape}, got "
                        f"{type(tags).__name__}")
    if tags.is_floating_point() or tags.is_complex() or tags.dtype == torch.bool:
        raise TypeError(f"tags must hold integer tag ids (torch.long), got dtype {tags.dtype}")
    if tuple(tags.shape) != shape:
        raise ValueError(f"tags must have the shape of emissions' first two dimensions "
                         f"{shape}, got {tuple(tags.shape)}")
    real = tags[mask.to(tags.device)]
    bad = (real < 0) | (real >= num_tags)
    if bad.any():
        where = mask.nonzero()[bad.nonzero()[0, 0].item()].tolist()
        raise ValueError(f"tags[{where[0]}, {where[1]}] = {tags[where[0], where[1]].item()} "
                         f"is outside the {num_tags} classes: every real step needs a tag "
                         f"in [0, {num_tags - 1}] (padding steps may hold anything)")
    return tags.long()


def _mask(emissions: torch.Tensor, lengths: object) -> tuple[torch.Tensor, torch.Tensor]:
    batch, seq_len = emissions.shape[:2]
    lengths = check_lengths(lengths, batch, seq_len)
    return lengths, length_mask(lengths, seq_len).to(emissions.device)


# ---------------------------------------------------------------------------------- the CRF

class LinearChainCRF(nn.Module):
    """A linear-chain conditional random field over ``num_tags`` tags.

    A tag path ``y`` of a sequence with per-step scores ``e`` (the *emissions*, from any
    model) scores ``start[y_0] + sum_t e[t, y_t] + sum_t transitions[y_(t-1), y_t] +
    end[y_(L-1)]``, and its probability is ``exp(score) / Z`` where the partition function
    ``Z`` sums ``exp(score)`` over all ``num_tags ** L`` paths. The forward algorithm computes
    ``log Z`` in ``L`` steps of ``num_tags x num_tags`` work, and Viterbi the best path the same
    way with max instead of logsumexp.

    ``transitions[i, j]`` scores tag ``i`` followed by tag ``j``. The three score tables start
    at zero, where the CRF's loss equals the per-step cross-entropy summed over the steps.
    Every method takes ``emissions`` ``(B, T, num_tags)`` and ``lengths`` (a CPU int64
    tensor or a list of ints, each in ``[1, T]``); the steps after each length are ignored.
    """

    def __init__(self, num_tags: int):
        super().__init__()
        self.num_tags = check_int("num_tags", num_tags, 1)
        self.start = nn.Parameter(torch.zeros(num_tags))
        self.end = nn.Parameter(torch.zeros(num_tags))
        self.transitions = nn.Parameter(torch.zeros(num_tags, num_tags))

    def extra_repr(self) -> str:
        return f"num_tags={self.num_tags}"

    def score(self, emissions: torch.Tensor, tags: torch.Tensor, lengths: object
              ) -> torch.Tensor:
        """The score of the path ``tags`` ``(B, T)`` of each sequence: ``(B,)``."""
        emissions = _check_emissions(emissions, self.num_tags)
        lengths, mask = _mask(emissions, lengths)
        tags = _check_tags(tags, tuple(emissions.shape[:2]), mask, self.num_tags)
        tags = tags.to(emissions.device).masked_fill(~mask, 0)  # padding: any tag, masked out
        on_path = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)            # (B, T)
        moves = self.transitions[tags[:, :-1], tags[:, 1:]]                    # (B, T - 1)
        last = tags.gather(1, (lengths - 1).to(tags.device).unsqueeze(1)).squeeze(1)
        return (self.start[tags[:, 0]] + (on_path * mask).sum(1)
                + (moves * mask[:, 1:]).sum(1) + self.end[last])

    def log_partition(self, emissions: torch.Tensor, lengths: object) -> torch.Tensor:
        """``log Z`` of each sequence by the forward algorithm: ``(B,)``.

        ``alpha[j]`` is the log of the summed ``exp(score)`` of every path prefix that ends
        in tag ``j``; one step is ``alpha'[j] = logsumexp_i(alpha[i] + transitions[i, j]) +
        e[t, j]``, and a sequence's ``alpha`` stops moving after its length."""
        emissions = _check_emissions(emissions, self.num_tags)
        _, mask = _mask(emissions, lengths)
        alpha = self.start + emissions[:, 0]                                   # (B, K)
        for t in range(1, emissions.shape[1]):
            step = torch.logsumexp(alpha.unsqueeze(2) + self.transitions, dim=1) + emissions[:, t]
            alpha = torch.where(mask[:, t:t + 1], step, alpha)
        return torch.logsumexp(alpha + self.end, dim=1)

    def nll(self, emissions: torch.Tensor, tags: torch.Tensor, lengths: object,
            reduction: str = "mean") -> torch.Tensor:
        """``log Z - score(tags)``, the negative log-likelihood of each sequence's path:
        ``"none"`` ``(B,)``, ``"sum"``, ``"mean"`` over sequences, or ``"per_step"`` (the sum
        divided by the number of real steps, the scale of a per-step cross-entropy)."""
        if reduction not in ("none", "sum", "mean", "per_step"):
            raise ValueError(f"reduction must be 'none', 'sum', 'mean' or 'per_step', got "
                             f"{reduction!r}")
        losses = self.log_partition(emissions, lengths) - self.score(emissions, tags, lengths)
        if reduction == "none":
            return losses
        if reduction == "per_step":
            steps = check_lengths(lengths, emissions.shape[0], emissions.shape[1]).sum()
            return losses.sum() / steps
        return losses.sum() if reduction == "sum" else losses.mean()

    @torch.no_grad()
    def decode(self, emissions: torch.Tensor, lengths: object
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Viterbi: ``(paths, scores)``, each sequence's highest-scoring path ``(B, T)``
        (``IGNORE_INDEX`` after its length) and that path's score ``(B,)``."""
        emissions = _check_emissions(emissions, self.num_tags)
        lengths, mask = _mask(emissions, lengths)
        batch, seq_len, k = emissions.shape
        best = self.start + emissions[:, 0]                                    # (B, K)
        stay = torch.arange(k, device=emissions.device).expand(batch, k)
        pointers = []
        for t in range(1, seq_len):
            candidates = best.unsqueeze(2) + self.transitions                  # (B, K_from, K_to)
            top, argmax = candidates.max(dim=1)
            real = mask[:, t:t + 1]
            best = torch.where(real, top + emissions[:, t], best)
            pointers.append(torch.where(real, argmax, stay))   # padding: keep the same tag
        scores, tag = (best + self.end).max(dim=1)
        path = [tag]
        for pointer in reversed(pointers):
            tag = pointer.gather(1, tag.unsqueeze(1)).squeeze(1)
            path.append(tag)
        paths = torch.stack(path[::-1], dim=1)
        return paths.masked_fill(~mask, IGNORE_INDEX), scores

    def marginals(self, emissions: torch.Tensor, lengths: object) -> torch.Tensor:
        """``P(y_t = k)`` under the CRF for every step: ``(B, T, K)``, zero after each length.

        The gradient of ``log Z`` with respect to the emissions is exactly these marginals
        (what the forward-backward algorithm computes), so autograd gives them."""
        emissions = _check_emissions(emissions, self.num_tags)
        with torch.enable_grad():
            leaf = emissions.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(self.log_partition(leaf, lengths).sum(), leaf)
        return grad


def all_tag_paths(num_tags: int, length: int, limit: int = 2 ** 20) -> torch.Tensor:
    """Every tag sequence of ``length`` steps over ``num_tags`` tags: ``(num_tags ** length,
    length)``, in lexicographic order. Refuses more than ``limit`` paths."""
    num_tags, length = check_int("num_tags", num_tags), check_int("length", length)
    if num_tags ** length > limit:
        raise ValueError(f"{num_tags} tags over {length} steps make {num_tags ** length:,} "
                         f"paths, more than the limit of {limit:,}: use a shorter input")
    return torch.tensor(list(itertools.product(range(num_tags), repeat=length)),
                        dtype=torch.long)


def _every_path_score(crf: LinearChainCRF, emissions: torch.Tensor, lengths: object):
    if not isinstance(crf, LinearChainCRF):
        raise TypeError(f"crf must be a LinearChainCRF, got {type(crf).__name__}")
    emissions = _check_emissions(emissions, crf.num_tags)
    lengths, _ = _mask(emissions, lengths)
    for row, length in zip(emissions, lengths.tolist(), strict=True):
        paths = all_tag_paths(crf.num_tags, length).to(row.device)
        one = row[:length].unsqueeze(0).expand(len(paths), length, crf.num_tags)
        yield paths, crf.score(one, paths, [length] * len(paths))


def brute_force_log_partition(crf: LinearChainCRF, emissions: torch.Tensor,
                              lengths: object) -> torch.Tensor:
    """``log Z`` of each sequence as ``logsumexp`` of the score of every one of its
    ``num_tags ** length`` paths: the reference the forward algorithm must equal. ``(B,)``."""
    return torch.stack([torch.logsumexp(scores, dim=0)
                        for _, scores in _every_path_score(crf, emissions, lengths)])


@torch.no_grad()
def brute_force_best_path(crf: LinearChainCRF, emissions: torch.Tensor, lengths: object
                          ) -> tuple[torch.Tensor, torch.Tensor]:
    """The highest-scoring path of each sequence found by scoring every path:
    ``(paths (B, T) with IGNORE_INDEX after each length, scores (B,))``, like
    :meth:`LinearChainCRF.decode`."""
    found, best_scores = [], []
    for paths, scores in _every_path_score(crf, emissions, lengths):
        index = scores.argmax()
        found.append(paths[index])
        best_scores.append(scores[index])
    out = torch.full(emissions.shape[:2], IGNORE_INDEX, dtype=torch.long,
                     device=emissions.device)
    for b, path in enumerate(found):
        out[b, :len(path)] = path
    return out, torch.stack(best_scores)


# ------------------------------------------------------------------------------- the tagger

class Tagger(nn.Module):
    """Embedding -> LSTM -> one linear head on every step: a score per tag per character.

    The LSTM runs on the packed batch (``enforce_sorted=False``), so a line's scores do not
    depend on how much padding its batch has, in either direction. With ``crf=True`` a
    :class:`LinearChainCRF` reads those scores as emissions: the loss becomes the CRF's
    negative log-likelihood and prediction the Viterbi path (BiLSTM-CRF when
    ``bidirectional=True``).
    """

    def __init__(self, vocab_size: int, num_tags: int, embedding_dim: int = 32,
                 hidden_size: int = 64, bidirectional: bool = False, crf: bool = False,
                 padding_idx: int = 0):
        super().__init__()
        for name, value in (("bidirectional", bidirectional), ("crf", crf)):
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
        self.vocab_size = check_int("vocab_size", vocab_size, 1)
        self.num_tags = check_int("num_tags", num_tags, 2)
        self.padding_idx = check_int("padding_idx", padding_idx, 0)
        if padding_idx >= vocab_size:
            raise ValueError(f"padding_idx must be in [0, {vocab_size - 1}], got {padding_idx}")
        self.embedding = nn.Embedding(vocab_size, check_int("embedding_dim", embedding_dim),
                                      padding_idx=padding_idx)
        self.lstm = nn.LSTM(embedding_dim, check_int("hidden_size", hidden_size),
                            batch_first=True, bidirectional=bidirectional)
        self.head = nn.Linear((2 if bidirectional else 1) * hidden_size, num_tags)
        self.crf = LinearChainCRF(num_tags) if crf else None

    def _check_ids(self, ids: object) -> torch.Tensor:
        if not isinstance(ids, torch.Tensor):
            raise TypeError(f"ids must be a tensor of character ids (batch, seq_len), got "
                            f"{type(ids).__name__}")
        if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
            raise TypeError(f"ids must hold integer ids (torch.long), got dtype {ids.dtype}")
        if ids.dim() != 2 or 0 in ids.shape:
            raise ValueError(f"ids must have shape (batch, seq_len) with at least one step, "
                             f"got {tuple(ids.shape)}")
        if ids.min() < 0 or ids.max() >= self.vocab_size:
            raise ValueError(f"ids must be in [0, {self.vocab_size - 1}], got values from "
                             f"{ids.min().item()} to {ids.max().item()}")
        return ids.long()

    def forward(self, ids: torch.Tensor, lengths: object) -> torch.Tensor:
        """The per-step scores ``(B, T, num_tags)``: logits, or the CRF's emissions.

        A batch with padding is packed; a batch whose every line fills all ``T`` steps has
        nothing to skip, and runs unpacked: the same numbers, several times faster on a CPU
        (the packed path's backward pass is far slower than the fused one)."""
        ids = self._check_ids(ids)
        lengths = check_lengths(lengths, ids.shape[0], ids.shape[1])
        if bool((lengths == ids.shape[1]).all()):
            out, _ = self.lstm(self.embedding(ids))
        else:
            out, _ = run_packed(self.lstm, self.embedding(ids), lengths)
        return self.head(out)

    def loss(self, ids: torch.Tensor, lengths: object, tags: torch.Tensor) -> torch.Tensor:
        """The mean loss per real step: cross-entropy over the steps inside ``lengths`` (the
        padding steps are set to ``IGNORE_INDEX`` first, so they may hold anything), or the
        CRF's negative log-likelihood divided by the number of real steps."""
        scores = self(ids, lengths)
        if self.crf is not None:
            return self.crf.nll(scores, tags, lengths, reduction="per_step")
        _, mask = _mask(scores, lengths)
        tags = _check_tags(tags, tuple(scores.shape[:2]), mask, self.num_tags)
        # The lengths decide what is padding, whatever the padding steps hold (0, 7, -100).
        tags = tags.to(scores.device).masked_fill(~mask, IGNORE_INDEX)
        return nn.functional.cross_entropy(scores.flatten(0, 1), tags.flatten(),
                                           ignore_index=IGNORE_INDEX)

    @torch.no_grad()
    def predict(self, ids: torch.Tensor, lengths: object) -> torch.Tensor:
        """The predicted tags ``(B, T)``, ``IGNORE_INDEX`` after each length: the per-step
        argmax, or the CRF's Viterbi path."""
        scores = self(ids, lengths)
        if self.crf is not None:
            return self.crf.decode(scores, lengths)[0]
        _, mask = _mask(scores, lengths)
        return scores.argmax(dim=2).masked_fill(~mask, IGNORE_INDEX)

    @torch.no_grad()
    def tag_probabilities(self, ids: torch.Tensor, lengths: object) -> torch.Tensor:
        """``P(tag at step t)`` ``(B, T, num_tags)``: the per-step softmax, or the CRF's
        marginals; zero after each length."""
        scores = self(ids, lengths)
        if self.crf is not None:
            return self.crf.marginals(scores, lengths)
        _, mask = _mask(scores, lengths)
        return scores.softmax(dim=2) * mask.unsqueeze(2)


def tagger_parameter_count(vocab_size: int, num_tags: int, embedding_dim: int,
                           hidden_size: int, bidirectional: bool, crf: bool = False) -> int:
    """The number of parameters of :class:`Tagger` with these sizes, by the formulas:
    embedding ``V * E``, LSTM ``D * 4H(E + H + 2)``, head ``D * H * K + K``, CRF
    ``K * K + 2K``."""
    d = 2 if bidirectional else 1
    h = hidden_size
    return (vocab_size * embedding_dim + d * 4 * h * (embedding_dim + h + 2)
            + d * h * num_tags + num_tags + (num_tags * num_tags + 2 * num_tags if crf else 0))


# ---------------------------------------------------------------------------------- scoring

@dataclass(frozen=True)
class BoundaryScore:
    """Counts and rates of predicted word ends against the true ones."""
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 0.0

    @property
    def recall(self) -> float:
        real = self.true_positives + self.false_negatives
        return self.true_positives / real if real else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __repr__(self) -> str:
        return (f"BoundaryScore(precision {self.precision:.4f}, recall {self.recall:.4f}, "
                f"F1 {self.f1:.4f})")


def boundary_f1(predicted: Sequence[Sequence[int]], gold: Sequence[Sequence[int]]
                ) -> BoundaryScore:
    """Precision, recall and F1 of predicted word ends, pooled over lines.

    ``predicted`` and ``gold`` hold one list of end tags (1 = a word ends here) per line. The
    last character of a line always ends a word, and the data say so, so it is not counted:
    only the boundaries *inside* each line are scored."""
    if isinstance(predicted, torch.Tensor) or isinstance(gold, torch.Tensor):
        raise TypeError("predicted and gold must be lists of per-line tag lists (a padded "
                        "tensor would count its padding); use .tolist() per line")
    for name, value in (("predicted", predicted), ("gold", gold)):
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            raise TypeError(f"{name} must be a list of per-line lists, got "
                            f"{type(value).__name__}")
    if len(predicted) != len(gold):
        raise ValueError(f"predicted has {len(predicted)} lines, gold {len(gold)}")
    if not gold:
        raise ValueError("no lines to score")
    tp = fp = fn = 0
    for index, (p_line, g_line) in enumerate(zip(predicted, gold, strict=True)):
        p_line = _check_tag_list(f"predicted[{index}]", p_line, 2)
        g_line = _check_tag_list(f"gold[{index}]", g_line, 2)
        if len(p_line) != len(g_line):
            raise ValueError(f"line {index}: predicted has {len(p_line)} tags, gold "
                             f"{len(g_line)}")
        for p, g in zip(p_line[:-1], g_line[:-1], strict=True):
            tp += p and g
            fp += p and not g
            fn += g and not p
    return BoundaryScore(tp, fp, fn)

"""Classifying whole sequences: one model, its training loop, and the scores that matter.

- :class:`SequenceClassifier` - ids -> embedding (the ``<pad>`` row held at zero) -> LSTM,
  optionally bidirectional, run on the *packed* batch (``enforce_sorted=False``) -> one
  summary per sequence (``"last"``: the final state ``h_n[-1]``, or ``cat(h_n[-2], h_n[-1])``
  for both directions; ``"mean"``: the mean output over the real steps) -> linear logits.
- :func:`encode_items` - texts and labels as ``(ids, label)`` pairs, checked.
- :func:`train_classifier` - Adam on ``cross_entropy`` of the logits, seeded shuffling or
  class-balanced sampling, optional class weights, gradient clipping, a progress bar, and the
  epoch with the best validation loss restored at the end.
- :func:`predict_logits`, :func:`scores`, :func:`balanced_class_weights` - predictions in the
  items' order; accuracy, macro-F1 and balanced accuracy (scikit-learn's definitions).
- :func:`bootstrap_difference` - how far two models' scores on the same items differ, with a
  bootstrap standard error (the same redrawn items for both models).

A model that reads padding, a label outside the classes, an empty batch, or lengths in another
form than the CPU int64 tensor that :func:`utils.sequences.collate_fn` returns is refused with
a message naming what was expected and what came. (``pack_padded_sequence`` itself accepts
any integer lengths, a list too, and casts them to int64; what it cannot take is a tensor of
lengths on a GPU. The model asks for the one form, so a float length is never truncated.)
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, WeightedRandomSampler

from .sequences import collate_fn, masked_mean, run_packed, top_layer_summary
from .training import check_int

__all__ = ["SUMMARIES", "SequenceClassifier", "check_batch", "encode_items", "ClassifierHistory",
           "train_classifier", "predict_logits", "scores", "balanced_class_weights",
           "bootstrap_difference"]

SUMMARIES = ("last", "mean")


def check_batch(ids: object, lengths: object, vocab_size: int | None = None) -> None:
    """Refuse a padded batch that packing would misread: ``ids`` must be a ``(B, T)`` integer
    tensor with ``B >= 1`` (ids below ``vocab_size``), ``lengths`` a 1-D CPU ``int64`` tensor
    of ``B`` lengths, each in ``[1, T]``. (Packing would also take int32 or a list, and would
    silently truncate float lengths; this check asks for the one form ``collate_fn`` gives.)"""
    if not isinstance(ids, torch.Tensor):
        raise TypeError(f"ids must be a (batch, seq_len) tensor of token ids, "
                        f"got {type(ids).__name__}")
    if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        raise TypeError(f"ids must hold integer token ids (torch.int64), got dtype {ids.dtype}")
    if ids.dim() != 2 or ids.shape[1] == 0:
        raise ValueError(f"ids must be 2-D (batch, seq_len) with seq_len >= 1, "
                         f"got shape {tuple(ids.shape)}")
    if ids.shape[0] == 0:
        raise ValueError(f"the batch is empty (ids of shape {tuple(ids.shape)}): give at least "
                         "one sequence")
    if vocab_size is not None and ids.numel() and not 0 <= int(ids.min()) <= int(ids.max()) \
            < vocab_size:
        raise ValueError(f"every id must be in [0, {vocab_size - 1}] (the vocabulary), got "
                         f"ids from {int(ids.min())} to {int(ids.max())}")
    if not isinstance(lengths, torch.Tensor):
        raise TypeError(f"lengths must be a 1-D CPU int64 tensor (what pad_batch and "
                        f"collate_fn return), got {type(lengths).__name__}")
    if lengths.dtype != torch.int64:
        raise TypeError(f"lengths must be a CPU int64 tensor (what pad_batch and collate_fn "
                        f"return; this model takes no other form), got dtype {lengths.dtype}")
    if lengths.device.type != "cpu":
        raise ValueError(f"lengths must be on the CPU (pack_padded_sequence requires it), "
                         f"got device {lengths.device}")
    batch, max_len = ids.shape
    if lengths.shape != (batch,):
        raise ValueError(f"lengths must have shape ({batch},), one per sequence of ids "
                         f"{tuple(ids.shape)}, got {tuple(lengths.shape)}")
    if (lengths < 1).any():
        index = int((lengths < 1).nonzero()[0])
        raise ValueError(f"sequence {index} is empty (length {int(lengths[index])}): every "
                         "sequence needs at least one step")
    if (lengths > max_len).any():
        index = int((lengths > max_len).nonzero()[0])
        raise ValueError(f"lengths[{index}] = {int(lengths[index])} is longer than the padded "
                         f"tensor's {max_len} steps (ids {tuple(ids.shape)})")


class SequenceClassifier(nn.Module):
    """Embedding -> LSTM on the packed batch -> a summary of each sequence -> linear logits.

    ``forward(ids, lengths)`` takes right-padded ids ``(B, T)`` and their lengths (a CPU int64
    tensor) and returns logits ``(B, num_classes)``, before any softmax: feed them to
    ``cross_entropy``. Packing means the LSTM never reads padding, so each sequence's logits
    are what it would get alone. ``summary="last"`` is the top layer's final hidden state
    (both directions joined when ``bidirectional``), ``"mean"`` the mean of the top layer's
    output over the real steps. ``dropout`` applies to the embeddings and to the summary."""

    def __init__(self, vocab_size: int, num_classes: int, embedding_dim: int = 32,
                 hidden_size: int = 64, num_layers: int = 1, bidirectional: bool = False,
                 summary: str = "last", padding_idx: int = 0, dropout: float = 0.0):
        super().__init__()
        vocab_size = check_int("vocab_size", vocab_size, 2)
        num_classes = check_int("num_classes", num_classes, 2)
        for name, value in (("embedding_dim", embedding_dim), ("hidden_size", hidden_size),
                            ("num_layers", num_layers)):
            check_int(name, value, 1)
        if not isinstance(bidirectional, bool):
            raise TypeError(f"bidirectional must be a bool, got {type(bidirectional).__name__}")
        if summary not in SUMMARIES:
            raise ValueError(f"summary must be one of {SUMMARIES}, got {summary!r}")
        padding_idx = check_int("padding_idx", padding_idx, 0)
        if padding_idx >= vocab_size:
            raise ValueError(f"padding_idx must be in [0, {vocab_size - 1}], got {padding_idx}")
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) \
                or not 0 <= dropout < 1:
            raise ValueError(f"dropout must be a number in [0, 1), got {dropout!r}")
        self.vocab_size, self.num_classes, self.summary = vocab_size, num_classes, summary
        self.padding_idx = padding_idx
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, num_layers, batch_first=True,
                            bidirectional=bidirectional)
        self.dropout = nn.Dropout(float(dropout))
        self.head = nn.Linear((2 if bidirectional else 1) * hidden_size, num_classes)

    def summarize(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The ``(B, D * hidden_size)`` summary that the head reads."""
        check_batch(ids, lengths, self.vocab_size)
        embedded = self.dropout(self.embedding(ids))
        out, (h_n, _) = run_packed(self.lstm, embedded, lengths)
        if self.summary == "last":
            return top_layer_summary(h_n, self.lstm.num_layers, self.lstm.bidirectional)
        return masked_mean(out, lengths)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.summarize(ids, lengths)))


def encode_items(texts: Sequence[str], labels: Sequence[int],
                 encode: Callable[[str], torch.Tensor]) -> list[tuple[torch.Tensor, int]]:
    """``[(encode(text), label), ...]``: the pairs that :func:`train_classifier` takes.
    A text that encodes to no ids is refused (a sequence needs at least one step)."""
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise TypeError(f"texts must be a list of strings, got {type(texts).__name__}")
    if not isinstance(labels, Sequence) or len(labels) != len(texts):
        raise ValueError(f"labels must be a list with one label per text ({len(texts)}), got "
                         f"{type(labels).__name__} of length "
                         f"{len(labels) if isinstance(labels, Sequence) else '?'}")
    if not callable(encode):
        raise TypeError(f"encode must be callable (e.g. vocab.encode), got "
                        f"{type(encode).__name__}")
    pairs = []
    for index, (text, label) in enumerate(zip(texts, labels, strict=True)):
        ids = encode(text)
        if not isinstance(ids, torch.Tensor) or ids.dim() != 1:
            raise TypeError(f"encode must return a 1-D tensor of ids, got "
                            f"{type(ids).__name__} for text {index}")
        if len(ids) == 0:
            raise ValueError(f"text {index} ({text!r}) encodes to an empty sequence: every "
                             "sequence needs at least one step")
        pairs.append((ids, label))
    return pairs


def _check_pairs(name: str, pairs: object, num_classes: int) -> list:
    if isinstance(pairs, (str, torch.Tensor)) or not isinstance(pairs, Sequence) or not pairs:
        raise ValueError(f"{name} must be a non-empty list of (ids, label) pairs, got "
                         f"{type(pairs).__name__}")
    for index, pair in enumerate(pairs):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"{name}[{index}] must be an (ids, label) pair, got "
                            f"{type(pair).__name__}")
        ids, label = pair
        if not isinstance(ids, torch.Tensor) or ids.dim() != 1 or ids.is_floating_point():
            raise TypeError(f"{name}[{index}]: ids must be a 1-D integer tensor, got "
                            f"{type(ids).__name__}"
                            f"{' of shape ' + str(tuple(ids.shape)) if isinstance(ids, torch.Tensor) else ''}")
        if len(ids) == 0:
            raise ValueError(f"{name}[{index}] is an empty sequence: every sequence needs at "
                             "least one step")
        if isinstance(label, bool) or not isinstance(label, numbers.Integral):
            raise TypeError(f"{name}[{index}]: the label must be a class index (int), got "
                            f"{type(label).__name__} ({label!r})")
        if not 0 <= label < num_classes:
            raise ValueError(f"{name}[{index}]: label {label} is outside the model's "
                             f"{num_classes} classes [0, {num_classes - 1}]")
    return list(pairs)


def _num_classes(model: object) -> int:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module with forward(ids, lengths) -> logits, got "
                        f"{type(model).__name__}")
    classes = getattr(model, "num_classes", None)
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 2:
        raise TypeError(f"model must say how many classes it predicts in an int attribute "
                        f"num_classes >= 2 (as SequenceClassifier does), got {classes!r}")
    return classes


def _batches(pairs: list, batch_size: int, pad_id: int):
    for start in range(0, len(pairs), batch_size):
        yield collate_fn(pairs[start:start + batch_size], padding_value=pad_id)


def predict_logits(model: nn.Module, pairs: Sequence, batch_size: int = 1024,
                   pad_id: int = 0) -> torch.Tensor:
    """The model's logits ``(N, num_classes)`` for ``pairs`` (``(ids, label)`` pairs, or bare
    id tensors), in their order, in ``eval()`` mode without autograd (the mode is restored)."""
    classes = _num_classes(model)
    batch_size = check_int("batch_size", batch_size)
    if isinstance(pairs, Sequence) and pairs and isinstance(pairs[0], torch.Tensor):
        pairs = [(ids, 0) for ids in pairs]
    pairs = _check_pairs("pairs", pairs, classes)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return torch.cat([model(ids, lengths)
                              for ids, lengths, _ in _batches(pairs, batch_size, pad_id)])
    finally:
        model.train(was_training)


def scores(targets: Sequence[int] | torch.Tensor, predictions: Sequence[int] | torch.Tensor,
           num_classes: int) -> dict[str, float]:
    """Accuracy, macro-F1 (the unweighted mean of the F1 of every one of ``num_classes``
    classes; a class never predicted scores 0) and balanced accuracy (the mean recall per
    class present in ``targets``), from scikit-learn."""
    from sklearn.metrics import balanced_accuracy_score, f1_score

    num_classes = check_int("num_classes", num_classes, 2)
    y_true = np.asarray(targets.tolist() if isinstance(targets, torch.Tensor) else targets)
    y_pred = np.asarray(predictions.tolist() if isinstance(predictions, torch.Tensor)
                        else predictions)
    if y_true.shape != y_pred.shape or y_true.ndim != 1 or len(y_true) == 0:
        raise ValueError(f"targets and predictions must be 1-D of the same non-zero length, "
                         f"got shapes {y_true.shape} and {y_pred.shape}")
    for name, values in (("targets", y_true), ("predictions", y_pred)):
        if not np.issubdtype(values.dtype, np.integer) or values.min() < 0 \
                or values.max() >= num_classes:
            raise ValueError(f"{name} must be class indices in [0, {num_classes - 1}], got "
                             f"dtype {values.dtype}, values {values.min()}..{values.max()}")
    return {"accuracy": float((y_true == y_pred).mean()),
            "macro_f1": float(f1_score(y_true, y_pred, labels=list(range(num_classes)),
                                       average="macro", zero_division=0)),
            "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred))}


def balanced_class_weights(counts: Sequence[int]) -> torch.Tensor:
    """``n / (C * count_c)`` per class: every class then carries the same total weight in the
    loss (scikit-learn's ``class_weight="balanced"``)."""
    if not isinstance(counts, Sequence) or len(counts) < 2 or any(
            isinstance(c, bool) or not isinstance(c, numbers.Integral) or c < 1 for c in counts):
        raise ValueError(f"counts must be a list of at least 2 positive ints (one per class), "
                         f"got {counts!r}")
    counts_t = torch.tensor(list(counts), dtype=torch.float32)
    return counts_t.sum() / (len(counts) * counts_t)


def bootstrap_difference(targets: Sequence[int] | torch.Tensor,
                         predictions_a: Sequence[int] | torch.Tensor,
                         predictions_b: Sequence[int] | torch.Tensor, num_classes: int,
                         draws: int = 1000, seed: int = 0) -> dict[str, tuple[float, float]]:
    """``{score: (a minus b, its standard error)}`` for ``"accuracy"``, ``"macro_f1"`` and
    ``"balanced_accuracy"`` (as :func:`scores` defines them) of two models' predictions on the
    same items. The standard error is the bootstrap's: the items are redrawn with replacement
    ``draws`` times (seeded), each draw scores *both* models on the same items, and the
    standard deviation of the ``draws`` differences is the error of the difference."""
    num_classes = check_int("num_classes", num_classes, 2)
    draws = check_int("draws", draws, 2)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    y, pa, pb = (torch.as_tensor(np.asarray(v.tolist() if isinstance(v, torch.Tensor) else v))
                 for v in (targets, predictions_a, predictions_b))
    if not (y.shape == pa.shape == pb.shape) or y.dim() != 1 or len(y) == 0:
        raise ValueError(f"targets and both predictions must be 1-D of the same non-zero "
                         f"length, got shapes {tuple(y.shape)}, {tuple(pa.shape)}, "
                         f"{tuple(pb.shape)}")
    for name, values in (("targets", y), ("predictions_a", pa), ("predictions_b", pb)):
        if values.is_floating_point() or values.dtype == torch.bool or values.min() < 0 \
                or values.max() >= num_classes:
            raise ValueError(f"{name} must be class indices in [0, {num_classes - 1}], got "
                             f"dtype {values.dtype}, values {values.min()}..{values.max()}")
    n = len(y)
    idx = torch.randint(n, (draws, n), generator=torch.Generator().manual_seed(seed))
    weight = torch.cat([torch.ones(1, n, dtype=torch.float64),     # row 0: the items as they are
                        torch.zeros(draws, n, dtype=torch.float64).scatter_add_(
                            1, idx, torch.ones(draws, n, dtype=torch.float64))])
    true = weight @ nn.functional.one_hot(y, num_classes).double()        # (1 + draws, C)
    score = []
    for p in (pa, pb):
        hit = weight * (p == y).double()
        tp = hit @ nn.functional.one_hot(y, num_classes).double()
        pred = weight @ nn.functional.one_hot(p, num_classes).double()
        f1 = torch.where(true + pred > 0, 2 * tp / (true + pred).clamp(min=1e-12), 0.0)
        recall = torch.where(true > 0, tp / true.clamp(min=1e-12), 0.0)
        score.append(torch.stack([hit.sum(1) / n, f1.mean(1),
                                  recall.sum(1) / (true > 0).sum(1)], dim=1))
    difference = score[0] - score[1]
    spread = difference[1:].std(dim=0)
    return {key: (difference[0, k].item(), spread[k].item())
            for k, key in enumerate(("accuracy", "macro_f1", "balanced_accuracy"))}


@dataclass
class ClassifierHistory:
    """Per epoch: the mean training loss (as trained: weighted if ``weight`` was given), and
    the unweighted validation loss and accuracy; the best epoch (lowest validation loss,
    1-based) and whether its weights were restored."""
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    restored_best: bool = False

    def __repr__(self) -> str:
        val = (f", best val loss {min(self.val_loss):.4g} at epoch {self.best_epoch}"
               if self.val_loss else "")
        return f"ClassifierHistory({len(self.train_loss)} epochs{val})"


def train_classifier(model: nn.Module, train_pairs: Sequence, val_pairs: Sequence | None = None,
                     *, epochs: int = 10, batch_size: int = 64, lr: float = 3e-3,
                     weight: torch.Tensor | None = None, balanced: bool = False,
                     max_norm: float | None = 1.0, seed: int = 0, pad_id: int = 0,
                     restore_best: bool = True, progress: bool = True,
                     desc: str = "epochs") -> ClassifierHistory:
    """Train ``model`` (``forward(ids, lengths) -> logits``) with Adam on ``cross_entropy``.

    ``train_pairs``/``val_pairs`` are lists of ``(ids, label)`` (:func:`encode_items`); every
    label must be a class index of the model, or ``ValueError`` says which is not. Batches
    come from a ``DataLoader`` with :func:`utils.sequences.collate_fn` (padded with
    ``pad_id``), shuffled by a generator seeded with ``seed``, or, with ``balanced=True``,
    drawn with replacement so that every class is equally likely (``WeightedRandomSampler``).
    ``weight`` (one positive number per class, cast to the model's dtype) weights the loss
    instead; ``max_norm`` (``None`` or > 0) clips the gradient norm. After each epoch the
    validation loss (unweighted) and accuracy are measured; with ``restore_best`` the weights
    of the epoch with the lowest validation loss are put back at the end."""
    classes = _num_classes(model)
    train_pairs = _check_pairs("train_pairs", train_pairs, classes)
    if val_pairs is not None:
        val_pairs = _check_pairs("val_pairs", val_pairs, classes)
    epochs, batch_size = check_int("epochs", epochs), check_int("batch_size", batch_size)
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not 0 < lr < math.inf:
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    if weight is not None:
        if not isinstance(weight, torch.Tensor) or weight.shape != (classes,) \
                or not weight.is_floating_point() or not (weight > 0).all() \
                or not torch.isfinite(weight).all():
            raise ValueError(f"weight must be a float tensor of shape ({classes},) with one "
                             f"finite positive weight per class, got {weight!r}")
        dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()),
                     torch.get_default_dtype())
        weight = weight.detach().to(dtype)      # cross_entropy wants the logits' dtype
    if max_norm is not None and (isinstance(max_norm, bool)
                                 or not isinstance(max_norm, numbers.Real)
                                 or not 0 < max_norm < math.inf):
        raise ValueError(f"max_norm must be None (no clipping) or a finite number > 0, got "
                         f"{max_norm!r}: 0 would stop learning and a negative norm would flip "
                         "the gradients")
    if not isinstance(balanced, bool):
        raise TypeError(f"balanced must be a bool, got {type(balanced).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    generator = torch.Generator().manual_seed(seed)
    collate = partial(collate_fn, padding_value=pad_id)
    if balanced:
        counts = torch.bincount(torch.tensor([y for _, y in train_pairs]), minlength=classes)
        sample_weight = (1.0 / counts.clamp(min=1).double())[[y for _, y in train_pairs]]
        sampler = WeightedRandomSampler(sample_weight, len(train_pairs), replacement=True,
                                        generator=generator)
        loader = DataLoader(train_pairs, batch_size, sampler=sampler, collate_fn=collate)
    else:
        loader = DataLoader(train_pairs, batch_size, shuffle=True, generator=generator,
                            collate_fn=collate)
    optimizer = torch.optim.Adam(model.parameters(), lr=float(lr))

    from tqdm.auto import tqdm

    history, best_state = ClassifierHistory(), None
    bar = tqdm(range(1, epochs + 1), desc=desc, disable=not progress, leave=True)
    try:
        for epoch in bar:
            model.train()
            total, count = 0.0, 0
            for ids, lengths, targets in loader:
                optimizer.zero_grad(set_to_none=True)
                loss = nn.functional.cross_entropy(model(ids, lengths), targets, weight=weight)
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"the training loss is {loss.item()} at epoch "
                                             f"{epoch}: try a smaller learning rate")
                loss.backward()
                if max_norm is not None:
                    nn.utils.clip_grad_norm_(model.parameters(), max_norm)
                optimizer.step()
                total += loss.item() * len(targets)
                count += len(targets)
            history.train_loss.append(total / count)
            postfix = {"train": f"{history.train_loss[-1]:.3f}"}
            if val_pairs is not None:
                logits = predict_logits(model, val_pairs, pad_id=pad_id)
                targets = torch.tensor([y for _, y in val_pairs])
                history.val_loss.append(nn.functional.cross_entropy(logits, targets).item())
                history.val_accuracy.append((logits.argmax(1) == targets).float().mean().item())
                if history.best_epoch is None or history.val_loss[-1] < min(history.val_loss[:-1]):
                    history.best_epoch = epoch
                    best_state = copy.deepcopy(model.state_dict())
                postfix.update(val=f"{history.val_loss[-1]:.3f}",
                               acc=f"{history.val_accuracy[-1]:.3f}")
            bar.set_postfix(**postfix)
    finally:
        bar.close()
        model.eval()
    if restore_best and best_state is not None:
        model.load_state_dict(best_state)
        history.restored_best = True
    return history


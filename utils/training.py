"""Seeding, device choice, a one-line report of the environment, and the training loop.

``fit`` is the loop of notebooks 08 and 09: a progress bar, per-epoch train and validation
loss in a :class:`History`, early stopping with patience, the best ``state_dict`` kept (in
memory or in a file reloaded with ``torch.load(..., weights_only=True)``), ``train()`` /
``eval()`` and ``torch.no_grad()`` where they belong, optional gradient clipping, and a clear
``FloatingPointError`` when the loss stops being a finite number.
"""

from __future__ import annotations

import copy
import math
import os
import platform
import random
import resource
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .losses import check_same_dtype, check_same_shape

__all__ = ["one_thread", "check_int", "set_seed", "pick_device", "env_report", "run_summary", "History", "fit"]


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one CPU thread inside the block, then restore the thread count.

    Small models and an explorer's tiny tensors gain nothing from a second thread: handing
    the work over costs more than the work, and far more when the CPU is busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def set_seed(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's generators (CPU and every GPU)."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__} ({seed!r})")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def pick_device(prefer: str | None = None) -> torch.device:
    """The device to train on: ``prefer`` if given (and available), else CUDA, else CPU."""
    if prefer is not None:
        if not isinstance(prefer, str):
            raise TypeError(f"prefer must be a str such as 'cpu' or 'cuda', "
                            f"got {type(prefer).__name__}")
        device = torch.device(prefer)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {prefer!r} was asked for, but CUDA is not available here")
        if device.type not in ("cpu", "cuda"):
            raise ValueError(f"expected 'cpu' or 'cuda', got {prefer!r}")
        return device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def env_report(device: torch.device | None = None) -> str:
    """One line: Python, torch, device and CPU threads, e.g. for the top of a notebook."""
    device = pick_device() if device is None else device
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.machine()
    return (f"Python {sys.version.split()[0]} · torch {torch.__version__} · "
            f"device {device} ({name}) · {torch.get_num_threads()} CPU threads")


def run_summary(started_at: float) -> str:
    """Wall time since ``started_at`` (a ``time.perf_counter()`` value) and this process's
    peak memory, measured now, e.g. for the last cell of a notebook."""
    seconds = time.perf_counter() - started_at
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    return f"This run: {seconds:.1f} s wall time, peak memory {peak_mb:.0f} MB."


@dataclass
class History:
    """What :func:`fit` measured, one entry per finished epoch (epoch 1 is index 0).

    ``train_loss[k]`` is the sample-weighted mean of the training batches' losses during epoch
    ``k + 1`` (measured while the weights were still moving, in ``train()`` mode);
    ``val_loss[k]`` is the loss on the validation batches after that epoch, in ``eval()``
    mode under ``torch.no_grad()`` (empty when no validation data was given).
    ``monitor`` names the curve early stopping watched; ``best_epoch`` (1-based) and
    ``best_loss`` say where that curve was lowest; ``stopped_early`` is True when patience ran
    out before ``epochs``; ``restored_best`` is True when the best weights were loaded back at
    the end; ``checkpoint`` is the file holding the best ``state_dict`` (``None`` when it was
    kept in memory); ``seconds`` is the wall time of the whole fit.
    """
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    monitor: str = "val_loss"
    best_epoch: int | None = None
    best_loss: float = math.inf
    stopped_early: bool = False
    restored_best: bool = False
    checkpoint: str | None = None
    seconds: float = 0.0

    @property
    def epochs_run(self) -> int:
        """How many epochs finished."""
        return len(self.train_loss)

    def __repr__(self) -> str:
        last_val = f", last val {self.val_loss[-1]:.4g}" if self.val_loss else ""
        best = (f"best {self.monitor} {self.best_loss:.4g} at epoch {self.best_epoch}"
                if self.best_epoch is not None else "no best epoch")
        stop = ", stopped early" if self.stopped_early else ""
        return (f"History({self.epochs_run} epochs in {self.seconds:.1f} s, last train "
                f"{self.train_loss[-1] if self.train_loss else math.nan:.4g}{last_val}; "
                f"{best}{stop})")


def _check_batches(name: str, batches: object) -> None:
    if batches is None or isinstance(batches, (torch.Tensor, str, bytes)) \
            or not isinstance(batches, Iterable):
        raise TypeError(f"{name} must be a re-iterable collection of (x, y) batches such as a "
                        f"DataLoader or a list of tuples, got {type(batches).__name__}")
    # isinstance, not iter(batches) is batches: iter() would advance a DataLoader's generator
    # and change the order of its shuffled batches.
    if isinstance(batches, Iterator):
        raise TypeError(f"{name} is an iterator (a generator?), which is used up after one "
                        f"epoch; pass a DataLoader or a list of (x, y) batches")


def _unpack(name: str, batch: object, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2
            and all(isinstance(t, torch.Tensor) for t in batch)):
        got = (f"a {type(batch).__name__} of {len(batch)}"
               if isinstance(batch, (tuple, list)) else type(batch).__name__)
        raise TypeError(f"each batch of {name} must be a pair (x, y) of tensors, got {got}")
    x, y = batch
    return x.to(device), y.to(device)


def _finite_number(name: str, value: object, *, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} ({value!r})")
    if not math.isfinite(value) or (value <= 0 if positive else value < 0):
        raise ValueError(f"{name} must be a finite number {'> 0' if positive else '>= 0'}, "
                         f"got {value}")
    return float(value)


def check_int(name: str, value: object, low: int = 1) -> int:
    """Return ``value`` if it is an ``int`` >= ``low``; raise a clear error otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return value


def _default_mse(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``fit``'s default loss: ``nn.MSELoss()``'s value, bit for bit, but a prediction and a
    target of different shapes (a ``(B, 1)`` prediction against a ``(B,)`` target would
    broadcast to ``(B, B)``) or dtypes raise instead of training on the wrong loss."""
    check_same_shape(prediction, target)
    check_same_dtype(prediction, target)
    return nn.functional.mse_loss(prediction, target)


# torch's elementwise losses: given a (B, 1) prediction and a (B,) target they broadcast to a
# (B, B) loss and only warn, so fit checks the shapes before calling them.
ELEMENTWISE_LOSSES = (nn.MSELoss, nn.L1Loss, nn.SmoothL1Loss, nn.HuberLoss)


def _shape_checked(loss_fn: nn.Module) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """``loss_fn`` (one of :data:`ELEMENTWISE_LOSSES`), but a prediction and a target of
    different shapes raise ``ValueError`` naming both instead of broadcasting."""
    def checked(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        check_same_shape(prediction, target)
        return loss_fn(prediction, target)
    return checked


def _evaluate(model: nn.Module, batches: Iterable, loss_fn: Callable, device: torch.device,
              epoch: int) -> float:
    """The sample-weighted mean loss over ``batches``, in eval() mode and without autograd."""
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for index, batch in enumerate(batches, start=1):
            x, y = _unpack("val_data", batch, device)
            loss = loss_fn(model(x), y)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"the validation loss is {loss.item()} at epoch {epoch}, validation batch "
                    f"{index}: the weights have left the range of finite numbers")
            total += loss.item() * len(x)
            count += len(x)
    if count == 0:
        raise ValueError("val_data yielded no batches")
    return total / count


def fit(model: nn.Module, train_data: Iterable, val_data: Iterable | None = None, *,
        epochs: int = 100, optimizer: torch.optim.Optimizer | None = None, lr: float = 1e-3,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
        patience: int | None = None, min_delta: float = 0.0,
        checkpoint: str | os.PathLike | None = None, restore_best: bool = True,
        max_norm: float | None = None, device: torch.device | str | None = None,
        progress: bool = True, desc: str = "epochs",
        on_epoch_end: Callable[[int, History], None] | None = None) -> History:
    """Train ``model`` for up to ``epochs`` epochs and return a :class:`History`.

    Arguments
        model       an ``nn.Module`` mapping a batch ``x`` to predictions comparable with ``y``.
        train_data  a re-iterable of ``(x, y)`` tensor pairs: a ``DataLoader``, or a list of
                    batches (a generator is refused: it would be empty after one epoch).
        val_data    the same for validation, or ``None``. After every epoch it is evaluated
                    in ``model.eval()`` mode under ``torch.no_grad()``.
        epochs      the most epochs to run (``int >= 1``).
        optimizer   a ready ``torch.optim.Optimizer`` over the model's parameters; ``None``
                    makes ``torch.optim.Adam(model.parameters(), lr=lr)``.
        lr          the learning rate of that default Adam (ignored when ``optimizer`` given).
        loss_fn     ``loss_fn(prediction, y)`` returning a scalar mean over the batch;
                    default ``nn.MSELoss()``'s value, except that a prediction and a ``y``
                    of different shapes or dtypes raise ``ValueError``/``TypeError`` at the
                    first batch that has them, a training batch before its step
                    (``nn.MSELoss`` would broadcast a ``(B, 1)`` prediction against a ``(B,)``
                    target to a ``(B, B)`` loss and only warn). An explicit
                    ``nn.MSELoss``, ``nn.L1Loss``, ``nn.SmoothL1Loss`` or ``nn.HuberLoss``
                    gets the same shape check; any other callable is used as it is.
                    Epoch losses are means weighted by ``len(x)``.
        patience    early stopping: stop once the monitored loss (validation loss if
                    ``val_data`` is given, else training loss) has not improved by more than
                    ``min_delta`` for ``patience`` epochs in a row. ``None``: never stop early.
        checkpoint  where the best ``state_dict`` goes each time the monitored loss improves:
                    a file path (``torch.save``; reloaded with ``torch.load(path,
                    weights_only=True)``), or ``None`` to keep a copy in memory.
        restore_best  load the best weights back into ``model`` at the end (default True);
                    otherwise the model keeps the weights of the last epoch.
        max_norm    clip the gradients' global L2 norm to this value before each step
                    (``torch.nn.utils.clip_grad_norm_``); ``None``: no clipping.
        device      where to train; the model and each batch are moved there. Default: the
                    device of the model's first parameter.
        progress    show a tqdm bar over epochs (``tqdm.auto``: a widget in Jupyter, text in a
                    terminal) with the latest losses; ``False`` shows nothing.
        desc        the bar's label.
        on_epoch_end  called as ``on_epoch_end(epoch, history)`` after each epoch (1-based),
                    e.g. to draw a live plot or log an extra metric.

    Each epoch: ``model.train()``; for each batch ``zero_grad``, forward, loss, ``backward``,
    (clip), ``step``. A loss (or, with clipping, a gradient norm) that is NaN or infinite
    raises ``FloatingPointError`` naming the epoch and batch, instead of training on garbage.
    The model is left in ``eval()`` mode. Returns the :class:`History`.

    Reproducibility: seed before building the model (``set_seed``) and give a shuffling
    ``DataLoader`` its own ``generator=torch.Generator().manual_seed(seed)``; ``fit`` consumes
    no random numbers of its own, so the same seeds give the same history, bit for bit.
    Speed: for small recurrent models on a CPU, one thread (``with one_thread(): fit(...)``)
    is often faster than several, and much faster when other programs compete for the cores.

    Example::

        history = fit(model, train_loader, val_loader, epochs=200, lr=3e-3, patience=10,
                      max_norm=1.0, checkpoint="best.pt")
        plt.plot(history.train_loss); plt.plot(history.val_loss)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    _check_batches("train_data", train_data)
    if val_data is not None:
        _check_batches("val_data", val_data)
    epochs = check_int("epochs", epochs, 1)
    if patience is not None:
        patience = check_int("patience", patience, 1)
    min_delta = _finite_number("min_delta", min_delta, positive=False)
    if max_norm is not None:
        max_norm = _finite_number("max_norm", max_norm, positive=True)
    if loss_fn is None:
        loss_fn = _default_mse
    elif isinstance(loss_fn, ELEMENTWISE_LOSSES):
        loss_fn = _shape_checked(loss_fn)
    elif not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable as loss_fn(prediction, y), "
                        f"got {type(loss_fn).__name__}")
    parameters = [p for p in model.parameters() if p.requires_grad]
    if not parameters:
        raise ValueError("model has no trainable parameters")
    if optimizer is None:
        optimizer = torch.optim.Adam(parameters, lr=_finite_number("lr", lr, positive=True))
    elif not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, "
                        f"got {type(optimizer).__name__}")
    else:
        ours = {id(p) for p in parameters}
        if not any(id(p) in ours for group in optimizer.param_groups for p in group["params"]):
            raise ValueError("optimizer holds none of the model's parameters: build it "
                             "from this model, e.g. torch.optim.Adam(model.parameters())")
    if checkpoint is not None:
        if not isinstance(checkpoint, (str, os.PathLike)):
            raise TypeError(f"checkpoint must be a file path or None, "
                            f"got {type(checkpoint).__name__}")
        checkpoint = Path(checkpoint)
        if not checkpoint.parent.is_dir():
            raise ValueError(f"the folder of checkpoint {str(checkpoint)!r} does not exist")
    if on_epoch_end is not None and not callable(on_epoch_end):
        raise TypeError(f"on_epoch_end must be callable, got {type(on_epoch_end).__name__}")
    device = next(iter(parameters)).device if device is None else torch.device(device)
    model.to(device)

    from tqdm.auto import tqdm  # imported here: a widget in Jupyter, text elsewhere

    history = History(monitor="val_loss" if val_data is not None else "train_loss",
                      checkpoint=None if checkpoint is None else str(checkpoint))
    best_state: dict[str, torch.Tensor] | None = None
    epochs_without_improvement = 0
    started = time.perf_counter()
    bar = tqdm(range(1, epochs + 1), desc=desc, disable=not progress, leave=True)
    try:
        for epoch in bar:
            model.train()
            total, count = 0.0, 0
            for index, batch in enumerate(train_data, start=1):
                x, y = _unpack("train_data", batch, device)
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(model(x), y)
                if not torch.isfinite(loss):
                    raise FloatingPointError(
                        f"the training loss is {loss.item()} at epoch {epoch}, batch {index}; "
                        f"try a smaller learning rate, gradient clipping (max_norm) or scaled "
                        f"inputs and targets")
                loss.backward()
                if max_norm is not None:
                    norm = nn.utils.clip_grad_norm_(parameters, max_norm)
                    if not torch.isfinite(norm):
                        raise FloatingPointError(
                            f"the gradient norm is {norm.item()} at epoch {epoch}, batch "
                            f"{index}: clipping cannot rescale a NaN or infinite gradient")
                optimizer.step()
                total += loss.item() * len(x)
                count += len(x)
            if count == 0:
                raise ValueError("train_data yielded no batches")
            history.train_loss.append(total / count)
            if val_data is not None:
                history.val_loss.append(_evaluate(model, val_data, loss_fn, device, epoch))
            watched = history.val_loss[-1] if val_data is not None else history.train_loss[-1]
            if watched < history.best_loss - min_delta:
                history.best_loss, history.best_epoch = watched, epoch
                epochs_without_improvement = 0
                if checkpoint is None:
                    best_state = copy.deepcopy(model.state_dict())
                else:
                    torch.save(model.state_dict(), checkpoint)
            else:
                epochs_without_improvement += 1
            bar.set_postfix(train=f"{history.train_loss[-1]:.4g}",
                            **({"val": f"{history.val_loss[-1]:.4g}"} if history.val_loss
                               else {}), best=history.best_epoch)
            if on_epoch_end is not None:
                on_epoch_end(epoch, history)
            if patience is not None and epochs_without_improvement >= patience:
                history.stopped_early = epoch < epochs
                break
    finally:
        bar.close()
        model.eval()
        history.seconds = time.perf_counter() - started
    if restore_best and history.best_epoch is not None:
        state = (best_state if checkpoint is None
                 else torch.load(checkpoint, map_location=device, weights_only=True))
        model.load_state_dict(state)
        history.restored_best = True
    return history

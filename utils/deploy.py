"""Notebook 15's deployment kit: a frozen model to serve, its one-step twin, the checks at the
deployment boundary, and the two exports (``torch.export`` and ONNX) with an onnxruntime
session.

- :class:`InferenceLSTM` - a trained :class:`~utils.language_model.CharLSTM` frozen for
  serving: a deep copy in ``eval()`` mode with no gradients, ``forward(ids, h0, c0) ->
  (logits, h_n, c_n)`` with the state as explicit input and output (what an exported graph
  needs), and ``predict``, which checks the inputs and runs under ``torch.inference_mode()``.
- :class:`StepLSTM` - the same weights one step at a time: ``forward(ids_t, h, c) ->
  (logits_t, h, c)`` for streaming, where characters arrive one by one.
- :func:`check_inputs` and :class:`Guarded` - the deployment boundary: ids of dtype
  ``torch.int64`` and shape ``(batch, seq_len)`` (``(batch,)`` for a step) inside the
  vocabulary, and ``h0``, ``c0`` of dtype float32 and shape ``(num_layers, batch,
  hidden_size)``; anything else raises ``TypeError``/``ValueError`` naming what was expected
  and what came. An exported graph checks less than this (notebook 15 shows what slips by).
- :func:`dynamic_lstm_export` - the context in which ``torch.export`` keeps the time dimension
  of an ``nn.LSTM`` dynamic (see its docstring), quiet about that trick's own warnings.
- :func:`lstm_dynamic_shapes`, :func:`export_program`, :func:`export_onnx`,
  :func:`ort_session`, :func:`ort_runner` - the exports and the onnxruntime session, as the
  notebook does them, for the tests and the explorer.
- :func:`saved_bytes` - the size of a module's ``state_dict`` as ``torch.save`` writes it.
- :func:`max_abs_diff` - the largest absolute difference between two tuples of outputs.

Every file goes to a directory the caller names (the notebook uses a ``tempfile`` directory),
never next to the course's sources.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .language_model import CharLSTM
from .training import check_int

__all__ = ["InferenceLSTM", "StepLSTM", "check_inputs", "Guarded", "dynamic_lstm_export",
           "lstm_dynamic_shapes", "export_program", "export_onnx", "ort_session", "ort_runner",
           "saved_bytes", "max_abs_diff", "INPUT_NAMES", "OUTPUT_NAMES"]

INPUT_NAMES = ("ids", "h0", "c0")
OUTPUT_NAMES = ("logits", "h_n", "c_n")


class InferenceLSTM(nn.Module):
    """A trained ``CharLSTM`` frozen for serving: ids -> embedding -> LSTM -> head.

    It holds a deep copy of the model (further training of the original does not change it),
    in ``eval()`` mode with ``requires_grad`` off. ``forward(ids, h0, c0)`` takes the state as
    explicit tensors and returns ``(logits, h_n, c_n)``: an exported graph has tensors in and
    tensors out, no ``None`` default and no nested tuple. ``forward`` does no checking of its
    own (a Python check on values, such as ``ids.max().item()``, would break the export);
    :meth:`predict` checks at the boundary and runs under ``torch.inference_mode()``."""

    def __init__(self, model: CharLSTM):
        if not isinstance(model, CharLSTM):
            raise TypeError(f"model must be a CharLSTM, got {type(model).__name__}")
        super().__init__()
        frozen = copy.deepcopy(model)
        self.embedding, self.lstm, self.head = frozen.embedding, frozen.lstm, frozen.head
        self.vocab_size = model.vocab_size
        self.hidden_size, self.num_layers = model.lstm.hidden_size, model.lstm.num_layers
        self.requires_grad_(False)
        self.eval()

    @property
    def spec(self) -> dict[str, int]:
        """What :func:`check_inputs` needs to know about this model."""
        return {"vocab_size": self.vocab_size, "hidden_size": self.hidden_size,
                "num_layers": self.num_layers}

    def initial_state(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Zeros ``(num_layers, batch_size, hidden_size)`` for ``h0`` and ``c0``."""
        check_int("batch_size", batch_size)
        shape = (self.num_layers, batch_size, self.hidden_size)
        return torch.zeros(shape), torch.zeros(shape)

    def forward(self, ids: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        output, (h_n, c_n) = self.lstm(self.embedding(ids), (h0, c0))
        return self.head(output), h_n, c_n

    def predict(self, ids: torch.Tensor,
                state: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Checked inference: ``(logits, (h_n, c_n))`` for ``ids`` ``(batch, seq_len)`` from
        ``state`` (zeros when ``None``), without autograd; pass the returned state back in to
        continue the same streams."""
        if state is None:
            _check_ids(ids, self.vocab_size, dims=2)
            state = self.initial_state(ids.shape[0])
        if not (isinstance(state, tuple) and len(state) == 2):
            raise TypeError(f"state must be a tuple (h, c) of two tensors, "
                            f"got {type(state).__name__}")
        check_inputs(ids, *state, **self.spec)
        with torch.inference_mode():
            logits, h_n, c_n = self(ids, *state)
        return logits, (h_n, c_n)


class StepLSTM(nn.Module):
    """One step of an :class:`InferenceLSTM`: ``forward(ids, h0, c0) -> (logits, h_n, c_n)``
    with ``ids`` ``(batch,)``, one id per stream, and ``logits`` ``(batch, vocab_size)``, the
    scores for each stream's next character.

    The state ``(num_layers, batch, hidden_size)`` goes in as ``h0, c0`` and comes out one
    step later as ``h_n, c_n``; the caller carries it to the next step. The argument names are
    the full model's, so both exports have the same inputs and outputs. It shares the frozen
    modules of the model it is built from (the same weights, no copy)."""

    def __init__(self, model: InferenceLSTM):
        if not isinstance(model, InferenceLSTM):
            raise TypeError(f"model must be an InferenceLSTM, got {type(model).__name__}")
        super().__init__()
        self.embedding, self.lstm, self.head = model.embedding, model.lstm, model.head
        self.spec = {**model.spec, "step": True}
        self.eval()

    def forward(self, ids: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        output, (h_n, c_n) = self.lstm(self.embedding(ids).unsqueeze(1), (h0, c0))   # T = 1
        return self.head(output[:, 0]), h_n, c_n


def _check_ids(ids: object, vocab_size: int, dims: int) -> torch.Tensor:
    shape = "(batch,)" if dims == 1 else "(batch, seq_len)"
    if not isinstance(ids, torch.Tensor):
        raise TypeError(f"ids must be a torch.Tensor of token ids of shape {shape}, "
                        f"got {type(ids).__name__}")
    if ids.dtype != torch.int64:
        raise TypeError(f"ids must have dtype torch.int64 (token ids), got {ids.dtype}")
    if ids.dim() != dims:
        raise ValueError(f"ids must have shape {shape}, got {ids.dim()} dimensions "
                         f"{tuple(ids.shape)}")
    if 0 in ids.shape:
        raise ValueError(f"ids must be non-empty, got shape {tuple(ids.shape)}")
    low, high = ids.min().item(), ids.max().item()
    if low < 0 or high >= vocab_size:
        raise ValueError(f"ids holds id {low if low < 0 else high}, outside the vocabulary "
                         f"[0, {vocab_size - 1}]")
    return ids


def check_inputs(ids: torch.Tensor, h0: torch.Tensor, c0: torch.Tensor, *, vocab_size: int,
                 hidden_size: int, num_layers: int = 1, step: bool = False) -> None:
    """Raise ``TypeError``/``ValueError`` unless ``(ids, h0, c0)`` is what the model was
    exported for: ids of dtype ``torch.int64``, shape ``(batch, seq_len)`` (``(batch,)`` with
    ``step=True``), every id in ``[0, vocab_size)``; ``h0`` and ``c0`` float32 tensors of shape
    ``(num_layers, batch, hidden_size)``. Each message names the expected and the received."""
    for name, value in (("vocab_size", vocab_size), ("hidden_size", hidden_size),
                        ("num_layers", num_layers)):
        check_int(name, value)
    if not isinstance(step, bool):
        raise TypeError(f"step must be True or False, got {step!r}")
    ids = _check_ids(ids, vocab_size, dims=1 if step else 2)
    expected = (num_layers, ids.shape[0], hidden_size)
    for name, state in (("h0", h0), ("c0", c0)):
        if not isinstance(state, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor of shape (num_layers, batch, "
                            f"hidden_size) = {expected}, got {type(state).__name__}")
        if state.dtype != torch.float32:
            raise TypeError(f"{name} must have dtype torch.float32, got {state.dtype}")
        if tuple(state.shape) != expected:
            raise ValueError(f"{name} must have shape (num_layers, batch, hidden_size) = "
                             f"{expected} for ids of shape {tuple(ids.shape)}, "
                             f"got {tuple(state.shape)}")


class Guarded:
    """The deployment boundary around any backend: check the inputs, then call it.

    ``backend(ids, h0, c0)`` returns the three outputs (the eager model, an exported
    program's ``.module()``, or :func:`ort_runner` of an onnxruntime session); ``spec`` is
    the model's :attr:`InferenceLSTM.spec` (with ``step=True`` for a one-step model).
    Without ``h0`` and ``c0`` the state starts at zeros."""

    def __init__(self, backend: Callable, *, vocab_size: int, hidden_size: int,
                 num_layers: int = 1, step: bool = False):
        if not callable(backend):
            raise TypeError(f"backend must be callable as backend(ids, h0, c0), "
                            f"got {type(backend).__name__}")
        self.backend = backend
        self.spec = {"vocab_size": check_int("vocab_size", vocab_size),
                     "hidden_size": check_int("hidden_size", hidden_size),
                     "num_layers": check_int("num_layers", num_layers), "step": step}

    def __call__(self, ids: torch.Tensor, h0: torch.Tensor | None = None,
                 c0: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
        if h0 is None and c0 is None:
            _check_ids(ids, self.spec["vocab_size"], dims=1 if self.spec["step"] else 2)
            shape = (self.spec["num_layers"], ids.shape[0], self.spec["hidden_size"])
            h0, c0 = torch.zeros(shape), torch.zeros(shape)
        check_inputs(ids, h0, c0, **self.spec)
        return tuple(self.backend(ids, h0, c0))


@contextlib.contextmanager
def dynamic_lstm_export() -> Iterator[None]:
    """Inside this block ``torch.export`` (and ``torch.onnx.export(..., dynamo=True)``) can
    keep the time dimension of an ``nn.LSTM`` dynamic.

    To learn the shapes of ``aten.lstm``'s outputs, export runs its decomposition, a Python
    loop over the time steps, which fixes the length to the example's (``torch.export``
    then refuses a dynamic time dimension: notebook 15 shows the message). PyTorch 2.13
    ships a decomposition written with a ``while_loop`` instead,
    ``torch.export._patches.register_lstm_while_loop_decomposition`` (a private module, the
    one ``torch.onnx.export`` itself enters when given dynamic shapes); this block enters it.
    The exported graph still calls ``aten.lstm`` itself, so the exported program runs the
    same fused kernel as eager PyTorch.

    Two details of 2.13 are handled here: the patch writes into the operator's kernel table
    without clearing the operator's dispatch cache, so a kernel cached before the block
    would win (the cache is cleared on the way in and out); and the while loop's own
    warnings (``_check_is_size`` is deprecated; the LSTM's flattened weights are "assigned
    during export"), which say nothing about the learner's model, are silenced, as are
    torch.onnx's notes that torchvision is not installed and that the batch's axis name is
    shared by several inputs (it is, on purpose), and torch's own deprecation notice about
    ``LeafSpec``, raised inside the exporter."""
    from torch.export._patches import register_lstm_while_loop_decomposition

    lstm_op = torch.ops.aten.lstm.input
    registration = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = registration.level
    lstm_op._dispatch_cache.clear()
    try:
        with warnings.catch_warnings(), register_lstm_while_loop_decomposition():
            warnings.filterwarnings("ignore", message=r".*_check_is_size will be removed")
            warnings.filterwarnings("ignore", message=r"The tensor attributes .*_flat_weights")
            warnings.filterwarnings("ignore", message=r"# The axis name: .* will not be used")
            warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
            registration.setLevel(logging.ERROR)
            lstm_op._dispatch_cache.clear()
            yield
    finally:
        registration.setLevel(level)
        lstm_op._dispatch_cache.clear()


def lstm_dynamic_shapes(step: bool = False) -> dict[str, dict[int, object]]:
    """The ``dynamic_shapes`` of ``(ids, h0, c0)``: batch (dimension 0 of ids, 1 of the
    states, one ``Dim`` for all three, since the sizes must agree) and, unless ``step``, time
    (dimension 1 of ids)."""
    batch = torch.export.Dim("batch", min=1)
    ids = {0: batch} if step else {0: batch, 1: torch.export.Dim("time", min=1)}
    return {"ids": ids, "h0": {1: batch}, "c0": {1: batch}}


def _check_example(example_inputs: object) -> tuple[torch.Tensor, ...]:
    if not (isinstance(example_inputs, (tuple, list)) and len(example_inputs) == 3
            and all(isinstance(t, torch.Tensor) for t in example_inputs)):
        raise TypeError("example_inputs must be a tuple (ids, h0, c0) of three tensors, got "
                        f"{type(example_inputs).__name__}")
    return tuple(example_inputs)


def export_program(module: nn.Module, example_inputs: Sequence[torch.Tensor],
                   dynamic_shapes: dict | None = None) -> torch.export.ExportedProgram:
    """``torch.export.export(module, example_inputs, dynamic_shapes=...)`` inside
    :func:`dynamic_lstm_export`; ``dynamic_shapes`` defaults to :func:`lstm_dynamic_shapes`
    (with ``step`` read from the module)."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be an nn.Module, got {type(module).__name__}")
    args = _check_example(example_inputs)
    if dynamic_shapes is None:
        dynamic_shapes = lstm_dynamic_shapes(step=isinstance(module, StepLSTM))
    with dynamic_lstm_export():
        return torch.export.export(module, args, dynamic_shapes=dynamic_shapes)


def export_onnx(module: nn.Module, example_inputs: Sequence[torch.Tensor], path: str | Path,
                dynamic_shapes: dict | None = None) -> Path:
    """``torch.onnx.export(..., dynamo=True)`` with inputs named ``ids, h0, c0`` and outputs
    ``logits, h_n, c_n``, saved to ``path`` (a file in a directory that exists)."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be an nn.Module, got {type(module).__name__}")
    args = _check_example(example_inputs)
    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"the directory of {path} does not exist")
    if dynamic_shapes is None:
        dynamic_shapes = lstm_dynamic_shapes(step=isinstance(module, StepLSTM))
    with dynamic_lstm_export():
        program = torch.onnx.export(module, args, dynamo=True, dynamic_shapes=dynamic_shapes,
                                    input_names=list(INPUT_NAMES),
                                    output_names=list(OUTPUT_NAMES), verbose=False)
    program.save(str(path))
    return path


def ort_session(path: str | Path, threads: int = 1):
    """An onnxruntime ``InferenceSession`` for the ONNX file at ``path`` on the CPU, with
    ``threads`` intra-op threads (1: a fair match for ``torch.set_num_threads(1)``). Only
    fatal errors are logged: a failed run raises an exception with the same message anyway."""
    import onnxruntime

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no ONNX file at {path}")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = check_int("threads", threads)
    options.log_severity_level = 4
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def ort_runner(session) -> Callable[..., tuple[torch.Tensor, ...]]:
    """``session`` as a function of tensors: ``run(ids, h0, c0)`` feeds them, as NumPy
    arrays, to the session's inputs in order and returns its outputs as tensors."""
    names = [i.name for i in session.get_inputs()]

    def run(*inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if len(inputs) != len(names):
            raise TypeError(f"the session takes {len(names)} inputs {names}, "
                            f"got {len(inputs)}")
        feed = {name: np.ascontiguousarray(t.numpy())
                for name, t in zip(names, inputs, strict=True)}
        return tuple(torch.from_numpy(out) for out in session.run(None, feed))

    return run


def saved_bytes(module: nn.Module) -> int:
    """The size in bytes of ``torch.save(module.state_dict())``, written to a temporary
    file that is deleted at once."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be an nn.Module, got {type(module).__name__}")
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "state_dict.pt")
        torch.save(module.state_dict(), path)
        return os.path.getsize(path)


def max_abs_diff(outputs: Sequence[torch.Tensor], reference: Sequence[torch.Tensor]) -> float:
    """The largest ``|a - b|`` over the elements of two equally long, equally shaped tuples of
    tensors (logits, h_n, c_n from two backends)."""
    if len(outputs) != len(reference):
        raise ValueError(f"expected {len(reference)} outputs, got {len(outputs)}")
    worst = 0.0
    for index, (a, b) in enumerate(zip(outputs, reference, strict=True)):
        a, b = torch.as_tensor(a), torch.as_tensor(b)
        if a.shape != b.shape:
            raise ValueError(f"output {index} has shape {tuple(a.shape)}, the reference "
                             f"{tuple(b.shape)}")
        worst = max(worst, (a.double() - b.double()).abs().max().item() if a.numel() else 0.0)
    return worst

"""Notebook 10's explorer: type a prompt, set the temperature and top-k, read what the trained
character model writes next.

Each update reads the prompt once (warming the state up), shows the five likeliest next
characters under the chosen temperature and top-k, and samples ``length`` characters with a
generator seeded afresh, so that moving a control shows what that control does, not new
luck. A one-layer ``CharLSTM`` is stepped through ``StepwiseCharLSTM``, an ``nn.LSTMCell``
with a copy of its weights (as in notebook 10, section 6), on one CPU thread: 200 steps of
about 0.1 ms each, far below 0.3 s.
"""

from __future__ import annotations

import ipywidgets as widgets
import torch
from torch import nn

from ..language_model import CharLSTM, StepwiseCharLSTM
from ..text import CharVocab, sample, sampling_probs
from ..training import check_int, one_thread
from . import Explorer

__all__ = ["generation_view", "generation_explorer"]


def _check_model(model: object) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module with forward(ids, state) -> (logits, "
                        f"state), got {type(model).__name__}")


def generation_view(model: nn.Module, vocab: CharVocab, prompt: str, temperature: float,
                    top_k: int, length: int = 200, seed: int = 0) -> dict:
    """What the explorer shows: the prompt's continuation and the likeliest next characters.

    ``top_k = len(vocab)`` keeps every character. A prompt the model cannot read (empty, or a
    character outside the vocabulary) gives ``{"error": message}`` instead of raising, so a
    half-typed prompt does not break the explorer."""
    _check_model(model)
    if not isinstance(vocab, CharVocab):
        raise TypeError(f"vocab must be a CharVocab, got {type(vocab).__name__}")
    length, seed = check_int("length", length, 0), check_int("seed", seed, 0)
    view = {"prompt": prompt, "temperature": temperature, "top_k": top_k}
    try:
        ids = vocab.encode(prompt)
        if not prompt:
            raise ValueError("type a prompt: the model needs at least one character to start")
    except (ValueError, TypeError) as error:
        return {**view, "error": str(error), "text": None, "next": []}
    with torch.no_grad(), one_thread():
        was_training = model.training
        model.eval()
        try:
            logits, _ = model(ids.unsqueeze(0), None)
        finally:
            model.train(was_training)
        probs = sampling_probs(logits[0, -1], temperature, top_k)
        top = probs.topk(5)
        generator = torch.Generator().manual_seed(seed)
        text = sample(model, vocab, prompt, length, temperature, top_k, generator=generator)
    return {**view, "error": None, "text": text, "continuation": text[len(prompt):],
            "next": [(vocab.tokens[i], p) for i, p in zip(top.indices.tolist(),
                                                         top.values.tolist(), strict=True)]}


def _render(view: dict) -> None:
    if view["error"]:
        print("⚠", view["error"])
        return
    shown = "  ".join(f"{char!r} {p:.2f}" for char, p in view["next"] if p > 0)
    print(f"temperature {view['temperature']:g}, top-k {view['top_k']}; the likeliest next "
          f"characters: {shown}\n")
    print(view["text"])


def generation_explorer(model: nn.Module, vocab: CharVocab, prompt: str = "ROMEO:\n",
                        length: int = 200, seed: int = 0) -> Explorer:
    """A prompt box, a temperature slider (0 = greedy) and a top-k slider (all characters at
    the right end) over ``sample`` from ``model``. A one-layer ``CharLSTM`` without a
    projection is read through a ``StepwiseCharLSTM`` built now: train it further, and build
    the explorer again."""
    _check_model(model)
    if not isinstance(vocab, CharVocab):
        raise TypeError(f"vocab must be a CharVocab, got {type(vocab).__name__}")
    check_int("length", length, 0)
    if isinstance(model, CharLSTM) and model.lstm.num_layers == 1 and not model.lstm.proj_size:
        model = StepwiseCharLSTM(model)      # the same logits, a step five times faster
    controls = {
        "prompt": widgets.Textarea(value=prompt, description="prompt", rows=2,
                                  continuous_update=False),
        "temperature": widgets.FloatSlider(value=0.8, min=0.0, max=2.0, step=0.1,
                                           description="temperature", continuous_update=False),
        "top_k": widgets.IntSlider(value=len(vocab), min=1, max=len(vocab), description="top-k",
                                   continuous_update=False),
    }
    return Explorer(controls,
                    lambda prompt, temperature, top_k: generation_view(
                        model, vocab, prompt, temperature, top_k, length, seed),
                    _render, title="Type a prompt, move the sliders: what does the model write?")

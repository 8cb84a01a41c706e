"""Notebook 12's explorer: type text without spaces, pick a trained tagger, see the text cut
into words and the probability of a word boundary after every character.

Whatever is typed is normalised as the training data were (lowercase, letters and
apostrophes only); spaces are removed before the model sees the text, and if the typed text
had any, they are the segmentation the model's is scored against. An update runs the tagger
once over one line: a few milliseconds.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
from IPython.display import HTML, display

from ..tagging import BMES, E, S, Tagger, boundary_f1, end_tags, normalise_words, segment
from ..text import CharVocab
from ..training import one_thread
from . import Explorer

__all__ = ["MAX_CHARS", "segmentation_view", "segmentation_explorer"]

MAX_CHARS = 200  # a longer text is cut here: the explorer shows one line at a time


def _boundary_tags(model: Tagger) -> tuple[int, ...]:
    """The tag ids that end a word: E and S of the four B/M/E/S tags, or 1 of two end tags."""
    if model.num_tags == 4:
        return (E, S)
    if model.num_tags == 2:
        return (1,)
    raise ValueError(f"the explorer reads 4 B/M/E/S tags or 2 end tags, got a Tagger with "
                     f"num_tags={model.num_tags}")


def _check_model(name: str, model: object, vocab: CharVocab) -> Tagger:
    if not isinstance(model, Tagger):
        raise TypeError(f"{name} must be a utils.tagging.Tagger, got {type(model).__name__}")
    _boundary_tags(model)
    if len(vocab) != model.vocab_size:
        raise ValueError(f"{name} was built for a vocabulary of {model.vocab_size} ids, but "
                         f"vocab has {len(vocab)}: pass the vocabulary the model was "
                         "trained with")
    return model


def segmentation_view(model: Tagger, vocab: CharVocab, text: str) -> dict:
    """What the explorer shows for ``text``: the unspaced characters, ``probabilities`` (the
    model's P(a word ends here) for each character: the softmax, or the CRF's marginals), the
    predicted tags and ``words`` (argmax, or the Viterbi path for a CRF), and, when ``text``
    had spaces, the typed ``reference`` words and the boundary F1 against them.

    Text without a single letter gives ``{"error": message}`` instead of raising, so a
    half-typed box does not break the explorer."""
    if not isinstance(vocab, CharVocab):
        raise TypeError(f"vocab must be a CharVocab, got {type(vocab).__name__}")
    _check_model("model", model, vocab)
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    typed = normalise_words(text)
    chars = "".join(typed)
    cut = len(chars) > MAX_CHARS
    if cut:
        chars = chars[:MAX_CHARS]
    if not chars:
        return {"error": "type some letters: the tagger reads a-z and the apostrophe",
                "text": "", "probabilities": [], "tags": "", "words": [], "reference": None,
                "f1": None, "cut": False}
    try:
        ids = vocab.encode(chars).unsqueeze(0)
    except ValueError as error:                    # a character the vocabulary lacks
        return {"error": str(error), "text": chars, "probabilities": [], "tags": "",
                "words": [], "reference": None, "f1": None, "cut": cut}
    with one_thread():
        probs = model.tag_probabilities(ids, [len(chars)])[0]
        tags = model.predict(ids, [len(chars)])[0].tolist()
    boundary = probs[:, list(_boundary_tags(model))].sum(dim=1).tolist()
    ends = [int(t in _boundary_tags(model)) for t in tags]
    ends[-1] = 1                          # the end of the text ends a word
    reference = typed if len(typed) > 1 and not cut else None
    f1 = None
    if reference is not None and len(chars) > 1:
        f1 = boundary_f1([ends], [end_tags(reference)]).f1
    letters = "".join(BMES[t] for t in tags) if model.num_tags == 4 else \
        "".join(str(t) for t in tags)
    return {"error": None, "text": chars, "probabilities": boundary, "tags": letters,
            "words": segment(chars, ends), "reference": reference, "f1": f1, "cut": cut}


def _render(view: dict) -> None:
    if view["error"]:
        print("⚠", view["error"])
        return
    print(" ".join(view["words"]) + (f"   (cut at {MAX_CHARS} characters)" if view["cut"]
                                      else ""))
    if view["reference"] is not None:
        shown = f"{view['f1']:.3f}" if view["f1"] is not None else "n/a"
        print(f"yours: {' '.join(view['reference'])}   boundary F1 against yours: {shown}")
    cells = []
    for char, p, tag in zip(view["text"], view["probabilities"], view["tags"], strict=True):
        shade = f"rgba(196, 78, 82, {p:.2f})"
        cells.append(f'<td style="text-align:center;padding:1px 3px;border-right:'
                     f'{"2px solid #333" if tag in "ES1" else "1px solid #ddd"}">'
                     f'<b>{html.escape(char)}</b><br><span style="font-size:70%">{tag}</span>'
                     f'<br><span style="display:inline-block;background:{shade};'
                     f'font-size:70%;padding:0 2px">{round(100 * p)}</span></td>')
    display(HTML('<div style="overflow-x:auto"><table style="border-collapse:collapse">'
                 f'<tr>{"".join(cells)}</tr></table></div><div style="font-size:80%">each '
                 'character, its predicted tag, and P(a word ends here) in %; a thick line '
                 'marks a predicted boundary</div>'))


def segmentation_explorer(models: dict[str, Tagger], vocab: CharVocab,
                          text: str = "tobeornottobethatisthequestion") -> Explorer:
    """A text box and a menu of trained taggers over :func:`segmentation_view`."""
    if not isinstance(models, dict) or not models:
        raise ValueError(f"models must be a non-empty dict name -> Tagger, got {models!r}")
    if not isinstance(vocab, CharVocab):
        raise TypeError(f"vocab must be a CharVocab, got {type(vocab).__name__}")
    for name, model in models.items():
        _check_model(f"models[{name!r}]", model, vocab)
    controls = {
        "text": widgets.Text(value=text, description="text", continuous_update=False,
                             layout=widgets.Layout(width="32em")),
        "model": widgets.Dropdown(options=list(models), value=list(models)[-1],
                                  description="model"),
    }
    return Explorer(controls,
                    lambda text, model: {"model": model,
                                         **segmentation_view(models[model], vocab, text)},
                    _render, title="Type text without spaces: where do the words end?")

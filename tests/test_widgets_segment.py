import pytest
import torch

from utils.tagging import BMES, Tagger, end_tags, verse_lines
from utils.text import CharVocab
from utils.widgets.segment import MAX_CHARS, segmentation_explorer, segmentation_view

PLAY = "A:\nto be or not to be that is the question\nwhether 'tis nobler in the mind\n"


@pytest.fixture(scope="module")
def setup():
    lines = verse_lines(PLAY)
    vocab = CharVocab("abcdefghijklmnopqrstuvwxyz'", specials=("<pad>", "<unk>"))
    models = {}
    for name, bidirectional, crf in (("uni", False, False), ("bi", True, False),
                                     ("bi-crf", True, True)):
        torch.manual_seed(0)
        models[name] = Tagger(len(vocab), 4, 8, 6, bidirectional=bidirectional, crf=crf)
        with torch.no_grad():
            models[name].head.weight.mul_(20)      # a sharper, less uniform prediction
    return lines, vocab, models


def test_the_view_holds_the_models_own_probabilities_and_tags(setup):
    lines, vocab, models = setup
    for model in models.values():
        view = segmentation_view(model, vocab, "Tobeornot-tobe!")
        assert view["error"] is None and view["text"] == "tobeornottobe"
        ids = vocab.encode("tobeornottobe").unsqueeze(0)
        probs = model.tag_probabilities(ids, [13])[0]
        expected = (probs[:, 2] + probs[:, 3]).tolist()
        assert view["probabilities"] == pytest.approx(expected, abs=1e-6)
        tags = model.predict(ids, [13])[0].tolist()
        assert view["tags"] == "".join(BMES[t] for t in tags)
        assert "".join(view["words"]) == "tobeornottobe"
        ends = [int(t in "ES") for t in view["tags"]][:-1]
        assert ends == end_tags(view["words"])[:-1]
        assert view["reference"] is None and view["f1"] is None


def test_typed_spaces_become_the_reference(setup):
    _, vocab, models = setup
    view = segmentation_view(models["bi"], vocab, "To be, or not")
    assert view["text"] == "tobeornot" and view["reference"] == ["to", "be", "or", "not"]
    assert 0.0 <= view["f1"] <= 1.0


def test_every_control_changes_the_result_fast(setup):
    _, vocab, models = setup
    explorer = segmentation_explorer(models, vocab)
    box, menu = explorer.controls["text"], explorer.controls["model"]
    assert list(menu.options) == list(models) and menu.value == "bi-crf"
    texts = ["tobeornottobethatisthequestion", "whethertisnobler", "a", "to be or not",
             "x" * (MAX_CHARS + 50), "1234 !!", "Now is the winter of our discontent"]
    for name in menu.options:
        menu.value = name
        for text in texts:
            box.value = text
            result = explorer.result
            assert result["model"] == name
            assert explorer.last_update_seconds < 0.3, (name, text)
            if text == "1234 !!":
                assert result["error"] and result["words"] == []
                continue
            assert result["error"] is None
            assert len(result["probabilities"]) == len(result["text"]) == len(result["tags"])
            assert all(0.0 <= p <= 1.0 + 1e-6 for p in result["probabilities"])
            assert result["cut"] == (len(text) > MAX_CHARS)
            assert len(result["text"]) == min(len("".join(text.lower().split())), MAX_CHARS)
            expected = segmentation_view(models[name], vocab, text)
            assert result["words"] == expected["words"]


def test_clear_errors(setup):
    _, vocab, models = setup
    with pytest.raises(TypeError, match="Tagger"):
        segmentation_view(torch.nn.Linear(2, 2), vocab, "abc")
    with pytest.raises(TypeError, match="str"):
        segmentation_view(models["uni"], vocab, 42)
    with pytest.raises(ValueError, match="non-empty"):
        segmentation_explorer({}, vocab)
    with pytest.raises(TypeError, match="Tagger"):
        segmentation_explorer({"x": torch.nn.Linear(2, 2)}, vocab)
    small = CharVocab("abc", specials=("<pad>",))
    view = segmentation_view(Tagger(len(small), 4, 4, 4), small, "abz")
    assert view["error"] and "'z'" in view["error"]


def test_a_model_that_does_not_fit_the_vocabulary_or_the_tags_is_refused(setup):
    _, vocab, models = setup
    other = CharVocab("abc", specials=("<pad>",))
    with pytest.raises(ValueError, match=rf"vocabulary of {len(vocab)} ids, but vocab has "
                                         rf"{len(other)}"):
        segmentation_view(models["bi"], other, "abc")
    with pytest.raises(ValueError, match=r"models\['uni'\] was built for a vocabulary"):
        segmentation_explorer(models, other)
    torch.manual_seed(0)
    three = Tagger(len(vocab), 3, 8, 6)
    with pytest.raises(ValueError, match="4 B/M/E/S tags or 2 end tags.*num_tags=3"):
        segmentation_view(three, vocab, "tobe")
    with pytest.raises(ValueError, match="num_tags=3"):
        segmentation_explorer({"three": three}, vocab)


def test_a_two_tag_model_marks_its_end_tags(setup):
    _, vocab, _ = setup
    torch.manual_seed(0)
    model = Tagger(len(vocab), 2, 8, 6, bidirectional=True)
    view = segmentation_view(model, vocab, "tobeornot")
    ids = vocab.encode("tobeornot").unsqueeze(0)
    assert view["probabilities"] == pytest.approx(
        model.tag_probabilities(ids, [9])[0, :, 1].tolist(), abs=1e-6)
    tags = model.predict(ids, [9])[0].tolist()
    assert view["tags"] == "".join(map(str, tags)) and "".join(view["words"]) == "tobeornot"

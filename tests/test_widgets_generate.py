import pytest
import torch

from utils.language_model import CharLSTM, StepwiseCharLSTM
from utils.text import CharVocab, load_shakespeare, sample
from utils.widgets.generate import generation_explorer, generation_view


@pytest.fixture(scope="module")
def setup():
    vocab = CharVocab(load_shakespeare())
    torch.manual_seed(0)
    model = CharLSTM(len(vocab), embedding_dim=64, hidden_size=256)   # the notebook's size
    return model, vocab


def test_every_control_updates_fast_and_keeps_the_prompt(setup):
    model, vocab = setup
    explorer = generation_explorer(model, vocab)
    prompt, temperature, top_k = (explorer.controls[k] for k in ("prompt", "temperature", "top_k"))
    assert (top_k.min, top_k.max, top_k.value) == (1, 65, 65)
    slowest = 0.0
    for text in ("ROMEO:\n", "First Citizen:\nWe are", "a", "KING HENRY VI:\nNay, "):
        prompt.value = text
        for value in [round(0.1 * k, 1) for k in range(21)]:
            temperature.value = value
            result = explorer.result
            assert result["text"].startswith(text) and len(result["text"]) == len(text) + 200
            assert result["temperature"] == value
            slowest = max(slowest, explorer.last_update_seconds)
    temperature.value = 1.0
    for k in range(1, 66):
        top_k.value = k
        result = explorer.result
        assert result["top_k"] == k and result["text"].startswith(prompt.value)
        assert sum(p > 0 for _, p in result["next"]) == min(k, 5)
        slowest = max(slowest, explorer.last_update_seconds)
    assert slowest < 0.3, slowest


def test_the_explorer_steps_a_cell_with_the_models_logits(setup):
    model, vocab = setup
    explorer = generation_explorer(model, vocab, length=80)
    explorer.controls["temperature"].value = 0.0
    assert explorer.result["text"] == sample(model, vocab, "ROMEO:\n", 80, temperature=0)
    stepwise = StepwiseCharLSTM(model)
    with torch.no_grad():
        ids = vocab.encode("ROMEO:\nWhat light").unsqueeze(0)
        torch.testing.assert_close(stepwise(ids)[0], model(ids)[0])


def test_the_view_is_what_sample_gives(setup):
    model, vocab = setup
    view = generation_view(model, vocab, "ROMEO:", 0.7, 10, length=50, seed=3)
    expected = sample(model, vocab, "ROMEO:", 50, 0.7, 10, generator=torch.Generator().manual_seed(3))
    assert view["text"] == expected and view["continuation"] == expected[6:]
    greedy = generation_view(model, vocab, "ROMEO:", 0.0, 65, length=30)
    assert greedy["next"][0][1] == 1.0 and greedy["next"][1][1] == 0.0
    again = generation_view(model, vocab, "ROMEO:", 0.7, 10, length=50, seed=3)
    assert again["text"] == view["text"]                       # the same settings, the same text


def test_a_bad_prompt_is_shown_not_raised(setup):
    model, vocab = setup
    explorer = generation_explorer(model, vocab)
    explorer.controls["prompt"].value = "naïve"
    assert explorer.result["text"] is None and "'ï' at position 2" in explorer.result["error"]
    explorer.controls["prompt"].value = ""
    assert "type a prompt" in explorer.result["error"]
    explorer.controls["prompt"].value = "JULIET:"
    assert explorer.result["error"] is None and explorer.result["text"].startswith("JULIET:")


def test_clear_errors(setup):
    model, vocab = setup
    with pytest.raises(TypeError, match="CharVocab"):
        generation_explorer(model, "abc")
    with pytest.raises(TypeError, match="nn.Module"):
        generation_explorer(None, vocab)
    with pytest.raises(ValueError, match="length must be >= 0"):
        generation_view(model, vocab, "a", 1.0, 5, length=-1)
    with pytest.raises(TypeError, match="nn.Module.*got str"):
        generation_view("model", vocab, "a", 1.0, 5)


@pytest.mark.filterwarnings("ignore:LSTM with projections")
def test_a_projected_model_is_sampled_as_it_is(setup):
    _, vocab = setup
    torch.manual_seed(1)
    projected = CharLSTM(len(vocab), embedding_dim=16, hidden_size=32, proj_size=16,
                         tie_weights=True)
    explorer = generation_explorer(projected, vocab, length=20)
    explorer.controls["temperature"].value = 0.0
    assert explorer.result["text"] == sample(projected, vocab, "ROMEO:\n", 20, temperature=0)

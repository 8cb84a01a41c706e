import numpy as np
import pytest
import torch

from utils.data import adding_problem
from utils.memory import lstm_gates, make_recurrent_regressor
from utils.widgets.memory import memory_explorer, memory_view, precompute_memory_views


@pytest.fixture(scope="module")
def setup():
    models = {kind: make_recurrent_regressor(kind, size, seed=0)
              for kind, size in (("rnn", 9), ("gru", 5), ("lstm", 4))}
    x, y = adding_problem(6, 20, seed=0)
    return models, x, y, precompute_memory_views(models, x, y)


def test_views_hold_each_models_predictions_and_panels(setup):
    models, x, y, views = setup
    for name, model in models.items():
        with torch.no_grad():
            np.testing.assert_allclose(views["models"][name]["prediction"], model(x)[:, 0].numpy())
        assert views["models"][name]["panel"].shape == (6, 20, model.hidden_size)
    np.testing.assert_allclose(views["models"]["lstm"]["panel"],
                               lstm_gates(models["lstm"].core, x)["f"].numpy())
    assert views["models"]["lstm"]["label"] == "forget gate f"
    assert views["models"]["gru"]["label"] == "hidden state h"


def test_every_control_changes_the_result_fast(setup):
    models, x, y, views = setup
    explorer = memory_explorer(views)
    slider, menu = explorer.controls["sequence"], explorer.controls["model"]
    assert (slider.min, slider.max) == (0, 5)
    for name in menu.options:
        menu.value = name
        for index in range(slider.min, slider.max + 1):
            slider.value = index
            result = explorer.result
            assert result["model"] == name and result["sequence"] == index
            assert result["markers"] == torch.nonzero(x[index, :, 1]).flatten().tolist()
            assert result["target"] == pytest.approx(y[index, 0].item())
            with torch.no_grad():
                expected = models[name](x[index:index + 1])[0, 0].item()
            assert result["prediction"] == pytest.approx(expected, abs=1e-6)
            assert result["squared_error"] == pytest.approx((expected - y[index, 0].item()) ** 2,
                                                            abs=1e-6)
            assert explorer.last_update_seconds < 0.3, (name, index)
            assert explorer.render.image.get_array().shape == (models[name].hidden_size, 20)


def test_clear_errors(setup):
    models, x, y, views = setup
    with pytest.raises(ValueError, match="'gru', 'lstm', 'rnn'"):
        memory_view(views, "transformer", 0)
    with pytest.raises(ValueError, match=r"\[0, 5\].*6"):
        memory_view(views, "lstm", 6)
    with pytest.raises(ValueError, match=r"\(N, T, 2\).*\(6, 20\)"):
        precompute_memory_views(models, x[..., 0], y)
    with pytest.raises(ValueError, match=r"\(6, 1\).*\(6,\)"):
        precompute_memory_views(models, x, y[:, 0])
    with pytest.raises(TypeError, match=".core"):
        precompute_memory_views({"linear": torch.nn.Linear(2, 1)}, x, y)
    with pytest.raises(ValueError, match="non-empty"):
        precompute_memory_views({}, x, y)

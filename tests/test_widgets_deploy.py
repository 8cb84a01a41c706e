import pytest
import torch

from utils.deploy import InferenceLSTM, export_onnx, ort_runner, ort_session
from utils.language_model import CharLSTM
from utils.widgets.deploy import BATCH_SIZES, LENGTHS, deployment_explorer, deployment_view


@pytest.fixture(scope="module")
def backends(tmp_path_factory):
    torch.manual_seed(0)
    served = InferenceLSTM(CharLSTM(65, 64, 256))        # the notebook's size
    path = tmp_path_factory.mktemp("onnx") / "m.onnx"
    export_onnx(served, (torch.randint(0, 65, (2, 7)), *served.initial_state(2)), path)
    return served, {"eager PyTorch": served, "onnxruntime": ort_runner(ort_session(path))}


def test_every_shape_updates_fast_and_agrees(backends):
    served, named = backends
    explorer = deployment_explorer(named, **served.spec)
    slowest = 0.0
    for batch in BATCH_SIZES:
        explorer.controls["batch"].value = batch
        for length in LENGTHS:
            explorer.controls["length"].value = length
            result = explorer.result
            assert (result["batch"], result["length"]) == (batch, length)
            eager, onnx = result["rows"]
            assert eager["max_abs_diff"] == 0.0 and eager["close"]
            assert onnx["close"] and onnx["max_abs_diff"] < 1e-4
            assert onnx["shapes"] == [(batch, length, 65), (1, batch, 256), (1, batch, 256)]
            slowest = max(slowest, explorer.last_update_seconds)
    assert slowest < 0.5, slowest


def test_the_view_is_repeatable_and_catches_a_wrong_backend(backends):
    served, named = backends
    first = deployment_view(named, 2, 10, **served.spec)
    again = deployment_view(named, 2, 10, **served.spec)
    assert [r["max_abs_diff"] for r in first["rows"]] == [r["max_abs_diff"] for r in again["rows"]]

    def off_by_a_bit(ids, h0, c0):
        logits, h, c = served(ids, h0, c0)
        return logits + 1e-3, h, c

    view = deployment_view({"eager": served, "wrong": off_by_a_bit}, 2, 10, **served.spec)
    assert not view["rows"][1]["close"] and view["rows"][1]["max_abs_diff"] > 9e-4


def test_bad_backends_are_refused(backends):
    served, _ = backends
    with pytest.raises(TypeError, match="non-empty dict"):
        deployment_view({}, 1, 1, **served.spec)
    with pytest.raises(TypeError, match="not callable"):
        deployment_explorer({"x": 3}, **served.spec)
    with pytest.raises(ValueError, match="batch must be >= 1"):
        deployment_view({"eager": served}, 0, 1, **served.spec)

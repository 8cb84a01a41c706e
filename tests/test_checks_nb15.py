import numpy as np
import pytest
import torch

from utils.checks.nb15 import check_dynamic_shapes, check_lstm_bytes, check_streamed_state
from utils.deploy import InferenceLSTM
from utils.language_model import CharLSTM

Dim = torch.export.Dim


def test_lstm_bytes():
    assert check_lstm_bytes(1_318_912) and check_lstm_bytes(np.int64(1_318_912))
    assert check_lstm_bytes(torch.tensor(1_318_912.0))
    assert check_lstm_bytes(4 * (4 * 8 * (3 + 8) + 8 * 8), input_size=3, hidden_size=8)
    assert check_lstm_bytes(4 * 8 * (3 + 8) + 8 * 8, input_size=3, hidden_size=8,
                            bytes_per_value=1)
    parameters = check_lstm_bytes(329_728)
    assert not parameters and "number of parameters" in repr(parameters)
    for biases_missing in (1, 2):
        verdict = check_lstm_bytes(1_318_912 - biases_missing * 4 * 1024)
        assert not verdict and "two bias" in repr(verdict)
    no_input = check_lstm_bytes(1_318_912 - 4 * 1024 * 64)
    assert not no_input and "weight_ih_l0" in repr(no_input)
    for wrong in (None, "1318912", 1_318_912.5, [1_318_912], True):
        verdict = check_lstm_bytes(wrong)
        assert not verdict and "whole number" in repr(verdict)
    assert not check_lstm_bytes(1_000_000)


def test_dynamic_shapes_right_answers():
    batch, time = Dim("batch", min=1), Dim("time", min=1)
    assert check_dynamic_shapes({"ids": {0: batch, 1: time}, "h0": {1: batch}, "c0": {1: batch}})
    same_name = {"ids": {0: Dim("b"), 1: Dim("t")}, "h0": {1: Dim("b")}, "c0": {1: Dim("b")}}
    assert check_dynamic_shapes(same_name)                   # the same name is the same Dim


@pytest.mark.parametrize("answer, words", [
    (None, "dict"),
    ({"x": {}, "h0": {}, "c0": {}}, "argument names"),
    ({"ids": (0, 1), "h0": {}, "c0": {}}, "each value"),
    ({"ids": {0: "batch", 1: "time"}, "h0": {1: "batch"}, "c0": {1: "batch"}}, "Dim objects"),
    ({"ids": {0: Dim("b")}, "h0": {1: Dim("b")}, "c0": {1: Dim("b")}}, "both dimension 0"),
    ({"ids": {0: Dim("b"), 1: Dim("b")}, "h0": {1: Dim("b")}, "c0": {1: Dim("b")}}, "two Dims"),
    ({"ids": {0: Dim("b"), 1: Dim("t")}, "h0": {0: Dim("b")}, "c0": {0: Dim("b")}},
     "only dimension 1"),
    ({"ids": {0: Dim("b"), 1: Dim("t")}, "h0": {}, "c0": {1: Dim("b")}}, "batch dimension, 1"),
    ({"ids": {0: Dim("b"), 1: Dim("t")}, "h0": {1: Dim("other")}, "c0": {1: Dim("b")}},
     "same Dim"),
])
def test_dynamic_shapes_hints(answer, words):
    verdict = check_dynamic_shapes(answer)
    assert not verdict and words in repr(verdict), repr(verdict)


@pytest.fixture(scope="module")
def served():
    torch.manual_seed(0)
    return InferenceLSTM(CharLSTM(11, 8, 16))


def test_streamed_state(served):
    ids = torch.randint(0, 11, (4, 9), generator=torch.Generator().manual_seed(1))
    h, c = served.initial_state(4)
    with torch.inference_mode():
        for t in range(ids.shape[1]):
            _, h, c = served(ids[:, t:t + 1], h, c)
    assert check_streamed_state(h, served, ids)
    assert check_streamed_state(h.numpy(), served, ids)          # a NumPy array
    assert check_streamed_state(h[0], served, ids)               # (batch, hidden) for one layer
    assert check_streamed_state(h + 5e-6, served, ids)           # within 1e-5
    cell = check_streamed_state(c, served, ids)
    assert not cell and "cell state" in repr(cell)
    shape = check_streamed_state(h[:, :2], served, ids)
    assert not shape and "(1, 4, 16)" in repr(shape)
    off = check_streamed_state(h + 1e-3, served, ids)
    assert not off and "largest difference" in repr(off)
    assert "float" in repr(check_streamed_state(None, served, ids))
    assert not check_streamed_state(ids, served, ids)            # an integer tensor
    assert not check_streamed_state(np.array(["a"]), served, ids)
    assert "InferenceLSTM" in repr(check_streamed_state(h, "model", ids))

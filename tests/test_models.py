import pytest
import torch

from utils.models import LSTMRegressor


@pytest.fixture
def model():
    torch.manual_seed(0)
    return LSTMRegressor(input_size=10, hidden_size=20, num_layers=2, output_size=1)


def test_classic_shapes(model):
    assert model(torch.randn(16, 5, 10)).shape == (16, 1)


def test_head_reads_last_step(model):
    x = torch.randn(3, 7, 10)
    out, _ = model.lstm(x)
    torch.testing.assert_close(model(x), model.head(out[:, -1]))


@pytest.mark.parametrize("bad, received", [
    (torch.randn(16, 10), "(16, 10)"),        # forgot the sequence (or batch) dimension
    (torch.randn(16, 5, 7), "(16, 5, 7)"),    # wrong feature size
    (torch.randn(16, 0, 10), "(16, 0, 10)"),  # empty sequence
    (torch.randn(0, 5, 10), "(0, 5, 10)"),    # empty batch
    (torch.randn(2, 16, 5, 10), "(2, 16, 5, 10)"),
])
def test_wrong_shapes_name_expected_and_received(model, bad, received):
    with pytest.raises(ValueError) as err:
        model(bad)
    assert "(batch, seq_len, 10)" in str(err.value)
    assert received in str(err.value)


def test_wrong_types(model):
    with pytest.raises(TypeError, match="torch.Tensor"):
        model([[1.0] * 10])
    with pytest.raises(TypeError, match="floating-point"):
        model(torch.ones(2, 3, 10, dtype=torch.long))


@pytest.mark.parametrize("kwargs, error", [
    ({"input_size": 0}, ValueError), ({"hidden_size": -1}, ValueError),
    ({"num_layers": 1.5}, TypeError), ({"output_size": True}, TypeError),
])
def test_constructor_validates(kwargs, error):
    args = {"input_size": 10, "hidden_size": 20, "num_layers": 2, "output_size": 1} | kwargs
    with pytest.raises(error, match=next(iter(kwargs))):
        LSTMRegressor(**args)

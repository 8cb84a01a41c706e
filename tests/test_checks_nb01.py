import torch
from torch import nn

from utils.checks.nb01 import check_forget_rows, check_lstm_step, check_parameter_count


def test_forget_rows():
    assert check_forget_rows(slice(20, 40)) and check_forget_rows(range(20, 40))
    assert check_forget_rows(slice(5, 10), hidden_size=5)
    assert not check_forget_rows(slice(0, 20)) and "i gate" in repr(check_forget_rows(slice(0, 20)))
    assert "g gate" in repr(check_forget_rows(slice(40, 60)))
    assert not check_forget_rows(slice(20, 41)) and not check_forget_rows(None)
    assert "slice" in repr(check_forget_rows((20, 40)))


def test_parameter_count_is_counted_on_a_real_lstm():
    lstm = nn.LSTM(8, 20, 2, bidirectional=True, proj_size=5)
    expected = sum(p.numel() for p in lstm.parameters())
    assert check_parameter_count(expected)
    assert not check_parameter_count(expected + 1) and not check_parameter_count(None)
    assert not check_parameter_count(True) and "whole number" in repr(check_parameter_count("x"))
    assert "both directions" in repr(check_parameter_count(expected // 2))
    without_projection = sum(p.numel() for p in nn.LSTM(8, 20, 2, bidirectional=True).parameters())
    assert "without proj_size" in repr(check_parameter_count(without_projection))
    # other configurations through the keyword arguments
    assert check_parameter_count(4 * 7 * (3 + 7 + 2), input_size=3, hidden_size=7, num_layers=1,
                                 bidirectional=False, proj_size=0)


def reference_step(x, h, c, lstm):
    gates = (x @ lstm.weight_ih_l0.T + lstm.bias_ih_l0 + h @ lstm.weight_hh_l0.T
             + lstm.bias_hh_l0)
    i, f, g, o = gates.chunk(4, dim=1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def test_lstm_step_accepts_the_equations_and_explains_mistakes():
    state = torch.random.get_rng_state()
    assert check_lstm_step(reference_step)
    assert torch.equal(state, torch.random.get_rng_state()), "the checker must not move the RNG"

    def wrong_order(x, h, c, lstm):  # i, f, o, g: another library's order
        gates = (x @ lstm.weight_ih_l0.T + lstm.bias_ih_l0 + h @ lstm.weight_hh_l0.T
                 + lstm.bias_hh_l0)
        i, f, o, g = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c

    def old_c_in_h(x, h, c, lstm):
        new_h, new_c = reference_step(x, h, c, lstm)
        return new_h / torch.tanh(new_c) * torch.tanh(c), new_c

    assert not check_lstm_step(wrong_order) and "c is wrong" in repr(check_lstm_step(wrong_order))
    assert "h = o * tanh(c)" in repr(check_lstm_step(old_c_in_h))
    assert "raised ZeroDivisionError" in repr(check_lstm_step(lambda *args: 1 / 0))
    assert "(2, 4)" in repr(check_lstm_step(lambda x, h, c, lstm: (h[0], c)))
    assert not check_lstm_step(None)


def test_numbers_of_other_types_are_the_same_answer():
    import numpy as np

    lstm = nn.LSTM(8, 20, 2, bidirectional=True, proj_size=5)
    expected = sum(p.numel() for p in lstm.parameters())
    for answer in (np.int64(expected), float(expected), torch.tensor(expected)):
        assert check_parameter_count(answer), repr(check_parameter_count(answer))
    assert not check_parameter_count(expected + 0.5)
    assert check_forget_rows(slice(np.int64(20), np.int64(40)))
    assert check_forget_rows(slice(20.0, 40.0))   # read as whole numbers, never a TypeError
    for malformed in (slice(20.5, 40), slice("a", 40), slice(20, 40, 0)):
        verdict = check_forget_rows(malformed)
        assert not verdict and "whole numbers" in repr(verdict)

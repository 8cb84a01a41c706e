"""The exercise checkers of notebooks 05 and 06: right answers pass, common mistakes get hints."""

import numpy as np
import torch
from torch import nn

from utils.checks import nb05, nb06


def bidirectional_run(num_layers=2):
    torch.manual_seed(0)
    lstm = nn.LSTM(3, 4, num_layers, batch_first=True, bidirectional=True)
    out, (h_n, _) = lstm(torch.randn(5, 6, 3))
    return out, h_n


def test_nb05_bidirectional_summary():
    out, h_n = bidirectional_run()
    right = torch.cat([h_n[-2], h_n[-1]], dim=-1)
    assert nb05.check_bidirectional_summary(right, h_n, 2, out)
    for wrong, words in [
        (None, "torch.Tensor"),
        (h_n[-1], "one direction"),
        (torch.cat([h_n[-1], h_n[-2]], dim=-1), "swapped"),
        (torch.cat([h_n[0], h_n[1]], dim=-1), "bottom layer"),
        (out[:, -1], "backward"),
        (torch.zeros(5, 8), "top layer's two directions"),
        (torch.zeros(5, 3), "(5, 8)"),
    ]:
        verdict = nb05.check_bidirectional_summary(wrong, h_n, 2, out)
        assert not verdict and words in repr(verdict), (words, repr(verdict))


def padded_out():
    torch.manual_seed(0)
    return torch.randn(3, 6, 4), torch.tensor([2, 5, 4])


def test_nb05_last_valid_step():
    out, lengths = padded_out()
    rows = torch.arange(3)
    assert nb05.check_last_valid_step(out[rows, lengths - 1], out, lengths)
    assert nb05.check_last_valid_step(out[rows, lengths - 1], out, lengths.tolist())
    for wrong, words in [(out[:, -1], "padding"), (out[rows, lengths], "off by one"),
                         (out[:, 0], "lengths - 1"), ("x", "torch.Tensor"),
                         (out, "(3, 4)")]:
        verdict = nb05.check_last_valid_step(wrong, out, lengths)
        assert not verdict and words in repr(verdict), (words, repr(verdict))


def test_nb05_masked_mean():
    out, lengths = padded_out()
    mask = (torch.arange(6) < lengths.unsqueeze(1)).unsqueeze(-1)
    right = (out * mask).sum(1) / lengths.unsqueeze(1)
    assert nb05.check_masked_mean(right, out, lengths)
    for wrong, words in [(out.mean(1), "padding steps too"),
                         ((out * mask).sum(1) / 6, "own length"),
                         ((out * mask).sum(1), "mask t < lengths")]:
        verdict = nb05.check_masked_mean(wrong, out, lengths)
        assert not verdict and words in repr(verdict), (words, repr(verdict))


def test_nb06_fixed_loss():
    torch.manual_seed(0)
    prediction, target = torch.randn(8, 1), torch.randn(8)
    right = nn.MSELoss()(prediction.squeeze(1), target)
    assert nb06.check_fixed_loss(right, prediction, target)
    assert nb06.check_fixed_loss(right.item(), prediction, target)
    broadcast = ((prediction - target) ** 2).mean()
    assert "broadcast" in repr(nb06.check_fixed_loss(broadcast, prediction, target))
    assert not nb06.check_fixed_loss(right + 0.1, prediction, target)
    assert "one number" in repr(nb06.check_fixed_loss([1.0], prediction, target))


def test_nb06_mse_gradient():
    torch.manual_seed(0)
    prediction, target = torch.randn(4, 3, requires_grad=True), torch.randn(4, 3)
    nn.MSELoss()(prediction, target).backward()
    assert nb06.check_mse_gradient(prediction.grad, prediction, target)
    residual = prediction.detach() - target
    for wrong, words in [(-2 * residual / 12, "sign"), (2 * residual, "sum"),
                         (2 * residual / 4, "batch size"), (residual / 12, "factor 2"),
                         (residual, "differentiate"), (residual[0], "(4, 3)"),
                         (None, "tensor")]:
        verdict = nb06.check_mse_gradient(wrong, prediction, target)
        assert not verdict and words in repr(verdict), (words, repr(verdict))


def test_nb06_huber_and_raw_mse():
    assert nb06.check_huber_value(2.5) and nb06.check_huber_value(torch.tensor(2.5))
    assert "quadratic part" in repr(nb06.check_huber_value(4.5))
    assert "squared error" in repr(nb06.check_huber_value(9.0))
    assert not nb06.check_huber_value(3.0) and not nb06.check_huber_value("2.5")
    assert nb06.check_huber_value(0.125, residual=0.5)  # within delta: 0.5 r^2
    assert nb06.check_raw_mse(100.0) and nb06.check_raw_mse(np.int64(100))
    assert nb06.check_huber_value(np.float32(2.5))
    assert "square" in repr(nb06.check_raw_mse(2.0))
    assert not nb06.check_raw_mse(0.04) and not nb06.check_raw_mse(None)

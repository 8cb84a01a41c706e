"""Notebook 19's checkers accept the right answers (in any numeric form), explain the common
wrong ones, and agree with what torch and utils.relatives compute."""

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from utils.checks.nb19 import (
    check_gru_parameters,
    check_kv_cache_floats,
    check_log_d,
    check_stabiliser,
)
from utils.relatives import CharTransformer, mlstm_parallel, slstm_step


def test_gru_parameters_is_what_torch_counts():
    gru = nn.GRU(input_size=10, hidden_size=20, num_layers=2)
    count = sum(p.numel() for p in gru.parameters())
    assert count == 4440
    assert check_gru_parameters(count) and check_gru_parameters(np.int64(4440))
    assert check_gru_parameters(4440.0) and check_gru_parameters(torch.tensor(4440))
    lstm = sum(p.numel() for p in nn.LSTM(10, 20, 2).parameters())
    assert "LSTM's count" in repr(check_gru_parameters(lstm))
    assert "two bias vectors" in repr(check_gru_parameters(3 * 20 * 31 + 3 * 20 * 41))
    assert "layer below" in repr(check_gru_parameters(2 * 3 * 20 * 32))
    assert "one layer" in repr(check_gru_parameters(1920))
    assert not check_gru_parameters(4441) and not check_gru_parameters(None)
    assert not check_gru_parameters(True)
    assert check_gru_parameters(sum(p.numel() for p in nn.GRU(5, 8, 3).parameters()),
                                input_size=5, hidden_size=8, num_layers=3)


def test_right_answers_pass_when_a_wrong_pattern_coincides():
    # one layer: the "one layer" count is the right one
    one = sum(p.numel() for p in nn.GRU(10, 20, 1).parameters())
    assert one == 1920 and check_gru_parameters(1920, 10, 20, num_layers=1)
    # input_size == hidden_size: "every layer reads the input" is the right count too
    same = sum(p.numel() for p in nn.GRU(16, 16, 3).parameters())
    assert check_gru_parameters(same, input_size=16, hidden_size=16, num_layers=3)
    assert not check_gru_parameters(same + 1, input_size=16, hidden_size=16, num_layers=3)
    # one layer: the keys-and-values of one layer are all of them
    assert check_kv_cache_floats(2 * 2048 * 768, num_layers=1)
    assert "keys only" in repr(check_kv_cache_floats(2048 * 768, num_layers=1))
    # m_t = m_(t-1): then f'_t = exp(log f_t), the "unstabilised" pattern, is right
    verdict = check_stabiliser((2.0, 1.0), m_prev=2.0, log_f=0.0, i_pre=1.0)
    assert verdict and "Correct" in repr(verdict)
    assert not check_stabiliser((2.0, 0.5), m_prev=2.0, log_f=0.0, i_pre=1.0)


def test_stabiliser_agrees_with_slstm_step():
    m_prev, log_f, i_pre = 2.0, -0.5, 3.0
    assert check_stabiliser((3.0, math.exp(-1.5))) and check_stabiliser([3, 0.22313016])
    assert check_stabiliser((torch.tensor(3.0), np.float64(math.exp(-1.5))))
    # the same numbers from the sLSTM step: f' * c with c = 1, n = 0, z = 0
    f_pre = torch.tensor([log_f], dtype=torch.float64)      # exp forget gate: log f = f_pre
    c = torch.ones(1, dtype=torch.float64)
    _, c_new, _, m_new = slstm_step(torch.zeros(1, dtype=torch.float64),
                                    torch.tensor([i_pre], dtype=torch.float64), f_pre,
                                    torch.zeros(1, dtype=torch.float64), c,
                                    torch.zeros(1, dtype=torch.float64),
                                    torch.tensor([m_prev], dtype=torch.float64),
                                    stabilised=True, forget="exp")
    assert check_stabiliser((m_new.item(), c_new.item()))
    assert "larger" in repr(check_stabiliser((1.5, 1.0)))
    assert "unstabilised" in repr(check_stabiliser((3.0, math.exp(-0.5))))
    assert not check_stabiliser((3.0, 0.5)) and not check_stabiliser((4.0, math.exp(-1.5)))
    assert not check_stabiliser(3.0) and not check_stabiliser(("a", "b"))


def test_kv_cache_floats_is_what_a_cache_holds():
    model = CharTransformer(5, d_model=8, nhead=2, num_layers=3, max_len=20)
    cache = model.new_cache(batch=1)
    cache.length = 17
    assert check_kv_cache_floats(cache.floats(), num_layers=3, d_model=8, context=17)
    assert check_kv_cache_floats(37_748_736) and check_kv_cache_floats(3.7748736e7)
    assert "keys only" in repr(check_kv_cache_floats(37_748_736 // 2))
    assert "every layer" in repr(check_kv_cache_floats(37_748_736 // 12))
    assert "bytes" in repr(check_kv_cache_floats(2 * 37_748_736))
    assert not check_kv_cache_floats(1) and not check_kv_cache_floats("many")


def test_log_d_is_what_mlstm_parallel_uses():
    i_pre = torch.tensor([0.5, -1.0, 2.0, 0.0])
    f_pre = torch.tensor([1.0, 0.0, -2.0, 3.0])
    F_ = torch.cumsum(F.logsigmoid(f_pre), 0)
    upper = ~torch.ones(4, 4, dtype=torch.bool).tril()
    log_d = (F_[:, None] - F_[None, :] + i_pre[None, :]).masked_fill(upper, float("-inf"))
    assert check_log_d(log_d) and check_log_d(log_d.double())
    # mlstm_parallel with q = k = 1 (d = 1) and v = 1: S = D, so h = sum(D) / max(|sum D|, 1)
    ones = torch.ones(1, 4, 1, dtype=torch.float64)
    h = mlstm_parallel(ones, ones, ones, i_pre[None].double(), f_pre[None].double(),
                       stabilised=False)
    d_sum = log_d.double().exp().sum(-1)
    torch.testing.assert_close(h[0, :, 0], d_sum / d_sum.abs().clamp(min=1))
    # a real swap: the whole matrix transposed, or the transposed formula under the right mask
    assert "swapped" in repr(check_log_d(log_d.T))
    full = F_[:, None] - F_[None, :] + i_pre[None, :]
    assert "swapped" in repr(check_log_d(full.T.masked_fill(upper, float("-inf"))))
    # only the diagonal right, -inf everywhere else: wrong, and not called a swap
    diagonal_only = torch.full((4, 4), float("-inf"))
    diagonal_only.diagonal().copy_(log_d.diagonal())
    verdict = check_log_d(diagonal_only)
    assert not verdict and "swapped" not in repr(verdict)
    assert "-inf" in repr(check_log_d(log_d.masked_fill(upper, 0.0)))
    assert "input gate" in repr(check_log_d(log_d - i_pre[None, :]))
    with_own = log_d + F.logsigmoid(f_pre)[None, :]
    assert "s + 1" in repr(check_log_d(with_own))
    assert "(4, 4)" in repr(check_log_d(log_d[:3]))
    assert not check_log_d(log_d + 0.1) and not check_log_d(log_d.tolist())

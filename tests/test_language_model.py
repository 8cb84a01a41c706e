import math

import pytest
import torch
from torch import nn

from utils.language_model import (
    CharLSTM,
    NGramModel,
    StepwiseCharLSTM,
    detach_state,
    nats_per_char,
    train_steps,
)
from utils.text import stream_batches


def ids_of(length, vocab_size=7, seed=0):
    return torch.randint(0, vocab_size, (length,), generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------- CharLSTM


def test_char_lstm_shapes_and_state():
    torch.manual_seed(0)
    model = CharLSTM(11, embedding_dim=6, hidden_size=8)
    ids = torch.randint(0, 11, (3, 5))
    logits, (h, c) = model(ids)
    assert logits.shape == (3, 5, 11) and h.shape == c.shape == (1, 3, 8)
    # carrying the state over two halves equals reading the whole sequence
    first, state = model(ids[:, :2])
    second, _ = model(ids[:, 2:], state)
    torch.testing.assert_close(torch.cat([first, second], 1), logits)


def test_char_lstm_parameter_count_and_tying():
    untied = CharLSTM(65, embedding_dim=32, hidden_size=32)
    tied = CharLSTM(65, embedding_dim=32, hidden_size=32, tie_weights=True)
    def count(m):                                                 # shared tensors count once
        return sum(p.numel() for p in m.parameters())
    lstm = 4 * 32 * (32 + 32 + 2)
    assert count(untied) == 65 * 32 + lstm + 65 * 32 + 65
    assert count(untied) - count(tied) == 65 * 32
    assert tied.head.weight is tied.embedding.weight
    logits, _ = tied(torch.tensor([[1, 2, 3]]))
    logits.sum().backward()
    assert tied.embedding.weight.grad is not None


@pytest.mark.filterwarnings("ignore:LSTM with projections")
def test_tying_needs_the_lstm_output_size_not_the_hidden_size():
    projected = CharLSTM(65, embedding_dim=16, hidden_size=48, proj_size=16, tie_weights=True)
    untied = CharLSTM(65, embedding_dim=16, hidden_size=48, proj_size=16)
    assert projected.head.weight is projected.embedding.weight
    assert projected.head.in_features == 16 and projected.lstm.hidden_size == 48
    def count(m):
        return sum(p.numel() for p in m.parameters())
    assert count(untied) - count(projected) == 65 * 16
    logits, (h, c) = projected(torch.tensor([[1, 2, 3], [4, 5, 6]]))
    assert logits.shape == (2, 3, 65) and h.shape == (1, 2, 16) and c.shape == (1, 2, 48)
    logits.sum().backward()
    assert projected.embedding.weight.grad.abs().sum() > 0


def test_char_lstm_bad_inputs():
    with pytest.raises(ValueError, match=r"hidden_size = 256\) == embedding_dim \(64\).*"
                                         r"\(65, 256\).*\(65, 64\).*proj_size=64"):
        CharLSTM(65, embedding_dim=64, hidden_size=256, tie_weights=True)
    with pytest.raises(ValueError, match=r"proj_size = 32\) == embedding_dim \(64\)"):
        CharLSTM(65, embedding_dim=64, hidden_size=256, proj_size=32, tie_weights=True)
    with pytest.raises(ValueError, match="proj_size must be smaller than hidden_size"):
        CharLSTM(65, embedding_dim=64, hidden_size=64, proj_size=64)
    with pytest.raises(ValueError, match="proj_size must be >= 0"):
        CharLSTM(65, proj_size=-1)
    with pytest.raises(TypeError, match="hidden_size must be an int"):
        CharLSTM(65, hidden_size=2.5)
    with pytest.raises(ValueError, match="vocab_size must be >= 1, got 0"):
        CharLSTM(0)
    with pytest.raises(TypeError, match="tie_weights must be True or False"):
        CharLSTM(5, tie_weights=1)
    model = CharLSTM(5, 4, 4)
    with pytest.raises(TypeError, match="torch.long, got torch.float32"):
        model(torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"\(batch, seq_len\).*\(3,\)"):
        model(torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"id 5, outside the vocabulary \[0, 4\]"):
        model(torch.tensor([[0, 5]]))
    with pytest.raises(ValueError, match=r"id -1"):
        model(torch.tensor([[0, -1]]))


def test_stepwise_model_gives_the_same_logits_and_state():
    torch.manual_seed(0)
    model = CharLSTM(11, embedding_dim=6, hidden_size=8)
    stepwise = StepwiseCharLSTM(model)
    ids = torch.randint(0, 11, (3, 9))
    with torch.no_grad():
        expected, (h, c) = model(ids)
        got, (h2, c2) = stepwise(ids)
        torch.testing.assert_close(got, expected)
        torch.testing.assert_close(h2, h)
        torch.testing.assert_close(c2, c)
        first, state = stepwise(ids[:, :4])                       # the state carries over
        rest, _ = stepwise(ids[:, 4:], state)
        torch.testing.assert_close(torch.cat([first, rest], 1), expected)
        rest_model, _ = model(ids[:, 4:], state)                  # and fits the layer's format
        torch.testing.assert_close(rest_model, rest)
    assert stepwise.head is model.head and stepwise.embedding is model.embedding
    with torch.no_grad():                                         # a copy: later changes to the
        model.lstm.weight_hh_l0.add_(1.0)                         # layer do not reach the cell
    assert not torch.equal(stepwise.cell.weight_hh, model.lstm.weight_hh_l0)


def test_stepwise_model_bad_inputs():
    with pytest.raises(TypeError, match="CharLSTM, got LSTM"):
        StepwiseCharLSTM(nn.LSTM(3, 4))
    with pytest.raises(ValueError, match="one layer; the model has 2"):
        StepwiseCharLSTM(CharLSTM(5, 4, 4, num_layers=2))
    with pytest.raises(ValueError, match=r"id 5, outside"):
        StepwiseCharLSTM(CharLSTM(5, 4, 4))(torch.tensor([[5]]))
    with pytest.raises(ValueError, match="no projection; .*proj_size=2"):
        StepwiseCharLSTM(CharLSTM(5, 4, 4, proj_size=2))
    stepwise, ids = StepwiseCharLSTM(CharLSTM(5, 4, 4)), torch.tensor([[1, 2], [3, 4]])
    good = (torch.zeros(1, 2, 4), torch.zeros(1, 2, 4))
    assert stepwise(ids, good)[0].shape == (2, 2, 5)
    with pytest.raises(ValueError, match=r"state h .*\(1, 2, 4\), got \(2, 4\)"):
        stepwise(ids, (torch.zeros(2, 4), torch.zeros(2, 4)))
    with pytest.raises(ValueError, match=r"state c .*\(1, 2, 4\), got \(1, 3, 4\)"):
        stepwise(ids, (torch.zeros(1, 2, 4), torch.zeros(1, 3, 4)))
    with pytest.raises(ValueError, match=r"\(1, 2, 4\), got \(2, 2, 4\)"):
        stepwise(ids, (torch.zeros(2, 2, 4), torch.zeros(2, 2, 4)))     # two layers' state
    with pytest.raises(TypeError, match="tuple \\(h, c\\)"):
        stepwise(ids, torch.zeros(1, 2, 4))


def test_detach_state():
    h = torch.ones(1, 2, 3, requires_grad=True) * 2
    c = torch.ones(1, 2, 3, requires_grad=True) * 3
    detached = detach_state((h, c))
    assert all(not s.requires_grad for s in detached)
    assert detached[0].data_ptr() == h.data_ptr()                # the same values, not a copy
    assert detach_state(None) is None
    with pytest.raises(TypeError, match="tuple of tensors"):
        detach_state([h, c])

# ---------------------------------------------------------------- nats_per_char


class Fixed(nn.Module):
    """The same logits at every step, whatever the input: its loss is exact to compute."""

    def __init__(self, logits):
        super().__init__()
        self.vocab_size = len(logits)
        self.logits = nn.Parameter(logits.clone())

    def forward(self, ids, state=None):
        return self.logits.expand(*ids.shape, -1), state


def test_nats_per_char_scores_every_target():
    logits = torch.tensor([0.0, 1.0, 2.0, -1.0, 0.5, 0.0, 0.3])
    ids = ids_of(1003)                                          # 1002 targets, 64 streams: 42 left
    expected = nn.functional.cross_entropy(logits.expand(1002, -1), ids[1:]).item()
    assert nats_per_char(Fixed(logits), ids) == pytest.approx(expected, rel=1e-6)
    assert nats_per_char(Fixed(logits), ids, streams=1, chunk=7) == pytest.approx(expected,
                                                                                   rel=1e-6)


def test_nats_per_char_carries_the_state_of_each_stream():
    torch.manual_seed(0)
    model = CharLSTM(7, 4, 8)
    ids = ids_of(301)
    one_pass = nn.functional.cross_entropy(model(ids[:-1].unsqueeze(0))[0][0], ids[1:]).item()
    assert nats_per_char(model, ids, streams=1, chunk=13) == pytest.approx(one_pass, rel=1e-5)
    # 7 streams: each restarts from zeros; the 300 % 7 = 6 leftover targets continue stream 6
    length = 300 // 7
    parts = [model(ids[b * length:(b + 1) * length].unsqueeze(0))[0][0] for b in range(6)]
    tail = model(ids[6 * length:300].unsqueeze(0))[0][0]
    by_hand = nn.functional.cross_entropy(torch.cat(parts + [tail]), ids[1:]).item()
    model.train()
    assert nats_per_char(model, ids, streams=7, chunk=10) == pytest.approx(by_hand, rel=1e-5)
    assert model.training


def test_nats_per_char_bad_inputs():
    model = CharLSTM(7, 4, 8)
    with pytest.raises(ValueError, match="too few for 64 streams"):
        nats_per_char(model, ids_of(50))
    with pytest.raises(TypeError, match="vocab_size"):
        nats_per_char(nn.LSTM(2, 3), ids_of(50))
    with pytest.raises(ValueError, match=r"\(length,\)"):
        nats_per_char(model, ids_of(100).view(10, 10))
    with pytest.raises(ValueError, match=r"id 9, outside"):
        nats_per_char(model, torch.tensor([1, 9, 2] * 40))

# ---------------------------------------------------------------- NGramModel


def by_hand_probability(train, context, w, order, vocab_size, d):
    """P_order(w | context) computed by counting in a Python list, for comparison."""
    if order == 0:
        return 1.0 / vocab_size
    h = tuple(context[len(context) - (order - 1):]) if order > 1 else ()
    grams = [tuple(train[i:i + order]) for i in range(len(train) - order + 1)]
    with_h = [g for g in grams if g[:-1] == h]
    lower = by_hand_probability(train, context, w, order - 1, vocab_size, d)
    if not with_h:
        return lower
    count = sum(1 for g in with_h if g[-1] == w)
    followers = len({g[-1] for g in with_h})
    return (max(count - d, 0) + d * followers * lower) / len(with_h)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_ngram_matches_counting_by_hand(order):
    train, val = ids_of(400, 5, seed=1), ids_of(40, 5, seed=2)
    model = NGramModel(order, 5, discount=0.6).fit(train)
    probs = model.probs(val)
    assert probs.shape == (39,)
    t_list, v_list = train.tolist(), val.tolist()
    for t in range(1, 40):
        context = v_list[max(0, t - order + 1):t]
        expected = by_hand_probability(t_list, context, v_list[t], min(order, t + 1), 5, 0.6)
        assert probs[t - 1].item() == pytest.approx(expected, rel=1e-9), t


def test_ngram_probabilities_sum_to_one():
    train = ids_of(2000, 6, seed=3)
    model = NGramModel(3, 6).fit(train)
    for context in ([0, 1], [5, 5], [2, 3]):
        total = sum(model.probs(torch.tensor(context + [w]))[-1].item() for w in range(6))
        assert total == pytest.approx(1.0, abs=1e-12)


def test_ngram_orders_improve_on_structured_text():
    pattern = torch.tensor([0, 1, 2, 3, 2, 1] * 300)             # period 6: order 3 predicts it
    losses = [NGramModel(n, 4).fit(pattern[:1500]).nats_per_char(pattern[1500:])
              for n in (1, 2, 3)]
    assert losses[0] > losses[1] > losses[2]
    assert losses[2] < 0.05
    fitted = NGramModel(3, 4).fit(pattern[:1500])                 # one fit serves lower orders
    assert [fitted.nats_per_char(pattern[1500:], order=n) for n in (1, 2, 3)] == losses
    entropy = -(2 * (1 / 6) * math.log(1 / 6) + 2 * (2 / 6) * math.log(2 / 6))
    assert losses[0] == pytest.approx(entropy, rel=0.01)            # the unigram: the entropy


def test_nats_by_order_is_every_order_in_one_pass():
    train, val = ids_of(3000, 6, seed=4), ids_of(300, 6, seed=5)
    model = NGramModel(4, 6).fit(train)
    by_order = model.nats_by_order(val)
    assert list(by_order) == [1, 2, 3, 4]
    for n, nats in by_order.items():
        assert nats == pytest.approx(model.nats_per_char(val, order=n), rel=1e-12)
    short = model.nats_by_order(torch.tensor([1, 2]))          # one target: orders 3, 4 = 2
    assert short[3] == short[4] == short[2] != short[1]


def test_ngram_counts_are_the_training_counts():
    train = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 3])
    model = NGramModel(3, 4).fit(train)
    query = torch.tensor([0, 1, 2, 3, 0, 1, 3])
    assert model.ngram_counts(query, 1).tolist() == [3, 3, 2, 1, 3, 3, 1]
    assert model.ngram_counts(query, 2).tolist() == [3, 2, 0, 0, 3, 1]   # (2, 3), (3, 0): never
    assert model.ngram_counts(query, 3).tolist() == [2, 0, 0, 0, 1]
    with pytest.raises(ValueError, match="at most the fitted order 3, got 4"):
        model.ngram_counts(query, 4)
    with pytest.raises(ValueError, match="fewer than n = 3"):
        model.ngram_counts(torch.tensor([0, 1]), 3)
    with pytest.raises(RuntimeError, match="fit the model"):
        NGramModel(2, 4).ngram_counts(query, 2)


def test_ngram_bad_inputs():
    with pytest.raises(RuntimeError, match="fit the model"):
        NGramModel(2, 5).probs(ids_of(10, 5))
    with pytest.raises(ValueError, match="discount must be in"):
        NGramModel(2, 5, discount=1.0)
    with pytest.raises(ValueError, match="too high"):
        NGramModel(11, 65)
    with pytest.raises(ValueError, match="vocab_size must be >= 2"):
        NGramModel(2, 1)
    with pytest.raises(ValueError, match=r"id 5, outside the vocabulary \[0, 4\]"):
        NGramModel(2, 5).fit(torch.tensor([0, 5, 1]))
    with pytest.raises(TypeError, match="torch.long"):
        NGramModel(2, 5).fit(torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="fewer than the order 3"):
        NGramModel(3, 5).fit(torch.tensor([0, 1]))
    assert "not fitted" in repr(NGramModel(2, 5))
    with pytest.raises(ValueError, match="at most the fitted order 2, got 3"):
        NGramModel(2, 5).fit(ids_of(20, 5)).probs(ids_of(10, 5), order=3)


def test_train_steps_is_notebook_10s_loop_and_lowers_the_loss():
    torch.manual_seed(0)
    ids = torch.randint(0, 5, (2000,))
    model = CharLSTM(5, embedding_dim=8, hidden_size=16)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = train_steps(model, stream_batches(ids % 2 + 2 * (ids == 4), 4, 20), optimizer)
    assert len(losses) == len(stream_batches(ids, 4, 20)) and losses[-1] < losses[0]
    with pytest.raises(ValueError, match="max_norm must be a finite number > 0, got -1"):
        train_steps(model, [], optimizer, max_norm=-1)
    with pytest.raises(TypeError, match="model must be an nn.Module, got str"):
        train_steps("model", [], optimizer)

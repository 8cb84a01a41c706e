"""utils.sequences: the last-step facts of notebook 05, and the helpers' input checks."""

import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

from utils.sequences import (
    IGNORE_INDEX,
    bidirectional_summary,
    check_lengths,
    collate_fn,
    last_valid_step,
    length_mask,
    masked_max,
    masked_mean,
    pad_batch,
    run_packed,
    summaries_one_by_one,
    summary_from_packed,
    top_layer_summary,
)

LENGTHS = [7, 3, 5, 1]  # unsorted on purpose; the longest fills the padded length


def padded_batch(input_size=3, lengths=LENGTHS, seed=0):
    """A right-padded batch: random real steps, zeros after each length."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(len(lengths), max(lengths), input_size, generator=g)
    for b, length in enumerate(lengths):
        x[b, length:] = 0.0
    return x


def make_lstm(num_layers=2, bidirectional=False, batch_first=True, **kwargs):
    torch.manual_seed(1)
    return nn.LSTM(3, 4, num_layers, batch_first=batch_first, bidirectional=bidirectional,
                   **kwargs)


@pytest.mark.parametrize("num_layers", [1, 2, 3])
def test_last_output_step_is_top_layer_h_n_when_unidirectional(num_layers):
    lstm = make_lstm(num_layers)
    out, (h_n, _) = lstm(torch.randn(5, 6, 3))
    assert torch.equal(out[:, -1], h_n[-1])
    assert torch.equal(top_layer_summary(h_n, num_layers, False), h_n[-1])
    if num_layers > 1:
        assert not torch.allclose(out[:, -1], h_n[0])  # h_n[0] is the bottom layer


@pytest.mark.parametrize("num_layers", [1, 2])
def test_bidirectional_last_step_is_not_the_backward_summary(num_layers):
    lstm = make_lstm(num_layers, bidirectional=True)
    x = torch.randn(5, 6, 3)
    out, (h_n, _) = lstm(x)
    H = lstm.hidden_size
    assert not torch.allclose(out[:, -1, H:], h_n[-1], atol=1e-3)
    summary = bidirectional_summary(h_n, num_layers)
    assert torch.equal(summary, torch.cat([h_n[-2], h_n[-1]], dim=-1))
    assert torch.equal(summary, torch.cat([out[:, -1, :H], out[:, 0, H:]], dim=-1))
    assert not torch.allclose(summary, out[:, -1], atol=1e-3)
    if num_layers == 1:  # the backward half of out[:, -1] has read only the last step
        out_last_only, _ = lstm(x[:, -1:])
        torch.testing.assert_close(out[:, -1, H:], out_last_only[:, 0, H:])


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
def test_bidirectional_summary_with_proj_size():
    lstm = make_lstm(2, bidirectional=True, proj_size=2)
    out, (h_n, _) = lstm(torch.randn(5, 6, 3))
    assert bidirectional_summary(h_n, 2).shape == (5, 4)
    torch.testing.assert_close(bidirectional_summary(h_n, 2)[:, :2], out[:, -1, :2])


@pytest.mark.parametrize("batch_first", [True, False])
def test_padded_batch_last_step_reads_padding_and_both_fixes_equal_lone_runs(batch_first):
    lstm = make_lstm(2, batch_first=batch_first)
    x = padded_batch()
    alone, _ = summaries_one_by_one(make_lstm(2), x, LENGTHS)
    xin = x if batch_first else x.transpose(0, 1)
    out, _ = lstm(xin)
    last = out[:, -1] if batch_first else out[-1]
    full = torch.tensor(LENGTHS) == max(LENGTHS)
    torch.testing.assert_close(last[full], alone[full])  # the full-length one is fine
    for b in (~full).nonzero().flatten().tolist():  # every shorter one differs
        assert not torch.allclose(last[b], alone[b], atol=1e-4), b
    torch.testing.assert_close(last_valid_step(out, LENGTHS, batch_first=batch_first), alone)
    torch.testing.assert_close(summary_from_packed(lstm, xin, LENGTHS), alone)
    torch.testing.assert_close(summary_from_packed(lstm, xin, torch.tensor(LENGTHS)), alone)


@pytest.mark.parametrize("num_layers", [1, 2])
def test_packing_fixes_a_bidirectional_lstm_but_gathering_does_not(num_layers):
    lstm = make_lstm(num_layers, bidirectional=True)
    x = padded_batch()
    alone, _ = summaries_one_by_one(lstm, x, LENGTHS)
    torch.testing.assert_close(summary_from_packed(lstm, x, LENGTHS), alone)
    out, _ = lstm(x)
    H = lstm.hidden_size
    short = torch.tensor(LENGTHS) < max(LENGTHS)
    # the backward direction started on padding: its summary (at t = 0) is wrong
    assert not torch.allclose(out[short, 0, H:], alone[short, H:], atol=1e-4)
    gathered = last_valid_step(out, LENGTHS)
    if num_layers == 1:  # one layer: the forward half of the gathered step is right
        torch.testing.assert_close(gathered[:, :H], alone[:, :H])
    else:  # stacked: layer 2's forward direction reads layer 1's backward outputs
        assert not torch.allclose(gathered[short, :H], alone[short, :H], atol=1e-4)


def test_run_packed_out_has_zeros_after_each_length_and_keeps_the_padded_length():
    lstm = make_lstm(1)
    x = padded_batch()
    out, (h_n, c_n) = run_packed(lstm, x, LENGTHS)
    assert out.shape == (4, 7, 4) and h_n.shape == c_n.shape == (1, 4, 4)
    mask = length_mask(LENGTHS, 7)
    assert torch.equal(out[~mask], torch.zeros_like(out[~mask]))
    _, outs = summaries_one_by_one(lstm, x, LENGTHS)
    for b, length in enumerate(LENGTHS):
        torch.testing.assert_close(out[b, :length], outs[b])


def test_masked_pooling_equals_pooling_each_lone_run():
    lstm = make_lstm(1)
    x = padded_batch()
    out, _ = lstm(x)
    _, outs = summaries_one_by_one(lstm, x, LENGTHS)
    torch.testing.assert_close(masked_mean(out, LENGTHS), torch.stack([o.mean(0) for o in outs]))
    torch.testing.assert_close(masked_max(out, LENGTHS), torch.stack([o.amax(0) for o in outs]))
    short = torch.tensor(LENGTHS) < max(LENGTHS)
    assert not torch.allclose(out.mean(1)[short], masked_mean(out, LENGTHS)[short], atol=1e-4)
    time_major = out.transpose(0, 1)
    torch.testing.assert_close(masked_mean(time_major, LENGTHS, batch_first=False),
                               masked_mean(out, LENGTHS))
    torch.testing.assert_close(masked_max(time_major, LENGTHS, batch_first=False),
                               masked_max(out, LENGTHS))


def test_masked_max_ignores_zero_padding_when_all_real_values_are_negative():
    out = -torch.ones(2, 3, 1)
    out[1, 2:] = 0.0  # padding
    assert torch.equal(masked_max(out, [3, 2]), -torch.ones(2, 1))
    assert out.amax(1)[1].item() == 0.0  # the unmasked max reads the padding


def test_length_mask():
    assert length_mask([2, 0 + 1], 3).tolist() == [[True, True, False], [True, False, False]]


def test_check_lengths_accepts_lists_and_integer_tensors():
    assert check_lengths([1, 3], 2, 3).dtype == torch.int64
    assert check_lengths(torch.tensor([1, 3], dtype=torch.int32), 2, 3).tolist() == [1, 3]


@pytest.mark.parametrize("lengths, error, words", [
    ([0, 3], ValueError, ["[1, 3]", "lengths[0] = 0"]),
    ([4, 3], ValueError, ["[1, 3]", "lengths[0] = 4"]),
    ([3], ValueError, ["(2,)", "(1,)"]),
    ([[1, 2]], TypeError, ["ints"]),
    (torch.tensor([1.0, 2.0]), TypeError, ["float32"]),
    ([True, 2], TypeError, ["ints"]),
    (3, TypeError, ["int"]),
])
def test_bad_lengths_are_refused_with_the_expected_and_received(lengths, error, words):
    out = torch.zeros(2, 3, 4)
    with pytest.raises(error) as caught:
        last_valid_step(out, lengths)
    for word in words:
        assert word in str(caught.value)


def test_bad_shapes_are_refused_with_the_expected_and_received():
    with pytest.raises(ValueError, match=r"\(batch, seq_len, features\).*\(2, 3\)"):
        last_valid_step(torch.zeros(2, 3), [1, 2])
    with pytest.raises(ValueError, match=r"\(seq_len, batch, features\)"):
        masked_mean(torch.zeros(2, 3), [1, 2], batch_first=False)
    with pytest.raises(TypeError, match="torch.Tensor"):
        last_valid_step([[1.0]], [1])
    with pytest.raises(ValueError, match=r"\(4, batch, hidden\).*\(2, 5, 4\)"):
        bidirectional_summary(torch.zeros(2, 5, 4), 2)
    with pytest.raises(ValueError, match=r"\(2, batch, hidden\).*\(4, 5, 4\)"):
        top_layer_summary(torch.zeros(4, 5, 4), 2, False)
    with pytest.raises(ValueError, match="num_layers"):
        bidirectional_summary(torch.zeros(2, 5, 4), 0)
    lstm = make_lstm(1)
    with pytest.raises(ValueError, match=r"\(batch, seq_len, 3\).*\(4, 7, 2\)"):
        summary_from_packed(lstm, torch.zeros(4, 7, 2), LENGTHS)
    with pytest.raises(ValueError, match=r"\[1, 7\]"):
        summary_from_packed(lstm, torch.zeros(4, 7, 3), [8, 1, 1, 1])
    with pytest.raises(TypeError, match="nn.LSTM"):
        summary_from_packed(nn.GRU(3, 4), torch.zeros(4, 7, 3), LENGTHS)
    with pytest.raises(TypeError, match="batch_first"):
        last_valid_step(torch.zeros(2, 3, 4), [1, 2], batch_first=1)


def test_pad_batch_pads_right_and_returns_cpu_int64_lengths():
    padded, lengths = pad_batch([torch.tensor([5, 6, 7]), torch.tensor([8])], padding_value=0)
    assert padded.tolist() == [[5, 6, 7], [8, 0, 0]]
    assert lengths.tolist() == [3, 1] and lengths.dtype == torch.int64
    assert lengths.device.type == "cpu"
    features, _ = pad_batch([torch.ones(2, 4), torch.ones(1, 4)])
    assert features.shape == (2, 2, 4) and features[1, 1].abs().sum() == 0


def test_collate_fn_for_class_targets_and_for_per_step_targets():
    x, lengths, y = collate_fn([(torch.tensor([1, 2]), 3), (torch.tensor([4]), 0)],
                               padding_value=9)
    assert x.tolist() == [[1, 2], [4, 9]] and lengths.tolist() == [2, 1] and y.tolist() == [3, 0]
    x, lengths, tags = collate_fn([(torch.tensor([1, 2]), torch.tensor([0, 1])),
                                   (torch.tensor([4]), torch.tensor([1]))])
    assert tags.tolist() == [[0, 1], [1, IGNORE_INDEX]]
    loss = torch.nn.functional.cross_entropy(torch.zeros(2, 2, 2).transpose(1, 2), tags)
    assert loss.item() == pytest.approx(math.log(2))  # the padded step adds nothing


def test_collate_fn_works_in_a_dataloader():
    data = [(torch.arange(n) + 1, n % 2) for n in (3, 1, 2, 5)]
    x, lengths, y = next(iter(DataLoader(data, batch_size=4, collate_fn=collate_fn)))
    assert x.shape == (4, 5) and lengths.tolist() == [3, 1, 2, 5] and y.tolist() == [1, 1, 0, 1]


@pytest.mark.parametrize("call, error, words", [
    (lambda: pad_batch([]), ValueError, "non-empty"),
    (lambda: pad_batch([torch.tensor([1]), torch.tensor([], dtype=torch.int64)]), ValueError,
     "sequences[1] is empty"),
    (lambda: pad_batch([torch.tensor([1]), [2]]), TypeError, "sequences[1] must be a torch"),
    (lambda: pad_batch([torch.tensor([1]), torch.tensor([1.0])]), TypeError, "dtype"),
    (lambda: pad_batch([torch.ones(2, 3), torch.ones(2, 4)]), ValueError, "(2, 4)"),
    (lambda: collate_fn([]), ValueError, "non-empty"),
    (lambda: collate_fn([torch.tensor([1])]), TypeError, "pair"),
    (lambda: collate_fn([(torch.tensor([1, 2]), torch.tensor([0]))]), ValueError,
     "shape (2,), got (1,)"),
])
def test_bad_batches_are_refused_with_the_expected_and_received(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)

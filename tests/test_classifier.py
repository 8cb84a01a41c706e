"""utils.classifier: packing equals running alone, padding never matters, bad input refused."""

import pytest
import torch
from torch import nn

from utils.classifier import (
    SequenceClassifier,
    balanced_class_weights,
    bootstrap_difference,
    encode_items,
    predict_logits,
    scores,
    train_classifier,
)
from utils.sequences import pad_batch
from utils.text import CharVocab

NAMES = ["Nakamura", "Li", "Schmidt", "Ivanov", "Ng", "Rossi", "Kowalski", "Oh"]
LABELS = [0, 1, 2, 3, 1, 4, 3, 5]
VOCAB = CharVocab("".join(NAMES), specials=("<pad>", "<unk>"))


def model(bidirectional=False, summary="last", seed=0, **kwargs):
    torch.manual_seed(seed)
    return SequenceClassifier(len(VOCAB), 6, embedding_dim=5, hidden_size=7,
                              bidirectional=bidirectional, summary=summary, **kwargs)


def batch(names=NAMES):
    return pad_batch([VOCAB.encode(n) for n in names])


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("summary", ["last", "mean"])
def test_each_sequence_gets_what_it_gets_alone(bidirectional, summary):
    net = model(bidirectional, summary).eval()
    ids, lengths = batch()
    assert not torch.equal(lengths, lengths.sort(descending=True).values)   # unsorted
    logits = net(ids, lengths)
    assert logits.shape == (len(NAMES), 6)
    for b, name in enumerate(NAMES):
        alone = VOCAB.encode(name).unsqueeze(0)
        torch.testing.assert_close(logits[b], net(alone, torch.tensor([len(name)]))[0])
    more_padding = torch.cat([ids, torch.zeros(len(NAMES), 4, dtype=torch.long)], dim=1)
    torch.testing.assert_close(net(more_padding, lengths), logits)


def test_last_summary_is_h_n_and_mean_is_over_real_steps():
    net = model(bidirectional=True).eval()
    ids, lengths = batch()
    alone = net.embedding(VOCAB.encode("Li").unsqueeze(0))            # NAMES[1], length 2
    _, (h_n, _) = net.lstm(alone)
    torch.testing.assert_close(net.summarize(ids, lengths)[1],
                               torch.cat([h_n[-2], h_n[-1]], dim=-1)[0])
    mean_net = model(summary="mean").eval()
    out, _ = mean_net.lstm(mean_net.embedding(VOCAB.encode("Li").unsqueeze(0)))
    torch.testing.assert_close(mean_net.summarize(ids, lengths)[1], out[0].mean(0))


def test_padding_row_stays_zero_and_gets_no_gradient():
    net = model()
    assert net.embedding.weight[0].abs().sum() == 0
    ids, lengths = batch()
    net.embedding(ids).sum().backward()           # padding positions feed this sum
    assert net.embedding.weight.grad[0].abs().sum() == 0
    assert net.embedding.weight.grad[2:].abs().sum() > 0
    pairs = encode_items(NAMES, LABELS, VOCAB.encode)
    train_classifier(net, pairs, epochs=3, batch_size=4, progress=False)
    assert net.embedding.weight[0].abs().sum() == 0


def test_training_learns_the_tiny_set_and_is_seeded():
    pairs = encode_items(NAMES, LABELS, VOCAB.encode)
    a, b = model(True), model(True)
    history = train_classifier(a, pairs, pairs, epochs=30, batch_size=4, lr=0.02,
                               progress=False, seed=1)
    train_classifier(b, pairs, pairs, epochs=30, batch_size=4, lr=0.02, progress=False, seed=1)
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert history.val_accuracy[history.best_epoch - 1] == 1.0
    assert history.restored_best
    torch.testing.assert_close(predict_logits(a, pairs), predict_logits(b, pairs))


def test_class_weights_and_balanced_sampling_run():
    pairs = encode_items(NAMES, LABELS, VOCAB.encode)
    weight = balanced_class_weights([1, 2, 1, 2, 1, 1])
    assert weight.tolist() == pytest.approx([8 / 6, 8 / 12, 8 / 6, 8 / 12, 8 / 6, 8 / 6])
    for kwargs in ({"weight": weight}, {"balanced": True}):
        history = train_classifier(model(), pairs, epochs=2, batch_size=4, progress=False,
                                   **kwargs)
        assert len(history.train_loss) == 2 and history.best_epoch is None


def test_scores():
    result = scores([0, 0, 0, 1], [0, 0, 0, 0], 3)
    assert result["accuracy"] == 0.75
    assert result["macro_f1"] == pytest.approx((6 / 7) / 3)     # classes 1 and 2 score 0
    assert result["balanced_accuracy"] == pytest.approx(0.5)     # recall 1 and 0
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        scores([0, 3], [0, 0], 3)
    with pytest.raises(ValueError, match="same non-zero length"):
        scores([0, 1], [0], 3)


@pytest.mark.parametrize("make, error, match", [
    (lambda ids, n: (ids.float(), n), TypeError, "integer token ids"),
    (lambda ids, n: (ids[0], n), ValueError, "2-D"),
    (lambda ids, n: (ids, n.tolist()), TypeError, "CPU int64 tensor.*list"),
    (lambda ids, n: (ids, n.int()), TypeError, "int64.*torch.int32"),
    (lambda ids, n: (ids, n.float()), TypeError, "int64.*torch.float32"),
    (lambda ids, n: (ids, n[:3]), ValueError, r"shape \(8,\)"),
    (lambda ids, n: (ids, torch.where(n == 2, 0, n)), ValueError, "sequence 1 is empty"),
    (lambda ids, n: (ids, n + 1), ValueError, r"lengths\[\d\] = 9 is longer than .* 8 steps"),
    (lambda ids, n: (ids + 100, n), ValueError, r"every id must be in \[0, \d+\]"),
    (lambda ids, n: (ids[:0], n[:0]), ValueError, "the batch is empty"),
])
def test_bad_batches_are_refused(make, error, match):
    ids, lengths = batch()
    with pytest.raises(error, match=match):
        model()(*make(ids, lengths))


def test_bad_training_input_is_refused():
    pairs = encode_items(NAMES, LABELS, VOCAB.encode)
    with pytest.raises(ValueError, match="label 6 is outside the model's 6 classes"):
        train_classifier(model(), pairs[:3] + [(pairs[3][0], 6)], epochs=1, progress=False)
    with pytest.raises(ValueError, match="label -1 is outside"):
        train_classifier(model(), [(pairs[0][0], -1)], epochs=1, progress=False)
    with pytest.raises(TypeError, match="class index"):
        train_classifier(model(), [(pairs[0][0], 1.0)], epochs=1, progress=False)
    with pytest.raises(ValueError, match="empty sequence"):
        train_classifier(model(), [(torch.tensor([], dtype=torch.long), 1)], epochs=1,
                         progress=False)
    with pytest.raises(ValueError, match=r"shape \(6,\)"):
        train_classifier(model(), pairs, weight=torch.ones(5), epochs=1, progress=False)
    with pytest.raises(TypeError, match="num_classes"):
        train_classifier(nn.Linear(2, 2), pairs, epochs=1, progress=False)
    with pytest.raises(ValueError, match="encodes to an empty sequence"):
        encode_items(["Li", "!!"], [0, 1], lambda t: VOCAB.encode(t.strip("!")))
    with pytest.raises(ValueError, match="one label per text"):
        encode_items(NAMES, LABELS[:3], VOCAB.encode)


def test_weight_dtype_is_cast_and_bad_weights_and_norms_are_refused():
    pairs = encode_items(NAMES, LABELS, VOCAB.encode)
    weight = balanced_class_weights([1, 2, 1, 2, 1, 1])
    as_float32 = train_classifier(model(), pairs, pairs, epochs=2, batch_size=4,
                                  weight=weight, progress=False)
    as_float64 = train_classifier(model(), pairs, pairs, epochs=2, batch_size=4,
                                  weight=weight.double(), progress=False)
    assert as_float64.train_loss == pytest.approx(as_float32.train_loss, rel=1e-6)
    for bad in (torch.tensor([1.0, 1, 1, 1, 1, float("inf")]), -torch.ones(6)):
        with pytest.raises(ValueError, match="finite positive weight"):
            train_classifier(model(), pairs, weight=bad, epochs=1, progress=False)
    for max_norm in (0, -1.0, float("nan"), float("inf"), True):
        with pytest.raises(ValueError, match="max_norm must be None"):
            train_classifier(model(), pairs, max_norm=max_norm, epochs=1, progress=False)
    train_classifier(model(), pairs, max_norm=None, epochs=1, progress=False)


def test_bootstrap_difference():
    targets = [0, 0, 0, 1, 1, 2, 2, 2, 1, 0] * 20
    a = [0, 0, 1, 1, 1, 2, 2, 0, 1, 0] * 20
    b = [0, 0, 0, 0, 1, 2, 1, 1, 1, 2] * 20
    result = bootstrap_difference(targets, a, b, 3, draws=500)
    score_a, score_b = scores(targets, a, 3), scores(targets, b, 3)
    for key, (difference, se) in result.items():
        assert difference == pytest.approx(score_a[key] - score_b[key])
        assert 0 < se < 0.2
    same = bootstrap_difference(targets, a, a, 3, draws=50)
    assert all(v == (0.0, 0.0) for v in same.values())
    assert bootstrap_difference(targets, a, b, 3, draws=500) == result       # seeded
    with pytest.raises(ValueError, match="same non-zero length"):
        bootstrap_difference(targets, a[:5], b, 3)
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        bootstrap_difference(targets, [3] * len(a), b, 3)


@pytest.mark.parametrize("kwargs, match", [
    ({"summary": "max"}, "summary must be one of"),
    ({"padding_idx": 99}, "padding_idx"),
    ({"dropout": 1.0}, "dropout"),
])
def test_bad_construction_is_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        model(**kwargs)

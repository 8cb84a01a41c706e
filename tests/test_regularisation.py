"""utils.regularisation: each regulariser does what its docstring says, and refuses bad input."""

import math

import pytest
import torch
from torch import nn

from utils.language_model import nats_per_char
from utils.regularisation import (
    Recipe,
    RegularisedCharLSTM,
    Run,
    ablation_rows,
    ar_tar,
    drop_connect,
    embedding_dropout,
    locked_dropout,
    paired_interval,
    state_dropout_lstm,
    t_quantile,
    train_run,
    weight_dropped_lstm,
)
from utils.text import stream_batches


def seeded(seed=0):
    return torch.Generator().manual_seed(seed)


def loop_with(lstm, x, weight_hh):
    """nn.LSTM's equations stepped by hand with one recurrent matrix for every step."""
    h = c = torch.zeros(x.shape[0], lstm.hidden_size)
    outputs = []
    for t in range(x.shape[1]):
        gates = x[:, t] @ lstm.weight_ih_l0.T + lstm.bias_ih_l0 + h @ weight_hh.T + lstm.bias_hh_l0
        i, f, g, o = gates.chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        outputs.append(h)
    return torch.stack(outputs, 1)


# ------------------------------------------------------------------ locked dropout

def test_locked_dropout_shares_one_mask_over_time_and_scales_the_rest():
    x = torch.rand(40, 9, 30) + 0.5                                 # no zeros of its own
    y = locked_dropout(x, 0.25, generator=seeded())                 # p != 1 - p
    dropped = y == 0
    assert (dropped == dropped[:, :1]).all()                        # the same at every step
    assert 0.2 < dropped[:, 0].float().mean() < 0.3                 # a quarter, not 3/4
    torch.testing.assert_close(y[~dropped], x[~dropped] / 0.75)     # 1 / (1 - p) = 4/3
    mask = dropped[:, 0]
    assert not (mask == mask[:1]).all() and not (mask == mask[:, :1]).all()   # (B, 1, F)
    assert not torch.equal(dropped, locked_dropout(x, 0.25, generator=seeded(1)) == 0)


def test_locked_dropout_is_the_identity_outside_training_or_at_p_0():
    x = torch.randn(2, 3, 4)
    assert locked_dropout(x, 0.5, training=False) is x and locked_dropout(x, 0.0) is x


@pytest.mark.parametrize("args, error, match", [
    ((torch.randn(2, 3), 0.5), ValueError, r"\(batch, seq_len, features\)"),
    ((torch.ones(2, 3, 4, dtype=torch.long), 0.5), TypeError, "floating point"),
    (([1.0], 0.5), TypeError, "float tensor"),
    ((torch.randn(2, 3, 4), 1.0), ValueError, r"\[0, 1\)"),
    ((torch.randn(2, 3, 4), "0.5"), TypeError, "number"),
    ((torch.randn(2, 3, 4), True), TypeError, "number"),
])
def test_locked_dropout_refuses_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        locked_dropout(*args)


def test_locked_dropout_refuses_a_bad_training_flag_and_generator():
    with pytest.raises(TypeError, match="True or False"):
        locked_dropout(torch.randn(2, 3, 4), 0.5, training=1)
    with pytest.raises(TypeError, match="Generator"):
        locked_dropout(torch.randn(2, 3, 4), 0.5, generator=0)


# ------------------------------------------------------------------ embedding dropout

def test_embedding_dropout_drops_whole_tokens():
    weight = torch.rand(10, 5) + 0.5
    ids = torch.tensor([[1, 2, 3, 1, 2], [3, 3, 1, 4, 5]])
    out = embedding_dropout(weight, ids, 0.25, generator=seeded(3))
    zero = (out == 0).all(-1)                                       # a whole vector is zero
    assert ((out == 0).any(-1) == zero).all()
    for token in ids.unique().tolist():
        at = ids == token
        assert zero[at].all() or not zero[at].any()                 # everywhere or nowhere
        if not zero[at].any():
            torch.testing.assert_close(out[at], (weight[token] / 0.75).expand(int(at.sum()), 5))
    assert zero.any() and (~zero).any()
    many = embedding_dropout(torch.rand(4000, 2) + 0.5, torch.arange(4000).view(1, -1), 0.25,
                             generator=seeded(4))
    assert 0.22 < (many == 0).all(-1).float().mean() < 0.28        # a quarter of the tokens


def test_embedding_dropout_is_the_lookup_outside_training():
    weight, ids = torch.randn(7, 3), torch.tensor([[0, 6, 2]])
    torch.testing.assert_close(embedding_dropout(weight, ids, 0.5, training=False),
                               nn.functional.embedding(ids, weight), rtol=0, atol=0)


def test_embedding_dropout_refuses_bad_ids():
    with pytest.raises(TypeError, match="LongTensor"):
        embedding_dropout(torch.randn(4, 2), torch.tensor([0.0]), 0.1)
    with pytest.raises(ValueError, match="id 4, outside the 4 rows"):
        embedding_dropout(torch.randn(4, 2), torch.tensor([0, 4]), 0.1)
    with pytest.raises(ValueError, match=r"\(vocab_size, embedding_dim\)"):
        embedding_dropout(torch.randn(4), torch.tensor([0]), 0.1)


# ------------------------------------------------------------------ DropConnect and weight drop

def test_drop_connect_zeroes_entries_and_keeps_the_expectation():
    weight = torch.rand(40, 30) + 0.5
    dropped = drop_connect(weight, 0.25, generator=seeded())
    kept = dropped != 0
    torch.testing.assert_close(dropped[kept], weight[kept] / 0.75)
    assert 0.2 < 1 - kept.float().mean() < 0.3
    assert drop_connect(weight, 0.25, training=False) is weight     # full weights, unscaled


def test_weight_dropped_lstm_uses_one_dropped_matrix_at_every_step():
    torch.manual_seed(0)
    lstm = nn.LSTM(3, 5, batch_first=True)
    x = torch.randn(2, 8, 3)
    out, (h, c), used = weight_dropped_lstm(lstm, x, p=0.3, training=True, generator=seeded())
    matrix = used["weight_hh_l0"]
    assert (matrix == 0).any()
    torch.testing.assert_close(matrix[matrix != 0], lstm.weight_hh_l0[matrix != 0] / 0.7)
    torch.testing.assert_close(out, loop_with(lstm, x, matrix))
    torch.testing.assert_close(h[0], out[:, -1])
    out.sum().backward()
    grad = lstm.weight_hh_l0.grad
    assert (grad[matrix == 0] == 0).all() and (grad[matrix != 0] != 0).all()
    assert [name for name, _ in lstm.named_parameters()] == [
        "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]      # the module untouched


def test_weight_dropped_lstm_outside_training_is_the_plain_lstm():
    lstm = nn.LSTM(3, 4, num_layers=2, batch_first=True).eval()
    x = torch.randn(2, 5, 3)
    out, _, used = weight_dropped_lstm(lstm, x, p=0.5)
    torch.testing.assert_close(out, lstm(x)[0], rtol=0, atol=0)
    assert set(used) == {"weight_hh_l0", "weight_hh_l1"} and used["weight_hh_l1"] is \
        lstm.weight_hh_l1


def test_weight_dropped_lstm_refuses_other_modules():
    with pytest.raises(TypeError, match="nn.LSTM"):
        weight_dropped_lstm(nn.GRU(3, 4), torch.randn(1, 2, 3))


def test_weight_dropped_lstm_refuses_a_bad_input_and_state():
    lstm = nn.LSTM(3, 4, num_layers=2, batch_first=True)
    with pytest.raises(TypeError, match=r"x must be a float tensor of shape \(batch, seq_len"):
        weight_dropped_lstm(lstm, "x")
    with pytest.raises(ValueError, match=r"input_size 3, got \(2, 5, 6\)"):
        weight_dropped_lstm(lstm, torch.randn(2, 5, 6))
    good = (torch.zeros(2, 2, 4), torch.zeros(2, 2, 4))
    assert weight_dropped_lstm(lstm, torch.randn(2, 5, 3), good)[0].shape == (2, 5, 4)
    with pytest.raises(ValueError, match=r"h must have shape \(2, 2, 4\).*got \(1, 2, 4\)"):
        weight_dropped_lstm(lstm, torch.randn(2, 5, 3), (torch.zeros(1, 2, 4),) * 2)
    with pytest.raises(ValueError, match=r"c must have shape \(2, 2, 4\).*got \(2, 1, 4\)"):
        weight_dropped_lstm(lstm, torch.randn(2, 5, 3), (good[0], torch.zeros(2, 1, 4)))
    with pytest.raises(TypeError, match="pair"):
        weight_dropped_lstm(lstm, torch.randn(2, 5, 3), torch.zeros(2, 2, 4))


# ------------------------------------------------------------------ state dropout in a loop

def test_state_dropout_without_dropping_is_the_lstm():
    torch.manual_seed(1)
    lstm = nn.LSTM(3, 4, batch_first=True)
    x, state = torch.randn(2, 6, 3), (torch.randn(1, 2, 4), torch.randn(1, 2, 4))
    expected, (h, c) = lstm(x, state)
    for kwargs in ({"p": 0.0}, {"p": 0.5, "training": False}):
        out, (h2, c2) = state_dropout_lstm(lstm, x, state, **kwargs)
        torch.testing.assert_close(out, expected)
        torch.testing.assert_close(c2, c)


def test_locked_state_dropout_drops_the_same_columns_of_weight_hh_at_every_step():
    torch.manual_seed(2)
    lstm = nn.LSTM(3, 6, batch_first=True)
    x = torch.randn(1, 7, 3)                                        # one sequence
    out = state_dropout_lstm(lstm, x, p=0.25, mask="locked", training=True,
                             generator=seeded(4))[0]
    keep = torch.empty(1, 6).bernoulli_(0.75, generator=seeded(4)) / 0.75  # the same draw
    assert (keep == 0).any()
    torch.testing.assert_close(out, loop_with(lstm, x, lstm.weight_hh_l0 * keep))
    swapped = torch.empty(1, 6).bernoulli_(0.25, generator=seeded(4)) / 0.75
    assert not torch.allclose(out, loop_with(lstm, x, lstm.weight_hh_l0 * swapped))
    per_step = state_dropout_lstm(lstm, x, p=0.25, mask="per_step", training=True,
                                  generator=seeded(4))[0]
    torch.testing.assert_close(per_step[:, 0], out[:, 0])          # the first mask is shared
    assert not torch.allclose(per_step, out)                        # then new masks


@pytest.mark.parametrize("lstm, match", [
    (nn.LSTM(3, 4, num_layers=2, batch_first=True), "one-layer"),
    (nn.LSTM(3, 4), "batch_first"),
    (nn.LSTM(3, 4, batch_first=True, bidirectional=True), "unidirectional"),
])
def test_state_dropout_refuses_lstms_it_cannot_step(lstm, match):
    with pytest.raises(ValueError, match=match):
        state_dropout_lstm(lstm, torch.randn(1, 2, 3))


def test_state_dropout_refuses_a_bad_mask_and_input_size():
    lstm = nn.LSTM(3, 4, batch_first=True)
    with pytest.raises(ValueError, match="per_step"):
        state_dropout_lstm(lstm, torch.randn(1, 2, 3), mask="random")
    with pytest.raises(ValueError, match="3 features"):
        state_dropout_lstm(lstm, torch.randn(1, 2, 5))


def test_state_dropout_refuses_a_state_of_the_wrong_shape():
    lstm, x = nn.LSTM(3, 4, batch_first=True), torch.randn(5, 2, 3)
    one_row = (torch.zeros(1, 1, 4), torch.zeros(1, 1, 4))           # batch 1, x has 5
    with pytest.raises(ValueError, match=r"h must have shape \(1, 5, 4\).*got \(1, 1, 4\)"):
        state_dropout_lstm(lstm, x, one_row)
    two_layers = (torch.zeros(2, 5, 4), torch.zeros(2, 5, 4))
    with pytest.raises(ValueError, match=r"got \(2, 5, 4\)"):
        state_dropout_lstm(lstm, x, two_layers)
    with pytest.raises(ValueError, match=r"c must have shape \(1, 5, 4\)"):
        state_dropout_lstm(lstm, x, (torch.zeros(1, 5, 4), torch.zeros(5, 4)))
    with pytest.raises(TypeError, match="pair"):
        state_dropout_lstm(lstm, x, torch.zeros(1, 5, 4))
    with pytest.raises(TypeError, match="floating point"):
        state_dropout_lstm(lstm, x, (torch.zeros(1, 5, 4, dtype=torch.long),) * 2)


# ------------------------------------------------------------------ AR / TAR

def test_ar_tar_by_hand():
    dropped = torch.tensor([[[1.0, -2.0], [0.0, 3.0], [2.0, 0.0]]])     # (1, 3, 2)
    raw = torch.tensor([[[1.0, 1.0], [2.0, 1.0], [2.0, 3.0]]])
    ar, tar = ar_tar(dropped, raw, alpha=2.0, beta=0.5)
    assert ar.item() == pytest.approx(2 * (1 + 4 + 0 + 9 + 4 + 0) / 6)
    assert tar.item() == pytest.approx(0.5 * (1 + 0 + 0 + 4) / 4)
    zero_ar, zero_tar = ar_tar(dropped, raw, 0.0, 0.0)
    assert zero_ar.item() == zero_tar.item() == 0


@pytest.mark.parametrize("dropped, raw, alpha, match", [
    (torch.randn(1, 3, 2), torch.randn(1, 3, 3), 1.0, "same shape"),
    (torch.randn(1, 1, 2), torch.randn(1, 1, 2), 1.0, "at least 2 time steps"),
    (torch.randn(1, 3, 2), torch.randn(1, 3, 2), -1.0, "alpha"),
    (torch.randn(3, 2), torch.randn(3, 2), 1.0, r"\(batch, seq_len, hidden\)"),
])
def test_ar_tar_refuses_bad_input(dropped, raw, alpha, match):
    with pytest.raises(ValueError, match=match):
        ar_tar(dropped, raw, alpha, 1.0)


# ------------------------------------------------------------------ Recipe

def test_recipes_combine_and_describe_themselves():
    both = Recipe(input_p=0.1) | Recipe(weight_p=0.5, tie_weights=True)
    assert both == Recipe(input_p=0.1, weight_p=0.5, tie_weights=True)
    assert both.describe() == "input_p=0.1, weight_p=0.5, tie_weights=True"
    assert Recipe().describe() == "nothing" and Recipe(alpha=2.0) | Recipe(alpha=2.0) == \
        Recipe(alpha=2.0)
    with pytest.raises(ValueError, match="disagree on alpha"):
        Recipe(alpha=1.0) | Recipe(alpha=2.0)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"input_p": 1.0}, ValueError, "input_p"), ({"weight_decay": -1.0}, ValueError, "weight_decay"),
    ({"state_mask": "always"}, ValueError, "state_mask"), ({"tie_weights": 1}, TypeError, "True"),
    ({"state_p": 0.2, "weight_p": 0.2}, ValueError, "cannot both"),
    ({"alpha": math.inf}, ValueError, "alpha"),
])
def test_recipe_refuses_bad_settings(kwargs, error, match):
    with pytest.raises(error, match=match):
        Recipe(**kwargs)


# ------------------------------------------------------------------ the model

def test_model_shapes_eval_path_and_tying():
    torch.manual_seed(0)
    recipe = Recipe(embed_p=0.1, input_p=0.1, output_p=0.2, weight_p=0.5, tie_weights=True)
    model = RegularisedCharLSTM(11, 8, 8, recipe)
    ids = torch.randint(0, 11, (3, 5))
    logits, (h, c) = model(ids)
    assert logits.shape == (3, 5, 11) and h.shape == c.shape == (1, 3, 8)
    assert model.head.weight is model.embedding.weight
    assert (model.last_weight_hh == 0).any()                        # training: dropped
    assert model.embedding.weight.abs().max() <= 0.1                # AWD's initial scale
    model.eval()
    plain_logits = model.head(model.lstm(model.embedding(ids))[0])
    torch.testing.assert_close(model(ids)[0], plain_logits, rtol=0, atol=0)
    assert model.last_weight_hh.data_ptr() == model.lstm.weight_hh_l0.data_ptr()


def test_model_with_state_dropout_uses_the_kernel_outside_training():
    torch.manual_seed(0)
    model = RegularisedCharLSTM(11, 4, 6, Recipe(state_p=0.5, state_mask="locked")).eval()
    ids = torch.randint(0, 11, (2, 5))
    torch.testing.assert_close(model(ids)[0], model.head(model.lstm(model.embedding(ids))[0]))
    model.train()
    assert not torch.allclose(model(ids)[0], model.head(model.lstm(model.embedding(ids))[0]))


def test_model_refuses_bad_arguments():
    with pytest.raises(ValueError, match="hidden_size == embedding_dim"):
        RegularisedCharLSTM(11, 8, 16, Recipe(tie_weights=True))
    with pytest.raises(TypeError, match="Recipe"):
        RegularisedCharLSTM(11, 8, 8, {"weight_p": 0.5})
    with pytest.raises(TypeError, match=r"\(batch, seq_len\)"):
        RegularisedCharLSTM(11, 8, 8)(torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="outside the 11 rows"):
        RegularisedCharLSTM(11, 8, 8)(torch.tensor([[11]]))


# ------------------------------------------------------------------ train_run

@pytest.fixture(scope="module")
def tiny_data():
    g = seeded(5)
    ids = torch.randint(0, 7, (900,), generator=g)
    return stream_batches(ids[:600], 4, 10), ids[600:750], ids[750:]


def test_train_run_is_reproducible_and_keeps_the_best_step(tiny_data):
    batches, val, test = tiny_data
    kwargs = dict(vocab_size=7, seed=3, steps=30, eval_every=10, embedding_dim=8,
                  hidden_size=8, test_ids=test, eval_streams=4)
    recipe = Recipe(output_p=0.2, weight_p=0.3, alpha=1.0, beta=1.0, weight_decay=0.1)
    first, second = train_run(recipe, batches, val, **kwargs), train_run(recipe, batches, val,
                                                                           **kwargs)
    assert first.steps == [0, 10, 20, 30] and first.val_loss == second.val_loss   # a rerun
    assert first.train_loss[1:] == second.train_loss[1:]            # the same dropout masks
    assert (first.final_test, first.best_test) == (second.final_test, second.best_test)
    kept = RegularisedCharLSTM(7, 8, 8, recipe)                     # early stopping's weights
    kept.load_state_dict(first.best_state)
    assert nats_per_char(kept, val, streams=4) == first.best_val
    assert nats_per_char(kept, test, streams=4) == first.best_test
    assert math.isnan(first.train_loss[0]) and len(first.train_loss) == 4
    assert first.best_val == min(first.val_loss)
    assert first.best_step == first.steps[first.val_loss.index(first.best_val)]
    assert first.reported(True) == (first.best_step, first.best_val, first.best_test)
    assert first.reported(False) == (30, first.final_val, first.final_test)
    assert not first.model.training and first.final_test > 0


def test_train_run_refuses_bad_arguments(tiny_data):
    batches, val, _ = tiny_data
    kwargs = dict(vocab_size=7, seed=0, steps=30, eval_every=10)
    with pytest.raises(ValueError, match="multiple of eval_every"):
        train_run(Recipe(), batches, val, **{**kwargs, "steps": 25})
    with pytest.raises(TypeError, match="StreamBatches"):
        train_run(Recipe(), list(batches), val, **kwargs)
    with pytest.raises(TypeError, match="Recipe"):
        train_run("none", batches, val, **kwargs)
    with pytest.raises(ValueError, match="outside"):
        train_run(Recipe(), batches, val + 7, **kwargs)
    with pytest.raises(ValueError, match="lr"):
        train_run(Recipe(), batches, val, lr=0, **kwargs)


# ------------------------------------------------------------------ the table

def fake_run(seed, final, best, final_test=None, best_test=None):
    final_test = final + 0.1 if final_test is None else final_test
    best_test = best + 0.1 if best_test is None else best_test
    return Run(Recipe(), seed, steps=[0, 10, 20], train_loss=[math.nan, 2.0, 1.5],
               val_loss=[4.0, best, final], best_step=10, final_val=final, best_val=best,
               final_test=final_test, best_test=best_test)


def test_ablation_rows_compare_seed_by_seed_on_validation_and_test():
    runs = {"none": [fake_run(s, 3.0 + s, 2.5 + s) for s in range(3)],
            "good": [fake_run(s, 2.9 + s, 2.8 + s) for s in range(3)],
            "bad": [fake_run(s, 3.1 + s, 3.0 + s) for s in range(3)],
            "mixed": [fake_run(s, [2.9, 3.1, 3.0][s] + s, 2.0) for s in range(3)],
            "val only": [fake_run(s, 2.9 + s, 2.8 + s, final_test=[3.0, 3.2, 3.1][s] + s)
                         for s in range(3)]}
    rows = {row["name"]: row for row in ablation_rows(runs, early_stopping={"mixed": False})}
    assert rows["none"]["verdict"] == rows["none"]["test_verdict"] == "baseline"
    assert rows["good"]["verdict"] == rows["good"]["test_verdict"] == "helps"
    assert rows["bad"]["verdict"] == "hurts" and rows["mixed"]["verdict"] == "unclear"
    assert rows["good"]["change"] == pytest.approx([-0.1] * 3)
    assert rows["good"]["test_change"] == pytest.approx([-0.1] * 3)
    assert rows["val only"]["verdict"] == "helps" and rows["val only"]["test_verdict"] == "unclear"
    assert rows["val only"]["test_change"] == pytest.approx([-0.1, 0.1, 0.0])
    assert rows["none"]["val_mean"] == pytest.approx(4.0) and rows["none"]["val_std"] == \
        pytest.approx(1.0)
    assert rows["none"]["test_mean"] == pytest.approx(4.1) and rows["none"]["interval"] == (0, 0)
    low, high = rows["mixed"]["interval"]                           # changes -0.1, +0.1, 0
    half = 4.302653 * 0.1 / math.sqrt(3)                            # t(0.975, 2) sd / sqrt(n)
    assert (low, high) == pytest.approx((-half, half), abs=1e-5)


def test_early_stopped_rows_get_no_validation_verdict():
    runs = {"none": [fake_run(s, 3.0 + s, 2.5 + s) for s in range(3)]}
    runs["stopped"] = runs["none"]
    rows = {row["name"]: row for row in ablation_rows(runs, early_stopping={"stopped": True})}
    stopped = rows["stopped"]
    assert stopped["val"] == pytest.approx([2.5, 3.5, 4.5]) and stopped["steps"] == [10] * 3
    assert stopped["change"] == pytest.approx([-0.5] * 3)           # flattering by construction
    assert stopped["verdict"] == "chosen" and stopped["test_verdict"] == "helps"
    assert stopped["test_mean"] == pytest.approx(3.6)


def test_ablation_rows_refuse_mismatched_runs():
    with pytest.raises(ValueError, match="baseline 'none'"):
        ablation_rows({"other": [fake_run(0, 3.0, 2.0)]})
    two = [fake_run(0, 3.0, 2.0), fake_run(1, 3.0, 2.0)]
    with pytest.raises(ValueError, match="seed by seed"):
        ablation_rows({"none": two, "x": [fake_run(1, 3.0, 2.0), fake_run(2, 3.0, 2.0)]})
    with pytest.raises(ValueError, match="not in runs"):
        ablation_rows({"none": two}, early_stopping={"all": True})
    with pytest.raises(TypeError, match="list of Run"):
        ablation_rows({"none": two, "x": []})
    with pytest.raises(ValueError, match="at least 2 seeds"):
        ablation_rows({"none": [fake_run(0, 3.0, 2.0)]})
    with pytest.raises(ValueError, match="last step"):
        ablation_rows({"none": two}, early_stopping={"none": True})
    with pytest.raises(TypeError, match="True or False"):
        ablation_rows({"none": two, "x": two}, early_stopping={"x": 1})
    with pytest.raises(ValueError, match="no test loss"):
        ablation_rows({"none": two, "x": [fake_run(s, 3.0, 2.0, final_test=math.nan)
                                          for s in range(2)]})


def test_reported_refuses_a_non_bool():
    with pytest.raises(TypeError, match="True or False"):
        fake_run(0, 3.0, 2.0).reported("yes")


# ------------------------------------------------------------------ t interval

def test_t_quantile_matches_the_tables():
    for prob, df, expected in ((0.975, 1, 12.706205), (0.975, 2, 4.302653), (0.975, 4, 2.776445),
                               (0.95, 4, 2.131847), (0.975, 30, 2.042272)):
        assert t_quantile(prob, df) == pytest.approx(expected, abs=1e-5)
    assert t_quantile(0.5, 3) == pytest.approx(0.0, abs=1e-9)


def test_t_interval_covers_95_percent_of_normal_means():
    draws = torch.randn(4000, 5, generator=seeded(0), dtype=torch.float64)
    t = t_quantile(0.975, 4)
    half = t * draws.std(1) / math.sqrt(5)
    covered = (draws.mean(1).abs() < half).double().mean().item()
    assert 0.94 < covered < 0.96
    low, high = paired_interval(draws[0].tolist())
    assert low < draws[0].mean().item() < high
    assert (high - low) / 2 == pytest.approx(half[0].item())


@pytest.mark.parametrize("args, error, match", [
    (([0.1],), ValueError, "at least 2"), (("ab",), TypeError, "list of finite numbers"),
    (([0.1, math.nan],), TypeError, "finite"), (([0.1, 0.2], 1.0), ValueError, "level"),
])
def test_paired_interval_refuses_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        paired_interval(*args)


def test_t_quantile_refuses_bad_input():
    with pytest.raises(ValueError, match="prob"):
        t_quantile(0.4, 3)
    with pytest.raises(TypeError):
        t_quantile(0.9, 2.5)

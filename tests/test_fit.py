"""utils.training.fit: history, early stopping, checkpoints, modes, no_grad, clipping, NaN guard."""

import math

import pytest
import torch
from torch import nn

from utils.training import History, fit


def line_data(n=32, batch=8, seed=0):
    """y = 2x + 1 with a little noise, as a list of (x, y) batches."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, generator=g)
    y = 2 * x + 1 + 0.01 * torch.randn(n, 1, generator=g)
    return [(x[i:i + batch], y[i:i + batch]) for i in range(0, n, batch)]


def model(seed=0):
    torch.manual_seed(seed)
    return nn.Linear(1, 1)


class ModeRecorder(nn.Module):
    """A linear layer that records (training?, grad enabled?) at every forward call."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(1, 1)
        self.calls = []

    def forward(self, x):
        self.calls.append((self.training, torch.is_grad_enabled()))
        return self.linear(x)


class Scripted(nn.Module):
    """Returns y plus a scripted error per validation epoch, so the val loss is known."""

    def __init__(self, val_errors):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))
        self.val_errors = list(val_errors)
        self.val_epoch = 0

    def forward(self, x):
        if self.training:
            return x * 0 + self.w
        error = self.val_errors[self.val_epoch]
        return x * 0 + self.w.detach() * 0 + error


def test_history_has_one_entry_per_epoch_and_the_loss_falls():
    train, val = line_data(), line_data(seed=1)
    history = fit(model(), train, val, epochs=30, lr=0.05, progress=False)
    assert isinstance(history, History)
    assert history.epochs_run == len(history.train_loss) == len(history.val_loss) == 30
    assert history.train_loss[-1] < history.train_loss[0] / 10
    assert history.val_loss[-1] < history.val_loss[0] / 10
    assert history.monitor == "val_loss" and not history.stopped_early
    assert history.best_loss == min(history.val_loss)
    assert history.val_loss[history.best_epoch - 1] == history.best_loss
    assert "30 epochs" in repr(history)


def test_val_loss_is_the_sample_weighted_mean_in_eval_mode():
    torch.manual_seed(0)
    net = nn.Linear(1, 1)
    val = [(torch.randn(3, 1), torch.randn(3, 1)), (torch.randn(1, 1), torch.randn(1, 1))]
    history = fit(net, line_data(), val, epochs=1, lr=0.01, progress=False,
                  restore_best=False)
    with torch.no_grad():
        x = torch.cat([b[0] for b in val])
        y = torch.cat([b[1] for b in val])
        expected = nn.functional.mse_loss(net(x), y).item()
    assert history.val_loss[0] == pytest.approx(expected, rel=1e-6)


def test_train_loss_without_validation_is_monitored():
    history = fit(model(), line_data(), epochs=3, lr=0.05, progress=False)
    assert history.val_loss == [] and history.monitor == "train_loss"
    assert history.best_loss == min(history.train_loss)


def test_early_stop_after_patience_epochs_and_best_weights_restored():
    # Validation losses fall until epoch 3, then rise: with patience 2 the fit stops after
    # epoch 5 and restores the weights of epoch 3.
    errors = [1.0, 0.5, 0.1, 0.3, 0.4, 0.05, 0.01]
    net = Scripted(errors)
    weights = []

    def record(epoch, history):
        weights.append(net.w.detach().clone())
        net.val_epoch += 1

    val = [(torch.zeros(4, 1), torch.zeros(4, 1))]
    train = [(torch.zeros(4, 1), torch.ones(4, 1))]
    history = fit(net, train, val, epochs=7, lr=0.1, patience=2, progress=False,
                  on_epoch_end=record)
    assert history.epochs_run == 5 and history.stopped_early
    assert history.best_epoch == 3 and history.best_loss == pytest.approx(0.01)
    assert history.val_loss == pytest.approx([e ** 2 for e in errors[:5]])
    assert history.restored_best
    assert torch.equal(net.w.detach(), weights[2])        # the weights of epoch 3
    assert not torch.equal(net.w.detach(), weights[-1])   # not those of the last epoch


def test_no_early_stop_without_patience_and_last_weights_kept_when_asked():
    errors = [1.0, 0.1, 0.3, 0.4, 0.5]
    net = Scripted(errors)

    def step(epoch, history):
        net.val_epoch += 1

    history = fit(net, [(torch.zeros(2, 1), torch.ones(2, 1))],
                  [(torch.zeros(2, 1), torch.zeros(2, 1))], epochs=5, lr=0.1,
                  progress=False, on_epoch_end=step, restore_best=False)
    assert history.epochs_run == 5 and not history.stopped_early
    assert history.best_epoch == 2 and not history.restored_best


def test_min_delta_counts_tiny_improvements_as_none():
    errors = [1.0, 0.999, 0.998, 0.997]
    net = Scripted(errors)
    history = fit(net, [(torch.zeros(2, 1), torch.ones(2, 1))],
                  [(torch.zeros(2, 1), torch.zeros(2, 1))], epochs=4, patience=2,
                  min_delta=0.1, progress=False,
                  on_epoch_end=lambda e, h: setattr(net, "val_epoch", net.val_epoch + 1))
    assert history.epochs_run == 3 and history.best_epoch == 1


def scripted_fit(errors, **kwargs):
    """fit a Scripted model (validation errors ``errors``), recording its weights per epoch."""
    net = Scripted(errors)
    snapshots = []

    def record(epoch, history):
        snapshots.append({k: v.clone() for k, v in net.state_dict().items()})
        net.val_epoch += 1

    history = fit(net, [(torch.zeros(4, 1), torch.ones(4, 1))],
                  [(torch.zeros(4, 1), torch.zeros(4, 1))], epochs=len(errors), lr=0.1,
                  progress=False, on_epoch_end=record, **kwargs)
    return net, history, snapshots


@pytest.mark.parametrize("restore_best", [False, True])
def test_checkpoint_file_holds_the_best_epochs_weights(tmp_path, restore_best):
    # Validation improves at epochs 1, 2 and 3, then worsens: the file must end up holding
    # epoch 3's weights, not an earlier best's and not the last epoch's.
    path = tmp_path / "best.pt"
    net, history, snapshots = scripted_fit([1.0, 0.5, 0.2, 0.3, 0.4], checkpoint=path,
                                           restore_best=restore_best)
    assert history.checkpoint == str(path) and history.best_epoch == 3
    assert history.restored_best is restore_best
    fresh = Scripted([0.0])
    fresh.load_state_dict(torch.load(path, weights_only=True))
    assert torch.equal(fresh.w, snapshots[2]["w"])              # the best epoch's weights
    assert not torch.equal(fresh.w, snapshots[1]["w"])          # overwritten at each improvement
    assert not torch.equal(fresh.w, snapshots[-1]["w"])         # not the last epoch's
    # restore_best loads the file back; without it the model keeps the last epoch's weights
    assert torch.equal(net.w, fresh.w if restore_best else snapshots[-1]["w"])


def test_checkpoint_is_a_plain_state_dict_unlike_a_pickled_module(tmp_path):
    path = tmp_path / "best.pt"
    net = model()
    fit(net, line_data(), line_data(seed=1), epochs=2, lr=0.05, progress=False, checkpoint=path)
    state = torch.load(path, weights_only=True)               # fit's file: tensors only
    assert set(state) == set(net.state_dict()) == {"weight", "bias"}
    pickled = tmp_path / "whole_model.pt"
    torch.save(model(), pickled)  # the whole module, pickled: not a plain state_dict
    with pytest.raises(Exception, match="Weights only load failed"):
        torch.load(pickled, weights_only=True)


def test_in_memory_best_is_not_aliased_to_the_live_parameters():
    errors = [0.1, 0.5, 0.9]
    net = Scripted(errors)
    seen = []

    def record(epoch, history):
        seen.append(net.w.detach().clone())
        net.val_epoch += 1

    fit(net, [(torch.zeros(2, 1), torch.ones(2, 1))], [(torch.zeros(2, 1), torch.zeros(2, 1))],
        epochs=3, lr=0.1, progress=False, on_epoch_end=record)
    assert not torch.equal(seen[0], seen[-1])      # training moved the weight
    assert torch.equal(net.w.detach(), seen[0])    # yet epoch 1's copy came back


def test_train_mode_for_training_eval_and_no_grad_for_validation():
    torch.manual_seed(0)
    net = ModeRecorder()
    train = line_data(n=16, batch=8)   # 2 batches
    val = line_data(n=8, batch=4)      # 2 batches
    fit(net, train, val, epochs=2, progress=False)
    assert net.calls == [(True, True)] * 2 + [(False, False)] * 2 \
        + [(True, True)] * 2 + [(False, False)] * 2
    assert not net.training  # left in eval mode


class DropoutRecorder(nn.Module):
    """A dropout network that records every output it computes, by mode."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(1, 64), nn.Dropout(0.5), nn.Linear(64, 1))
        self.outputs = {"train": [], "eval": []}

    def forward(self, x):
        y = self.net(x)
        self.outputs["train" if self.training else "eval"].append(y.detach().clone())
        return y


def test_dropout_is_active_in_training_and_off_in_validation():
    torch.manual_seed(0)
    net = DropoutRecorder()
    batch = (torch.linspace(-1, 1, 8).unsqueeze(1), torch.zeros(8, 1))
    # lr 0: the weights never move, so outputs on the same batch differ only through dropout
    fit(net, [batch] * 3, [batch] * 2, epochs=2, optimizer=torch.optim.SGD(net.parameters(), lr=0),
        progress=False)
    train, val = net.outputs["train"], net.outputs["eval"]
    assert len(train) == 6 and len(val) == 4
    assert all(not torch.equal(train[0], other) for other in train[1:])  # a new mask each call
    assert all(torch.equal(val[0], other) for other in val[1:])          # no dropout
    with torch.no_grad():
        torch.testing.assert_close(val[0], net.net.eval()(batch[0]), rtol=0, atol=0)


def test_default_loss_refuses_mismatched_shapes_before_any_step():
    net = model()
    before = [p.detach().clone() for p in net.parameters()]
    x = torch.randn(8, 1)
    with pytest.raises(ValueError, match=r"same shape .*prediction \(8, 1\) and target \(8,\)"):
        fit(net, [(x, 2 * x.squeeze(1))], epochs=3, progress=False)
    assert all(torch.equal(p, q) for p, q in zip(net.parameters(), before, strict=True))
    with pytest.raises(ValueError, match=r"prediction \(8, 1\) and target \(8,\)"):
        fit(model(), line_data(), [(x, x.squeeze(1))], epochs=1, progress=False)  # validation
    with pytest.raises(TypeError, match="same dtype.*float32.*float64"):
        fit(model(), [(x, x.double())], epochs=1, progress=False)


@pytest.mark.parametrize("loss_fn", [nn.MSELoss(), nn.L1Loss(), nn.SmoothL1Loss(),
                                     nn.HuberLoss()])
def test_explicit_elementwise_loss_refuses_mismatched_shapes_before_any_step(loss_fn):
    net = model()
    before = [p.detach().clone() for p in net.parameters()]
    x = torch.randn(8, 1)
    with pytest.raises(ValueError, match=r"same shape .*prediction \(8, 1\) and target \(8,\)"):
        fit(net, [(x, 2 * x.squeeze(1))], epochs=3, loss_fn=loss_fn, progress=False)
    assert all(torch.equal(p, q) for p, q in zip(net.parameters(), before, strict=True))
    with pytest.raises(ValueError, match=r"prediction \(8, 1\) and target \(8,\)"):
        fit(model(), line_data(), [(x, x.squeeze(1))], epochs=1, loss_fn=loss_fn,
            progress=False)                                           # validation too
    history = fit(model(), line_data(), epochs=2, loss_fn=loss_fn, progress=False)
    assert len(history.train_loss) == 2                               # matching shapes train


def test_explicit_mse_loss_gives_the_default_losses():
    default = fit(model(), line_data(), line_data(seed=1), epochs=3, progress=False)
    explicit = fit(model(), line_data(), line_data(seed=1), epochs=3, loss_fn=nn.MSELoss(),
                   progress=False)
    assert (default.train_loss, default.val_loss) == (explicit.train_loss, explicit.val_loss)


def test_clipping_bounds_every_step():
    torch.manual_seed(0)
    x = torch.full((4, 1), 100.0)
    y = torch.full((4, 1), -100.0)
    plain, clipped = model(), model()
    for net, max_norm in ((plain, None), (clipped, 0.5)):
        before = torch.cat([p.detach().flatten().clone() for p in net.parameters()])
        optimizer = torch.optim.SGD(net.parameters(), lr=1.0)
        fit(net, [(x, y)], epochs=1, optimizer=optimizer, max_norm=max_norm, progress=False,
            restore_best=False)
        after = torch.cat([p.detach().flatten() for p in net.parameters()])
        step = (after - before).norm().item()
        if max_norm is None:
            assert step > 1000                            # the raw gradient is huge
        else:
            assert step == pytest.approx(0.5, rel=1e-4)   # SGD lr 1: step = clipped gradient


def test_nan_loss_raises_naming_epoch_and_batch():
    torch.manual_seed(0)
    train = line_data()
    train[2] = (train[2][0], torch.full_like(train[2][1], math.nan))
    with pytest.raises(FloatingPointError, match=r"training loss is nan at epoch 1, batch 3"):
        fit(model(), train, epochs=3, progress=False)


def test_diverging_training_raises_instead_of_running_on():
    torch.manual_seed(0)
    x = torch.randn(64, 1) * 1e3
    net = model()
    with pytest.raises(FloatingPointError, match=r"loss is (inf|nan) at epoch \d+, batch 1"):
        fit(net, [(x, 3 * x)], epochs=200, optimizer=torch.optim.SGD(net.parameters(), lr=1.0),
            progress=False)


def test_optimizer_of_another_model_is_refused():
    with pytest.raises(ValueError, match="optimizer holds none of the model's parameters"):
        fit(model(), line_data(), optimizer=torch.optim.SGD(model().parameters(), lr=0.1),
            progress=False)


def test_infinite_validation_loss_raises():
    val = [(torch.zeros(2, 1), torch.full((2, 1), math.inf))]
    with pytest.raises(FloatingPointError, match="validation loss is inf at epoch 1"):
        fit(model(), line_data(), val, epochs=2, progress=False)


def test_progress_bar_shows_and_can_be_disabled(capsys):
    fit(model(), line_data(), line_data(seed=1), epochs=3, progress=True, desc="demo")
    err = capsys.readouterr().err
    assert "demo" in err and "3/3" in err and "val=" in err
    fit(model(), line_data(), epochs=3, progress=False, desc="hidden")
    assert "hidden" not in capsys.readouterr().err


def test_reproducible_with_the_same_seed():
    a = fit(model(3), line_data(), line_data(seed=1), epochs=4, progress=False)
    b = fit(model(3), line_data(), line_data(seed=1), epochs=4, progress=False)
    assert a.train_loss == b.train_loss and a.val_loss == b.val_loss


@pytest.mark.parametrize("kwargs, error, text", [
    ({"epochs": 0}, ValueError, "epochs must be >= 1, got 0"),
    ({"epochs": 2.0}, TypeError, "epochs must be an int"),
    ({"patience": 0}, ValueError, "patience must be >= 1"),
    ({"max_norm": 0.0}, ValueError, "max_norm must be a finite number > 0"),
    ({"max_norm": math.inf}, ValueError, "max_norm"),
    ({"min_delta": -1.0}, ValueError, "min_delta"),
    ({"lr": -0.1}, ValueError, "lr must be a finite number > 0"),
    ({"loss_fn": "mse"}, TypeError, "loss_fn must be callable"),
    ({"optimizer": "adam"}, TypeError, "optimizer must be a torch.optim.Optimizer"),
    ({"checkpoint": 3}, TypeError, "checkpoint must be a file path"),
    ({"checkpoint": "/no/such/folder/best.pt"}, ValueError, "does not exist"),
    ({"on_epoch_end": 1}, TypeError, "on_epoch_end must be callable"),
])
def test_rejects_bad_arguments(kwargs, error, text):
    with pytest.raises(error, match=text):
        fit(model(), line_data(), **{"progress": False, **kwargs})


def test_rejects_bad_data():
    with pytest.raises(TypeError, match="must be a torch.nn.Module"):
        fit(lambda x: x, line_data())
    with pytest.raises(TypeError, match="iterator"):
        fit(model(), (b for b in line_data()), progress=False)
    with pytest.raises(TypeError, match="re-iterable collection"):
        fit(model(), torch.zeros(3), progress=False)
    with pytest.raises(TypeError, match=r"pair \(x, y\) of tensors, got a tuple of 3"):
        fit(model(), [(torch.zeros(1, 1),) * 3], progress=False)
    with pytest.raises(ValueError, match="train_data yielded no batches"):
        fit(model(), [], progress=False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        fit(nn.ReLU(), line_data(), progress=False)


def test_fit_is_the_hand_written_loop_on_a_shuffled_dataloader():
    """fit must not consume the loader's generator: same seed, same batches, same numbers."""
    x = torch.randn(40, 1)
    data = torch.utils.data.TensorDataset(x, 2 * x + 1)

    def loader():
        return torch.utils.data.DataLoader(data, batch_size=8, shuffle=True,
                                           generator=torch.Generator().manual_seed(0))

    net = model(1)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
    by_hand, hand_loader = [], loader()
    for _ in range(3):
        net.train()
        total = 0.0
        for xb, yb in hand_loader:
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(net(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(xb)
        by_hand.append(total / 40)
    history = fit(model(1), loader(), epochs=3, lr=0.05, progress=False)
    assert history.train_loss == by_hand


def test_works_with_a_dataloader():
    x = torch.randn(40, 1)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, 2 * x), batch_size=16)
    history = fit(model(), loader, loader, epochs=2, lr=0.05, progress=False)
    assert history.epochs_run == 2

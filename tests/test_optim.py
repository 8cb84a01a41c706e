"""utils.optim: the handwritten Adam and AdamW equal torch.optim's, parameter for parameter.

Tolerance, stated honestly: in float64 over 100 steps of the classic model the largest
|difference| observed is about 2e-15 (torch evaluates the same formula in another order, so
the two agree to rounding, not bit for bit). The tests demand 1e-12 absolute on weights of
size ~0.1-1, at every step and for every parameter; any real difference in the algorithm
(Adam versus AdamW, a different weight_decay, eps inside the root) is above 1e-4.
"""

import copy

import pytest
import torch
from torch import nn

from utils.models import LSTMRegressor
from utils.optim import Adam, AdamW
from utils.training import one_thread

STEPS = 100
TOLERANCE = 1e-12


@pytest.fixture(autouse=True)
def tiny_tensors_on_one_thread():
    """Tiny tensors: one thread is faster, and far faster while other processes share the CPU."""
    with one_thread():
        yield


def trajectory_gap(make_reference, make_candidate, steps=STEPS):
    """Train two float64 copies of the classic model (seed 0) on the same (16, 5, 10) batch;
    return the largest |difference| between their parameters over all steps."""
    torch.manual_seed(0)
    reference = LSTMRegressor(10, 20, 2, 1).double()
    candidate = copy.deepcopy(reference)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(16, 5, 10, generator=g, dtype=torch.float64)
    y = torch.randn(16, 1, generator=g, dtype=torch.float64)
    optimizers = [make_reference(reference.parameters()), make_candidate(candidate.parameters())]
    worst = 0.0
    for _ in range(steps):
        for model, opt in zip((reference, candidate), optimizers, strict=True):
            opt.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            opt.step()
        worst = max(worst, *[(p - q).abs().max().item() for p, q in
                             zip(reference.parameters(), candidate.parameters(), strict=True)])
    return worst


@pytest.mark.parametrize("kwargs", [
    {"lr": 1e-2},
    {"lr": 1e-2, "weight_decay": 0.1},
    {"lr": 3e-3, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 1e-2},
])
def test_adam_reproduces_torch_adam(kwargs):
    gap = trajectory_gap(lambda ps: torch.optim.Adam(ps, **kwargs), lambda ps: Adam(ps, **kwargs))
    assert gap < TOLERANCE, gap


@pytest.mark.parametrize("kwargs", [{"lr": 1e-2}, {"lr": 1e-2, "weight_decay": 0.1}])
def test_adamw_reproduces_torch_adamw(kwargs):
    gap = trajectory_gap(lambda ps: torch.optim.AdamW(ps, **kwargs), lambda ps: AdamW(ps, **kwargs))
    assert gap < TOLERANCE, gap


def test_adamw_defaults_match_torch():
    torch_default = torch.optim.AdamW([nn.Parameter(torch.ones(1))]).defaults
    ours = AdamW([nn.Parameter(torch.ones(1))])
    assert (ours.lr, ours.betas, ours.eps, ours.weight_decay) == (
        torch_default["lr"], torch_default["betas"], torch_default["eps"],
        torch_default["weight_decay"])
    torch_adam = torch.optim.Adam([nn.Parameter(torch.ones(1))]).defaults
    adam = Adam([nn.Parameter(torch.ones(1))])
    assert (adam.lr, adam.betas, adam.eps, adam.weight_decay) == (
        torch_adam["lr"], torch_adam["betas"], torch_adam["eps"], torch_adam["weight_decay"])


@pytest.mark.parametrize("reference, candidate", [
    (lambda ps: torch.optim.Adam(ps, lr=1e-2, weight_decay=0.1),
     lambda ps: AdamW(ps, lr=1e-2, weight_decay=0.1)),          # coupled versus decoupled
    (lambda ps: torch.optim.Adam(ps, lr=1e-2), lambda ps: Adam(ps, lr=1e-2, weight_decay=1e-3)),
    (lambda ps: torch.optim.Adam(ps, lr=1e-2, eps=1e-3), lambda ps: Adam(ps, lr=1e-2)),
])
def test_the_tolerance_tells_different_algorithms_apart(reference, candidate):
    assert trajectory_gap(reference, candidate, steps=20) > 1e-4


def test_eps_is_added_after_the_square_root():
    p = nn.Parameter(torch.zeros(1, dtype=torch.float64))
    p.grad = torch.full_like(p, 1e-4)
    Adam([p], lr=0.1, eps=1e-8).step()
    assert p.item() == pytest.approx(-0.1 * 1e-4 / (1e-4 + 1e-8), rel=1e-12)


def test_a_parameter_without_grad_is_skipped_and_its_step_count_stays():
    a, b = nn.Parameter(torch.ones(2)), nn.Parameter(torch.ones(2))
    ref_a, ref_b = nn.Parameter(torch.ones(2)), nn.Parameter(torch.ones(2))
    ours, theirs = Adam([a, b], lr=0.1), torch.optim.Adam([ref_a, ref_b], lr=0.1)
    for k in range(6):
        for p, q in ((a, ref_a), (b, ref_b)):
            p.grad = q.grad = None
        for p in (a, ref_a):
            p.grad = torch.tensor([1.0, -2.0]) * (k + 1)
        if k % 2:                                  # b gets a gradient every other step only
            for p in (b, ref_b):
                p.grad = torch.tensor([0.5, 3.0])
        ours.step()
        theirs.step()
    assert ours.state[1]["t"] == 3 and ours.state[0]["t"] == 6
    torch.testing.assert_close(a.detach(), ref_a.detach())
    torch.testing.assert_close(b.detach(), ref_b.detach())


def test_zero_grad_sets_grads_to_none():
    p = nn.Parameter(torch.ones(3))
    opt = Adam([p])
    p.grad = torch.ones(3)
    opt.zero_grad()
    assert p.grad is None


@pytest.mark.parametrize("kwargs, error, text", [
    ({"lr": -1.0}, ValueError, "lr must be >= 0.0, got -1.0"),
    ({"lr": float("nan")}, ValueError, "lr must be >= 0.0, got nan"),
    ({"lr": float("inf")}, ValueError, "lr must be a finite number >= 0.0, got inf"),
    ({"eps": float("inf")}, ValueError, "eps must be a finite number >= 0.0, got inf"),
    ({"weight_decay": float("inf")}, ValueError,
     "weight_decay must be a finite number >= 0.0, got inf"),
    ({"lr": "0.1"}, TypeError, "lr must be a real number, got str"),
    ({"lr": True}, TypeError, "lr must be a real number, got bool"),
    ({"betas": (0.9, 1.0)}, ValueError, "betas[1] must be in [0.0, 1.0), got 1.0"),
    ({"betas": (-0.1, 0.999)}, ValueError, "betas[0] must be in [0.0, 1.0), got -0.1"),
    ({"betas": 0.9}, TypeError, "betas must be a pair (beta1, beta2), got 0.9"),
    ({"eps": -1e-8}, ValueError, "eps must be >= 0.0, got -1e-08"),
    ({"weight_decay": -0.1}, ValueError, "weight_decay must be >= 0.0, got -0.1"),
])
def test_arguments_are_validated(kwargs, error, text):
    with pytest.raises(error) as caught:
        Adam([nn.Parameter(torch.ones(1))], **kwargs)
    assert text in str(caught.value)


def test_params_are_validated():
    model = nn.Linear(2, 1)
    used_up = model.parameters()
    list(used_up)
    with pytest.raises(ValueError, match="params is empty"):
        Adam(used_up)
    with pytest.raises(TypeError, match="iterable of tensors"):
        Adam(model.weight)
    with pytest.raises(TypeError, match="iterable of tensors"):
        AdamW(3)
    with pytest.raises(TypeError, match=r"params\[0\] must be a torch.Tensor, got dict "
                                        r"\(parameter groups are not supported\)"):
        Adam([{"params": model.parameters()}])
    with pytest.raises(ValueError, match=r"params\[0\] is not a leaf tensor \(shape \(1, 2\)\)"):
        Adam([model.weight * 2])
    with pytest.raises(ValueError, match="more than once"):
        Adam([model.weight, model.weight])

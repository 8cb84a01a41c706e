import pytest
import torch

from utils.data import adding_problem


def test_shapes_and_markers():
    x, y = adding_problem(64, 20, seed=1)
    assert x.shape == (64, 20, 2) and y.shape == (64, 1)
    markers = x[..., 1]
    assert torch.equal(markers.sum(1), torch.full((64,), 2.0))
    assert torch.equal(markers[:, :10].sum(1), torch.ones(64))  # one in each half
    torch.testing.assert_close((x[..., 0] * markers).sum(1, keepdim=True), y)
    assert 0 <= x[..., 0].min() and x[..., 0].max() < 1


def test_predicting_one_scores_one_sixth():
    _, y = adding_problem(200_000, 10, seed=2)
    mse = ((y - 1.0) ** 2).mean().item()
    assert abs(mse - 1 / 6) < 0.003


def test_seeded_and_different_seeds_differ():
    a, b = adding_problem(8, 10, seed=3), adding_problem(8, 10, seed=3)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], adding_problem(8, 10, seed=4)[0])


def test_without_seed_or_generator_it_draws_from_the_global_generator():
    a, b = adding_problem(8, 10), adding_problem(8, 10)
    assert not torch.equal(a[0], b[0])                 # a new batch on every call
    torch.manual_seed(0)
    a = adding_problem(8, 10)
    torch.manual_seed(0)
    b = adding_problem(8, 10)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_a_seed_or_a_generator_leaves_the_global_generator_alone():
    state = torch.random.get_rng_state()
    adding_problem(8, 10, seed=3)
    adding_problem(8, 10, generator=torch.Generator().manual_seed(3))
    assert torch.equal(torch.random.get_rng_state(), state)
    g = torch.Generator().manual_seed(3)
    assert torch.equal(adding_problem(8, 10, generator=g)[0], adding_problem(8, 10, seed=3)[0])
    with pytest.raises(ValueError, match="either seed or generator"):
        adding_problem(8, 10, seed=3, generator=g)


@pytest.mark.parametrize("args, error", [((0, 10), ValueError), ((4, 1), ValueError),
                                         ((4.0, 10), TypeError), ((4, "10"), TypeError)])
def test_rejects(args, error):
    with pytest.raises(error):
        adding_problem(*args)

import numpy as np
import pytest
import torch

from utils.checks import nb02, nb03


def test_exercise_shapes_come_from_a_forward_pass():
    assert nb02.exercise_shapes() == {"output": (4, 12, 64), "h_n": (6, 4, 32),
                                      "c_n": (6, 4, 32)}
    assert nb02.exercise_shapes(proj_size=16)["h_n"] == (6, 4, 16)


@pytest.mark.parametrize("answer, ok, text", [
    ((4, 12, 64), True, "both directions"),
    ((np.int64(4), 12.0, torch.tensor(64)), True, "both directions"),
    (torch.Size([4, 12, 64]), True, "Correct"),
    ([4, 12, 64], True, "both directions"),
    ((4, 12, 32), False, "concatenates"),
    ((12, 4, 64), False, "batch_first=True"),
    ((6, 4, 32), False, "only the top layer"),
    ((1, 2), False, "D * H_out"),
    ("(4, 12, 64)", False, "tuple of ints"),
    (None, False, "tuple of ints"),
])
def test_check_output_shape(answer, ok, text):
    verdict = nb02.check_output_shape(answer)
    assert bool(verdict) is ok and text in repr(verdict)


@pytest.mark.parametrize("answer, ok, text", [
    (((6, 4, 16), (6, 4, 32)), True, "shrinks h but not c"),
    ([[6, 4, 16], [6, 4, 32]], True, "shrinks h but not c"),
    ([(6, 4, 32), [6, 4, 16]], False, "swapped"),
    (((np.int64(6), 4, 16), torch.Size([6, 4, 32])), True, "shrinks h but not c"),
    (((6, 4), (6, 4)), False, "3 dimensions"),
    (((), (6, 4, 32)), False, "3 dimensions"),
    (((6, 4, 32), (6, 4, 16)), False, "swapped"),
    (((4, 6, 16), (4, 6, 32)), False, "batch_first does not apply"),
    (((3, 4, 16), (3, 4, 32)), False, "D * num_layers"),
    (((6, 4, 16), (6, 4, 16)), False, "no longer have the same"),
    (((6, 4, 16), (6, 4, 20)), False, "proj_size"),
    ((6, 4, 16), False, "pair of shapes"),
    (None, False, "pair of shapes"),
])
def test_check_state_shapes(answer, ok, text):
    verdict = nb02.check_state_shapes(answer)
    assert bool(verdict) is ok and text in repr(verdict)


def test_check_univariate_input():
    series = nb02.exercise_series()
    assert series.shape == (32, 50)
    torch.manual_seed(5)
    expected_next = torch.rand(2)
    torch.manual_seed(5)
    assert nb02.check_univariate_input(series.unsqueeze(-1))
    torch.testing.assert_close(torch.rand(2), expected_next)  # the check kept the RNG alone
    assert nb02.check_univariate_input(series.view(32, 50, 1))
    cases = [(series.T.unsqueeze(-1), "batch comes first"), (series, "ONE unbatched"),
             (series.unsqueeze(0), "the 1 goes last"),
             (series.T.reshape(32, 50, 1), "values moved"),
             (series.unsqueeze(1), "(32, 50, 1)"), ([1, 2], "give a tensor")]
    for answer, text in cases:
        verdict = nb02.check_univariate_input(answer)
        assert not verdict and text in repr(verdict), (text, repr(verdict))


def test_check_h0():
    lstm, x = nb03.exercise_lstm()
    assert nb03.check_h0(torch.zeros(4, 8, 16))
    assert nb03.check_h0(x.new_zeros(4, 8, 16))
    for answer, text in [(torch.zeros(8, 4, 16), "batch is their 2nd dim"),
                         (torch.zeros(2, 8, 16), "Expected hidden[0] size (4, 8, 16)"),
                         (torch.zeros(4, 8, 16, dtype=torch.float64), "dtype"),
                         (torch.ones(4, 8, 16), "not all zeros"),
                         ((4, 8, 16), "give a tensor")]:
        verdict = nb03.check_h0(answer)
        assert not verdict and text in repr(verdict), (text, repr(verdict))


def chunked(carry: bool) -> torch.Tensor:
    lstm, x = nb03.exercise_chunks()
    state, outputs = None, []
    for chunk in x.split(10, dim=1):
        output, new_state = lstm(chunk, state)
        state = new_state if carry else None
        outputs.append(output)
    return torch.cat(outputs, dim=1)


def test_check_chunked_output():
    assert nb03.check_chunked_output(chunked(carry=True))
    for answer, text in [(chunked(carry=False), "started from zeros"),
                         (chunked(carry=True).transpose(0, 1), "dim=1"),
                         (chunked(carry=True) + 0.01, "values differ"),
                         (None, "give a tensor")]:
        verdict = nb03.check_chunked_output(answer)
        assert not verdict and text in repr(verdict), (text, repr(verdict))


def test_gradient_reach_is_computed_and_checked():
    assert nb03.reached_chunks(detach=True) == {4}
    assert nb03.reached_chunks(detach=False) == {1, 2, 3, 4}
    assert nb03.check_gradient_reach({4}) and nb03.check_gradient_reach(frozenset({4}))
    assert nb03.check_gradient_reach({np.int64(4)}) and nb03.check_gradient_reach({4.0})
    for answer, text in [({1, 2, 3, 4}, "WITHOUT detach"), ({3, 4}, "cuts the state"),
                         ([4], "a set"), ({True}, "a set")]:
        verdict = nb03.check_gradient_reach(answer)
        assert not verdict and text in repr(verdict), (text, repr(verdict))

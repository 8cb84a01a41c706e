import numpy as np
import pytest
import torch

from utils.checks.nb12 import check_bmes_tags, check_boundary_f1, check_path_count, check_path_score
from utils.tagging import LinearChainCRF


def test_bmes_tags():
    assert check_bmes_tags("SBEBMEBMMME") and check_bmes_tags("s be bme bmmme")
    assert check_bmes_tags(list("SBEBMEBMMME")) and check_bmes_tags([3, 0, 2, 0, 1, 2, 0, 1, 1, 1, 2])
    assert check_bmes_tags(torch.tensor([3, 0, 2, 0, 1, 2, 0, 1, 1, 1, 2]))
    assert check_bmes_tags("BE", words=("to",)) and not check_bmes_tags("S", words=("to",))
    one_letter = check_bmes_tags("BBEBMEBMMME")
    assert not one_letter and "one character is tagged S" in repr(one_letter)
    assert not check_bmes_tags("SBEBEEBMMME") and "Only the last" in repr(check_bmes_tags("SBEBEEBMMME"))
    assert "11 tags" in repr(check_bmes_tags("SBE"))
    assert not check_bmes_tags(None) and not check_bmes_tags("SBX") and not check_bmes_tags([])
    assert not check_bmes_tags([1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 2, 5])
    right = [3, 0, 2, 0, 1, 2, 0, 1, 1, 1, 2]
    assert check_bmes_tags(np.array(right)) and check_bmes_tags(np.array(list("SBEBMEBMMME")))
    assert check_bmes_tags(torch.tensor([right])) and check_bmes_tags(np.array([right]))
    assert check_bmes_tags(torch.tensor(right).view(1, 1, 11))          # (1, 1, 11) too
    assert not check_bmes_tags(torch.tensor([right, right]))            # two lines: not one answer
    assert not check_bmes_tags(np.array([0, 0, 2, 0, 1, 2, 0, 1, 1, 1, 2]))
    assert "11 tags" in repr(check_bmes_tags(torch.tensor([[3, 0, 2]])))


def test_path_count():
    assert check_path_count(4 ** 31) and check_path_count(float(4 ** 31))
    assert check_path_count(np.int64(4 ** 31)) and check_path_count(8, num_tags=2, length=3)
    assert not check_path_count(31 ** 4) and "other way" in repr(check_path_count(31 ** 4))
    assert not check_path_count(31 * 16) and "work of the forward" in repr(check_path_count(496))
    assert not check_path_count(4 ** 30) and not check_path_count(None)
    assert not check_path_count(True) and not check_path_count(2.5)
    for near in (4 ** 31 - 1, 4 ** 31 + 1, 4 ** 31 + 200):             # exact, not via a float
        assert not check_path_count(near) and not check_path_count(np.int64(near))
        assert not check_path_count(torch.tensor(near)) and not check_path_count(np.array([near]))
    assert check_path_count(torch.tensor(4 ** 31)) and check_path_count(np.array(4 ** 31))
    assert check_path_count(np.uint64(4 ** 31)) and not check_path_count(torch.tensor(True))
    assert "488 terms" in repr(check_path_count(4 ** 31))
    assert "work of the forward" in repr(check_path_count(488))


@pytest.fixture
def toy():
    crf = LinearChainCRF(2)
    with torch.no_grad():
        crf.start.copy_(torch.tensor([0.5, -0.5]))
        crf.end.copy_(torch.tensor([0.0, 1.0]))
        crf.transitions.copy_(torch.tensor([[1.0, -1.0], [-2.0, 0.5]]))
    emissions = torch.tensor([[[1.0, 0.0], [0.0, 2.0], [0.5, 0.5]]])
    return crf, emissions


def test_path_score(toy):
    crf, emissions = toy
    # 0.5 (start 0) + 1 + (-1) + 2 + 0.5 + 0.5 + 1 (end 1)
    assert check_path_score(4.5, crf, emissions, [0, 1, 1])
    assert check_path_score(torch.tensor(4.5), crf, emissions, [0, 1, 1])
    no_ends = check_path_score(3.0, crf, emissions, [0, 1, 1])
    assert not no_ends and "start score" in repr(no_ends)
    only_emissions = check_path_score(3.5, crf, emissions, [0, 1, 1])
    assert not only_emissions and "emissions alone" in repr(only_emissions)
    assert not check_path_score(5.0, crf, emissions, [0, 1, 1])
    assert not check_path_score("4.5", crf, emissions, [0, 1, 1])
    assert check_path_score(0.5 + (1.0 + 0.0 + 0.5) + (1.0 + 1.0) + 0.0, crf, emissions, [0, 0, 0])


def test_boundary_f1():
    gold, predicted = ["to", "be", "or", "not", "to", "be"], ["tobe", "or", "not", "tobe"]
    assert check_boundary_f1(0.75, predicted, gold) and check_boundary_f1(3 / 4, predicted, gold)
    with_last = check_boundary_f1(0.8, predicted, gold)
    assert not with_last and "for free" in repr(with_last)
    recall = check_boundary_f1(0.6, predicted, gold)
    assert not recall and "harmonic" in repr(recall)
    assert not check_boundary_f1(1.0, predicted, gold) and "harmonic" in repr(
        check_boundary_f1(1.0, predicted, gold))  # the precision
    assert not check_boundary_f1(0.5, predicted, gold) and not check_boundary_f1(None, predicted, gold)
    assert check_boundary_f1(1.0, gold, gold)
    with pytest.raises(ValueError, match="same text"):
        check_boundary_f1(0.5, ["to"], ["be"])

"""utils.proofs: the fakes a reviewer wrote are refused, real proofs pass, and the memory guard
stops a comparison of a tensor with its own memory made from notebook code."""

import numpy as np
import pytest
import torch

from utils import proofs
from utils.proofs import SameMemoryError, checks_in, install_memory_guard, is_proof

FAKES = [
    # a view, copy or cast compared with what it came from
    "assert torch.equal(x, x[:])", "assert torch.equal(x, x[...])",
    "assert torch.equal(x, x.narrow(0, 0, 2))", "assert torch.equal(h, h.unflatten(0, (2, 3)))",
    "assert torch.equal(copy.deepcopy(x), x)", "assert torch.equal(torch.Tensor.clone(x), x)",
    "assert torch.equal(x + 0, x)", "assert torch.equal(x * 1, x)",
    "assert torch.equal(x.add(0), x)", "assert torch.equal(x.type_as(x), x)",
    # through names
    "v, w = h.view(6), 0\nassert torch.equal(v, h.flatten())",
    "a = b = h.view(6)\nassert torch.equal(a, h)",
    "v = h.view(2, 3)[0]\nassert torch.equal(v, h[0])",
    "expected = out[:, -1]\nassert torch.equal(expected, out[:, -1])",
    # always true
    "assert nb04.check_x(a) or True", "assert (a == b, 'msg')",
    "ok = bool(1)\nassert ok", "ok, n = True, 1\nassert ok",
    # never runs, or its failure is swallowed
    "if False:\n    assert x > 0", "for _ in []:\n    assert x > 0",
    "try:\n    assert x > 0\nexcept AssertionError:\n    pass",
    "f = lambda: torch.testing.assert_close(a, b)",
    "error_of(lambda: torch.testing.assert_close(a, b))",
    "def proof():\n    assert x > 0\nprint(proof)",
    # a tolerance that lets anything pass
    "torch.testing.assert_close(a, b, atol=1e9, rtol=0)", "assert torch.allclose(a, b, atol=1e9)",
    "np.testing.assert_allclose(a, b, rtol=0.5)",
]

REALS = [
    "raised = False\ntry:\n    f()\nexcept RuntimeError:\n    raised = True\nassert raised",
    "found = False\nfor x in xs:\n    if x > 0:\n        found = True\nassert found",
    "v = x.view(-1)\nassert v.data_ptr() == x.data_ptr()",
    "assert x.clone().data_ptr() != x.data_ptr()",
    "assert x.to(torch.float16).dtype != x.dtype", "assert x.t().stride() != x.stride()",
    "assert x.squeeze().shape != x.shape",
    "b = a.clone()\nb.add_(1)\nassert not torch.equal(a, b)",
    "id = compute()\nassert id == 2", "max = compute()\nassert max < 1",
    "assert shapes['a'] == shapes['b']",
    "torch.testing.assert_close(lstm(probe)[0][k], lstm(probe[k])[0])",
    "class M(nn.Module):\n    def forward(self, x):\n        assert x.dim() == 3\n        return x\nM()(x)",
    "def run():\n    assert f(x) > 0\nrun()", "assert losses[-1] < losses[0]",
    "torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)",
    "try:\n    assert x > 0\nexcept ValueError:\n    pass",
    "assert model.to('cpu') is model",
]


@pytest.mark.parametrize("source", FAKES)
def test_a_fake_proof_is_refused_and_says_why(source):
    assert not is_proof(source)
    assert all(check.problem for check in checks_in(source))


@pytest.mark.parametrize("source", REALS)
def test_a_real_proof_passes(source):
    assert is_proof(source), checks_in(source)


@pytest.fixture
def guard(monkeypatch):
    """The memory guard installed for one test, the unwrapped functions restored after it."""
    for owner, name in [(torch, "equal"), (torch, "allclose"), (torch.testing, "assert_close"),
                        (np, "array_equal"), (np, "allclose"), (np.testing, "assert_allclose"),
                        (np.testing, "assert_array_equal"), (np.testing, "assert_equal")]:
        monkeypatch.setattr(owner, name, getattr(owner, name))
    return install_memory_guard()


def run_as_cell(code: str, **names):
    """Execute ``code`` as ipykernel runs a cell (its file name is what the guard looks at)."""
    exec(compile(code, "/tmp/ipykernel_4242/1234.py", "exec"), {"torch": torch, "np": np, **names})


H = torch.randn(4, 3, 5)  # (layers * directions, batch, hidden) of a 2-layer bidirectional LSTM


@pytest.mark.parametrize("code", [
    "torch.equal(H.view(2, 2, 3, 5)[-1, 0], H[-2])",   # issue 8's 05.2: the same memory
    "torch.testing.assert_close(H.view(4, 15)[1].view(3, 5), H[1])",
    "torch.allclose(H.chunk(4)[1][0], H[1])",
    "np.testing.assert_allclose(H.numpy()[0], H[0].numpy())",
])
def test_the_guard_stops_a_comparison_of_a_tensor_with_its_own_memory(guard, code):
    with pytest.raises(SameMemoryError, match="its own memory"):
        run_as_cell(code, H=H)


def test_the_guard_lets_real_comparisons_and_helper_code_through(guard):
    run_as_cell("assert torch.equal(H[0].clone(), H[0])", H=H)      # a copy: other memory
    run_as_cell("assert not torch.equal(H[0], H[1])", H=H)           # other rows
    # NumPy scalars taken from two arrays: copies, though their temporary buffers may share an
    # address (notebook 07's KP 07.3 compares two of them)
    run_as_cell("np.testing.assert_allclose(A[-1, 0], B[-1], atol=1.0)",
                A=np.zeros((5, 2)), B=np.full(5, 0.5))
    torch.testing.assert_close(H.view(-1).view(4, 3, 5), H)          # not notebook code
    assert torch.equal(H, H)
    assert "torch.equal" in guard and install_memory_guard() == guard  # idempotent


def test_the_guard_is_installed_by_the_kernel_startup_file(tmp_path):
    root = proofs.guarded_ipython_dir(tmp_path)
    startup = (tmp_path / "profile_default" / "startup" / "00-proof-guard.py").read_text()
    assert root == str(tmp_path) and "install_memory_guard()" in startup

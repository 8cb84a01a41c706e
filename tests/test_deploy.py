import copy
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from utils.deploy import (
    INPUT_NAMES,
    OUTPUT_NAMES,
    Guarded,
    InferenceLSTM,
    StepLSTM,
    check_inputs,
    dynamic_lstm_export,
    export_onnx,
    export_program,
    lstm_dynamic_shapes,
    max_abs_diff,
    ort_runner,
    ort_session,
    saved_bytes,
)
from utils.language_model import CharLSTM

V, E, H = 11, 8, 16


def make_model(num_layers=1, seed=0):
    torch.manual_seed(seed)
    return CharLSTM(V, embedding_dim=E, hidden_size=H, num_layers=num_layers)


def inputs(batch, length, layers=1, seed=0):
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, V, (batch, length), generator=generator)
    h0 = torch.randn(layers, batch, H, generator=generator)
    return ids, h0, torch.randn(layers, batch, H, generator=generator)


@pytest.fixture(scope="module")
def served():
    return InferenceLSTM(make_model())


@pytest.fixture(scope="module")
def onnx_files(served, tmp_path_factory):
    directory = tmp_path_factory.mktemp("onnx")
    example = (torch.randint(0, V, (2, 7)), *served.initial_state(2))
    full = export_onnx(served, example, directory / "full.onnx")
    step = StepLSTM(served)
    step_example = (torch.randint(0, V, (2,)), *served.initial_state(2))
    return full, export_onnx(step, step_example, directory / "step.onnx")


# --- the inference wrapper -------------------------------------------------------------------

def test_the_wrapper_is_a_frozen_copy_with_the_models_outputs():
    model = make_model()
    served = InferenceLSTM(model)
    assert not served.training and not any(p.requires_grad for p in served.parameters())
    ids, h0, c0 = inputs(3, 9)
    with torch.no_grad():
        expected, (h_n, c_n) = model(ids, (h0, c0))
    logits, state = served.predict(ids, (h0, c0))
    assert torch.equal(logits, expected) and torch.equal(state[0], h_n)
    assert torch.equal(state[1], c_n) and logits.is_inference()
    with torch.no_grad():
        model.head.bias.add_(1.0)                         # the original moves on ...
    assert torch.equal(served.predict(ids, (h0, c0))[0], logits)   # ... the copy does not
    assert served.spec == {"vocab_size": V, "hidden_size": H, "num_layers": 1}


def test_predict_carries_the_state_and_starts_from_zeros(served):
    ids, _, _ = inputs(2, 12)
    whole, (h_n, _) = served.predict(ids)
    first, state = served.predict(ids[:, :5])
    second, (h_end, _) = served.predict(ids[:, 5:], state)
    torch.testing.assert_close(torch.cat([first, second], 1), whole)
    torch.testing.assert_close(h_end, h_n)
    zeros = served.initial_state(2)
    assert torch.equal(served.predict(ids, zeros)[0], whole)


def test_the_wrapper_refuses_what_it_cannot_serve(served):
    with pytest.raises(TypeError, match="CharLSTM"):
        InferenceLSTM(nn.LSTM(3, 4))
    ids, h0, c0 = inputs(2, 4)
    with pytest.raises(TypeError, match="tuple"):
        served.predict(ids, h0)
    with pytest.raises(ValueError, match=r"\(1, 2, 16\).*got \(1, 3, 16\)"):
        served.predict(ids, served.initial_state(3))
    with pytest.raises(TypeError, match="int64"):
        served.predict(ids.float())
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        served.initial_state(0)


def test_a_quantised_model_is_served_too():
    model = make_model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        int8 = torch.ao.quantization.quantize_dynamic(model, {nn.LSTM, nn.Linear},
                                                      dtype=torch.qint8)
    served = InferenceLSTM(int8)
    ids, _, _ = inputs(2, 6)
    with torch.no_grad():
        torch.testing.assert_close(served.predict(ids)[0], int8(ids)[0])
    assert saved_bytes(int8) < saved_bytes(model)


def test_the_step_model_streams_what_the_whole_sequence_gives(served):
    stepper = StepLSTM(served)
    assert stepper.spec["step"] is True and stepper.head is served.head
    ids, h0, c0 = inputs(3, 10, seed=1)
    with torch.inference_mode():
        whole, h_n, c_n = served(ids, h0, c0)
        h, c, columns = h0, c0, []
        for t in range(ids.shape[1]):
            logits, h, c = stepper(ids[:, t], h, c)
            columns.append(logits)
    torch.testing.assert_close(torch.stack(columns, 1), whole)
    torch.testing.assert_close((h, c), (h_n, c_n))
    with pytest.raises(TypeError, match="InferenceLSTM"):
        StepLSTM(make_model())


# --- the boundary ------------------------------------------------------------------------------

SPEC = {"vocab_size": V, "hidden_size": H, "num_layers": 1}


@pytest.mark.parametrize("change, error, words", [
    (lambda i, h, c: (i.unsqueeze(-1), h, c), ValueError, ["(batch, seq_len)", "(3, 5, 1)"]),
    (lambda i, h, c: (i[0], h, c), ValueError, ["(batch, seq_len)", "(5,)"]),
    (lambda i, h, c: (i.float(), h, c), TypeError, ["torch.int64", "torch.float32"]),
    (lambda i, h, c: (i.int(), h, c), TypeError, ["torch.int64", "torch.int32"]),
    (lambda i, h, c: (i.numpy(), h, c), TypeError, ["torch.Tensor", "ndarray"]),
    (lambda i, h, c: (i[:, :0], h, c), ValueError, ["non-empty", "(3, 0)"]),
    (lambda i, h, c: (i.clone().fill_(V), h, c), ValueError, [f"id {V}", f"[0, {V - 1}]"]),
    (lambda i, h, c: (i.clone().fill_(-1), h, c), ValueError, ["id -1"]),
    (lambda i, h, c: (i, h[..., :8], c[..., :8]), ValueError, ["(1, 3, 16)", "(1, 3, 8)"]),
    (lambda i, h, c: (i, h[:, :2], c[:, :2]), ValueError, ["(1, 3, 16)", "(1, 2, 16)"]),
    (lambda i, h, c: (i, h[0], c[0]), ValueError, ["(num_layers, batch, hidden_size)", "(3, 16)"]),
    (lambda i, h, c: (i, h.double(), c), TypeError, ["h0", "torch.float32", "torch.float64"]),
    (lambda i, h, c: (i, h, c.numpy()), TypeError, ["c0", "ndarray"]),
])
def test_check_inputs_names_the_expected_and_the_received(change, error, words):
    bad = change(*inputs(3, 5))
    with pytest.raises(error) as caught:
        check_inputs(*bad, **SPEC)
    for word in words:
        assert word in str(caught.value), (word, str(caught.value))


def test_check_inputs_accepts_good_input_and_the_step_shape():
    ids, h0, c0 = inputs(3, 5, layers=2)
    check_inputs(ids, h0, c0, vocab_size=V, hidden_size=H, num_layers=2)
    check_inputs(ids[:, 0], h0, c0, vocab_size=V, hidden_size=H, num_layers=2, step=True)
    with pytest.raises(ValueError, match=r"\(batch,\)"):
        check_inputs(ids, h0, c0, vocab_size=V, hidden_size=H, num_layers=2, step=True)
    with pytest.raises(ValueError, match=r"\(2, 3, 16\)"):
        check_inputs(ids, h0[:1], c0[:1], vocab_size=V, hidden_size=H, num_layers=2)
    with pytest.raises(TypeError, match="step"):
        check_inputs(ids, h0, c0, vocab_size=V, hidden_size=H, num_layers=2, step=1)
    with pytest.raises(TypeError, match="vocab_size"):
        check_inputs(ids, h0, c0, vocab_size=11.0, hidden_size=H)


def test_guarded_checks_then_calls_and_starts_from_zeros(served):
    calls = []

    def backend(ids, h0, c0):
        calls.append((ids, h0, c0))
        return served(ids, h0, c0)

    guarded = Guarded(backend, **served.spec)
    ids, h0, c0 = inputs(2, 6)
    with torch.inference_mode():
        out = guarded(ids, h0, c0)
        torch.testing.assert_close(out, served(ids, h0, c0))
        zero_start = guarded(ids)
    assert torch.count_nonzero(calls[-1][1]) == 0 and len(zero_start) == 3
    with pytest.raises(ValueError, match="3 dimensions"):
        guarded(ids.unsqueeze(-1), h0, c0)
    assert len(calls) == 2                                  # the bad call never reached it
    with pytest.raises(TypeError, match="callable"):
        Guarded("not a backend", **served.spec)


# --- torch.export ------------------------------------------------------------------------------

def test_plain_export_fixes_the_time_and_the_patch_keeps_it_dynamic(served):
    example = (torch.randint(0, V, (2, 7)), *served.initial_state(2))
    shapes = lstm_dynamic_shapes()

    def plain():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.export.export(served, example, dynamic_shapes=shapes)

    with pytest.raises(Exception, match=r"specialized it to be a constant \(7\)"):
        plain()                                   # caches the loop decomposition first ...
    program = export_program(served, example)     # ... and the patch still wins
    targets = [str(n.target) for n in program.graph.nodes if n.op == "call_function"]
    assert targets.count("aten.lstm.input") == 1
    with pytest.raises(Exception, match="specialized it to be a constant"):
        plain()                                   # and after the block, the default is back
    module = program.module()
    for shape in [(1, 1), (4, 30), (2, 7)]:
        args = inputs(*shape, seed=shape[1])
        with torch.inference_mode():
            assert all(torch.equal(a, b) for a, b in zip(module(*args), served(*args),
                                                          strict=True))


def test_the_dispatch_cache_clear_is_what_lets_the_patch_win(served):
    from torch.export._patches import register_lstm_while_loop_decomposition

    example = (torch.randint(0, V, (2, 7)), *served.initial_state(2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.export.export(served, example)      # a static export caches the loop kernel
        with pytest.raises(Exception, match=r"Constraints violated \(time\)"):
            with register_lstm_while_loop_decomposition():   # the bare patch, no cache clear
                torch.export.export(served, example, dynamic_shapes=lstm_dynamic_shapes())
    program = export_program(served, example)     # dynamic_lstm_export clears the cache
    (ids_node,) = [n for n in program.graph.nodes if n.op == "placeholder" and n.name == "ids"]
    assert all(isinstance(size, torch.SymInt) for size in ids_node.meta["val"].shape)
    args = inputs(3, 40, seed=3)
    with torch.inference_mode():
        assert torch.equal(program.module()(*args)[0], served(*args)[0])


def test_export_save_and_load_round_trip(served, tmp_path):
    program = export_program(served, (torch.randint(0, V, (2, 7)), *served.initial_state(2)))
    path = tmp_path / "m.pt2"
    torch.export.save(program, path)
    loaded = torch.export.load(path).module()
    args = inputs(5, 40)
    with torch.inference_mode():
        torch.testing.assert_close(loaded(*args), served(*args), rtol=0, atol=0)


def test_a_two_layer_model_exports_with_a_dynamic_time():
    served = InferenceLSTM(make_model(num_layers=2))
    program = export_program(served, (torch.randint(0, V, (2, 7)), *served.initial_state(2)))
    args = inputs(3, 25, layers=2)
    with torch.inference_mode():
        torch.testing.assert_close(program.module()(*args), served(*args))


def test_export_helpers_refuse_bad_arguments(served, tmp_path):
    with pytest.raises(TypeError, match="three tensors"):
        export_program(served, (torch.zeros(2, 7, dtype=torch.long),))
    with pytest.raises(TypeError, match="nn.Module"):
        export_program(lambda x: x, ())
    with pytest.raises(ValueError, match="does not exist"):
        export_onnx(served, (torch.zeros(2, 7, dtype=torch.long), *served.initial_state(2)),
                    tmp_path / "missing" / "m.onnx")
    with pytest.raises(ValueError, match="no ONNX file"):
        ort_session(tmp_path / "nothing.onnx")


def test_dynamic_shapes_share_one_batch_dim():
    shapes = lstm_dynamic_shapes()
    assert shapes["ids"][0] is shapes["h0"][1] is shapes["c0"][1]
    assert shapes["ids"][1].__name__ == "time"
    step = lstm_dynamic_shapes(step=True)
    assert set(step["ids"]) == {0}


def test_dynamic_lstm_export_restores_the_registration_logger():
    import logging
    logger = logging.getLogger("torch.onnx._internal.exporter._registration")
    before = logger.level
    with dynamic_lstm_export():
        assert logger.level == logging.ERROR
    assert logger.level == before


# --- ONNX and onnxruntime ----------------------------------------------------------------------

def test_onnxruntime_matches_eager_at_unseen_shapes(served, onnx_files):
    session = ort_session(onnx_files[0])
    assert tuple(i.name for i in session.get_inputs()) == INPUT_NAMES
    assert tuple(o.name for o in session.get_outputs()) == OUTPUT_NAMES
    assert session.get_inputs()[0].shape == ["batch", "time"]
    assert session.get_outputs()[0].shape == ["batch", "time", V]
    run = ort_runner(session)
    for shape in [(1, 1), (3, 50), (6, 9)]:
        args = inputs(*shape, seed=shape[0])
        with torch.inference_mode():
            torch.testing.assert_close(run(*args), served(*args), rtol=1e-5, atol=1e-5)
    with pytest.raises(TypeError, match="3 inputs"):
        run(args[0])


def test_the_onnx_step_streams_the_whole_sequence(served, onnx_files):
    run = ort_runner(ort_session(onnx_files[1]))
    ids, h0, c0 = inputs(2, 15, seed=3)
    h, c, columns = h0, c0, []
    for t in range(ids.shape[1]):                 # ids[:, t] is not contiguous: still fine
        logits, h, c = run(ids[:, t], h, c)
        columns.append(logits)
    with torch.inference_mode():
        whole, h_n, c_n = served(ids, h0, c0)
    torch.testing.assert_close((torch.stack(columns, 1), h, c), (whole, h_n, c_n),
                               rtol=1e-5, atol=1e-5)


def test_onnxruntime_names_the_bad_input(onnx_files):
    session = ort_session(onnx_files[0])
    ids, h0, c0 = inputs(3, 5)
    with pytest.raises(Exception, match="Invalid rank for input: ids"):
        session.run(None, {"ids": ids[..., None].numpy(), "h0": h0.numpy(), "c0": c0.numpy()})
    with pytest.raises(Exception, match=r"expected: \(tensor\(int64\)\)"):
        session.run(None, {"ids": ids.float().numpy(), "h0": h0.numpy(), "c0": c0.numpy()})


# --- sizes and differences ---------------------------------------------------------------------

def test_saved_bytes_counts_four_bytes_a_parameter():
    model = make_model()
    count = sum(p.numel() for p in model.parameters())
    size = saved_bytes(model)
    assert 4 * count < size < 4 * count + 10_000
    with pytest.raises(TypeError, match="nn.Module"):
        saved_bytes(model.state_dict())


def test_max_abs_diff():
    a = (torch.zeros(2, 3), torch.ones(4))
    b = (torch.zeros(2, 3), torch.ones(4) + 0.25)
    assert max_abs_diff(a, b) == 0.25
    assert max_abs_diff(a, copy.deepcopy(a)) == 0.0
    assert max_abs_diff((np.zeros(3),), (torch.zeros(3),)) == 0.0
    assert max_abs_diff((torch.zeros(0),), (torch.zeros(0),)) == 0.0
    with pytest.raises(ValueError, match="shape"):
        max_abs_diff((torch.zeros(2),), (torch.zeros(3),))
    with pytest.raises(ValueError, match="2 outputs"):
        max_abs_diff((torch.zeros(2),), a)

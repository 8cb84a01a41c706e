import pytest

from utils.widgets.pipeline import classic_pipeline_shapes, pipeline_explorer


def test_classic_shapes():
    shapes = classic_pipeline_shapes(16, 5, 10, 20, 2, 1)
    assert shapes["out"] == (16, 5, 20)
    assert shapes["h_n"] == shapes["c_n"] == (2, 16, 20)
    assert shapes["prediction"] == (16, 1) and shapes["loss"] == ()


@pytest.mark.parametrize("name, key, position", [
    ("batch", "x", 0), ("seq_len", "out", 1), ("input_size", "x", 2),
    ("hidden_size", "out", 2), ("num_layers", "h_n", 0), ("output_size", "prediction", 1)])
def test_every_control_changes_the_result_fast(name, key, position):
    explorer = pipeline_explorer()
    control = explorer.controls[name]
    for value in range(control.min, control.max + 1, max(1, (control.max - control.min) // 5)):
        control.value = value
        assert explorer.result[key][position] == value
        assert explorer.last_update_seconds < 0.3

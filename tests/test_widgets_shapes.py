import io
from contextlib import redirect_stdout

import pytest

from utils.widgets.shapes import SHAPE_NAMES, lstm_shapes, shape_explorer, shapes_svg

CLASSIC = dict(batch=16, seq_len=5, input_size=10, hidden_size=20, num_layers=2,
               batch_first=True, bidirectional=False, proj_size=0)


def test_classic_example_shapes():
    result = lstm_shapes(**CLASSIC)
    assert result["error"] is None
    assert result["shapes"] == {"input": (16, 5, 10), "output": (16, 5, 20),
                                "h_n": (2, 16, 20), "c_n": (2, 16, 20), "head output": (16, 1)}
    assert tuple(result["shapes"]) == SHAPE_NAMES
    assert result["dims"]["input"] == ("batch", "seq_len", "input_size")


def test_seq_first_bidirectional_projected_shapes():
    result = lstm_shapes(**{**CLASSIC, "batch_first": False, "bidirectional": True,
                            "proj_size": 5})
    assert result["shapes"] == {"input": (5, 16, 10), "output": (5, 16, 10),
                                "h_n": (4, 16, 5), "c_n": (4, 16, 20), "head output": (16, 1)}
    assert result["dims"]["output"] == ("seq_len", "batch", "D*H_out")


def test_an_impossible_combination_gives_torchs_message_not_a_traceback():
    result = lstm_shapes(**{**CLASSIC, "proj_size": 20})
    assert result == {"shapes": {}, "dims": {},
                      "error": "ValueError: proj_size has to be smaller than hidden_size"}
    assert shapes_svg(result) == ""


@pytest.mark.parametrize("key, value, error", [
    ("batch", 0, ValueError), ("seq_len", 2.0, TypeError), ("proj_size", -1, ValueError),
    ("batch_first", 1, TypeError), ("num_layers", True, TypeError)])
def test_bad_arguments_are_rejected_with_their_name(key, value, error):
    with pytest.raises(error, match=key):
        lstm_shapes(**{**CLASSIC, key: value})


def test_the_drawing_names_every_tensor_and_dimension():
    svg = shapes_svg(lstm_shapes(**CLASSIC))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    for text in ("input (16, 5, 10)", "h_n (2, 16, 20)", "head output (16, 1)", "seq_len 5",
                 "D*num_layers 2", "hidden_size 20"):
        assert text in svg
    with pytest.raises(TypeError, match="lstm_shapes"):
        shapes_svg({"not": "a result"})


def printed_lines(explorer):
    """What the explorer shows as text: its render function's printed lines."""
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        explorer.render(explorer.result)
    return [line for line in buffer.getvalue().splitlines() if not line.startswith("<")]


def test_the_explorer_prints_one_plain_line_per_tensor():
    explorer = shape_explorer()
    assert printed_lines(explorer) == ["input: (3, 5, 10)", "output: (3, 5, 20)",
                                       "h_n: (2, 3, 20)", "c_n: (2, 3, 20)",
                                       "head output: (3, 1)"]
    explorer.controls["bidirectional"].value = True
    assert "output: (3, 5, 40)" in printed_lines(explorer)


def test_every_control_has_its_key_as_description_and_sliders_wait_for_release():
    explorer = shape_explorer()
    assert list(explorer.controls) == ["batch", "seq_len", "input_size", "hidden_size",
                                       "num_layers", "batch_first", "bidirectional",
                                       "proj_size"]
    for key, control in explorer.controls.items():
        assert control.description == key
        if hasattr(control, "continuous_update"):
            assert control.continuous_update is False


def sweep(control):
    step = max(1, (control.max - control.min) // 6)
    return [*range(control.min, control.max + 1, step), control.max]


@pytest.mark.parametrize("key, tensor, position", [
    ("batch", "input", 0), ("batch", "h_n", 1), ("batch", "head output", 0),
    ("seq_len", "output", 1), ("input_size", "input", 2), ("hidden_size", "c_n", 2),
    ("hidden_size", "output", 2)])
def test_each_slider_moves_its_dimension_fast(key, tensor, position):
    explorer = shape_explorer()
    control = explorer.controls[key]
    for value in sweep(control):
        control.value = value
        assert explorer.result["error"] is None
        assert explorer.result["shapes"][tensor][position] == value
        assert explorer.last_update_seconds < 0.3


def test_num_layers_and_bidirectional_set_the_first_dim_of_the_states():
    explorer = shape_explorer()
    for bidirectional in (False, True):
        explorer.controls["bidirectional"].value = bidirectional
        directions = 2 if bidirectional else 1
        for layers in sweep(explorer.controls["num_layers"]):
            explorer.controls["num_layers"].value = layers
            shapes = explorer.result["shapes"]
            assert shapes["h_n"][0] == shapes["c_n"][0] == directions * layers
            assert shapes["output"][2] == directions * 20
            assert explorer.last_update_seconds < 0.3


def test_batch_first_swaps_input_and_output_but_not_the_states():
    explorer = shape_explorer()
    first = explorer.result["shapes"]
    explorer.controls["batch_first"].value = False
    second = explorer.result["shapes"]
    assert second["input"] == (5, 3, 10) and first["input"] == (3, 5, 10)
    assert second["output"] == (5, 3, 20) and first["output"] == (3, 5, 20)
    assert second["h_n"] == first["h_n"] and second["c_n"] == first["c_n"]
    assert explorer.last_update_seconds < 0.3


def test_proj_size_shrinks_h_not_c_and_an_impossible_value_shows_the_message():
    explorer = shape_explorer()
    hidden = explorer.controls["hidden_size"].value
    for value in sweep(explorer.controls["proj_size"]):
        explorer.controls["proj_size"].value = value
        assert explorer.last_update_seconds < 0.3
        if value >= hidden:
            assert explorer.result["error"] == \
                "ValueError: proj_size has to be smaller than hidden_size"
            assert printed_lines(explorer) == [explorer.result["error"]]
            continue
        h_out = value or hidden
        shapes = explorer.result["shapes"]
        assert shapes["h_n"][2] == shapes["output"][2] == h_out
        assert shapes["c_n"][2] == hidden


def test_the_controls_column_keeps_its_width_and_the_output_scrolls():
    explorer = shape_explorer()
    controls_box, output = explorer.widget.children[-1].children
    assert list(controls_box.children) == list(explorer.controls.values())
    assert controls_box.layout.flex == "0 0 auto" and output.layout.overflow == "auto"

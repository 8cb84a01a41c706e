import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from utils.viz import GATE_COLORS  # noqa: E402
from utils.viz.cell import draw_lstm_cell  # noqa: E402


def test_draws_every_part_and_returns_figure_and_axes():
    fig, ax = draw_lstm_cell()
    assert ax.figure is fig
    fig.canvas.draw()  # renders the mathtext labels: fails on a malformed one
    texts = {t.get_text() for t in ax.texts}
    for label in ("$c_{t-1}$", "$c_t$", "$h_{t-1}$", "$h_t$", "$x_t$", "tanh",
                  "$i_t$", "$f_t$", "$g_t$", "$o_t$", "×", "+"):
        assert label in texts, label
    facecolors = {matplotlib.colors.to_hex(p.get_facecolor()) for p in ax.patches}
    for key in "ifgo":
        assert GATE_COLORS[key].lower() in facecolors, key
    plt.close(fig)


def test_draws_on_a_given_axes():
    fig, axes = plt.subplots(1, 2)
    returned_fig, returned_ax = draw_lstm_cell(axes[1])
    assert returned_fig is fig and returned_ax is axes[1]
    assert axes[1].patches and not axes[0].patches
    plt.close(fig)


def test_rejects_what_is_not_an_axes():
    with pytest.raises(TypeError, match="matplotlib Axes or None, got Figure"):
        draw_lstm_cell(plt.figure())
    plt.close("all")

"""Static pictures of widgets (genlearn.widgets.static), used by the course website and slides."""

import base64
import re

import ipywidgets as w
import matplotlib
import matplotlib.pyplot as plt
import pytest
import torch

from genlearn.widgets import kl_explorer, latent_explorer
from genlearn.widgets.static import figure_png, install, static_html, uninstall

PNG = b"\x89PNG\r\n\x1a\n"


def _pngs(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]


def test_interactive_shows_its_controls_and_figure_at_default_values():
    html = static_html(kl_explorer())
    assert "mu = 1.00" in html and "sigma = 0.50" in html  # FloatSlider readout format .2f
    images = _pngs(html)
    assert len(images) == 1 and images[0].startswith(PNG)
    assert "default setting" in html


def test_interactive_without_figure_result_is_called_again_and_its_plot_captured():
    def draw(k=2):
        fig, ax = plt.subplots()
        ax.plot(range(k))
        # no plt.show(), no return value: the figure stays open (Agg) and is picked up

    widget = w.interactive(draw, k=w.IntSlider(value=3, min=1, max=5, description="k"))
    assert widget.result is None
    before = set(plt.get_fignums())
    html = static_html(widget)
    assert "k = 3" in html
    assert len(_pngs(html)) == 1
    assert set(plt.get_fignums()) <= before  # the extra figure was closed


class _TinyDecoder(torch.nn.Module):
    latent_dim, in_shape = 2, (1, 4, 4)

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(2, 16)

    def decode_mean(self, z):
        return torch.sigmoid(self.lin(z)).reshape(-1, 1, 4, 4)


def test_box_with_images_lays_out_children_and_inlines_the_image():
    box = latent_explorer(_TinyDecoder())
    html = static_html(box)
    assert html.count("flex-direction:column") == 1
    assert _pngs(html) == [bytes(box.image.value)]
    assert "z0 = 0.00" in html and "z1 = 0.00" in html


def test_labels_dropdowns_and_selection_sliders_show_their_text():
    box = w.HBox([w.Label("a < b"), w.Dropdown(options=["x", "y"], value="y", description="pick"),
                  w.SelectionSlider(options=[("0.5", 0.5), ("2", 2.0)], value=2.0, description="gamma")])
    html = static_html(box)
    assert "a &lt; b" in html and "pick = y" in html and "gamma = 2" in html
    assert "flex-direction:row" in html


def test_rejects_non_widgets():
    with pytest.raises(ValueError, match="ipywidgets widget"):
        static_html("not a widget")


def test_figure_png_is_a_png():
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    plt.close(fig)  # closed figures still save
    assert figure_png(fig).startswith(PNG)


def test_install_adds_html_to_every_widget_display_and_uninstall_removes_it():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        install(shell)
        data, _ = shell.display_formatter.format(w.IntSlider(value=4, description="n"))
        assert "n = 4" in data["text/html"]
        assert "application/vnd.jupyter.widget-view+json" in data  # the live view stays
        uninstall(shell)
        data, _ = shell.display_formatter.format(w.IntSlider(value=4, description="n"))
        assert "text/html" not in data
    finally:
        uninstall(shell)
        InteractiveShell.clear_instance()
        matplotlib.use("Agg")


def test_progress_bars_get_no_picture_at_display_time():
    from genlearn.widgets.static import is_progress_bar

    bar = w.HBox([w.HTML("fit:  0%"), w.FloatProgress(value=0, max=10), w.HTML("0/10")])
    assert is_progress_bar(bar) and not is_progress_bar(w.HBox([w.Label("x")]))
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        install(shell)
        data, _ = shell.display_formatter.format(bar)
        assert "text/html" not in data  # the page builder draws its final state instead
    finally:
        uninstall(shell)
        InteractiveShell.clear_instance()
        matplotlib.use("Agg")

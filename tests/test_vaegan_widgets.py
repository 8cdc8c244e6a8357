"""The VAE-GAN lesson's widgets and the plain functions under them."""

import pytest
import torch

from genlearn.data import load_digits
from genlearn.models import VAE, VAEGAN
from genlearn.widgets import gamma_explorer, gamma_view, paired_samples, sample_viewer


@pytest.fixture(scope="module")
def runs():
    torch.manual_seed(0)
    return {g: VAEGAN((1, 8, 8), 4, hidden=(16,), dis_channels=(4, 8), gamma=g).float() for g in (0.1, 1.0)}


@pytest.fixture(scope="module")
def x():
    return load_digits("test").x[:20]


def test_gamma_view_scores_the_chosen_run(runs, x):
    v = gamma_view(runs, 1.0, x, n=30, seed=3)
    assert v.gamma == 1.0 and v.samples.shape == (30, 1, 8, 8) and v.reconstructions.shape == x.shape
    assert v.frechet > 0 and v.sharpness_gap >= 0
    want = (runs[1.0].reconstruct(x) - x).pow(2).flatten(1).sum(1).mean()
    assert v.recon_error == pytest.approx(float(want), rel=1e-5)
    again = gamma_view(runs, 1.0, x, n=30, seed=3)
    assert torch.equal(v.samples, again.samples)
    with pytest.raises(ValueError, match="no run with gamma=5"):
        gamma_view(runs, 5.0, x)


def test_gamma_explorer_switches_views(runs, x):
    box = gamma_explorer(runs, x, n_show=8)
    before = [i.value for i in box.images]
    assert "gamma = 0.1" in box.label.value
    box.slider.value = 1.0
    assert "gamma = 1" in box.label.value
    assert box.images[0].value != before[0] and box.images[1].value == before[1]  # inputs stay


def test_paired_samples_decode_the_same_codes(runs):
    torch.manual_seed(1)
    vae = VAE((1, 8, 8), 4, hidden=(16,)).float()
    out = paired_samples({"VAE": vae, "VAE-GAN": runs[1.0]}, n=6, seed=2)
    z = torch.randn(6, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float32)
    assert torch.allclose(out["VAE"], vae.decode_mean(z).detach())
    assert torch.allclose(out["VAE-GAN"], runs[1.0].decode_mean(z).detach())
    with pytest.raises(ValueError, match="share latent_dim"):
        paired_samples({"a": vae, "b": VAE((1, 8, 8), 3, hidden=(16,))})


def test_sample_viewer_redraws_on_a_new_seed(runs):
    box = sample_viewer({"a": runs[0.1], "b": runs[1.0]}, n=8, max_seed=3)
    before = [i.value for i in box.images]
    box.slider.value = 2
    assert all(a != b for a, b in zip(before, [i.value for i in box.images], strict=True))


def test_lesson_figures_draw():
    from matplotlib.figure import Figure

    from genlearn.viz.vaegan import order_diagram, routing_figure, vaegan_diagram

    for fig in (vaegan_diagram(), vaegan_diagram(three_class=True), order_diagram()):
        assert isinstance(fig, Figure)
        fig.savefig(__import__("io").BytesIO(), format="png")  # every arrow and label renders
    norms = {"prior": {"encoder": 0.4, "decoder": 0.0}, "gan": {"encoder": 1e-3, "decoder": 0.05}}
    fig = routing_figure(norms, {"encoder": ["prior"], "decoder": []})
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts.count("0.4") == 1 and sum("blocked" in t for t in texts) == 3

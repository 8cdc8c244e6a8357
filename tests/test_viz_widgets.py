"""genlearn.viz figures and genlearn.widgets latent tools (plain functions and the widgets)."""

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from genlearn.models import AE, VAE
from genlearn.viz import (
    image_grid,
    interpolation_strip,
    latent_scatter,
    latent_traversal,
    loss_curves,
    show_reconstructions,
    tile_images,
)
from genlearn.widgets import (
    decode_point,
    decode_points,
    encode_mean,
    interpolate,
    interpolation_frames,
    interpolation_slider,
    latent_explorer,
    traverse,
)
from genlearn.widgets.latent import image_png


@pytest.fixture
def vae():
    torch.manual_seed(0)
    return VAE((1, 8, 8), 3, hidden=(16,)).eval()


# -------------------------------------------------------------------------------------- viz


def test_tile_images_places_each_image_in_row_major_order():
    imgs = torch.stack([torch.full((1, 2, 3), float(i) / 10) for i in range(5)])
    tiled = tile_images(imgs, ncols=3, pad=1, pad_value=1.0)
    assert tiled.shape == (2 * 2 + 1, 3 * 3 + 2, 1)
    for i in range(5):
        r, c = divmod(i, 3)
        block = tiled[r * 3 : r * 3 + 2, c * 4 : c * 4 + 3, 0]
        np.testing.assert_allclose(block, i / 10, rtol=0, atol=1e-7)
    assert (tiled[2, :, 0] == 1.0).all()  # padding row between the two image rows
    assert (tiled[3:, 8:, 0] == 1.0).all()  # the empty sixth cell


def test_figures_are_returned_not_shown():
    imgs = torch.rand(6, 1, 8, 8)
    figs = [
        image_grid(imgs, title="digits"),
        image_grid(torch.rand(4, 3, 5, 5)),
        show_reconstructions(imgs, imgs.flip(0), n=4),
        latent_scatter(torch.randn(30, 3), labels=torch.arange(30) % 10, dims=(0, 2)),
        latent_scatter(torch.randn(30, 2)),
        interpolation_strip(imgs, ts=np.linspace(0, 1, 6)),
        latent_traversal(torch.rand(2, 5, 1, 8, 8), values=[-2, -1, 0, 1, 2], dims=[0, 2]),
        loss_curves({"loss": [3.0, 2.0, 1.5], "kl": [0.1, 0.5, 0.7], "val_loss": [3.1, 2.2, 1.9],
                     "seconds": [0.1, 0.1, 0.1]}),
    ]
    assert all(isinstance(f, Figure) for f in figs)
    curves = figs[-1].axes[0].get_lines()
    assert [ln.get_label() for ln in curves] == ["loss", "kl", "val_loss"]  # seconds skipped
    assert curves[0].get_color() == curves[2].get_color() and curves[2].get_linestyle() == "--"


def test_viz_rejects_wrong_shapes():
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        image_grid(torch.rand(2, 2, 8, 8))
    with pytest.raises(ValueError, match="same shape"):
        show_reconstructions(torch.rand(2, 1, 8, 8), torch.rand(3, 1, 8, 8))
    with pytest.raises(ValueError, match="one entry per code"):
        latent_scatter(torch.randn(5, 2), labels=torch.arange(4))
    with pytest.raises(ValueError, match="history has no"):
        loss_curves({"loss": [1.0]}, keys=["kl"])


# ------------------------------------------------------------------------- latent functions


def test_interpolate_linear_endpoints_and_midpoint():
    z0, z1 = torch.tensor([0.0, 2.0]), torch.tensor([4.0, -2.0])
    path = interpolate(z0, z1, 5)
    assert path.shape == (5, 2)
    torch.testing.assert_close(path[0], z0)
    torch.testing.assert_close(path[-1], z1)
    torch.testing.assert_close(path[2], (z0 + z1) / 2)
    torch.testing.assert_close(path[1], 0.75 * z0 + 0.25 * z1)


def test_slerp_keeps_the_norm_between_codes_of_equal_norm():
    z0, z1 = torch.tensor([3.0, 0.0, 0.0]), torch.tensor([0.0, 0.0, 3.0])
    path = interpolate(z0, z1, 7, method="slerp")
    torch.testing.assert_close(path.norm(dim=1), torch.full((7,), 3.0))
    torch.testing.assert_close(path[3], torch.tensor([3.0, 0.0, 3.0]) / 2**0.5)  # 45 degrees
    with pytest.raises(ValueError, match="method"):
        interpolate(z0, z1, 3, method="cubic")
    with pytest.raises(ValueError, match="steps"):
        interpolate(z0, z1, 1)


def test_decode_point_is_the_decoder_mean(vae):
    z = torch.tensor([0.5, -1.0, 2.0])
    img = decode_point(vae, z)
    assert img.shape == (1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(img, torch.sigmoid(vae.decode(z[None]))[0])
    with pytest.raises(ValueError, match=r"\(3,\)"):
        decode_point(vae, torch.zeros(2))


def test_encode_mean_uses_the_posterior_mean_and_the_ae_code(vae):
    x = torch.rand(4, 1, 8, 8)
    torch.testing.assert_close(encode_mean(vae, x), vae.encode(x).mu.detach())
    ae = AE((1, 8, 8), 2, hidden=(8,), code_noise=1.0).train()
    torch.testing.assert_close(encode_mean(ae, x), ae.encode(x).detach())
    assert ae.training, "the model's mode is restored"


def test_interpolation_frames_run_from_one_reconstruction_to_the_other(vae):
    x = torch.rand(2, 1, 8, 8)
    frames = interpolation_frames(vae, x[0], x[1], steps=6)
    assert frames.shape == (6, 1, 8, 8)
    torch.testing.assert_close(frames[0], vae.reconstruct(x[:1])[0])
    torch.testing.assert_close(frames[-1], vae.reconstruct(x[1:])[0])
    mu = vae.encode(x).mu.detach()
    torch.testing.assert_close(frames[2], decode_point(vae, 0.6 * mu[0] + 0.4 * mu[1]))
    with pytest.raises(ValueError, match=r"\(1, 8, 8\)"):
        interpolation_frames(vae, x, x[1], steps=3)


def test_traverse_varies_one_latent_per_row(vae):
    z = torch.tensor([0.1, 0.2, 0.3])
    grid = traverse(vae, z, dims=[0, 2], values=[-1.0, 1.0])
    assert grid.shape == (2, 2, 1, 8, 8)
    torch.testing.assert_close(grid[1, 0], decode_point(vae, torch.tensor([0.1, 0.2, -1.0])))
    torch.testing.assert_close(grid[0, 1], decode_point(vae, torch.tensor([1.0, 0.2, 0.3])))
    with pytest.raises(ValueError, match="dims"):
        traverse(vae, z, dims=[3])


def test_decode_points_checks_the_code_size(vae):
    assert decode_points(vae, torch.zeros(4, 3)).shape == (4, 1, 8, 8)
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        decode_points(vae, torch.zeros(4, 2))


def test_image_png_is_a_scaled_png():
    png = image_png(torch.rand(1, 8, 8), scale=4)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    import io

    import matplotlib.image as mpimg

    a = mpimg.imread(io.BytesIO(png))
    assert a.shape[:2] == (32, 32)


# ---------------------------------------------------------------------------------- widgets


def test_latent_explorer_redraws_when_a_slider_moves(vae):
    box = latent_explorer(vae)
    assert len(box.sliders) == 3 and [s.value for s in box.sliders] == [0.0, 0.0, 0.0]
    before = box.image.value
    box.sliders[1].value = 2.0
    assert box.image.value != before
    assert box.image.value == image_png(decode_point(vae, torch.tensor([0.0, 2.0, 0.0])), 20)


def test_interpolation_slider_shows_the_precomputed_frames(vae):
    x = torch.rand(2, 1, 8, 8)
    box = interpolation_slider(vae, x[0], x[1], steps=5)
    assert box.frames.shape == (5, 1, 8, 8) and box.slider.max == 4
    box.slider.value = 3
    assert box.image.value == image_png(box.frames[3], 20)

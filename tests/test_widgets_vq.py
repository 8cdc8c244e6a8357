"""Code-map widget functions and the widget itself (built without a browser)."""

from __future__ import annotations

import pytest
import torch

from genlearn.models import VQVAE
from genlearn.widgets.vq import code_atlas, code_explorer, decode_code_map, edit_code_map, filled_code_map

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def model() -> VQVAE:
    torch.manual_seed(0)
    m = VQVAE((1, 8, 8), num_codes=6, code_dim=3, channels=(4, 8)).eval()
    with torch.no_grad():  # codes far apart, so different codes decode to different images
        m.quantizer.codebook.copy_(torch.randn(6, 3) * 3)
    return m


def test_filled_and_edited_code_maps(model):
    filled = filled_code_map(model, 4)
    assert filled.shape == (2, 2) and filled.dtype == torch.long and (filled == 4).all()
    edited = edit_code_map(model, filled, 1, 0, 2)
    assert edited.tolist() == [[4, 4], [2, 4]]
    assert (filled == 4).all(), "edit_code_map must return a copy"


def test_decode_code_map_matches_the_model(model):
    code_map = torch.tensor([[0, 1], [2, 3]])
    image = decode_code_map(model, code_map)
    assert image.shape == (1, 8, 8) and image.device.type == "cpu"
    assert torch.allclose(image, model.decode_indices(code_map[None])[0])
    assert not torch.allclose(image, decode_code_map(model, edit_code_map(model, code_map, 0, 0, 5)))


def test_code_atlas(model):
    atlas = code_atlas(model)
    assert atlas.shape == (6, 1, 8, 8)
    assert torch.allclose(atlas[3], decode_code_map(model, filled_code_map(model, 3)))
    assert code_atlas(model, [5, 1]).shape == (2, 1, 8, 8)
    assert torch.allclose(code_atlas(model, torch.tensor([5]))[0], atlas[5])


def test_bad_input_raises_clear_errors(model):
    with pytest.raises(ValueError, match=r"\[0, 6\)"):
        filled_code_map(model, 6)
    with pytest.raises(ValueError, match="integer"):
        filled_code_map(model, 1.0)
    with pytest.raises(ValueError, match=r"shape \(2, 2\)"):
        decode_code_map(model, torch.zeros(1, 2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="integer"):
        decode_code_map(model, torch.zeros(2, 2))
    with pytest.raises(ValueError, match="row"):
        edit_code_map(model, filled_code_map(model, 0), 2, 0, 1)
    with pytest.raises(ValueError, match="integer code indices"):
        code_atlas(model, [0.5])
    with pytest.raises(ValueError, match="empty"):
        code_atlas(model, [])
    with pytest.raises(ValueError, match="VQVAE"):
        filled_code_map(torch.nn.Linear(2, 2), 0)
    with pytest.raises(ValueError, match=r"one image of shape \(1, 8, 8\)"):
        code_explorer(model, torch.rand(2, 1, 8, 8))


def test_code_explorer_updates_its_images(model):
    x = torch.rand(1, 8, 8)
    box = code_explorer(model, x, k=1)
    assert torch.equal(box.code_map(), model.encode_indices(x[None])[0])
    before = box.code_image.value
    box.code_slider.value = 4
    assert box.code_image.value != before
    old_map = box.map_image.value
    cell = box.cells[0][1]
    cell.value = (cell.value + 1) % 6
    assert box.code_map()[0, 1] == cell.value
    assert box.map_image.value != old_map
    assert len(box.cells) == 2 and len(box.cells[0]) == 2
    plain = code_explorer(model)  # without an example: the map starts filled with k
    assert (plain.code_map() == 0).all()

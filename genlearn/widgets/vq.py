r"""Code-map tools for a trained :class:`~genlearn.models.VQVAE`, and the widget built on them.

A VQ-VAE describes an image by a code map: ``h x w`` integers in ``[0, K)``. These
plain functions (unit-tested) let you look at what one code means and edit a map:

* :func:`filled_code_map`: a map with every position set to code ``k``;
* :func:`edit_code_map`: a copy of a map with one position changed;
* :func:`decode_code_map`: the image of one map;
* :func:`code_atlas`: the images of the filled maps of several codes.

:func:`code_explorer` wraps them in ipywidgets: a slider picks a code and shows its
filled map's image; a grid of number boxes holds a code map (initially an example's)
and shows the decoded image as you edit it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from genlearn._validate import check_count
from genlearn.models.base import eval_mode
from genlearn.models.priors import check_codes
from genlearn.widgets.latent import image_png

__all__ = ["filled_code_map", "edit_code_map", "decode_code_map", "code_atlas", "code_explorer"]


def _check_model(model: nn.Module) -> tuple[int, tuple[int, int]]:
    k, shape = getattr(model, "num_codes", None), getattr(model, "code_shape", None)
    if not isinstance(k, int) or shape is None or not hasattr(model, "decode_indices"):
        raise ValueError("expected a genlearn VQVAE (with num_codes, code_shape, decode_indices), got "
                         f"{type(model).__name__}")
    return k, tuple(shape)  # type: ignore[return-value]


def _check_code(k, num_codes: int, name: str = "k") -> int:
    if isinstance(k, bool) or not hasattr(k, "__index__"):
        raise ValueError(f"{name} must be an integer code index in [0, {num_codes}), got {k!r}")
    k = int(k.__index__())
    if not 0 <= k < num_codes:
        raise ValueError(f"{name} must be a code index in [0, {num_codes}), got {k}")
    return k


def _check_map(model: nn.Module, code_map: Tensor) -> Tensor:
    """One code map ``(h, w)`` (no batch axis), validated by the package's one code-map check."""
    num_codes, (h, w) = _check_model(model)
    if isinstance(code_map, Tensor) and code_map.ndim != 2:
        raise ValueError(f"code_map must have shape ({h}, {w}) (one map, no batch axis), got {tuple(code_map.shape)}")
    batch = code_map[None] if isinstance(code_map, Tensor) else code_map
    return check_codes(batch, num_codes, (h, w))[0].cpu()


def filled_code_map(model: nn.Module, k: int) -> Tensor:
    """A code map ``(h, w)`` (long, CPU) with every position set to code ``k``."""
    num_codes, (h, w) = _check_model(model)
    return torch.full((h, w), _check_code(k, num_codes), dtype=torch.long)


def edit_code_map(model: nn.Module, code_map: Tensor, row: int, col: int, k: int) -> Tensor:
    """A copy of ``code_map`` ``(h, w)`` with position ``(row, col)`` set to code ``k``."""
    num_codes, (h, w) = _check_model(model)
    out = _check_map(model, code_map).clone()
    row, col = _check_code(row, h, "row"), _check_code(col, w, "col")
    out[row, col] = _check_code(k, num_codes)
    return out


def decode_code_map(model: nn.Module, code_map: Tensor) -> Tensor:
    """The image ``(C, H, W)`` (CPU, eval mode) that one code map ``(h, w)`` decodes to."""
    code_map = _check_map(model, code_map)
    with eval_mode(model):
        return model.decode_indices(code_map[None])[0].cpu()


def code_atlas(model: nn.Module, codes: Sequence[int] | Tensor | None = None) -> Tensor:
    """Images ``(n, C, H, W)`` of :func:`filled_code_map` for each code in ``codes``
    (default: all K codes, in order)."""
    num_codes, _ = _check_model(model)
    if codes is None:
        codes = list(range(num_codes))
    else:
        t = torch.as_tensor(codes)
        if t.numel() == 0:
            raise ValueError("codes is empty; pass at least one code index")
        if t.is_floating_point() or t.dtype == torch.bool:
            raise ValueError(f"codes must be integer code indices, got dtype {t.dtype}")
        codes = t.reshape(-1).tolist()
    if not codes:
        raise ValueError("codes is empty; pass at least one code index")
    maps = torch.stack([filled_code_map(model, c) for c in codes])
    with eval_mode(model):
        return model.decode_indices(maps).cpu()


def code_explorer(model: nn.Module, x: Tensor | None = None, k: int = 0, scale: int | None = None):
    """ipywidgets: (1) a slider over codes and the image of the map filled with that code;
    (2) an editable code map (initially the map of image ``x`` ``(C, H, W)``, else all ``k``)
    with its decoded image next to ``x``.

    Returns a ``VBox`` with ``.code_slider``, ``.code_image``, ``.cells`` (rows of ``BoundedIntText``),
    ``.map_image`` and ``.code_map()`` (the current map as a tensor)."""
    import ipywidgets as w

    num_codes, (h, wd) = _check_model(model)
    in_shape = tuple(getattr(model, "in_shape", ()))
    scale = check_count(scale, "scale") if scale is not None else max(1, 160 // max(1, int(in_shape[-1] or 1)))
    if x is not None:
        if not isinstance(x, Tensor) or tuple(x.shape) != in_shape:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"x must be one image of shape {in_shape}, got {got}")
        start = model.encode_indices(x[None].to(next(model.parameters()).device))[0].cpu()
    else:
        start = filled_code_map(model, k)

    code_slider = w.IntSlider(value=_check_code(k, num_codes), min=0, max=num_codes - 1, description="code k")
    code_image = w.Image(value=image_png(decode_code_map(model, filled_code_map(model, k)), scale), format="png")
    cells = [[w.BoundedIntText(value=int(start[r, c]), min=0, max=num_codes - 1, layout=w.Layout(width="70px"))
              for c in range(wd)] for r in range(h)]
    map_image = w.Image(value=image_png(decode_code_map(model, start), scale), format="png")

    def code_map() -> Tensor:
        return torch.tensor([[cell.value for cell in row] for row in cells], dtype=torch.long)

    def show_code(change) -> None:
        code_image.value = image_png(decode_code_map(model, filled_code_map(model, int(change["new"]))), scale)

    def show_map(_change=None) -> None:
        map_image.value = image_png(decode_code_map(model, code_map()), scale)

    code_slider.observe(show_code, names="value")
    for row in cells:
        for cell in row:
            cell.observe(show_map, names="value")
    left = w.VBox([w.Label("one code everywhere"), code_slider, code_image],
                  layout=w.Layout(align_items="flex-start"))  # pictures keep their size
    grid = w.VBox([w.HBox(row) for row in cells])
    pictures = [map_image] if x is None else [w.Image(value=image_png(x, scale), format="png"), map_image]
    right = w.VBox([w.Label("edit a code map" + (" (left: the input)" if x is not None else "")), grid,
                    w.HBox(pictures)])
    box = w.HBox([left, right])
    box.code_slider, box.code_image, box.cells, box.map_image = code_slider, code_image, cells, map_image
    box.code_map = code_map
    return box

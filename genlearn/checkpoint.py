r"""Checkpoints: one file per model, ``{format, class, module, config, state_dict}``.

:func:`save` writes the model's class, its JSON-able ``config()`` (the constructor arguments)
and its state dict (tensors on the CPU), atomically (a temporary file renamed into place);
:func:`load` reads it back with ``torch.load(..., weights_only=True)`` (no pickled code runs)
and rebuilds ``Class(**config)``, refusing classes outside genlearn unless the caller names their
module in ``trust`` (the file names a module; importing it runs its code, so the choice is the
caller's, never the file's), and saying exactly what differs when a model, config or tensor shape
does not match.
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from genlearn.runtime import device as default_device

__all__ = ["save", "load", "FORMAT"]


FORMAT = "genlearn-checkpoint-1"
_FORMAT = FORMAT


def _config(model: nn.Module) -> dict[str, Any]:
    config = getattr(model, "config", None)
    if callable(config):
        config = config()
    if not isinstance(config, dict):
        raise ValueError(
            f"{type(model).__name__} has no `config` dict (its constructor arguments); genlearn "
            "models have one. Save a plain module's state_dict with torch.save instead."
        )
    try:
        return json.loads(json.dumps(config))
    except (TypeError, ValueError) as err:
        raise ValueError(f"{type(model).__name__}.config must be JSON-able ({err})") from None


def save(model: nn.Module, path: str | os.PathLike) -> Path:
    """Write ``{format, class, module, config, state_dict}`` to ``path`` (tensors moved to CPU)."""
    cls = type(model)
    checkpoint = {
        "format": _FORMAT,
        "class": cls.__name__,
        "module": cls.__module__,
        "config": _config(model),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(checkpoint, tmp)
    os.replace(tmp, path)  # never a half-written checkpoint under the final name
    return path


def _build(checkpoint: dict[str, Any], path: Path, trust: tuple[str, ...] = ()) -> nn.Module:
    module_name, class_name = checkpoint["module"], checkpoint["class"]
    if not (module_name == "genlearn" or module_name.startswith("genlearn.") or module_name in trust):
        raise ValueError(f"{path}: refusing to build {module_name}.{class_name}, a class outside genlearn; pass "
                         f"trust=({module_name!r},) (genlearn sample --trust {module_name}) if you trust that module's "
                         "code, or model= to load into")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        raise ValueError(f"{path}: model class {module_name}.{class_name} not found") from None
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise ValueError(f"{path}: {module_name}.{class_name} is not a torch.nn.Module class")
    try:
        return cls(**checkpoint["config"])
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: cannot build {class_name} from config {checkpoint['config']}: {err}") from None


def load(
    path: str | os.PathLike, model: nn.Module | None = None, device: torch.device | str | None = None,
    *, trust: tuple[str, ...] | list[str] = (),
) -> nn.Module:
    """Read a checkpoint written by :func:`save` and return the model (in eval mode).

    Without ``model`` the class is rebuilt from the stored config; with ``model`` the
    weights are loaded into it after checking that its class and config match. Any
    mismatch (class, config, parameter names or shapes) raises ``ValueError`` saying what
    differs. ``device`` defaults to :func:`genlearn.device`. ``trust``: modules outside genlearn whose
    classes may be imported and built (module docstring).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # unpickling errors come in many types
        raise ValueError(f"{path}: not a readable checkpoint ({type(err).__name__}: {err})") from None
    keys = {"format", "class", "module", "config", "state_dict"}
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != _FORMAT or not keys <= set(checkpoint):
        raise ValueError(f"{path}: not a genlearn checkpoint (expected keys {sorted(keys)})")
    if model is None:
        model = _build(checkpoint, path, tuple(trust))
    else:
        if type(model).__name__ != checkpoint["class"]:
            raise ValueError(f"{path} holds a {checkpoint['class']}, cannot load it into a {type(model).__name__}")
        mine = _config(model)
        diff = {k: (checkpoint["config"].get(k), mine.get(k))
                for k in set(mine) | set(checkpoint["config"]) if checkpoint["config"].get(k) != mine.get(k)}
        if diff:
            listed = "; ".join(f"{k}: saved {a!r}, model {b!r}" for k, a, b in
                               ((k, *v) for k, v in sorted(diff.items())))
            raise ValueError(f"{path}: config does not match the model ({listed})")
    _load_state(model, checkpoint["state_dict"], path)
    model.to(torch.device(device) if device is not None else default_device())
    model.eval()
    return model


def _load_state(model: nn.Module, state: dict[str, Tensor], path: Path) -> None:
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [f"{k}: saved {tuple(state[k].shape)}, model {tuple(own[k].shape)}"
              for k in own if k in state and state[k].shape != own[k].shape]
    problems = []
    if shapes:
        problems.append("shape mismatch: " + "; ".join(shapes))
    if missing:
        problems.append(f"missing from checkpoint: {missing}")
    if unexpected:
        problems.append(f"not in model: {unexpected}")
    if problems:
        raise ValueError(f"{path} does not fit {type(model).__name__}: " + " | ".join(problems))
    model.load_state_dict(state)

"""Float model files (``.pt``): the network config, its weights and free-form metadata."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch

from ..errors import ConfigError, ModelFileError
from ..fileio import atomic_path
from .mru import build_net
from .network import SRCNet

FILE_FORMAT = "srcfpga-float-model"
VERSION = 1


def save_model(net: SRCNet, path: str | Path, meta: dict | None = None) -> Path:
    """Write ``net`` with its config; ``meta`` records e.g. training accuracy or QAT weight bits."""
    payload = {"format": FILE_FORMAT, "version": VERSION, "config": net.config.to_dict(),
               "state_dict": net.state_dict(), "meta": dict(meta or {})}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def load_model(path: str | Path) -> tuple[SRCNet, dict]:  # or an MRUNet (cell bmru / cmru)
    """Load a float model file; returns the network (eval mode) and its metadata."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, zipfile.BadZipFile, RuntimeError, EOFError, ValueError) as exc:
        raise ModelFileError(f"{path} is not a srcfpga float model ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != FILE_FORMAT:
        raise ModelFileError(f"{path} is not a srcfpga float model (use `srcfpga import` for foreign exports)")
    if payload.get("version") != VERSION:
        raise ModelFileError(f"{path} has float-model version {payload.get('version')!r}, expected {VERSION}")
    try:
        net = build_net(payload["config"])
        net.load_state_dict(payload["state_dict"])
    except (ConfigError, KeyError, RuntimeError) as exc:
        raise ModelFileError(f"{path}: weights do not match the stored config: {str(exc).splitlines()[0]}") from None
    net.eval()
    return net, dict(payload.get("meta", {}))

"""Float model files (``.pt``): the network config, its weights and free-form metadata."""

from __future__ import annotations

import hashlib
import json
import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from ..errors import ConfigError, ModelFileError
from ..fileio import atomic_path
from .network import Net, build_net

FILE_FORMAT = "srcfpga-float-model"
VERSION = 1


def weights_hash(config: dict, weights: Mapping[str, np.ndarray]) -> str:
    """SHA-256 of a network's config and weights (not of a file, so re-saving keeps the hash)."""
    digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode())
    for name in sorted(weights):
        array = np.ascontiguousarray(weights[name])
        digest.update(f"{name}:{array.dtype}:{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def model_hash(net) -> str:
    """:func:`weights_hash` of a float network: equal before saving and after loading."""
    return weights_hash(net.config.to_dict(), {k: v.detach().cpu().numpy() for k, v in net.state_dict().items()})


def quantize_model(net, quant):
    """PTQ of ``net`` (a :class:`srcfpga.quant.QuantConfig`) into a HardwareModel whose ``source`` names the
    float model by :func:`model_hash`: ``srcfpga quantize`` of a model file and QAT's own export
    (:meth:`srcfpga.nn.qat.QATNet.export`) therefore give the same content hash."""
    from ..quant import quantize_net

    return quantize_net(net, quant, source={"float_model_hash": model_hash(net)})


def save_model(net: Net, path: str | Path, meta: dict | None = None) -> Path:
    """Write ``net`` with its config; ``meta`` records e.g. training accuracy or QAT weight bits."""
    payload = {"format": FILE_FORMAT, "version": VERSION, "config": net.config.to_dict(),
               "state_dict": net.state_dict(), "meta": dict(meta or {})}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def load_model(path: str | Path) -> tuple[Net, dict]:
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

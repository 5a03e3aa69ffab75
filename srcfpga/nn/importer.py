"""Import of the reference lab's SRC export (``arrays.npz`` + ``config.json``), as-is.

Layout (see ``../shared/reference/ulg-src-mnist/README.md``): per layer ``l<k>_forward_weights``
``(n_out, n_in)``, ``l<k>_bias``, per-neuron ``l<k>_rho``, ``l<k>_r``, ``l<k>_rs``, ``l<k>_zs_hyp``,
``l<k>_zs_dep``, initial states ``l<k>_initial_i|h|hs``; a ``readout`` ``(n_classes, n_last)`` that
stays fixed; ``config.json`` with the cell type, alphas, bias_max and the rate encoding.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import torch

from ..cells.src.config import SRCCellConfig
from ..errors import ConfigError, ModelFileError
from ..quant.ptq import _uniform
from .config import NetConfig
from .network import Net

# the reference lab's name of the Spiking Recurrent Cell in its exports (its own vocabulary, not a kind lookup:
# the importer builds SRC networks only)
EXPORT_CELL_TYPE = "src"


def _layer_count(arrays) -> int:
    count = 0
    while f"l{count}_forward_weights" in arrays:
        count += 1
    return count


def import_ulg(directory: str | Path) -> Net:
    """Build a float :class:`Net` from a reference export directory."""
    directory = Path(directory)
    try:
        config = json.loads((directory / "config.json").read_text())
        with np.load(directory / "arrays.npz") as npz:
            arrays = {k: npz[k] for k in npz.files}
    except FileNotFoundError as exc:
        raise ModelFileError(f"{directory} is not a reference export: missing {Path(exc.filename).name}") from None
    except (json.JSONDecodeError, zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ModelFileError(f"{directory}: unreadable export ({exc})") from None
    try:
        return _build(config, arrays)
    except KeyError as exc:
        raise ModelFileError(f"{directory}: export lacks {exc}") from None
    except ConfigError as exc:
        raise ModelFileError(f"{directory}: {exc}") from None


def _build(config: dict, arrays: dict) -> Net:
    cell_cfg, data_cfg = config["cell_config"], config["dataset_config"]
    if cell_cfg["type"] != EXPORT_CELL_TYPE:
        raise ConfigError(f"cell type {cell_cfg['type']!r} is not supported by this importer")
    if data_cfg["encoding"] != "rate":
        raise ConfigError(f"encoding {data_cfg['encoding']!r} is not supported (only rate)")
    n_layers = _layer_count(arrays)
    if n_layers == 0:
        raise ConfigError("no l0_forward_weights array")
    alphas = cell_cfg["alphas"]
    if len(set(alphas)) != 1:
        raise ConfigError(f"one integrator time constant expected, got alphas={alphas}")
    weights = [arrays[f"l{k}_forward_weights"] for k in range(n_layers)]
    for k, w in enumerate(weights):
        if w.ndim != 2 or 0 in w.shape:
            raise ConfigError(f"l{k}_forward_weights must be a non-empty 2-D array, got shape {w.shape}")
        if k and w.shape[1] != weights[k - 1].shape[0]:
            raise ConfigError(f"l{k}_forward_weights {w.shape} does not follow layer {k - 1} "
                              f"({weights[k - 1].shape[0]} neurons)")
    readout = arrays["readout"]
    if readout.ndim != 2 or readout.shape[1] != weights[-1].shape[0]:
        raise ConfigError(f"readout {readout.shape} does not match the last layer ({weights[-1].shape[0]} neurons)")
    biases = [arrays[f"l{k}_bias"] for k in range(n_layers)]
    for k, w in enumerate(weights):
        for key in ("bias", "initial_i", "initial_h", "initial_hs"):
            if arrays[f"l{k}_{key}"].size != w.shape[0]:
                raise ConfigError(f"l{k}_{key} has shape {arrays[f'l{k}_{key}'].shape}, "
                                  f"expected one value per neuron ({w.shape[0]})")
    cells = []
    for k in range(n_layers):
        params = {name: _uniform(f"l{k}_{key}", arrays[f"l{k}_{key}"])
                  for name, key in (("rho", "rho"), ("r", "r"), ("rs", "rs"), ("z_hyp", "zs_hyp"), ("z_dep", "zs_dep"))}
        cells.append(params)
    if any(c != cells[0] for c in cells):
        raise ConfigError("cell constants differ between layers")
    bias_max = float(cell_cfg.get("bias_max", -4.0))
    bias_min = float(min(b.min() for b in biases))
    cell = SRCCellConfig(alpha=float(alphas[0]), bias_init=bias_min, bias_min=bias_min, bias_max=max(bias_max, bias_min),
                         **cells[0])
    net_config = NetConfig(
        input_size=weights[0].shape[1], hidden=tuple(w.shape[0] for w in weights), n_classes=readout.shape[0],
        cell_config=cell, readout_trainable=False, rate_gain=float(data_cfg["rate_gain"]),
        steps=int(data_cfg["seq_length"]), blank=int(data_cfg["prefix_length"]))
    net = Net(net_config)
    with torch.no_grad():
        for k, layer in enumerate(net.layers):
            n_out = layer.n_out
            layer.weight.copy_(torch.from_numpy(weights[k]))
            layer.bias.copy_(torch.from_numpy(biases[k].reshape(n_out)))
            for state in ("i", "h", "hs"):
                getattr(layer, f"init_{state}").copy_(torch.from_numpy(arrays[f"l{k}_initial_{state}"].reshape(n_out)))
        net.readout.copy_(torch.from_numpy(readout))
    return net.eval()

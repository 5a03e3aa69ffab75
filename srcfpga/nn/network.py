"""The float network of every cell kind: encoded input -> recurrent layers (the kind's ``float`` part) ->
linear readout of the last layer's outputs, averaged over the readout window."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ..cells import CELLS
from ..errors import ConfigError
from ..quant.hwmodel import readout_gain
from .config import NetConfig, cell_constants


class Net(nn.Module):
    """Stack of the kind's float layers; ``forward(frames)`` returns logits ``mean_w(out[t]) Wout^T + bout``
    over the last ``w`` steps (the readout window; all steps when 0), ``bout`` only where the network has a
    readout bias (``config.has_readout_bias``). A leaky readout (``config.readout_decay`` = ``d``) runs ``v[t] = d v[t-1] + Wout out[t] + bout``
    over the window from 0 and returns ``v[T] / sum_{k<w} d^k`` (:func:`srcfpga.quant.hwmodel.readout_gain`): the
    exponentially weighted mean, the integer accumulator times a positive constant after quantization. The kind's schedule state (e.g. BMRU's ``eps``) are buffers of the network, passed to
    every layer by name."""

    def __init__(self, config: NetConfig):
        super().__init__()
        self.config = config
        kind = CELLS[config.cell]
        build = kind.part("float")
        sizes = (config.input_size,) + config.hidden
        self.layers = nn.ModuleList(build(n_in, n_out, config, index)
                                    for index, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])))
        self.readout = nn.Parameter(torch.randn(config.n_classes, sizes[-1]) / math.sqrt(sizes[-1]),
                                    requires_grad=config.readout_trainable)
        bias = nn.Parameter(torch.zeros(config.n_classes)) if config.has_readout_bias else None
        self.register_parameter("readout_bias", bias)
        self._schedule = dict(kind.defaults.schedule_state)
        for name, value in self._schedule.items():
            self.register_buffer(name, torch.tensor(float(value)))

    def encoder(self, generators: int = 32):
        """The input encoder of the config (rate, rows, or None for frames)."""
        return self.config.encoder(generators)

    def schedule(self) -> dict[str, float]:
        """The schedule state as the layers take it (e.g. ``{"eps": 0.0}``; empty for most kinds)."""
        return {name: float(getattr(self, name)) for name in self._schedule}

    def set_schedule(self, **values: float) -> None:
        for name, value in values.items():
            if name not in self._schedule:
                raise ConfigError(f"cell {self.config.cell!r} has no schedule state {name!r}")
            getattr(self, name).fill_(float(value))

    def finish_schedule(self) -> None:
        """The schedule state at its final values (the finished cell, the one quantization computes)."""
        self.set_schedule(**self._schedule)

    def window(self, steps: int) -> int:
        w = self.config.readout_window
        return steps if w == 0 else min(w, steps)

    def forward(self, frames: torch.Tensor, trace: bool = False):
        """``frames``: ``(batch, T, n_in)``; returns ``(batch, n_classes)`` logits (and the per-layer outputs
        when ``trace``)."""
        x = frames.float()
        schedule = self.schedule()
        outputs = []
        for layer in self.layers:
            x = layer(x, **schedule)
            outputs.append(x)
        logits = self.read_out(x[:, -self.window(x.shape[1]):])
        return (logits, outputs) if trace else logits

    def read_out(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of the last layer's outputs over the window ``x`` ``(batch, w, n)`` (class docstring)."""
        decay = self.config.readout_decay
        if decay is None:
            logits = x.mean(dim=1) @ self.readout.T
            return logits if self.readout_bias is None else logits + self.readout_bias
        syn = x @ self.readout.T
        if self.readout_bias is not None:
            syn = syn + self.readout_bias
        v = torch.zeros_like(syn[:, 0])
        for t in range(syn.shape[1]):
            v = decay * v + syn[:, t]
        return v / readout_gain(decay, syn.shape[1])

    def clamp_parameters(self) -> None:
        for layer in self.layers:
            layer.clamp_parameters()

    def fold(self) -> tuple[list, torch.Tensor, torch.Tensor | None]:
        """Each layer's parameters acting on the integer outputs of the layer below (the kind's
        ``quantizer.fold``), and the readout ``(weights, bias)`` acting on the last layer's integers
        (bias None without a readout bias and offset). Differentiable: QAT's straight-through gradients."""
        quantizer = CELLS[self.config.cell].part("quantizer")
        folded, fold = [], None
        for layer in self.layers:
            layer_f, fold = quantizer.fold(layer, fold)
            folded.append(layer_f)
        weights, bias = self.readout, self.readout_bias
        if fold is not None:
            gain, offset = fold
            weights = self.readout * gain
            bias = self.readout @ offset if bias is None else bias + self.readout @ offset
        return folded, weights, bias


def build_net(config_dict: dict) -> Net:
    """A float network from a stored config."""
    return Net(NetConfig.from_dict(config_dict))


def net_for_dataset(dataset, cell: str, hidden: tuple[int, ...], *, encoding: str | None = None,
                    row_levels: tuple[int, ...] = (64, 128, 192), steps: int | None = None,
                    blank: int | None = None, rate_gain: float = 0.25, readout_window: int = 0,
                    readout_decay: float | None = None, readout_bias: bool | None = None,
                    cell_options: dict | None = None) -> Net:
    """A fresh :class:`Net` of kind ``cell`` sized for an image ``dataset``: ``encoding`` (default: the
    kind's first) ``"rate"`` (rate-coded pixels, default 4 blank + 40 steps) or ``"rows"`` (one step per
    image row; audio: per frame, the front end recorded). ``cell_options``: fields of the kind's cell
    constants (e.g. BMRU's ``variant``)."""
    encoding = encoding or CELLS[cell].defaults.encodings[0]
    common = dict(hidden=hidden, n_classes=dataset.n_classes, cell=cell,
                  cell_config=cell_constants(cell, cell_options or {}), readout_window=readout_window,
                  readout_decay=readout_decay, readout_bias=readout_bias)
    if encoding != "rows":
        return Net(NetConfig(input_size=dataset.n_pixels, encoding=encoding, rate_gain=rate_gain,
                             steps=40 if steps is None else steps, blank=4 if blank is None else blank, **common))
    rows, width = dataset.image_shape
    if steps is not None and steps != rows:
        raise ConfigError(f"row encoding reads the {rows} rows of a {dataset.name} sample: --steps must be "
                          f"{rows} (or omitted), got {steps}")
    front_end = None if dataset.front_end is None else dataset.front_end.to_dict()
    return Net(NetConfig(input_size=width * len(row_levels), encoding="rows", image_shape=(rows, width),
                         row_levels=row_levels, steps=rows, blank=0 if blank is None else blank,
                         front_end=front_end, **common))


def images_to_frames(net: nn.Module, images: np.ndarray, generator: torch.Generator | None = None) -> torch.Tensor:
    """Training input frames for uint8 ``images`` of any network with a ``config`` (float or QAT): the row
    encoder (deterministic) or random rate spikes drawn with the hardware encoder's probability."""
    cfg = net.config
    if cfg.encoding == "rows":
        return torch.from_numpy(cfg.encoder().encode(images, cfg.steps, cfg.blank)).float()
    if cfg.encoding == "rate":
        return rate_spikes(images, cfg, cfg.steps, cfg.blank, generator)
    raise ConfigError("a network with encoding 'frames' takes frames, not images")


def rate_spikes(images: np.ndarray, net_config, steps: int, blank: int, generator: torch.Generator) -> torch.Tensor:
    """Random Bernoulli spikes with the hardware encoder's probability ``pixel * gain_q / 2^16``."""
    from ..data.encoder import RateEncoder

    gain_q = RateEncoder(net_config.rate_gain).gain_q
    p = torch.from_numpy(images.astype(np.float32)) * (gain_q / 65536.0)
    stim = (torch.rand((len(images), steps, images.shape[1]), generator=generator) < p[:, None, :]).float()
    return torch.cat([torch.zeros(len(images), blank, images.shape[1]), stim], dim=1)

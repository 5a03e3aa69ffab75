"""Straight-through helpers of the QAT parts: integers in value, real parameters in gradient."""

from __future__ import annotations

import torch


def as_tensor(array) -> torch.Tensor:
    """A float64 copy of an integer numpy array."""
    return torch.tensor(array, dtype=torch.float64)


def straight_through(exact: torch.Tensor, surrogate: torch.Tensor) -> torch.Tensor:
    """Value of ``exact``, gradient of ``surrogate``."""
    return surrogate + (exact - surrogate).detach()


def ste(real: torch.Tensor, integers, scale: float) -> torch.Tensor:
    """``integers`` in value, ``real / scale`` in gradient (a weight or bias quantized at LSB ``scale``)."""
    return straight_through(as_tensor(integers), real.double() / scale)


class Constants:
    """A quantized layer's constants, some of them replaced by tensors (straight-through weights)."""

    def __init__(self, layer, **tensors):
        self._layer = layer
        self.__dict__.update(tensors)

    def __getattr__(self, name):
        return getattr(self._layer, name)

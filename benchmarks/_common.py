"""Shared helpers of the benchmark scripts: locating ../shared and building the reference models."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SRCFPGA_SHARED", REPO.parent / "shared"))
REFERENCE = SHARED / "reference" / "ulg-src-mnist"
MNIST_B = SHARED / "data" / "mnist-test-b"
MNIST_TRAIN = SHARED / "data" / "mnist-train"
FASHION = SHARED / "data" / "fashion-mnist"


def require(path: Path) -> Path:
    if not path.exists():
        raise SystemExit(f"benchmark data {path} not found (set SRCFPGA_SHARED to the shared/ folder)")
    return path


def reference_net():
    """The reference 784 -> 100 SRC (float), imported as-is."""
    from srcfpga.nn import import_ulg

    return import_ulg(require(REFERENCE))


def reference_hw(bits: int, net=None, generators: int | None = None):
    """PTQ of the reference model at ``bits`` weight bits with the default QuantConfig (``generators``:
    the encoder's, default QuantConfig's)."""
    from srcfpga.quant import QuantConfig, quantize_net

    options = {} if generators is None else {"encoder_generators": generators}
    return quantize_net(net if net is not None else reference_net(), QuantConfig(weight_bits=bits, **options),
                        source={"float_model": str(REFERENCE)})


def mnist_b():
    from srcfpga.data import load_dataset

    return load_dataset("mnist", "test", require(MNIST_B))


def machine() -> str:
    return f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, " \
           f"{time.strftime('%Y-%m-%d')}"

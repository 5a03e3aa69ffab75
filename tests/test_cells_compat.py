"""Today's cells behave as before the cell registry: the same model hashes, golden outputs and cycles.

The pinned digests were computed by the code before cells became plug-ins (commit 0c00e29); a change of
any of them means a model quantized, simulated or timed today would differ from one made before.
"""

from __future__ import annotations

import hashlib
from importlib import resources

import numpy as np
import pytest
import torch

from srcfpga.golden import run_golden
from srcfpga.hdl import HdlConfig, LatencyModel
from srcfpga.nn import load_model
from srcfpga.nn.checkpoint import model_hash, quantize_model
from srcfpga.quant import QuantConfig
from srcfpga.testing import random_mru_net, random_net, random_spikes


def _digest(*arrays) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(np.asarray(array, np.int64))
        digest.update(str(array.shape).encode() + array.tobytes())
    return digest.hexdigest()[:16]


def _behaviour(net, quant: QuantConfig, spikes: np.ndarray) -> dict:
    hw = quantize_model(net, quant)
    result = run_golden(hw, spikes=spikes, trace=True)
    states = [value for trace in result.traces for value in trace.states().values()]
    cycles = LatencyModel(hw, HdlConfig(input="frames")).inference_cycles(
        spikes, [trace.spikes for trace in result.traces], 0)
    return {"float": model_hash(net)[:16], "hw": hw.content_hash[:16],
            "golden": _digest(result.predictions, result.readout, result.readout_trace, *states),
            "cycles": _digest(cycles)}


def _shipped():
    with resources.as_file(resources.files("srcfpga") / "checkpoints" / "digits_src.pt") as path:
        return load_model(path)[0]


CASES = {
    "src": (lambda: random_net(3, (12, 9, 5)), QuantConfig(weight_bits=5)),
    "src-k4": (lambda: random_net(4, (12, 9)), QuantConfig(weight_bits=4, segments=4)),
    "bmru": (lambda: random_mru_net(5, "bmru", sizes=(12, 8, 6), window=3), QuantConfig(weight_bits=5)),
    "bmru-first": (lambda: random_mru_net(6, "bmru", "first", sizes=(12, 8)), QuantConfig(weight_bits=4)),
    "cmru": (lambda: random_mru_net(7, "cmru", sizes=(12, 8, 6)), QuantConfig(weight_bits=6)),
    "digits": (_shipped, QuantConfig(weight_bits=4)),
}

PINS = {
    "bmru": {"float": "2cfb18655d6529dc", "hw": "af38de14455d2293", "golden": "d805aeec7851df45",
             "cycles": "c51287ee7adf3080"},
    "bmru-first": {"float": "3f726eaebbed41ef", "hw": "821e167dc10c032c", "golden": "db271299a7a3bf88",
                   "cycles": "2073917531b3b763"},
    "cmru": {"float": "ffc6adf7f9ff9284", "hw": "411a02f3638e41ab", "golden": "63d8c74563a7936e",
             "cycles": "c2347103e65d7f9a"},
    "digits": {"float": "36360474961afa00", "hw": "75ceef93e480abea", "golden": "1f3751ceeb2fd385",
               "cycles": "eaa195fd5f901a31"},
    "src": {"float": "335eea4dc2e8837d", "hw": "317569a6daed906e", "golden": "df507b704c3ba660",
            "cycles": "7b5fc9b4d104c56f"},
    "src-k4": {"float": "3718a8ea124a4358", "hw": "f25d0a546846ff60", "golden": "82f78379121d4f3b",
               "cycles": "bcbe6844dfea8d3f"},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_behaviour_unchanged(case):
    make, quant = CASES[case]
    torch.manual_seed(0)
    net = make()
    spikes = random_spikes(11, 3, 14, net.config.input_size, density=0.3)
    assert _behaviour(net, quant, spikes) == PINS[case]

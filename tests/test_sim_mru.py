"""RTL vs golden for BMRU and CMRU networks: the cocotb testbench through srcfpga.sim.regression.

Default suite: decoding of multi-bit (CMRU count) trace beats without a simulator. ``-m slow``: one
BMRU and one CMRU network in Verilator with stream gaps, and ``srcfpga sim`` on a row-encoded model.
"""

from __future__ import annotations

import numpy as np
import pytest

from srcfpga.golden import run_golden
from srcfpga.hdl import HdlConfig
from srcfpga.quant import QuantConfig, quantize_net
from srcfpga.sim import regression as reg
from srcfpga.testing import random_mru_net, random_spikes


def _synthetic_results(golden, lanes: int, value_bits: list[int]) -> dict:
    """tb_network results of an RTL equal to ``golden``: trace beats with ``value_bits`` per lane."""
    acc = 24
    trace, readout, results = [], [], []
    batch, total = golden.readout_trace.shape[:2]
    for sample in range(batch):
        for step in range(total):
            for layer, lt in enumerate(golden.traces):
                bits = value_bits[layer]
                for group in range(-(-lt.spikes.shape[2] // lanes)):
                    values = lt.spikes[sample, step, group * lanes:(group + 1) * lanes]
                    field = sum((int(v) & ((1 << bits) - 1)) << (k * bits) for k, v in enumerate(values))
                    trace.append([0, sample, layer, layer | step << 4 | group << 20 | field << 36])
            counts = sum((int(v) & ((1 << acc) - 1)) << (16 + c * acc) for c, v in enumerate(golden.readout_trace[sample, step]))
            readout.append([0, sample, step | counts])
        counts = sum((int(v) & ((1 << acc) - 1)) << (40 + c * acc) for c, v in enumerate(golden.readout[sample]))
        results.append([0, int(golden.predictions[sample]) << 32 | counts])
    return {"trace": trace, "readout": readout, "results": results, "cycles": 1, "seconds": 0.01, "errors": []}


def test_cmru_counts_decode_and_compare():
    model = quantize_net(random_mru_net(5, "cmru", sizes=(7, 6, 5), count_bits=4, drive=2.0), QuantConfig(weight_bits=5))
    spikes = random_spikes(2, 3, 9, 7, 0.6)
    golden = run_golden(model, spikes=spikes, trace=True)
    assert (golden.traces[0].spikes < 0).any()          # negative counts are exercised
    lanes, value_bits = 4, [4, 4]
    manifest = {"ports": {f"trace__{i}__valid": {} for i in range(2)},
                "layout": {"lanes": lanes, "n_classes": 3, "acc_bits": 24, "value_bits": value_bits}}
    res = _synthetic_results(golden, lanes, value_bits)
    run = reg._decode(model, res, manifest, 3, 9, lanes, reg.Backpressure())
    run.steps, run.blank = 9, 0
    assert reg.compare_with_golden(model, run, golden).agreement == 1.0
    sample, step, unit = 1, 4, 2
    index = [i for i, (_, s, layer, p) in enumerate(res["trace"])
             if s == sample and layer == 1 and (p >> 4) & 0xFFFF == step and (p >> 20) & 0xFFFF == 0][0]
    res["trace"][index][3] ^= 1 << (36 + unit * 4 + 3)      # flip the sign bit of one count
    run = reg._decode(model, res, manifest, 3, 9, lanes, reg.Backpressure())
    run.steps, run.blank = 9, 0
    report = reg.compare_with_golden(model, run, golden)
    assert report.mismatched_samples == [sample]
    assert (report.first_mismatch.layer, report.first_mismatch.neuron, report.first_mismatch.step) == (1, unit, step)


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["bmru", "cmru"])
def test_mru_rtl_equals_golden_verilator(cell, regress):
    """A random 10 -> 9 -> 6 -> 3 network (5-bit), frames with stream gaps: identical at every step."""
    net = random_mru_net(21, cell, sizes=(10, 9, 6), window=3, count_bits=4, drive=1.5)
    model = quantize_net(net, QuantConfig(weight_bits=5))
    spikes = random_spikes(9, 4, 14, 10, 0.5)
    report, rtl = regress(model, HdlConfig(input="frames", lanes=4), spikes=spikes,
                          backpressure=reg.Backpressure(0.6, 0.6), labels=np.zeros(4, int))
    assert report.agreement == 1.0, report.summary()
    assert not rtl.errors and not any(rtl.problems)
    assert all(np.any(s != 0) for s in rtl.spikes)         # not vacuous
    if cell == "cmru":
        assert rtl.spikes[0].min() < 0 < rtl.spikes[0].max()


@pytest.mark.slow
def test_cli_sim_rows_model(tmp_path, capsys):
    """``srcfpga sim`` on a row-encoded BMRU model: the host encodes, the hardware takes spike frames."""
    import json

    from srcfpga.cli import main
    from srcfpga.data import load_dataset
    from srcfpga.nn.network import net_for_dataset

    net = net_for_dataset(load_dataset("digits", "train", None, 10), "bmru", (12,))
    hw = quantize_net(net, QuantConfig(weight_bits=4)).save(tmp_path / "rows.hw")
    assert main(["sim", str(hw), "--dataset", "digits", "--limit", "3", "--lanes", "4", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["samples"] == 3 and data["agreement"] == 1.0

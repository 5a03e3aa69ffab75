"""Gate-level check of the reference network: the Yosys ``synth_xilinx`` netlist with the Xilinx cell models in Verilator.

Runs ``srcfpga.sim.regression.regress(..., netlist=True)`` (what ``srcfpga sim --netlist`` runs) on the
first N images of ../shared/data/mnist-test-b at the model's steps (or --steps / --blank), without
stream gaps (block-RAM weights read through srcfpga's ROM behaviour of those cells, docs/verification.md), and prints the agreement with the golden model, the cycle model check, and the times of
the synthesis, the Verilator build (both cached by content, so a second run only simulates) and the
simulation.

    python benchmarks/netlist_sim.py [--images 3] [--bits 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, mnist_b, reference_hw  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=3)
    parser.add_argument("--bits", type=int, default=5)
    parser.add_argument("--steps", type=int)
    parser.add_argument("--blank", type=int)
    parser.add_argument("--memory", choices=("auto", "block", "distributed"), default="auto")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from srcfpga.evaluate import sample_seeds
    from srcfpga.hdl import HdlConfig
    from srcfpga.sim.regression import NO_GAPS, regress

    model = reference_hw(args.bits)
    data = mnist_b()
    start = time.perf_counter()
    report, rtl = regress(model, HdlConfig(memory=args.memory), pixels=data.images[:args.images], seeds=sample_seeds(0, 0, args.images),
                          steps=args.steps, blank=args.blank, labels=data.labels[:args.images],
                          backpressure=NO_GAPS, netlist=True)
    wall = time.perf_counter() - start
    out = {"images": args.images, "bits": args.bits, "steps": rtl.steps, "blank": rtl.blank,
           "agreement": report.agreement, "latency_model_exact": report.latency_model_exact,
           "synthesis_and_generate_s": round(rtl.generate_seconds, 1), "build_s": round(rtl.build_seconds, 1),
           "build_cached": rtl.build_cached, "run_s": round(rtl.run_seconds, 1),
           "sim_cycles": rtl.sim_cycles, "sim_cycles_per_s": round(report.sim_cycles_per_s),
           "wall_s": round(wall, 1), "machine": machine()}
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        print(report.summary())
        print(f"synthesis + Verilog {out['synthesis_and_generate_s']} s, Verilator build {out['build_s']} s "
              f"({'cached' if rtl.build_cached else 'built'}), simulation {out['run_s']} s; {wall:.0f} s in all")
    return 0 if report.passed else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""RTL simulation speed: the reference network (784 -> 100 SRC, 5-bit) on MNIST test images in Verilator.

Runs ``srcfpga.sim.batch.run_batch`` (cocotb loads a chunk of the batch into the testbench-only
``BatchHarness``, the simulator then runs the chunk without a Python callback per cycle; one simulator
process per core, each on a contiguous part of the batch) on the first N images of
../shared/data/mnist-test-b at 20 + 200 steps, compares every sample with the golden model (trace and
readout digests, accumulators, class) and its cycle count with the cycle model, and prints simulated
cycles per second (over the free-running part and over the whole simulator phase, wall and CPU),
images per second, the time of the whole run and the build time (the Verilog generation and the
Verilator build are cached by design and reused on the next run), with the load average.
`--per-cycle` also times the per-cycle testbench (`srcfpga.sim.regression`, cocotb at every clock
edge) on a few images for comparison.

    python benchmarks/sim_speed.py [--images 5000] [--processes 2] [--per-cycle 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, mnist_b, reference_hw  # noqa: E402

CHECK_CHUNK = 500


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--bits", type=int, default=5)
    parser.add_argument("--blank", type=int, default=20)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--processes", type=int, default=None,
                        help="simulator processes at once (default: run_batch's, one per core)")
    parser.add_argument("--per-cycle", type=int, default=0, metavar="N",
                        help="also time the per-cycle cocotb testbench on N images")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from srcfpga.evaluate import sample_seeds
    from srcfpga.golden import run_golden
    from srcfpga.hdl import HdlConfig
    from srcfpga.sim.batch import BatchCheck, check_batch, run_batch

    model = reference_hw(args.bits)
    data = mnist_b()
    pixels, seeds = data.images[:args.images], sample_seeds(0, 0, args.images)
    config = HdlConfig()
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    run = run_batch(model, config, pixels=pixels, seeds=seeds, steps=args.steps, blank=args.blank,
                    processes=args.processes)
    wall = time.perf_counter() - start
    load_after = os.getloadavg()[0]
    mismatched, latency_mismatched = [], []
    for at in range(0, args.images, CHECK_CHUNK):       # golden traces of 5,000 images would need ~2 GB
        part = slice(at, at + CHECK_CHUNK)
        golden = run_golden(model, pixels=pixels[part], seeds=seeds[part], steps=args.steps, blank=args.blank,
                            trace=True)
        spikes = model.encoder.encode(pixels[part], args.steps, args.blank, seeds[part])
        check = check_batch(model, config, run.select(part), golden, spikes, args.blank)
        mismatched += [at + s for s in check.mismatched]
        latency_mismatched += [at + s for s in check.latency_mismatched]
    check = BatchCheck(args.images, mismatched, latency_mismatched)
    out = {"machine": machine(), "images": args.images, "blank": args.blank, "steps": args.steps,
           "processes": run.processes, "load_avg_1min_before_after": [load_before, load_after],
           "sim_cycles": run.sim_cycles, "free_run_s": run.sim_seconds, "cycles_per_s": run.sim_cycles_per_s,
           "cycles_per_cpu_s": run.sim_cycles / run.sim_cpu_seconds if run.sim_cpu_seconds else 0.0,
           "images_per_s": args.images / run.sim_seconds, "simulator_phase_s": run.run_seconds,
           "cycles_per_s_simulator_phase": run.sim_cycles / run.run_seconds,
           "images_per_s_simulator_phase": args.images / run.run_seconds,
           "wall_s_incl_build": wall, "build_s": run.build_seconds, "build_cached": run.build_cached,
           "agreement": check.agreement, "latency_model_exact": check.latency_exact,
           "accuracy": float((run.predictions == data.labels[:args.images]).mean())}
    if args.per_cycle:
        from srcfpga.sim.regression import NO_GAPS, regress

        report, rtl = regress(model, config, pixels=pixels[:args.per_cycle], seeds=seeds[:args.per_cycle],
                              steps=args.steps, blank=args.blank, backpressure=NO_GAPS)
        out |= {"per_cycle_images": args.per_cycle, "per_cycle_cycles_per_s": rtl.sim_cycles_per_s,
                "per_cycle_agreement": report.agreement}
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        for key, value in out.items():
            print(f"{key:>24}: {value:,.4g}" if isinstance(value, float) else f"{key:>24}: {value}")
    return 0 if check.agreement == 1.0 and check.latency_exact == 1.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())

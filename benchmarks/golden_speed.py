"""Golden-model speed: 5,000 MNIST images x 220 steps (20 blank + 200) through the reference 784 -> 100 SRC.

The reference model (../shared/reference/ulg-src-mnist) is quantized at 5-bit weights; the time covers
rate encoding (xorshift32 generators) and the integer simulation, not the one-off import/quantization.
Goal (issue 17): <= 3 s on the 2-core development machine (issue 2: <= 30 s). ``--workers`` threads simulate
batches at once (default: one per core).

    nice python benchmarks/golden_speed.py [--repeat 3] [--bits 5] [--workers W] [--json]
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3, help="runs; the best and all times are printed")
    parser.add_argument("--batch-size", type=int, default=500, help="images per batch (one thread runs a batch)")
    parser.add_argument("--workers", type=int, help="threads (default: one per core)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from srcfpga.evaluate import evaluate_hardware
    from srcfpga.sweep.executor import cores

    workers = args.workers or cores()

    hw = reference_hw(args.bits)
    data = mnist_b()
    times, cpu, result = [], [], None
    for _ in range(args.repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        result = evaluate_hardware(hw, data, steps=200, blank=20, batch_size=args.batch_size,
                                   workers=workers)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    best = min(times)
    load = os.getloadavg()[0]
    report = {"images": result.samples, "steps": result.steps + result.blank, "weight_bits": args.bits,
              "seconds_best": round(best, 2), "seconds_all": [round(t, 2) for t in times],
              "images_per_second": round(result.samples / best, 1),
              "cpu_seconds_best": round(min(cpu), 2), "load_average_1min": round(load, 2), "accuracy": result.accuracy,
              "workers": workers, "goal_seconds": 3, "machine": machine()}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"golden model, reference 784->100 at {args.bits}-bit weights: {result.samples} images x "
              f"{report['steps']} steps in {best:.1f} s (best of {args.repeat}: "
              f"{', '.join(f'{t:.1f}' for t in times)} s) = {report['images_per_second']:.0f} images/s, "
              f"encoding included, {workers} threads; accuracy {100 * result.accuracy:.2f} %; goal <= 3 s")
        print(f"CPU time {min(cpu):.1f} s (all threads); 1-min load average {load:.1f} "
              f"(wall time is only meaningful on an idle machine)")
        print(f"machine: {report['machine']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

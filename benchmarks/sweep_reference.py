"""The reference MNIST SRC swept over 5 weight widths x 3 step settings, with the published anchors.

The API form of::

    srcfpga import ../shared/reference/ulg-src-mnist -o ref.pt
    srcfpga sweep ref.pt --weight-bits 4,5,6,7,8 --steps 40,50,200 --dataset mnist \\
        --data-dir ../shared/data/mnist-test-b --anchors ulg -o benchmarks/out/sweep_reference

on all 5,000 images of mnist-test-b (PTQ, default QuantConfig; 4+40, 5+50, 20+200 steps), float
accuracy at each step setting as the reference, cycles per inference from the HDL cycle model on 256
images. Prints the table beside the published figures, the wall time and CPU time (this process and its
workers, user + system) of the grid and the machine load, and copies the accuracy plot to
``benchmarks/sweep_reference.png``.

    nice python benchmarks/sweep_reference.py [--fresh] [--limit N] [--workers W] [--board B] [--json]

``--fresh`` ignores earlier results in the output directory (otherwise the sweep resumes: a finished
grid is reported again at no cost, with the wall time of the run that computed it).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import MNIST_B, machine, reference_net, require  # noqa: E402

HERE = Path(__file__).resolve().parent


def _cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (the sweep's worker processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="first N images only (quick check)")
    parser.add_argument("--workers", type=int, help="worker processes (default: one per core)")
    parser.add_argument("--board", help="add board estimates (srcfpga.boards)")
    parser.add_argument("--fresh", action="store_true", help="recompute everything")
    parser.add_argument("--out", type=Path, default=HERE / "out" / "sweep_reference")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from srcfpga.boards.published import OUR_MNIST_TEST_SET
    from srcfpga.sweep import ULG_SRC_MNIST, SweepConfig, run_sweep

    if args.fresh and args.out.exists():
        shutil.rmtree(args.out)
    config = SweepConfig(weight_bits=(4, 5, 6, 7, 8), steps=(40, 50, 200), dataset="mnist",
                         data_dir=require(MNIST_B), limit=args.limit, board=args.board)
    load_before = os.getloadavg()
    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    result = run_sweep(reference_net(), config, args.out, workers=args.workers, anchors=ULG_SRC_MNIST,
                       progress=not args.json, title=f"reference SRC 784-100, {OUR_MNIST_TEST_SET}")
    wall = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu_before           # the pool's workers are reaped by now: children included
    load_after = os.getloadavg()
    plot = HERE / "sweep_reference.png"
    if args.limit is None:
        shutil.copyfile(result.files["accuracy_vs_bits"], plot)
        if "accuracy_vs_energy" in result.files:
            shutil.copyfile(result.files["accuracy_vs_energy"], HERE / "sweep_reference_energy.png")
    eval_seconds = sum(r.eval_seconds for r in result.rows) + sum(f.seconds for f in result.floats)
    report = {"rows": [r.to_dict() for r in result.rows], "float": [f.to_dict() for f in result.floats],
              "anchors": [a.to_dict() for a in ULG_SRC_MNIST], "wall_seconds": round(wall, 1),
              "cpu_seconds": round(cpu, 1),
              "computed": result.computed, "reused": result.reused, "job_seconds": round(eval_seconds, 1),
              "load_before": [round(v, 2) for v in load_before], "load_after": [round(v, 2) for v in load_after],
              "workers": args.workers or len(os.sched_getaffinity(0)), "machine": machine(),
              "files": {k: str(v) for k, v in result.files.items()}}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    samples = result.rows[0].samples
    print(f"reference SRC 784 -> 100 on mnist-test-b ({samples} images), PTQ golden accuracy (%)")
    print(f"{'bits':>5} " + " ".join(f"{p.label:>15}" for p in config.points))
    for bits in config.weight_bits:
        print(f"{bits:>5} " + " ".join(f"{100 * result.row(bits, p.stimulus).accuracy:15.2f}" for p in config.points))
    print(f"{'float':>5} " + " ".join(f"{100 * f.accuracy:15.2f}" for f in result.floats))
    if args.board:
        for label, name, fmt in (("uJ", "energy_uj", "15.2f"), ("LUT", "lut", "15d")):
            print(f"{label:>5} " + " ".join(f"{getattr(result.row(5, p.stimulus), name):{fmt}}" for p in config.points)
                  + f"   ({name} at 5 bits, {args.board} estimate)")
    print(f"{'cyc':>5} " + " ".join(f"{result.row(5, p.stimulus).cycles_per_inference:15.0f}" for p in config.points)
          + "   (cycles per inference at 5 bits, cycle model)")
    print(f"beside the published figures (different test sets: ours {OUR_MNIST_TEST_SET}, the easier half; "
          "a difference is no gain):")
    for anchor in ULG_SRC_MNIST:
        bits = anchor.weight_bits or 8
        ours = 100 * result.row(bits, anchor.steps).accuracy
        print(f"  {anchor.describe():60s} ours {bits}-bit {ours:.2f} %")
    print(f"grid: {len(result.rows)} points + {len(result.floats)} float references, {result.computed} computed, "
          f"{result.reused} reused; wall {wall:.0f} s, CPU {cpu:.0f} s with {report['workers']} workers "
          f"(job time {eval_seconds:.0f} s); load average {load_before[0]:.1f} before, {load_after[0]:.1f} after")
    print(f"plot: {plot if args.limit is None else result.files['accuracy_vs_bits']}")
    print(f"machine: {report['machine']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

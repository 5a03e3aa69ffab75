"""Cycles per timestep of the generated reference network (784 -> 100 SRC + 10 readout, 5-bit).

The cycle model (srcfpga.hdl.LatencyModel) is fed with the golden model's spike trace of MNIST test
images (../shared/data/mnist-test-b) and evaluated for several lane counts and 1, 2 or 4 spikes per
cycle, at 20+200, 5+50 and 4+40 blank+stimulus steps, beside the published design's 792 cycles per
step and the 113 of the lab's committed VHDL (srcfpga.boards.published). A second table (issue 17) gives
the fast configurations at 20+200: encoder width E (32 or 64 generators: 64 or 128 pixels per round; E
changes the spike trains, the model is quantized with it), 4 spikes per cycle, lanes, with and without
``pack_masks``. `--verilator N` also simulates N images of the default configuration and `--verilator-fast N`
of FAST with Verilator and prints the measured cycles (gap-free, so they must equal the model exactly).

    python benchmarks/hdl_cycles.py [--images 500] [--bits 5] [--verilator 20] [--verilator-fast 4] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, mnist_b, reference_hw  # noqa: E402

STEP_SETTINGS = ((200, 20), (50, 5), (40, 4))
LANES = (4, 8, 16, 32, 100)
FAST_GENERATORS = (32, 64)
FAST_LANES = (16, 25, 32, 50, 100)
FAST = {"generators": 64, "spikes_per_cycle": 4, "lanes": 32, "pack_masks": True}   # issue 17's candidate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--bits", type=int, default=5)
    parser.add_argument("--verilator", type=int, default=0, metavar="N", help="also simulate N images in Verilator")
    parser.add_argument("--verilator-fast", type=int, default=0, metavar="N",
                        help="also simulate N images of FAST in Verilator")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from srcfpga.boards.published import (
        LAB_VHDL_CYCLES_PER_STEP,
        OUR_MNIST_TEST_SET,
        PUBLISHED_CYCLES_PER_STEP,
    )
    from srcfpga.evaluate import sample_seeds
    from srcfpga.golden import run_golden
    from srcfpga.hdl import HdlConfig, LatencyModel, default_lanes
    from srcfpga.hdl.config import SPIKES_PER_CYCLE

    model = reference_hw(args.bits)
    data = mnist_b().head(args.images)
    seeds = sample_seeds(0, 0, len(data))
    rows = []
    for steps, blank in STEP_SETTINGS:
        golden = run_golden(model, pixels=data.images, steps=steps, blank=blank, seeds=seeds, trace=True)
        frames = model.encoder.encode(data.images, steps, blank, seeds)
        layer_spikes = [trace.spikes for trace in golden.traces]
        for per_cycle in SPIKES_PER_CYCLE:
            for lanes in LANES:
                latency = LatencyModel(model, HdlConfig(lanes=lanes, spikes_per_cycle=per_cycle))
                started = time.perf_counter()
                cycles = latency.inference_cycles(frames, layer_spikes, blank)
                model_seconds = time.perf_counter() - started
                per_step = float((cycles - latency.load_cycles).mean() / (steps + blank))
                rows.append({"steps": steps, "blank": blank, "spikes_per_cycle": per_cycle, "lanes": lanes,
                             "input_spikes_per_step": float(frames.sum(-1).mean()),
                             "hidden_spikes_per_step": float(golden.traces[0].spikes.sum(-1).mean()),
                             "cycles_per_step": per_step, "cycles_per_inference": float(cycles.mean()),
                             "speedup_vs_published": PUBLISHED_CYCLES_PER_STEP / per_step,
                             "speedup_vs_lab_vhdl": LAB_VHDL_CYCLES_PER_STEP / per_step,
                             "model_seconds": round(model_seconds, 2)})
    fast_rows = []
    for generators in FAST_GENERATORS:
        wide = reference_hw(args.bits, generators=generators)
        golden = run_golden(wide, pixels=data.images, steps=200, blank=20, seeds=seeds, trace=True)
        frames = wide.encoder.encode(data.images, 200, 20, seeds)
        for lanes in FAST_LANES:
            for pack in (False, True):
                latency = LatencyModel(wide, HdlConfig(lanes=lanes, spikes_per_cycle=4, pack_masks=pack))
                cycles = latency.inference_cycles(frames, [trace.spikes for trace in golden.traces], 20)
                fast_rows.append({"generators": generators, "spikes_per_cycle": 4, "lanes": lanes, "pack_masks": pack,
                                  "cycles_per_step": float((cycles - latency.load_cycles).mean() / 220),
                                  "cycles_per_inference": float(cycles.mean()),
                                  "golden_accuracy": float((golden.predictions == data.labels).mean())})
    measured = fast_measured = None
    if args.verilator or args.verilator_fast:
        from srcfpga.sim.regression import NO_GAPS, regress

        def simulate(hw, config, n):
            report, _ = regress(hw, config, pixels=data.images[:n], seeds=seeds[:n], steps=200, blank=20,
                                labels=data.labels[:n], backpressure=NO_GAPS)
            return report.to_dict()

        if args.verilator:
            measured = simulate(model, HdlConfig(), args.verilator)
        if args.verilator_fast:
            options = {key: value for key, value in FAST.items() if key != "generators"}
            fast_measured = simulate(reference_hw(args.bits, generators=FAST["generators"]), HdlConfig(**options),
                                     args.verilator_fast)
    result = {"machine": machine(), "images": len(data), "bits": args.bits, "default_lanes": default_lanes(model),
              "published_cycles_per_step": PUBLISHED_CYCLES_PER_STEP,
              "lab_vhdl_cycles_per_step": LAB_VHDL_CYCLES_PER_STEP,
              "data": OUR_MNIST_TEST_SET, "rows": rows, "verilator": measured,
              "fast_rows": fast_rows, "fast": FAST, "verilator_fast": fast_measured}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"reference 784->100->10, {args.bits}-bit, first {len(data)} of {OUR_MNIST_TEST_SET}, default lanes "
          f"{result['default_lanes']} ({result['machine']})")
    print(f"{'blank+steps':>11} {'in/step':>8} {'hid/step':>8} {'k':>2} " + " ".join(f"{'P=' + str(p):>7}" for p in LANES))
    for steps, blank in STEP_SETTINGS:
        for per_cycle in SPIKES_PER_CYCLE:
            sel = [r for r in rows if r["steps"] == steps and r["spikes_per_cycle"] == per_cycle]
            print(f"{blank:>5}+{steps:<5} {sel[0]['input_spikes_per_step']:8.2f} {sel[0]['hidden_spikes_per_step']:8.2f} "
                  f"{per_cycle:>2} " + " ".join(f"{r['cycles_per_step']:7.2f}" for r in sel))
    slowest = max(rows, key=lambda r: r["model_seconds"])
    default = next(r for r in rows if r["steps"] == 200 and r["spikes_per_cycle"] == 2
                   and r["lanes"] == result["default_lanes"])
    print(f"published design: {PUBLISHED_CYCLES_PER_STEP} cycles per step ({default['speedup_vs_published']:.0f}x "
          f"the default's at 20+200); the lab's committed VHDL: {LAB_VHDL_CYCLES_PER_STEP} "
          f"({default['speedup_vs_lab_vhdl']:.1f}x)")
    print("cycle model: at most "
          f"{slowest['model_seconds']:.1f} s per setting ({len(data)} images, {slowest['blank']}+{slowest['steps']} steps)")
    print("20+200, 4 spikes/cycle: cycles per step by encoder generators E, lanes and pack_masks")
    for row in fast_rows:
        print(f"  E={row['generators']:<3} lanes={row['lanes']:<3} pack={row['pack_masks']!s:<5} "
              f"{row['cycles_per_step']:6.2f}  (golden accuracy {100 * row['golden_accuracy']:.2f} %)")
    if measured:
        print("Verilator:", json.dumps(measured))
    if fast_measured:
        print("Verilator, FAST:", json.dumps(fast_measured))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

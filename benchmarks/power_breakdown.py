"""Energy per MNIST digit by block of the design (issue 17): where the joules of the estimate go.

For the reference model (imported and quantized with the CLI at 4 and 5 bits, like
``estimate_reference.py``) and any further ``.hw`` files given, at 4 + 40 and 20 + 200 steps on the
Arty A7-35T: ``srcfpga.boards.estimate`` with spike activity of the golden model on the first
``--limit`` images of mnist-test-b, its per-block breakdown (``Estimate.breakdown``: the rows add up
to the total), and beside it the same netlist and activity under the whole-design activity rule the
estimate used before (every LUT and FF at the input pipeline's busy share, every block RAM read on
those cycles).

    nice -n 10 python benchmarks/power_breakdown.py [--bits 4 5] [--models a.hw ...] [--limit 256] [--json]

The first run synthesizes each network with Yosys (5-15 min each on 2 shared cores; cached afterwards).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

from _common import MNIST_B, machine, require

STEPS = ((4, 40), (20, 200))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", type=int, nargs="*", default=[4, 5], help="reference model widths")
    parser.add_argument("--models", nargs="*", default=[], help="further .hw models")
    parser.add_argument("--board", default="arty-a7-35")
    parser.add_argument("--limit", type=int, default=256, help="mnist-test-b images for the activity")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from estimate_reference import cli_models

    from srcfpga.boards import get_board
    from srcfpga.boards.activity import measure_activity
    from srcfpga.boards.core import CORE_NAME
    from srcfpga.boards.estimate import combine, core_verilog
    from srcfpga.boards.synth import synthesize
    from srcfpga.data import load_dataset
    from srcfpga.evaluate import sample_seeds
    from srcfpga.hdl import HdlConfig, default_input
    from srcfpga.quant import HardwareModel

    start, cpu = time.perf_counter(), time.process_time()
    board = get_board(args.board)
    models = {f"reference {b}-bit": m for b, m in cli_models().items() if b in args.bits}
    models.update({path: HardwareModel.load(path) for path in args.models})
    data = load_dataset("mnist", "test", require(MNIST_B), args.limit)
    rows = []
    for name, model in models.items():
        config = HdlConfig(input=default_input(model)).resolve(model)
        synth = synthesize(core_verilog(model, config), CORE_NAME, speed=board.device.speed)
        for blank, steps in STEPS:
            frames = model.encoder.encode(data.images, steps, blank, sample_seeds(0, 0, len(data)))
            activity = measure_activity(model, config, steps, blank, frames=frames)
            est = combine(board, synth, activity, model.content_hash, config.to_dict())
            whole = combine(board, replace(synth, blocks={}), activity, model.content_hash, config.to_dict())
            rows.append({"model": name, "hash": model.content_hash[:12], "steps": f"{blank}+{steps}",
                         "lut": est.lut, "ff": est.ff, "bram36": est.bram36, "fmax_mhz": est.fmax_mhz,
                         "cycles": est.cycles_per_inference, "power_w": est.power_w, "energy_uj": est.energy_uj,
                         "energy_uj_whole_design_rule": whole.energy_uj, "breakdown": est.breakdown(),
                         "synthesis_seconds": est.synthesis["seconds"]})
    result = {"machine": machine(), "board": board.name, "images": len(data), "rows": rows,
              "wall_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu}
    if args.json:
        print(json.dumps(result, indent=1))
        return
    print("| model | steps | cycles | power W | energy uJ (per block) | energy uJ (whole-design rule) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} ({r['hash']}) | {r['steps']} | {r['cycles']:.0f} | {r['power_w']:.3f} | "
              f"{r['energy_uj']:.3f} | {r['energy_uj_whole_design_rule']:.3f} |")
    blocks = [b["block"] for b in rows[0]["breakdown"]]
    print("\n| model | steps | " + " | ".join(blocks) + " |")
    print("|---|---|" + "---|" * len(blocks))
    for r in rows:
        cells = {b["block"]: b for b in r["breakdown"]}
        print(f"| {r['model']} | {r['steps']} | " + " | ".join(
            f"{cells[b]['energy_uj']:.3f} ({100 * cells[b]['energy_uj'] / r['energy_uj']:.0f} %)" if b in cells
            else "-" for b in blocks) + " |")
    print(f"\n{result['machine']}; wall {result['wall_s']:.0f} s, CPU {result['cpu_s']:.0f} s")


if __name__ == "__main__":
    main()

"""Toggle rates of the RTL's named signals per block, beside the power model's toggle rate per block.

The power model (docs/energy.md) charges each block of the design its logic energy at
``alpha = ALPHA_ACTIVE * busy + ALPHA_IDLE * (1 - busy)``, ``busy`` being the share of the inference's
cycles in which the block works (:func:`srcfpga.boards.activity.block_busy`): a block whose enables are
low is assumed to hold its registers. This script checks that assumption on the RTL: it simulates the
network in Amaranth's simulator with a waveform (:func:`srcfpga.hdl.pysim.run_amaranth` ``vcd=``), counts
every named signal's bit transitions over the inference (registers and the named combinational signals
Amaranth keeps, each once: struct fields and array elements are views of a listed signal; not the
LUT-internal nets of the netlist), groups them by block like the netlist
(:func:`srcfpga.boards.synth.block_cells`'s names) and prints per block the measured transitions per
bit per cycle beside the model's ``alpha``.

Default model: the shipped digits SRC (64 -> 128 -> 10, ``srcfpga demo``'s checkpoint) at 4 bits, 4 + 40
steps, the first ``--samples`` images of the digits test split (Amaranth's simulator is too slow for the
784 -> 100 reference network's waveform; the blocks are the same kinds).

    nice -n 10 python benchmarks/register_toggles.py [--model m.hw] [--samples 2] [--steps S --blank B] [--json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def vcd_toggles(path: Path, root: str) -> dict[str, tuple[int, int]]:
    """``{block: (signal bits, bit transitions)}`` of a VCD, each signal counted once (in its deepest
    scope), scopes below ``root`` (dotted) named as the netlist's ``network.`` hierarchy."""
    from srcfpga.boards.synth import CONTROL_BLOCK, _block_of

    scopes, names, widths = [], {}, {}
    values, toggles = {}, {}
    with open(path) as vcd:
        for line in vcd:
            if line.startswith("$scope"):
                scopes.append(line.split()[2])
            elif line.startswith("$upscope"):
                scopes.pop()
            elif line.startswith("$var"):
                _, kind, width, ident, name, *_ = line.split()
                scope = ".".join(scopes)
                # a struct field or array element (a view of a signal listed itself) and FSM state names: skipped
                if kind != "wire" or "." in name or "[" in name or not (scope + ".").startswith(root + "."):
                    continue
                full = "network." + scope[len(root) + 1:] + ("." if scope != root else "") + "signal"
                if full.count(".") >= names.get(ident, "").count("."):
                    names[ident], widths[ident] = full, int(width)
            elif line.startswith("$enddefinitions"):
                break
        for line in vcd:
            if not line or line[0] in "#$":
                continue
            if line[0] in "bB":
                value, ident = line[1:].split()
            else:
                value, ident = line[0], line[1:].strip()
            if ident not in names:
                continue
            old = values.get(ident)
            if old is not None:
                width = widths[ident]
                a, b = old.rjust(width, "0"), value.rjust(width, "0")
                toggles[ident] = toggles.get(ident, 0) + sum(x != y for x, y in zip(a, b))
            values[ident] = value
    blocks: dict[str, list[int]] = {}
    for ident, name in names.items():
        block = _block_of(name, "network") or CONTROL_BLOCK
        entry = blocks.setdefault(block, [0, 0])
        entry[0] += widths[ident]
        entry[1] += toggles.get(ident, 0)
    return {block: (bits, count) for block, (bits, count) in sorted(blocks.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a .hw model (default: the digits demo model at 4 bits)")
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--steps", type=int, help="stimulus steps (default: the model's)")
    parser.add_argument("--blank", type=int, help="blank steps (default: the model's)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from srcfpga.boards.activity import measure_activity
    from srcfpga.boards.power import toggle_rate
    from srcfpga.data import load_dataset
    from srcfpga.evaluate import sample_seeds
    from srcfpga.hdl import HdlConfig
    from srcfpga.hdl.pysim import run_amaranth
    from srcfpga.quant import HardwareModel, QuantConfig, quantize_net

    start, cpu = time.perf_counter(), time.process_time()
    if args.model is None:
        from srcfpga.demo import CHECKPOINT
        from srcfpga.nn import load_model
        model = quantize_net(load_model(CHECKPOINT)[0], QuantConfig(weight_bits=4))
    else:
        model = HardwareModel.load(args.model)
    data = load_dataset(args.dataset, "test", args.data_dir, args.samples)
    seeds = sample_seeds(0, 0, len(data))
    config = HdlConfig().resolve(model)
    steps = model.steps if args.steps is None else args.steps
    blank = model.blank if args.blank is None else args.blank
    frames = model.encoder.encode(data.images, steps, blank, seeds)
    activity = measure_activity(model, config, frames=frames, blank=blank)
    with tempfile.TemporaryDirectory() as tmp:
        vcd = Path(tmp) / "run.vcd"
        run = run_amaranth(model, config, pixels=data.images, seeds=seeds, steps=steps, blank=blank, vcd=vcd)
        counts = vcd_toggles(vcd, "bench.top.top")
    cycles = int(run.cycles.sum()) + len(data) * (2 + activity.load_cycles)   # start beat and image load included
    rows = []
    for block, (bits, count) in counts.items():
        busy = activity.blocks.get(block, 1.0)
        rows.append({"block": block, "bits": bits, "transitions": count, "measured": count / (bits * cycles),
                     "busy": busy, "model_alpha": toggle_rate(busy)})
    result = {"model": model.content_hash[:12], "sizes": [model.input_size] + [layer.n_out for layer in model.layers], "samples": len(data),
              "steps": f"{blank}+{steps}", "cycles": cycles,
              "cycle_model_equal": bool((run.cycles == activity.cycles_per_inference).all()) if len(data) == 1 else
              None, "rows": rows, "wall_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu}
    if args.json:
        print(json.dumps(result, indent=1))
        return
    print("| block | signal bits | busy share | model alpha | measured transitions per bit per cycle |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['block']} | {r['bits']} | {r['busy']:.3f} | {r['model_alpha']:.3f} | {r['measured']:.4f} |")
    print(f"\n{result['sizes']}, {result['samples']} samples, {result['steps']} steps, {cycles} cycles; "
          f"wall {result['wall_s']:.0f} s, CPU {result['cpu_s']:.0f} s")


if __name__ == "__main__":
    main()

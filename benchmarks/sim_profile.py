"""Instructions per simulated cycle of the batch harness's simulator (callgrind): the load-independent speed figure.

Runs ``srcfpga.sim.batch.run_batch`` on the reference network (784 -> 100 SRC, 5-bit) for the first N
mnist-test-b images in one simulator process under ``valgrind --tool=callgrind`` (cocotb's
``SIM_CMD_PREFIX``), and prints the instructions executed per simulated clock cycle: in the design's own
code (Verilator's generated functions, ``Vtop*``: what the HDL costs), in the whole simulator executable
(with Verilator's scheduler and VPI) and in the process (with cocotb's Python). Times on this shared machine
move by up to 25 % between runs; instruction counts do not, so two versions of the HDL compare exactly
(benchmarks/README.md, "A design that is cheaper to simulate"). The free run dominates the count: loading
and reading back take a few hundred cycles per chunk.

    python benchmarks/sim_profile.py [--images 20] [--bits 5] [--json]

Needs valgrind. The Verilator build is the cached one of ``sim_speed.py`` (the prefix applies to the run
only). About 1.5 minutes for 20 images (the simulator runs ~40x slower under callgrind).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, mnist_b, reference_hw  # noqa: E402


def function_costs(profile: Path) -> dict[tuple[str, str], int]:
    """Exclusive instructions per ``(object, function)`` of a callgrind profile (its text format: ``ob=`` / ``fn=``
    name the current object and function, with ``(id)`` name compression; a cost line is ``position cost``;
    ``calls=`` is followed by the call's inclusive cost, which is skipped)."""
    names: dict[str, dict[str, str]] = {"ob": {}, "fn": {}}
    costs: dict[tuple[str, str], int] = {}
    current = {"ob": "", "fn": ""}
    after_calls = False
    for line in profile.read_text(errors="replace").splitlines():
        key, _, value = line.partition("=")
        if key in ("ob", "fn", "cob", "cfn") and _:
            table = key[-2:]
            match = re.match(r"\((\d+)\)\s*(.*)", value)
            name = value
            if match:
                name = match[2] or names[table].get(match[1], "")
                if match[2]:
                    names[table][match[1]] = match[2]
            if key in ("ob", "fn"):
                current[key] = name
            continue
        if key == "calls" and _:
            after_calls = True
            continue
        fields = line.split()
        if len(fields) >= 2 and re.fullmatch(r"[+-]?\d+|\*", fields[0]) and fields[1].isdigit():
            if not after_calls:
                where = (current["ob"], current["fn"])
                costs[where] = costs.get(where, 0) + int(fields[1])
            after_calls = False
    return costs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--bits", type=int, default=5)
    parser.add_argument("--blank", type=int, default=20)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("sim_profile.py needs valgrind (Debian: apt-get install valgrind)", file=sys.stderr)
        return 1

    from srcfpga.evaluate import sample_seeds
    from srcfpga.hdl import HdlConfig
    from srcfpga.sim.batch import BATCH_TOP, run_batch

    model, data = reference_hw(args.bits), mnist_b()
    batch = dict(pixels=data.images[:args.images], seeds=sample_seeds(0, 0, args.images), steps=args.steps,
                 blank=args.blank, processes=1)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SIM_CMD_PREFIX"] = f"valgrind --tool=callgrind --callgrind-out-file={tmp}/callgrind.out"
        try:
            run = run_batch(model, HdlConfig(), **batch)
        finally:
            del os.environ["SIM_CMD_PREFIX"]
        costs = function_costs(Path(tmp) / "callgrind.out")
    executable = {function: n for (obj, function), n in costs.items() if Path(obj).name == BATCH_TOP}
    design = {function: n for function, n in executable.items() if function.startswith("Vtop")}
    cycles = run.sim_cycles
    out = {"machine": machine(), "images": args.images, "blank": args.blank, "steps": args.steps,
           "sim_cycles": cycles, "design_instructions_per_cycle": sum(design.values()) / cycles,
           "simulator_instructions_per_cycle": sum(executable.values()) / cycles,
           "process_instructions_per_cycle": sum(costs.values()) / cycles,
           "top_design_functions_per_cycle": {function: round(n / cycles) for function, n in
                                              sorted(design.items(), key=lambda item: -item[1])[:4]}}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for key, value in out.items():
            print(f"{key:>34}: {value:,.0f}" if isinstance(value, float) else f"{key:>34}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

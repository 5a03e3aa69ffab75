"""FSDD sweep: weight bits x cells with ``srcfpga sweep`` (1 QAT epoch per width from each cell's float
model), then one plot of golden, PTQ and float accuracy and cycles per utterance against the width.

The float models come from ``benchmarks/kws.py`` (``benchmarks/out/{bmru,cmru}_fsdd.pt``) and from
``srcfpga train --cell src --encoding rows`` (saved as ``src_fsdd.pt``); the cell is the file name's
part before ``_``. The steps axis is fixed: the row encoder
reads the front end's 50 frames, one per step.

    nice -n 10 python benchmarks/kws_sweep.py MODEL.pt [MODEL.pt ...] [--out benchmarks/out/kws_sweep]
        [--plot benchmarks/kws_sweep.png]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED, require  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", type=Path, nargs="+", help="float .pt models (one per cell)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/kws_sweep"))
    parser.add_argument("--plot", type=Path, default=Path("benchmarks/kws_sweep.png"))
    parser.add_argument("--reuse", action="store_true", help="plot existing results only")
    args = parser.parse_args()
    data_dir = require(SHARED / "data" / "fsdd")
    results = {}
    for model in args.models:
        out = args.out / model.stem
        if not args.reuse:
            subprocess.run([sys.executable, "-m", "srcfpga", "sweep", str(model), "--weight-bits", "4-8", "--steps",
                            "50", "--blank", "0", "--dataset", "fsdd", "--data-dir", str(data_dir), "--qat-epochs",
                            "1", "--latency-samples", "32", "--executor", "serial", "-o", str(out)], check=True)
        rows = json.loads((out / "results.json").read_text())["rows"]
        results[model.stem.split("_")[0]] = sorted(rows, key=lambda r: r["weight_bits"])
    plot(results, args.plot)
    for cell, rows in results.items():
        print(cell, " ".join(f"{r['weight_bits']}b {100 * r['accuracy']:.1f}%" for r in rows),
              f"float {100 * rows[0]['float_accuracy']:.1f}%", f"{rows[0]['cycles_per_inference']:.0f} cycles")
    return 0


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (acc, cyc) = plt.subplots(1, 2, figsize=(10, 4))
    for cell, rows in results.items():
        bits = [r["weight_bits"] for r in rows]
        line, = acc.plot(bits, [100 * r["accuracy"] for r in rows], "o-", label=f"{cell} QAT golden")
        acc.plot(bits, [100 * r["ptq_accuracy"] for r in rows], "x--", color=line.get_color(), label=f"{cell} PTQ")
        acc.axhline(100 * rows[0]["float_accuracy"], color=line.get_color(), lw=0.8, ls=":")
        cyc.plot(bits, [r["cycles_per_inference"] for r in rows], "o-", color=line.get_color(), label=cell)
    acc.set(xlabel="weight bits", ylabel="test accuracy % (250 utterances)", title="FSDD test split (dotted: float)")
    cyc.set(xlabel="weight bits", ylabel="cycles per utterance (cycle model)", title="latency at 100 MHz: cycles / 100 us")
    acc.legend(fontsize=7)
    cyc.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    sys.exit(main())

"""A from-scratch SRC on Fashion-MNIST swept over 4..8 weight bits with QAT fine-tuning per width.

Trains a float SRC (or takes ``--model``), then the API form of::

    srcfpga sweep fashion_float.pt --weight-bits 4-8 --steps 20,40 --dataset fashion-mnist \\
        --data-dir ../shared/data/fashion-mnist --qat-epochs 1 --qat-train-limit 10000 --limit 2000 -o DIR

Each width is PTQ'd from the float model, fine-tuned quantization-aware for ``--qat-epochs`` on the
first ``--qat-train-limit`` training images (at the model's own 2 + 20 steps), and scored with the
golden model on the first ``--limit`` test images at every step setting, beside plain PTQ and float.
Copies the accuracy plot to ``benchmarks/sweep_fashion.png`` (full runs).

    nice python benchmarks/sweep_fashion.py [--model fashion_float.pt] [--epochs 3] [--limit 2000] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import FASHION, machine, require  # noqa: E402

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="an existing float Fashion-MNIST model (skip training)")
    parser.add_argument("--hidden", type=int, nargs="+", default=[128])
    parser.add_argument("--steps", type=int, default=20, help="training stimulus steps")
    parser.add_argument("--blank", type=int, default=2, help="training blank steps")
    parser.add_argument("--epochs", type=int, default=3, help="float training epochs")
    parser.add_argument("--train-limit", type=int, help="float training on the first N images")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--qat-epochs", type=int, default=1)
    parser.add_argument("--qat-train-limit", type=int, default=10000)
    parser.add_argument("--limit", type=int, default=2000, help="test images")
    parser.add_argument("--sweep-steps", default="20,40", help="stimulus steps per inference to sweep")
    parser.add_argument("--workers", type=int)
    parser.add_argument("--out", type=Path, default=HERE / "out" / "sweep_fashion")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from srcfpga.data import load_dataset
    from srcfpga.nn import Net, NetConfig, load_model, save_model
    from srcfpga.nn.train import TrainConfig, seed_initialization, train
    from srcfpga.sweep import SweepConfig, parse_int_list, run_sweep

    data_dir = require(FASHION)
    args.out.mkdir(parents=True, exist_ok=True)
    model_path = args.model or args.out / "fashion_float.pt"
    train_seconds = None
    if args.model is None and not model_path.exists():
        train_set = load_dataset("fashion-mnist", "train", data_dir, args.train_limit)
        seed_initialization(0)
        net = Net(NetConfig(input_size=train_set.n_pixels, hidden=tuple(args.hidden), n_classes=10,
                               rate_gain=0.25, steps=args.steps, blank=args.blank))
        run = train(net, train_set, TrainConfig(epochs=args.epochs, batch_size=args.batch_size),
                    progress=not args.json)
        train_seconds = run.seconds
        save_model(net, model_path, run.meta() | {"dataset": "fashion-mnist", "train_samples": len(train_set)})
    net, meta = load_model(model_path)
    config = SweepConfig(weight_bits=(4, 5, 6, 7, 8), steps=parse_int_list(args.sweep_steps, "--sweep-steps"),
                         dataset="fashion-mnist", data_dir=data_dir, limit=args.limit, qat_epochs=args.qat_epochs,
                         qat_train_limit=args.qat_train_limit)
    load_before = os.getloadavg()
    started = time.perf_counter()
    result = run_sweep(model_path, config, args.out, workers=args.workers, progress=not args.json,
                       title=f"Fashion-MNIST SRC 784-{'-'.join(map(str, net.config.hidden))}, QAT {args.qat_epochs} ep")
    wall = time.perf_counter() - started
    if args.limit is None or args.limit >= 2000:
        shutil.copyfile(result.files["accuracy_vs_bits"], HERE / "sweep_fashion.png")
    report = {"model": str(model_path), "hidden": list(net.config.hidden),
              "train_steps": [net.config.blank, net.config.steps], "float_train_seconds": train_seconds
              or meta.get("train_seconds"), "float_history": meta.get("history"),
              "rows": [r.to_dict() for r in result.rows], "float": [f.to_dict() for f in result.floats],
              "wall_seconds": round(wall, 1), "computed": result.computed, "reused": result.reused,
              "load_before": [round(v, 2) for v in load_before], "machine": machine()}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    rows = result.rows
    print(f"Fashion-MNIST SRC 784 -> {' -> '.join(map(str, net.config.hidden))} -> 10, trained at "
          f"{net.config.blank}+{net.config.steps} steps"
          + (f" ({train_seconds:.0f} s)" if train_seconds else "")
          + f"; QAT {args.qat_epochs} epoch(s) on {args.qat_train_limit} images per width; "
            f"{rows[0].samples} test images")
    print(f"{'bits':>4} {'steps':>12} {'QAT golden %':>13} {'PTQ golden %':>13} {'float %':>8} {'QAT s':>6}")
    for r in rows:
        qat = f"{r.qat_seconds:6.0f}" if r.qat_seconds is not None else f"{'-':>6}"
        print(f"{r.weight_bits:>4} {f'{r.blank}+{r.steps}':>12} {100 * r.accuracy:13.2f} "
              f"{100 * r.ptq_accuracy:13.2f} {100 * r.float_accuracy:8.2f} {qat}")
    print(f"sweep wall {wall:.0f} s ({result.computed} computed, {result.reused} reused), "
          f"load average {load_before[0]:.1f} at start; machine: {report['machine']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Fashion-MNIST from scratch with 4-bit quantization-aware training: accuracy, train time and CPU time.

Float epochs, then QAT epochs whose forward pass equals the golden model bit for bit; the 4-bit golden
accuracy is measured on the full 10,000-image test set with the deterministic rate encoder. The defaults
are the recipe of benchmarks/README.md ("Fashion-MNIST with 4-bit QAT"): a LIF 784 -> 128 -> 10
(feed-forward, snnTorch Leaky, beta 0.9), rate gain 0.25, 25 steps without blank steps, 12 float epochs
and 1 QAT epoch, Adam with a cosine learning-rate schedule in each phase. The run is the API form of two
CLI calls (same seeds, same models)::

    srcfpga train --dataset fashion-mnist --data-dir ../shared/data/fashion-mnist --cell lif --hidden 128 \\
        --steps 25 --blank 0 --epochs 12 --lr-schedule cosine -o fashion_float.pt
    srcfpga train --dataset fashion-mnist --data-dir ../shared/data/fashion-mnist --init fashion_float.pt \\
        --epochs 0 --weight-bits 4 --qat-epochs 1 --qat-lr 1e-3 --lr-schedule cosine -o fashion_qat4.pt

It also reports the float model and plain PTQ at 4 bits before QAT, to show what QAT buys, and checks
that ``srcfpga quantize`` of the written .pt gives the content hash of QAT's own export.

    python benchmarks/fashion_qat.py [--cell lif] [--epochs 12] [--qat-epochs 1] [--limit N] [--out DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import FASHION, machine, require  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", default="lif")
    parser.add_argument("--hidden", type=int, nargs="+", default=[128])
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--blank", type=int, default=0)
    parser.add_argument("--rate-gain", type=float, default=0.25)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--lr", type=float, help="float epochs' Adam learning rate (default: the cell kind's)")
    parser.add_argument("--qat-epochs", type=int, default=1)
    parser.add_argument("--qat-lr", type=float, default=1e-3)
    parser.add_argument("--lr-schedule", default="cosine")
    parser.add_argument("--logit-scale", type=float, default=1.0)
    parser.add_argument("--weight-bits", type=int, default=4)
    parser.add_argument("--limit", type=int, help="train on the first N images only (quick check)")
    parser.add_argument("--test-limit", type=int, help="score on the first N test images only (quick check)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out"), help="where the models are written")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from srcfpga.data import load_dataset
    from srcfpga.evaluate import evaluate
    from srcfpga.nn import load_model, save_model
    from srcfpga.nn.checkpoint import quantize_model
    from srcfpga.nn.network import net_for_dataset
    from srcfpga.nn.train import TrainConfig, seed_initialization, train
    from srcfpga.quant import QuantConfig

    train_set = load_dataset("fashion-mnist", "train", require(FASHION), args.limit)
    test_set = load_dataset("fashion-mnist", "test", FASHION, args.test_limit)
    quant = QuantConfig(weight_bits=args.weight_bits)
    common = dict(lr_schedule=args.lr_schedule, logit_scale=args.logit_scale)
    load_before = os.getloadavg()
    cpu_started, started = time.process_time(), time.perf_counter()
    seed_initialization(0)
    net = net_for_dataset(train_set, args.cell, tuple(args.hidden), encoding="rate", steps=args.steps,
                          blank=args.blank, rate_gain=args.rate_gain)
    float_run = train(net, train_set, TrainConfig(epochs=args.epochs, lr=args.lr, **common), progress=False)
    float_cpu = time.process_time() - cpu_started
    float_acc = evaluate(net, test_set).accuracy
    ptq_acc = evaluate(quantize_model(net, quant), test_set).accuracy
    print(f"fashion_qat: float {100 * float_acc:.2f} % after {float_run.seconds:.0f} s ({float_cpu:.0f} s CPU), "
          f"{args.weight_bits}-bit PTQ {100 * ptq_acc:.2f} %", file=sys.stderr, flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    save_model(net, args.out / "fashion_float.pt", float_run.meta() | {"dataset": "fashion-mnist"})
    cpu_qat = time.process_time()
    qat_run = train(net, train_set, TrainConfig(epochs=0, qat_epochs=args.qat_epochs, weight_bits=args.weight_bits,
                                                qat_lr=args.qat_lr, **common), quant=quant, progress=False)
    qat_cpu = time.process_time() - cpu_qat
    hw = qat_run.model.export()
    golden = evaluate(hw, test_set)
    float_after = evaluate(net, test_set).accuracy
    name = f"fashion_qat{args.weight_bits}"
    path = save_model(net, args.out / f"{name}.pt", qat_run.meta() | {"dataset": "fashion-mnist",
                                                                       "content_hash": hw.content_hash})
    reloaded, meta = load_model(path)
    same_hash = quantize_model(reloaded, QuantConfig(**meta["quant"])).content_hash == hw.content_hash
    hw.save(args.out / f"{name}.hw")
    n_float, n_qat = len(train_set) * args.epochs, len(train_set) * args.qat_epochs
    report = {
        "dataset": "fashion-mnist", "train_samples": len(train_set), "test_samples": len(test_set),
        "cell": args.cell, "hidden": args.hidden, "blank": args.blank, "steps": args.steps,
        "rate_gain": args.rate_gain, "weight_bits": args.weight_bits, "float_epochs": args.epochs,
        "qat_epochs": args.qat_epochs, "lr": args.lr, "qat_lr": args.qat_lr, "lr_schedule": args.lr_schedule,
        "logit_scale": args.logit_scale,
        "float_accuracy": float_acc, "ptq_accuracy_before_qat": ptq_acc,
        "qat_golden_accuracy": golden.accuracy, "float_accuracy_after_qat": float_after,
        "float_train_seconds": round(float_run.seconds, 1), "float_train_cpu_seconds": round(float_cpu, 1),
        "qat_train_seconds": round(qat_run.seconds, 1), "qat_train_cpu_seconds": round(qat_cpu, 1),
        "float_images_per_cpu_second": round(n_float / max(float_cpu, 1e-9), 1),
        "qat_images_per_cpu_second": round(n_qat / max(qat_cpu, 1e-9), 1),
        "total_wall_seconds": round(time.perf_counter() - started, 1),
        "total_cpu_seconds": round(time.process_time() - cpu_started, 1),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "quantize_gives_qat_hash": same_hash, "content_hash": hw.content_hash,
        "history": float_run.history + qat_run.history, "hardware_model": str(args.out / f"{name}.hw"),
        "machine": machine(),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0 if same_hash else 1
    b = args.weight_bits
    print(f"Fashion-MNIST, {args.cell} 784->{'->'.join(map(str, args.hidden))}->10 from scratch, "
          f"{args.blank} blank + {args.steps} steps, {len(train_set)} training images, {len(test_set)} test images")
    print(f"  float, {args.epochs} epochs                  {100 * float_acc:6.2f} %   train {float_run.seconds:6.0f} s "
          f"({float_cpu:.0f} s CPU)")
    print(f"  {b}-bit PTQ of that, golden            {100 * ptq_acc:6.2f} %")
    print(f"  {b}-bit QAT (+{args.qat_epochs} epochs), golden       {100 * golden.accuracy:6.2f} %   "
          f"train {qat_run.seconds:6.0f} s ({qat_cpu:.0f} s CPU)")
    print(f"  float weights after QAT               {100 * float_after:6.2f} %")
    print(f"  total {report['total_wall_seconds']:.0f} s wall, {report['total_cpu_seconds']:.0f} s CPU, load "
          f"{report['load_average_before']} -> {report['load_average_after']}; quantize gives the QAT hash: {same_hash}")
    print(f"machine: {report['machine']}")
    return 0 if same_hash else 1


if __name__ == "__main__":
    sys.exit(main())

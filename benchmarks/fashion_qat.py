"""A from-scratch SRC on Fashion-MNIST with 4-bit quantization-aware training: accuracy and train time.

Float epochs, then QAT epochs whose forward pass equals the golden model bit for bit; the 4-bit golden
accuracy is measured on the full 10,000-image test set with the deterministic rate encoder. The run is
the API form of two CLI calls (same seeds, same recipe)::

    srcfpga train --dataset fashion-mnist --data-dir ../shared/data/fashion-mnist --hidden 128 \\
        --steps 20 --blank 2 --epochs 4 -o fashion_float.pt
    srcfpga train --dataset fashion-mnist --data-dir ../shared/data/fashion-mnist \\
        --init fashion_float.pt --epochs 0 --weight-bits 4 --qat-epochs 2 -o fashion_qat4.pt

(one call ``--epochs 4 --weight-bits 4 --qat-epochs 2`` does the same without the intermediate report).
It also reports plain PTQ at 4 bits before QAT, to show what QAT buys. About 10-15 minutes on 2 busy cores.

    nice -n 10 python benchmarks/fashion_qat.py [--epochs 4] [--qat-epochs 2] [--limit N] [--out DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import FASHION, machine, require  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, nargs="+", default=[128])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--blank", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--qat-epochs", type=int, default=2)
    parser.add_argument("--weight-bits", type=int, default=4)
    parser.add_argument("--limit", type=int, help="train on the first N images only (quick check)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out"), help="where the models are written")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from srcfpga.data import load_dataset
    from srcfpga.evaluate import evaluate
    from srcfpga.nn import Net, NetConfig, save_model
    from srcfpga.nn.train import TrainConfig, seed_initialization, train
    from srcfpga.quant import QuantConfig, quantize_net

    train_set = load_dataset("fashion-mnist", "train", require(FASHION), args.limit)
    test_set = load_dataset("fashion-mnist", "test", FASHION)
    seed_initialization(0)
    net = Net(NetConfig(input_size=train_set.n_pixels, hidden=tuple(args.hidden), n_classes=10,
                           rate_gain=0.25, steps=args.steps, blank=args.blank))
    float_run = train(net, train_set, TrainConfig(epochs=args.epochs), progress=False)
    float_acc = evaluate(net, test_set).accuracy
    ptq_acc = evaluate(quantize_net(net, QuantConfig(weight_bits=args.weight_bits)), test_set).accuracy
    print(f"fashion_qat: float {100 * float_acc:.2f} % after {float_run.seconds:.0f} s, "
          f"{args.weight_bits}-bit PTQ {100 * ptq_acc:.2f} %", file=sys.stderr, flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    save_model(net, args.out / "fashion_float.pt", float_run.meta() | {"dataset": "fashion-mnist"})
    qat_run = train(net, train_set, TrainConfig(epochs=0, qat_epochs=args.qat_epochs, weight_bits=args.weight_bits),
                    progress=False)
    hw = qat_run.model.hardware_model()
    started = time.perf_counter()
    golden = evaluate(hw, test_set)
    golden_seconds = time.perf_counter() - started
    float_after = evaluate(net, test_set).accuracy
    save_model(net, args.out / f"fashion_qat{args.weight_bits}.pt", qat_run.meta() | {"dataset": "fashion-mnist"})
    hw.save(args.out / f"fashion_qat{args.weight_bits}.hw")
    report = {
        "dataset": "fashion-mnist", "train_samples": len(train_set), "test_samples": len(test_set),
        "hidden": args.hidden, "blank": args.blank, "steps": args.steps, "weight_bits": args.weight_bits,
        "float_epochs": args.epochs, "qat_epochs": args.qat_epochs,
        "float_accuracy": float_acc, "ptq_accuracy_before_qat": ptq_acc,
        "qat_golden_accuracy": golden.accuracy, "float_accuracy_after_qat": float_after,
        "float_train_seconds": round(float_run.seconds, 1), "qat_train_seconds": round(qat_run.seconds, 1),
        "golden_eval_seconds": round(golden_seconds, 1), "history": float_run.history + qat_run.history,
        "hardware_model": str(args.out / f"fashion_qat{args.weight_bits}.hw"), "machine": machine(),
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    b = args.weight_bits
    print(f"Fashion-MNIST, SRC 784->{'->'.join(map(str, args.hidden))}->10 from scratch, "
          f"{args.blank} blank + {args.steps} steps, {len(train_set)} training images, {len(test_set)} test images")
    print(f"  float, {args.epochs} epochs                  {100 * float_acc:6.2f} %   train {float_run.seconds:6.0f} s")
    print(f"  {b}-bit PTQ of that, golden            {100 * ptq_acc:6.2f} %")
    print(f"  {b}-bit QAT (+{args.qat_epochs} epochs), golden       {100 * golden.accuracy:6.2f} %   "
          f"train {qat_run.seconds:6.0f} s (total {float_run.seconds + qat_run.seconds:.0f} s)")
    print(f"  float weights after QAT               {100 * float_after:6.2f} %")
    print(f"machine: {report['machine']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

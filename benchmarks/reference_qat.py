"""QAT fine-tuning of the reference 784 -> 100 SRC on MNIST: golden accuracy before (PTQ) and after, on mnist-test-b.

The imported reference model (../shared/reference/ulg-src-mnist) is fine-tuned quantization-aware at
``--weight-bits`` / ``--segments`` / ``--state-frac-bits`` and ``--blank`` + ``--steps`` steps on the first
``--limit`` images of **mnist-train** only; float, PTQ and QAT golden accuracies are measured on all 5,000
images of **mnist-test-b** (MNIST test images 5001-10000) with the deterministic rate encoder. The run is the
API form of these CLI calls (same seed, same recipe)::

    srcfpga import ../shared/reference/ulg-src-mnist -o ref.pt
    srcfpga train --dataset mnist --data-dir ../shared/data/mnist-train \\
        --test-data-dir ../shared/data/mnist-test-b --init ref.pt --steps 40 --blank 4 \\
        --weight-bits 4 --qat-epochs 1 --limit 20000 --qat-lr 2e-4 --logit-scale 20 -o ref_qat4.pt
    srcfpga quantize ref_qat4.pt -o ref_qat4.hw      # the very model QAT evaluated (same content hash)

    nice python benchmarks/reference_qat.py [--weight-bits 4] [--segments 1] [--state-frac-bits 8]
        [--steps 40] [--blank 4] [--limit 20000] [--qat-lr 2e-4] [--logit-scale 20]
        [--out benchmarks/out] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import MNIST_TRAIN, machine, mnist_b, reference_net, require  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weight-bits", type=int, default=4)
    parser.add_argument("--segments", type=int, default=1)
    parser.add_argument("--state-frac-bits", type=int, default=8)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--blank", type=int, default=4)
    parser.add_argument("--limit", type=int, default=20000, help="fine-tune on the first N mnist-train images")
    parser.add_argument("--qat-epochs", type=int, default=1)
    parser.add_argument("--qat-lr", type=float, default=2e-4)
    parser.add_argument("--logit-scale", type=float, default=20.0)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out"), help="where the model is written")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from srcfpga.data import load_dataset
    from srcfpga.evaluate import evaluate
    from srcfpga.nn import load_model, save_model
    from srcfpga.nn.checkpoint import quantize_model
    from srcfpga.nn.train import TrainConfig, train, with_encoding
    from srcfpga.quant import QuantConfig

    quant = QuantConfig(weight_bits=args.weight_bits, segments=args.segments, state_frac_bits=args.state_frac_bits)
    train_set = load_dataset("mnist", "train", require(MNIST_TRAIN), args.limit)
    test_set = mnist_b()
    net = with_encoding(reference_net(), args.steps, args.blank)
    float_acc = evaluate(net, test_set).accuracy
    ptq_acc = evaluate(quantize_model(net, quant), test_set).accuracy
    print(f"reference_qat: float {100 * float_acc:.2f} %, PTQ golden {100 * ptq_acc:.2f} % "
          f"({args.weight_bits} bits, K = {args.segments}, F = {args.state_frac_bits}, "
          f"{args.blank} + {args.steps} steps) on {len(test_set)} mnist-test-b images", file=sys.stderr, flush=True)
    cfg = TrainConfig(epochs=0, qat_epochs=args.qat_epochs, weight_bits=args.weight_bits, qat_lr=args.qat_lr,
                      batch_size=args.batch_size, logit_scale=args.logit_scale)
    load_before = os.getloadavg()
    run = train(net, train_set, cfg, quant=quant, progress=not args.json)
    hw = run.model.export()
    qat_acc = evaluate(hw, test_set).accuracy
    args.out.mkdir(parents=True, exist_ok=True)
    name = f"ref_qat{args.weight_bits}_k{args.segments}_f{args.state_frac_bits}_{args.blank}+{args.steps}"
    path = save_model(net, args.out / f"{name}.pt", run.meta() | {"dataset": "mnist", "content_hash": hw.content_hash})
    reloaded, meta = load_model(path)
    same_hash = quantize_model(reloaded, QuantConfig(**meta["quant"])).content_hash == hw.content_hash
    hw.save(args.out / f"{name}.hw")
    report = {
        "weight_bits": args.weight_bits, "segments": args.segments, "state_frac_bits": args.state_frac_bits,
        "steps": args.steps, "blank": args.blank, "train_data": "mnist-train", "train_images": len(train_set),
        "qat_epochs": args.qat_epochs, "qat_lr": args.qat_lr, "logit_scale": args.logit_scale,
        "test_data": "mnist-test-b",
        "test_images": len(test_set), "float_accuracy": float_acc, "ptq_golden_accuracy": ptq_acc,
        "qat_golden_accuracy": qat_acc, "qat_minus_float_points": round(100 * (qat_acc - float_acc), 2),
        "train_seconds": round(run.seconds, 1), "train_images_per_second": round(len(train_set) * args.qat_epochs
                                                                                 / run.seconds, 1),
        "load_average": [round(x, 2) for x in load_before], "quantize_gives_qat_hash": same_hash,
        "content_hash": hw.content_hash, "model": str(path), "history": run.history, "machine": machine()}
    print(json.dumps(report, indent=2) if args.json else
          f"{args.weight_bits}-bit K = {args.segments} F = {args.state_frac_bits}, {args.blank} + {args.steps} steps, "
          f"mnist-test-b ({len(test_set)}): float {100 * float_acc:.2f} %, PTQ {100 * ptq_acc:.2f} %, QAT golden "
          f"{100 * qat_acc:.2f} % ({report['qat_minus_float_points']:+.2f} points) after {args.qat_epochs} epoch(s) "
          f"on {len(train_set)} mnist-train images in {run.seconds:.0f} s; quantize gives the QAT hash: {same_hash}; "
          f"{machine()}")
    return 0 if same_hash else 1


if __name__ == "__main__":
    raise SystemExit(main())

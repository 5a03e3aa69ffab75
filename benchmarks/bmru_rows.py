"""Row-by-row image classification with BMRU / CMRU: float, PTQ at 4..8 bits and 4-bit QAT, golden model.

Each image is read one row per step (28 steps for Fashion-MNIST, 8 for scikit-learn digits), every
pixel thermometer-coded at grey levels 64 / 128 / 192 (3 bits per pixel: 84 binary inputs per step
for Fashion-MNIST). One layer of ``--hidden`` units, readout of every step (window 0). Golden
accuracies are on the whole test set and bit-exact (what the hardware computes). The run is the API
form of::

    srcfpga train --dataset fashion-mnist --data-dir ../shared/data/fashion-mnist --cell bmru --hidden 64 \\
        --epochs 4 --weight-bits 4 --qat-epochs 1 -o bmru_fashion.pt

    nice -n 10 python benchmarks/bmru_rows.py [--dataset digits|fashion-mnist] [--cells bmru cmru]
        [--variant first (with --cells bmru)] [--hidden 64] [--epochs E] [--qat-epochs 1] [--limit N] [--json]
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import FASHION, machine, require  # noqa: E402

BITS = (4, 5, 6, 7, 8)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=("digits", "fashion-mnist"), default="fashion-mnist")
    parser.add_argument("--cells", nargs="+", default=["bmru", "cmru"])
    parser.add_argument("--variant", choices=("full", "first"),
                        help="MRU variant, given to every cell (first quadrant: BMRU only; default: the kind's)")
    parser.add_argument("--hidden", type=int, nargs="+", default=[64])
    parser.add_argument("--epochs", type=int, help="float epochs (default 4 fashion-mnist, 20 digits)")
    parser.add_argument("--qat-epochs", type=int, default=1)
    parser.add_argument("--limit", type=int, help="train on the first N images only")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out"), help="where the models are written")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)

    from srcfpga.data import load_dataset
    from srcfpga.evaluate import evaluate
    from srcfpga.nn import save_model
    from srcfpga.nn.config import cell_constants
    from srcfpga.nn.network import net_for_dataset
    from srcfpga.nn.train import TrainConfig, seed_initialization, train
    from srcfpga.quant import QuantConfig, quantize_net

    data_dir = require(FASHION) if args.dataset == "fashion-mnist" else None
    epochs = args.epochs if args.epochs is not None else (4 if args.dataset == "fashion-mnist" else 20)
    train_set = load_dataset(args.dataset, "train", data_dir, args.limit)
    test_set = load_dataset(args.dataset, "test", data_dir)
    report = {"dataset": args.dataset, "train_samples": len(train_set), "test_samples": len(test_set),
              "hidden": args.hidden, "epochs": epochs, "qat_epochs": args.qat_epochs, "cells": {},
              "machine": machine()}
    options = {} if args.variant is None else {"variant": args.variant}
    for cell in args.cells:         # each kind's constants check the options before any training starts
        cell_constants(cell, options).check(cell, len(args.hidden))
    for cell in args.cells:
        seed_initialization(0)
        net = net_for_dataset(train_set, cell, tuple(args.hidden), cell_options=options)
        run = train(net, train_set, TrainConfig(epochs=epochs, lr=1e-2), progress=False)
        entry = {"float": evaluate(net, test_set).accuracy, "train_seconds": round(run.seconds, 1), "ptq": {}}
        for bits in BITS:
            hw = quantize_net(net, QuantConfig(weight_bits=bits))
            started = time.perf_counter()
            entry["ptq"][bits] = evaluate(hw, test_set).accuracy
            entry.setdefault("golden_seconds", round(time.perf_counter() - started, 1))
        if args.qat_epochs:
            qat_net = copy.deepcopy(net)
            qat = train(qat_net, train_set, TrainConfig(epochs=0, qat_epochs=args.qat_epochs, weight_bits=4),
                        progress=False)
            hw = qat.model.hardware_model()
            entry["qat4"] = evaluate(hw, test_set).accuracy
            entry["qat_seconds"] = round(qat.seconds, 1)
            entry["hardware"] = hw.layers[0].summary()
            tag = args.dataset.split("-")[0]
            entry["hardware_model"] = str(hw.save(args.out / f"{cell}_{tag}_qat4.hw"))
        save_model(net, args.out / f"{cell}_{args.dataset.split('-')[0]}.pt", run.meta() | {"dataset": args.dataset})
        report["cells"][cell] = entry
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{args.dataset} row by row, {len(train_set)} training / {len(test_set)} test images, "
          f"{' -> '.join(map(str, args.hidden))} units, {epochs} float epochs")
    print(f"{'cell':6s} {'float':>7s} " + " ".join(f"{b}-bit PTQ" for b in BITS) + "  4-bit QAT  train s")
    for cell, e in report["cells"].items():
        ptq = " ".join(f"{100 * e['ptq'][b]:8.2f}%" for b in BITS)
        qat = f"{100 * e['qat4']:8.2f}%" if "qat4" in e else "        -"
        print(f"{cell:6s} {100 * e['float']:6.2f}% {ptq} {qat}  {e['train_seconds']:.0f}"
              f"{' + ' + str(round(e['qat_seconds'])) if 'qat_seconds' in e else ''}")
    print(f"machine: {report['machine']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

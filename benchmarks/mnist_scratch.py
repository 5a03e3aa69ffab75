"""A from-scratch MNIST SRC 784 -> 128 -> 10 with 4-bit QAT: golden accuracy, cycles, energy, Verilator check.

Trains on **mnist-train** only (60,000 images) and reports on all 5,000 images of **mnist-test-b** (MNIST
test images 5001-10000), golden model with the deterministic rate encoder. Every phase is one ``srcfpga``
command, run in process with ``--json`` (so the README's commands are exactly what ran)::

    srcfpga train --dataset mnist --data-dir ../shared/data/mnist-train \\
        --test-data-dir ../shared/data/mnist-test-b --hidden 128 --steps 25 --blank 0 --rate-gain 0.5 \\
        --epochs 8 --lr-schedule cosine -o mnist_float8.pt
    srcfpga train --dataset mnist --data-dir ../shared/data/mnist-train \\
        --test-data-dir ../shared/data/mnist-test-b --init mnist_float8.pt --epochs 3 --lr 2e-3 \\
        --lr-schedule cosine --seed 1 -o mnist_float.pt          # 3 more float epochs at a smaller lr
    srcfpga quantize mnist_float.pt --weight-bits 4 -o mnist_ptq4.hw            # PTQ, for comparison
    srcfpga train --dataset mnist --data-dir ../shared/data/mnist-train \\
        --test-data-dir ../shared/data/mnist-test-b --init mnist_float.pt --epochs 0 --weight-bits 4 \\
        --qat-epochs 1 --qat-lr 2e-4 --lr-schedule cosine --limit 20000 -o mnist_qat4.pt
    srcfpga quantize mnist_qat4.pt --weight-bits 4 -o mnist_qat4.hw   # the network QAT evaluated (same hash)
    srcfpga eval mnist_qat4.hw --dataset mnist --data-dir ../shared/data/mnist-test-b [--steps S --blank 0]
    srcfpga estimate mnist_qat4.hw --board arty-a7-35 --dataset mnist --data-dir ../shared/data/mnist-test-b \\
        [--steps S --blank 0] [--spikes-per-cycle P] [--lanes L]
    srcfpga sim mnist_qat4.hw --dataset mnist --data-dir ../shared/data/mnist-test-b --limit N

The accuracy / energy trade-off evaluates the QAT model at fewer stimulus steps (``--trade-steps``; the
weights are those trained at ``--steps``) and estimates each on the board (one Yosys synthesis per HDL
configuration, cached; the step count only changes the cycle count and activity).
``--float-model`` / ``--qat-model`` reuse models written by an earlier run (their training is then not
timed here; the models store their own training times). Training took 20 + 10 minutes of float epochs and 3
of QAT on 2 shared cores (README); Yosys 5-15 minutes per HDL configuration.

    python benchmarks/mnist_scratch.py [--epochs 8] [--qat-limit 20000] [--float-model PT] [--qat-model PT]
        [--trade-steps 20 15 10] [--spikes-per-cycle 2 4] [--lanes L] [--pack-masks] [--rtl-samples 20]
        [--rtl-steps S] [--no-estimate] [--json]

The low-energy model of issue 17 (trained at the short window; 0.33 uJ at 1 step, 0.57 uJ at 2 on the Arty A7-35T,
benchmarks/README.md "Trained at the short window")::

    python benchmarks/mnist_scratch.py --steps 3 --rate-gain 1.0 --epochs 12 --refine-epochs 0 --qat-limit 0 \
        --trade-steps 2 1 --lanes 8 --rtl-steps 1
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import MNIST_B, MNIST_TRAIN, machine, require  # noqa: E402


def cli(*argv) -> dict:
    """``srcfpga ARGV --json`` in this process: its JSON report, wall and process (CPU) seconds, load average."""
    from srcfpga.cli import main

    out = io.StringIO()
    load, wall, cpu = os.getloadavg()[0], time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(out):
        status = main([str(a) for a in argv] + ["--json"])
    if status != 0:
        raise SystemExit(f"srcfpga {' '.join(map(str, argv))} failed (status {status}): {out.getvalue()[-2000:]}")
    report = json.loads(out.getvalue())
    report["_run"] = {"wall_seconds": round(time.perf_counter() - wall, 1),
                      "cpu_seconds": round(time.process_time() - cpu, 1),
                      "load_average": [round(load, 2), round(os.getloadavg()[0], 2)]}
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--blank", type=int, default=0)
    parser.add_argument("--rate-gain", type=float, default=0.5)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--refine-epochs", type=int, default=3, help="more float epochs from the first ones (0: none)")
    parser.add_argument("--refine-lr", type=float, default=2e-3)
    parser.add_argument("--weight-bits", type=int, default=4)
    parser.add_argument("--qat-epochs", type=int, default=1)
    parser.add_argument("--qat-lr", type=float, default=2e-4)
    parser.add_argument("--qat-limit", type=int, default=20000,
                        help="QAT on the first N mnist-train images (0: all 60,000)")
    parser.add_argument("--logit-scale", type=float, default=1.0)
    parser.add_argument("--float-model", type=Path, help="skip float training: this .pt (trained by this recipe)")
    parser.add_argument("--qat-model", type=Path, help="skip QAT: this .pt (QAT of --float-model)")
    parser.add_argument("--trade-steps", type=int, nargs="*", default=[20, 15, 10],
                        help="fewer stimulus steps (blank 0) of the accuracy / energy trade-off, after the model's own")
    parser.add_argument("--spikes-per-cycle", type=int, nargs="+", default=[2])
    parser.add_argument("--lanes", type=int, help="HDL lanes of the estimates and the Verilator run (default: the HDL's)")
    parser.add_argument("--pack-masks", action="store_true",
                        help="estimates and Verilator run with HdlConfig.pack_masks")
    parser.add_argument("--board", default="arty-a7-35")
    parser.add_argument("--no-estimate", action="store_true", help="skip the board estimates (Yosys)")
    parser.add_argument("--rtl-samples", type=int, default=20, help="mnist-test-b images run in Verilator (0: none)")
    parser.add_argument("--rtl-steps", type=int, help="stimulus steps (blank 0) of the Verilator run (default: the "
                        "model's steps and blank)")
    parser.add_argument("--test-limit", type=int, help="score on the first N mnist-test-b images (quick check)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    train_dir, test_dir = require(MNIST_TRAIN), require(MNIST_B)
    data = ("--dataset", "mnist", "--data-dir", train_dir, "--test-data-dir", test_dir)
    test = ("--dataset", "mnist", "--data-dir", test_dir) + (("--limit", args.test_limit) if args.test_limit else ())
    bits = ("--weight-bits", args.weight_bits)
    args.out.mkdir(parents=True, exist_ok=True)
    report: dict = {"train_data": "mnist-train (60,000)", "test_data": "mnist-test-b (MNIST test 5001-10000)",
                    "recipe": {k: v for k, v in vars(args).items() if k not in ("json", "out")}}

    float_pt = args.float_model or args.out / "mnist_float.pt"
    if args.float_model is None:
        first_pt = args.out / f"mnist_float{args.epochs}.pt" if args.refine_epochs else float_pt
        cli("train", *data, "--hidden", args.hidden, "--steps", args.steps, "--blank", args.blank,
            "--rate-gain", args.rate_gain, "--epochs", args.epochs, "--lr", args.lr, "--lr-schedule", "cosine",
            "-o", first_pt)
        if args.refine_epochs:
            cli("train", *data, "--init", first_pt, "--epochs", args.refine_epochs, "--lr", args.refine_lr,
                "--lr-schedule", "cosine", "--seed", 1, "-o", float_pt)
    report["float_accuracy"] = cli("eval", float_pt, *test)["accuracy"]
    ptq_hw = args.out / "mnist_ptq.hw"
    cli("quantize", float_pt, *bits, "-o", ptq_hw)
    report["ptq_golden_accuracy"] = cli("eval", ptq_hw, *test)["accuracy"]
    progress(args, "float / PTQ")

    qat_pt = args.qat_model or args.out / f"mnist_qat{args.weight_bits}.pt"
    if args.qat_model is None:
        cli("train", *data, "--init", float_pt, "--epochs", 0, *bits, "--qat-epochs", args.qat_epochs,
            "--qat-lr", args.qat_lr, "--logit-scale", args.logit_scale, "--lr-schedule", "cosine",
            *(("--limit", args.qat_limit) if args.qat_limit else ()), "-o", qat_pt)
    qat_hw = args.out / f"mnist_qat{args.weight_bits}.hw"
    quantized = cli("quantize", qat_pt, *bits, "-o", qat_hw)
    report["content_hash"] = quantized["content_hash"]
    qat_meta = stored_meta(qat_pt)   # what QAT evaluated and exported when it wrote the model
    report["quantize_gives_qat_hash"] = quantized["content_hash"] == qat_meta["content_hash"]
    report["training"] = {"float": summary_of(stored_meta(float_pt)), "qat": summary_of(qat_meta)}
    report["qat_float_accuracy"] = cli("eval", qat_pt, *test)["accuracy"]
    report["model_bytes"] = {"pt": qat_pt.stat().st_size, "hw": qat_hw.stat().st_size}

    design = (("--lanes", args.lanes) if args.lanes else ()) + (("--pack-masks",) if args.pack_masks else ())
    trade = []
    for steps in dict.fromkeys([args.steps] + args.trade_steps):   # the model's own configuration first
        blank = args.blank if steps == args.steps else 0
        row = {"steps": steps, "blank": blank, "golden_accuracy": cli("eval", qat_hw, *test, "--steps", steps,
                                                                        "--blank", blank)["accuracy"]}
        for spc in [] if args.no_estimate else args.spikes_per_cycle:
            est = cli("estimate", qat_hw, "--board", args.board, "--dataset", "mnist", "--data-dir", test_dir,
                      "--steps", steps, "--blank", blank, "--spikes-per-cycle", spc, *design)
            row[f"spc{spc}"] = {key: est[key] for key in ("lut", "ff", "bram36", "fmax_mhz", "cycles_per_inference",
                                                          "latency_us", "static_w", "dynamic_w", "power_w",
                                                          "energy_uj", "energy_uj_range", "fits", "hdl_config")}
            row[f"spc{spc}"]["estimate_run"] = est["_run"]
        trade.append(row)
        progress(args, f"{steps} steps: {row}")
    report["trade_off"] = trade

    if args.rtl_samples:
        window = ("--steps", args.rtl_steps, "--blank", 0) if args.rtl_steps else ()
        sim = cli("sim", qat_hw, "--dataset", "mnist", "--data-dir", test_dir, "--limit", args.rtl_samples,
                  *window, *design, "--spikes-per-cycle", args.spikes_per_cycle[0])
        report["verilator"] = sim
    report["machine"] = machine()
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(summary(report))
    return 0 if report["quantize_gives_qat_hash"] and report.get("verilator", {}).get("mismatches", 0) == 0 else 1


def stored_meta(path: Path) -> dict:
    from srcfpga.nn import load_model

    return load_model(path)[1]


def summary_of(meta: dict) -> dict:
    """Training figures stored in a model written by ``srcfpga train``: per-epoch history, seconds, test score."""
    keys = ("train_samples", "test_samples", "test_accuracy", "train_seconds", "history", "quant")
    return {key: meta.get(key) for key in keys}


def progress(args, what: str) -> None:
    if not args.json:
        print(f"mnist_scratch: {what} done", file=sys.stderr, flush=True)


def summary(r: dict) -> str:
    lines = [f"MNIST from scratch, SRC 784->{r['recipe']['hidden']}->10, {r['recipe']['weight_bits']}-bit, trained on "
             f"{r['train_data']}, tested on {r['test_data']}",
             f"  float {100 * r['float_accuracy']:.2f} %, PTQ golden {100 * r['ptq_golden_accuracy']:.2f} %, "
             f"QAT golden {100 * r['trade_off'][0]['golden_accuracy']:.2f} % (float weights after QAT "
             f"{100 * r['qat_float_accuracy']:.2f} %)",
             f"  hardware model hash {r['content_hash'][:12]}, quantize gives QAT's hash: {r['quantize_gives_qat_hash']}",
             f"  training: float {r['training']['float']['train_seconds']} s, QAT {r['training']['qat']['train_seconds']} s"
             " (wall, as stored in the models)"]
    for row in r["trade_off"]:
        cost = "; ".join(f"{k}: {v['cycles_per_inference']:.0f} cycles, {v['energy_uj']:.3f} uJ, {v['power_w']:.3f} W"
                         for k, v in row.items() if k.startswith("spc"))
        lines.append(f"  {row['blank']} + {row['steps']:2d} steps: golden {100 * row['golden_accuracy']:.2f} %  {cost}")
    if "verilator" in r:
        v = r["verilator"]
        lines.append(f"  Verilator: {v['samples'] - v['mismatches']}/{v['samples']} mnist-test-b images identical to "
                     f"golden at every step, {v['cycles_per_inference']:.1f} cycles/inference")
    lines.append(f"machine: {r['machine']}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

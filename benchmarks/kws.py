"""Spoken-digit keyword spotting on FSDD: BMRU / CMRU with QAT, golden accuracy, leave-one-speaker-out,
a float GRU of equal state size, and the cost of the 4-bit models on a board.

Every recording goes through the integer log-mel front end (``srcfpga.data.audio``: 50 frames of 32
bands, 16 ms hop, features relative to the utterance's loudest band) and the row encoder
(thermometer levels ``--levels``: one timestep per frame, ``32 * L`` binary inputs). One layer of
``--hidden`` units, readout of every step. Accuracies of the quantized models are golden-model
accuracies (bit-exact with the QAT forward pass, checked here on every test utterance's class, and
with the RTL by ``srcfpga sim``). The GRU sees the same binary frames and trains the same way.

* test split: train on takes 5-49 of every speaker, test on takes 0-4 (250 utterances).
* leave-one-speaker-out (``--loso``, instead of the test split): train on every take of 4 speakers,
  test on every take of the 5th, all five rotations; ``--loso-epochs`` float epochs (fewer than for
  the test split) + ``--loso-qat-epochs`` QAT epochs at 4 bits.
* ``--augment``: random time shift (0..4 frames) and mel-band shift (-1..1 band) of the feature
  images before encoding, per batch (both the memory cells and the GRU).
* hardware (``--board``): ``srcfpga.boards.estimate`` of each cell's 4-bit model with the test
  utterances' frames: resources, cycles, power, energy per utterance; duty cycle against the
  utterance's audio length; average power when the FPGA idles between utterances with its clock
  running (static + the clock share of the dynamic power) or clock-gated (static only).

    nice -n 10 python benchmarks/kws.py [--cells bmru cmru] [--bits 4 5 6 7 8] [--loso] [--augment]
        [--board arty-a7-35] [--json]
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED, machine, require  # noqa: E402

FSDD = SHARED / "data" / "fsdd"


def augmented(images: np.ndarray, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Feature images shifted later in time by 0..4 frames (zeros in front) and by -1..1 mel bands
    (edge band repeated), one random shift pair per image."""
    frames, bands = shape
    x = images.reshape(len(images), frames, bands)
    out = np.zeros_like(x)
    for n, (dt, db) in enumerate(zip(rng.integers(0, 5, len(x)), rng.integers(-1, 2, len(x)))):
        shifted = np.roll(x[n], db, axis=1)
        if db > 0:
            shifted[:, :db] = x[n][:, :1]
        elif db < 0:
            shifted[:, db:] = x[n][:, -1:]
        out[n, dt:] = shifted[:frames - dt]
    return out.reshape(len(images), -1)


def batch_source(encoder, data, batch_size: int, augment: bool):
    """``batches(epoch, generator)`` for :func:`srcfpga.nn.train.train_on_batches`."""
    fixed = None if augment else torch.from_numpy(encoder.encode(data.images, encoder.rows, 0)).float()

    def batches(epoch: int, generator: torch.Generator):
        order = torch.randperm(len(data), generator=generator).numpy()
        rng = np.random.default_rng(epoch)
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            if fixed is not None:
                frames = fixed[index]
            else:
                images = augmented(data.images[index], data.image_shape, rng)
                frames = torch.from_numpy(encoder.encode(images, encoder.rows, 0)).float()
            yield frames, torch.from_numpy(data.labels[index])
    return batches, -(-len(data) // batch_size)


def train_cell(cell, train, test, args, epochs: int, bits: tuple[int, ...], qat_epochs: int) -> dict:
    """Float training, then QAT at each width from a copy of the float net; golden accuracy of each."""
    from srcfpga.evaluate import evaluate
    from srcfpga.golden import run_golden
    from srcfpga.nn.network import net_for_dataset
    from srcfpga.nn.train import TrainConfig, train_on_batches

    net = net_for_dataset(train, cell, (args.hidden,), row_levels=tuple(args.levels))
    batches, count = batch_source(net.encoder(), train, args.batch_size, args.augment)
    run = train_on_batches(net, batches, count, TrainConfig(epochs=epochs, lr=args.lr, seed=args.seed),
                           progress=False)
    entry = {"float": evaluate(net, test).accuracy, "train_seconds": round(run.seconds, 1), "golden": {},
             "net": net, "hw": {}}
    test_frames = net.encoder().encode(test.images, net.config.steps, net.config.blank)
    for width in bits:
        qat = train_on_batches(copy.deepcopy(net), batches, count,
                               TrainConfig(epochs=0, qat_epochs=qat_epochs, weight_bits=width, seed=args.seed),
                               progress=False)
        hw = qat.model.hardware_model()
        golden = run_golden(hw, spikes=test_frames)
        with torch.no_grad():
            qat_classes = qat.model(torch.from_numpy(test_frames).float()).argmax(1).numpy()
        if not np.array_equal(qat_classes, golden.predictions):
            raise SystemExit(f"{cell} {width}-bit: QAT forward and golden model disagree on a test class")
        entry["golden"][width] = float(np.mean(golden.predictions == test.labels))
        entry["hw"][width] = hw
    return entry


def train_gru(train, test, args, epochs: int, levels) -> float:
    from srcfpga.data.rows import RowEncoder
    from srcfpga.nn.baselines import GRUNet
    from srcfpga.nn.train import accuracy_on_batches, run_epoch

    encoder = RowEncoder(*train.image_shape, levels)
    torch.manual_seed(args.seed)
    net = GRUNet(encoder.n_inputs, args.hidden, 10)
    batches, _ = batch_source(encoder, train, args.batch_size, args.augment)
    optimizer = torch.optim.Adam(net.parameters(), lr=args.gru_lr)
    generator = torch.Generator().manual_seed(args.seed)
    for epoch in range(epochs):
        run_epoch(net, batches(epoch, generator), optimizer, f"gru {epoch}", False, grad_clip=1.0)
    frames = torch.from_numpy(encoder.encode(test.images, encoder.rows, 0)).float()
    return accuracy_on_batches(net, [(frames, test.labels)])


def hardware(hw, test, board: str, samples: int, hidden: int) -> dict:
    from srcfpga.boards import estimate

    frames = hw.encoder.encode(test.images[:samples], hw.steps, hw.blank)
    est = estimate(hw, board, frames=frames)
    fe = hw.encoder.front_end
    audio_us = 1e6 * fe.samples / fe.sample_rate
    duty = est.latency_us / audio_us
    clock_w = est.power.get("clock_w", 0.0)
    return {"lut": est.lut, "ff": est.ff, "bram36": est.bram36, "dsp": est.dsp, "fmax_mhz": est.fmax_mhz,
            "clock_mhz": est.clock_mhz, "cycles": est.cycles_per_inference, "latency_us": est.latency_us,
            "power_w": est.power_w, "static_w": est.static_w, "dynamic_w": est.dynamic_w, "power": est.power,
            "energy_uj": est.energy_uj, "energy_uj_range": list(est.energy_uj_range), "audio_us": audio_us,
            "duty": duty, "avg_w_clock_running": duty * est.power_w + (1 - duty) * (est.static_w + clock_w),
            "avg_w_clock_gated": duty * est.power_w + (1 - duty) * est.static_w,
            "lut_per_unit": est.lut / hidden, "ff_per_unit": est.ff / hidden, "bram36_per_unit": est.bram36 / hidden,
            "samples": samples}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="+", default=["bmru", "cmru"])
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--levels", type=int, nargs="+", default=[96, 144, 192, 240], help="thermometer levels")
    parser.add_argument("--bits", type=int, nargs="+", default=[4], help="QAT widths (each from the float net)")
    parser.add_argument("--epochs", type=int, default=10, help="float epochs on the test-split task")
    parser.add_argument("--qat-epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--gru-lr", type=float, default=3e-3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--augment", action="store_true", help="time and band shifts (cells and GRU)")
    parser.add_argument("--loso", action="store_true", help="leave-one-speaker-out (five rotations) instead of "
                                                            "the test split")
    parser.add_argument("--loso-epochs", type=int, default=5)
    parser.add_argument("--loso-qat-epochs", type=int, default=1)
    parser.add_argument("--board", help="estimate the 4-bit models on this board (e.g. arty-a7-35)")
    parser.add_argument("--estimate-samples", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out"), help="where the models are written")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)

    data_dir = require(FSDD)
    started = time.perf_counter()
    report = {"hidden": args.hidden, "levels": args.levels, "augment": args.augment, "machine": machine()}
    if args.loso:
        report["loso"] = loso(args, data_dir)
    else:
        report |= test_split(args, data_dir)
    report["seconds"] = round(time.perf_counter() - started)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0


def test_split(args, data_dir) -> dict:
    from srcfpga.data import load_dataset
    from srcfpga.nn import save_model

    train, test = load_dataset("fsdd", "train", data_dir), load_dataset("fsdd", "test", data_dir)
    report = {"train_samples": len(train), "test_samples": len(test), "epochs": args.epochs,
              "qat_epochs": args.qat_epochs, "front_end": train.front_end.to_dict(), "cells": {}}
    for cell in args.cells:
        entry = train_cell(cell, train, test, args, args.epochs, tuple(args.bits), args.qat_epochs)
        tag = f"{cell}_fsdd{'_aug' if args.augment else ''}"
        save_model(entry.pop("net"), args.out / f"{tag}.pt", {"dataset": "fsdd"})
        models = entry.pop("hw")
        for width, hw in models.items():
            hw.save(args.out / f"{tag}_qat{width}.hw")
        if args.board and 4 in models:
            entry["board"] = hardware(models[4], test, args.board, args.estimate_samples, args.hidden)
        report["cells"][cell] = entry
    report["gru_float"] = train_gru(train, test, args, args.epochs + args.qat_epochs, args.levels)
    return report


def loso(args, data_dir) -> dict:
    from srcfpga.data import load_dataset

    every = load_dataset("fsdd", "all", data_dir)
    speakers = sorted(set(every.groups))
    out = {"epochs": args.loso_epochs, "qat_epochs": args.loso_qat_epochs, "speakers": speakers}
    for held in speakers:
        others = tuple(s for s in speakers if s != held)
        train = load_dataset("fsdd", "all", data_dir, speakers=others)
        test = load_dataset("fsdd", "all", data_dir, speakers=(held,))
        for cell in args.cells:
            entry = train_cell(cell, train, test, args, args.loso_epochs, (4,), args.loso_qat_epochs)
            out.setdefault(cell, {})[held] = {"float": entry["float"], "golden4": entry["golden"][4]}
        out.setdefault("gru", {})[held] = train_gru(train, test, args, args.loso_epochs + args.loso_qat_epochs,
                                                    args.levels)
    return out


def print_report(report: dict) -> None:
    print(f"FSDD, {report['hidden']} units, levels {report['levels']}{', augmented' if report['augment'] else ''}")
    if "cells" in report:
        print(f"test split: {report['train_samples']} training / {report['test_samples']} test utterances, "
              f"{report['epochs']} float + {report['qat_epochs']} QAT epochs")
    for cell, e in report.get("cells", {}).items():
        widths = " ".join(f"{w}-bit {100 * a:.1f} %" for w, a in e["golden"].items())
        print(f"{cell}: float {100 * e['float']:.1f} %, golden {widths}")
        if "board" in e:
            b = e["board"]
            print(f"  {b['lut']} LUT, {b['ff']} FF, {b['bram36']:g} BRAM36; {b['cycles']:.0f} cycles = "
                  f"{b['latency_us']:.1f} us; {b['power_w']:.3f} W; {b['energy_uj']:.2f} uJ/utterance; duty "
                  f"{100 * b['duty']:.3f} %; average {1e3 * b['avg_w_clock_running']:.1f} mW (clock running), "
                  f"{1e3 * b['avg_w_clock_gated']:.1f} mW (clock-gated)")
    if "gru_float" in report:
        print(f"GRU float: {100 * report['gru_float']:.1f} %")
    if "loso" in report:
        lo = report["loso"]
        print(f"leave-one-speaker-out ({lo['epochs']} float + {lo['qat_epochs']} QAT epochs):")
        for name in [c for c in lo if c not in ("epochs", "qat_epochs", "speakers")]:
            values = [v["golden4"] if isinstance(v, dict) else v for v in (lo[name][s] for s in lo["speakers"])]
            print(f"  {name:5s} " + " ".join(f"{s} {100 * v:.1f} %" for s, v in zip(lo["speakers"], values)) +
                  f"  mean {100 * np.mean(values):.1f} %")
    print(f"{report['seconds']} s; machine: {report['machine']}")


if __name__ == "__main__":
    sys.exit(main())

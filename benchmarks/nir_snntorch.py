"""An snnTorch-trained recurrent LIF network on MNIST, exported with snnTorch's own NIR export, imported here.

snnTorch trains ``784 -> RLeaky(--hidden) -> Leaky(10)`` (reset by subtraction, per-neuron beta and threshold,
arctan surrogate, cross-entropy on the output spike counts) for ``--epochs`` on the first ``--limit`` images of
**mnist-train**, on rate-coded frames drawn with srcfpga's rate encoder probability (``--rate-gain``,
``--steps``, no blank). ``export_to_nir`` writes the graph; ``srcfpga.nn.nir.import_model`` reads it (the API
form of ``srcfpga import model.nir --reset subtract --rate-gain G --steps T --blank 0``). Measured on
**mnist-test-b** (MNIST test images 5001-10000, or the first ``--test-limit``):

- float equality: snnTorch's spikes against the imported model's, every neuron of both layers at every step,
  on the same random frames (fraction equal, expected 1.0);
- accuracy of snnTorch (random frames), of the imported float model (srcfpga's deterministic rate encoder), and
  of the golden model of its PTQ at each ``--weight-bits`` (default QuantConfig otherwise);
- ``--src``: the like-for-like SRC, ``784 -> --hidden SRC -> 10`` trained by srcfpga on the same images, steps,
  gain and epochs (= ``srcfpga train --dataset mnist --limit N --hidden H --steps T --blank 0 --rate-gain G
  --epochs E``), its float and golden accuracies at the same ``--weight-bits``;
- ``--hardware``: for both models at the first ``--weight-bits``, the board estimate on ``--board`` (=
  ``srcfpga estimate M.hw --board B --dataset mnist --limit A``, A = ``--activity``) and the Verilator agreement
  with golden on the first ``--rtl-samples`` test images (= ``srcfpga sim M.hw --limit R``).

    nice python benchmarks/nir_snntorch.py [--hidden 128] [--steps 25] [--limit 10000] [--epochs 1]
        [--weight-bits 6 8] [--src] [--hardware] [--out benchmarks/out] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import MNIST_TRAIN, machine, mnist_b, require  # noqa: E402


def build(hidden: int):
    import snntorch as snn
    import torch

    return torch.nn.Sequential(
        torch.nn.Linear(784, hidden),
        snn.RLeaky(beta=torch.full((hidden,), 0.9), threshold=torch.ones(hidden), linear_features=hidden,
                   init_hidden=True, learn_beta=True),
        torch.nn.Linear(hidden, 10),
        snn.Leaky(beta=torch.full((10,), 0.9), threshold=torch.ones(10), init_hidden=True, learn_beta=True),
    )


def run(net, frames):
    """snnTorch's forward pass: the spikes of both layers, ``(batch, T, n)`` each."""
    import snntorch as snn
    from snntorch.utils import reset

    reset(net)
    records = [[], []]
    for t in range(frames.shape[1]):
        h, index = frames[:, t], 0
        for module in net:
            h = module(h)
            if isinstance(module, snn.SpikingNeuron):
                records[index].append(h)
                index += 1
    import torch

    return [torch.stack(r, dim=1) for r in records]


def train(net, dataset, cfg, epochs: int, batch: int, seed: int) -> float:
    import numpy as np
    import torch

    from srcfpga.nn.network import rate_spikes

    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-3)
    labels = torch.from_numpy(dataset.labels.astype(np.int64))
    start = time.time()
    for _ in range(epochs):
        order = torch.randperm(len(labels), generator=generator).numpy()
        for first in range(0, len(order), batch):
            index = order[first:first + batch]
            frames = rate_spikes(dataset.images[index], cfg, cfg.steps, 0, generator)
            counts = run(net, frames)[1].sum(dim=1)
            loss = torch.nn.functional.cross_entropy(counts, labels[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return time.time() - start


def train_src(train_set, args):
    """The SRC of the same size, trained as ``srcfpga train`` does (float epochs only, default learning rate)."""
    from srcfpga.nn.network import net_for_dataset
    from srcfpga.nn.train import TrainConfig, seed_initialization, train

    seed_initialization(args.seed)
    net = net_for_dataset(train_set, "src", (args.hidden,), encoding="rate", steps=args.steps, blank=0,
                          rate_gain=args.rate_gain)
    result = train(net, train_set, TrainConfig(epochs=args.epochs, seed=args.seed), progress=False)
    return result.net, result.seconds


def hardware(hw, test_set, args) -> dict:
    """Board estimate (activity of the first ``--activity`` test images) and Verilator agreement with golden."""
    from srcfpga.boards import estimate
    from srcfpga.evaluate import sample_seeds
    from srcfpga.hdl import HdlConfig, default_input
    from srcfpga.sim.regression import NO_GAPS, regress

    n = min(args.activity, len(test_set))
    frames = hw.encoder.encode(test_set.images[:n], hw.steps, hw.blank, sample_seeds(0, 0, n))
    est = estimate(hw, args.board, limit=n, frames=frames)
    row = {k: getattr(est, k) for k in ("lut", "ff", "bram36", "fmax_mhz", "cycles_per_inference", "power_w",
                                        "energy_uj")} | {"summary": est.summary()}
    m = min(args.rtl_samples, len(test_set))
    seeds, labels = sample_seeds(0, 0, m), test_set.labels[:m]
    if default_input(hw) == "pixels":       # as srcfpga sim: the on-chip encoder, else host-encoded frames
        sim, _ = regress(hw, HdlConfig(), pixels=test_set.images[:m], seeds=seeds, labels=labels, backpressure=NO_GAPS)
    else:
        sim, _ = regress(hw, HdlConfig(input="frames"), spikes=hw.encoder.encode(test_set.images[:m], hw.steps,
                         hw.blank, seeds), labels=labels, backpressure=NO_GAPS)
    return row | {"rtl_samples": sim.samples, "agreement": sim.agreement,
                  "rtl_cycles_per_inference": sim.cycles_per_inference}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--rate-gain", type=float, default=0.5)
    parser.add_argument("--limit", type=int, default=10000, help="train on the first N mnist-train images")
    parser.add_argument("--test-limit", type=int, help="score on the first N mnist-test-b images (default all)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--weight-bits", type=int, nargs="+", default=[6, 8])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--src", action="store_true", help="also train and score the SRC of the same size")
    parser.add_argument("--hardware", action="store_true",
                        help="estimate and Verilator-simulate the model(s) at the first --weight-bits")
    parser.add_argument("--board", default="arty-a7-35")
    parser.add_argument("--activity", type=int, default=64, help="test images for the estimate's activity")
    parser.add_argument("--rtl-samples", type=int, default=8, help="test images simulated in Verilator")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import nir
    import torch
    from snntorch.export_nir import export_to_nir

    from srcfpga.data import load_dataset
    from srcfpga.evaluate import evaluate_float, evaluate_hardware
    from srcfpga.nn.network import rate_spikes
    from srcfpga.nn.nir import import_model
    from srcfpga.quant import QuantConfig, quantize_net

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    train_set = load_dataset("mnist", "train", require(MNIST_TRAIN), limit=args.limit)
    test_set = mnist_b().head(args.test_limit)
    cfg = SimpleNamespace(rate_gain=args.rate_gain, steps=args.steps)
    net = build(args.hidden)
    seconds = train(net, train_set, cfg, args.epochs, args.batch_size, args.seed)

    args.out.mkdir(parents=True, exist_ok=True)
    graph = args.out / "nir_snntorch.nir"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        nir.write(graph, export_to_nir(net, torch.zeros(784)))
    model = import_model(graph, reset="subtract", rate_gain=args.rate_gain, steps=args.steps, blank=0)

    frames = rate_spikes(test_set.images, cfg, args.steps, 0, torch.Generator().manual_seed(args.seed + 1))
    with torch.no_grad():
        want = run(net, frames)
        _, got = model(frames, trace=True)
    equal = [float((a == b).float().mean()) for a, b in zip(want, got)]
    snn_accuracy = float((want[1].sum(dim=1).argmax(dim=1).numpy() == test_set.labels).mean())
    result = {"machine": machine(), "train_images": len(train_set), "test_images": len(test_set),
              "hidden": args.hidden, "steps": args.steps, "rate_gain": args.rate_gain, "train_seconds": seconds,
              "spikes_equal": equal, "snntorch_accuracy": snn_accuracy,
              "float_accuracy": evaluate_float(model, test_set).accuracy, "golden_accuracy": {}}
    models = {"lif": {}}
    for bits in args.weight_bits:
        hw = quantize_net(model, QuantConfig(weight_bits=bits), source={"float_model": str(graph)})
        models["lif"][bits] = hw
        result["golden_accuracy"][bits] = evaluate_hardware(hw, test_set).accuracy
    if args.src:
        src_net, src_seconds = train_src(train_set, args)
        models["src"] = {bits: quantize_net(src_net, QuantConfig(weight_bits=bits)) for bits in args.weight_bits}
        result["src"] = {"train_seconds": src_seconds, "float_accuracy": evaluate_float(src_net, test_set).accuracy,
                         "golden_accuracy": {bits: evaluate_hardware(hw, test_set).accuracy
                                             for bits, hw in models["src"].items()}}
    if args.hardware:
        bits = args.weight_bits[0]
        result["hardware"] = {name: {"bits": bits, "hash": hws[bits].content_hash[:12]} |
                              hardware(hws[bits], test_set, args) for name, hws in models.items()}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['machine']}\ntrained {len(train_set)} images in {seconds:.0f} s; spikes equal (hidden, "
              f"output): {equal}\naccuracy on {len(test_set)}: snnTorch {100 * snn_accuracy:.2f} %, imported float "
              f"{100 * result['float_accuracy']:.2f} %, golden " +
              ", ".join(f"{b} bits {100 * a:.2f} %" for b, a in result["golden_accuracy"].items()))
        if "src" in result:
            src = result["src"]
            print(f"SRC {args.hidden} trained in {src['train_seconds']:.0f} s: float {100 * src['float_accuracy']:.2f} "
                  "%, golden " + ", ".join(f"{b} bits {100 * a:.2f} %" for b, a in src["golden_accuracy"].items()))
        for name, row in result.get("hardware", {}).items():
            print(f"{name} {row['bits']} bits (hash {row['hash']}) on {args.board}: LUT {row['lut']}, FF {row['ff']}, "
                  f"BRAM36 {row['bram36']}, Fmax {row['fmax_mhz']:.1f} MHz, {row['cycles_per_inference']:.0f} "
                  f"cycles/inference, {row['power_w']:.3f} W, {row['energy_uj']:.2f} uJ/inference; Verilator "
                  f"agreement {row['agreement']:.3f} on {row['rtl_samples']} images, "
                  f"{row['rtl_cycles_per_inference']:.1f} cycles/inference")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

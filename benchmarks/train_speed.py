"""Training throughput (images/s) of the reference-sized SRC (784 -> 100, 4 + 40 steps) on MNIST training
images: one float pass and one 4-bit QAT pass over ``--images`` images, optionally under cProfile.

    nice python benchmarks/train_speed.py [--images 512] [--segments 1] [--profile] [--json]

The machine's load average is printed with the figures: on the shared 2-core development machine the
throughput depends on what else runs.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import MNIST_TRAIN, machine, require  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--weight-bits", type=int, default=4)
    parser.add_argument("--segments", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads while training (0: torch's default, one per core, as before issue 13)")
    parser.add_argument("--profile", action="store_true", help="print the 25 most expensive calls of each pass")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import torch

    from srcfpga.data import load_dataset
    from srcfpga.nn import Net, NetConfig
    from srcfpga.nn.train import TrainConfig, seed_initialization, train
    from srcfpga.quant import QuantConfig

    data = load_dataset("mnist", "train", require(MNIST_TRAIN), args.images)
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])   # the first Adam imports torch._dynamo (~5 s): not timed
    threads = args.threads or None
    figures = {}
    for phase, cfg in (("float", TrainConfig(epochs=1, batch_size=args.batch_size, threads=threads)),
                       ("qat", TrainConfig(epochs=0, qat_epochs=1, weight_bits=args.weight_bits,
                                           batch_size=args.batch_size, threads=threads))):
        seed_initialization(0)
        net = Net(NetConfig(input_size=784, hidden=(100,), steps=40, blank=4))
        quant = QuantConfig(weight_bits=args.weight_bits, segments=args.segments)
        profiler = cProfile.Profile() if args.profile else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        train(net, data, cfg, quant=quant, progress=False)
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - started
        figures[phase] = round(len(data) / seconds, 1)
        if profiler:
            print(f"--- {phase} ---", file=sys.stderr)
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
    report = {"images": len(data), "images_per_second": figures, "segments": args.segments,
              "threads": threads or torch.get_num_threads(),
              "load_average": [round(x, 2) for x in os.getloadavg()], "machine": machine()}
    print(json.dumps(report, indent=2) if args.json else
          f"float {figures['float']} images/s, {args.weight_bits}-bit QAT (K = {args.segments}) "
          f"{figures['qat']} images/s on {len(data)} MNIST training images, {report['threads']} thread(s); load {report['load_average']}; "
          f"{report['machine']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

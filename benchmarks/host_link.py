"""The host link end to end: ``srcfpga run``'s driver over a socket to the UART board top of the reference network in Verilator.

Starts :class:`srcfpga.boards.uart_sim.BoardSim` (what ``srcfpga board-sim`` runs: the board top behind
``socket://localhost:PORT``, UART at 4 clock cycles per bit), sends the first N images of
../shared/data/mnist-test-b with :class:`srcfpga.boards.host.HostLink` (what ``srcfpga run`` uses) and
compares every answer (class, readout accumulators) with the golden model. Prints the Verilator build
time (cached by design), the start-up time and the seconds per image.

    python benchmarks/host_link.py [--images 20] [--bits 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, mnist_b, reference_hw  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--bits", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from srcfpga.boards.host import HostLink, open_port
    from srcfpga.boards.uart_sim import BoardSim
    from srcfpga.evaluate import sample_seeds
    from srcfpga.golden import run_golden
    from srcfpga.hdl import HdlConfig

    model = reference_hw(args.bits)
    data = mnist_b()
    pixels, seeds = data.images[:args.images], sample_seeds(0, 0, args.images)
    golden = run_golden(model, pixels=pixels, seeds=seeds)
    start = time.perf_counter()
    sim = BoardSim(model, HdlConfig(input="pixels"), connections=1).start()
    port = sim.wait_ready()
    ready = time.perf_counter() - start
    link = HostLink(open_port(f"socket://localhost:{port}", model, timeout=120), model, timeout=120)
    t0 = time.perf_counter()
    answers = [link.classify_image(pixels[n], int(seeds[n])) for n in range(args.images)]
    seconds = time.perf_counter() - t0
    link.port.close()
    stats = sim.join(timeout=120)
    same = [a.label == golden.predictions[n] and list(a.counts) == golden.readout[n].tolist()
            for n, a in enumerate(answers)]
    out = {"images": args.images, "bits": args.bits, "steps": model.steps, "blank": model.blank,
           "agreement": float(np.mean(same)), "build_s": round(sim.build_seconds, 1),
           "ready_s": round(ready, 1), "images_s": round(seconds, 1),
           "s_per_image": round(seconds / args.images, 2), "bytes_in": stats["bytes_in"],
           "bytes_out": stats["bytes_out"], "machine": machine()}
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        print(f"{args.images} images over socket://localhost:{port}: agreement with golden {out['agreement']:.4f}; "
              f"{out['s_per_image']} s per image ({seconds:.1f} s); Verilator build {out['build_s']} s, "
              f"listening after {out['ready_s']} s")
    return 0 if all(same) else 1


if __name__ == "__main__":
    raise SystemExit(main())

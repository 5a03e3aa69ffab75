"""Reference model on the boards: resources, Fmax, latency, power, energy beside the published design.

Builds the reference models exactly as ``srcfpga import`` + ``srcfpga quantize --weight-bits B`` do
(the printed content hashes match the CLI's), then for the XC7A200T board (Nexys Video) at 44
(4 + 40), 55 (5 + 50) and 220 (20 + 200) steps runs ``srcfpga.boards.estimate`` with spike activity
measured by the golden model on MNIST test images, and the golden accuracy on the whole test subset.
Beside it: the published figures, and the same power model applied to the published design's
structure (srcfpga.boards.published). Finally the 4-bit model on the Arty A7-35T.

    python benchmarks/estimate_reference.py [--limit 256] [--accuracy-limit N] [--json]

The first run synthesizes the 4- and 5-bit networks with Yosys (a few minutes each on 2 cores;
cached afterwards under ~/.cache/srcfpga/synth).
"""

from __future__ import annotations

import argparse
import json
import time

from _common import MNIST_B, REFERENCE, machine, mnist_b, require

STEPS = ((4, 40), (5, 50), (20, 200))      # (blank, stimulus) = 44, 55, 220 steps


def hdl_version() -> str:
    """The commit of srcfpga/hdl the numbers are for (``+dirty`` with uncommitted HDL changes)."""
    import subprocess
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "log", "-1", "--format=%h", "--", "srcfpga/hdl"], cwd=repo,
                                capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "diff", "--quiet", "--", "srcfpga/hdl"], cwd=repo).returncode != 0
    except OSError:
        return "unknown"
    return (commit or "unknown") + ("+dirty" if dirty else "")


def cli_models() -> dict:
    """``srcfpga import`` + ``srcfpga quantize ref.pt --weight-bits B -o refB.hw`` (B = 4, 5), as a user runs them."""
    import contextlib
    import io
    import os
    import tempfile

    from srcfpga.cli import main as cli
    from srcfpga.quant import HardwareModel

    here = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                assert cli(["import", str(require(REFERENCE)), "-o", "ref.pt"]) == 0
                for bits in (4, 5):
                    assert cli(["quantize", "ref.pt", "--weight-bits", str(bits), "-o", f"ref{bits}.hw"]) == 0
            return {bits: HardwareModel.load(f"ref{bits}.hw") for bits in (4, 5)}
        finally:
            os.chdir(here)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=256, help="MNIST images for the activity measurement")
    parser.add_argument("--accuracy-limit", type=int, help="MNIST images for the accuracy (default: all 5000)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from srcfpga.boards import estimate
    from srcfpga.boards.published import (
        LAB_VHDL_CYCLES_PER_STEP,
        OUR_MNIST_TEST_SET,
        PUBLISHED,
        PUBLISHED_CYCLES_PER_STEP,
        PUBLISHED_LATENCY_220_MS,
        PUBLISHED_TEST_SET,
        PublishedDesign,
        implied_power_w,
    )
    from srcfpga.evaluate import evaluate

    start = time.perf_counter()
    models = cli_models()
    data = mnist_b()
    if args.accuracy_limit:
        from srcfpga.data import load_dataset
        data = load_dataset("mnist", "test", require(MNIST_B), args.accuracy_limit)
    rows = []
    for bits, board, steps in [(5, "nexys-video", s) for s in STEPS] + [(4, "nexys-video", (4, 40)),
                                                                       (4, "arty-a7-35", (4, 40))]:
        hw = models[bits]
        blank, stim = steps
        total = blank + stim
        est = estimate(hw, board, steps=stim, blank=blank, dataset="mnist", data_dir=MNIST_B, limit=args.limit)
        acc = evaluate(hw, data, steps=stim, blank=blank, progress=False).accuracy
        published_bits, published_mj, published_acc = PUBLISHED[total]
        published_us = PUBLISHED_CYCLES_PER_STEP * total / 100.0
        lab_vhdl_us = LAB_VHDL_CYCLES_PER_STEP * total / 100.0
        model = PublishedDesign(weight_bits=published_bits or bits).estimate(total)
        rows.append({
            "bits": bits, "board": board, "blank": blank, "steps": stim, "total_steps": total,
            "model_hash": hw.content_hash[:12], "accuracy": acc, "estimate": est.to_dict(),
            "published": {"weight_bits": published_bits, "energy_uj": None if published_mj is None else 1e3 * published_mj,
                          "latency_us": published_us, "accuracy": published_acc,
                          "implied_power_w": implied_power_w(total)},
            "published_model": model, "lab_vhdl_latency_us": lab_vhdl_us,
            "latency_ratio": published_us / est.latency_us, "latency_ratio_lab_vhdl": lab_vhdl_us / est.latency_us,
            "energy_ratio": None if published_mj is None else 1e3 * published_mj / est.energy_uj,
            "energy_ratio_at_published_power": None if published_mj is None else
            1e3 * published_mj / (implied_power_w(total) * est.latency_us),
            "model_vs_published_energy": None if published_mj is None else model["energy_uj"] / (1e3 * published_mj),
        })
    out = {"machine": machine(), "seconds": time.perf_counter() - start, "rows": rows, "hdl": hdl_version(),
           "published_latency_220_ms": PUBLISHED_LATENCY_220_MS, "accuracy_data": OUR_MNIST_TEST_SET,
           "published_accuracy_data": PUBLISHED_TEST_SET}
    if args.json:
        print(json.dumps(out, indent=1, default=str))
        return
    print(f"# reference model on Artix-7 boards ({out['machine']}, {out['seconds']:.0f} s, HDL {out['hdl']})\n")
    print(f"accuracy: ours on {OUR_MNIST_TEST_SET}, published on {PUBLISHED_TEST_SET} (different test sets, "
          f"not a like-for-like comparison); latency x: published / ours and lab VHDL "
          f"({LAB_VHDL_CYCLES_PER_STEP} cycles/step) / ours\n")
    print("| bits | board | steps | accuracy (published) | LUT [Vivado band] | FF | BRAM36 | Fmax MHz [Vivado band] | "
          "cycles | latency us (published / lab VHDL) | power W [Vivado band] | energy uJ [toggle range] "
          "[Vivado power band] (published) | latency x (published / lab VHDL) | energy x |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        e, p = r["estimate"], r["published"]
        lo, hi = e["energy_uj_range"]
        (l_lo, l_hi), (f_lo, f_hi), (p_lo, p_hi) = e["lut_range"], e["fmax_mhz_range"], e["power_w_range"]
        pub_e = "-" if p["energy_uj"] is None else f"{p['energy_uj']:.0f}"
        ratio = "-" if r["energy_ratio"] is None else f"{r['energy_ratio']:.0f}"
        print(f"| {r['bits']} | {r['board']} | {r['blank']}+{r['steps']} | {100 * r['accuracy']:.2f} % "
              f"({p['accuracy']} %) | {e['lut']} [{l_lo:.0f}..{l_hi:.0f}] | {e['ff']} | {e['bram36']:g} | "
              f"{e['fmax_mhz']:.1f} [{f_lo:.1f}..{f_hi:.1f}] | "
              f"{e['cycles_per_inference']:.0f} | {e['latency_us']:.2f} ({p['latency_us']:.1f} / "
              f"{r['lab_vhdl_latency_us']:.1f}) | "
              f"{e['power_w']:.3f} [{p_lo:.3f}..{p_hi:.3f}] | {e['energy_uj']:.2f} [{lo:.2f}..{hi:.2f}] "
              f"[{p_lo * e['latency_us']:.2f}..{p_hi * e['latency_us']:.2f}] ({pub_e}) | "
              f"{r['latency_ratio']:.0f} / {r['latency_ratio_lab_vhdl']:.1f} | {ratio} |")
    print("\n## the same estimator on the published design's structure\n")
    print("| steps | bits | LUT | FF | latency us | power W (static + dynamic) | energy uJ [range] | published uJ "
          "| model / published | published power implied W |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if r["board"] != "nexys-video" or (r["bits"] == 4 and r["total_steps"] != 44):
            continue
        m, p = r["published_model"], r["published"]
        if r["bits"] == 5 and r["total_steps"] == 44:
            continue
        lo, hi = m["energy_uj_range"]
        pub = "-" if p["energy_uj"] is None else f"{p['energy_uj']:.0f}"
        vs = "-" if r["model_vs_published_energy"] is None else f"{r['model_vs_published_energy']:.2f}"
        implied = "-" if p["implied_power_w"] is None else f"{p['implied_power_w']:.3f}"
        print(f"| {r['total_steps']} | {m['model']['weight_bits']} | {m['lut']} | {m['ff']} | {m['latency_us']:.1f} | "
              f"{m['power_w']:.3f} ({m['static_w']:.3f} + {m['dynamic_w']:.3f}) | {m['energy_uj']:.0f} "
              f"[{lo:.0f}..{hi:.0f}] | {pub} | {vs} | {implied} |")
    for r in rows:
        e = r["estimate"]
        if r["board"] == "arty-a7-35":
            print(f"\nArty A7-35T, 4-bit, 4+40: fits={e['fits']} (LUT {100 * e['utilization']['lut']:.0f} %, "
                  f"BRAM36 {100 * e['utilization']['bram36']:.0f} %), Fmax {e['fmax_mhz']:.1f} MHz "
                  f"({'meets' if e['meets_timing'] else 'misses'} 100 MHz), critical path "
                  f"{e['critical_path'].get('start')} -> {e['critical_path'].get('end')}")


if __name__ == "__main__":
    main()

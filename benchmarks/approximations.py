"""Error of every approximation the integer SRC makes, and its accuracy cost on the reference model.

Part 1 (always): maximal absolute errors on dense grids, and the constants of the reference model as the
default quantizer rounds them. Part 2 (needs ../shared): the float reference model on mnist-test-b with
each approximation switched on alone, then all together (still float), beside the golden model; all runs
see the same encoder spikes (sample n seeded n), so differences are the approximations alone. Part 3:
integer effects measured on golden traces (floor-shift drift of the current, saturation counts). Part 4:
the piecewise-linear tables of ``quantize --segments K``: each table's maximal error for K = 1, 2, 4, 8, 16
with the reference model's constants, and the golden accuracy of the reference model per K.

    python benchmarks/approximations.py [--limit N] [--no-accuracy] [--tables] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import MNIST_B, REFERENCE, machine  # noqa: E402

SETTINGS = ((4, 40), (5, 50), (20, 200))


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def function_errors(rho: float = 3.0, z_hyp: float = 0.9, z_dep: float = 0.0, alpha: float = 0.9,
                    shift: int = 5) -> list[dict]:
    """Max |approximation - paper| of each nonlinearity / constant, on dense grids."""
    from srcfpga.quant.ptq import leak_num

    rows = []
    x = np.linspace(-20, 20, 4_000_001)
    err = np.abs(np.clip(x, -1, 1) - np.tanh(x))
    rows.append({"what": "h nonlinearity: clamp(v, -1, 1) for tanh(v)", "max_abs_error": float(err.max()),
                 "where": f"|v| = {abs(x[err.argmax()]):.3f}"})
    err = np.abs(np.clip(x, -rho, rho) - rho * np.tanh(x / rho))
    rows.append({"what": f"input compression: clamp(i, -{rho:g}, {rho:g}) for {rho:g} tanh(i/{rho:g})",
                 "max_abs_error": float(err.max()), "where": f"|i| = {abs(x[err.argmax()]):.3f}"})
    h = np.linspace(-1, 1, 2_000_001)
    zs_paper = z_hyp - (z_hyp - z_dep) * sigmoid(10 * (h - 0.5))
    zs_step = np.where(h >= 0.5, z_dep, z_hyp)
    err = np.abs(zs_step - zs_paper)
    rows.append({"what": "gate: zs step at h >= 0.5 for z_hyp - (z_hyp - z_dep) sigmoid(10 (h - 0.5))",
                 "max_abs_error": float(err.max()), "where": "h -> 0.5",
                 "note": f"error > 0.1 for |h - 0.5| < {np.abs(h[err > 0.1] - 0.5).max():.3f}; "
                         f"< 0.01 for |h - 0.5| > {np.abs(h[err > 0.01] - 0.5).max():.3f}"})
    for name, value in (("current leak alpha", alpha), ("gate z_hyp", z_hyp), ("gate z_dep", z_dep)):
        n = leak_num(value, shift)
        q = 1 - n / (1 << shift)
        note = ""
        if name.startswith("current"):
            note = (f"time constant 1/(1-a) {1 / (1 - q):.2f} steps instead of {1 / (1 - value):.2f}; "
                    f"gain 1/(1-a) +{100 * ((1 - value) / (1 - q) - 1):.1f} %")
        rows.append({"what": f"{name}: 1 - {n}/2^{shift} = {q:g} for {value:g}", "max_abs_error": abs(q - value),
                     "where": "constant", "note": note})
    hh = np.linspace(-1, 1, 2_000_001)
    err = np.abs((hh >= 0.5).astype(float) - np.maximum(hh, 0))
    rows.append({"what": "output spike: s = (h >= 0.5) in {0, 1} for ReLU(h) in [0, 1]",
                 "max_abs_error": float(err.max()), "where": "h -> 0.5",
                 "note": "binary spikes: what the hardware sends between layers and to the readout"})
    return rows


def constant_errors(bits_list=(4, 5, 6, 7, 8)) -> list[dict]:
    """How the default quantizer rounds the reference model's constants (unit u = s / 2^k)."""
    from _common import reference_hw, reference_net

    net = reference_net()
    w = net.layers[0].weight.detach().double().numpy()
    bias = float(net.layers[0].bias.detach()[0])
    rows = []
    for bits in bits_list:
        hw = reference_hw(bits, net)
        q = hw.layers[0]
        scale = q.unit * (1 << q.weight_shift)
        werr = np.abs(q.weights * scale - w)
        ro = hw.readout
        rows.append({
            "weight_bits": bits, "weight_scale": scale, "clipped_weights": int((np.abs(w) > scale * ((1 << (bits - 1)) - 1) + 1e-12).sum()),
            "max_weight_error": float(werr.max()), "rms_weight_error": float(np.sqrt(np.mean(werr ** 2))),
            "unit": q.unit, "weight_shift": q.weight_shift, "one": q.one, "one_real": q.one * q.unit,
            "half_real": q.half * q.unit, "rho_real": q.rho * q.unit, "bias_real": float(q.bias[0] * q.unit),
            "bias_paper": bias, "current_bits": q.current_bits,
            "current_limit_real": ((1 << (q.current_bits - 1)) - 1) * q.unit, "state_bits": q.state_bits,
            "readout_off_class": float(ro.weights.min() * ro.scale), "readout_on_class": float(ro.weights.max() * ro.scale),
        })
    return rows


# ---- part 2: accuracy cost in float ----------------------------------------------------------------
CURRENT_LIMIT = 12.0   # 4 rho, QuantConfig.current_range; the golden limit is 14.2..23.9 by width
APPROX = ("current_sat", "hard_rho", "hard_tanh", "step_gate", "shift_constants", "binary_spikes", "readout_q")
LABELS = {
    "current_sat": "current saturates at +-12 (4 rho)",
    "hard_rho": "clamp(i, +-rho) for rho tanh(i/rho)",
    "hard_tanh": "clamp(., +-1) for tanh",
    "step_gate": "step gate for sigmoid gate",
    "shift_constants": "alpha, z_hyp as 1 - n/32 (0.90625)",
    "binary_spikes": "binary spikes h >= 0.5 for ReLU(h)",
    "readout_q": "readout weights at 8 bits",
}


def float_variant_predictions(net, frames, options: set[str]):
    """Float forward of ``net`` with the chosen approximations; returns predicted classes."""
    import torch

    from srcfpga.quant.ptq import leak_num, quantize_symmetric

    cell = net.config.cell_config
    alpha, z_hyp, z_dep = cell.alpha, cell.z_hyp, cell.z_dep
    if "shift_constants" in options:
        alpha, z_hyp, z_dep = (1 - leak_num(v, 5) / 32 for v in (alpha, z_hyp, z_dep))
    readout = net.readout.detach().double()
    if "readout_q" in options:
        scale = float(readout.abs().max()) / 127
        readout = torch.from_numpy(quantize_symmetric(readout.numpy(), scale, 8)).double() * scale
    x = torch.from_numpy(frames).double()
    batch, steps, _ = x.shape
    states = [tuple(v.detach().double().expand(batch, -1) for v in (l.init_i, l.init_h, l.init_hs))
              for l in net.layers]
    params = [(l.weight.detach().double(), l.bias.detach().double()) for l in net.layers]
    counts = torch.zeros(batch, readout.shape[1], dtype=torch.float64)
    for t in range(steps):
        s = x[:, t]
        for k, (w, b) in enumerate(params):
            i, h, hs = states[k]
            i = alpha * i + s @ w.T
            if "current_sat" in options:
                i = i.clamp(-CURRENT_LIMIT, CURRENT_LIMIT)
            xi = i.clamp(-cell.rho, cell.rho) if "hard_rho" in options else cell.rho * torch.tanh(i / cell.rho)
            v = xi + cell.r * h + cell.rs * hs + b
            h_next = v.clamp(-1, 1) if "hard_tanh" in options else torch.tanh(v)
            if "step_gate" in options:
                zs = torch.where(h >= 0.5, z_dep, z_hyp)
            else:
                zs = z_hyp - (z_hyp - z_dep) * torch.sigmoid(10 * (h - 0.5))
            hs = zs * hs + (1 - zs) * h
            states[k] = (i, h_next, hs)
            s = (h_next >= 0.5).double() if "binary_spikes" in options else torch.relu(h_next)
        counts += s
    return (counts @ readout.T).argmax(1).numpy()


def accuracy_ablation(limit: int | None) -> list[dict]:
    import torch
    from _common import reference_hw, reference_net

    from srcfpga.data import RateEncoder, load_dataset
    from srcfpga.evaluate import evaluate_hardware, sample_seeds

    torch.set_num_threads(2)
    data = load_dataset("mnist", "test", MNIST_B, limit)
    net = reference_net()
    encoder = RateEncoder(net.config.rate_gain, 32)
    variants = [("paper float (a = 0.9, tanh, sigmoid gate, ReLU spikes)", set())]
    variants += [(f"only {LABELS[a]}", {a}) for a in APPROX]
    variants += [("all seven (float): the golden model's equations", set(APPROX))]
    rows = []
    hws = {bits: reference_hw(bits, net) for bits in (8, 5, 4)}
    for blank, steps in SETTINGS:
        batches = []
        for start in range(0, len(data), 500):
            images = data.images[start:start + 500]
            batches.append((start, encoder.encode(images, steps, blank, sample_seeds(0, start, len(images)))))
        for label, options in variants:
            started = time.perf_counter()
            correct = sum(int((float_variant_predictions(net, frames, options)
                               == data.labels[start:start + len(frames)]).sum()) for start, frames in batches)
            rows.append({"variant": label, "blank": blank, "steps": steps, "accuracy": 100 * correct / len(data),
                         "seconds": round(time.perf_counter() - started, 1)})
        for bits, hw in hws.items():
            result = evaluate_hardware(hw, data, steps=steps, blank=blank)
            rows.append({"variant": f"golden {bits}-bit (integer)", "blank": blank, "steps": steps,
                         "accuracy": 100 * result.accuracy})
    return rows


def integer_effects(limit: int = 200, bits: int = 5) -> dict:
    """Floor-shift drift of the current and saturation counts, from golden traces of the reference model."""
    from _common import reference_hw

    from srcfpga.data import load_dataset
    from srcfpga.golden import run_golden
    from srcfpga.golden.arith import synaptic_sum

    data = load_dataset("mnist", "test", MNIST_B, limit)
    hw = reference_hw(bits)
    q = hw.layers[0]
    res = run_golden(hw, pixels=data.images, steps=200, blank=20, seeds=np.arange(len(data)), trace=True)
    tr = res.traces[0]
    frames = hw.encoder.encode(data.images, 200, 20, np.arange(len(data)))
    keep = 1 - q.decay_num / (1 << q.decay_shift)
    i_lo, i_hi = q.current_range
    i_exact = np.zeros((len(data), q.n_out))
    drift = 0.0
    for t in range(frames.shape[1]):   # the same saturating recursion in float64, without the floor
        i_exact = np.clip(keep * i_exact + synaptic_sum(q, frames[:, t]) * float(1 << q.weight_shift), i_lo, i_hi)
        drift = max(drift, float(np.abs(tr.i[:, t] - i_exact).max()))
    return {"weight_bits": bits, "images": len(data), "steps": 220,
            "current_floor_drift_lsb": drift, "current_floor_drift_real": drift * q.unit,
            "current_drift_bound_lsb": 1 / (1 - keep),
            "current_saturated_fraction": float(((tr.i == i_lo) | (tr.i == i_hi)).mean()),
            "current_abs_max_real": float(np.abs(tr.i).max() * q.unit),
            "current_limit_real": i_hi * q.unit,
            "h_at_plus_one_fraction": float((tr.h == q.one).mean()),
            "h_at_minus_one_fraction": float((tr.h == -q.one).mean()),
            "readout_abs_max": int(np.abs(res.readout).max()), "readout_limit": hw.readout.acc_range[1]}


# ---- part 4: piecewise-linear tables -----------------------------------------------------------------
SEGMENTS = (1, 2, 4, 8, 16)
TABLE_LABELS = {"compression": "rho tanh(i / rho)", "activation": "tanh(v)",
                "gate": "1 - zs = (1 - z_hyp) + (z_hyp - z_dep) sigmoid(10 (h - 0.5))"}


def table_targets(q) -> dict:
    """The functions the tables approximate, in the layer's integers (as the quantizer fits them)."""
    from srcfpga.cells.src.config import SRCCellConfig

    cell = SRCCellConfig
    return {"compression": lambda i: q.rho * np.tanh(i / q.rho),
            "activation": lambda v: q.one * np.tanh(v / q.one),
            "gate": lambda h: q.gate_hyp_num + (q.gate_dep_num - q.gate_hyp_num)
            / (1.0 + np.exp(-cell.gate_slope * (h / q.one - cell.gate_center)))}


def table_errors(net, bits_list=(4, 8)) -> list[dict]:
    """Max |table - function| over every integer input of each table's domain, in real units (1.0 = one;
    the gate in units of zs, i.e. LSBs / 2^gate_shift), per weight width and K."""
    from srcfpga.quant import QuantConfig, quantize_net
    from srcfpga.quant.pwl import max_error

    rows = []
    for bits in bits_list:
        for k in SEGMENTS:
            q = quantize_net(net, QuantConfig(weight_bits=bits, segments=k)).layers[0]
            targets = table_targets(q)
            for name, table in q.tables.items():
                error, where = max_error(table, targets[name], *q.table_domains[name])
                real = 1 << q.gate_shift if name == "gate" else q.one
                rows.append({"weight_bits": bits, "segments": k, "table": name, "max_abs_error": error / real,
                             "max_abs_error_lsb": error, "where_real": where / q.one,
                             "breakpoints": list(table.breakpoints)})
    return rows


def table_accuracy(net, limit: int | None, bits: int = 4, segments=(1, 4, 8, 16), frac_bits=(8, 10)) -> list[dict]:
    """Golden accuracy of the reference model with K-piece tables (PTQ), on mnist-test-b, at the default
    state resolution (F = 8) and a finer one (F = 10: h, hs on 12 bits)."""
    from srcfpga.data import load_dataset
    from srcfpga.evaluate import evaluate_hardware
    from srcfpga.quant import QuantConfig, quantize_net

    data = load_dataset("mnist", "test", MNIST_B, limit)
    rows = []
    for frac in frac_bits:
        for k in segments:
            hw = quantize_net(net, QuantConfig(weight_bits=bits, segments=k, state_frac_bits=frac))
            for blank, steps in SETTINGS[:2]:
                started = time.perf_counter()
                result = evaluate_hardware(hw, data, steps=steps, blank=blank)
                rows.append({"weight_bits": bits, "state_frac_bits": frac, "state_bits": hw.layers[0].state_bits,
                             "segments": k, "blank": blank, "steps": steps, "images": len(data),
                             "accuracy": 100 * result.accuracy, "seconds": round(time.perf_counter() - started, 1)})
    return rows


def print_tables(report: dict) -> None:
    print("\nPiecewise-linear tables (quantize --segments K): max |error| over each table's integer domain,")
    print("real units (1.0 = one; the gate in units of zs), reference model constants")
    for bits in dict.fromkeys(r["weight_bits"] for r in report["table_errors"]):
        print(f"  {bits}-bit weights  " + "".join(f"{'K=' + str(k):>9}" for k in SEGMENTS))
        for name, label in TABLE_LABELS.items():
            errs = {r["segments"]: r["max_abs_error"] for r in report["table_errors"]
                    if r["weight_bits"] == bits and r["table"] == name}
            print(f"    {name:<12}" + "".join(f"{errs[k]:>9.4f}" for k in SEGMENTS) + f"   {label}")
    if "table_accuracy" in report:
        print("\nGolden accuracy with K-piece tables (PTQ), mnist-test-b (%)")
        for r in report["table_accuracy"]:
            print(f"  {r['weight_bits']}-bit, F = {r['state_frac_bits']} (h {r['state_bits']} bits), "
                  f"K = {r['segments']:>2}, "
                  f"{r['blank']} + {r['steps']}: {r['accuracy']:.2f}  ({r['images']} images, {r['seconds']} s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="first N test images in the accuracy ablation")
    parser.add_argument("--no-accuracy", action="store_true", help="only the error tables (no data needed)")
    parser.add_argument("--tables", action="store_true", help="only part 4, the piecewise-linear tables")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    report: dict = {"functions": function_errors(), "machine": machine()}
    have_data = MNIST_B.exists() and REFERENCE.exists()
    if have_data:
        from _common import reference_net

        net = reference_net()
        report["table_errors"] = table_errors(net)
        if not args.no_accuracy:
            report["table_accuracy"] = table_accuracy(net, args.limit)
    if args.tables:
        if args.json:
            print(json.dumps(report, indent=2))
        elif have_data:
            print_tables(report)
        return 0
    if have_data:
        report["constants"] = constant_errors()
        report["integer"] = integer_effects()
        if not args.no_accuracy:
            report["accuracy"] = accuracy_ablation(args.limit)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print("Approximation errors (max over the whole real line / [-1, 1])")
    for row in report["functions"]:
        note = f"   ({row['note']})" if row.get("note") else ""
        print(f"  {row['what']:<78} max |err| {row['max_abs_error']:.4f} at {row['where']}{note}")
    if not have_data:
        print("(../shared not found: reference-model parts skipped)")
        return 0
    print("\nReference model constants after PTQ (real values; paper: rho 3, one 1, half 0.5, bias -6, readout 1 / -0.1)")
    print(f"  {'bits':>4} {'unit':>9} {'k':>2} {'one':>5} {'1.0->':>7} {'0.5->':>7} {'rho->':>7} {'bias->':>8} "
          f"{'i bits':>6} {'i limit':>8} {'h bits':>6} {'max|dw|':>8} {'rms dw':>8} {'clipped':>7} {'-0.1->':>8}")
    for r in report["constants"]:
        print(f"  {r['weight_bits']:>4} {r['unit']:>9.6f} {r['weight_shift']:>2} {r['one']:>5} {r['one_real']:>7.4f} "
              f"{r['half_real']:>7.4f} {r['rho_real']:>7.4f} {r['bias_real']:>8.4f} {r['current_bits']:>6} "
              f"{r['current_limit_real']:>8.3f} {r['state_bits']:>6} {r['max_weight_error']:>8.4f} "
              f"{r['rms_weight_error']:>8.4f} {r['clipped_weights']:>7} {r['readout_off_class']:>8.4f}")
    g = report["integer"]
    print(f"\nInteger effects on golden traces ({g['images']} images x {g['steps']} steps, {g['weight_bits']}-bit):")
    print(f"  current vs exact leak recursion (no floor): max drift {g['current_floor_drift_lsb']:.2f} LSB "
          f"= {g['current_floor_drift_real']:.4f} (bound 1/(1-a) = {g['current_drift_bound_lsb']:.2f} LSB)")
    print(f"  current saturated (|i| at its limit) in {100 * g['current_saturated_fraction']:.4f} % of neuron-steps; "
          f"max |i| {g['current_abs_max_real']:.2f} (limit {g['current_limit_real']:.2f})")
    print(f"  h at +one {100 * g['h_at_plus_one_fraction']:.2f} %, at -one {100 * g['h_at_minus_one_fraction']:.2f} % "
          f"of neuron-steps; readout max |acc| {g['readout_abs_max']} (limit {g['readout_limit']})")
    if "accuracy" in report:
        print("\nAccuracy cost on mnist-test-b (float reference model with approximations switched on; %)")
        cols = [f"{b}+{s}" for b, s in SETTINGS]
        names = list(dict.fromkeys(r["variant"] for r in report["accuracy"]))
        table = {(r["variant"], f"{r['blank']}+{r['steps']}"): r["accuracy"] for r in report["accuracy"]}
        print(f"  {'variant':<58}" + "".join(f"{c:>9}" for c in cols))
        for name in names:
            print(f"  {name:<58}" + "".join(f"{table[(name, c)]:>9.2f}" for c in cols))
    print_tables(report)
    print(f"\nmachine: {report['machine']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

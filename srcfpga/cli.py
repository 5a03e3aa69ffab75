"""srcfpga: spiking recurrent networks to verified Artix-7 hardware. 'srcfpga COMMAND --help' for each command.

The command line is a thin layer over the Python API.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import warnings
from dataclasses import asdict
from pathlib import Path

from . import progress
from .cells import CELLS
from .errors import ConfigError, DegradedWarning, SrcFpgaError


class _UsageError(Exception):
    """A command line that argparse rejects (reported like every other error: one line, exit code 2)."""


class _HelpFormatter(argparse.HelpFormatter):
    """Adds each option's default to its help unless the default is unset (None / False) or already stated."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        unset = action.default is None or action.default is False or action.default == argparse.SUPPRESS
        if not action.option_strings or unset or "default" in text:
            return text
        return f"{text} (default: %(default)s)"


class _ArgumentParser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        raise _UsageError(f"{message} (see '{self.prog} --help')")


# options that name something a command writes; checked before any command starts its work
OUTPUT_OPTIONS = ("output", "out", "waves")


def _check_outputs(args: argparse.Namespace) -> None:
    from .fileio import check_writable

    for name in OUTPUT_OPTIONS:
        if getattr(args, name, None) is not None:
            check_writable(getattr(args, name))


def _warn(message: str) -> None:
    """One ``srcfpga: warning: ...`` line on stderr (the command goes on)."""
    print(f"srcfpga: warning: {message}", file=sys.stderr)


def _note_weight_bits(*widths: int | None) -> None:
    """Warn about weight widths that are accepted but outside the supported range."""
    from .quant.hwmodel import unsupported_weight_bits

    for bits in widths:
        note = unsupported_weight_bits(bits) if bits is not None else None
        if note:
            _warn(note)


def _emit(args: argparse.Namespace, data: dict, text: str) -> None:
    print(json.dumps(data, indent=2) if getattr(args, "json", False) else text)


def _add_json_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout (no progress lines)")


def _add_dataset_args(p: argparse.ArgumentParser, default: str | None = None, splits: bool = True) -> None:
    from .data import DATASETS

    p.add_argument("--dataset", choices=DATASETS, default=default, required=default is None,
                   help="test (train: training) data: digits is built in, the others read --data-dir")
    p.add_argument("--data-dir", type=Path, help="directory with the IDX files (mnist, fashion-mnist) or the "
                                                 "WAV files (fsdd: the folder or its recordings/)")
    p.add_argument("--limit", type=int, help="use only the first N samples")
    if splits:      # the sweep scores the test split of every speaker
        _add_split_args(p)


def _add_split_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--split", choices=("train", "test", "all"),
                   help="split to use (default test; for train: the training split, default train; 'all': fsdd)")
    p.add_argument("--speakers", help="fsdd: only these speakers, e.g. george,jackson (default: all)")


def _load_split(args: argparse.Namespace, split: str | None, limit: int | None, speakers: str | None,
                data_dir: Path | None = None):
    """Dataset ``--dataset`` from ``data_dir`` (default ``--data-dir``): ``split`` (default test), first
    ``limit`` samples, of ``speakers`` (fsdd; comma-separated, None: all)."""
    from .data import load_dataset
    from .data.fsdd import parse_speakers

    return load_dataset(args.dataset, split or "test", data_dir or args.data_dir, limit, parse_speakers(speakers))


def _add_inference_args(p: argparse.ArgumentParser) -> None:
    """``--steps`` and ``--blank`` (default: the model's) and ``--seed``, for the commands that run inferences."""
    p.add_argument("--steps", type=int, help="stimulus steps (default: the model's)")
    p.add_argument("--blank", type=int, help="leading blank steps (default: the model's)")
    p.add_argument("--seed", type=int, default=0, help="encoder seed of sample 0; sample n uses seed + n")


def _add_lanes_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lanes", type=int, help="neurons updated in parallel (default: the HDL's choice)")


def _add_spikes_per_cycle_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spikes-per-cycle", type=int, default=2,
                   help="synaptic columns accumulated per cycle: 1, 2 (both BRAM ports) or 4 (two copies of each "
                        "weight ROM); default 2")
    p.add_argument("--pack-masks", action="store_true",
                   help="pack a step's input spikes across masks into full beats (HdlConfig.pack_masks)")


def _add_quant_args(p: argparse.ArgumentParser, bits_required: bool) -> None:
    p.add_argument("--weight-bits", type=int, required=bits_required, help="weight width, 2..8 (4..8 supported)")
    p.add_argument("--state-frac-bits", type=int, help="LSBs per 1.0 of h is about 2^F (default 8)")
    p.add_argument("--readout-bits", type=int, help="readout weight width (default 8)")
    p.add_argument("--clip", choices=("mse", "max"), help="weight scale choice (default mse)")
    p.add_argument("--encoder-generators", type=int, help="parallel encoder generators E, 2E pixels/cycle (default 32)")
    p.add_argument("--segments", type=int, metavar="K",
                   help="pieces of each SRC nonlinearity table (tanh, rho tanh, sigmoid gate), 1..16 "
                        "(default 1: hard clamps and a step gate); see docs/fixed-point.md")


QUANT_OPTIONS = ("weight_bits", "state_frac_bits", "readout_bits", "clip", "encoder_generators", "segments")


def _quant_config(args: argparse.Namespace, base: dict | None = None):
    from .quant import QuantConfig

    options = dict(base or {})
    for name in QUANT_OPTIONS:
        if getattr(args, name) is not None:
            options[name] = getattr(args, name)
    if "weight_bits" not in options:
        raise ConfigError("--weight-bits is required (the model carries no QAT bit width)")
    return QuantConfig(**options)


NIR_IMPORT_OPTIONS = ("dt", "reset", "encoding", "rate_gain", "steps", "blank")


def cmd_import(args: argparse.Namespace) -> int:
    from .nn import save_model

    if args.source.suffix != ".nir" and not args.source.is_file():   # a lab export directory
        from .nn import import_ulg

        given = [f"--{name.replace('_', '-')}" for name in NIR_IMPORT_OPTIONS if getattr(args, name) is not None]
        if given:
            raise _UsageError(f"{', '.join(given)} apply to NIR graphs (.nir files), not to the lab export "
                              f"{args.source}")
        net = import_ulg(args.source)
    else:
        from .nn.nir import import_model

        net = import_model(args.source, dt=args.dt, reset=args.reset, encoding=args.encoding,
                           rate_gain=args.rate_gain, steps=args.steps, blank=args.blank)
    save_model(net, args.output, meta={"imported_from": str(args.source)})
    sizes = [net.config.input_size, *net.config.hidden]
    _emit(args, {"output": str(args.output), "sizes": sizes},
          f"imported {args.source} ({' -> '.join(map(str, sizes))} -> readout {net.config.n_classes}) to {args.output}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .nn import load_model
    from .nn.nir import export_model

    net, _ = load_model(args.nir)
    network = export_model(net, args.output, dt=args.dt)
    _emit(args, {"output": str(args.output), "sizes": list(network.sizes), "dt": network.dt},
          f"exported {args.nir} ({' -> '.join(map(str, network.sizes))} -> readout {network.readout.n_classes}) "
          f"as NIR (dt {network.dt:g}) to {args.output}")
    return 0


def cmd_quantize(args: argparse.Namespace) -> int:
    from .nn import load_model
    from .nn.checkpoint import quantize_model

    net, meta = load_model(args.model)
    qc = _quant_config(args, meta.get("quant"))
    _note_weight_bits(qc.weight_bits)
    hw = quantize_model(net, qc)
    hw.save(args.output)
    _emit(args, {"output": str(args.output), "content_hash": hw.content_hash, "quant": asdict(qc)},
          f"wrote {args.output}: {qc.weight_bits}-bit weights, {hw.layers[0].summary()}, hash {hw.content_hash[:12]}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluate import evaluate, load_any

    model = load_any(args.model)
    dataset = _load_split(args, args.split, args.limit, args.speakers)
    result = evaluate(model, dataset, steps=args.steps, blank=args.blank, seed=args.seed, progress=not args.json)
    data = {"accuracy": result.accuracy, "samples": result.samples, "steps": result.steps, "blank": result.blank,
            "path": result.path, "mean_input_spikes_per_step": result.mean_input_spikes_per_step}
    _emit(args, data, f"{result.path} accuracy {100 * result.accuracy:.2f} % on {result.samples} "
                      f"{dataset.name} test samples ({result.blank} blank + {result.steps} steps)")
    return 0


def _cell_options(args: argparse.Namespace) -> dict:
    """The cell constants given on the command line for a new network of kind ``args.cell``; one the kind does
    not have, or any with ``--init`` (the model keeps its constants), is an error."""
    given = [option for option in CELLS.options() if getattr(args, option.name) is not None]
    if given and args.init:
        raise _UsageError(f"{', '.join(option.flag for option in given)}: cell constants of a new network; "
                          f"--init {args.init} keeps its own")
    if wrong := [option for option in given if args.cell not in option.kinds]:
        raise _UsageError("; ".join(f"{option.flag} applies to {'/'.join(option.kinds)}, not to --cell {args.cell}"
                                    for option in wrong))
    return {option.name: getattr(args, option.name) for option in given}


def cmd_train(args: argparse.Namespace) -> int:
    from .evaluate import evaluate
    from .nn import load_model, save_model
    from .nn.network import net_for_dataset
    from .nn.train import TrainConfig, seed_initialization, train, with_encoding

    quant = _quant_config(args) if any(getattr(args, name) is not None for name in QUANT_OPTIONS) else None
    _note_weight_bits(args.weight_bits)
    train_set = _load_split(args, args.split or "train", args.limit, args.speakers)
    test_dir = args.data_dir if args.test_data_dir is None else args.test_data_dir
    test_set = _load_split(args, args.test_split, args.test_limit, args.test_speakers or args.speakers, test_dir)
    cell_options = _cell_options(args)
    seed_initialization(args.seed)
    if args.init:
        net, _ = load_model(args.init)
        net = with_encoding(net, args.steps, args.blank)
    else:
        net = net_for_dataset(train_set, args.cell, tuple(args.hidden), encoding=args.encoding,
                              row_levels=tuple(args.row_levels), steps=args.steps, blank=args.blank,
                              rate_gain=args.rate_gain, readout_window=args.readout_window,
                              readout_decay=args.readout_decay, readout_bias=args.readout_bias,
                              cell_options=cell_options)
    epochs = args.epochs if args.epochs is not None else (0 if args.init else 5)
    qat_epochs = args.qat_epochs if args.qat_epochs is not None else (2 if args.weight_bits else 0)
    cfg = TrainConfig(epochs=epochs, qat_epochs=qat_epochs, weight_bits=args.weight_bits, batch_size=args.batch_size,
                      lr=args.lr, qat_lr=args.qat_lr, seed=args.seed, threads=args.threads,
                      logit_scale=args.logit_scale, lr_schedule=args.lr_schedule)
    result = train(net, train_set, cfg, quant=quant, progress=not args.json)
    hw = result.model.export() if qat_epochs else None
    test = evaluate(result.model if hw is None else hw, test_set)
    data = {"dataset": args.dataset, "train_samples": len(train_set), "test_samples": test.samples,
            "test_data_dir": None if test_dir is None else str(test_dir), "test_accuracy": test.accuracy,
            "test_path": test.path} | ({"content_hash": hw.content_hash} if hw is not None else {})
    save_model(result.net, args.output, result.meta() | data)
    _emit(args, {"output": str(args.output), "path": test.path, "train_seconds": result.seconds,
                 "history": result.history} | data,
          f"trained on {len(train_set)} {args.dataset} images in {result.seconds:.0f} s; {test.path} accuracy "
          f"{100 * test.accuracy:.2f} % on {test.samples} test images"
          f"{'' if test_dir is None else f' of {test_dir}'}"
          f"{'' if hw is None else f' (hardware model hash {hw.content_hash[:12]})'}; wrote {args.output}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import format_demo, run_demo

    report = run_demo(args.out, retrain=args.retrain, progress=not args.json, rtl_samples=args.rtl_samples)
    _emit(args, report, format_demo(report))
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    """Exit status 1 when a required component is missing."""
    from .doctor import format_report, healthy, run_checks

    results = run_checks()
    _emit(args, {"healthy": healthy(results), "checks": [c.to_dict() for c in results]}, format_report(results))
    return 0 if healthy(results) else 1


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _ArgumentParser(prog="srcfpga", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"srcfpga {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="digits SRC: float vs golden accuracy at 4..8 bits, QAT, Verilog, Verilator run")
    p.add_argument("--out", type=Path, default=Path("srcfpga-demo"), help="output directory (default srcfpga-demo)")
    p.add_argument("--retrain", action="store_true", help="train anew instead of loading the shipped checkpoint")
    p.add_argument("--rtl-samples", type=int, default=20, metavar="N",
                   help="test digits simulated in Verilator against the golden model (0: skip)")
    _add_json_arg(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("doctor", help="check the installation: Python, torch, Amaranth, Yosys, Verilator, "
                                      "Icarus, Vivado, the cache (exit status 1 when something required is missing)")
    _add_json_arg(p)
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("train", help="train a float (and optionally QAT) network")
    _add_dataset_args(p)
    p.add_argument("--test-limit", type=int, help="score on the first N test samples (default: all; --limit is "
                                                  "for the training set)")
    p.add_argument("--test-split", choices=("train", "test", "all"), help="split scored after training (default test)")
    p.add_argument("--test-speakers", help="fsdd: speakers scored after training (default: --speakers)")
    p.add_argument("--test-data-dir", type=Path, help="directory with the test IDX files (t10k-*), when they are "
                                                      "not in --data-dir (e.g. ../shared/data/mnist-test-b)")
    p.add_argument("--cell", choices=CELLS.names(), default="src",
                   help=f"recurrent cell kind ({'; '.join(f'{k.name}: {k.summary}' for k in CELLS)})")
    p.add_argument("--hidden", type=int, nargs="+", default=[128], help="layer sizes, e.g. --hidden 128 64")
    p.add_argument("--steps", type=int, help="stimulus steps (default 40; row encoding: the image rows)")
    p.add_argument("--blank", type=int, help="leading blank steps (default 4; row encoding: 0)")
    p.add_argument("--encoding", choices=("rows", "rate"),
                   help="input: image rows (audio: frames), thermometer-coded, or rate-coded pixels (default: "
                        "the cell kind's, rows for bmru/cmru, rate for src)")
    p.add_argument("--row-levels", type=int, nargs="+", default=[64, 128, 192], help="row encoding grey levels")
    p.add_argument("--readout-window", type=int, default=0,
                   help="bmru/cmru: read out the last N steps (default 0: all steps)")
    p.add_argument("--readout-decay", type=float,
                   help="if/lif/cubalif: a leaky (LI) readout keeping this fraction per step, in [0, 1) "
                        "(default: the integrating readout)")
    p.add_argument("--readout-bias", action="store_true", default=None,
                   help="if/lif/cubalif: a trained per-class readout bias (bmru/cmru always have one)")
    for option in CELLS.options():   # the kinds' cell constants (srcfpga.cells.cli_option fields)
        p.add_argument(option.flag, **(option.argparse | {"help": f"{'/'.join(option.kinds)}: "
                                                                  f"{option.argparse['help']}"}))
    p.add_argument("--rate-gain", type=float, default=0.25, help="rate encoder: spike probability per unit intensity")
    p.add_argument("--epochs", type=int, help="float training epochs (default 5; 0 with --init)")
    _add_quant_args(p, bits_required=False)   # --weight-bits: QAT epochs at this width, with these options
    p.add_argument("--qat-epochs", type=int, help="QAT epochs after the float ones (default 2 with --weight-bits)")
    p.add_argument("--batch-size", type=int, default=64, help="training batch size")
    p.add_argument("--lr", type=float, help="Adam learning rate of the float epochs (default: the cell kind's, 1e-2)")
    p.add_argument("--qat-lr", type=float, default=1e-3, help="Adam learning rate of the QAT epochs")
    p.add_argument("--lr-schedule", default="constant",
                   help="learning rate within each phase (float, QAT): constant, or cosine (annealed per batch from "
                        "--lr / --qat-lr towards 0)")
    p.add_argument("--logit-scale", type=float, default=1.0,
                   help="multiply the logits inside the loss (about 10 for a fixed readout such as the imported "
                        "reference's; the class does not change)")
    p.add_argument("--seed", type=int, default=0, help="seed of initialization, shuffling and encoding")
    p.add_argument("--threads", type=int, default=1, help="torch threads (one is fastest for these small tensors)")
    p.add_argument("--init", type=Path, help="start from this float model (train, import); --steps / --blank "
                                             "replace its encoding")
    p.add_argument("-o", "--output", type=Path, required=True, help="the trained model (.pt) to write")
    _add_json_arg(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("import", help="import a NIR graph (.nir) of LIF-family neurons, or a reference lab export "
                                      "(a directory with arrays.npz + config.json); see docs/nir.md")
    p.add_argument("source", type=Path, help="a .nir file, or a directory with arrays.npz and config.json")
    p.add_argument("--dt", type=float,
                   help="NIR: the exporter's time step; forward Euler at dt gives the per-step constants "
                        "(default 1e-4, snnTorch's)")
    p.add_argument("--reset", choices=("zero", "subtract", "zero_after"),
                   help="NIR: reset of every spiking layer (default: the nodes' metadata, else zero as NIR "
                        "defines it; snnTorch's default is subtract, which its export does not record)")
    p.add_argument("--encoding", choices=("rate", "rows", "frames"),
                   help="NIR: input encoder of the imported model: rate-coded pixels (default), image rows, or "
                        "spike frames given as they are")
    p.add_argument("--rate-gain", type=float, help="NIR: rate encoder spike probability per unit "
                                                                 "intensity (default 0.25)")
    p.add_argument("--steps", type=int, help="NIR: stimulus steps (default: the cell kind's, 25 for the LIF family; "
                                             "row encoding: the image rows, required)")
    p.add_argument("--blank", type=int, help="NIR: leading blank steps (default: the cell kind's, 0 for the LIF "
                                             "family)")
    p.add_argument("-o", "--output", type=Path, required=True, help="the float model (.pt) to write")
    _add_json_arg(p)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export", help="export a float model of lif / cubalif / if cells as a NIR graph")
    p.add_argument("--nir", type=Path, required=True, metavar="MODEL", help="the float .pt model to export")
    p.add_argument("--dt", type=float, default=1e-4, help="time step of the written time constants (default 1e-4, "
                                                          "snnTorch's)")
    p.add_argument("-o", "--output", type=Path, required=True, help="the NIR graph (.nir) to write")
    _add_json_arg(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("quantize", help="post-training quantization of a float model to a .hw HardwareModel")
    p.add_argument("model", type=Path, help="a float .pt model (train, import)")
    _add_quant_args(p, bits_required=False)
    p.add_argument("-o", "--output", type=Path, required=True, help="the HardwareModel (.hw) to write")
    _add_json_arg(p)
    p.set_defaults(func=cmd_quantize)

    p = sub.add_parser("eval", help="accuracy of a float .pt (torch) or a .hw (golden model)")
    p.add_argument("model", type=Path, help="a float .pt model or a .hw HardwareModel")
    _add_dataset_args(p)
    _add_inference_args(p)
    _add_json_arg(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("verilog", help="generate the Verilog of a .hw model (one file + manifest.json), lint it")
    p.add_argument("model", type=Path, help="a .hw HardwareModel")
    _add_hdl_args(p)
    p.add_argument("--no-lint", action="store_true", help="skip the Verilator lint")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="DIR",
                   help="directory for the Verilog and manifest.json")
    _add_json_arg(p)
    p.set_defaults(func=cmd_verilog)

    p = sub.add_parser("sim", help="simulate the generated Verilog (cocotb + Verilator/Icarus), compare with golden")
    p.add_argument("model", type=Path, help="a .hw HardwareModel")
    _add_dataset_args(p)
    _add_inference_args(p)
    _add_lanes_arg(p)
    _add_spikes_per_cycle_arg(p)
    p.add_argument("--simulator", choices=("verilator", "icarus"), default="verilator", help="RTL simulator")
    p.add_argument("--waves", type=Path, metavar="DIR",
                   help="keep the run (waveform: FST, or VCD without liblz4-dev; log) in DIR")
    p.add_argument("--gaps", type=float, default=0.0,
                   help="probability of an idle cycle on the streams (back-pressure test; default 0: full speed)")
    p.add_argument("--states", action="store_true",
                   help="build with the state trace (HdlConfig(trace_states=True)) and compare every neuron's "
                        "state words with golden at every step, too")
    p.add_argument("--netlist", action="store_true",
                   help="gate-level: simulate the Yosys synth_xilinx netlist with Yosys's Xilinx cell models "
                        "(Verilator) instead of the RTL")
    p.add_argument("--memory", choices=("auto", "block", "distributed"), default="auto", help="weight ROM style")
    _add_json_arg(p)
    p.set_defaults(func=cmd_sim)

    p = sub.add_parser("prove", help="prove every layer's update datapath equal to the integer specification for "
                                     "every reachable state and input (SMT: SymbiYosys, yosys-smtbmc, Yices)")
    p.add_argument("model", type=Path, help="a .hw HardwareModel")
    p.add_argument("--layer", type=int, action="append", help="prove only this layer (0-based; repeatable)")
    p.add_argument("--keep", type=Path, metavar="DIR",
                   help="keep each layer's SymbiYosys run (circuit, logs, counterexample trace) in DIR/layerN")
    p.add_argument("--timeout", type=float, help="give up on a check after this many seconds")
    p.add_argument("--jobs", type=int, help="solver runs at a time (default: one per core)")
    _add_json_arg(p)
    p.set_defaults(func=cmd_prove)

    p = sub.add_parser("sweep", help="weight bits x table pieces x steps sweep of a float model: golden accuracy, "
                                     "cycles, estimates, plots (results.csv/json)")
    p.add_argument("model", type=Path, help="a float .pt model (each width is quantized from it)")
    p.add_argument("--weight-bits", default="4,5,6,7,8", help="widths, e.g. 4,5,6,7,8 or 4-8 (default 4-8)")
    p.add_argument("--steps", default="40,50,200",
                   help="stimulus steps per inference, as in eval / sim / estimate (default 40,50,200)")
    p.add_argument("--segments", default="1", metavar="K",
                   help="pieces of each SRC nonlinearity table, e.g. 1,4,8 (default 1; see quantize --segments)")
    p.add_argument("--blank", help="leading blank steps: one for all step counts or one per step count "
                                   "(default: a tenth of the stimulus, steps // 10: 4+40, 5+50, 20+200)")
    _add_dataset_args(p, splits=False)
    p.add_argument("--qat-epochs", type=int, default=0, help="QAT fine-tuning epochs per width (default 0: PTQ only)")
    p.add_argument("--qat-train-limit", type=int, help="QAT on the first N training images only")
    p.add_argument("--qat-data-dir", type=Path, help="directory with the training IDX files (train-*) for QAT, "
                                                     "when they are not in --data-dir (e.g. ../shared/data/mnist-train)")
    p.add_argument("--board", help="board for resource / power / energy estimates (srcfpga.boards)")
    p.add_argument("--lanes", type=int, help="HDL lanes for the cycle model and estimates (default: the HDL's)")
    p.add_argument("--latency-samples", type=int, default=256,
                   help="test images whose golden spikes feed the cycle model (default 256; 0: none)")
    p.add_argument("--sim-samples", type=int, default=0, help="test images checked in RTL simulation per point")
    p.add_argument("--simulator", choices=("verilator", "icarus"), default="verilator",
                   help="RTL simulator for --sim-samples")
    p.add_argument("--executor", default="local", help="local (processes, default), serial or dask://host:port")
    p.add_argument("--workers", type=int, help="local worker processes (default: one per core)")
    p.add_argument("--anchors", help="published points to overlay: ACC@BITS/STEPS,... (stimulus steps) or 'ulg' "
                                     "(reference model)")
    p.add_argument("--accuracy-floor", type=float, metavar="FRACTION",
                   help="search (needs --board): report the configuration with the least energy per inference "
                        "whose golden accuracy is at least FRACTION (e.g. 0.975) and that fits the board; only "
                        "points above the floor are synthesized (README, 'Least-energy search')")
    p.add_argument("--encoder-generators", metavar="E,...",
                   help="search axis: rate-encoder generator counts (powers of two, e.g. 16,32,64; each changes "
                        "the spike stream, so it is scored by the golden model)")
    p.add_argument("--hdl", action="append", default=[], metavar="FIELD=V,...",
                   help="search axis over an HdlConfig field, repeatable: lanes=8,16 spikes_per_cycle=2,4 "
                        "(weight-memory read ports) pack_masks=no,yes memory=auto,distributed")
    p.add_argument("--title", help="plot title prefix")
    p.add_argument("--seed", type=int, default=0, help="encoder seed of sample 0; sample n uses seed + n")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="DIR",
                   help="results directory (results.json/csv, models/, plots); reused rows are not recomputed")
    _add_json_arg(p)
    p.set_defaults(func=cmd_sweep)
    _add_board_commands(sub)
    for action in sub._choices_actions:          # "srcfpga COMMAND --help" starts with what COMMAND does
        sub.choices[action.dest].description = action.help
    return parser


def cmd_sweep(args: argparse.Namespace) -> int:
    from .sweep import SweepConfig, parse_anchors, parse_int_list, run_sweep

    config = SweepConfig(
        weight_bits=parse_int_list(args.weight_bits, "--weight-bits"), steps=parse_int_list(args.steps, "--steps"),
        segments=parse_int_list(args.segments, "--segments"),
        blank=parse_int_list(args.blank, "--blank") if args.blank else None, dataset=args.dataset,
        data_dir=args.data_dir, limit=args.limit, qat_epochs=args.qat_epochs, qat_train_limit=args.qat_train_limit,
        qat_data_dir=args.qat_data_dir, board=args.board, seed=args.seed, lanes=args.lanes, latency_samples=args.latency_samples,
        sim_samples=args.sim_samples, simulator=args.simulator)
    _note_weight_bits(*config.weight_bits)
    if args.accuracy_floor is not None or args.encoder_generators or args.hdl:
        return _sweep_search(args, config)
    anchors = parse_anchors(args.anchors) if args.anchors else ()
    result = run_sweep(args.model, config, args.output, executor=args.executor, workers=args.workers,
                       anchors=anchors, progress=not args.json, title=args.title)
    files = ", ".join(str(path) for path in result.files.values())
    _emit(args, result.to_dict(), f"{result.table()}\n{len(result.rows)} points ({result.computed} computed, "
                                  f"{result.reused} reused) in {result.seconds:.0f} s; wrote {files}")
    return 0


def _sweep_search(args: argparse.Namespace, config) -> int:
    from .sweep import DesignAxes, SearchConfig, parse_int_list, search_sweep

    if args.accuracy_floor is None or args.board is None:
        raise ConfigError("--encoder-generators and --hdl are axes of the least-energy search: give "
                          "--accuracy-floor FRACTION and --board BOARD with them")
    search = SearchConfig(accuracy_floor=args.accuracy_floor, board=args.board,
                          encoder_generators=parse_int_list(args.encoder_generators, "--encoder-generators")
                          if args.encoder_generators else None, design=DesignAxes.parse(args.hdl))
    result = search_sweep(args.model, config, search, args.output, executor=args.executor, workers=args.workers,
                          progress=not args.json, title=args.title)
    files = ", ".join(str(path) for path in result.files.values())
    _emit(args, result.to_dict(), f"{result.table()}\n{result.summary()}\n{result.seconds:.0f} s; wrote {files}")
    return 0 if result.best is not None else 1


def _add_hdl_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lanes", type=int, help="neurons updated in parallel per layer (default: srcfpga.hdl.default_lanes)")
    p.add_argument("--memory", choices=("auto", "block", "distributed"), default="auto", help="weight ROM style")
    p.add_argument("--input", choices=("pixels", "frames"), default="pixels",
                   help="pixel intensities (on-chip encoder) or spike frames")
    _add_spikes_per_cycle_arg(p)


def _hdl_config(args: argparse.Namespace):
    from .hdl import HdlConfig

    return HdlConfig(lanes=args.lanes, memory=args.memory, input=args.input, spikes_per_cycle=args.spikes_per_cycle,
                     pack_masks=args.pack_masks)


def cmd_verilog(args: argparse.Namespace) -> int:
    from .hdl import generate_verilog, lint
    from .quant import HardwareModel

    model = HardwareModel.load(args.model)
    manifest = generate_verilog(model, _hdl_config(args), args.output)
    if not args.no_lint:
        lint(args.output / manifest["verilog"])
    cfg = manifest["config"]
    _emit(args, manifest, f"wrote {args.output / manifest['verilog']} and manifest.json "
                          f"(lanes {cfg['lanes']}, {cfg['spikes_per_cycle']} spikes/cycle, input {cfg['input']}"
                          f"{'' if args.no_lint else ', Verilator lint clean'})")
    return 0


def cmd_sim(args: argparse.Namespace) -> int:
    """Exit status 1 when any sample differs from the golden model or, without gaps, from the cycle model."""
    from .evaluate import check_inputs, sample_seeds
    from .hdl import HdlConfig, default_input
    from .quant import HardwareModel
    from .sim.regression import NO_GAPS, Backpressure, regress

    if not 0.0 <= args.gaps < 1.0:
        raise ConfigError(f"--gaps must be in [0, 1), got {args.gaps}")
    model = HardwareModel.load(args.model)
    dataset = _load_split(args, args.split, args.limit, args.speakers)
    check_inputs(dataset, model.image_pixels)
    gaps = NO_GAPS if args.gaps == 0 else Backpressure(1.0 - args.gaps, 1.0 - args.gaps)
    seeds = sample_seeds(args.seed, 0, len(dataset))
    options = dict(labels=dataset.labels, simulator=args.simulator, waves=args.waves is not None,
                   run_dir=args.waves, backpressure=gaps, netlist=args.netlist)
    hdl = dict(lanes=args.lanes, memory=args.memory, trace_states=args.states,
               spikes_per_cycle=args.spikes_per_cycle, pack_masks=args.pack_masks)
    if default_input(model) == "pixels":
        report, _ = regress(model, HdlConfig(**hdl), pixels=dataset.images,
                            seeds=seeds, steps=args.steps, blank=args.blank, **options)
    else:       # no on-chip engine for this encoder: the host encodes, the hardware takes spike frames
        steps = model.steps if args.steps is None else args.steps
        blank = model.blank if args.blank is None else args.blank
        frames = model.encoder.encode(dataset.images, steps, blank, seeds)
        report, _ = regress(model, HdlConfig(input="frames", **hdl),
                            spikes=frames, steps=steps, blank=blank, **options)
    _emit(args, report.to_dict(), report.summary())
    return 0 if report.passed else 1


def cmd_prove(args: argparse.Namespace) -> int:
    """Exit status 1 when a layer is refuted (its counterexample is printed) or cannot be proven."""
    from .quant import HardwareModel
    from .verify import prove_model

    model = HardwareModel.load(args.model)
    report = prove_model(model, workdir=args.keep, timeout=args.timeout, layers=args.layer, jobs=args.jobs)
    _emit(args, report.to_dict(), report.summary())
    return 0 if report.passed else 1


# ---- boards: srcfpga boards / estimate / build / run (srcfpga.boards) ------------------------------------

def _add_board_commands(sub) -> None:
    p = sub.add_parser("boards", help="list the supported Artix-7 boards with device and resources")
    _add_json_arg(p)
    p.set_defaults(func=cmd_boards)

    p = sub.add_parser("estimate", help="resources, Fmax, latency, power and energy on a board, without Vivado")
    p.add_argument("model", type=Path, nargs="?", help="a .hw HardwareModel (or --verilog)")
    p.add_argument("--board", help="board name (srcfpga boards)")
    p.add_argument("--verilog", type=Path, nargs="+", metavar="FILE",
                   help="estimate these Verilog / SystemVerilog files instead of a model (with --top --part --clock)")
    p.add_argument("--top", help="top module of --verilog")
    p.add_argument("--part", help="Artix-7 part of --verilog, e.g. xc7a35tcpg236-1")
    p.add_argument("--clock", type=float, help="clock of --verilog (MHz)")
    _add_lanes_arg(p)
    _add_spikes_per_cycle_arg(p)
    _add_inference_args(p)
    p.add_argument("--dataset", help="measure spike activity on this test set (default: random frames)")
    p.add_argument("--data-dir", type=Path, help="directory with the IDX files (mnist, fashion-mnist) or the "
                                                 "WAV files (fsdd)")
    p.add_argument("--limit", type=int, help="samples for the activity measurement (default 32)")
    _add_split_args(p)
    _add_json_arg(p)
    p.set_defaults(func=cmd_estimate)

    p = sub.add_parser("build", help="write the Vivado project of a board (runs Vivado when it is on PATH)")
    p.add_argument("model", type=Path, help="a .hw HardwareModel")
    p.add_argument("--board", required=True, help="board name (srcfpga boards)")
    _add_lanes_arg(p)
    p.add_argument("--input", choices=("pixels", "frames"), default="pixels", help="host sends images or frames")
    p.add_argument("--baud", type=int, default=115200, help="UART baud rate (default 115200)")
    p.add_argument("--no-vivado", action="store_true", help="only write the project, even if Vivado is present")
    p.add_argument("--no-fit-check", action="store_true",
                   help="skip the resource check (a Yosys synthesis, cached; minutes on a cold cache)")
    p.add_argument("--allow-timing-failure", action="store_true",
                   help="write the bitstream even when the routed design misses timing (negative slack)")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="DIR", help="directory for the Vivado project")
    _add_json_arg(p)
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("run", help="classify on a board over its UART (pyserial); --port golden emulates it")
    p.add_argument("model", type=Path, help="the .hw HardwareModel the board was built from")
    p.add_argument("image", type=Path, nargs="?", help="an image file (grayscale, resized to the input size)")
    p.add_argument("--port", required=True, help="serial port or pyserial URL; 'golden' = software stand-in")
    p.add_argument("--baud", type=int, default=115200, help="UART baud rate the board was built for")
    p.add_argument("--input", choices=("pixels", "frames"), default="pixels", help="what the board was built for")
    p.add_argument("--dataset", help="classify test images of this dataset instead of one image")
    p.add_argument("--data-dir", type=Path, help="directory with the IDX files (mnist, fashion-mnist) or the "
                                                 "WAV files (fsdd)")
    p.add_argument("--limit", type=int, help="use only the first N samples")
    _add_split_args(p)
    _add_inference_args(p)
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each answer")
    _add_json_arg(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("board-sim", help="the UART board top in Verilator behind a TCP socket, for "
                                         "srcfpga run --port socket://localhost:PORT")
    p.add_argument("model", type=Path, help="a .hw HardwareModel")
    _add_lanes_arg(p)
    p.add_argument("--input", choices=("pixels", "frames"), default="pixels", help="host sends images or frames")
    p.add_argument("--listen", type=int, default=0, metavar="PORT", help="TCP port (default: a free one, printed)")
    p.add_argument("--host", default="localhost", help="address to listen on (default localhost)")
    p.add_argument("--divisor", type=int,
                   help="simulated clock cycles per UART bit (default 4, the fastest the receiver takes; the "
                        "answers do not depend on it)")
    p.add_argument("--connections", type=int, default=0,
                   help="stop after this many clients have disconnected (default 0: serve until interrupted)")
    p.add_argument("--fault", action="append", default=[], metavar="KIND@BYTE",
                   help="inject a line fault for testing, repeatable: framing@N (byte N sent with a bad stop bit) "
                        "or reset@N (reset the board before byte N); N counts the bytes received from clients")
    _add_json_arg(p)
    p.set_defaults(func=cmd_board_sim)


def cmd_boards(args: argparse.Namespace) -> int:
    from .boards import BOARDS

    rows = [board.to_dict() for board in BOARDS.values()]
    lines = [f"{'board':14s} {'part':20s} {'LUT':>7s} {'FF':>7s} {'BRAM36':>6s} {'DSP':>4s} {'static W':>8s}  clock"]
    for b in rows:
        r = b["resources"]
        lines.append(f"{b['name']:14s} {b['part']:20s} {r['lut']:7d} {r['ff']:7d} {r['bram36']:6d} {r['dsp']:4d} "
                     f"{b['static_w']:8.3f}  {b['clock_mhz']:g} MHz osc. ({b['title']})")
    _emit(args, {"boards": rows}, "\n".join(lines))
    return 0


def cmd_estimate(args: argparse.Namespace) -> int:
    from .boards import estimate, get_board
    from .boards.activity import DEFAULT_SAMPLES
    from .data import DATASETS
    from .evaluate import check_inputs, sample_seeds
    from .quant import HardwareModel

    if args.verilog:
        return _estimate_verilog(args)
    if args.model is None or args.board is None:
        raise ConfigError("give a model and --board, or --verilog FILES --top NAME --part PART --clock MHZ")
    board = get_board(args.board)
    model = HardwareModel.load(args.model)
    frames = None
    if args.dataset is not None:
        if args.dataset not in DATASETS:
            raise ConfigError(f"unknown dataset {args.dataset!r}; choose one of {', '.join(DATASETS)}")
        data = _load_split(args, args.split, args.limit or DEFAULT_SAMPLES, args.speakers)
        check_inputs(data, model.image_pixels)
        steps = model.steps if args.steps is None else args.steps
        blank = model.blank if args.blank is None else args.blank
        frames = model.encoder.encode(data.images, steps, blank, sample_seeds(args.seed, 0, len(data)))
    est = estimate(model, board, lanes=args.lanes, steps=args.steps, blank=args.blank, limit=args.limit,
                   seed=args.seed, frames=frames,
                   spikes_per_cycle=args.spikes_per_cycle, pack_masks=args.pack_masks)
    _emit(args, est.to_dict(), est.summary() + "\nenergy per inference by block (uJ):\n" + est.breakdown_table())
    return 0


def _estimate_verilog(args: argparse.Namespace) -> int:
    from .boards.estimate import estimate_verilog, read_sources

    missing = [f"--{name}" for name in ("top", "part", "clock") if getattr(args, name) is None]
    if missing or args.model is not None or args.board is not None:
        raise ConfigError(f"--verilog needs --top, --part and --clock and no model or --board"
                          f"{' (missing ' + ', '.join(missing) + ')' if missing else ''}")
    est = estimate_verilog(read_sources(args.verilog), args.top, args.part, args.clock)
    _emit(args, est.to_dict(), est.summary())
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from .boards import build_project, get_board
    from .hdl import HdlConfig
    from .quant import HardwareModel

    board = get_board(args.board)
    model = HardwareModel.load(args.model)
    overflow = []
    if not args.no_fit_check:
        from .boards.estimate import fit_report

        utilization, overflow = fit_report(model, board, HdlConfig(lanes=args.lanes, input=args.input))
        if overflow:
            _warn(f"the design does not fit the {board.device.part} of {board.name}: "
                  + ", ".join(f"{name} {100 * utilization[name]:.0f} %" for name in overflow)
                  + " of the device (Yosys estimate); Vivado will fail to place it")
    info = build_project(model, board, args.output, HdlConfig(lanes=args.lanes, input=args.input), args.baud,
                         run=not args.no_vivado, allow_timing_failure=args.allow_timing_failure)
    info["fits"] = None if args.no_fit_check else not overflow
    if info["vivado"]:
        from .boards.activity import measure_activity
        from .boards.vivado import ingest_reports

        activity = measure_activity(model, HdlConfig(lanes=args.lanes, input=args.input).resolve(model))
        info["report"] = ingest_reports(args.output, board, activity.cycles_per_inference)
    text = f"wrote the Vivado project for {board.name} ({board.device.part}) to {args.output}: {', '.join(info['files'])}"
    if info["vivado"]:
        timing = info["timing"]
        text += f"\nVivado ran; reports ingested; routed worst negative slack {timing['wns_ns']:.3f} ns"
        text += "" if timing["meets_timing"] else " (timing NOT met; bitstream written as asked)"
    else:
        text += "\nvivado is not on PATH: run build_top.sh there to implement it"
    _emit(args, info, text)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    import numpy as np

    from .boards.host import HostLink, load_image, open_port
    from .quant import HardwareModel

    model = HardwareModel.load(args.model)
    if (args.image is None) == (args.dataset is None):
        raise ConfigError("give either an image file or --dataset")
    if args.image is not None:
        images, labels = load_image(args.image, model.input_size)[None], None
    else:
        from .evaluate import check_inputs

        data = _load_split(args, args.split, args.limit, args.speakers)
        check_inputs(data, model.image_pixels)
        images, labels = data.images, data.labels
    steps = model.steps if args.steps is None else args.steps
    blank = model.blank if args.blank is None else args.blank
    port = open_port(args.port, model, args.baud, args.timeout, args.input)
    link = HostLink(port, model, args.timeout)
    answers = []
    try:
        for n, image in enumerate(images):
            if args.input == "pixels":
                answer = link.classify_image(image, args.seed + n, steps, blank)
            else:
                frames = model.encoder.encode(image[None], steps, blank, np.array([args.seed + n]))[0]
                answer = link.classify_frames(frames, blank)
            answers.append(answer)
    finally:
        port.close()
    data = {"port": args.port, "samples": len(answers), "results": [a.to_dict() for a in answers]}
    if labels is not None:
        data["accuracy"] = float(np.mean([a.label == y for a, y in zip(answers, labels)]))
        text = f"{len(answers)} samples over {args.port}: accuracy {100 * data['accuracy']:.2f} %"
    else:
        a = answers[0]
        text = f"class {a.label} (counts {list(a.counts)}, {a.cycles} cycles)"
    _emit(args, data, text)
    return 0


def cmd_board_sim(args: argparse.Namespace) -> int:
    from .boards.uart_sim import BoardSim
    from .hdl import HdlConfig
    from .quant import HardwareModel

    faults = {}
    for text in args.fault:
        kind, _, at = text.partition("@")
        if kind not in ("framing", "reset") or not at.isdigit():
            raise ConfigError(f"--fault {text!r}: expected framing@N or reset@N (N a byte index)")
        faults[int(at)] = kind
    if args.divisor is not None and args.divisor < 4:
        raise ConfigError(f"--divisor must be at least 4 (the UART receiver's minimum), got {args.divisor}")
    model = HardwareModel.load(args.model)
    options = {} if args.divisor is None else {"divisor": args.divisor}
    sim = BoardSim(model, HdlConfig(lanes=args.lanes, input=args.input), args.listen, args.host,
                   connections=args.connections, faults=faults, **options).start()
    port = sim.wait_ready()
    print(f"srcfpga: board simulation of {args.model} ({args.input} input) listening on "
          f"socket://{args.host}:{port}" + ("" if args.connections else "; stop with Ctrl-C"),
          file=sys.stderr, flush=True)
    stats = sim.join()
    _emit(args, stats, f"served {stats['connections']} clients: {stats['bytes_in']} bytes in, "
                       f"{stats['bytes_out']} bytes out")
    return 0


def _warning_printer(default):
    """``warnings.showwarning`` that prints a :class:`DegradedWarning` as one ``srcfpga: warning: ...``
    line and leaves other warnings to ``default``."""
    def show(message, category, *rest, **kwargs) -> None:
        if issubclass(category, DegradedWarning):
            print(f"srcfpga: warning: {message}", file=sys.stderr)
        else:
            default(message, category, *rest, **kwargs)
    return show


def _os_error(exc: OSError) -> str:
    """``cannot use PATH: No such file or directory`` instead of ``[Errno 2] ...``."""
    if exc.strerror is None:
        return str(exc)
    return f"cannot use {exc.filename}: {exc.strerror}" if exc.filename else exc.strerror


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _warning_printer(warnings.showwarning)
            args = parser.parse_args(argv)
            _check_outputs(args)
            progress.enable(not getattr(args, "json", False))
            code = args.func(args)
            sys.stdout.flush()      # a closed pipe (srcfpga boards --json | head) shows up here, not at exit
            return code
    except BrokenPipeError:         # the reader went away: nothing to say, and nothing more to write
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (_UsageError, SrcFpgaError) as exc:
        print(f"srcfpga: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. an output path that cannot be written
        print(f"srcfpga: error: {_os_error(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    # Ctrl-C: free what the interrupted command held (the semaphores of a killed worker pool) before the
    # exit, or multiprocessing's resource tracker prints leak warnings after our one line
    gc.collect()
    print("srcfpga: interrupted", file=sys.stderr)
    return 130

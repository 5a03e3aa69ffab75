"""``srcfpga demo``: the whole flow on scikit-learn's digits, in a few minutes on two cores.

Loads the SRC checkpoint shipped in the package (or trains one with ``retrain``), measures float
accuracy, quantizes at 4..8 bits and measures golden-model accuracy with the same input spikes,
fine-tunes 4-bit with QAT, writes every HardwareModel to the output directory, generates the
Verilog of the 4-bit QAT model and runs it in Verilator (cocotb) on test digits against the golden
model, with the cycle counts the hardware measured.
"""

from __future__ import annotations

import json
from pathlib import Path

from .data import load_dataset
from .evaluate import evaluate
from .fileio import write_text_atomic
from .nn import Net, NetConfig, load_model, save_model
from .nn.train import TrainConfig, seed_initialization, train
from .progress import stage
from .quant import QuantConfig, quantize_net

CHECKPOINT = Path(__file__).parent / "checkpoints" / "digits_src.pt"
DEMO_NET = NetConfig(input_size=64, hidden=(128,), n_classes=10, rate_gain=0.5, steps=40, blank=4)
DEMO_TRAINING = TrainConfig(epochs=20, seed=0)
DEMO_BITS = (4, 5, 6, 7, 8)
DEMO_RTL_SAMPLES = 20


def demo_float_model(retrain: bool, progress: bool) -> Net:
    """The shipped digits checkpoint, or a freshly trained one (same recipe, about 20 s)."""
    if not retrain and CHECKPOINT.is_file():
        return load_model(CHECKPOINT)[0]
    seed_initialization(DEMO_TRAINING.seed)
    net = Net(DEMO_NET)
    train(net, load_dataset("digits", "train"), DEMO_TRAINING, progress=progress)
    return net


def rtl_check(hw, test_set, out_dir: Path, samples: int) -> dict:
    """Verilog of ``hw`` in ``out_dir/verilog``, simulated in Verilator on ``samples`` test digits."""
    from .evaluate import sample_seeds
    from .hdl import HdlConfig, generate_verilog
    from .sim.regression import regress

    config = HdlConfig()
    manifest = generate_verilog(hw, config, out_dir / "verilog")
    subset = test_set.head(samples)
    report, _ = regress(hw, config, pixels=subset.images, seeds=sample_seeds(0, 0, len(subset)),
                        labels=subset.labels)
    return {"verilog": str(out_dir / "verilog" / manifest["verilog"]), "lanes": manifest["config"]["lanes"],
            **report.to_dict()}


def run_demo(out_dir: str | Path, retrain: bool = False, progress: bool = True,
             rtl_samples: int = DEMO_RTL_SAMPLES) -> dict:
    out_dir = Path(out_dir)
    test_set = load_dataset("digits", "test")
    net = demo_float_model(retrain, progress)
    save_model(net, out_dir / "digits_src.pt")
    with stage("demo: float accuracy"):
        float_accuracy = evaluate(net, test_set).accuracy
    report: dict = {"dataset": "digits", "test_samples": len(test_set), "steps": net.config.steps,
                    "blank": net.config.blank, "sizes": [net.config.input_size, *net.config.hidden, net.config.n_classes],
                    "float_accuracy": float_accuracy, "ptq": []}
    for bits in DEMO_BITS:
        with stage(f"demo: {bits}-bit quantization and golden accuracy"):
            hw = quantize_net(net, QuantConfig(weight_bits=bits), source={"float_model": "digits_src.pt"})
            path = hw.save(out_dir / f"digits_src_w{bits}.hw")
            report["ptq"].append({"weight_bits": bits, "golden_accuracy": evaluate(hw, test_set).accuracy,
                                  "model": str(path), "content_hash": hw.content_hash})
    qat = train(net, load_dataset("digits", "train"),
                TrainConfig(epochs=0, qat_epochs=2, weight_bits=4, lr=DEMO_TRAINING.lr), progress=progress)
    hw = qat.model.hardware_model()
    report["qat4"] = {"weight_bits": 4, "golden_accuracy": evaluate(hw, test_set).accuracy,
                      "model": str(hw.save(out_dir / "digits_src_qat4.hw")), "train_seconds": round(qat.seconds, 1)}
    if rtl_samples:
        with stage(f"demo: Verilog and Verilator run on {rtl_samples} digits"):
            report["rtl"] = rtl_check(hw, test_set, out_dir, rtl_samples)
    write_text_atomic(out_dir / "demo.json", json.dumps(report, indent=2) + "\n")
    return report


def format_demo(report: dict) -> str:
    sizes = " -> ".join(map(str, report["sizes"]))
    lines = [f"SRC {sizes} on digits ({report['test_samples']} test images, "
             f"{report['blank']} blank + {report['steps']} steps)",
             f"  float (torch)          {100 * report['float_accuracy']:6.2f} %"]
    for row in report["ptq"]:
        lines.append(f"  {row['weight_bits']}-bit PTQ, golden    {100 * row['golden_accuracy']:6.2f} %   {row['model']}")
    qat = report["qat4"]
    lines.append(f"  4-bit QAT, golden      {100 * qat['golden_accuracy']:6.2f} %   {qat['model']}")
    rtl = report.get("rtl")
    if rtl:
        lines.append(f"  4-bit QAT, RTL (Verilator, {rtl['samples']} digits): agreement with golden "
                     f"{rtl['agreement']:.3f}, accuracy {100 * rtl['accuracy']:.2f} %, "
                     f"{rtl['cycles_per_step']:.1f} cycles/step, {rtl['cycles_per_inference']:.0f} cycles/inference "
                     f"({rtl['lanes']} lanes)   {rtl['verilog']}")
    return "\n".join(lines)

"""The command line, in-process through ``srcfpga.cli.main`` (plus one real subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from srcfpga.cli import main
from srcfpga.nn import load_model
from srcfpga.nn.checkpoint import model_hash
from srcfpga.quant import HardwareModel

EVAL_KEYS = {"accuracy", "samples", "steps", "blank"}


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(code: int, err: str, *fragments: str) -> str:
    """Exit code != 0 and exactly one line on stderr: ``srcfpga: error: ...``."""
    assert code != 0
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("srcfpga: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], err
    return lines[0]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def float_model(workdir) -> Path:
    """A tiny digits SRC trained for one epoch on 40 images (stdout/stderr kept out of the test log)."""
    import contextlib
    import io

    path = workdir / "tiny.pt"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["train", "--dataset", "digits", "--limit", "40", "--test-limit", "30", "--epochs", "1",
                     "--hidden", "12", "--steps", "6", "--blank", "1", "--batch-size", "20", "-o", str(path), "--json"])
    assert code == 0, err.getvalue()
    report = json.loads(out.getvalue())
    assert report["output"] == str(path) and 0.0 <= report["test_accuracy"] <= 1.0
    assert round(report["test_accuracy"] * 30, 6) % 1 == 0                     # scored on 30 test images
    assert report["path"] == "float" and len(report["history"]) == 1
    return path


@pytest.fixture(scope="module")
def hw_model(workdir, float_model) -> Path:
    path = workdir / "tiny.hw"
    assert main(["quantize", str(float_model), "--weight-bits", "6", "-o", str(path)]) == 0
    return path


def test_train_writes_a_float_model(float_model):
    net, meta = load_model(float_model)
    assert (net.config.input_size, net.config.hidden, net.config.steps, net.config.blank) == (64, (12,), 6, 1)
    assert meta["dataset"] == "digits" and "test_accuracy" in meta and len(meta["history"]) == 1


def test_quantize_json(capsys, workdir, float_model):
    out_path = workdir / "q5.hw"
    code, out, err = run(capsys, "quantize", float_model, "--weight-bits", 5, "--clip", "max",
                         "--encoder-generators", 4, "-o", out_path, "--json")
    assert code == 0 and err == ""
    report = json.loads(out)
    hw = HardwareModel.load(out_path)
    assert report["content_hash"] == hw.content_hash and report["output"] == str(out_path)
    assert report["quant"]["weight_bits"] == 5 and report["quant"]["clip"] == "max"
    assert hw.layers[0].weight_bits == 5 and hw.encoder.generators == 4
    net, _ = load_model(float_model)
    assert hw.source["float_model_hash"] == model_hash(net)    # the weights, wherever the file is


@pytest.fixture(scope="module")
def qat_model(workdir, float_model) -> tuple[Path, dict]:
    """``float_model`` fine-tuned for one 4-bit QAT epoch with 4-piece tables and F = 10, at 5 + 1 steps."""
    import contextlib
    import io

    path = workdir / "qat4.pt"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in ("train", "--dataset", "digits", "--limit", 40, "--test-limit", 30, "--init",
                                      float_model, "--weight-bits", 4, "--segments", 4, "--state-frac-bits", 10,
                                      "--qat-epochs", 1, "--steps", 5, "--batch-size", 20, "-o", path, "--json")])
    assert code == 0, err.getvalue()
    return path, json.loads(out.getvalue())


def test_train_init_fine_tunes_with_qat(qat_model):
    path, report = qat_model
    net, meta = load_model(path)
    assert [h["phase"] for h in report["history"]] == ["qat4 1/1"]          # no float epochs after --init
    assert report["path"] == "golden" and (net.config.steps, net.config.blank) == (5, 1)
    assert meta["quant"]["segments"] == 4 and meta["quant"]["state_frac_bits"] == 10
    assert meta["content_hash"] == report["content_hash"] and report["test_samples"] == 30


@pytest.mark.parametrize("options", [(), ("--weight-bits", 4, "--segments", 4, "--state-frac-bits", 10)])
def test_quantize_of_a_qat_model_is_what_qat_evaluated(capsys, qat_model, options):
    """The written model quantizes (with its recorded options, or the same ones given) to QAT's export, and
    that model's golden run equals the QAT forward on digits test images: every readout value and class."""
    from srcfpga.data import load_dataset
    from srcfpga.evaluate import sample_seeds
    from srcfpga.golden import run_golden
    from srcfpga.nn.qat import QATNet
    from srcfpga.quant import QuantConfig

    path, report = qat_model
    out_path = path.with_name(f"qat4_{len(options)}.hw")
    code, out, err = run(capsys, "quantize", path, *options, "-o", out_path, "--json")
    assert code == 0, err
    hw = HardwareModel.load(out_path)
    assert json.loads(out)["content_hash"] == hw.content_hash == report["content_hash"]
    net, meta = load_model(path)
    qat = QATNet(net, QuantConfig(**meta["quant"]))
    assert qat.export().content_hash == hw.content_hash
    images = load_dataset("digits", "test").images[:60]
    frames = hw.encoder.encode(images, hw.steps, hw.blank, sample_seeds(0, 0, len(images)))
    golden = run_golden(hw, spikes=frames)
    with torch.no_grad():
        logits, trace = qat(torch.from_numpy(frames).float(), trace=True)
    assert torch.equal(trace.readout[:, -1].long(), torch.from_numpy(golden.readout).long())
    assert (logits.argmax(1).numpy() == golden.predictions).all()


def test_train_reads_test_images_from_their_own_directory(capsys, workdir, mnist_train_dir, mnist_dir):
    path = workdir / "mnist_tiny.pt"
    code, out, err = run(capsys, "train", "--dataset", "mnist", "--data-dir", mnist_train_dir, "--test-data-dir",
                         mnist_dir, "--limit", 20, "--test-limit", 10, "--hidden", 4, "--epochs", 1, "--steps", 2,
                         "--blank", 0, "-o", path, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["train_samples"] == 20 and report["test_samples"] == 10
    assert report["test_data_dir"] == str(mnist_dir) and load_model(path)[1]["test_data_dir"] == str(mnist_dir)
    code, _, err = run(capsys, "train", "--dataset", "mnist", "--data-dir", mnist_train_dir, "--limit", 20,
                       "-o", path)
    assert_one_error_line(code, err, "t10k-images-idx3-ubyte")


def test_train_quant_options_need_weight_bits(capsys, workdir):
    code, _, err = run(capsys, "train", "--dataset", "digits", "--segments", 4, "-o", workdir / "x.pt")
    assert_one_error_line(code, err, "--weight-bits")


def test_quantize_text(capsys, hw_model):
    capsys.readouterr()
    code, out, _ = run(capsys, "quantize", hw_model.with_suffix(".pt"), "--weight-bits", 8, "-o",
                       hw_model.with_name("w8.hw"))
    assert code == 0 and out.startswith("wrote ") and "8-bit weights" in out


@pytest.mark.parametrize("which", ["hw", "pt"])
def test_eval_json(capsys, float_model, hw_model, which):
    model = hw_model if which == "hw" else float_model
    code, out, err = run(capsys, "eval", model, "--dataset", "digits", "--limit", 25, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert EVAL_KEYS <= set(report)
    assert report["samples"] == 25 and (report["steps"], report["blank"]) == (6, 1)
    assert 0.0 <= report["accuracy"] <= 1.0
    assert report["path"] == ("golden" if which == "hw" else "float")


def test_eval_options_and_determinism(capsys, hw_model):
    args = ("eval", hw_model, "--dataset", "digits", "--limit", 30, "--steps", 3, "--blank", 0, "--seed", 9,
            "--json")
    first = json.loads(run(capsys, *args)[1])
    second = json.loads(run(capsys, *args)[1])
    assert first == second and (first["steps"], first["blank"]) == (3, 0)


def test_eval_text(capsys, hw_model):
    code, out, _ = run(capsys, "eval", hw_model, "--dataset", "digits", "--limit", 10)
    assert code == 0 and out.startswith("golden accuracy ") and "on 10 digits test samples" in out


def test_import_and_quantize_reference(capsys, workdir, reference_dir):
    pt = workdir / "ref.pt"
    code, out, _ = run(capsys, "import", reference_dir, "-o", pt, "--json")
    assert code == 0 and json.loads(out)["sizes"] == [784, 100]
    hw = workdir / "ref4.hw"
    assert run(capsys, "quantize", pt, "--weight-bits", 4, "-o", hw)[0] == 0
    assert HardwareModel.load(hw).sizes == (784, 100)


def test_degraded_warning_is_one_line(capsys, monkeypatch, hw_model):
    """A feature that falls back (a DegradedWarning, e.g. VCD for FST waves) prints one ``srcfpga: warning:``
    line; the command goes on (here into a simulator error, reported as usual)."""
    import warnings

    from srcfpga.errors import DegradedWarning
    from srcfpga.sim import SimulationError, regression

    def regress(*args, **kwargs):
        warnings.warn("writing VCD waves instead of FST: why (for FST: how)", DegradedWarning)
        raise SimulationError("simulator stopped")

    monkeypatch.setattr(regression, "regress", regress)
    code, _, err = run(capsys, "sim", hw_model, "--dataset", "digits", "--limit", "1", "--waves", hw_model.parent)
    assert code == 2 and err.splitlines() == ["srcfpga: warning: writing VCD waves instead of FST: why (for FST: how)",
                                              "srcfpga: error: simulator stopped"]


def test_help_subprocess():
    result = subprocess.run([sys.executable, "-m", "srcfpga", "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    assert result.stdout.startswith("usage: srcfpga")
    for command in ("train", "import", "quantize", "eval", "demo"):
        assert command in result.stdout


def test_usage_error_subprocess(tmp_path):
    result = subprocess.run([sys.executable, "-m", "srcfpga", "eval", str(tmp_path / "m.hw"), "--dataset", "cifar"],
                            capture_output=True, text=True, timeout=120)
    assert_one_error_line(result.returncode, result.stderr, "invalid choice: 'cifar'")
    assert result.stdout == ""


# ---- errors: one line on stderr, non-zero exit, no output file ------------------------------------

@pytest.fixture
def outdir(tmp_path) -> Path:
    path = tmp_path / "out"
    path.mkdir()
    return path


def assert_no_output(outdir: Path) -> None:
    assert list(outdir.iterdir()) == [], "a failed command left a file behind"


@pytest.mark.parametrize("bits", [1, 9])
def test_quantize_weight_bits_out_of_range(capsys, float_model, outdir, bits):
    code, out, err = run(capsys, "quantize", float_model, "--weight-bits", bits, "-o", outdir / "m.hw")
    assert_one_error_line(code, err, "weight bits must be an integer in 2..8", f"got {bits}")
    assert out == ""
    assert_no_output(outdir)


def test_quantize_segments(capsys, workdir, float_model):
    path = workdir / "k4.hw"
    code, out, err = run(capsys, "quantize", float_model, "--weight-bits", 5, "--segments", 4, "-o", path)
    assert code == 0 and err == "" and "4-piece tables" in out
    hw = HardwareModel.load(path)
    assert hw.layers[0].segments == 4 and hw.source["quant"]["segments"] == 4


@pytest.mark.parametrize("segments", [0, 17])
def test_quantize_segments_out_of_range(capsys, float_model, outdir, segments):
    code, out, err = run(capsys, "quantize", float_model, "--weight-bits", 5, "--segments", segments,
                         "-o", outdir / "m.hw")
    assert_one_error_line(code, err, "segments must be an integer in 1..16", f"got {segments}")
    assert out == ""
    assert_no_output(outdir)


@pytest.mark.parametrize("bits", [1, 9])
def test_train_weight_bits_out_of_range(capsys, outdir, bits):
    code, _, err = run(capsys, "train", "--dataset", "digits", "--limit", 10, "--epochs", 1, "--hidden", 4,
                       "--steps", 2, "--weight-bits", bits, "-o", outdir / "m.pt")
    assert_one_error_line(code, err, "weight bits")
    assert_no_output(outdir)


def test_quantize_without_bits(capsys, float_model, outdir):
    code, _, err = run(capsys, "quantize", float_model, "-o", outdir / "m.hw")
    assert_one_error_line(code, err, "--weight-bits is required")
    assert_no_output(outdir)


@pytest.mark.parametrize("content", [b"\x00\x01garbage\xff\xfe" * 20, b'{"format": "srcfpga-hardware-model", "sch'])
@pytest.mark.parametrize("suffix", [".hw", ".pt"])
def test_malformed_model_file(capsys, tmp_path, outdir, content, suffix):
    bad = tmp_path / f"bad{suffix}"
    bad.write_bytes(content)
    code, _, err = run(capsys, "eval", bad, "--dataset", "digits", "--limit", 5)
    assert_one_error_line(code, err, str(bad))
    code, _, err = run(capsys, "quantize", bad, "--weight-bits", 6, "-o", outdir / "m.hw")
    assert_one_error_line(code, err, str(bad))
    assert_no_output(outdir)


def test_truncated_hardware_model(capsys, tmp_path, hw_model):
    bad = tmp_path / "cut.hw"
    text = hw_model.read_text()
    bad.write_text(text[: len(text) // 2])
    code, _, err = run(capsys, "eval", bad, "--dataset", "digits", "--limit", 5)
    assert_one_error_line(code, err, "is not a hardware model file")


def test_hash_mismatch(capsys, tmp_path, hw_model):
    payload = json.loads(hw_model.read_text())
    weights = payload["model"]["layers"][0]["weights"]
    weights[0][0] = 0 if weights[0][0] else 1
    bad = tmp_path / "edited.hw"
    bad.write_text(json.dumps(payload))
    code, _, err = run(capsys, "eval", bad, "--dataset", "digits", "--limit", 5)
    assert_one_error_line(code, err, "content hash")


def test_missing_model(capsys, tmp_path):
    for name in ("none.hw", "none.pt"):
        code, _, err = run(capsys, "eval", tmp_path / name, "--dataset", "digits")
        assert_one_error_line(code, err, "does not exist")


@pytest.mark.parametrize("command", ["eval", "train"])
def test_missing_data_dir(capsys, tmp_path, outdir, hw_model, command):
    missing = tmp_path / "no-such-dir"
    head = ["eval", hw_model] if command == "eval" else ["train", "-o", outdir / "m.pt", "--epochs", 1]
    code, _, err = run(capsys, *head, "--dataset", "mnist", "--data-dir", missing)
    assert_one_error_line(code, err, f"data directory {missing} does not exist")
    code, _, err = run(capsys, *head, "--dataset", "fashion-mnist")
    assert_one_error_line(code, err, "needs a data directory")
    assert_no_output(outdir)


@pytest.mark.parametrize("command", ["eval", "train"])
def test_unknown_dataset(capsys, outdir, hw_model, command):
    head = ["eval", hw_model] if command == "eval" else ["train", "-o", outdir / "m.pt"]
    code, out, err = run(capsys, *head, "--dataset", "cifar10")
    line = assert_one_error_line(code, err, "invalid choice: 'cifar10'", "digits", f"srcfpga {command} --help")
    assert "usage:" not in line and out == ""
    assert_no_output(outdir)


@pytest.mark.parametrize("argv, fragment", [
    ([], "the following arguments are required: COMMAND"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["eval", "m.hw"], "the following arguments are required: --dataset"),
    (["quantize", "m.pt", "--weight-bits", "six", "-o", "x.hw"], "invalid int value: 'six'"),
    (["eval", "m.hw", "--dataset", "digits", "--bogus"], "unrecognized arguments: --bogus"),
])
def test_usage_errors(capsys, argv, fragment):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert_one_error_line(code, err, fragment)


@pytest.mark.parametrize("extra, fragment", [
    (["--limit", "0"], "--limit must be at least 1"),
    (["--steps", "0", "--blank", "0"], "need steps >= 1"),
    (["--blank", "-2"], "blank >= 0"),
])
def test_eval_bad_numbers(capsys, hw_model, float_model, extra, fragment):
    for model in (hw_model, float_model):
        code, _, err = run(capsys, "eval", model, "--dataset", "digits", *extra)
        assert_one_error_line(code, err, fragment)


def test_eval_input_size_mismatch(capsys, hw_model, mnist_dir):
    code, _, err = run(capsys, "eval", hw_model, "--dataset", "mnist", "--data-dir", mnist_dir, "--limit", 5)
    assert_one_error_line(code, err, "784 pixels per image, the model expects 64 inputs")


def test_train_bad_network(capsys, outdir):
    code, _, err = run(capsys, "train", "--dataset", "digits", "--hidden", 0, "-o", outdir / "m.pt")
    assert_one_error_line(code, err, "invalid sizes")
    code, _, err = run(capsys, "train", "--dataset", "digits", "--rate-gain", 3, "-o", outdir / "m.pt")
    assert_one_error_line(code, err, "rate_gain")
    code, _, err = run(capsys, "train", "--dataset", "digits", "--lr-schedule", "step", "-o", outdir / "m.pt")
    assert_one_error_line(code, err, "lr_schedule must be one of constant, cosine")
    assert_no_output(outdir)


def test_train_leaky_readout(capsys, tmp_path, outdir):
    """--readout-decay: a LIF network with the leaky (LI) readout, stored in its config; a kind without the
    option refuses it by name."""
    out = tmp_path / "li.pt"
    code, _, err = run(capsys, "train", "--dataset", "digits", "--cell", "lif", "--limit", 20, "--test-limit", 10,
                       "--epochs", 1, "--hidden", 8, "--steps", 4, "--readout-decay", 0.8, "-o", out, "--json")
    assert code == 0, err
    assert load_model(out)[0].config.readout_decay == 0.8
    code, _, err = run(capsys, "train", "--dataset", "digits", "--readout-decay", 0.8, "-o", outdir / "m.pt")
    assert_one_error_line(code, err, "cell 'src' has no option readout_decay")
    assert_no_output(outdir)


def test_import_missing_directory(capsys, tmp_path, outdir):
    code, _, err = run(capsys, "import", tmp_path / "nothing", "-o", outdir / "ref.pt")
    assert_one_error_line(code, err, "is not a reference export")
    assert_no_output(outdir)


def test_unwritable_output(capsys, tmp_path, float_model):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code, _, err = run(capsys, "quantize", float_model, "--weight-bits", 6, "-o", blocker / "m.hw")
    assert_one_error_line(code, err, str(blocker))
    assert blocker.read_text() == "not a directory"


@pytest.mark.parametrize("argv", [
    ["train", "--dataset", "digits", "--limit", "20", "--epochs", "1", "-o", "{bad}/m.pt"],
    ["import", "{tmp}", "-o", "{bad}/m.pt"],
    ["quantize", "{model}", "--weight-bits", "5", "-o", "{bad}/m.hw"],
    ["verilog", "{model}", "-o", "{bad}/v"],
    ["sim", "{model}", "--dataset", "digits", "--waves", "{bad}/w"],
    ["sweep", "{model}", "--dataset", "digits", "-o", "{bad}/s"],
    ["build", "{model}", "--board", "arty-a7-35", "-o", "{bad}/b"],
    ["demo", "--out", "{bad}/d"],
])
def test_output_paths_are_checked_before_the_work(capsys, tmp_path, argv):
    """Every command rejects an output path it cannot write before it does anything else (here: before
    it even reads its inputs, which would fail on this fake model)."""
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    argv = [a.format(bad=blocker, tmp=tmp_path, model=tmp_path / "missing") for a in argv]
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert_one_error_line(code, err, f"cannot write {blocker}", "not a directory")
    assert blocker.read_text() == "not a directory"


def test_os_errors_are_one_line_exit_2_naming_the_path(capsys, tmp_path, float_model):
    target = tmp_path / "taken"
    target.mkdir()
    code, _, err = run(capsys, "quantize", float_model, "--weight-bits", 6, "-o", target)
    line = assert_one_error_line(code, err, f"cannot write {target}")
    assert code == 2 and "Errno" not in line and ".tmp" not in line


@pytest.mark.parametrize("argv, fragment, unwanted", [
    (["sim", "{hw}", "--dataset", "digits", "--limit", "2", "--steps", "0"], "steps >= 1", "16-bit"),
    (["sweep", "{pt}", "--dataset", "digits", "--lanes", "0", "-o", "{tmp}/s"], "lanes", "None"),
    (["sim", "{pt}", "--dataset", "digits", "--limit", "2"], "quantize it first", "JSON"),
    (["estimate", "{pt}", "--board", "arty"], "quantize it first", "JSON"),
])
def test_errors_name_the_real_problem(capsys, tmp_path, float_model, hw_model, argv, fragment, unwanted):
    code, _, err = run(capsys, *[a.format(hw=hw_model, pt=float_model, tmp=tmp_path) for a in argv])
    line = assert_one_error_line(code, err, fragment)
    assert code == 2 and unwanted not in line


def test_unsupported_weight_bits_are_accepted_with_a_warning(capsys, tmp_path, float_model):
    code, out, err = run(capsys, "quantize", float_model, "--weight-bits", 3, "-o", tmp_path / "m3.hw", "--json")
    assert code == 0 and json.loads(out)["quant"]["weight_bits"] == 3
    assert err.splitlines() == ["srcfpga: warning: 3-bit weights are experimental: 4..8 is the supported range"]
    code, _, err = run(capsys, "quantize", float_model, "--weight-bits", 4, "-o", tmp_path / "m4.hw")
    assert code == 0 and err == ""


def test_qat_training_round_trip(capsys, workdir, float_model):
    """QAT from a float model: ``quantize`` reuses the stored QAT options and the golden accuracy of the
    written .hw equals the test accuracy ``train`` reported for the QAT forward pass."""
    qat = workdir / "qat5.pt"
    code, out, err = run(capsys, "train", "--dataset", "digits", "--limit", 40, "--epochs", 0, "--weight-bits", 5,
                         "--qat-epochs", 1, "--batch-size", 20, "--init", float_model, "-o", qat, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["path"] == "golden" and report["history"][-1]["phase"].startswith("qat5")
    _, meta = load_model(qat)
    assert meta["quant"]["weight_bits"] == 5
    hw = workdir / "qat5.hw"
    assert run(capsys, "quantize", qat, "-o", hw)[0] == 0                    # bits come from the model file
    assert HardwareModel.load(hw).layers[0].weight_bits == 5
    code, out, _ = run(capsys, "eval", hw, "--dataset", "digits", "--json")
    assert code == 0 and json.loads(out)["accuracy"] == report["test_accuracy"]


@pytest.mark.slow
def test_demo(capsys, tmp_path):
    code, out, err = run(capsys, "demo", "--out", tmp_path, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["sizes"] == [64, 128, 10] and report["test_samples"] == 359
    assert [row["weight_bits"] for row in report["ptq"]] == [4, 5, 6, 7, 8]
    assert report["float_accuracy"] > 0.8 and report["ptq"][-1]["golden_accuracy"] > 0.8
    for row in report["ptq"]:
        assert HardwareModel.load(row["model"]).content_hash == row["content_hash"]
    assert json.loads((tmp_path / "demo.json").read_text()) == report


def test_help_of_every_option_with_its_default():
    """Every option says what it does, shows its default when it has one, and no help has raw RST."""
    import argparse

    from srcfpga.cli import build_parser

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert "``" not in parser.format_help()
    for name, command in commands.items():
        text = command.format_help()
        assert "``" not in text and command.description, name
        for action in command._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"{name} {action.option_strings or action.dest} has no help"
            if action.option_strings and action.default is not None and action.default is not False:
                assert "default" in command._get_formatter()._get_help_string(action), \
                    f"{name} {action.option_strings} does not show its default {action.default!r}"


def test_closed_stdout_is_not_an_error():
    """``srcfpga boards --json | head`` with head gone before srcfpga writes: no Broken pipe traceback."""
    proc = subprocess.Popen([sys.executable, "-m", "srcfpga", "boards", "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert err == b""


def test_readme_commands_write_only_into_ignored_folders():
    """The README's commands put their models and folders under out/ or srcfpga-demo/ (.gitignore)."""
    import re

    root = Path(__file__).resolve().parents[1]
    ignored = [line.strip("/") for line in (root / ".gitignore").read_text().splitlines()]
    assert "out" in ignored and "srcfpga-demo" in ignored
    text = (root / "README.md").read_text().replace("\\\n", " ")        # join continued lines
    commands = [line for line in text.splitlines() if "srcfpga " in line]
    outputs = [m.group(2) for line in commands for m in re.finditer(r"(-o|--out|--waves) ([\w./-]+)", line)]
    assert len(outputs) >= 7
    assert all(path.startswith("out/") or path == "DIR" for path in outputs), outputs


def _train_state(capsys, out: Path, *options) -> dict:
    code, _, err = run(capsys, "train", "--dataset", "digits", "--limit", 40, "--test-limit", 10, "--epochs", 1,
                       "--hidden", 8, "--batch-size", 20, *options, "-o", out, "--json")
    assert code == 0, err
    return load_model(out)[0].state_dict()


@pytest.mark.parametrize("cell", [["--cell", "src", "--steps", "4", "--blank", "1"],
                                  ["--cell", "bmru", "--encoding", "rate", "--steps", "4", "--blank", "0"]],
                         ids=["src", "bmru-rate"])
def test_train_is_reproducible(capsys, tmp_path, cell):
    """Same command and seed: identical weights (the network is built after the seed is set); another seed
    differs."""
    first = _train_state(capsys, tmp_path / "a.pt", *cell)
    torch.manual_seed(12345)            # whatever drew from torch's global generator before does not matter
    again = _train_state(capsys, tmp_path / "b.pt", *cell)
    other = _train_state(capsys, tmp_path / "c.pt", *cell, "--seed", 1)
    assert first.keys() == again.keys() == other.keys()
    assert all(torch.equal(first[key], again[key]) for key in first)
    assert not all(torch.equal(first[key], other[key]) for key in first)


@pytest.mark.parametrize("cell", ["bmru", "cmru", "src"])
def test_fsdd_train_quantize_eval(tmp_path, fake_fsdd, capsys, cell):
    """Audio end to end: the HardwareModel carries the front end, and eval reproduces train's golden score."""
    model, hw_path = tmp_path / "kws.pt", tmp_path / "kws.hw"
    common = ["--dataset", "fsdd", "--data-dir", str(fake_fsdd)]
    assert main(["train", *common, "--cell", cell, "--encoding", "rows", "--hidden", "5", "--epochs", "1",
                 "--split", "all",
                 "--speakers", "ann", "--test-split", "all", "--test-speakers", "bob", "--row-levels", "128", "224",
                 "--weight-bits", "4", "--qat-epochs", "1", "-o", str(model), "--json"]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert main(["quantize", str(model), "-o", str(hw_path)]) == 0
    hw = HardwareModel.load(hw_path)
    assert hw.encoder.front_end is not None and hw.encoder.front_end.bands == 32 and hw.steps == 50
    assert hw.input_size == 64 and hw.blank == 0 and hw.cell == cell
    capsys.readouterr()
    assert main(["eval", str(hw_path), *common, "--split", "all", "--speakers", "bob", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == trained["test_accuracy"]
    assert main(["eval", str(hw_path), *common, "--speakers", "zed"]) == 2
    assert "unknown speaker(s) zed" in capsys.readouterr().err
    assert main(["estimate", str(hw_path), "--board", "arty-a7-35", *common, "--speakers", "zed"]) == 2
    assert "unknown speaker(s) zed" in capsys.readouterr().err       # before any synthesis


def test_verilog_pack_masks(capsys, tmp_path):
    """``--pack-masks`` and ``--spikes-per-cycle`` reach the HdlConfig written into the manifest."""
    from srcfpga.testing import random_hardware_model

    path = random_hardware_model(1, (20, 6), 5).save(tmp_path / "m.hw")
    code, out, _ = run(capsys, "verilog", path, "--lanes", 2, "--spikes-per-cycle", 4, "--pack-masks", "--no-lint",
                       "-o", tmp_path / "v", "--json")
    assert code == 0
    config = json.loads(out)["config"]
    assert (config["spikes_per_cycle"], config["pack_masks"]) == (4, True)

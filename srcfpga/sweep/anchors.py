"""Published accuracy figures to overlay on sweep plots (data the caller passes, never built into a plot).

An anchor is ``accuracy`` (percent) at ``steps`` stimulus timesteps (as ``--steps`` everywhere), at
``weight_bits`` bits or at an unstated width (``None``). On the command line: ``ACC@BITS/STEPS`` or
``ACC@STEPS``, comma separated, e.g. ``93.32@5/50,92.89@4/40,96.31@200``; the name ``ulg`` stands for
:data:`ULG_SRC_MNIST`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..boards.published import PUBLISHED, PUBLISHED_TEST_SET
from ..errors import ConfigError


@dataclass(frozen=True)
class Anchor:
    accuracy: float                # percent
    steps: int                     # stimulus timesteps per inference
    weight_bits: int | None = None
    label: str = "published"
    energy_uj: float | None = None  # energy per inference, when published (drawn on the energy plot)

    def __post_init__(self) -> None:
        if not 0.0 <= self.accuracy <= 100.0:
            raise ConfigError(f"anchor accuracy is a percentage in [0, 100], got {self.accuracy}")
        if self.energy_uj is not None and self.energy_uj <= 0:
            raise ConfigError(f"anchor energy must be positive, got {self.energy_uj}")
        if self.steps < 1 or (self.weight_bits is not None and self.weight_bits < 1):
            raise ConfigError(f"anchor needs steps >= 1 and bits >= 1, got {self.steps}, {self.weight_bits}")

    def describe(self) -> str:
        bits = f"{self.weight_bits}-bit, " if self.weight_bits is not None else ""
        return f"{self.label} {self.accuracy:.2f} % ({bits}{self.steps} steps)"

    def to_dict(self) -> dict:
        return asdict(self)


# The published FPGA implementation of the reference MNIST SRC (fixed-point VHDL, all 10,000 MNIST test images:
# not the test set of this project's MNIST figures, srcfpga.boards.published), quoted there at 44, 55 and
# 220 total steps, i.e. 4 + 40, 5 + 50 and 20 + 200 (blank = stimulus // 10).
ULG_SRC_MNIST = tuple(Anchor(accuracy, total * 10 // 11, bits, f"published ({PUBLISHED_TEST_SET})",
                             energy_uj=None if energy_mj is None else 1000 * energy_mj)
                      for total, (bits, energy_mj, accuracy) in PUBLISHED.items())
PRESETS = {"ulg": ULG_SRC_MNIST}


def parse_anchors(text: str) -> tuple[Anchor, ...]:
    """``"93.32@5/55,96.31@220"`` or a preset name (``ulg``) -> anchors."""
    anchors: list[Anchor] = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        if part in PRESETS:
            anchors.extend(PRESETS[part])
            continue
        try:
            acc, where = part.split("@")
            bits, _, steps = where.rpartition("/")
            anchors.append(Anchor(float(acc.rstrip("%")), int(steps), int(bits) if bits else None))
        except ValueError:
            raise ConfigError(f"anchor {part!r}: expected ACC@BITS/STEPS, ACC@STEPS or one of "
                              f"{', '.join(PRESETS)}") from None
    return tuple(anchors)

"""Power model: device static power plus a per-resource dynamic model at a given toggle activity.

``P = P_static(device) + f * (E_clock_tree + (N_ff + N_lutram) * E_ff_clk + N_bram * E_bram_clk)
      + f * alpha * (N_lut * E_lut + N_ff * E_ff + N_carry4 * E_carry4)
      + f * rho_bram * N_bram_ports * E_bram_read  (+ P_mmcm when the board needs one)``

with ``f`` the clock (Hz), ``alpha`` the average net toggle rate (transitions per net per cycle)
and ``rho_bram`` the share of cycles a block-RAM port is enabled. ``N_lutram`` (LUTs used as
distributed RAM or shift registers) are clocked every cycle like flip-flops. Coefficients are energies per
event at VCCINT = 1.0 V; their sources and uncertainty are in docs/energy.md. The model ignores I/O
power (a UART and a few LEDs: well below 1 mW at 115200 baud) and board-level consumers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

# logic energies: the reasoned 0.35 / 0.35 / 0.20 pJ (docs/energy.md) times 1.94, the geometric mean over the
# calibration designs of Vivado's vectorless Slice Logic + Signals power over this term (benchmarks/calibration.py)
LOGIC_SCALE = 1.94
E_LUT = 0.35e-12 * LOGIC_SCALE     # J per LUT output transition, LUT + its routed net
E_FF = 0.35e-12 * LOGIC_SCALE      # J per flip-flop Q transition, incl. its routed net
E_CARRY4 = 0.20e-12 * LOGIC_SCALE  # J per CARRY4 output transition (dedicated carry, short nets)
E_FF_CLK = 0.03e-12       # J per flip-flop per clock cycle (clock pin + leaf clock routing)
E_CLOCK_TREE = 20e-12     # J per cycle: BUFG + global clock spine and row buffers of one domain
E_BRAM_READ = 25e-12      # J per enabled 36 Kb block-RAM port cycle (read, 36-72 bit port)
E_BRAM_CLK = 1.0e-12      # J per block RAM per clock cycle, port disabled
P_MMCM = 0.105            # W, one MMCME2 running (CMOD A7: 12 -> 100 MHz)
ALPHA_ACTIVE = 0.25       # net toggle rate of a working datapath with uncorrelated data
ALPHA_IDLE = 0.01         # counters and handshakes of an idle datapath
ALPHA_RANGE = (0.5, 2.0)  # the toggle-rate factor band used for the stated uncertainty
# a design without measured activity (estimate_verilog) is estimated like Vivado's vectorless
# report_power: its default toggle rate 12.5 % and static probability 0.5 (a port enable is on half the cycles)
VECTORLESS_TOGGLE = 0.125
VECTORLESS_ENABLE = 0.5


@dataclass
class PowerEstimate:
    """Watts, at ``clock_mhz`` and net toggle rate ``alpha``."""

    static_w: float
    dynamic_w: float
    power_w: float
    clock_w: float
    logic_w: float
    bram_w: float
    mmcm_w: float
    alpha: float
    bram_enable_rate: float
    clock_mhz: float
    dynamic_w_low: float       # with alpha x ALPHA_RANGE[0]
    dynamic_w_high: float      # with alpha x ALPHA_RANGE[1]

    def to_dict(self) -> dict:
        return asdict(self)


def toggle_rate(busy_fraction: float) -> float:
    """Average net toggle rate of a design whose datapath works ``busy_fraction`` of the cycles."""
    busy = min(1.0, max(0.0, busy_fraction))
    return ALPHA_ACTIVE * busy + ALPHA_IDLE * (1.0 - busy)


def estimate_power(lut: float, ff: float, carry4: float, bram36: float, static_w: float, clock_mhz: float,
                   alpha: float, bram_enable_rate: float, bram_ports: float | None = None,
                   mmcm: bool = False, lutram: float = 0.0) -> PowerEstimate:
    """Static + dynamic power of a design with the given resource counts (see module doc); ``lut`` counts
    LUT functions (cells before Vivado's LUT combining), ``lutram`` the LUTs used as memory."""
    f = clock_mhz * 1e6
    ports = 2 * bram36 if bram_ports is None else bram_ports
    clock = f * (E_CLOCK_TREE + (ff + lutram) * E_FF_CLK + bram36 * E_BRAM_CLK)
    bram = f * bram_enable_rate * ports * E_BRAM_READ

    def logic_at(a: float) -> float:
        return f * a * (lut * E_LUT + ff * E_FF + carry4 * E_CARRY4)

    logic = logic_at(alpha)
    mmcm_w = P_MMCM if mmcm else 0.0
    dynamic = clock + logic + bram + mmcm_w
    low = clock + logic_at(alpha * ALPHA_RANGE[0]) + bram + mmcm_w
    high = clock + logic_at(min(0.5, alpha * ALPHA_RANGE[1])) + bram + mmcm_w
    return PowerEstimate(static_w=static_w, dynamic_w=dynamic, power_w=static_w + dynamic, clock_w=clock,
                         logic_w=logic, bram_w=bram, mmcm_w=mmcm_w, alpha=alpha, bram_enable_rate=bram_enable_rate,
                         clock_mhz=clock_mhz, dynamic_w_low=low, dynamic_w_high=high)

"""Power model: device static power plus a per-resource dynamic model at a given toggle activity.

``P = P_static(device) + f * (E_clock_tree + (N_ff + N_lutram) * E_ff_clk + N_bram * E_bram_clk)
      + f * alpha * (N_lut * E_lut + N_ff * E_ff + N_carry4 * E_carry4)
      + f * rho_bram * N_bram_ports * E_bram_read  (+ P_mmcm when the board needs one)``

with ``f`` the clock (Hz), ``alpha`` the average net toggle rate (transitions per net per cycle)
and ``rho_bram`` the share of cycles a block-RAM port is enabled. :func:`estimate_power` applies one
``alpha`` and ``rho_bram`` to the whole design; :func:`estimate_block_power` applies the same terms per
block of the design with the block's own ``alpha`` and ``rho_bram`` (from the share of cycles in which
the block works) and sums them: the clock tree, MMCM and static power are the design's, the rest is
the sum of the blocks' terms. ``N_lutram`` (LUTs used as
distributed RAM or shift registers) are clocked every cycle like flip-flops. Coefficients are energies per
event at VCCINT = 1.0 V; their sources and uncertainty are in docs/energy.md. The model ignores I/O
power (a UART and a few LEDs: well below 1 mW at 115200 baud) and board-level consumers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

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
    clock_tree_w: float = 0.0  # the clock tree's part of clock_w (E_CLOCK_TREE)
    blocks: list = field(default_factory=list)   # BlockPower dicts (estimate_block_power); sum + tree + mmcm = dynamic

    def to_dict(self) -> dict:
        return asdict(self)


def toggle_rate(busy_fraction: float) -> float:
    """Average net toggle rate of a design whose datapath works ``busy_fraction`` of the cycles."""
    busy = min(1.0, max(0.0, busy_fraction))
    return ALPHA_ACTIVE * busy + ALPHA_IDLE * (1.0 - busy)


@dataclass
class BlockPower:
    """One block's share of the dynamic power (W): its flip-flop / LUT-RAM / block-RAM clock loads, its
    logic toggles at ``alpha`` and its block-RAM reads at ``bram_enable_rate``."""

    block: str
    lut_cells: int
    ff: int
    carry4: int
    lutram: int
    bram36: float
    busy: float                # share of the cycles in which the block works
    alpha: float
    bram_enable_rate: float
    clock_w: float
    logic_w: float
    bram_w: float
    power_w: float             # clock_w + logic_w + bram_w
    power_w_low: float         # with alpha x ALPHA_RANGE[0]
    power_w_high: float        # with alpha x ALPHA_RANGE[1] (capped at 0.5)


def _terms(f: float, lut: float, ff: float, carry4: float, bram36: float, lutram: float, ports: float,
           alpha: float, bram_enable_rate: float) -> tuple[float, float, float, float, float]:
    """(clock loads without the tree, logic, block-RAM reads, logic at the low / high toggle rate) in W."""
    def logic_at(a: float) -> float:
        return f * a * (lut * E_LUT + ff * E_FF + carry4 * E_CARRY4)
    return (f * ((ff + lutram) * E_FF_CLK + bram36 * E_BRAM_CLK), logic_at(alpha),
            f * bram_enable_rate * ports * E_BRAM_READ, logic_at(alpha * ALPHA_RANGE[0]),
            logic_at(min(0.5, alpha * ALPHA_RANGE[1])))


def estimate_power(lut: float, ff: float, carry4: float, bram36: float, static_w: float, clock_mhz: float,
                   alpha: float, bram_enable_rate: float, bram_ports: float | None = None,
                   mmcm: bool = False, lutram: float = 0.0) -> PowerEstimate:
    """Static + dynamic power of a design with the given resource counts (see module doc); ``lut`` counts
    LUT functions (cells before Vivado's LUT combining), ``lutram`` the LUTs used as memory."""
    f = clock_mhz * 1e6
    ports = 2 * bram36 if bram_ports is None else bram_ports
    loads, logic, bram, low, high = _terms(f, lut, ff, carry4, bram36, lutram, ports, alpha, bram_enable_rate)
    return _total(static_w, clock_mhz, f * E_CLOCK_TREE, loads, logic, bram, low, high, mmcm, alpha,
                  bram_enable_rate)


def _total(static_w, clock_mhz, tree, loads, logic, bram, low, high, mmcm, alpha, bram_enable_rate,
           blocks=()) -> PowerEstimate:
    mmcm_w = P_MMCM if mmcm else 0.0
    base = tree + loads + bram + mmcm_w
    dynamic = base + logic
    return PowerEstimate(static_w=static_w, dynamic_w=dynamic, power_w=static_w + dynamic, clock_w=tree + loads,
                         logic_w=logic, bram_w=bram, mmcm_w=mmcm_w, alpha=alpha, bram_enable_rate=bram_enable_rate,
                         clock_mhz=clock_mhz, dynamic_w_low=base + low, dynamic_w_high=base + high,
                         clock_tree_w=tree, blocks=[asdict(b) for b in blocks])


def estimate_block_power(blocks: dict[str, dict], busy: dict[str, float], static_w: float, clock_mhz: float,
                         bram_always_enabled: bool, mmcm: bool = False,
                         reads: dict[str, float] | None = None) -> PowerEstimate:
    """Static + dynamic power of a design made of ``blocks`` (name -> resource counts with the keys
    ``lut_cells, ff, carry4, lutram, bram36`` of :func:`srcfpga.boards.synth.count_resources`), each at
    the toggle rate of its own busy fraction ``busy[name]`` (:func:`toggle_rate`; a block without a
    measured busy fraction counts as busy every cycle). Its block-RAM ports read every cycle when Yosys
    tied their enables to 1 (``bram_always_enabled``), else on the share ``reads[name]`` of the cycles
    (the weight ROMs: :func:`srcfpga.boards.activity.rom_reads`), or on its busy cycles. ``alpha`` and
    ``bram_enable_rate`` of the result are the logic- and port-weighted means."""
    f = clock_mhz * 1e6
    rows = []
    for name, counts in blocks.items():
        share = min(1.0, max(0.0, busy.get(name, 1.0)))
        alpha = toggle_rate(share)
        rate = 1.0 if bram_always_enabled else min(1.0, (reads or {}).get(name, share))
        loads, logic, bram, low, high = _terms(f, counts["lut_cells"], counts["ff"], counts["carry4"],
                                               counts["bram36"], counts["lutram"], 2 * counts["bram36"], alpha, rate)
        rows.append(BlockPower(block=name, lut_cells=counts["lut_cells"], ff=counts["ff"], carry4=counts["carry4"],
                               lutram=counts["lutram"], bram36=counts["bram36"], busy=share, alpha=alpha,
                               bram_enable_rate=rate, clock_w=loads, logic_w=logic, bram_w=bram,
                               power_w=loads + logic + bram, power_w_low=loads + low + bram,
                               power_w_high=loads + high + bram))
    total = {key: sum(getattr(row, key) for row in rows) for key in ("clock_w", "logic_w", "bram_w")}
    weight = sum(f * (r.lut_cells * E_LUT + r.ff * E_FF + r.carry4 * E_CARRY4) for r in rows)
    ports = sum(2 * r.bram36 for r in rows)
    alpha = total["logic_w"] / weight if weight else ALPHA_IDLE
    rate = total["bram_w"] / (f * ports * E_BRAM_READ) if ports else 0.0
    low = sum(r.power_w_low - r.clock_w - r.bram_w for r in rows)
    high = sum(r.power_w_high - r.clock_w - r.bram_w for r in rows)
    return _total(static_w, clock_mhz, f * E_CLOCK_TREE, total["clock_w"], total["logic_w"], total["bram_w"],
                  low, high, mmcm, alpha, rate, rows)

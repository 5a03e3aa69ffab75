"""The HardwareModel contract: validation, JSON file with schema version and content hash."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from srcfpga.cells.src.layer import SRCLayerQ
from srcfpga.data import RateEncoder
from srcfpga.errors import ConfigError, ModelFileError, OutputPathError
from srcfpga.quant import (
    SCHEMA_VERSION,
    HardwareModel,
    ReadoutQ,
    check_weight_bits,
    signed_bits,
)
from srcfpga.testing import random_hardware_model


def layer_args(n_in: int = 3, n_out: int = 2, **changes) -> dict:
    """A small valid SRC layer (paper constants at one = 256)."""
    args = dict(weights=np.full((n_out, n_in), 5), bias=np.full(n_out, -1280), init_i=np.zeros(n_out, int),
                init_h=np.full(n_out, -200), init_hs=np.full(n_out, -200), weight_bits=6, weight_shift=4,
                unit=1 / 256, current_bits=13, decay_num=3, decay_shift=5, gate_shift=5, gate_hyp_num=3,
                gate_dep_num=32, rho=768, one=256, half=128, r=2, rs=-7)
    args.update(changes)
    return args


def small_model(**changes) -> HardwareModel:
    args = dict(input_size=3, encoder=RateEncoder(0.25, 4), layers=(SRCLayerQ(**layer_args()),),
                readout=ReadoutQ(np.array([[1, -1], [-1, 1], [0, 3]]), 8, 0.01), steps=10, blank=2,
                source={"note": "test"})
    args.update(changes)
    return HardwareModel(**args)


@pytest.fixture(scope="module")
def model() -> HardwareModel:
    return random_hardware_model(3, (12, 7, 5), weight_bits=5, n_classes=3)


# ---- file round trip -----------------------------------------------------------------------------

def test_round_trip(tmp_path, model):
    path = model.save(tmp_path / "m.hw")
    loaded = HardwareModel.load(path)
    assert loaded.content_hash == model.content_hash
    assert loaded.to_dict() == model.to_dict()
    assert loaded.encoder == model.encoder and (loaded.steps, loaded.blank) == (model.steps, model.blank)
    assert loaded.source == model.source
    for a, b in zip(loaded.layers, model.layers):
        for name in ("weights", "bias", "init_i", "init_h", "init_hs"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
            assert getattr(a, name).dtype == np.int32
        assert a.unit == b.unit and a.weight_shift == b.weight_shift and a.one == b.one
    np.testing.assert_array_equal(loaded.readout.weights, model.readout.weights)
    assert loaded.readout.scale == model.readout.scale
    # saving the loaded model writes the very same file
    assert loaded.save(tmp_path / "again.hw").read_text() == path.read_text()


def test_file_layout(tmp_path, model):
    payload = json.loads(model.save(tmp_path / "m.hw").read_text())
    assert payload["format"] == "srcfpga-hardware-model"
    assert payload["schema_version"] == SCHEMA_VERSION == 1
    assert payload["content_hash"] == model.content_hash and len(model.content_hash) == 64
    assert payload["model"]["layers"][0]["kind"] == "src"


def test_hash_depends_on_content(model):
    layer = model.layers[0]
    weights = layer.weights.copy()
    weights[0, 0] = -weights[0, 0] if weights[0, 0] else 1
    changed = model.replace(layers=(replace(layer, weights=weights),) + model.layers[1:])
    assert changed.content_hash != model.content_hash
    assert model.replace(steps=model.steps + 1).content_hash != model.content_hash
    assert model.replace().content_hash == model.content_hash


def test_save_creates_parent_directories(tmp_path, model):
    path = model.save(tmp_path / "a" / "b" / "m.hw")
    assert HardwareModel.load(path).content_hash == model.content_hash


def _edit(tmp_path, model, edit) -> object:
    path = model.save(tmp_path / "m.hw")
    payload = json.loads(path.read_text())
    edit(payload)
    path.write_text(json.dumps(payload))
    return path


def test_tampered_weight_fails_hash(tmp_path, model):
    def edit(payload):
        w = payload["model"]["layers"][0]["weights"]
        w[0][0] = 1 if w[0][0] != 1 else 2
    path = _edit(tmp_path, model, edit)
    with pytest.raises(ModelFileError, match="failed its content hash check"):
        HardwareModel.load(path)


def test_tampered_hash_fails(tmp_path, model):
    path = _edit(tmp_path, model, lambda p: p.update(content_hash="0" * 64))
    with pytest.raises(ModelFileError, match="content hash"):
        HardwareModel.load(path)


def test_missing_hash_fails(tmp_path, model):
    path = _edit(tmp_path, model, lambda p: p.pop("content_hash"))
    with pytest.raises(ModelFileError, match="content hash"):
        HardwareModel.load(path)


@pytest.mark.parametrize("edit, message", [
    (lambda p: p.update(format="something-else"), "format is not 'srcfpga-hardware-model'"),
    (lambda p: p.pop("format"), "format is not"),
    (lambda p: p.update(schema_version=2), "schema version 2; this srcfpga reads version 1"),
    (lambda p: p.pop("schema_version"), "schema version None"),
    (lambda p: p.pop("model"), "malformed"),
    (lambda p: p["model"].pop("layers"), "malformed: missing or unexpected field"),
    (lambda p: p["model"]["layers"][0].update(kind="lstm"), "unknown cell kind 'lstm'; known kinds: src, bmru, cmru"),
    (lambda p: p["model"]["layers"][0].update(colour="red"), "malformed"),
    (lambda p: p["model"]["layers"][0].update(weight_bits=9), "weight bits must be an integer in 2..8"),
    (lambda p: p["model"]["layers"][0].update(weights=[[1, 2], [3]]), "malformed"),
    (lambda p: p["model"]["layers"][0].update(bias="abc"), "malformed"),
    (lambda p: p["model"]["encoder"].update(kind="latency"), "only the rate encoder"),
    (lambda p: p["model"]["encoder"].update(rate_gain=2.0), "rate_gain"),
    (lambda p: p["model"].update(input_size="many"), "malformed"),
    (lambda p: p["model"].update(layers=7), "malformed"),
    (lambda p: p.update(model=[1, 2]), "malformed"),
])
def test_malformed_files(tmp_path, model, edit, message):
    path = _edit(tmp_path, model, edit)
    with pytest.raises(ModelFileError, match=message) as info:
        HardwareModel.load(path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("content", [
    b"", b"{", b'{"format": "srcfpga-hardware-model", "schema_v', b"\x89PNG\r\n\x1a\n\x00\xff\xfe",
])
def test_not_json(tmp_path, content):
    path = tmp_path / "bad.hw"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match="is not a hardware model file"):
        HardwareModel.load(path)


def test_truncated_file(tmp_path, model):
    path = model.save(tmp_path / "m.hw")
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    with pytest.raises(ModelFileError, match="not JSON"):
        HardwareModel.load(path)


@pytest.mark.parametrize("payload", ["[1, 2]", "42", "null", '"text"'])
def test_json_but_not_an_object(tmp_path, payload):
    path = tmp_path / "m.hw"
    path.write_text(payload)
    with pytest.raises(ModelFileError, match="format is not"):
        HardwareModel.load(path)


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        HardwareModel.load(tmp_path / "none.hw")


def test_directory_is_not_a_model(tmp_path):
    with pytest.raises(ModelFileError):
        HardwareModel.load(tmp_path)


def test_failed_save_leaves_no_file(tmp_path, model, monkeypatch):
    import srcfpga.fileio

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(srcfpga.fileio.os, "replace", broken_replace)
    with pytest.raises(OutputPathError, match=f"cannot write {tmp_path / 'm.hw'}: disk full"):
        model.save(tmp_path / "m.hw")
    assert list(tmp_path.iterdir()) == []


def test_failed_save_keeps_the_previous_file(tmp_path, model, monkeypatch):
    path = small_model().save(tmp_path / "m.hw")
    before = path.read_text()

    def broken_write(self, text):
        with open(self, "w") as f:
            f.write(text[:10])
        raise OSError("disk full")

    monkeypatch.setattr(Path, "write_text", broken_write)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.hw"]


# ---- validation ----------------------------------------------------------------------------------

def test_small_model_is_valid():
    hw = small_model()
    layer = hw.layers[0]
    assert hw.cell == "src" and hw.sizes == (3, 2)
    assert (layer.n_in, layer.n_out) == (3, 2)
    assert layer.current_range == (-4096, 4095)
    assert layer.state_bits == 10                       # [-256, 256]
    assert layer.syn_bits == signed_bits(-93, 93) == 8
    assert layer.synaptic_weights_t.dtype == np.int8     # the exact int8 GEMM path
    assert hw.readout.n_classes == 3 and hw.readout.acc_range == (-(1 << 23), (1 << 23) - 1)


def test_arrays_are_read_only_int32():
    layer = SRCLayerQ(**layer_args(weights=np.full((2, 3), 5.0)))
    assert layer.weights.dtype == np.int32 and not layer.weights.flags.writeable
    with pytest.raises(ValueError):
        layer.bias[0] = 1


def test_signed_bits():
    assert signed_bits(0, 0) == 1
    assert signed_bits(-1, 0) == 1
    assert signed_bits(0, 1) == 2
    assert signed_bits(-128, 127) == 8
    assert signed_bits(-129, 0) == 9
    assert signed_bits(0, 128) == 9


@pytest.mark.parametrize("bits", [2, 3, 4, 5, 6, 7, 8, np.int64(5)])
def test_weight_bits_in_range(bits):
    assert check_weight_bits(bits) == int(bits)


@pytest.mark.parametrize("bits", [0, 1, 9, 16, -4, 4.0, "8", None])
def test_weight_bits_out_of_range(bits):
    with pytest.raises(ConfigError, match="weight bits must be an integer in 2..8"):
        check_weight_bits(bits)
    with pytest.raises(ConfigError, match="weight bits"):
        SRCLayerQ(**layer_args(weight_bits=bits))


@pytest.mark.parametrize("bits", [2, 4, 8])
def test_weights_must_fit_their_bits(bits):
    wmax = (1 << (bits - 1)) - 1
    SRCLayerQ(**layer_args(weights=np.array([[wmax, -wmax, 0]] * 2), weight_bits=bits))
    for bad in (wmax + 1, -wmax - 1):                   # symmetric range: -2^(B-1) is excluded too
        with pytest.raises(ConfigError, match=f"{bits}-bit weights"):
            SRCLayerQ(**layer_args(weights=np.array([[bad, 0, 0]] * 2), weight_bits=bits))


@pytest.mark.parametrize("changes, message", [
    (dict(weights=np.ones(3)), "non-empty 2-D array"),
    (dict(weights=np.ones((2, 0))), "non-empty 2-D array"),
    (dict(weights=np.ones((2, 3, 1))), "non-empty 2-D array"),
    (dict(weights=np.full((2, 3), 0.5)), "weights must hold integers"),
    (dict(weights=np.full((2, 3), np.nan)), "weights must hold integers"),
    (dict(bias=np.zeros(3)), r"bias has shape \(3,\), expected \(2,\)"),
    (dict(init_h=np.zeros((2, 1))), "init_h has shape"),
    (dict(init_hs=[1.5, 0]), "init_hs must hold integers"),
    (dict(weight_shift=-1), "weight_shift must be in 0..16"),
    (dict(weight_shift=17), "weight_shift must be in 0..16"),
    (dict(half=256), "need 0 < half < one"),
    (dict(half=0), "need 0 < half < one"),
    (dict(rho=0), "rho > 0"),
    (dict(decay_shift=0), "decay must satisfy"),
    (dict(decay_shift=13), "decay must satisfy"),
    (dict(decay_num=33), "decay must satisfy"),
    (dict(decay_num=-1), "decay must satisfy"),
    (dict(gate_shift=0), "gate must satisfy"),
    (dict(gate_hyp_num=33), "gate must satisfy"),
    (dict(gate_dep_num=-1), "gate must satisfy"),
    (dict(current_bits=10), "must hold \\+-rho=768"),
    (dict(current_bits=25), "and be <= 24"),
    (dict(current_bits=20, decay_shift=11), "current_bits \\+ decay_shift must be <= 30"),
    (dict(init_i=[4096, 0]), "init_i has values in \\[0, 4096\\], outside \\[-4096, 4095\\]"),
    (dict(init_h=[0, -257]), "init_h has values"),
    (dict(init_hs=[257, 0]), "init_hs has values"),
    (dict(weights=np.full((2, 40000), 127), weight_bits=8, weight_shift=8), "layer too large"),
    (dict(one=1 << 20, half=1 << 19, gate_shift=12), "gate product"),
    (dict(gate="step"), "gate must be a piecewise-linear table"),
])
def test_layer_validation(changes, message):
    with pytest.raises(ConfigError, match=message):
        SRCLayerQ(**layer_args(**changes))


@pytest.mark.parametrize("name, value", [("r", 2.5), ("rs", -7.0), ("one", "256"), ("half", True), ("rho", None),
                                         ("weight_shift", 4.0), ("gate_dep_num", np.float64(32))])
def test_layer_constants_must_be_integers(name, value):
    with pytest.raises(ConfigError, match=f"layer constant {name} must be an integer"):
        SRCLayerQ(**layer_args(**{name: value}))


def test_numpy_integer_constants_become_python_ints():
    layer = SRCLayerQ(**layer_args(rho=np.int64(768), r=np.int32(2)))
    assert type(layer.rho) is int and type(layer.r) is int


@pytest.mark.parametrize("name", ["weights", "bias", "init_i"])
@pytest.mark.parametrize("value", [1 << 31, (1 << 32) - 5, -(1 << 31) - 1, 1 << 70])
def test_values_beyond_int32_are_rejected_not_wrapped(name, value):
    args = layer_args()
    array = np.array(args[name], dtype=object)
    array.flat[0] = value
    with pytest.raises(ConfigError, match=name):
        SRCLayerQ(**(args | {name: array}))


@pytest.mark.parametrize("changes", [
    dict(bias=[(1 << 31) - 1, 0]),                       # fits int32, but x + r h + rs hs + bias does not
    dict(r=1 << 22),
    dict(rs=-(1 << 22)),
])
def test_h_preactivation_must_fit(changes):
    with pytest.raises(ConfigError, match="pre-activation"):
        SRCLayerQ(**layer_args(**changes))


@pytest.mark.parametrize("changes, message", [
    (dict(weights=np.ones(2)), "readout weights must be a non-empty 2-D array"),
    (dict(weights=np.full((3, 2), 128)), "readout weights has values"),
    (dict(weight_bits=1), "readout weight bits must be in 2..16"),
    (dict(weight_bits=17), "readout weight bits must be in 2..16"),
    (dict(acc_bits=8), "acc_bits must be in 9..31"),
    (dict(acc_bits=32), "acc_bits must be in 9..31"),
])
def test_readout_validation(changes, message):
    args = dict(weights=np.ones((3, 2)), weight_bits=8, scale=1.0) | changes
    with pytest.raises(ConfigError, match=message):
        ReadoutQ(**args)


def test_model_validation():
    layer = SRCLayerQ(**layer_args())
    readout = ReadoutQ(np.ones((3, 2)), 8, 1.0)
    with pytest.raises(ConfigError, match="at least one layer"):
        small_model(layers=())
    with pytest.raises(ConfigError, match="layer 0 expects 3 inputs but receives 4"):
        small_model(input_size=4)
    with pytest.raises(ConfigError, match="layer 1 expects 3 inputs but receives 2"):
        small_model(layers=(layer, layer))
    with pytest.raises(ConfigError, match="readout expects 5 inputs, last layer has 2"):
        small_model(readout=ReadoutQ(np.ones((3, 5)), 8, 1.0))
    with pytest.raises(ConfigError, match="need steps >= 1"):
        small_model(steps=0, readout=readout)
    with pytest.raises(ConfigError, match="blank >= 0"):
        small_model(blank=-1)
    two = small_model(layers=(layer, SRCLayerQ(**layer_args(n_in=2, n_out=4))),
                      readout=ReadoutQ(np.ones((3, 4)), 8, 1.0))
    assert two.sizes == (3, 2, 4)

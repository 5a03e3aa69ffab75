"""BMRU / CMRU quantization: folding, PTQ into the HardwareModel, QAT forward equal to golden bit for bit."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from budget import MODEL, budget
from hypothesis import given
from hypothesis import strategies as st

from srcfpga.cli import main
from srcfpga.golden import run_golden
from srcfpga.nn import load_model
from srcfpga.nn.qat import QATNet
from srcfpga.quant import HardwareModel, QuantConfig, quantize_net
from srcfpga.testing import random_mru_net


def test_folding_is_exact_in_float():
    net = random_mru_net(0, "bmru")
    x = (torch.rand(3, 16, 7) < 0.4).float()
    folded, ro_w, ro_b = net.fold()
    with torch.no_grad():
        logits, outputs = net(x, trace=True)
        q_prev = x
        for index, layer in enumerate(net.layers):
            real_in = x if index == 0 else outputs[index - 1]
            c, beta = layer.preactivations(real_in)
            torch.testing.assert_close(q_prev @ folded[index].weight_c.T + folded[index].bias_c, c)
            torch.testing.assert_close(q_prev @ folded[index].weight_b.T + folded[index].bias_b, beta)
            gain, offset = layer.output_map()
            q_prev = (outputs[index] / layer.alpha - offset) / gain
            assert set(q_prev.unique().tolist()) <= {0.0, 1.0}
        torch.testing.assert_close((q_prev @ ro_w.T + ro_b).mean(1), logits)


@pytest.mark.parametrize("cell, variant", [("bmru", "full"), ("bmru", "first"), ("cmru", "full"),
                                           ("alphacmru", "full")])
def test_ptq_structure(cell, variant):
    net = random_mru_net(1, cell, variant, window=2)
    hw = quantize_net(net, QuantConfig(weight_bits=5))
    assert [layer.kind for layer in hw.layers] == [cell, cell]
    assert hw.layers[0].input_range == (0, 1) and hw.layers[1].input_range == hw.layers[0].output_range
    assert (hw.layers[0].weights_b is None) == (variant == "first")
    assert hw.readout.window == 2 and hw.readout.bias is not None
    assert hw.layers[0].init.tolist() == [0] * 6
    folded, _, _ = net.fold()
    for q, f in zip(hw.layers, folded):
        scale = q.unit * (1 << q.frac_bits)
        error = np.abs(q.weights_c * scale - f.weight_c.detach().double().numpy())
        assert error.max() <= 0.5 * scale + 1e-9 or q.weights_c.max() == 15   # clipped at mse scale


@budget(MODEL)
@given(seed=st.integers(0, 10_000), cell_variant=st.sampled_from([("bmru", "full"), ("bmru", "first"),
                                                                  ("cmru", "full"), ("alphacmru", "full")]),
       bits=st.integers(2, 8), window=st.sampled_from([0, 1, 5]), density=st.sampled_from([0.1, 0.4, 0.8]),
       drive=st.sampled_from([0.3, 1.0, 3.0]))
def test_qat_forward_equals_golden(seed, cell_variant, bits, window, density, drive):
    cell, variant = cell_variant
    net = random_mru_net(seed, cell, variant, window=window, drive=drive)
    qat = QATNet(net, QuantConfig(weight_bits=bits, readout_bits=6))
    hw = qat.hardware_model()
    spikes = np.random.default_rng(seed).random((4, 16, 7)) < density
    logits, trace = qat(torch.from_numpy(spikes).float(), trace=True)
    golden = run_golden(hw, spikes=spikes, trace=True)
    for index, layer_trace in enumerate(golden.traces):
        q = trace.spikes[index].numpy().astype(np.int64)
        mismatch = np.argwhere(q != layer_trace.spikes.astype(np.int64))
        assert not len(mismatch), f"layer {index}: first (sample, step, unit) mismatch {mismatch[0]}"
        np.testing.assert_array_equal(trace.states[index]["c"].numpy(), layer_trace.c)
        np.testing.assert_array_equal(trace.states[index]["beta"].numpy(), layer_trace.beta)
    np.testing.assert_array_equal(trace.readout.numpy(), golden.readout_trace)
    np.testing.assert_array_equal(logits.argmax(1).numpy(), golden.predictions)


@pytest.mark.parametrize("cell, variant", [("bmru", "full"), ("bmru", "first"), ("cmru", "full"),
                                           ("alphacmru", "full")])
def test_qat_gradients(cell, variant):
    net = random_mru_net(2, cell, variant)
    qat = QATNet(net, QuantConfig(weight_bits=4))
    x = (torch.rand(5, 16, 7) < 0.4).float()
    torch.nn.functional.cross_entropy(qat(x).float(), torch.tensor([0, 1, 2, 0, 1])).backward()
    for name, p in net.named_parameters():
        if name.endswith("weight_b") and variant == "first":
            continue
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert any(float(p.grad.abs().sum()) > 0 for name, p in net.named_parameters() if "layers.0" in name)


def test_train_qat_quantize_eval_round_trip(tmp_path):
    """``train --weight-bits`` reports the golden accuracy of exactly the model ``quantize`` writes."""
    model = tmp_path / "bmru4.pt"
    hw_path = tmp_path / "bmru4.hw"
    assert main(["train", "--dataset", "digits", "--cell", "bmru", "--hidden", "10", "--epochs", "1", "--limit",
                 "96", "--batch-size", "32", "--weight-bits", "4", "--qat-epochs", "1", "-o", str(model),
                 "--json"]) == 0
    net, meta = load_model(model)
    assert meta["quant"]["weight_bits"] == 4 and meta["test_path"] == "golden"
    assert main(["quantize", str(model), "-o", str(hw_path), "--json"]) == 0
    hw = HardwareModel.load(hw_path)
    trained = QATNet(net, QuantConfig(**meta["quant"])).hardware_model()
    assert hw.replace(source={}).content_hash == trained.replace(source={}).content_hash
    assert hw.encoder.kind == "rows" and hw.steps == 8
    assert main(["eval", str(hw_path), "--dataset", "digits", "--json"]) == 0


def test_eval_cli_golden_equals_meta(tmp_path, capsys):
    model = tmp_path / "c.pt"
    assert main(["train", "--dataset", "digits", "--cell", "cmru", "--hidden", "6", "--epochs", "1", "--limit", "64",
                 "--weight-bits", "5", "--qat-epochs", "1", "-o", str(model), "--json"]) == 0
    capsys.readouterr()
    meta = load_model(model)[1]
    assert main(["quantize", str(model), "-o", str(tmp_path / "c.hw")]) == 0
    capsys.readouterr()
    assert main(["eval", str(tmp_path / "c.hw"), "--dataset", "digits", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == meta["test_accuracy"]


@budget(MODEL)
@given(seed=st.integers(0, 10_000), relax_shift=st.integers(0, 4), bits=st.integers(2, 8),
       density=st.sampled_from([0.1, 0.4, 0.8]), drive=st.sampled_from([0.3, 1.0, 3.0]))
def test_alphacmru_qat_equals_golden_at_every_relaxation(seed, relax_shift, bits, density, drive):
    """The relaxed counter (every shift, 6-bit states) through QAT and golden: same states at every step."""
    net = random_mru_net(seed, "alphacmru", count_bits=6, relax_shift=relax_shift, drive=drive)
    qat = QATNet(net, QuantConfig(weight_bits=bits, readout_bits=6))
    hw = qat.hardware_model()
    assert all(layer.relax_shift == relax_shift for layer in hw.layers)
    spikes = np.random.default_rng(seed).random((4, 16, 7)) < density
    logits, trace = qat(torch.from_numpy(spikes).float(), trace=True)
    golden = run_golden(hw, spikes=spikes, trace=True)
    for index, layer_trace in enumerate(golden.traces):
        np.testing.assert_array_equal(trace.spikes[index].numpy().astype(np.int64), layer_trace.spikes)
    np.testing.assert_array_equal(trace.readout.numpy(), golden.readout_trace)
    np.testing.assert_array_equal(logits.argmax(1).numpy(), golden.predictions)


def test_alphacmru_float_and_golden_agree_up_to_the_leak_rounding():
    """The float alphaCMRU (relax 0.75) and its 8-bit quantization: ``q / 2^r`` follows ``s`` within 1.0 (the
    floor of each leak loses under one LSB ``2^-r``; the losses decay by ``relax`` per event, so they sum
    below ``2^-r / (1 - relax) = 1``), where the 8-bit comparators decide as the float ones."""
    net = random_mru_net(4, "alphacmru", sizes=(7, 6), count_bits=6, relax_shift=2, drive=2.0)
    layer = net.layers[0]
    x = (torch.rand(3, 16, 7, generator=torch.Generator().manual_seed(0)) < 0.5).double()
    with torch.no_grad():
        s = layer.double().states(x, layer.cfg.relax).numpy()
    hw = quantize_net(net.float(), QuantConfig(weight_bits=8))
    golden_q = run_golden(hw, spikes=x.numpy().astype(bool), trace=True).traces[0].spikes
    assert np.abs(golden_q).max() > 4 and np.abs(s - golden_q / 4).max() <= 1.0

"""The QAT forward pass equals the golden model bit for bit, and trains (gradients flow)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from budget import MODEL, budget
from hypothesis import given
from hypothesis import strategies as st

from srcfpga.golden import run_golden
from srcfpga.nn.qat import QATNet, with_bits
from srcfpga.quant import QuantConfig, quantize_net
from srcfpga.testing import random_hardware_model, random_net, random_spikes


def assert_qat_equals_golden(qat: QATNet, spikes: np.ndarray) -> None:
    """Every spike of every layer at every step, the states i / h / hs, the readout and the class."""
    hw = qat.hardware_model()
    golden = run_golden(hw, spikes=spikes, trace=True)
    with torch.no_grad():
        logits, trace = qat(torch.from_numpy(spikes).float(), trace=True)
    for index, layer in enumerate(golden.traces):
        for name in ("spikes", "i", "h", "hs"):
            want = getattr(layer, name).astype(np.int64)
            got = (trace.spikes[index] if name == "spikes" else trace.states[index][name]).numpy()
            assert np.all(got == np.rint(got)), f"layer {index} {name} is not integral"
            mismatch = np.argwhere(got.astype(np.int64) != want)
            if len(mismatch):
                b, t, n = mismatch[0]
                pytest.fail(f"layer {index} {name}: {len(mismatch)} mismatches, first at sample {b} step {t} "
                            f"neuron {n}: qat {got[b, t, n]} golden {want[b, t, n]}")
    np.testing.assert_array_equal(trace.readout.numpy().astype(np.int64), golden.readout_trace)
    np.testing.assert_array_equal(logits.argmax(1).numpy(), golden.predictions)
    np.testing.assert_allclose(logits.numpy(), golden.readout * hw.readout.scale / spikes.shape[1], rtol=1e-12)


@budget(MODEL)
@given(seed=st.integers(0, 2 ** 16), bits=st.integers(4, 8), n_in=st.integers(1, 12),
       hidden=st.lists(st.integers(1, 8), min_size=1, max_size=2), density=st.floats(0.0, 1.0),
       drive=st.sampled_from([0.3, 1.0, 3.0]), steps=st.integers(1, 10), batch=st.integers(1, 3),
       frac_bits=st.sampled_from([5, 8, 10]), clip=st.sampled_from(["max", "mse"]),
       segments=st.sampled_from([1, 2, 3, 8, 16]))
def test_qat_forward_equals_golden(seed, bits, n_in, hidden, density, drive, steps, batch, frac_bits, clip, segments):
    net = random_net(seed, (n_in, *hidden), n_classes=3, drive=drive)
    qat = QATNet(net, QuantConfig(weight_bits=bits, state_frac_bits=frac_bits, clip=clip, segments=segments))
    assert_qat_equals_golden(qat, random_spikes(seed + 1, batch, steps, n_in, density))


@pytest.mark.parametrize("bits, segments", [(4, 1), (5, 4), (6, 1), (7, 16), (8, 8), (4, 8)])
def test_busy_network_equals_golden(bits, segments):
    """A larger net over more steps, with activity in every layer (and spikes actually compared)."""
    net = random_net(bits, (30, 16, 10), n_classes=4)
    qat = QATNet(net, QuantConfig(weight_bits=bits, segments=segments))
    spikes = random_spikes(bits, batch=4, steps=25, n_in=30, density=0.3)
    golden = run_golden(qat.hardware_model(), spikes=spikes, trace=True)
    for layer in golden.traces:
        assert 0.02 < layer.spikes.mean() < 0.98
    assert_qat_equals_golden(qat, spikes)


def test_hardware_model_is_the_ptq_of_the_weights():
    net = random_net(0, (6, 5), n_classes=3)
    qc = QuantConfig(weight_bits=5)
    qat = QATNet(net, qc)
    assert qat.hardware_model().content_hash == quantize_net(net, qc).content_hash
    assert qat.config is net.config
    assert with_bits(qat, 7).hardware_model().layers[0].weight_bits == 7
    assert with_bits(qat, 7).net is net


def test_export_survives_saving_the_float_model(tmp_path):
    """QAT's export names the float weights by their hash: the saved and reloaded model quantizes to it."""
    from srcfpga.nn import load_model, save_model
    from srcfpga.nn.checkpoint import model_hash, quantize_model

    net = random_net(4, (6, 5), n_classes=3)
    qc = QuantConfig(weight_bits=4, segments=8, state_frac_bits=10)
    exported = QATNet(net, qc).export()
    loaded, _ = load_model(save_model(net, tmp_path / "m.pt"))
    assert quantize_model(loaded, qc).content_hash == exported.content_hash
    assert exported.source["float_model_hash"] == model_hash(loaded)
    assert exported.replace(source={}).content_hash == QATNet(net, qc).hardware_model().replace(source={}).content_hash
    with torch.no_grad():
        loaded.layers[0].weight[0, 0] += 1e-3                            # another model: another hash
    assert model_hash(loaded) != exported.source["float_model_hash"]


def test_logits_without_trace():
    net = random_net(1, (6, 5), n_classes=3)
    qat = QATNet(net, QuantConfig(weight_bits=6))
    spikes = torch.from_numpy(random_spikes(1, 2, 5, 6)).float()
    with torch.no_grad():
        plain = qat(spikes)
        traced, _ = qat(spikes, trace=True)
    assert plain.shape == (2, 3) and plain.dtype == torch.float64
    assert torch.equal(plain, traced)


@pytest.mark.parametrize("segments", [1, 8])
def test_gradients_flow(segments):
    torch.manual_seed(0)
    net = random_net(2, (20, 12, 8), n_classes=4)
    qat = QATNet(net, QuantConfig(weight_bits=4, segments=segments))
    spikes = torch.from_numpy(random_spikes(2, 6, 20, 20, density=0.3)).float()
    labels = torch.tensor([0, 1, 2, 3, 0, 1])
    loss = torch.nn.functional.cross_entropy(qat(spikes).float(), labels)
    loss.backward()
    assert torch.isfinite(loss)
    for index, layer in enumerate(net.layers):
        for name in ("weight", "bias"):
            grad = getattr(layer, name).grad
            assert grad is not None and torch.isfinite(grad).all(), (index, name)
            assert grad.abs().sum() > 0, f"layer {index} {name} has no gradient"
    assert net.readout.grad is not None and net.readout.grad.abs().sum() > 0


def test_a_training_step_changes_the_quantized_model():
    net = random_net(3, (10, 8), n_classes=2)
    qat = QATNet(net, QuantConfig(weight_bits=8))
    before = qat.hardware_model().content_hash
    spikes = torch.from_numpy(random_spikes(3, 8, 10, 10, density=0.4)).float()
    loss = torch.nn.functional.cross_entropy(qat(spikes).float(), torch.arange(8) % 2)
    loss.backward()
    with torch.no_grad():                                   # one plain SGD step
        for p in net.parameters():
            if p.grad is not None:
                p -= 0.5 * p.grad
    assert qat.hardware_model().content_hash != before


def test_random_hardware_model_helper():
    hw = random_hardware_model(4, (7, 5, 3), weight_bits=6, n_classes=2)
    assert hw.sizes == (7, 5, 3) and hw.readout.n_classes == 2
    assert hw.content_hash == random_hardware_model(4, (7, 5, 3), weight_bits=6, n_classes=2).content_hash
    spikes = random_spikes(0, 2, 3, 7)
    assert spikes.dtype == bool and spikes.shape == (2, 3, 7)

"""LIF-family float networks: quantization and the QAT forward pass, which equals the golden model bit for bit
(every spike, state word and readout accumulator), with gradients to the float parameters."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from budget import MODEL, budget
from hypothesis import given
from hypothesis import strategies as st

from srcfpga.cells.lif.layer import RESETS
from srcfpga.errors import ConfigError
from srcfpga.golden import run_golden
from srcfpga.nn import NetConfig
from srcfpga.nn.network import Net
from srcfpga.nn.qat import QATNet
from srcfpga.quant import QuantConfig


def lif_net(seed: int, kind: str, sizes: tuple[int, ...], recurrent, reset: str, drive: float = 2.0,
            readout_decay: float | None = None) -> Net:
    torch.manual_seed(seed)
    net = Net(NetConfig(input_size=sizes[0], hidden=sizes[1:], n_classes=3, cell=kind, encoding="frames", steps=12,
                        cell_config={"recurrent": recurrent, "reset": reset, "threshold": 0.5, "beta": 0.85,
                                     "alpha": 0.7}, readout_decay=readout_decay))
    with torch.no_grad():
        for layer in net.layers:
            layer.fc.weight.mul_(drive)
            layer.threshold.mul_(0.8 + 0.4 * torch.rand(layer.n_out))
            layer.beta.copy_(torch.where(torch.rand(layer.n_out) < 0.5, layer.beta, layer.beta - 0.1))
    return net


@budget(MODEL)
@given(seed=st.integers(0, 2**16), kind=st.sampled_from(["if", "lif", "cubalif"]),
       recurrent=st.sampled_from([False, True, (True, False), (False, True)]),
       reset=st.sampled_from(RESETS), bits=st.integers(4, 8), frac=st.integers(4, 9),
       sizes=st.sampled_from([(10, 8, 6), (5, 3), (12, 9)]), density=st.sampled_from([0.2, 0.5]),
       readout_decay=st.sampled_from([None, 0.0, 0.5, 0.9, 0.97]), decay_shift=st.integers(2, 8))
def test_qat_equals_golden(seed, kind, recurrent, reset, bits, frac, sizes, density, readout_decay, decay_shift):
    """Every spike, state word and readout accumulator, with an integrating or a leaky (LI) readout, recurrent
    in every layer, none, or some (per layer)."""
    recurrent = recurrent[:len(sizes) - 1] if isinstance(recurrent, tuple) else recurrent
    net = lif_net(seed, kind, sizes, recurrent, reset, readout_decay=readout_decay)
    qat = QATNet(net, QuantConfig(weight_bits=bits, state_frac_bits=frac, decay_shift=decay_shift))
    frames = torch.from_numpy(np.random.default_rng(seed).random((3, 12, sizes[0])) < density).float()
    logits, trace = qat(frames, trace=True)
    golden = run_golden(qat.hardware_model(), spikes=frames.numpy().astype(bool), trace=True)
    for index, layer in enumerate(golden.traces):
        np.testing.assert_array_equal(trace.spikes[index].numpy().astype(bool), layer.spikes)
        assert set(trace.states[index]) == set(layer.states())
        for name, values in layer.states().items():
            np.testing.assert_array_equal(trace.states[index][name].numpy(), values)
    np.testing.assert_array_equal(trace.readout.numpy(), golden.readout_trace)
    np.testing.assert_array_equal(logits.argmax(dim=1).numpy(), golden.predictions)


@pytest.mark.parametrize("kind", ["lif", "cubalif"])
def test_qat_gradients_reach_every_parameter(kind):
    net = lif_net(1, kind, (10, 8, 6), True, "subtract")
    logits = QATNet(net, QuantConfig(weight_bits=6))(torch.from_numpy(np.random.default_rng(1).random((4, 12, 10)) < 0.4).float())
    logits.logsumexp(dim=1).sum().backward()
    for name, parameter in net.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_quantizer_constants():
    """Thresholds near 2^F LSBs, leaks 1 - n / 2^m per neuron, recurrent bias folded into the bias."""
    net = lif_net(2, "cubalif", (6, 4), True, "zero")
    layer = net.layers[0]
    hw = QATNet(net, QuantConfig(weight_bits=6, state_frac_bits=8, decay_shift=5, gate_shift=4)).hardware_model()
    q = hw.layers[0]
    assert q.kind == "cubalif" and q.reset == "zero" and q.recurrent.shape == (4, 4)
    assert 2 ** 7 < int(q.threshold.max()) <= 2 ** 9
    np.testing.assert_array_equal(q.decay_num, np.rint((1 - layer.beta.double().numpy()) * 32))
    np.testing.assert_array_equal(q.syn_decay_num, np.rint((1 - layer.alpha.double().numpy()) * 16))
    bias = (layer.fc.bias + layer.recurrent.bias).detach().double().numpy()
    np.testing.assert_allclose(q.bias * q.unit, bias, atol=q.unit / 2 + 1e-12)
    with pytest.raises(ConfigError, match="reset must be one of"):
        NetConfig(input_size=4, hidden=(3,), cell="lif", cell_config={"reset": "none"})


def test_leaky_readout_quantizes_and_scales_logits():
    """readout_decay d becomes 1 - n / 2^decay_shift (the cells' leak rounding); QAT's logits are the accumulator
    over the window's geometric gain, close to the float logits; the config stores the option only when set."""
    from srcfpga.quant.hwmodel import readout_gain
    from srcfpga.quant.ptq import leak_num

    net = lif_net(3, "lif", (10, 8), False, "subtract", drive=3.0, readout_decay=0.9)
    qat = QATNet(net, QuantConfig(weight_bits=8, decay_shift=6))
    ro = qat.hardware_model().readout
    assert (ro.decay_num, ro.decay_shift) == (leak_num(0.9, 6), 6) == (6, 6)
    frames = torch.from_numpy(np.random.default_rng(3).random((8, 12, 10)) < 0.4).float()
    with torch.no_grad():
        logits, trace = qat(frames, trace=True)
        real = net(frames)
    np.testing.assert_allclose(logits.numpy(), trace.readout[:, -1].numpy() * ro.scale / readout_gain(1 - 6 / 64, 12))
    assert np.abs(logits.numpy() - real.numpy()).max() < 0.1 * np.abs(real.numpy()).max()
    assert net.config.to_dict()["readout_decay"] == 0.9
    assert "readout_decay" not in lif_net(3, "lif", (10, 8), False, "subtract").config.to_dict()
    assert NetConfig.from_dict(net.config.to_dict()) == net.config
    for bad in (1.0, -0.1, "0.5"):
        with pytest.raises(ConfigError, match="readout_decay must be a number in"):
            NetConfig(input_size=4, hidden=(3,), cell="lif", readout_decay=bad)
    with pytest.raises(ConfigError, match="cell 'src' has no option readout_decay"):
        NetConfig(input_size=4, hidden=(3,), cell="src", readout_decay=0.5)


def test_per_layer_recurrent_config():
    """``recurrent`` is one bool for every layer (as model files before per-layer recurrence store it, unchanged)
    or one per layer; a tuple of equal values is that bool (one stored form, one hash); the tuple names every
    layer."""
    config = {"input_size": 4, "hidden": (3, 2), "cell": "lif", "encoding": "frames"}
    mixed = NetConfig(**config, cell_config={"recurrent": [True, False]})
    assert mixed.cell_config.recurrent == (True, False)
    assert [layer.recurrent is not None for layer in Net(mixed).layers] == [True, False]
    assert NetConfig.from_dict(mixed.to_dict()) == mixed
    uniform = NetConfig(**config, cell_config={"recurrent": (True, True)})
    assert uniform.to_dict()["lif"]["recurrent"] is True
    assert uniform == NetConfig(**config, cell_config={"recurrent": True})
    with pytest.raises(ConfigError, match="recurrent names 3 layers, the network has 2"):
        NetConfig(**config, cell_config={"recurrent": (True, False, True)})
    for bad in ((), (1, 0), "yes"):
        with pytest.raises(ConfigError, match="recurrent"):
            NetConfig(**config, cell_config={"recurrent": bad})

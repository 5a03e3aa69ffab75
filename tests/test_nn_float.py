"""Float SRC layer and network (torch), configurations, and float model files."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from srcfpga.cells.src.config import SRCCellConfig
from srcfpga.cells.src.float import SRCLayer, StraightThroughReLU, resting_state
from srcfpga.data import RateEncoder
from srcfpga.errors import ConfigError, ModelFileError
from srcfpga.nn import Net, NetConfig, load_model, save_model
from srcfpga.nn.checkpoint import FILE_FORMAT
from srcfpga.testing import random_net, random_spikes


def test_layer_shapes():
    layer = SRCLayer(7, 5, SRCCellConfig())
    assert (layer.n_in, layer.n_out) == (7, 5)
    assert layer.weight.shape == (5, 7) and layer.bias.shape == (5,)
    assert torch.all(layer.bias == -5.0)
    state = layer.initial_state(3)
    assert [s.shape for s in state] == [(3, 5)] * 3
    out, (i, h, hs) = layer.step(torch.ones(3, 7), state)
    assert out.shape == i.shape == h.shape == hs.shape == (3, 5)
    assert torch.all(out >= 0) and torch.all(h.abs() < 1)


def test_resting_state_is_a_fixed_point():
    cell = SRCCellConfig()
    for bias in (-6.0, -5.0, -4.0, 0.0):
        h = resting_state(cell, bias)
        assert abs(math.tanh((cell.r + cell.rs) * h + bias) - h) < 1e-12
    layer = SRCLayer(3, 2, cell)
    assert torch.allclose(layer.init_h, torch.full((2,), resting_state(cell, -5.0)))
    assert torch.equal(layer.init_h, layer.init_hs) and not layer.init_i.any()


def test_step_follows_the_equations():
    cell = SRCCellConfig()
    layer = SRCLayer(3, 2, cell)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, -2.0, 0.5], [0.3, 0.0, 2.0]]))
        layer.bias.copy_(torch.tensor([-4.5, -5.5]))
    s_in = torch.tensor([[1.0, 0.0, 1.0]])
    i0, h0, hs0 = torch.tensor([[0.4, -1.0]]), torch.tensor([[0.7, -0.2]]), torch.tensor([[0.1, 0.3]])
    out, (i, h, hs) = layer.step(s_in, (i0, h0, hs0))
    for n in range(2):
        w = layer.weight[n].tolist()
        ii = 0.9 * i0[0, n].item() + w[0] + w[2]
        x = 3.0 * math.tanh(ii / 3.0)
        hh = math.tanh(x + 2.0 * h0[0, n].item() - 7.0 * hs0[0, n].item() + layer.bias[n].item())
        zs = 0.9 - 0.9 / (1 + math.exp(-10 * (h0[0, n].item() - 0.5)))
        hss = zs * hs0[0, n].item() + (1 - zs) * h0[0, n].item()
        assert i[0, n].item() == pytest.approx(ii, abs=1e-5)
        assert h[0, n].item() == pytest.approx(hh, abs=1e-5)
        assert hs[0, n].item() == pytest.approx(hss, abs=1e-5)
        assert out[0, n].item() == pytest.approx(max(hh, 0.0), abs=1e-5)


def test_straight_through_relu():
    x = torch.tensor([-2.0, -0.1, 0.5, 3.0], requires_grad=True)
    y = StraightThroughReLU.apply(x)
    assert y.tolist() == [0.0, 0.0, 0.5, 3.0]
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0, 1.0]


def test_bias_clamp():
    net = random_net(0, (4, 6, 3), n_classes=2)
    with torch.no_grad():
        net.layers[0].bias.copy_(torch.tensor([-9.0, -6.0, -5.0, -4.0, -1.0, 3.0]))
        net.layers[1].bias.fill_(10.0)
    net.clamp_parameters()
    assert net.layers[0].bias.tolist() == [-6.0, -6.0, -5.0, -4.0, -4.0, -4.0]
    assert torch.all(net.layers[1].bias == -4.0)


def test_network_forward():
    net = random_net(1, (10, 8, 6), n_classes=3)
    spikes = torch.from_numpy(random_spikes(1, 4, 12, 10, density=0.3)).float()
    logits = net(spikes)
    assert logits.shape == (4, 3)
    # logits are the readout of the mean spike outputs of the last layer
    counts = 0
    states = [layer.initial_state(4) for layer in net.layers]
    for t in range(12):
        s = spikes[:, t]
        for k, layer in enumerate(net.layers):
            s, states[k] = layer.step(s, states[k])
        counts = counts + s
    assert torch.allclose(logits, (counts / 12) @ net.readout.T, rtol=1e-6, atol=1e-6)


def test_float_gradients_flow():
    net = random_net(2, (10, 8, 6), n_classes=3)
    spikes = torch.from_numpy(random_spikes(2, 4, 12, 10, density=0.3)).float()
    torch.nn.functional.cross_entropy(net(spikes), torch.tensor([0, 1, 2, 0])).backward()
    for layer in net.layers:
        assert layer.weight.grad.abs().sum() > 0 and layer.bias.grad.abs().sum() > 0
    assert net.readout.grad.abs().sum() > 0


def test_fixed_readout():
    net = Net(NetConfig(input_size=4, hidden=(3,), readout_trainable=False))
    assert not net.readout.requires_grad
    assert net.readout.shape == (10, 3)


@pytest.mark.parametrize("changes, message", [
    (dict(input_size=0), "invalid sizes"), (dict(hidden=()), "invalid sizes"), (dict(hidden=(4, 0)), "invalid sizes"),
    (dict(n_classes=1), "invalid sizes"), (dict(cell="lstm"), "unknown cell kind 'lstm'"),
    (dict(rate_gain=0.0), "rate_gain"), (dict(rate_gain=1.5), "rate_gain"),
    (dict(steps=0), "need steps >= 1"), (dict(blank=-1), "blank >= 0"),
    (dict(encoding="frames"), "cell 'src' reads encodings rate, rows, got 'frames'"),
    (dict(readout_window=2), "cell 'src' has no option readout_window"),
    (dict(cell_config={"variant": "first"}), "cell 'src' has no option variant \\(its options: alpha, rho"),
    (dict(encoding="rows"), "needs image_shape"),
    (dict(encoding="rows", image_shape=(5, 2), row_levels=(100,)), "emits 2 inputs per step"),
    (dict(encoding="rows", image_shape=(5, 4), row_levels=(100,)), "steps must equal that"),
])
def test_net_config_validation(changes, message):
    with pytest.raises(ConfigError, match=message):
        NetConfig(**(dict(input_size=4, hidden=(3,)) | changes))


@pytest.mark.parametrize("changes, message", [
    (dict(alpha=1.0), "alpha"), (dict(alpha=-0.1), "alpha"), (dict(rho=0.0), "rho"),
    (dict(z_hyp=1.1), "z_hyp"), (dict(z_dep=-0.1), "z_dep"),
    (dict(bias_init=-3.0), "bias_min <= bias_init <= bias_max"),
])
def test_cell_config_validation(changes, message):
    with pytest.raises(ConfigError, match=message):
        SRCCellConfig(**changes)


def test_config_dict_round_trip():
    config = NetConfig(input_size=5, hidden=[4, 3], n_classes=2, cell_config=SRCCellConfig(alpha=0.8), steps=9, blank=0)
    assert config.hidden == (4, 3)
    data = config.to_dict()
    assert isinstance(data["src"], dict)
    assert NetConfig.from_dict(data) == config
    with pytest.raises(ConfigError, match="bad network config"):
        NetConfig.from_dict(data | {"colour": "red"})


def test_config_dict_stores_the_kinds_constants_and_options_only():
    """The rule that keeps model files and hashes as they were: a kind's constants under its key, and only
    the network options the kind declares."""
    src = NetConfig(input_size=5, hidden=(4,)).to_dict()
    bmru = NetConfig(input_size=5, hidden=(4,), cell="bmru", encoding="frames").to_dict()
    assert set(src) - set(bmru) == {"src", "readout_trainable"}
    assert set(bmru) - set(src) == {"mru", "readout_window"}
    assert NetConfig.from_dict(bmru).to_dict() == bmru


# ---- model files -----------------------------------------------------------------------------------

def test_checkpoint_round_trip(tmp_path):
    net = random_net(3, (6, 5, 4), n_classes=3)
    path = save_model(net, tmp_path / "net.pt", meta={"test_accuracy": 0.5, "note": "x"})
    loaded, meta = load_model(path)
    assert meta == {"test_accuracy": 0.5, "note": "x"}
    assert loaded.config == net.config and not loaded.training
    for (name, a), (_, b) in zip(net.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), name
    spikes = torch.from_numpy(random_spikes(0, 2, 5, 6)).float()
    with torch.no_grad():
        assert torch.equal(net(spikes), loaded(spikes))


def test_checkpoint_keeps_a_fixed_readout(tmp_path):
    net = Net(NetConfig(input_size=4, hidden=(3,), readout_trainable=False))
    loaded, _ = load_model(save_model(net, tmp_path / "fixed.pt"))
    assert not loaded.readout.requires_grad and torch.equal(loaded.readout, net.readout)


def test_shipped_checkpoint():
    from srcfpga.demo import CHECKPOINT, DEMO_NET

    net, meta = load_model(CHECKPOINT)
    assert net.config == DEMO_NET
    assert meta["dataset"] == "digits"


def _write_payload(path, **changes):
    net = random_net(0, (3, 2))
    payload = {"format": FILE_FORMAT, "version": 1, "config": net.config.to_dict(),
               "state_dict": net.state_dict(), "meta": {}} | changes
    torch.save(payload, path)
    return path


@pytest.mark.parametrize("content", [b"", b"\x00garbage\xff" * 10, b'{"format": "srcfpga-hardware-model"}'])
def test_load_garbage(tmp_path, content):
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match="is not a srcfpga float model"):
        load_model(path)


def test_load_truncated(tmp_path):
    path = save_model(random_net(0, (3, 2)), tmp_path / "net.pt")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="is not a srcfpga float model"):
        load_model(path)


def test_load_missing(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model(tmp_path / "none.pt")


@pytest.mark.parametrize("changes, message", [
    (dict(format="other"), "is not a srcfpga float model"),
    (dict(version=2), "float-model version 2, expected 1"),
    (dict(config={"input_size": 3, "hidden": [7]}), "weights do not match the stored config"),
    (dict(config={"input_size": 3, "hidden": [2], "colour": 1}), "weights do not match the stored config"),
    (dict(state_dict={}), "weights do not match the stored config"),
])
def test_load_inconsistent(tmp_path, changes, message):
    path = _write_payload(tmp_path / "net.pt", **changes)
    with pytest.raises(ModelFileError, match=message) as info:
        load_model(path)
    assert "\n" not in str(info.value)


def test_load_non_dict_payload(tmp_path):
    path = tmp_path / "list.pt"
    torch.save([1, 2, 3], path)
    with pytest.raises(ModelFileError, match="is not a srcfpga float model"):
        load_model(path)


def test_failed_save_leaves_no_file(tmp_path, monkeypatch):
    def broken_save(obj, f):
        with open(f, "wb") as out:
            out.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_model(random_net(0, (3, 2)), tmp_path / "net.pt")
    assert list(tmp_path.iterdir()) == []


def test_initial_states_are_saved(tmp_path):
    net = random_net(4, (3, 2))
    loaded, _ = load_model(save_model(net, tmp_path / "n.pt"))
    for a, b in zip(net.layers, loaded.layers):
        for name in ("init_i", "init_h", "init_hs"):
            np.testing.assert_array_equal(getattr(a, name).numpy(), getattr(b, name).numpy())


def test_row_encoded_src_net():
    config = NetConfig(input_size=4, hidden=(3,), encoding="rows", image_shape=[5, 2], row_levels=(64, 192), steps=5)
    assert config.image_shape == (5, 2) and Net(config).encoder().n_inputs == 4
    assert NetConfig.from_dict(config.to_dict()) == config
    assert isinstance(NetConfig(input_size=4, hidden=(3,)).encoder(), RateEncoder)    # default: rate-coded pixels

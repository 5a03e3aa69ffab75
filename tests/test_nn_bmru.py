"""Float BMRU / CMRU cells: exact forward, surrogate gradients, parallel scan, training and model files."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from budget import ARITHMETIC, budget
from hypothesis import given
from hypothesis import strategies as st

from srcfpga.cells import CELLS
from srcfpga.cells.mru.config import AlphaCMRUCellConfig, MRUCellConfig
from srcfpga.cells.mru.float import (
    MRULayer,
    anneal_eps,
    clip_affine_scan,
    clip_affine_sequential,
    heaviside,
    sign,
    step0,
)
from srcfpga.cli import main
from srcfpga.data import load_dataset
from srcfpga.data.rows import RowEncoder
from srcfpga.errors import ConfigError
from srcfpga.evaluate import evaluate
from srcfpga.nn import Net, NetConfig, load_model, save_model
from srcfpga.nn.network import net_for_dataset


def frames_config(cell="bmru", variant="full", hidden=(6,), n_in=5, **options) -> NetConfig:
    return NetConfig(input_size=n_in, hidden=hidden, n_classes=3, cell=cell,
                     cell_config=MRUCellConfig(variant=variant, **options.pop("mru", {})), encoding="frames",
                     steps=12, **options)


def reference_states(layer: MRULayer, x: np.ndarray, eps: float) -> np.ndarray:
    """Plain-Python transcription of the equations (module docstring of srcfpga.cells.mru.float), one sample."""
    wc = layer.weight_c.detach().double().numpy()
    bc = layer.bias_c.detach().double().numpy()
    wb = None if layer.weight_b is None else layer.weight_b.detach().double().numpy()
    bb = layer.bias_b.detach().double().numpy()
    bound = layer.cfg.bound
    s = layer.init_s.double().numpy().copy()
    out = []
    for t in range(x.shape[0]):
        for n in range(len(s)):
            c = float(wc[n] @ x[t] + bc[n])
            beta = float(wb[n] @ x[t] + bb[n]) if wb is not None else float(bb[n])
            z = 1.0 if abs(c) > abs(beta) else 0.0
            target = (1.0 if c >= 0 else 0.0) if layer.first_quadrant else (1.0 if c >= 0 else -1.0)
            s[n] = min(max(z * (target + eps * s[n]) + (1 - z) * s[n], -bound), bound)
        out.append(s.copy())
    return np.array(out)


# ---- surrogate gradients ------------------------------------------------------------------------

def test_steps_exact_forward_and_surrogate_backward():
    v = torch.tensor([-1.0, -0.1, 0.0, 0.2, 3.0], requires_grad=True)
    assert heaviside(v, 2.0).tolist() == [0, 0, 0, 1, 1]
    assert step0(v, 2.0).tolist() == [0, 0, 1, 1, 1]
    assert sign(v, 2.0).tolist() == [-1, -1, 1, 1, 1]
    heaviside(v, 2.0).sum().backward()
    expected = 2.0 / (1.0 + (math.pi * 2.0 * v.detach()) ** 2)
    torch.testing.assert_close(v.grad, expected)
    v.grad = None
    sign(v, 2.0).sum().backward()
    torch.testing.assert_close(v.grad, 2 * expected)


def test_surrogate_integrates_to_one():
    a = 1.7
    grid = torch.linspace(-2000, 2000, 4_000_001, dtype=torch.float64)
    density = a / (1 + (math.pi * a * grid) ** 2)
    assert abs(float(torch.trapezoid(density, grid)) - 1.0) < 1e-3


# ---- the recurrence ------------------------------------------------------------------------------

@budget(ARITHMETIC)
@given(seed=st.integers(0, 10_000), steps=st.integers(1, 70), eps=st.sampled_from([0.0, 1.0]),
       bound=st.sampled_from([1.0, 3.0, 31.0]))
def test_scan_equals_sequential_exactly_for_integer_maps(seed, steps, eps, bound):
    g = torch.Generator().manual_seed(seed)
    z = (torch.rand(3, steps, 4, generator=g) < 0.4).float()
    target = torch.where(torch.rand(3, steps, 4, generator=g) < 0.5, -1.0, 1.0)
    s0 = torch.randint(-1, 2, (3, 4), generator=g).float()
    a, b = 1 - z + z * eps, z * target
    assert torch.equal(clip_affine_scan(a, b, s0, bound), clip_affine_sequential(a, b, s0, bound))


def test_scan_matches_sequential_for_fractional_eps_values_and_gradients():
    g = torch.Generator().manual_seed(1)
    z = (torch.rand(2, 50, 3, generator=g) < 0.5).double()
    target = torch.where(torch.rand(2, 50, 3, generator=g) < 0.5, -1.0, 1.0).double()
    results = []
    for recur in (clip_affine_scan, clip_affine_sequential):
        eps = torch.tensor(0.37, dtype=torch.float64, requires_grad=True)
        s = recur(1 - z + z * eps, z * target, torch.zeros(2, 3, dtype=torch.float64), 5.0)
        (s * torch.arange(50, dtype=torch.float64)[None, :, None]).sum().backward()
        results.append((s.detach(), eps.grad))
    torch.testing.assert_close(results[0][0], results[1][0])
    torch.testing.assert_close(results[0][1], results[1][1])


@pytest.mark.parametrize("cell, variant, eps", [("bmru", "full", 0.0), ("bmru", "full", 0.5), ("bmru", "first", 0.0),
                                                ("cmru", "full", 1.0)])
def test_layer_follows_the_equations(cell, variant, eps):
    torch.manual_seed(3)
    layer = MRULayer(5, 4, cell == "cmru", MRUCellConfig(variant=variant, count_bits=4))
    with torch.no_grad():
        layer.bias_b.copy_(torch.tensor([0.2, 0.8, 0.05, 1.5]))
    x = (torch.rand(2, 30, 5) < 0.4).float()
    states = layer.states(x, eps).detach().double().numpy()
    for sample in range(2):
        np.testing.assert_allclose(states[sample], reference_states(layer, x[sample].double().numpy(), eps),
                                   atol=1e-5)
    values = np.unique(states)
    if cell == "bmru" and eps == 0.0:
        assert set(values) <= ({0.0, 1.0} if variant == "first" else {-1.0, 1.0})
    if cell == "cmru":
        assert set(values) <= set(range(-7, 8)) and np.abs(values).max() <= 7


def test_scan_and_sequential_layers_agree():
    torch.manual_seed(0)
    scan = MRULayer(6, 5, True, MRUCellConfig(count_bits=3))
    seq = MRULayer(6, 5, True, MRUCellConfig(count_bits=3, scan=False))
    seq.load_state_dict(scan.state_dict())
    x = (torch.rand(3, 200, 6) < 0.3).float()
    assert torch.equal(scan.states(x, 1.0), seq.states(x, 1.0))


def test_first_quadrant_is_a_schmitt_trigger():
    layer = MRULayer(1, 1, False, MRUCellConfig(variant="first"))
    with torch.no_grad():
        layer.weight_c.fill_(1.0)
        layer.bias_c.fill_(-2.0)     # c = u - 2, |beta| = 1: set above b2 = 3, reset below b1 = 1
        layer.bias_b.fill_(-1.0)
    drive = torch.tensor([0.0, 2.0, 3.5, 2.0, 1.5, 0.5, 2.0, 3.0, 3.2])
    states = layer.states(drive[None, :, None], 0.0)[0, :, 0].detach().tolist()
    assert states == [0, 0, 1, 1, 1, 0, 0, 0, 1]


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    net = Net(frames_config(hidden=(6, 5)))
    net.set_schedule(eps=0.3)
    loss = torch.nn.functional.cross_entropy(net((torch.rand(4, 12, 5) < 0.5).float()), torch.tensor([0, 1, 2, 0]))
    loss.backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_readout_window_averages_the_last_steps():
    torch.manual_seed(0)
    net = Net(frames_config(readout_window=3))
    x = (torch.rand(2, 12, 5) < 0.5).float()
    logits, outputs = net(x, trace=True)
    expected = outputs[-1][:, -3:].mean(1) @ net.readout.T + net.readout_bias
    torch.testing.assert_close(logits, expected)


def test_eps_schedule():
    bmru = Net(frames_config(mru={"eps_start": 1.0, "anneal": 0.5}))
    assert float(bmru.eps) == 0.0 and float(Net(frames_config(cell="cmru")).eps) == 1.0
    seen = []
    for progress in (0.0, 0.25, 0.5, 0.9):
        anneal_eps(bmru, progress)
        seen.append(float(bmru.eps))
    assert seen == [1.0, 0.5, 0.0, 0.0]
    bmru.finish_schedule()
    assert bmru.schedule() == {"eps": 0.0}
    assert CELLS["cmru"].defaults.schedule is None and Net(frames_config(cell="cmru")).schedule() == {"eps": 1.0}


@pytest.mark.parametrize("changes, message", [
    ({"cell": "lstm"}, "unknown cell kind 'lstm'"), ({"cell": "cmru", "variant": "first"}, "first-quadrant"),
    ({"encoding": "morse"}, "encoding"), ({"encoding": "rows"}, "image_shape")])
def test_config_validation(changes, message):
    variant = changes.pop("variant", "full")
    with pytest.raises(ConfigError, match=message):
        NetConfig(input_size=4, hidden=(3,), cell_config=MRUCellConfig(variant=variant),
                  **{"cell": "bmru", "encoding": "frames", **changes})


# ---- row encoder, datasets, training, files -------------------------------------------------------

def test_row_encoder_thermometer_code():
    encoder = RowEncoder(rows=2, width=3, levels=(10, 100))
    pixels = np.array([[0, 10, 200, 99, 100, 255]], np.uint8)
    frames = encoder.encode(pixels, 2, 1)
    assert frames.shape == (1, 3, 6) and not frames[0, 0].any()
    assert frames[0, 1].tolist() == [0, 0, 1, 0, 1, 1]
    assert frames[0, 2].tolist() == [1, 0, 1, 1, 1, 1]
    with pytest.raises(ConfigError, match="steps must be 2"):
        encoder.encode(pixels, 3, 0)


def test_train_cli_bmru_digits_round_trip(tmp_path):
    out = tmp_path / "bmru.pt"
    code = main(["train", "--dataset", "digits", "--cell", "bmru", "--hidden", "8", "--epochs", "1",
                 "--limit", "128", "--batch-size", "32", "-o", str(out), "--json"])
    assert code == 0
    net, meta = load_model(out)
    assert isinstance(net, Net) and net.config.cell == "bmru" and net.config.encoding == "rows" and net.config.steps == 8
    assert float(net.eps) == 0.0 and meta["dataset"] == "digits"
    test = load_dataset("digits", "test", limit=40)
    first = evaluate(net, test)
    assert first.path == "float" and first.steps == 8
    assert evaluate(load_model(out)[0], test).accuracy == first.accuracy


def test_cmru_first_quadrant_rejected_by_cli(tmp_path, capsys):
    assert main(["train", "--dataset", "digits", "--cell", "cmru", "--variant", "first", "-o",
                 str(tmp_path / "x.pt")]) == 2
    assert "first-quadrant" in capsys.readouterr().err and not (tmp_path / "x.pt").exists()


def test_model_file_round_trip(tmp_path):
    net = net_for_dataset(load_dataset("digits", "test", limit=4), "cmru", (7, 5), readout_window=2)
    save_model(net, tmp_path / "m.pt")
    loaded, _ = load_model(tmp_path / "m.pt")
    assert loaded.config == net.config
    x = torch.from_numpy(net.encoder().encode(load_dataset("digits", "test", limit=4).images, 8, 0)).float()
    assert torch.equal(loaded(x), net.eval()(x))


def test_alphacmru_cell_is_the_cmru_update_with_a_fixed_relaxation(tmp_path, capsys):
    """alphaCMRU = the eps-family update with eps = 1 - 2^-r (no schedule), its hardware state q = s 2^r;
    the relaxation is validated and only the alphaCMRU takes it (--relax-shift)."""
    config = AlphaCMRUCellConfig(count_bits=6, relax_shift=2)
    assert (config.relax, config.bound) == (0.75, 31 / 4)
    net = Net(NetConfig(input_size=5, hidden=(6,), n_classes=3, cell="alphacmru", cell_config=config,
                        encoding="frames", steps=12))
    assert net.schedule() == {} and net.layers[0].output_map() == (0.25, 0)
    x = (torch.rand(2, 12, 5, generator=torch.Generator().manual_seed(1)) < 0.6).float()
    layer = net.layers[0]
    with torch.no_grad():
        np.testing.assert_allclose(layer(x).numpy(), (layer.states(x, 0.75) * layer.alpha).numpy())
        assert layer.states(x, 0.75).abs().max() <= 4.0           # 1 / (1 - relax) under repeated events
    with pytest.raises(ConfigError, match="relax_shift"):
        AlphaCMRUCellConfig(count_bits=4, relax_shift=3)
    assert main(["train", "--dataset", "digits", "--cell", "cmru", "--relax-shift", "2", "-o",
                 str(tmp_path / "x.pt")]) == 2
    assert "--relax-shift applies to alphacmru, not to --cell cmru" in capsys.readouterr().err

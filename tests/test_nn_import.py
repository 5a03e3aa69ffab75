"""Import of the reference lab's SRC export (arrays.npz + config.json), as-is."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from srcfpga.errors import ModelFileError
from srcfpga.nn import import_ulg, load_model, save_model

CONFIG = {
    "cell_config": {"alphas": [0.9], "recurrence": None, "bias_max": -4.0, "activation": "surrogate_relu",
                    "type": "src", "num_integrators_per_neuron": 1},
    "dataset_config": {"encoding": "rate", "seq_length": 30, "prefix_length": 3, "suffix_length": 0,
                       "rate_gain": 0.5, "name": "toy"},
}


def toy_arrays(sizes=(6, 4, 3), n_classes=2) -> dict[str, np.ndarray]:
    """An export in the reference layout (per-neuron constants, odd shapes included)."""
    rng = np.random.default_rng(0)
    arrays = {}
    for k, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        arrays |= {
            f"l{k}_forward_weights": rng.normal(0, 1, (n_out, n_in)).astype(np.float32),
            f"l{k}_bias": np.full(n_out, -5.5, np.float32), f"l{k}_rho": np.full(n_out, 3.0, np.float32),
            f"l{k}_r": np.full(n_out, 2.0, np.float32), f"l{k}_rs": np.full(n_out, -7.0, np.float32),
            f"l{k}_zs_hyp": np.full((1, n_out), 0.9, np.float32), f"l{k}_zs_dep": np.zeros((1, n_out), np.float32),
            f"l{k}_initial_i": np.zeros((1, n_out, 1), np.float32),
            f"l{k}_initial_h": rng.uniform(-0.9, -0.1, n_out).astype(np.float32),
            f"l{k}_initial_hs": rng.uniform(-0.9, -0.1, n_out).astype(np.float32),
        }
    arrays["readout"] = rng.normal(0, 1, (n_classes, sizes[-1])).astype(np.float32)
    return arrays


def write_export(directory: Path, arrays: dict, config: dict = CONFIG) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    np.savez(directory / "arrays.npz", **arrays)
    (directory / "config.json").write_text(json.dumps(config))
    return directory


# ---- the real reference ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def reference(reference_dir):
    return import_ulg(reference_dir)


def test_reference_shapes(reference, reference_dir):
    cfg = reference.config
    assert (cfg.input_size, cfg.hidden, cfg.n_classes) == (784, (100,), 10)
    assert len(reference.layers) == 1
    layer = reference.layers[0]
    assert layer.weight.shape == (100, 784)
    assert reference.readout.shape == (10, 100) and not reference.readout.requires_grad
    arrays = np.load(reference_dir / "arrays.npz")
    np.testing.assert_array_equal(layer.weight.detach().numpy(), arrays["l0_forward_weights"])
    np.testing.assert_array_equal(reference.readout.detach().numpy(), arrays["readout"])
    # initial states are imported (not the resting state of a fresh layer)
    for state in ("i", "h", "hs"):
        np.testing.assert_array_equal(getattr(layer, f"init_{state}").numpy(),
                                      arrays[f"l0_initial_{state}"].reshape(100))
    assert torch.all(layer.bias == -6.0)
    assert not reference.training


def test_reference_constants(reference):
    cfg = reference.config
    cell = cfg.cell_config
    assert cell.alpha == pytest.approx(0.9) and (cell.rho, cell.r, cell.rs) == (3.0, 2.0, -7.0)
    assert cell.z_hyp == pytest.approx(0.9) and cell.z_dep == 0.0
    assert (cell.bias_min, cell.bias_max) == (-6.0, -4.0)
    assert (cfg.rate_gain, cfg.steps, cfg.blank) == (0.25, 200, 20)
    assert not cfg.readout_trainable


def test_reference_readout_pattern(reference):
    ro = reference.readout.detach().numpy()
    own = np.arange(100) % 10
    assert np.all(ro[own, np.arange(100)] == 1.0)
    mask = np.ones_like(ro, bool)
    mask[own, np.arange(100)] = False
    np.testing.assert_allclose(ro[mask], -0.1)


def test_reference_save_load(reference, tmp_path):
    loaded, meta = load_model(save_model(reference, tmp_path / "ref.pt", meta={"imported_from": "x"}))
    assert loaded.config == reference.config and meta == {"imported_from": "x"}
    for a, b in zip(reference.state_dict().values(), loaded.state_dict().values()):
        assert torch.equal(a, b)
    assert not loaded.readout.requires_grad


def test_reference_float_accuracy(reference, mnist_dir):
    """README: 96.9 % at 5 + 50 steps on this subset (float, paper equations)."""
    from srcfpga.data import load_dataset
    from srcfpga.evaluate import evaluate

    result = evaluate(reference, load_dataset("mnist", "test", mnist_dir, limit=100), steps=40, blank=4)
    assert result.path == "float" and result.accuracy >= 0.9


# ---- synthetic exports -----------------------------------------------------------------------------

def test_two_layer_export(tmp_path):
    arrays = toy_arrays()
    net = import_ulg(write_export(tmp_path, arrays))
    cfg = net.config
    assert (cfg.input_size, cfg.hidden, cfg.n_classes) == (6, (4, 3), 2)
    assert (cfg.rate_gain, cfg.steps, cfg.blank) == (0.5, 30, 3)
    for k, layer in enumerate(net.layers):
        np.testing.assert_array_equal(layer.weight.detach().numpy(), arrays[f"l{k}_forward_weights"])
        np.testing.assert_array_equal(layer.init_h.numpy(), arrays[f"l{k}_initial_h"])
    assert cfg.cell_config.bias_min == -5.5 and cfg.cell_config.bias_max == -4.0
    assert net(torch.zeros(1, 5, 6)).shape == (1, 2)


def test_bias_below_the_maximum_is_kept(tmp_path):
    arrays = toy_arrays(sizes=(3, 2))
    arrays["l0_bias"] = np.array([-3.0, -8.0], np.float32)          # above bias_max and below -6
    net = import_ulg(write_export(tmp_path, arrays))
    assert net.layers[0].bias.tolist() == [-3.0, -8.0]
    assert net.config.cell_config.bias_min == -8.0


def _without(arrays, key):
    return {k: v for k, v in arrays.items() if k != key}


@pytest.mark.parametrize("mutate, message", [
    (lambda a, c: a.pop("readout"), "export lacks 'readout'"),
    (lambda a, c: a.pop("l1_bias"), "export lacks 'l1_bias'"),
    (lambda a, c: a.pop("l0_forward_weights"), "no l0_forward_weights array"),
    (lambda a, c: a.update(l0_rho=np.array([3.0, 3.0, 2.0, 3.0])), "l0_rho differs between neurons"),
    (lambda a, c: a.update(l0_rho=np.zeros(0)), "l0_rho is empty"),
    (lambda a, c: a.update(l1_r=np.full(3, 1.0)), "cell constants differ between layers"),
    (lambda a, c: a.update(readout=np.ones((2, 4))), r"readout \(2, 4\) does not match the last layer \(3 neurons\)"),
    (lambda a, c: a.update(readout=np.ones(3)), "readout .* does not match"),
    (lambda a, c: a.update(l1_forward_weights=np.ones((3, 5))), r"l1_forward_weights \(3, 5\) does not follow layer 0"),
    (lambda a, c: a.update(l0_forward_weights=np.ones(6)), "l0_forward_weights must be a non-empty 2-D array"),
    (lambda a, c: a.update(l0_bias=np.ones(5)), r"l0_bias has shape \(5,\), expected one value per neuron \(4\)"),
    (lambda a, c: a.update(l1_initial_hs=np.ones((1, 2))), "l1_initial_hs has shape"),
    (lambda a, c: c["cell_config"].update(type="bmru"), "cell type 'bmru' is not supported"),
    (lambda a, c: c["dataset_config"].update(encoding="latency"), "encoding 'latency' is not supported"),
    (lambda a, c: c["cell_config"].update(alphas=[0.9, 0.8]), "one integrator time constant expected"),
    (lambda a, c: c.pop("dataset_config"), "export lacks 'dataset_config'"),
    (lambda a, c: c["dataset_config"].update(rate_gain=2.0), "rate_gain must be in"),
])
def test_bad_exports(tmp_path, mutate, message):
    arrays, config = toy_arrays(), json.loads(json.dumps(CONFIG))
    mutate(arrays, config)
    directory = write_export(tmp_path / "export", arrays, config)
    with pytest.raises(ModelFileError, match=message) as info:
        import_ulg(directory)
    assert str(directory) in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("missing", ["arrays.npz", "config.json"])
def test_missing_files(tmp_path, missing):
    directory = write_export(tmp_path, toy_arrays())
    (directory / missing).unlink()
    with pytest.raises(ModelFileError, match=f"is not a reference export: missing {missing}"):
        import_ulg(directory)


def test_missing_directory(tmp_path):
    with pytest.raises(ModelFileError, match="is not a reference export"):
        import_ulg(tmp_path / "nowhere")


@pytest.mark.parametrize("name, content", [("config.json", "{not json"), ("arrays.npz", "not a zip")])
def test_unreadable_files(tmp_path, name, content):
    directory = write_export(tmp_path, toy_arrays())
    (directory / name).write_text(content)
    with pytest.raises(ModelFileError, match="unreadable export"):
        import_ulg(directory)

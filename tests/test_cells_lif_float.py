"""The float LIF-family layer reproduces snnTorch 1.0 (Leaky, RLeaky, Synaptic, RSynaptic) exactly in float32:
the same spikes and the same membrane at every step. Skips where snnTorch (the ``test`` extra) is absent."""

from __future__ import annotations

import pytest
import torch

from srcfpga.cells.lif.float import LIFLayer
from srcfpga.errors import ConfigError

snn = pytest.importorskip("snntorch", reason="snnTorch is a test extra: pip install 'srcfpga[test]'")

N_IN, N_OUT, STEPS = 7, 5, 30

# (our kind, recurrent, our reset, snnTorch class, its reset_mechanism)
CASES = [
    ("lif", False, "subtract", "Leaky", "subtract"),
    ("lif", False, "zero", "Leaky", "zero"),
    ("if", False, "subtract", "Leaky", "subtract"),
    ("lif", True, "subtract", "RLeaky", "subtract"),
    ("lif", True, "zero_after", "RLeaky", "zero"),
    ("cubalif", False, "subtract", "Synaptic", "subtract"),
    ("cubalif", False, "zero_after", "Synaptic", "zero"),
    ("cubalif", True, "subtract", "RSynaptic", "subtract"),
    ("cubalif", True, "zero_after", "RSynaptic", "zero"),
]


def _reference(cls: str, reset: str, beta: float, alpha: float, threshold: float):
    args = dict(beta=1.0 if beta is None else beta, threshold=threshold, reset_mechanism=reset)
    if cls in ("Synaptic", "RSynaptic"):
        args["alpha"] = alpha
    if cls in ("RLeaky", "RSynaptic"):
        args["linear_features"] = N_OUT
    return getattr(snn, cls)(**args)


def _run_reference(neuron, fc, x):
    """snnTorch's own loop: states from its init function, one call per step."""
    name = type(neuron).__name__
    init = {"Leaky": "init_leaky", "RLeaky": "init_rleaky", "Synaptic": "init_synaptic", "RSynaptic": "init_rsynaptic"}
    state = getattr(neuron, init[name])()
    state = state if isinstance(state, tuple) else (state,)
    spikes, mems = [], []
    for t in range(x.shape[1]):
        out = neuron(fc(x[:, t]), *state)
        spikes.append(out[0])
        mems.append(out[-1])
        state = out if name in ("RLeaky", "RSynaptic") else out[1:]
    return torch.stack(spikes, 1), torch.stack(mems, 1)


@pytest.mark.parametrize("kind, recurrent, reset, cls, mechanism", CASES)
def test_float_layer_equals_snntorch(kind, recurrent, reset, cls, mechanism):
    torch.manual_seed(0)
    beta, alpha, threshold = (None if kind == "if" else 0.85), 0.7, 0.8
    neuron = _reference(cls, mechanism, beta, alpha, threshold)
    fc = torch.nn.Linear(N_IN, N_OUT)
    with torch.no_grad():
        fc.weight.mul_(3.0)
    ours = LIFLayer(N_IN, N_OUT, kind, beta=0.9 if beta is None else beta, alpha=alpha, threshold=threshold,
                    reset=reset, recurrent=recurrent)
    with torch.no_grad():
        ours.fc.load_state_dict(fc.state_dict())
        if recurrent:
            ours.recurrent.load_state_dict(neuron.recurrent.state_dict())
    x = (torch.rand(4, STEPS, N_IN) < 0.4).float()
    with torch.no_grad():
        spikes, mem = _run_reference(neuron, fc, x)
        ours_spikes, states = ours.run(x)
    assert 0 < spikes.mean() < 1
    assert torch.equal(ours_spikes, spikes)
    assert torch.equal(states["v"], mem)


def test_float_layer_options():
    layer = LIFLayer(3, 2, "cubalif", beta=[0.5, 0.9], threshold=2.0)
    assert layer.beta.tolist() == [0.5, pytest.approx(0.9)] and layer.threshold.tolist() == [2.0, 2.0]
    assert LIFLayer(3, 2, "if", beta=0.5).beta.tolist() == [1.0, 1.0]
    with pytest.raises(ConfigError, match="beta needs 1 or 2 values"):
        LIFLayer(3, 2, "lif", beta=[0.5, 0.6, 0.7])
    with pytest.raises(ConfigError, match="kind must be one of"):
        LIFLayer(3, 2, "li")

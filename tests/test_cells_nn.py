"""Every registered cell kind through the one torch family: config, float network, training loop, PTQ and
a QAT forward equal to the golden model bit for bit (a new kind is checked here without a new test)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from srcfpga.cells import CELLS
from srcfpga.errors import ConfigError
from srcfpga.golden import run_golden
from srcfpga.nn import Net, NetConfig
from srcfpga.nn.qat import QATNet
from srcfpga.nn.train import TrainConfig, train_on_batches
from srcfpga.quant import QuantConfig
from srcfpga.testing import random_spikes

KINDS = pytest.mark.parametrize("kind", list(CELLS), ids=CELLS.names())


def small_config(kind, **changes) -> NetConfig:
    encoding = next(e for e in ("frames", "rate") if e in kind.defaults.encodings)
    return NetConfig(**{"input_size": 6, "hidden": (5, 4), "n_classes": 3, "cell": kind.name, "encoding": encoding,
                        "steps": 10, "blank": 0, **changes})


@KINDS
def test_config_stores_the_kinds_constants_and_round_trips(kind):
    config = small_config(kind)
    data = config.to_dict()
    assert isinstance(data[kind.defaults.config_key], dict) and "cell_config" not in data
    assert {option for option in kind.defaults.options if getattr(config, option) is not None} <= set(data)
    assert not {option for option in kind.defaults.options if getattr(config, option) is None} & set(data)
    assert NetConfig.from_dict(data) == config
    assert isinstance(config.cell_config, kind.part("config"))


@KINDS
def test_float_network_shapes_and_schedule_state(kind):
    torch.manual_seed(0)
    net = Net(small_config(kind))
    logits, outputs = net(torch.from_numpy(random_spikes(0, 2, 10, 6, 0.4)).float(), trace=True)
    assert logits.shape == (2, 3) and [o.shape for o in outputs] == [(2, 10, 5), (2, 10, 4)]
    assert net.schedule() == dict(kind.defaults.schedule_state)
    assert (net.readout_bias is not None) == kind.defaults.readout_bias


@KINDS
def test_training_loop_runs_float_and_qat_epochs(kind):
    torch.manual_seed(0)
    net = Net(small_config(kind))

    def batches(epoch, generator):
        for _ in range(2):
            yield (torch.rand(4, 10, 6, generator=generator) < 0.4).float(), torch.randint(0, 3, (4,), generator=generator)

    result = train_on_batches(net, batches, 2, TrainConfig(epochs=1, qat_epochs=1, weight_bits=5), progress=False)
    assert [h["phase"] for h in result.history] == ["float 1/1", "qat5 1/1"]
    assert isinstance(result.model, QATNet) and net.schedule() == dict(kind.defaults.schedule_state)


@KINDS
@pytest.mark.parametrize("seed", [0, 1])
def test_qat_forward_equals_golden(kind, seed):
    torch.manual_seed(seed)
    net = Net(small_config(kind))
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.mul_(3.0)                      # a livelier network than the initial one
    qat = QATNet(net, QuantConfig(weight_bits=5))
    spikes = random_spikes(seed, 3, 10, 6, 0.5)
    hw = qat.hardware_model()
    assert [layer.kind for layer in hw.layers] == [kind.name] * 2
    golden = run_golden(hw, spikes=spikes, trace=True)
    with torch.no_grad():
        logits, trace = qat(torch.from_numpy(spikes).float(), trace=True)
    for index, layer_trace in enumerate(golden.traces):
        np.testing.assert_array_equal(trace.spikes[index].numpy(), layer_trace.spikes.astype(np.int64))
        for name, values in layer_trace.states().items():
            np.testing.assert_array_equal(trace.states[index][name].numpy(), values, err_msg=f"layer {index} {name}")
    np.testing.assert_array_equal(trace.readout.numpy(), golden.readout_trace)
    np.testing.assert_array_equal(logits.argmax(1).numpy(), golden.predictions)


def test_unknown_kind_is_a_clear_error():
    with pytest.raises(ConfigError, match="unknown cell kind 'lstm'; known kinds: src, "):
        NetConfig(input_size=4, hidden=(3,), cell="lstm")

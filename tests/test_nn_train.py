"""Training: configuration checks, the thread limit, and fine-tuning at other step counts."""

from __future__ import annotations

import pytest
import torch

from srcfpga.data import load_dataset
from srcfpga.errors import ConfigError
from srcfpga.nn import Net, NetConfig
from srcfpga.nn.train import (
    TrainConfig,
    cosine_lr,
    seed_initialization,
    train,
    with_encoding,
)
from srcfpga.quant import QuantConfig


@pytest.mark.parametrize("changes, message", [
    ({"epochs": 0}, "need at least one epoch"),
    ({"epochs": 0, "qat_epochs": 1}, "QAT epochs need weight bits"),
    ({"threads": 0}, "threads must be at least 1"),
    ({"logit_scale": 0.0}, "logit_scale must be positive"),
    ({"batch_size": 0}, "must be positive")])
def test_train_config_validation(changes, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**changes)


def test_training_uses_the_thread_limit_and_restores_it(monkeypatch):
    seen = []
    monkeypatch.setattr(Net, "clamp_parameters", lambda self: seen.append(torch.get_num_threads()))
    before = torch.get_num_threads()
    data = load_dataset("digits", "train", limit=8)
    seed_initialization(0)
    net = Net(NetConfig(input_size=64, hidden=(4,), steps=2, blank=0))
    train(net, data, TrainConfig(epochs=1, batch_size=4, threads=1), progress=False)
    assert seen == [1, 1] and torch.get_num_threads() == before


def test_with_encoding_replaces_steps_and_blank_only():
    net = Net(NetConfig(input_size=5, hidden=(3,), steps=200, blank=20))
    assert with_encoding(net) is net and (net.config.steps, net.config.blank) == (200, 20)
    with_encoding(net, 40, 4)
    assert (net.config.steps, net.config.blank, net.config.input_size) == (40, 4, 5)
    with pytest.raises(ConfigError, match="steps >= 1"):
        with_encoding(net, steps=0)


def test_qat_fine_tuning_is_deterministic_and_exports_its_options():
    data = load_dataset("digits", "train", limit=16)
    hashes = []
    for _ in range(2):
        seed_initialization(3)
        net = Net(NetConfig(input_size=64, hidden=(6,), steps=4, blank=1))
        run = train(net, data, TrainConfig(epochs=0, qat_epochs=1, weight_bits=5, batch_size=8, seed=3),
                    quant=QuantConfig(weight_bits=5, segments=8, state_frac_bits=9), progress=False)
        hw = run.model.export()
        assert hw.layers[0].segments == 8 and run.meta()["quant"]["state_frac_bits"] == 9
        hashes.append(hw.content_hash)
    assert hashes[0] == hashes[1]


def test_cosine_lr_anneals_from_lr_towards_zero():
    assert cosine_lr(0.01, 0, 10) == 0.01
    assert cosine_lr(0.01, 5, 10) == pytest.approx(0.005)
    assert 0 < cosine_lr(0.01, 9, 10) < 0.0003
    with pytest.raises(ConfigError, match="lr_schedule must be one of constant, cosine"):
        TrainConfig(lr_schedule="step")


def test_cosine_schedule_sets_each_batch_lr_and_is_deterministic(monkeypatch):
    seen = []
    original = torch.optim.Adam.step

    def step(self, *args, **kwargs):
        seen.append(self.param_groups[0]["lr"])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", step)
    data = load_dataset("digits", "train", limit=8)
    weights = []
    for _ in range(2):
        seen.clear()
        seed_initialization(1)
        net = Net(NetConfig(input_size=64, hidden=(4,), steps=2, blank=0))
        cfg = TrainConfig(epochs=2, qat_epochs=1, weight_bits=4, batch_size=4, lr=0.01, qat_lr=0.001,
                          lr_schedule="cosine")
        train(net, data, cfg, progress=False)
        weights.append(net.layers[0].weight.detach().clone())
        # float phase: 2 epochs x 2 batches from 0.01; QAT phase: 1 epoch x 2 batches from 0.001
        assert seen == pytest.approx([cosine_lr(0.01, k, 4) for k in range(4)] + [cosine_lr(0.001, k, 2) for k in range(2)])
    assert torch.equal(weights[0], weights[1])

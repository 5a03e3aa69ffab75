"""The recall task, the memory baselines, and a hand-built BMRU that solves the task at any horizon."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from srcfpga.cells.mru.layer import BMRULayerQ
from srcfpga.data import RateEncoder
from srcfpga.data.recall import RecallTask
from srcfpga.errors import ConfigError
from srcfpga.golden import run_golden
from srcfpga.nn.baselines import LinearRecurrentNet, SRCTaskNet
from srcfpga.quant import HardwareModel, ReadoutQ


def test_task_layout():
    task = RecallTask(n_cues=3, horizon=50, cue_steps=2, recall_steps=3, distractor_rate=0.2)
    frames, labels = task.sample(400, np.random.default_rng(0))
    assert frames.shape == (400, 2 + 50 + 3, 5) and task.steps == 55 and task.n_inputs == 5
    assert set(labels.tolist()) == {0, 1, 2}
    cue = frames[:, :2, :3]
    assert np.array_equal(cue.argmax(axis=2), np.repeat(labels[:, None], 2, axis=1)) and cue.sum() == 800
    assert frames[:, :2, 3].all() and not frames[:, 2:, 3].any()                 # marker with the cue only
    assert frames[:, -3:, 4].all() and not frames[:, :-3, 4].any()               # recall at the end
    assert not frames[:, -3:, :3].any()
    assert abs(frames[:, 2:52, :3].mean() - 0.2) < 0.01
    assert not RecallTask(horizon=10, distractor_rate=0.0).sample(5, np.random.default_rng(0))[0][:, 1:-1].any()
    with pytest.raises(ConfigError):
        RecallTask(distractor_rate=1.0)


def gated_memory_model(n_cues: int) -> HardwareModel:
    """Unit k: c = 2 x_k - 1, beta = 4 (1 - marker): written when the marker is on, held otherwise."""
    n_in = n_cues + 2
    wc = np.zeros((n_cues, n_in), int)
    wc[np.arange(n_cues), np.arange(n_cues)] = 2
    wb = np.zeros((n_cues, n_in), int)
    wb[:, n_cues] = -4
    layer = BMRULayerQ(weights_c=wc, bias_c=np.full(n_cues, -1), weights_b=wb, bias_b=np.full(n_cues, 4),
                       init=np.zeros(n_cues, int), weight_bits=4, frac_bits=0, unit=1.0)
    readout = ReadoutQ(np.eye(n_cues, dtype=int), 4, 1.0, window=1)
    return HardwareModel(input_size=n_in, encoder=RateEncoder(0.5, 2), layers=(layer,), readout=readout,
                         steps=10, blank=0)


@pytest.mark.parametrize("horizon", [1, 300, 2000])
def test_hand_built_bmru_remembers_through_distractors(horizon):
    task = RecallTask(n_cues=4, horizon=horizon, distractor_rate=0.1)
    frames, labels = task.sample(64, np.random.default_rng(horizon))
    assert np.array_equal(run_golden(gated_memory_model(4), spikes=frames).predictions, labels)


def test_linear_recurrent_net_closed_form_equals_the_recurrence():
    torch.manual_seed(0)
    net = LinearRecurrentNet(5, 6, 3, window=2, seed=1)
    x = (torch.rand(2, 30, 5) < 0.3).float()
    lam = torch.exp(torch.complex(-torch.exp(net.nu_log), torch.exp(net.theta_log)))
    gamma = torch.sqrt(1 - lam.abs() ** 2)
    h = torch.zeros(2, 6, dtype=torch.complex64)
    ys = []
    for t in range(30):
        h = lam * h + gamma * torch.complex(x[:, t] @ net.b_re.T, x[:, t] @ net.b_im.T)
        ys.append((h @ torch.complex(net.c_re, net.c_im).T).real + x[:, t] @ net.d.T)
    expected = net.readout(torch.stack(ys[-2:], 1).mean(1))
    torch.testing.assert_close(net(x), expected, rtol=1e-4, atol=1e-4)


def test_src_task_net_reads_the_window():
    torch.manual_seed(0)
    net = SRCTaskNet(6, (5,), 4, window=1)
    logits = net((torch.rand(3, 12, 6) < 0.3).float())
    assert logits.shape == (3, 4) and torch.isfinite(logits).all()

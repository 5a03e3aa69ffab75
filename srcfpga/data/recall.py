"""A long-horizon recall task, generated on the fly: remember a cue across ``horizon`` steps.

Inputs (binary frames, ``n_cues + 2`` channels): cue channels ``0 .. K-1``, a *write marker*
(channel ``K``) and a *recall* signal (channel ``K + 1``). One sample of ``T = cue_steps + horizon +
recall_steps`` steps::

    t in [0, cue_steps)                       cue channel k (the label) and the marker are on
    t in [cue_steps, cue_steps + horizon)     delay: every cue channel spikes independently with
                                              probability ``distractor_rate`` (the marker stays off)
    last recall_steps steps                   the recall channel is on; the answer is read out here

The label is ``k``; the network's readout looks at the last ``recall_steps`` steps only (readout
window). With ``distractor_rate = 0`` this is a plain delay task; with distractors, the cue must be
written when the marker is on and *held* against later cue-channel activity - a linear integrator
(or any cell that cannot gate its memory on the marker) sees the distractors as evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import ConfigError


@dataclass(frozen=True)
class RecallTask:
    n_cues: int = 4
    horizon: int = 100
    cue_steps: int = 1
    recall_steps: int = 1
    distractor_rate: float = 0.05

    def __post_init__(self) -> None:
        if self.n_cues < 2 or self.horizon < 0 or self.cue_steps < 1 or self.recall_steps < 1:
            raise ConfigError("need n_cues >= 2, horizon >= 0, cue_steps >= 1 and recall_steps >= 1")
        if not 0.0 <= self.distractor_rate < 1.0:
            raise ConfigError(f"distractor_rate must be in [0, 1), got {self.distractor_rate}")

    @property
    def n_inputs(self) -> int:
        return self.n_cues + 2

    @property
    def steps(self) -> int:
        return self.cue_steps + self.horizon + self.recall_steps

    def sample(self, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``size`` samples: frames ``(size, T, n_cues + 2)`` bool and labels ``(size,)`` int64."""
        k, c, h = self.n_cues, self.cue_steps, self.horizon
        labels = rng.integers(0, k, size)
        frames = np.zeros((size, self.steps, self.n_inputs), bool)
        frames[:, :c, :k] = np.arange(k)[None, None, :] == labels[:, None, None]
        frames[:, :c, k] = True
        if self.distractor_rate > 0 and h:
            frames[:, c:c + h, :k] = rng.random((size, h, k)) < self.distractor_rate
        frames[:, c + h:, k + 1] = True
        return frames, labels.astype(np.int64)

    def batches(self, count: int, size: int, seed: int):
        """``count`` torch batches ``(frames float, labels)`` from a generator seeded ``seed``."""
        rng = np.random.default_rng(seed)
        for _ in range(count):
            frames, labels = self.sample(size, rng)
            yield torch.from_numpy(frames).float(), torch.from_numpy(labels)

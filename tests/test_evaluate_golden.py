"""evaluate_hardware's speed options change nothing: thread workers and the shared frame cache give the same
result as one thread encoding every batch itself."""

from __future__ import annotations

import numpy as np
import pytest

from srcfpga.data import load_dataset
from srcfpga.errors import ConfigError
from srcfpga.evaluate import FrameCache, evaluate_hardware
from srcfpga.golden import run_golden
from srcfpga.quant import QuantConfig, quantize_net
from srcfpga.testing import random_net


@pytest.fixture(scope="module")
def setup():
    net = random_net(2, (64, 12), n_classes=10)
    models = [quantize_net(net, QuantConfig(weight_bits=b, encoder_generators=4)) for b in (4, 6)]
    return models, load_dataset("digits", "test", limit=50)


def test_workers_and_cache_change_nothing(setup):
    models, data = setup
    cache = FrameCache()
    for hw in models:
        plain = evaluate_hardware(hw, data, steps=7, blank=2, seed=3, batch_size=16)
        assert evaluate_hardware(hw, data, steps=7, blank=2, seed=3, batch_size=16, workers=3) == plain
        assert evaluate_hardware(hw, data, steps=7, blank=2, seed=3, batch_size=16, cache=cache) == plain
    assert len(cache._entries) == 4          # 4 batches of 16, 16, 16, 2 images, encoded once for both widths


def test_cache_frames_equal_the_encoder_and_evict(setup):
    models, data = setup
    hw = models[0]
    images, seeds = data.images[:5], np.arange(5)
    cache = FrameCache(max_bytes=1)          # keeps only the newest entry
    first = np.stack(list(cache.frames(hw.encoder, data.images, 0, 5, seeds, 6, 1)), axis=1)
    np.testing.assert_array_equal(first, hw.encoder.encode(images, 6, 1, seeds))
    direct = run_golden(hw, spikes=first, steps=6, blank=1)
    assert direct.predictions.shape == (5,)
    list(cache.frames(hw.encoder, data.images, 5, 10, seeds, 6, 1))
    assert len(cache._entries) == 1


def test_workers_must_be_positive(setup):
    models, data = setup
    with pytest.raises(ConfigError, match="workers must be at least 1"):
        evaluate_hardware(models[0], data, steps=3, workers=0)

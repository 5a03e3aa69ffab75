"""SweepConfig: the grid, the blank rule and one clear error for every bad value."""

from __future__ import annotations

import pytest

from srcfpga.errors import ConfigError
from srcfpga.sweep import (
    SweepConfig,
    SweepPoint,
    default_blank,
    parse_anchors,
    parse_int_list,
)
from srcfpga.sweep.anchors import ULG_SRC_MNIST


def test_default_blank_gives_the_published_operating_points():
    assert [(p.blank, p.stimulus, p.total) for p in SweepConfig().points] == [(4, 40, 44), (5, 50, 55), (20, 200, 220)]
    assert default_blank(20) == 2 and default_blank(9) == 0


def test_grid_is_widths_outermost():
    cfg = SweepConfig(weight_bits=(4, 8), steps=(10, 20), blank=1)
    assert cfg.grid == ((4, 1, SweepPoint(10, 1)), (4, 1, SweepPoint(20, 1)), (8, 1, SweepPoint(10, 1)),
                        (8, 1, SweepPoint(20, 1)))


def test_segments_axis_comes_after_the_widths():
    cfg = SweepConfig(weight_bits=(4, 8), segments="1,4", steps=(10,), blank=1)
    assert [(b, k) for b, k, _ in cfg.grid] == [(4, 1), (4, 4), (8, 1), (8, 4)]
    assert cfg.to_dict()["segments"] == [1, 4] and cfg.quant_config(4, segments=4).segments == 4
    for bad, message in (((1, 1), "twice"), ((0,), "segments must be an integer in 1..16"), ((17,), "1..16")):
        with pytest.raises(ConfigError, match=message):
            SweepConfig(segments=bad)
    with pytest.raises(ConfigError, match="unknown quantization option"):
        SweepConfig(quant={"segments": 4})                                 # an axis, not a fixed option


def test_blank_per_step_count_and_strings():
    cfg = SweepConfig(weight_bits="4-6", steps="30,60", blank=(3, 6))
    assert cfg.weight_bits == (4, 5, 6)
    assert [p.label for p in cfg.points] == ["3+30", "6+60"]
    assert cfg.to_dict()["blank"] == [3, 6]


def test_parse_int_list():
    assert parse_int_list("4,5, 8", "x") == (4, 5, 8)
    assert parse_int_list("4-6,8", "x") == (4, 5, 6, 8)
    for bad in ("", "a", "6-4", "4,,x"):
        with pytest.raises(ConfigError, match="x"):
            parse_int_list(bad, "x")


@pytest.mark.parametrize("options, message", [
    ({"weight_bits": (4, 9)}, "weight bits"),
    ({"weight_bits": (4, 4)}, "twice"),
    ({"weight_bits": ()}, "empty"),
    ({"weight_bits": (4.5,)}, "integers"),
    ({"steps": (44, 44)}, "twice"),
    ({"steps": (0,)}, "stimulus"),
    ({"steps": (10,), "blank": -1}, "blank >= 0"),
    ({"steps": (10, 20, 30), "blank": (1, 2)}, "one per step count"),
    ({"dataset": "cifar"}, "unknown dataset"),
    ({"dataset": "mnist"}, "data directory"),
    ({"limit": 0}, "limit"),
    ({"qat_epochs": -1}, "qat_epochs"),
    ({"sim_samples": -2}, "sim_samples"),
    ({"lanes": 0}, "lanes"),
    ({"simulator": "vcs"}, "simulator"),
    ({"quant": {"bogus": 1}}, "unknown quantization option"),
    ({"quant": {"state_frac_bits": 2}}, "state_frac_bits"),
])
def test_bad_values_raise_config_error(options, message):
    with pytest.raises(ConfigError, match=message):
        SweepConfig(**options)


def test_anchors_parse_and_presets():
    assert parse_anchors("ulg") == ULG_SRC_MNIST
    a, b = parse_anchors("93.32@5/55, 96.31%@220")
    assert (a.accuracy, a.weight_bits, a.steps) == (93.32, 5, 55)
    assert (b.accuracy, b.weight_bits, b.steps) == (96.31, None, 220)
    for bad in ("93", "x@5/55", "101@4/44"):
        with pytest.raises(ConfigError):
            parse_anchors(bad)

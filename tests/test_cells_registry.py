"""The cell registry (srcfpga.cells): every stage looks a kind up, an unknown kind is a clear error naming the
registered kinds, and no code outside srcfpga/cells compares kind strings."""

from __future__ import annotations

import gc
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pytest

import srcfpga
from srcfpga.cells import CELLS, CellRegistry, cli_option
from srcfpga.cli import _cell_options, build_parser, main
from srcfpga.errors import ConfigError, ModelFileError
from srcfpga.quant import HardwareModel
from srcfpga.testing import random_hardware_model, random_spikes

KNOWN = "known kinds: " + ", ".join(CELLS.names())


@dataclass(frozen=True)
class LifLayer:
    """A layer of a kind nobody registered (shaped like a real one)."""

    kind = "lstm"
    n_in: int = 6
    n_out: int = 5
    input_range: tuple = (0, 1)
    output_range: tuple = (0, 1)


@pytest.fixture(scope="module")
def model():
    return random_hardware_model(0, (6, 5), 4, n_classes=3)


def _unregistered(model: HardwareModel) -> HardwareModel:
    """``model`` with its layer replaced by a :class:`LifLayer`, past HardwareModel's own validation (as a
    stage would see a model built by code that skipped it)."""
    broken = replace(model)
    object.__setattr__(broken, "layers", (LifLayer(),))
    return broken


def test_registered_kinds_and_parts():
    assert CELLS.names()[:3] == ("src", "bmru", "cmru")
    for kind in CELLS:
        assert kind.part("layer").kind == kind.name
        assert hasattr(kind.part("golden"), "step") and hasattr(kind.part("engine"), "lane_state")
    with pytest.raises(ConfigError, match="has no part 'bogus'"):
        CELLS["src"].part("bogus")


def test_unknown_kind_is_a_clear_error():
    with pytest.raises(ConfigError, match=f"unknown cell kind 'lstm'; {KNOWN}"):
        CELLS["lstm"]
    registry = CellRegistry()
    registry.register(replace(CELLS["src"], name="x"))
    with pytest.raises(ConfigError, match="registered twice"):
        registry.register(replace(CELLS["bmru"], name="x"))


def test_unknown_kind_at_hardware_model_load(model, tmp_path):
    data = model.to_dict()
    data["layers"][0]["kind"] = "lstm"
    with pytest.raises(ConfigError, match=f"unknown cell kind 'lstm'; {KNOWN}"):
        HardwareModel.from_dict(data)
    path = model.save(tmp_path / "m.hw")
    payload = json.loads(path.read_text())
    payload["model"]["layers"][0]["kind"] = "lstm"
    path.write_text(json.dumps(payload))
    with pytest.raises(ModelFileError, match=f"malformed: unknown cell kind 'lstm'; {KNOWN}"):
        HardwareModel.load(path)


def test_hardware_model_takes_only_registered_layers(model):
    with pytest.raises(ConfigError, match=f"unknown cell kind 'lstm'; {KNOWN}"):
        model.replace(layers=(LifLayer(),))

    @dataclass(frozen=True)
    class Impostor(CELLS["bmru"].part("layer")):      # claims a registered kind but is not its layer type
        pass

    layer = Impostor(weights_c=np.ones((5, 6), int), bias_c=np.zeros(5, int), weights_b=None,
                     bias_b=np.ones(5, int), init=np.zeros(5, int), weight_bits=4, frac_bits=2, unit=0.1)
    with pytest.raises(ConfigError, match="layer 0 is a Impostor, but 'bmru' layers are BMRULayerQ"):
        model.replace(layers=(layer,))


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")     # the rejected top is never built
def test_unknown_kind_in_golden_and_hdl(model):
    from srcfpga.golden import run_golden
    from srcfpga.hdl import HdlConfig, NetworkTop

    broken = _unregistered(model)
    with pytest.raises(ConfigError, match=f"unknown cell kind 'lstm'; {KNOWN}"):
        run_golden(broken, spikes=random_spikes(0, 1, 3, 6))
    with pytest.raises(ConfigError, match=f"unknown cell kind 'lstm'; {KNOWN}"):
        NetworkTop(broken, HdlConfig(input="frames"))
    gc.collect()            # release the half-built top here, inside this test's warning filter


def kind_comparisons(root: Path) -> dict[str, list[str]]:
    """Lines outside ``srcfpga/cells`` that compare a value with a registered kind name (``==``, ``!=``,
    ``in``, ``is``, ``match``/``case``), by file relative to the repository."""
    names = "|".join(re.escape(name) for name in CELLS.names())
    literal = rf"""["'](?:{names})["']"""
    pattern = re.compile(rf"(?:==|!=|\bin\b|\bis\b|\bcase\b)\s*[(\[{{]?\s*{literal}|{literal}\s*(?:==|!=|\bin\b)")
    found: dict[str, list[str]] = {}
    for path in sorted((root / "srcfpga").rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if relative.startswith("srcfpga/cells/"):
            continue
        lines = [f"{n}: {line.strip()}" for n, line in enumerate(path.read_text().splitlines(), 1)
                 if pattern.search(line)]
        if lines:
            found[relative] = lines
    return found


def test_no_kind_string_comparisons_outside_the_registry():
    found = kind_comparisons(Path(srcfpga.__file__).resolve().parent.parent)
    assert not found, found


def test_the_kind_grep_sees_comparisons(tmp_path):
    package = tmp_path / "srcfpga"
    (package / "cells").mkdir(parents=True)
    (package / "a.py").write_text('if layer.kind == "cmru":\n    pass\nok = kind in ("src", "bmru")\n')
    (package / "b.py").write_text('name = "src"\n')
    (package / "cells" / "c.py").write_text('if kind == "src":\n    pass\n')
    assert kind_comparisons(tmp_path) == {"srcfpga/a.py": ['1: if layer.kind == "cmru":',
                                                          '3: ok = kind in ("src", "bmru")']}


def test_cell_options_come_from_the_kinds_constants(capsys):
    """`srcfpga train` offers exactly the cli_option fields of the registered kinds' constants, each naming
    the kinds that have it, and builds a network with the given values."""
    options = {option.name: option.kinds for option in CELLS.options()}
    assert options["relax_shift"] == ("alphacmru",) and options["beta"] == ("if", "lif", "cubalif")
    assert options["count_bits"] == ("bmru", "cmru", "alphacmru")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--help"])
    assert " ".join(capsys.readouterr().out.split()).count("--beta BETA if/lif/cubalif: membrane leak per step") == 1
    args = build_parser().parse_args(["train", "--dataset", "digits", "--cell", "lif", "--beta", "0.5",
                                      "--reset", "zero", "-o", "x.pt"])
    assert _cell_options(args) == {"beta": 0.5, "reset": "zero"}


def test_a_cell_option_of_another_kind_or_with_init_is_a_usage_error(tmp_path, capsys):
    assert main(["train", "--dataset", "digits", "--cell", "src", "--beta", "0.5", "-o", str(tmp_path / "x.pt")]) == 2
    assert "--beta applies to if/lif/cubalif, not to --cell src" in capsys.readouterr().err
    assert main(["train", "--dataset", "digits", "--init", str(tmp_path / "m.pt"), "--recurrent",
                 "-o", str(tmp_path / "x.pt")]) == 2
    assert "--recurrent: cell constants of a new network" in capsys.readouterr().err
    assert not (tmp_path / "x.pt").exists()


def test_kinds_sharing_an_option_must_declare_it_alike():
    @dataclass(frozen=True)
    class Loose:
        beta: float = field(default=0.9, metadata=cli_option("another beta", type=str))

        def check(self, cell, layers):
            pass

    registry = CellRegistry()
    lif = CELLS["lif"]
    registry.register(lif)
    registry.register(replace(lif, name="loose", config=f"{__name__}:_LOOSE"))
    globals()["_LOOSE"] = Loose
    with pytest.raises(ConfigError, match="cell option 'beta' of 'loose' differs from that of lif"):
        registry.options()

"""NIR import / export (:mod:`srcfpga.nn.nir`): graph analysis, the forward-Euler convention, and the round trip
against snnTorch's own exporter and simulator (``snntorch_reference`` in conftest)."""

from __future__ import annotations

from dataclasses import replace

import nir
import numpy as np
import pytest
from budget import ARITHMETIC, budget
from hypothesis import given
from hypothesis import strategies as st

from srcfpga.nn.nir import (
    SNNTORCH_DT,
    NirError,
    decay_per_step,
    read_network,
    to_network,
    unit_gain,
)


def _lif(n, tau=1e-3, r=None, threshold=1.0, **extra):
    tau = np.full(n, tau)
    return nir.LIF(tau=tau, r=tau / SNNTORCH_DT if r is None else np.full(n, r), v_leak=np.zeros(n),
                   v_threshold=np.full(n, threshold), **extra)


def _graph(nodes, edges):
    return nir.NIRGraph(nodes=nodes, edges=edges)


def _affine(rng, n_out, n_in):
    return nir.Affine(weight=rng.normal(size=(n_out, n_in)), bias=rng.normal(size=n_out))


def test_snntorch_export_recovers_its_parameters(snntorch_reference, tmp_path):
    """beta, alpha, thresholds and weights of snnTorch's own export come back bit for bit (float32), the input
    gains r dt / tau are 1, and RLeaky's recurrent Linear is the layer's recurrent matrix and bias."""
    ref = snntorch_reference
    net = ref.build(7, [("leaky", 6), ("rleaky", 5), ("synaptic", 4)], seed=3)
    network = read_network(ref.export(net, 7, tmp_path / "net.nir"), reset="subtract")
    assert [layer.kind for layer in network.layers] == ["lif", "lif", "cubalif"]
    assert network.sizes == (7, 6, 5, 4) and network.readout.name is None
    modules = [m for m in net if not hasattr(m, "weight")]
    linears = [m for m in net if hasattr(m, "weight")]
    for layer, neuron, linear in zip(network.layers, modules, linears):
        np.testing.assert_array_equal(layer.beta, neuron.beta.numpy())
        np.testing.assert_array_equal(layer.threshold, neuron.threshold.numpy())
        np.testing.assert_array_equal(layer.weight, linear.weight.detach().numpy())
        assert layer.reset == "subtract"
    rleaky = modules[1]
    np.testing.assert_array_equal(network.layers[1].recurrent, rleaky.recurrent.weight.detach().numpy())
    np.testing.assert_array_equal(network.layers[1].bias, linears[1].bias.detach().numpy())
    np.testing.assert_array_equal(network.layers[1].recurrent_bias, rleaky.recurrent.bias.detach().numpy())
    np.testing.assert_array_equal(network.layers[2].alpha, modules[2].alpha.numpy())
    assert network.layers[0].recurrent is None


def test_decay_recovers_float32_beta_exactly():
    """snnTorch exports tau = dt / (1 - beta) in float32. For beta >= 0.5 (1 - beta exact), plain 1 - dt / tau
    misses beta by 1 ulp for about 0.4 % of values, the exporter-consistent inversion for none; below 0.5 the
    export itself drops bits of beta (several betas share one tau): within 2**-23."""
    rng = np.random.default_rng(0)
    beta = rng.uniform(0.5, 0.9999, 20000).astype(np.float32)
    tau = SNNTORCH_DT / (1 - beta)
    assert tau.dtype == np.float32
    assert np.mean((1 - SNNTORCH_DT / tau.astype(np.float64)).astype(np.float32) != beta) > 0.001
    np.testing.assert_array_equal(decay_per_step(SNNTORCH_DT, tau), beta)
    np.testing.assert_array_equal(unit_gain((tau / SNNTORCH_DT).astype(np.float64) * SNNTORCH_DT / tau), 1)
    low = rng.uniform(0.0, 0.5, 20000).astype(np.float32)
    np.testing.assert_allclose(decay_per_step(SNNTORCH_DT, SNNTORCH_DT / (1 - low)), low, rtol=0, atol=2**-23)


def test_discretization_of_each_neuron():
    """Forward Euler: LIF beta = 1 - dt/tau, gain r dt/tau folded into W and b, v_leak a drift dt/tau v_leak;
    IF beta 1, gain r dt; Threshold beta 0 with reset to zero; LI the readout with decay 1 - dt/tau."""
    rng = np.random.default_rng(1)
    dt = 1e-3
    a1, a2, a3, a4 = _affine(rng, 4, 3), _affine(rng, 4, 4), _affine(rng, 5, 4), _affine(rng, 2, 5)
    n = 4
    nodes = {"in": nir.Input(np.array([3])), "a1": a1,
             "lif": nir.LIF(tau=np.full(n, 4e-3), r=np.full(n, 2.0), v_leak=np.full(n, 0.5),
                            v_threshold=np.full(n, 0.7)),
             "a2": a2, "if": nir.IF(r=np.full(n, 3000.0), v_threshold=np.ones(n)),
             "a3": a3, "th": nir.Threshold(threshold=np.full(5, 0.25)),
             "a4": a4, "li": nir.LI(tau=np.full(2, 1e-2), r=np.ones(2), v_leak=np.zeros(2)),
             "out": nir.Output(np.array([2]))}
    names = list(nodes)
    network = to_network(_graph(nodes, list(zip(names, names[1:]))), dt=dt)
    lif, if_, th = network.layers
    assert (lif.kind, if_.kind, th.kind) == ("lif", "if", "lif")
    np.testing.assert_allclose(lif.beta, 0.75, rtol=1e-7)
    np.testing.assert_allclose(lif.weight, (a1.weight * 0.5).astype(np.float32), rtol=1e-6)
    np.testing.assert_allclose(lif.bias, a1.bias * 0.5 + 0.25 * 0.5, rtol=1e-6)
    np.testing.assert_array_equal(if_.beta, 1)
    np.testing.assert_allclose(if_.weight, a2.weight * 3, rtol=1e-6)
    np.testing.assert_array_equal(th.beta, 0)
    assert th.reset == "zero" and lif.reset == "zero"
    np.testing.assert_allclose(network.readout.decay, 0.9, rtol=1e-7)
    np.testing.assert_allclose(network.readout.weight, a4.weight * 0.1, rtol=1e-6)
    assert network.readout.name == "li"


def test_scale_linear_and_nested_subgraph():
    """Scale and consecutive Affine/Linear maps compose into the layer's weights; a recurrent layer written as
    a nested subgraph (older snnTorch exports, snnTorch's importer) reads like the flat form."""
    rng = np.random.default_rng(2)
    w1, w2, rec = rng.normal(size=(4, 3)), rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
    scale = np.array([1.0, 2.0, 3.0])
    sub = _graph({"input": nir.Input(np.array([4])), "lif": _lif(4), "w_rec": nir.Linear(weight=rec),
                  "output": nir.Output(np.array([4]))},
                 [("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")])
    nodes = {"input": nir.Input(np.array([3])), "s": nir.Scale(scale=scale), "l1": nir.Linear(weight=w1),
             "l2": nir.Linear(weight=w2), "rnn": sub, "output": nir.Output(np.array([4]))}
    network = to_network(_graph(nodes, [("input", "s"), ("s", "l1"), ("l1", "l2"), ("l2", "rnn"),
                                        ("rnn", "output")]))
    (layer,) = network.layers
    assert layer.name == "rnn.lif"
    np.testing.assert_allclose(layer.weight, w2 @ w1 * scale, rtol=1e-6)
    np.testing.assert_array_equal(layer.recurrent, rec.astype(np.float32))
    np.testing.assert_array_equal(network.readout.weight, np.eye(4))


@pytest.mark.parametrize("case, message", [
    ("delay", "'c' (Delay): is not supported"),
    ("branch", "'a' (Affine): has 2 successors"),
    ("li_middle", "'li' (LI): a non-spiking neuron"),
    ("v_reset", "'lif' (LIF): v_reset must be 0"),
    ("tau_below_dt", "'lif' (LIF): tau 5e-05 is below dt = 0.0001"),
    ("cuba_leak", "'lif' (CubaLIF): v_leak must be 0"),
    ("rec_into_li", "'w' (Linear): a recurrent loop through 'li' (LI)"),
])
def test_unsupported_graphs_name_node_type_and_why(case, message):
    rng = np.random.default_rng(3)
    nodes = {"input": nir.Input(np.array([3])), "a": _affine(rng, 4, 3), "lif": _lif(4),
             "output": nir.Output(np.array([4]))}
    edges = [("input", "a"), ("a", "lif"), ("lif", "output")]
    if case == "delay":
        nodes["c"] = nir.Delay(delay=np.ones(3))
        edges = [("input", "c"), ("c", "a")] + edges[1:]
    elif case == "branch":
        nodes["lif2"] = _lif(4)
        edges += [("a", "lif2"), ("lif2", "output")]
    elif case == "li_middle":
        nodes["li"] = nir.LI(tau=np.full(4, 1e-3), r=np.full(4, 10.0), v_leak=np.zeros(4))
        edges = [("input", "a"), ("a", "li"), ("li", "lif"), ("lif", "output")]
    elif case == "v_reset":
        nodes["lif"] = _lif(4, v_reset=np.full(4, 0.1))
    elif case == "tau_below_dt":
        nodes["lif"] = _lif(4, tau=5e-5)
    elif case == "cuba_leak":
        nodes["lif"] = nir.CubaLIF(tau_syn=np.full(4, 1e-3), tau_mem=np.full(4, 1e-3), r=np.full(4, 10.0),
                                   v_leak=np.ones(4), v_threshold=np.ones(4))
    elif case == "rec_into_li":
        nodes["li"] = nir.LI(tau=np.full(4, 1e-3), r=np.full(4, 10.0), v_leak=np.zeros(4))
        nodes["w"] = nir.Linear(weight=np.eye(4))
        edges += [("lif", "li"), ("li", "w"), ("w", "li")]
        edges.remove(("lif", "output"))
        edges.append(("li", "output"))
    with pytest.raises(NirError, match=message.replace("(", r"\(").replace(")", r"\)")):
        to_network(_graph(nodes, edges))


def test_unreadable_file_is_a_model_file_error(tmp_path):
    from srcfpga.errors import ModelFileError

    bad = tmp_path / "bad.nir"
    bad.write_text("not hdf5")
    with pytest.raises(ModelFileError, match="not a readable NIR graph"):
        read_network(bad)
    with pytest.raises(ModelFileError, match="does not exist"):
        read_network(tmp_path / "missing.nir")


def test_export_then_import_is_exact(snntorch_reference, tmp_path):
    """to_graph / write_network invert to_network: every float32 parameter, the resets (node metadata), the
    recurrent matrices and an LI readout come back bit for bit, also at another dt."""
    from srcfpga.nn.nir import Readout, write_network

    ref = snntorch_reference
    net = ref.build(5, [("rleaky", 6), ("synaptic", 4), ("leaky", 3)], seed=4)
    network = read_network(ref.export(net, 5, tmp_path / "a.nir"), reset="subtract")
    rng = np.random.default_rng(5)
    layers = (network.layers[0], replace(network.layers[1], reset="zero_after"), network.layers[2])
    readout = Readout("li", rng.normal(size=(2, 3)).astype(np.float32), np.zeros(2, np.float32),
                      np.float32([0.75, 0.5]))
    for dt in (SNNTORCH_DT, 1e-3):
        original = replace(network, layers=layers, readout=readout, dt=dt)
        back = read_network(write_network(original, tmp_path / "b.nir"), dt=dt)
        for a, b in zip(original.layers + (original.readout,), back.layers + (back.readout,)):
            for key in ("weight", "bias", "beta", "threshold", "alpha", "recurrent", "recurrent_bias", "decay"):
                x, y = getattr(a, key, None), getattr(b, key, None)
                assert (x is None) == (y is None), key
                if x is not None:
                    np.testing.assert_array_equal(x, y, err_msg=f"{a.name} {key}")
        assert [layer.reset for layer in back.layers] == ["subtract", "zero_after", "subtract"]
        assert [layer.kind for layer in back.layers] == ["lif", "cubalif", "lif"]


def test_one_kind_and_reset_per_network(snntorch_reference, tmp_path):
    """An srcfpga network has one cell kind and one reset: a graph mixing them is refused by name before any
    model is built. Recurrence may differ: it is per layer."""
    from srcfpga.nn.nir import to_net

    ref = snntorch_reference
    network = read_network(ref.export(ref.build(4, [("leaky", 3), ("synaptic", 2)]), 4, tmp_path / "m.nir"))
    with pytest.raises(NirError, match=r"one cell kind .* \['cubalif', 'lif'\]"):
        to_net(network)
    network = read_network(ref.export(ref.build(4, [("rleaky", 3), ("leaky", 2)]), 4, tmp_path / "r.nir"))
    with pytest.raises(NirError, match=r"one reset .* \['subtract', 'zero'\]"):
        to_net(replace(network, layers=(network.layers[0], replace(network.layers[1], reset="subtract"))))
    net = to_net(network)
    assert net.config.cell_config.recurrent == (True, False)
    assert net.layers[0].recurrent is not None and net.layers[1].recurrent is None


def test_per_layer_recurrence_saves_cycles_and_rom(snntorch_reference, tmp_path):
    """snnTorch's RLeaky hidden layer + Leaky output imports as a recurrent layer and a plain one. Against the
    same network with zero recurrent weights in the output layer (what a network-wide recurrence forced): the same
    float spikes and golden outputs, 10 x 10 fewer stored weights, and fewer cycles in the cycle model (the
    output layer's accumulator no longer visits its own spikes)."""
    from dataclasses import replace as replace_dc

    import torch

    from srcfpga.golden import run_golden
    from srcfpga.hdl import HdlConfig, LatencyModel
    from srcfpga.nn.checkpoint import quantize_model
    from srcfpga.nn.network import Net
    from srcfpga.quant import QuantConfig

    model = _import_snntorch(snntorch_reference, tmp_path, "rleaky", encoding="frames", steps=16, blank=0)
    assert [layer.recurrent is not None for layer in model.layers] == [True, False]
    config = model.config
    dense = Net(replace_dc(config, cell_config=replace_dc(config.cell_config, recurrent=True)))
    state = dict(model.state_dict())
    state |= {"layers.1.recurrent.weight": torch.zeros(10, 10), "layers.1.recurrent.bias": torch.zeros(10)}
    dense.load_state_dict(state)
    spikes = np.random.default_rng(4).random((8, 16, 30)) < 0.3
    with torch.no_grad():
        for a, b in zip(model(torch.from_numpy(spikes).float(), trace=True)[1],
                        dense(torch.from_numpy(spikes).float(), trace=True)[1]):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    cycles, hws = [], []
    for net in (model, dense):
        hw = quantize_model(net, QuantConfig(weight_bits=6))
        result = run_golden(hw, spikes=spikes, trace=True)
        hws.append((hw, result))
        cycles.append(LatencyModel(hw, HdlConfig(input="frames")).inference_cycles(
            spikes, [trace.spikes for trace in result.traces], 0))
    (sparse_hw, sparse), (dense_hw, full) = hws
    assert [layer.is_recurrent for layer in sparse_hw.layers] == [True, False]
    assert [layer.is_recurrent for layer in dense_hw.layers] == [True, True]
    assert sparse_hw.layers[1].weight_count == dense_hw.layers[1].weight_count - 100
    np.testing.assert_array_equal(sparse.readout_trace, full.readout_trace)
    for a, b in zip(sparse.traces, full.traces):
        np.testing.assert_array_equal(a.spikes, b.spikes)
    assert sparse.spike_counts[1].sum() > 0
    assert np.all(cycles[0] <= cycles[1]) and cycles[0].sum() < cycles[1].sum(), (cycles[0], cycles[1])


SNNTORCH_NETS = {
    "leaky": ([("leaky", 24), ("leaky", 10)], "subtract"),
    "rleaky": ([("rleaky", 24), ("leaky", 10)], "subtract"),
    "rleaky2": ([("rleaky", 16), ("rleaky", 12), ("rleaky", 10)], "subtract"),
    "synaptic": ([("synaptic", 24), ("synaptic", 10)], "subtract"),
    "leaky_zero": ([("leaky", 24), ("leaky", 10)], "zero"),
    "rleaky_zero": ([("rleaky", 24), ("rleaky", 10)], "zero_after"),
    "synaptic_zero": ([("synaptic", 24), ("synaptic", 10)], "zero_after"),
}


@pytest.mark.parametrize("name", sorted(SNNTORCH_NETS))
def test_float_model_reproduces_snntorch_spikes(name, snntorch_reference, tmp_path):
    """snnTorch's own export, imported with the reset it was trained with (snnTorch's "zero" is this repo's
    "zero" for Leaky and "zero_after" for RLeaky / Synaptic), gives the same spikes of every neuron of every
    layer at every step as snnTorch's own forward pass on random input spikes: exactly, in float32."""
    import torch

    from srcfpga.nn.nir import import_model

    layers, reset = SNNTORCH_NETS[name]
    ref = snntorch_reference
    snn_reset = "zero" if reset == "zero_after" else reset
    net = ref.build(30, layers, seed=len(name), reset=snn_reset, gain=3.0)
    model = import_model(ref.export(net, 30, tmp_path / "m.nir"), reset=reset, steps=40, blank=0)
    assert model.config.cell_config.reset == reset
    spikes = (np.random.default_rng(7).random((16, 40, 30)) < 0.3).astype(np.float32)
    want = ref.spikes(net, spikes)
    with torch.no_grad():
        _, outputs = model(torch.from_numpy(spikes), trace=True)
    for index, (expected, got) in enumerate(zip(want, outputs)):
        assert 0.02 < expected.mean() < 0.9, f"layer {index} spike rate {expected.mean():.3f}"
        mismatch = np.argwhere(got.numpy() != expected)
        assert not len(mismatch), f"layer {index}: {len(mismatch)} of {expected.size} spikes differ, first " \
                                  f"(sample, step, neuron) {mismatch[0]}"


def test_export_refuses_cells_without_nir_node():
    from srcfpga.nn.nir import from_net
    from srcfpga.testing import random_net

    with pytest.raises(NirError, match="cell kind 'src' has no NIR node"):
        from_net(random_net(0, (4, 3), n_classes=2))


def test_cli_nir_options_do_not_apply_to_a_lab_export(tmp_path, capsys):
    from srcfpga.cli import main

    assert main(["import", str(tmp_path), "--dt", "1e-3", "-o", str(tmp_path / "m.pt")]) == 2
    assert "--dt apply to NIR graphs" in capsys.readouterr().err
    assert main(["import", str(tmp_path / "none.nir"), "-o", str(tmp_path / "m.pt")]) == 2
    assert "does not exist" in capsys.readouterr().err


def _import_snntorch(ref, tmp_path, name: str, n_in: int = 30, **encoding):
    from srcfpga.nn.nir import import_model

    layers, reset = SNNTORCH_NETS[name]
    net = ref.build(n_in, layers, seed=len(name), reset="zero" if reset == "zero_after" else reset, gain=3.0)
    return import_model(ref.export(net, n_in, tmp_path / f"{name}.nir"), reset=reset, **encoding)


@pytest.mark.parametrize("name, bits", [("rleaky", 6), ("synaptic", 5), ("leaky_zero", 8), ("rleaky_zero", 4)])
def test_imported_model_quantizes_with_golden_equal_to_qat(name, bits, snntorch_reference, tmp_path):
    """The imported snnTorch network, quantized: the QAT forward pass equals the golden model bit for bit
    (every spike and state word of every layer at every step, the readout accumulators, the class)."""
    import torch

    from srcfpga.golden import run_golden
    from srcfpga.nn.qat import QATNet
    from srcfpga.quant import QuantConfig

    model = _import_snntorch(snntorch_reference, tmp_path, name, steps=40, blank=0)
    qat = QATNet(model, QuantConfig(weight_bits=bits))
    frames = torch.from_numpy(np.random.default_rng(bits).random((6, 40, 30)) < 0.3).float()
    with torch.no_grad():
        logits, trace = qat(frames, trace=True)
    golden = run_golden(qat.hardware_model(), spikes=frames.numpy().astype(bool), trace=True)
    for index, layer in enumerate(golden.traces):
        assert layer.spikes.any(), f"layer {index} is silent"
        np.testing.assert_array_equal(trace.spikes[index].numpy().astype(bool), layer.spikes)
        for state, values in layer.states().items():
            np.testing.assert_array_equal(trace.states[index][state].numpy(), values, err_msg=f"{index} {state}")
    np.testing.assert_array_equal(trace.readout.numpy(), golden.readout_trace)
    np.testing.assert_array_equal(logits.argmax(dim=1).numpy(), golden.predictions)


@pytest.mark.slow   # about 90 s: one Verilator build
def test_imported_recurrent_snntorch_network_rtl_equals_golden_verilator(snntorch_reference, tmp_path, regress):
    """A recurrent snnTorch network (RLeaky 24 -> Leaky 10), exported by snnTorch, imported, quantized at 6 bits,
    runs in Verilator on the on-chip rate encoder with agreement 1.0 (spikes of every layer at every step,
    readout, class) and the cycles the cycle model predicts."""
    from srcfpga.hdl import HdlConfig
    from srcfpga.nn.checkpoint import quantize_model
    from srcfpga.quant import QuantConfig
    from srcfpga.sim.regression import NO_GAPS

    model = _import_snntorch(snntorch_reference, tmp_path, "rleaky", rate_gain=0.5, steps=16, blank=2)
    hw = quantize_model(model, QuantConfig(weight_bits=6, encoder_generators=4))
    assert [layer.kind for layer in hw.layers] == ["lif", "lif"] and hw.layers[0].is_recurrent
    pixels = np.random.default_rng(3).integers(0, 256, (4, 30), dtype=np.uint8)
    report, rtl = regress(hw, HdlConfig(input="pixels", lanes=4), pixels=pixels, seeds=np.arange(4) + 1,
                          labels=np.zeros(4, int), backpressure=NO_GAPS)
    assert report.agreement == 1.0, report.summary()
    assert report.latency_model_exact == 1.0
    assert not rtl.errors and all(s.any() for s in rtl.spikes)


def test_cli_import_eval_quantize_sweep_export(snntorch_reference, tmp_path, capsys):
    """`srcfpga import model.nir` gives a model that eval, quantize and sweep run on an image data set at once
    (rate encoder), and `srcfpga export --nir` writes it back: re-imported, the same model hash."""
    import json

    from srcfpga.cli import main
    from srcfpga.nn import load_model
    from srcfpga.nn.checkpoint import model_hash

    ref = snntorch_reference
    graph = ref.export(ref.build(64, [("rleaky", 16), ("leaky", 10)], seed=1, gain=2.0), 64, tmp_path / "d.nir")
    model, back, hw = tmp_path / "d.pt", tmp_path / "back.nir", tmp_path / "d.hw"

    def run(*args):
        code = main([str(a) for a in args] + ["--json"])
        out = capsys.readouterr().out
        assert code == 0, out
        return json.loads(out)

    imported = run("import", graph, "--reset", "subtract", "--steps", 12, "--blank", 1, "-o", model)
    assert imported["sizes"] == [64, 16, 10]
    net, meta = load_model(model)
    assert net.config.cell == "lif" and net.config.encoding == "rate" and meta["imported_from"] == str(graph)
    assert run("eval", model, "--dataset", "digits", "--limit", 20)["samples"] == 20
    run("quantize", model, "--weight-bits", 6, "-o", hw)
    assert run("eval", hw, "--dataset", "digits", "--limit", 20)["path"] == "golden"
    run("sweep", model, "--weight-bits", 6, "--steps", 12, "--dataset", "digits", "--limit", 10,
        "--latency-samples", 0, "--executor", "serial", "-o", tmp_path / "sweep")
    assert run("export", "--nir", model, "-o", back)["sizes"] == [64, 16, 10]
    run("import", back, "--steps", 12, "--blank", 1, "-o", tmp_path / "again.pt")
    assert model_hash(load_model(tmp_path / "again.pt")[0]) == model_hash(net)


def test_flatten_input_counts_every_pixel():
    """Input of shape (1, 4, 4) -> Flatten -> Affine: the network takes 16 inputs (row-major pixels)."""
    rng = np.random.default_rng(6)
    nodes = {"input": nir.Input(np.array([1, 4, 4])),
             "flat": nir.Flatten(input_type={"input": np.array([1, 4, 4])}, start_dim=0, end_dim=-1),
             "a": _affine(rng, 5, 16), "lif": _lif(5), "output": nir.Output(np.array([5]))}
    network = to_network(_graph(nodes, [("input", "flat"), ("flat", "a"), ("a", "lif"), ("lif", "output")]))
    assert network.sizes == (16, 5)


def _li(n, tau, r=None):
    tau = np.broadcast_to(np.asarray(tau, np.float64), (n,)).copy()
    return nir.LI(tau=tau, r=tau / SNNTORCH_DT if r is None else np.full(n, r), v_leak=np.zeros(n))


def _readout_graph(rng, readout, affine=False):
    nodes = {"input": nir.Input(np.array([3])), "a": _affine(rng, 4, 3), "lif": _lif(4),
             "ro": _affine(rng, 2, 4) if affine else nir.Linear(weight=rng.normal(size=(2, 4))),
             "readout": readout, "output": nir.Output(np.array([2]))}
    names = list(nodes)
    return _graph(nodes, list(zip(names, names[1:])))


def test_readouts_the_float_network_cannot_hold():
    """An LI readout needs one tau for all classes (the hardware's leaky readout has one leak): refused by name
    when the float model is built."""
    from srcfpga.nn.nir import to_net

    with pytest.raises(NirError, match="readout 'readout'.*the LI time constant differs between classes"):
        to_net(to_network(_readout_graph(np.random.default_rng(8), _li(2, [1e-3, 2e-3]))))


@pytest.mark.parametrize("readout", [nir.I(r=np.full(2, 1e4)), _li(2, 1e-3)])
def test_readout_bias_is_kept_end_to_end(readout, hdl_equals_golden):
    """An ``Affine`` into the readout: its bias becomes the LIF network's readout bias (float logits), the
    HardwareModel's ``ReadoutQ.bias``, and QAT == golden == HDL bit for bit with it (the one readout rule of
    every kind); it matters (dropping it changes the accumulators), and export writes it back."""
    import torch

    from srcfpga.golden import run_golden
    from srcfpga.hdl import HdlConfig
    from srcfpga.nn.nir import from_net, to_graph, to_net
    from srcfpga.nn.qat import QATNet
    from srcfpga.quant import QuantConfig

    rng = np.random.default_rng(10)
    network = to_network(_readout_graph(rng, readout, affine=True))
    assert network.readout.bias.any()
    net = to_net(network)
    assert net.config.readout_bias and net.config.to_dict()["readout_bias"] is True
    np.testing.assert_array_equal(net.readout_bias.detach().numpy(), network.readout.bias)
    np.testing.assert_array_equal(to_network(to_graph(from_net(net))).readout.bias, network.readout.bias)
    frames = torch.from_numpy(rng.random((6, 12, 3)) < 0.6).float()
    with torch.no_grad():
        logits, (out,) = net(frames, trace=True)
        plain = net.read_out(out) - net.readout_bias
    assert not torch.allclose(logits, plain)
    qat = QATNet(net, QuantConfig(weight_bits=6))
    with torch.no_grad():
        _, trace = qat(frames, trace=True)
    model = qat.hardware_model()
    assert model.readout.bias is not None and model.readout.bias.any()
    spikes = frames.numpy().astype(bool)
    golden = run_golden(model, spikes=spikes, trace=True)
    np.testing.assert_array_equal(trace.readout.numpy(), golden.readout_trace)
    unbiased = run_golden(model.replace(readout=replace(model.readout, bias=None)), spikes=spikes)
    assert (unbiased.readout != golden.readout).any()
    hdl_equals_golden(model, HdlConfig(lanes=2, input="frames"), spikes.shape[1], 0, spikes=spikes)


@pytest.mark.parametrize("readout, decay", [(nir.I(r=np.full(2, 1e4)), None), (_li(2, 1e-3), 0.9),
                                            (_li(2, 4e-4, r=2.0), 0.75)])
def test_li_and_integrator_readouts_map_onto_the_float_readout(readout, decay):
    """An I readout is the integrating readout; an LI readout (uniform tau) is the leaky readout with decay
    1 - dt / tau, its input gain r dt / tau folded into the readout weights. The float logits are the LI
    membrane after the last step over the window's geometric gain, and export writes the LI node back."""
    import torch

    from srcfpga.nn.nir import from_net, to_graph, to_net
    from srcfpga.quant.hwmodel import readout_gain

    rng = np.random.default_rng(8)
    graph = _readout_graph(rng, readout)
    net = to_net(to_network(graph))
    assert net.config.readout_decay == (None if decay is None else pytest.approx(decay, rel=1e-6))
    gain = 1.0 if isinstance(readout, nir.I) else float(np.asarray(readout.r)[0] * SNNTORCH_DT / readout.tau[0])
    np.testing.assert_allclose(net.readout.detach().numpy(), graph.nodes["ro"].weight * gain, rtol=1e-6)
    spikes = torch.from_numpy(rng.random((5, 10, 3)) < 0.5).float()
    with torch.no_grad():
        logits, (out,) = net(spikes, trace=True)
    d = 1.0 if decay is None else net.config.readout_decay
    v = np.zeros((5, 2))
    for t in range(10):
        v = d * v + out[:, t].numpy() @ net.readout.detach().numpy().T
    np.testing.assert_allclose(logits.numpy(), v / readout_gain(None if decay is None else d, 10), rtol=1e-5)
    back = to_network(to_graph(from_net(net)))
    assert isinstance(to_graph(from_net(net)).nodes["readout"], type(readout))
    np.testing.assert_array_equal(back.readout.decay, np.float32(d))


def test_cli_li_readout_round_trip(tmp_path, capsys):
    """A hand-built graph ending in an LI readout (the shape Norse writes for a LILinear classifier head):
    `srcfpga import` gives a leaky-readout model, `quantize` a HardwareModel with the readout leak
    1 - n / 2^decay_shift, `export --nir` writes the LI back and re-importing it gives the same model hash."""
    import json

    from srcfpga.cli import main
    from srcfpga.nn import load_model
    from srcfpga.nn.checkpoint import model_hash
    from srcfpga.quant import HardwareModel
    from srcfpga.quant.ptq import leak_num

    rng = np.random.default_rng(9)
    nodes = {"input": nir.Input(np.array([64])), "a": nir.Affine(weight=rng.normal(size=(16, 64)) * 0.6,
                                                                  bias=rng.normal(size=16) * 0.1),
             "lif": _lif(16, tau=5e-4, threshold=0.8), "ro": nir.Linear(weight=rng.normal(size=(10, 16))),
             "readout": _li(10, 1e-3), "output": nir.Output(np.array([10]))}
    names = list(nodes)
    graph = tmp_path / "li.nir"
    nir.write(graph, _graph(nodes, list(zip(names, names[1:]))))
    model, back, hw = tmp_path / "li.pt", tmp_path / "back.nir", tmp_path / "li.hw"

    def run(*args):
        code = main([str(a) for a in args] + ["--json"])
        out = capsys.readouterr().out
        assert code == 0, out
        return json.loads(out)

    run("import", graph, "--reset", "subtract", "--steps", 12, "-o", model)
    net = load_model(model)[0]
    assert net.config.readout_decay == pytest.approx(0.9, rel=1e-6)
    run("quantize", model, "--weight-bits", 6, "-o", hw)
    readout = HardwareModel.load(hw).readout
    assert readout.leaky and readout.decay_num == leak_num(net.config.readout_decay, readout.decay_shift)
    assert run("eval", hw, "--dataset", "digits", "--limit", 10)["samples"] == 10
    run("export", "--nir", model, "-o", back)
    assert isinstance(nir.read(back).nodes["readout"], nir.LI)
    run("import", back, "--steps", 12, "-o", tmp_path / "again.pt")
    assert model_hash(load_model(tmp_path / "again.pt")[0]) == model_hash(net)


def test_decay_inversion_mutant_is_caught(mutate):
    """Without the exporter-consistent choice, plain rounding of 1 - dt / tau misses snnTorch's beta."""
    import srcfpga.nn.nir as nir_module

    beta = np.random.default_rng(0).uniform(0.5, 0.9999, 20000).astype(np.float32)
    tau = SNNTORCH_DT / (1 - beta)
    np.testing.assert_array_equal(nir_module.decay_per_step(SNNTORCH_DT, tau), beta)
    mutate(nir_module, "found = _exports_to(dt, decay, tau)", "found = np.ones(decay.shape, bool)")
    assert np.any(nir_module.decay_per_step(SNNTORCH_DT, tau) != beta)


@budget(ARITHMETIC)
@given(seed=st.integers(0, 2**16), sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4),
       kind=st.sampled_from(["lif", "cubalif", "if"]), recurrent=st.booleans(),
       reset=st.sampled_from(["zero", "subtract", "zero_after"]), dt=st.sampled_from([1e-4, 1e-3, 0.5]),
       leaky_readout=st.booleans())
def test_to_graph_then_to_network_is_exact(seed, sizes, kind, recurrent, reset, dt, leaky_readout):
    """Any network of float32 parameters survives to_graph -> to_network bit for bit, at any dt."""
    from srcfpga.nn.nir import NirNetwork, Readout, SpikingLayer, to_graph

    rng = np.random.default_rng(seed)

    def f32(*shape, low=-2.0, high=2.0):
        return rng.uniform(low, high, shape).astype(np.float32)

    layers = tuple(SpikingLayer(f"l{k}", kind, f32(n_out, n_in), f32(n_out),
                                np.ones(n_out, np.float32) if kind == "if" else f32(n_out, low=0.0, high=0.999),
                                f32(n_out, low=0.0, high=3.0), reset,
                                f32(n_out, low=0.0, high=0.999) if kind == "cubalif" else None,
                                f32(n_out, n_out) if recurrent else None, f32(n_out) if recurrent else None)
                   for k, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])))
    decay = f32(3, low=0.0, high=0.999) if leaky_readout else np.ones(3, np.float32)
    network = NirNetwork(sizes[0], layers, Readout("ro", f32(3, sizes[-1]), f32(3), decay), dt)
    back = to_network(to_graph(network), dt=dt)
    for a, b in zip(network.layers + (network.readout,), back.layers + (back.readout,)):
        for key in ("weight", "bias", "beta", "threshold", "alpha", "recurrent", "recurrent_bias", "decay"):
            x, y = getattr(a, key, None), getattr(b, key, None)
            assert (x is None) == (y is None), key
            if x is not None:
                np.testing.assert_array_equal(x, y, err_msg=f"{a.name} {key}")
        assert getattr(a, "reset", None) == getattr(b, "reset", None) and getattr(a, "kind", 0) == getattr(b, "kind", 0)

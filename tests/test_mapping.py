"""Tests of map-to-cores: every mapping is checked against the chip capacities by a brute-force
reference written here, which builds each synapse explicitly and shares no code with the pass."""

from __future__ import annotations

import itertools
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nirmlir.context import make_context
from nirmlir.dense import ints_from_array, numpy_from_dense
from nirmlir.dialects import fxp
from nirmlir.parser import parse_module
from nirmlir.passes.map_to_cores import decode_cores, encode_cores

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
STRATEGIES = ["greedy", "metis", "hypergraph"]
CAPACITY = {
    # target: (cores, neurons per core, synapse entries per core)
    "loihi2": (128, 8192, 131072),
    "spinnaker2": (152, 256, 32768),
}


def nir_opt(*args: str) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("nir-opt")
    return subprocess.run([str(script), *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def fxp_models(tmp_path_factory) -> dict[str, Path]:
    """The bundled CNN and RNN examples lowered to fxp text."""
    folder = tmp_path_factory.mktemp("fxp")
    models = {}
    for name in ("cnn", "rnn"):
        result = nir_opt(str(EXAMPLES / f"{name}.nir"), "--lower-to-fixedpoint=dt=1e-3", "-o", str(folder / f"{name}.mlir"))
        assert result.returncode == 0, result.stderr
        models[name] = folder / f"{name}.mlir"
    return models


# --------------------------------------------------------------------------------------
# The reference: explicit synapse lists built op by op
# --------------------------------------------------------------------------------------


def _op_synapses(op) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Return (output index, input index) of every synapse of one op, and the weight of each when it has weights."""
    out_shape = fxp.tensor_shape(op.results[0].type)
    in_shape = fxp.tensor_shape(op.operands[0].type)
    if isinstance(op, fxp.AffineOp):
        weight = numpy_from_dense(op.weight)
        rows, columns = np.nonzero(weight)
        return rows, columns, weight[rows, columns]
    if isinstance(op, fxp.Conv2dOp | fxp.SumPool2dOp):
        if isinstance(op, fxp.Conv2dOp):
            weight = numpy_from_dense(op.weight)
            kernel, groups, dilation = weight.shape[2:], op.groups.value.data, ints_from_array(op.dilation)
        else:
            weight = None
            kernel, groups, dilation = ints_from_array(op.kernel_size), out_shape[0], (1, 1)
        stride, padding = ints_from_array(op.stride), ints_from_array(op.padding)
        outputs, inputs, weights = [], [], []
        per_group_out, per_group_in = out_shape[0] // groups, in_shape[0] // groups
        for co, y, x in itertools.product(*(range(size) for size in out_shape)):
            group = co // per_group_out
            for ci_local, a, b in itertools.product(range(per_group_in), range(kernel[0]), range(kernel[1])):
                iy = y * stride[0] + a * dilation[0] - padding[0]
                ix = x * stride[1] + b * dilation[1] - padding[1]
                if not (0 <= iy < in_shape[1] and 0 <= ix < in_shape[2]):
                    continue
                ci = group * per_group_in + ci_local
                if weight is not None and weight[co, ci_local, a, b] == 0:
                    continue
                outputs.append(np.ravel_multi_index((co, y, x), out_shape))
                inputs.append(np.ravel_multi_index((ci, iy, ix), in_shape))
                weights.append(1 if weight is None else weight[co, ci_local, a, b])
        return np.array(outputs), np.array(inputs), np.array(weights) if weight is not None else None
    size = math.prod(out_shape)
    return np.arange(size), np.arange(size), None


def reference_synapses(graph) -> tuple[dict[str, int], list[tuple[str, str, np.ndarray, np.ndarray]]]:
    """Return the size of every input and neuron op, and (source, target, source index, target index) synapse lists.

    A synapse joins a source neuron to a target neuron through ops that are not neurons. The
    lists come from composing, op by op, boolean matrices of every op's explicit synapses.
    """
    sizes = {}
    for op in graph.body.block.ops:
        if isinstance(op, fxp.InputOp | fxp.NeuronOp):
            sizes[op.node_name.data] = math.prod(fxp.tensor_shape(op.results[0].type))

    def reach(value) -> list[tuple[str, np.ndarray]]:
        """Return (source name, boolean matrix value index x source index) for every source of `value`."""
        op = value.owner
        size = math.prod(fxp.tensor_shape(value.type))
        if isinstance(op, fxp.InputOp | fxp.NeuronOp):
            return [(op.node_name.data, np.eye(size, dtype=bool))]
        outputs, inputs, _ = _op_synapses(op)
        step = np.zeros((size, math.prod(fxp.tensor_shape(op.operands[0].type))), dtype=bool)
        step[outputs, inputs] = True
        result = []
        for operand in op.operands:
            for source, matrix in reach(operand):
                result.append((source, (step.astype(np.float32) @ matrix.astype(np.float32)) > 0))
        return result

    synapses = []
    for op in graph.body.block.ops:
        if isinstance(op, fxp.NeuronOp):
            for operand in op.operands:
                for source, matrix in reach(operand):
                    target_index, source_index = np.nonzero(matrix)
                    synapses.append((source, op.node_name.data, source_index, target_index))
    return sizes, synapses


def reference_synapse_entries(op) -> np.ndarray:
    """Return the synapse entries of each neuron of a neuron op: nonzero weights inside the input, or one per edge."""
    size = math.prod(fxp.tensor_shape(op.results[0].type))
    entries = np.zeros(size, dtype=np.int64)
    for operand in op.operands:
        producer = operand.owner
        while isinstance(producer, fxp.RescaleOp | fxp.DelayOp | fxp.StepDelayOp | fxp.FlattenOp | fxp.ThresholdOp):
            producer = producer.operands[0].owner
        if isinstance(producer, fxp.AffineOp):
            entries += np.count_nonzero(numpy_from_dense(producer.weight), axis=1)
        elif isinstance(producer, fxp.Conv2dOp | fxp.SumPool2dOp):
            # Nonzero weights whose input lies inside the input map, not in the padding.
            outputs, _, _ = _op_synapses(producer)
            entries += np.bincount(outputs, minlength=size)
        else:
            entries += 1
    return entries


def check_against_reference(text: str, target: str, report: dict, rates: dict[str, np.ndarray] | None = None,
                            neurons_per_core: int | None = None, fan_in_per_core: int | None = None) -> None:
    """Assert that the mapping in `text` respects the capacities and that the report's figures are right.

    `neurons_per_core` and `fan_in_per_core` replace the chip's figures, as the pass options do.
    """
    module = parse_module(text, make_context(), "<mapped>")
    graph = next(op for op in module.ops if isinstance(op, fxp.GraphOp))
    core_count, chip_neurons, synapses_per_core = CAPACITY[target]
    neurons_per_core = neurons_per_core or chip_neurons
    sizes, synapses = reference_synapses(graph)
    core_of = {}
    neurons = np.zeros(core_count, dtype=np.int64)
    entries = np.zeros(core_count, dtype=np.int64)
    for op in graph.body.block.ops:
        if isinstance(op, fxp.NeuronOp):
            cores = decode_cores(op.attributes["cores"])
            assert cores.size == sizes[op.node_name.data]
            core_of[op.node_name.data] = cores
            np.add.at(neurons, cores, 1)
            np.add.at(entries, cores, reference_synapse_entries(op))
    assert neurons.max() <= neurons_per_core
    assert entries.max() <= synapses_per_core
    assert int(np.count_nonzero(neurons)) == report["cores_used"]
    for core in report["cores"]:
        assert (core["neurons"], core["synapses"]) == (neurons[core["core"]], entries[core["core"]])

    traffic = 0.0
    for source in sizes:
        pairs = [(source_index, core_of[target_name][target_index])
                 for name, target_name, source_index, target_index in synapses if name == source]
        if not pairs:
            continue
        neuron = np.concatenate([pair[0] for pair in pairs])
        core = np.concatenate([pair[1] for pair in pairs])
        if source in core_of:
            remote = core != core_of[source][neuron]
            neuron, core = neuron[remote], core[remote]
        distinct = np.unique(np.stack([neuron, core]), axis=1)
        weight = np.ones(distinct.shape[1]) if rates is None else rates[source][distinct[0]]
        traffic += float(weight.sum())
    assert report["traffic"] == pytest.approx(traffic)

    if fan_in_per_core is not None:
        # Fan-in of a core: distinct (source group, source neuron) pairs with a synapse into one of its neurons.
        senders = [set() for _ in range(core_count)]
        for name, target_name, source_index, target_index in synapses:
            for neuron, core in zip(source_index.tolist(), core_of[target_name][target_index].tolist()):
                senders[core].add((name, neuron))
        assert max(len(sources) for sources in senders) <= fan_in_per_core


# --------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------


def map_in_process(path: Path, **options) -> tuple[str, dict]:
    """Run map-to-cores on the text in `path` without a subprocess; return the printed module and the report."""
    from nirmlir.mapping.report import collect_reports
    from nirmlir.passes.map_to_cores import MapToCoresPass
    from nirmlir.printer import module_to_text

    context = make_context()
    module = parse_module(path.read_text(), context, str(path))
    with collect_reports() as documents:
        MapToCoresPass(**options).apply(context, module)
    (report,) = documents
    return module_to_text(module), report


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("target", ["spinnaker2", "loihi2"])
@pytest.mark.parametrize("model", ["cnn", "rnn"])
def test_mapping_respects_capacities(fxp_models, model, target, strategy):
    text, report = map_in_process(fxp_models[model], target=target, strategy=strategy, seed=3)
    check_against_reference(text, target, report)


def test_mapping_report_file(fxp_models, tmp_path):
    report_path = tmp_path / "report.json"
    result = nir_opt(str(fxp_models["cnn"]), "-p", "map-to-cores{target=spinnaker2 strategy=hypergraph}", "--mapping-report", str(report_path))
    assert result.returncode == 0, result.stderr
    (report,) = json.loads(report_path.read_text())["graphs"]
    assert report["strategy"] == "hypergraph"
    assert f"{report['cores_used']} of 152 cores" in result.stderr
    check_against_reference(result.stdout, "spinnaker2", report)


def test_traffic_with_simulated_rates(fxp_models, tmp_path):
    """With --calibration-input, each source neuron's traffic is weighted by its spikes per step in a simulation."""
    from nirmlir.simulator import compile_graph

    data = (np.random.default_rng(0).random((40, 2, 16, 16)) < 0.3).astype(np.float32)
    np.save(tmp_path / "x.npy", data)
    report_path = tmp_path / "report.json"
    result = nir_opt(str(fxp_models["cnn"]), "-p", "map-to-cores{target=spinnaker2 strategy=greedy}",
                     "--calibration-input", str(tmp_path / "x.npy"), "--mapping-report", str(report_path))
    assert result.returncode == 0, result.stderr
    (report,) = json.loads(report_path.read_text())["graphs"]
    assert report["traffic_unit"] == "spikes per step"

    module = parse_module(fxp_models["cnn"].read_text(), make_context(), "cnn")
    graph = next(op for op in module.ops if isinstance(op, fxp.GraphOp))
    traces = compile_graph(graph).run({"input": data[None]}, ["if1", "if2"])
    rates = {"input": (data != 0).mean(axis=0).ravel()}
    for name in ("if1", "if2"):
        rates[name] = (traces[name]["spikes"] != 0).mean(axis=(0, 1)).ravel()
    check_against_reference(result.stdout, "spinnaker2", report, rates)


def test_cpsat_no_worse_than_greedy(tmp_path):
    text = (REPO / "lit_tests" / "mapping" / "cpsat.mlir").read_text()
    source = tmp_path / "tiny.mlir"
    source.write_text(text)
    reports = {}
    for strategy in ("greedy", "cpsat"):
        mapped, reports[strategy] = map_in_process(source, target="spinnaker2", strategy=strategy, time_limit=4)
        check_against_reference(mapped, "spinnaker2", reports[strategy])
    assert reports["cpsat"]["traffic"] <= reports["greedy"]["traffic"]
    assert 0.0 <= reports["cpsat"]["optimality_gap"] <= 1.0


@pytest.mark.parametrize("strategy", STRATEGIES + ["cpsat"])
def test_speck_one_layer_per_core(fxp_models, strategy):
    text, _ = map_in_process(fxp_models["cnn"], target="speck", strategy=strategy)
    module = parse_module(text, make_context(), "<mapped>")
    graph = next(op for op in module.ops if isinstance(op, fxp.GraphOp))
    kernel_memory = (16384, 16384, 16384, 32768, 32768, 65536, 65536, 16384, 16384)
    neuron_memory = (65536, 65536, 65536, 32768, 32768, 16384, 16384, 16384, 16384)
    used = []
    for op in graph.body.block.ops:
        if not isinstance(op, fxp.NeuronOp):
            continue
        cores = np.unique(decode_cores(op.attributes["cores"]))
        assert cores.size == 1
        core = int(cores[0])
        used.append(core)
        shape = fxp.tensor_shape(op.output.type)
        producer = op.operands[0].owner
        if isinstance(producer, fxp.Conv2dOp):
            features, channels, ky, kx = tuple(producer.weight.get_shape())
            out_map = shape[1:]
        else:
            features = shape[0]
            channels, height, width = fxp.tensor_shape(producer.operands[0].owner.operands[0].type)
            ky, kx, out_map = height, width, (1, 1)
        kernel = channels * 2 ** (math.ceil(math.log2(kx * ky)) + math.ceil(math.log2(features)))
        neuron = features * 2 ** sum(math.ceil(math.log2(size)) for size in out_map)
        assert kernel <= kernel_memory[core]
        assert neuron <= neuron_memory[core]
    assert len(set(used)) == len(used)


def test_xylo_single_core(fxp_models):
    text, report = map_in_process(fxp_models["rnn"], target="xylo", strategy="hypergraph")
    assert "cores = array<i64: 0," in text
    assert report["cores_used"] == 1


@pytest.mark.parametrize("cores", [[0], [3, 3, 3, 1, 1, 0], [5, 4, 5, 4], []])
def test_cores_attribute_round_trip(cores):
    array = np.array(cores, dtype=np.int64)
    assert decode_cores(encode_cores(array)).tolist() == cores


def test_mapped_module_prints_and_parses(fxp_models):
    first = nir_opt(str(fxp_models["cnn"]), "-p", "map-to-cores{target=spinnaker2 strategy=metis}")
    assert first.returncode == 0, first.stderr
    second = subprocess.run([str(Path(sys.executable).with_name("nir-opt"))], input=first.stdout, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout


def test_unknown_target_diagnostic(fxp_models):
    result = nir_opt(str(fxp_models["cnn"]), "-p", "map-to-cores{target=truenorth}")
    assert result.returncode != 0
    assert "unknown target 'truenorth'; expected one of loihi2, spinnaker2, speck, xylo" in result.stderr
    assert "Traceback" not in result.stderr


def test_nir_level_diagnostic():
    result = nir_opt(str(EXAMPLES / "cnn.nir"), "-p", "map-to-cores")
    assert result.returncode != 0
    assert "map-to-cores takes the fxp dialect" in result.stderr


@pytest.mark.parametrize("chip", ["loihi2", "spinnaker2"])
def test_chip_level_connectivity_matches_fxp(chip, fxp_models, tmp_path):
    """The same placement costs the same traffic and fan-in whether the synapses come from fxp or a chip level."""
    from nirmlir.mapping.check import measure
    from nirmlir.mapping.extract import extract_network
    from nirmlir.mapping.strategies import map_network
    from nirmlir.mapping.targets import TARGETS

    chip_path = tmp_path / f"cnn.{chip}.mlir"
    result = nir_opt(str(EXAMPLES / "cnn.nir"), "-p", f"lower-to-{chip}{{dt=1e-3}}", "-o", str(chip_path))
    assert result.returncode == 0, result.stderr
    networks = {}
    for level, path in (("fxp", fxp_models["cnn"]), (chip, chip_path)):
        module = parse_module(path.read_text(), make_context(), str(path))
        networks[level] = extract_network(next(op for op in module.ops if op.name.endswith(".graph")))
    target = TARGETS["spinnaker2"]
    fxp_mapping = map_network(networks["fxp"], target, 152, "hypergraph", 0).mapping

    by_name = {networks["fxp"].groups[index].name: cores for index, cores in fxp_mapping.items()}
    chip_mapping = {index: by_name[networks[chip].groups[index].name] for index in networks[chip].placed()}
    fxp_usage = measure(networks["fxp"], target, 152, fxp_mapping)
    chip_usage = measure(networks[chip], target, 152, chip_mapping)
    assert chip_usage.traffic == fxp_usage.traffic
    assert chip_usage.fan_in.tolist() == fxp_usage.fan_in.tolist()
    assert chip_usage.neurons.tolist() == fxp_usage.neurons.tolist()


@pytest.mark.parametrize("strategy", STRATEGIES + ["cpsat"])
def test_graph_without_neurons(tmp_path, strategy):
    source = tmp_path / "empty.mlir"
    source.write_text(
        'fxp.graph @empty attributes {dt = 0.001 : f64} {\n'
        '  %in = fxp.input "in" {scale = 1.0 : f64} : tensor<4xi8>\n'
        '  fxp.output "out"(%in) {scale = dense<1.0> : tensor<f64>} : tensor<4xi8>\n'
        '}\n'
    )
    _, report = map_in_process(source, target="loihi2", strategy=strategy)
    assert report["cores_used"] == 0
    assert report["traffic"] == 0.0


@pytest.mark.parametrize("strategy", STRATEGIES + ["cpsat"])
def test_user_capacities_respected(fxp_models, strategy):
    """Capacities set as pass options hold for every strategy, by the reference's own count.

    if2's 10 neurons each receive from all 1024 neurons of if1, so with a fan-in of 1100 no core
    may hold if2 together with more than 76 sources of if1 outside if1's own convolution windows.
    """
    text, report = map_in_process(fxp_models["cnn"], target="loihi2", strategy=strategy, time_limit=2,
                                  fan_in_per_core=1100, neurons_per_core=300)
    check_against_reference(text, "loihi2", report, neurons_per_core=300, fan_in_per_core=1100)
    assert report["cores_used"] >= 4


def test_user_capacity_shortfall(fxp_models):
    from nirmlir.diagnostics import DiagnosticError

    with pytest.raises(DiagnosticError, match=r"'if2': fan-in: one neuron receives spikes from 1024 source neurons but "
                       r"fan-in-per-core is 1000 \(short by 24\)"):
        map_in_process(fxp_models["cnn"], target="loihi2", fan_in_per_core=1000)


SPECK_TWO_CORES = REPO / "lit_tests" / "speck" / "ops.mlir"


def _speck_module(tmp_path) -> Path:
    lines = SPECK_TWO_CORES.read_text().splitlines()
    start = lines.index("speck.graph @two_cores attributes {dt = 1.0 : f64} {")
    end = lines.index("}", start)
    path = tmp_path / "two.mlir"
    path.write_text("\n".join(lines[start : end + 1]) + "\n")
    return path


@pytest.mark.parametrize("strategy", [None, "greedy", "metis", "hypergraph", "cpsat"])
def test_speck_module(tmp_path, strategy):
    """keep reports the assigned cores; the others assign again, and the module still verifies."""
    from nirmlir.dialects import speck

    options = {} if strategy is None else {"strategy": strategy}
    text, report = map_in_process(_speck_module(tmp_path), target="speck", **options)
    assert report["strategy"] == (strategy or "keep")
    module = parse_module(text, make_context(), "<mapped>")
    module.verify()
    cores = {op.node_name.data: op for op in module.walk() if isinstance(op, speck.CoreOp)}
    # conv: 4 output channels, 2 input channels, 3x3 kernel, 8x8 map: kernel 2 * 2^(4 + 2), neuron 4 * 2^(3 + 3).
    conv = next(entry for entry in report["cores"] if entry["core"] == cores["conv"].core.value.data)
    assert (conv["kernel_memory"], conv["neuron_memory"]) == (128, 256)
    if strategy is None:
        assert (cores["conv"].core.value.data, cores["fc"].core.value.data) == (0, 1)
    assert ints_from_array(cores["conv"].destinations) == (cores["fc"].core.value.data,)


def test_keep_needs_a_speck_graph(fxp_models):
    from nirmlir.diagnostics import DiagnosticError

    with pytest.raises(DiagnosticError, match="strategy 'keep' keeps the cores of a speck or xylo graph"):
        map_in_process(fxp_models["cnn"], target="loihi2", strategy="keep")


def test_hypergraph_repeats_for_a_seed(fxp_models):
    """Two processes map the example CNN onto several cores identically for one seed."""
    spec = "map-to-cores{target=spinnaker2 strategy=hypergraph seed=3}"
    first = nir_opt(str(fxp_models["cnn"]), "-p", spec)
    second = nir_opt(str(fxp_models["cnn"]), "-p", spec)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    text = first.stdout.decode() if isinstance(first.stdout, bytes) else first.stdout
    cores = set()
    for attribute in text.split("cores = array<i64: ")[1:]:
        values = [int(value) for value in attribute.split(">", 1)[0].split(", ")]
        cores.update(values[0::2])
    assert len(cores) > 1


# --------------------------------------------------------------------------------------
# Bad options, bad calibration data and hand-edited placements
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("option, message", [
    ("seed=2147483648", "seed is 2147483648; expected an integer from 0 to 2147483647"),
    ("seed=-1", "seed is -1; expected an integer from 0 to 2147483647"),
    ("time-limit=0", "time-limit is 0; expected a positive number of seconds"),
])
def test_option_out_of_range(fxp_models, option, message):
    result = nir_opt(str(fxp_models["rnn"]), "-p", f"map-to-cores{{strategy=hypergraph {option}}}")
    assert result.returncode == 1, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_largest_seed_maps(fxp_models):
    """The hypergraph strategy's further trials add to the seed; at the largest seed they wrap instead of overflowing."""
    text, report = map_in_process(fxp_models["cnn"], target="spinnaker2", strategy="hypergraph", seed=2**31 - 1)
    check_against_reference(text, "spinnaker2", report)


@pytest.mark.parametrize("data, message", [
    (np.array([["a"] * 2] * 3), "have dtype <U1; expected numbers"),
    (np.zeros((0, 2, 16, 16)), "have no steps"),
    (np.zeros((0, 5, 2, 16, 16)), "have no steps"),
])
def test_bad_calibration_data(fxp_models, tmp_path, data, message):
    np.save(tmp_path / "bad.npy", data)
    report = tmp_path / "report.json"
    result = nir_opt(str(fxp_models["cnn"]), "-p", "map-to-cores", "--calibration-input", str(tmp_path / "bad.npy"),
                     "--mapping-report", str(report))
    assert result.returncode == 1, result.stderr
    assert f"the calibration data of input node 'input' {message}" in result.stderr
    assert not report.exists()


def test_calibration_archive_array_named_after_node(fxp_models, tmp_path):
    """An .npz archive with several arrays gives the one named after the input node."""
    data = (np.random.default_rng(1).random((20, 2, 16, 16)) < 0.2).astype(np.float32)
    np.savez(tmp_path / "several.npz", other=np.zeros(3), input=data)
    np.savez(tmp_path / "unnamed.npz", first=data, second=data)
    named = nir_opt(str(fxp_models["cnn"]), "-p", "map-to-cores", "--calibration-input", str(tmp_path / "several.npz"),
                    "-o", os.devnull)
    assert named.returncode == 0, named.stderr
    unnamed = nir_opt(str(fxp_models["cnn"]), "-p", "map-to-cores", "--calibration-input", str(tmp_path / "unnamed.npz"),
                      "-o", os.devnull)
    assert unnamed.returncode == 1
    assert ("contains the arrays first, second; store the data of input node 'input' under the name 'input', "
            "or with nir-run choose an array with --input-key") in unnamed.stderr


def test_report_never_replaces_the_input(fxp_models, tmp_path):
    source = tmp_path / "model.mlir"
    source.write_text(fxp_models["cnn"].read_text())
    result = nir_opt(str(source), "-p", "map-to-cores", "--mapping-report", str(source), "-o", os.devnull)
    assert result.returncode == 1
    assert f"--mapping-report would replace the input file '{source}'" in result.stderr
    assert source.read_text() == fxp_models["cnn"].read_text()


def test_report_of_a_module_without_graphs(tmp_path):
    source = tmp_path / "empty.mlir"
    source.write_text("builtin.module {\n}\n")
    result = nir_opt(str(source), "-p", "map-to-cores", "--mapping-report", str(tmp_path / "r.json"))
    assert result.returncode == 1
    assert "map-to-cores found no fxp or chip graph in the module" in result.stderr
    assert not (tmp_path / "r.json").exists()


def test_graph_of_another_level_is_named(fxp_models, tmp_path):
    nir_graph = ('nir.graph @other {\n  %input = nir.input "input" : tensor<2xf32>\n'
                 '  nir.output "output"(%input) : tensor<2xf32>\n}\n')
    source = tmp_path / "mixed.mlir"
    text = fxp_models["rnn"].read_text().rstrip()
    assert text.startswith("builtin.module {")
    assert text.endswith("}")
    source.write_text(text[:-1] + nir_graph + "}\n")
    result = nir_opt(str(source), "-p", "map-to-cores", "-o", os.devnull)
    assert result.returncode == 0, result.stderr
    assert "warning: map-to-cores: graph @other is a nir.graph and was not mapped" in result.stderr


@pytest.mark.parametrize("kernel, stride, padding, dilation, groups", [
    ((3, 3), (1, 1), (1, 1), (1, 1), 1),
    ((3, 2), (2, 1), (2, 0), (1, 2), 2),
    ((5,), (3,), (4,), (2,), 1),
])
def test_window_synapses_count_inside_nonzero_weights(kernel, stride, padding, dilation, groups):
    """A convolution neuron stores the nonzero weights whose input lies inside the map, not in the padding."""
    from nirmlir.mapping.network import Stage

    rng = np.random.default_rng(len(kernel) + groups)
    channels_in, channels_out, in_map = 4, 6, (9, 7)[: len(kernel)]
    weight = rng.integers(-1, 2, (channels_out, channels_in // groups, *kernel))
    out_map = tuple((size + 2 * pad - dil * (k - 1) - 1) // step + 1
                    for size, k, step, pad, dil in zip(in_map, kernel, stride, padding, dilation))
    stage = Stage("window", (channels_in, *in_map), (channels_out, *out_map), kernel=kernel, stride=stride,
                  padding=padding, dilation=dilation, groups=groups, kernel_nonzero=np.count_nonzero(weight, axis=1))
    expected = np.zeros((channels_out, *out_map), dtype=np.int64)
    for out_channel, *position in itertools.product(range(channels_out), *(range(size) for size in out_map)):
        for channel, *offset in itertools.product(range(channels_in // groups), *(range(k) for k in kernel)):
            inside = all(0 <= p * step - pad + o * dil < size for p, step, pad, o, dil, size
                         in zip(position, stride, padding, offset, dilation, in_map))
            expected[(out_channel, *position)] += inside and weight[(out_channel, channel, *offset)] != 0
    assert stage.window_synapses().tolist() == expected.ravel().tolist()


def test_chip_graph_core_beyond_chips(tmp_path):
    lowered = tmp_path / "rnn.loihi2.mlir"
    result = nir_opt(str(EXAMPLES / "rnn.nir"), "-p", "lower-to-loihi2,map-to-cores{target=loihi2}", "-o", str(lowered))
    assert result.returncode == 0, result.stderr
    text = lowered.read_text()
    assert "cores = array<i64: 0, 16>" in text
    edited = tmp_path / "edited.mlir"
    edited.write_text(text.replace("cores = array<i64: 0, 16>", "cores = array<i64: 1280000, 16>"))
    result = nir_opt(str(edited), "-o", os.devnull)
    assert result.returncode == 1
    assert "names core 1280000, but a loihi2 graph on at most 10000 chips has cores 0 to 1279999" in result.stderr


def test_speck_layer_rejects_cores_attribute(tmp_path):
    lowered = tmp_path / "cnn.speck.mlir"
    result = nir_opt(str(EXAMPLES / "cnn.nir"), "--lower-to-speck", "-o", str(lowered))
    assert result.returncode == 0, result.stderr
    text = lowered.read_text()
    assert '{core = 1 : i64,' in text
    edited = tmp_path / "edited.mlir"
    edited.write_text(text.replace('{core = 1 : i64,', '{cores = array<i64: 0, 10>, core = 1 : i64,', 1))
    result = nir_opt(str(edited), "-o", os.devnull)
    assert result.returncode == 1
    assert "has a cores attribute that does not apply to a speck layer, which its core property places" in result.stderr


def test_one_core_chip_shortfall_advice(fxp_models):
    result = nir_opt(str(fxp_models["rnn"]), "-p", "map-to-cores{target=xylo neurons-per-core=10}")
    assert result.returncode == 1
    assert "but the one core of SynSense Xylo Audio 2" in result.stderr
    assert result.stderr.rstrip().endswith("give a larger neurons-per-core")
    assert "chips=" not in result.stderr


def test_report_file_checks_before_running(fxp_models, tmp_path):
    """A report that the run cannot write fails before any output file is replaced."""
    calibration = tmp_path / "x.npy"
    np.save(calibration, np.zeros((5, 2, 16, 16)))
    original = calibration.read_bytes()
    over_calibration = nir_opt(str(fxp_models["cnn"]), "-p", "map-to-cores", "--calibration-input", str(calibration),
                               "--mapping-report", str(calibration), "-o", os.devnull)
    assert over_calibration.returncode == 1
    assert f"--mapping-report would replace the calibration input file '{calibration}'" in over_calibration.stderr
    assert calibration.read_bytes() == original

    output = tmp_path / "out.mlir"
    output.write_text("old")
    no_pass = nir_opt(str(EXAMPLES / "lif.nir"), "-p", "lower-to-fixedpoint{dt=1e-4}", "--quantization-report",
                      str(tmp_path / "q.json"), "--mapping-report", str(tmp_path / "m.json"), "-o", str(output))
    assert no_pass.returncode == 1
    assert "--mapping-report needs map-to-cores in the pipeline" in no_pass.stderr
    assert not (tmp_path / "q.json").exists()
    assert output.read_text() == "old"

    to_stdout = nir_opt(str(fxp_models["cnn"]), "-p", "map-to-cores", "--mapping-report", "-")
    assert to_stdout.returncode == 1
    assert "--mapping-report writes JSON to a file, and standard output carries the module" in to_stdout.stderr


def test_calibration_data_not_finite(fxp_models, tmp_path):
    data = np.zeros((5, 2, 16, 16))
    data[2, 0, 3, 3] = np.nan
    np.save(tmp_path / "nan.npy", data)
    result = nir_opt(str(fxp_models["cnn"]), "-p", "map-to-cores", "--calibration-input", str(tmp_path / "nan.npy"))
    assert result.returncode == 1
    assert f"{tmp_path / 'nan.npy'}: error: the calibration data of input node 'input' contain NaN or infinity" in result.stderr


def test_chip_export_warns_placement_dropped(tmp_path):
    mapped = tmp_path / "rnn.spinnaker2.mlir"
    result = nir_opt(str(EXAMPLES / "rnn.nir"), "-p", "lower-to-spinnaker2,map-to-cores{target=spinnaker2}", "-o", str(mapped))
    assert result.returncode == 0, result.stderr
    translate = Path(sys.executable).with_name("nir-translate")
    printed = subprocess.run([str(translate), "--spinnaker2-json", str(mapped), "-o", str(tmp_path / "net.json")],
                             capture_output=True, text=True, timeout=120)
    assert printed.returncode == 0, printed.stderr
    assert ("warning: the cores that map-to-cores assigned are not part of the spinnaker2 output, because "
            "py-spinnaker2 splits each population over cores by set_max_atoms_per_core") in printed.stderr
    unmapped = tmp_path / "plain.mlir"
    unmapped.write_text(mapped.read_text().replace("cores = ", "placed = "))
    quiet = subprocess.run([str(translate), "--spinnaker2-json", str(unmapped), "-o", str(tmp_path / "plain.json")],
                           capture_output=True, text=True, timeout=120)
    assert quiet.returncode == 0, quiet.stderr
    assert "map-to-cores" not in quiet.stderr

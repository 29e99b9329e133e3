"""`lower-to-speck`: map a feed-forward spiking CNN, chain or branching, onto the cores of SynSense's Speck chip.

The pass takes nir graphs (which it first discretizes the way sinabs imports NIR: dt = 1,
integrate-and-fire with v += x, any number of spikes per step, reset by subtraction) or snn
graphs, and writes one speck.graph per graph. Each integrate-and-fire group becomes one core:

* the convolution or affine op that feeds it becomes the core's kernel. An affine op becomes a
  convolution whose kernel covers its whole input map, and a flatten before it disappears;
* a sum pool after it becomes the pooling of the core's destination;
* weights, bias and thresholds are scaled by one factor per layer and rounded, as sinabs'
  `discretize_conv_spike_` does (sinabs-dynapcnn 1.0.15): the factor is the smallest of the
  scales that bring the weights and the bias into 8 bits and (threshold_low, threshold_high)
  into 16 bits, where a tensor's scale is 127/max or 128/|min|, whichever binds, in float32;
* layers are placed on cores by a bipartite matching of layers to the cores whose kernel,
  neuron and bias memories fit them.

Branches: a layer whose events several synapse ops read sends them to each reader's core, and a
core has at most two destinations. A conv2d or affine op with several operands (NIR sums the
edges into a node) becomes a core with several sources: the chip merges their events, so the
kernel receives the sum of the sources' event counts, which must have one shape. A core pools its
events the same way for all its destinations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import (
    BoolAttr,
    FloatAttr,
    Float64Type,
    IntegerAttr,
    IntegerType,
    ModuleOp,
    StringAttr,
    TensorType,
    i64,
)
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass

from nirmlir.dense import dense_from_numpy, i64_array, ints_from_array, numpy_from_dense
from nirmlir.diagnostics import DiagnosticError, Location
from nirmlir.dialects import snn, speck
from nirmlir.passes.discretize import discretize_module, resolve_preset
from nirmlir.passes.levels import check_input_level

FLOORS = ("negative-threshold", "none")
SINABS_MAX_SPIKES = 2**31 - 1
"""Spikes per step of sinabs' MultiSpike, which has no bound; the largest the snn dialect stores."""


@dataclass
class Layer:
    """One core's worth of the snn graph, collected before placement."""

    name: str
    neuron: snn.LIFOp
    in_shape: tuple[int, int, int]
    weight: np.ndarray
    """float32 [f, c, k, k], with the neurons' input gain folded in."""
    bias: np.ndarray
    stride: tuple[int, int]
    padding: tuple[int, int]
    threshold: np.float32
    floor: np.float32
    return_to_zero: bool
    sources: tuple[int | None, ...]
    """Indices of the layers whose summed events feed this one; None is the graph input."""
    pooling: int = 1
    out_shape: tuple[int, int, int] = (0, 0, 0)
    core: int = -1
    monitored: bool = False
    integers: dict[str, object] = field(default_factory=dict)

    def neuron_shape(self) -> tuple[int, int, int]:
        out_channels, _, kernel, _ = self.weight.shape
        return (
            out_channels,
            (self.in_shape[1] + 2 * self.padding[0] - kernel) // self.stride[0] + 1,
            (self.in_shape[2] + 2 * self.padding[1] - kernel) // self.stride[1] + 1,
        )

    def memory(self) -> dict[str, int]:
        out_channels, in_channels, kernel, _ = self.weight.shape
        return speck.memory_use(in_channels, out_channels, kernel, self.neuron_shape()[1:])


# --------------------------------------------------------------------------------------
# sinabs' discretization
# --------------------------------------------------------------------------------------


def discretization_scale(values: np.ndarray, bits: int) -> np.float32:
    """Return the float32 factor that brings `values` into `bits`-bit signed integers (sinabs' rule).

    The positive bound 2^(bits-1) - 1 binds unless the negative values reach further than the
    positive ones by more than the ratio of the bounds. All-zero values give infinity.
    """
    low, high = speck.signed_range(bits)
    values = np.asarray(values, dtype=np.float32)
    smallest = np.float32(values.min())
    largest = np.float32(values.max())
    with np.errstate(divide="ignore"):
        if abs(smallest) <= abs(largest) * np.float32(abs(low / high)):
            return np.float32(abs(np.float32(high) / largest))
        return np.float32(abs(np.float32(low) / smallest))


def discretize(values: np.ndarray, scale: np.float32) -> np.ndarray:
    """Return round(values·scale) in float32 arithmetic, halves to even (torch.round), as int64."""
    return np.rint(np.asarray(values, dtype=np.float32) * scale).astype(np.int64)


def discretize_layer(layer: Layer) -> None:
    """Fill `layer.integers` with the register values of weights, bias and thresholds."""
    thresholds = np.array([layer.floor, layer.threshold], dtype=np.float32)
    scale = min(
        discretization_scale(layer.weight, speck.WEIGHT_BITS),
        discretization_scale(layer.bias, speck.WEIGHT_BITS),
        discretization_scale(thresholds, speck.STATE_BITS),
    )
    low, high = discretize(thresholds, scale)
    layer.integers = {
        "weight": discretize(layer.weight, scale),
        "bias": discretize(layer.bias, scale),
        "threshold_high": int(high),
        "threshold_low": int(low),
        "voltage_scale": float(1.0 / scale),
    }


# --------------------------------------------------------------------------------------
# Collecting layers from an snn graph
# --------------------------------------------------------------------------------------


def as_map(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """Return a value shape as (C, H, W): a vector of n is n channels of 1x1."""
    if len(shape) == 3:
        return tuple(shape)
    if len(shape) == 1:
        return (shape[0], 1, 1)
    raise ValueError(f"shape {list(shape)} is neither (C, H, W) nor a vector")


class LayerCollector:
    """Walk an snn graph in schedule order and group its ops into Speck layers."""

    def __init__(self, graph: snn.GraphOp, floor: str):
        self.graph = graph
        self.graph_name = graph.sym_name.data
        self.floor = floor
        self.layers: list[Layer] = []
        self.input: snn.InputOp | None = None
        self.outputs: list[tuple[snn.OutputOp, int]] = []
        self.output_shapes: list[tuple[int, int, int]] = []
        # Each snn value that the walk has seen -> (indices of the layers whose summed events it
        # carries, None for the input; the (C, H, W) map it carries; the pending synapse op, if any).
        self.values: dict[SSAValue, tuple[tuple[int | None, ...], tuple[int, int, int], Operation | None]] = {}

    def error(self, op: Operation, message: str) -> DiagnosticError:
        name = op.node_name.data if "node_name" in op.properties else op.name
        return DiagnosticError(
            f"lower-to-speck: node '{name}' ({op.name}): {message}",
            Location(node_path=(self.graph_name, name)),
            op=op,
        )

    def source(
        self, op: Operation, summed: bool = False
    ) -> tuple[tuple[int | None, ...], tuple[int, int, int], Operation | None]:
        """Return what the op reads; with `summed`, several operands carrying events are merged into one source list."""
        if len(op.operands) != 1 and not (summed and op.operands):
            raise self.error(
                op,
                f"has {len(op.operands)} inputs; Speck sums the events of several cores only where a conv2d, "
                "affine or flatten op reads them, so move the sum to the convolution",
            )
        for operand in op.operands:
            if operand not in self.values:
                raise self.error(op, "reads a value from a later op or a cycle; Speck runs feed-forward networks only")
        if len(op.operands) == 1:
            return self.values[op.operands[0]]
        return self.merge(op, [self.values[operand] for operand in op.operands])

    def merge(self, op: Operation, reads: list) -> tuple[tuple[int | None, ...], tuple[int, int, int], None]:
        """Return the source list of an op that sums the events of several layers or of the input."""
        sources: list[int | None] = []
        shape = reads[0][1]
        for number, (layers, read_shape, synapse) in enumerate(reads):
            if synapse is not None:
                raise self.error(
                    op,
                    f"sums the result of synapse op '{synapse.node_name.data}'; a core has one kernel and adds only "
                    "events, so give the sum's spikes to one conv2d or affine op",
                )
            if read_shape != shape:
                raise self.error(
                    op,
                    f"sums events of shape {list(shape)} (operand 0) and {list(read_shape)} (operand {number}); the "
                    "chip merges the events of a core's sources, so they must have one shape",
                )
            for layer in layers:
                if layer in sources:
                    raise self.error(
                        op,
                        f"reads the events of {self.describe(layer)} twice; a core receives each source's events "
                        "once, so double the weights instead",
                    )
                sources.append(layer)
        return tuple(sources), shape, None

    def describe(self, layer: int | None) -> str:
        return "the input" if layer is None else f"'{self.layers[layer].name}'"

    def collect(self) -> None:
        for op in self.graph.body.block.ops:
            handler = getattr(self, "visit_" + op.name.partition(".")[2], None)
            if handler is None:
                raise self.error(
                    op,
                    "has no Speck equivalent; a Speck network is input, then per core a conv2d or affine, "
                    "an IF neuron group and an optional sum pool, with flatten between them",
                )
            handler(op)
        if self.input is None:
            raise DiagnosticError(f"lower-to-speck: graph @{self.graph_name} has no input", Location(node_path=(self.graph_name,)))
        if not self.layers:
            raise DiagnosticError(
                f"lower-to-speck: graph @{self.graph_name} has no integrate-and-fire layer to place on a core",
                Location(node_path=(self.graph_name,)),
            )
        self.check_routing()

    def visit_input(self, op: snn.InputOp) -> None:
        if self.input is not None:
            raise self.error(op, "is a second input; Speck takes one input")
        self.input = op
        try:
            shape = as_map(snn.tensor_shape(op.output.type))
        except ValueError as error:
            raise self.error(op, str(error)) from None
        self.values[op.output] = ((None,), shape, None)

    def visit_flatten(self, op: snn.FlattenOp) -> None:
        layer, shape, synapse = self.source(op, summed=True)
        if synapse is not None:
            raise self.error(op, "flattens the result of a synapse; only spikes may be flattened before an affine op")
        # The map stays (C, H, W): the affine op that follows reads it as its full-map kernel.
        self.values[op.output] = (layer, shape, None)

    def visit_conv2d(self, op: snn.Conv2dOp) -> None:
        layer, shape, synapse = self.source(op, summed=True)
        if synapse is not None:
            raise self.error(op, "follows another synapse; each core has one convolution before its neurons")
        if ints_from_array(op.dilation) != (1, 1) or op.groups.value.data != 1:
            raise self.error(op, "has dilation or groups; Speck convolutions have neither")
        self.values[op.output] = (layer, shape, op)

    def visit_affine(self, op: snn.AffineOp) -> None:
        layer, shape, synapse = self.source(op, summed=True)
        if synapse is not None:
            raise self.error(op, "follows another synapse; each core has one synapse op before its neurons")
        weight = numpy_from_dense(op.weight)
        if weight.ndim != 2 or weight.shape[1] != int(np.prod(shape)):
            raise self.error(op, f"has weight shape {list(weight.shape)}, which does not read the {list(shape)} map")
        if shape[1] != shape[2]:
            raise self.error(
                op,
                f"reads a {shape[1]}x{shape[2]} map; as a full-map convolution it needs a square kernel, so the map "
                "must be square",
            )
        self.values[op.output] = (layer, shape, op)

    def visit_lif(self, op: snn.LIFOp) -> None:
        if len(op.operands) > 1:
            raise self.error(
                op,
                f"sums {len(op.operands)} inputs; a core has one kernel, so sum the sources' spikes where one "
                "conv2d or affine op reads them (NIR sums the edges into a node)",
            )
        sources, in_shape, synapse = self.source(op)
        if synapse is None:
            raise self.error(op, "has no conv2d or affine op before it; each core starts with a convolution")
        decay = op.coefficient("voltage_decay")
        if not (decay == 1.0).all() or (op.coefficient("leak") != 0.0).any():
            raise self.error(op, "leaks; Speck neurons integrate and fire without leak (voltage_decay 1, leak 0)")
        if op.spike_test.data != "ge" or op.spike_timing.data != "after_update":
            raise self.error(
                op,
                f"tests spikes with '{op.spike_test.data}' {op.spike_timing.data}; Speck fires when v >= threshold "
                "after the update (discretize with preset sinabs)",
            )
        if op.max_spikes_per_step.value.data != SINABS_MAX_SPIKES:
            raise self.error(
                op,
                f"allows {op.max_spikes_per_step.value.data} spikes per step; sinabs' model of Speck counts "
                f"floor(v/threshold) spikes (discretize with max-spikes-per-step={SINABS_MAX_SPIKES})",
            )
        threshold = op.coefficient("v_threshold")
        if threshold.min() != threshold.max():
            raise self.error(
                op,
                f"has thresholds from {threshold.min()} to {threshold.max()}; a Speck core has one threshold, so make "
                "them equal (or fold the differences into the weights of each output channel)",
            )
        if threshold.flat[0] <= 0:
            raise self.error(
                op,
                f"has threshold {threshold.flat[0]}; a Speck core fires at a positive threshold_high, so give the "
                "node a threshold above 0",
            )
        reset = op.reset.data
        if reset == "to_reset_value" and (op.coefficient("v_reset") != 0).any():
            raise self.error(op, "resets to a value other than 0; Speck resets to 0 or subtracts the threshold")
        if reset not in ("subtract", "to_reset_value"):
            raise self.error(op, f"has reset '{reset}'; Speck resets to 0 or subtracts the threshold")

        weight, bias, stride, padding = self.kernel(synapse, in_shape)
        neuron_shape = as_map(snn.tensor_shape(op.output.type))
        gain = op.coefficient("voltage_gain").reshape(neuron_shape)
        channel_gain = gain.reshape(neuron_shape[0], -1)
        if (channel_gain != channel_gain[:, :1]).any():
            raise self.error(op, "has input gains that differ within an output channel; a core shares its kernel over positions")
        if (channel_gain != 1.0).any():
            factor = channel_gain[:, 0].astype(np.float32)
            weight = weight * factor.reshape(-1, 1, 1, 1)
            bias = bias * factor
        value = np.float32(threshold.flat[0])
        floor = -value if self.floor == "negative-threshold" else np.float32(speck.signed_range(speck.STATE_BITS)[0])
        layer = Layer(
            name=op.node_name.data,
            neuron=op,
            in_shape=in_shape,
            weight=weight,
            bias=bias,
            stride=stride,
            padding=padding,
            threshold=value,
            floor=np.float32(floor),
            return_to_zero=reset == "to_reset_value",
            sources=sources,
        )
        if layer.neuron_shape() != neuron_shape:
            raise self.error(op, f"has shape {list(neuron_shape)} but its convolution gives {list(layer.neuron_shape())}")
        layer.out_shape = neuron_shape
        self.layers.append(layer)
        self.values[op.output] = ((len(self.layers) - 1,), neuron_shape, None)

    def kernel(self, synapse: Operation, in_shape: tuple[int, int, int]):
        """Return the float32 weight [f, c, k, k], bias, stride and padding of a synapse op."""
        weight = numpy_from_dense(synapse.weight).astype(np.float32)
        if isinstance(synapse, snn.AffineOp):
            weight = weight.reshape(weight.shape[0], *in_shape)
            stride, padding = (1, 1), (0, 0)
        else:
            stride = ints_from_array(synapse.stride)
            padding = ints_from_array(synapse.padding)
        if synapse.bias is not None:
            bias = numpy_from_dense(synapse.bias).astype(np.float32).reshape(-1)
        else:
            bias = np.zeros(weight.shape[0], dtype=np.float32)
        return weight, bias, tuple(stride), tuple(padding)

    def visit_sum_pool2d(self, op: snn.SumPool2dOp) -> None:
        sources, shape, synapse = self.source(op)
        if sources[0] is None or synapse is not None:
            raise self.error(op, "does not pool the spikes of a core; Speck pools only a core's output events")
        layer_index = sources[0]
        layer = self.layers[layer_index]
        kernel = ints_from_array(op.kernel_size)
        if (
            kernel[0] != kernel[1]
            or tuple(ints_from_array(op.stride)) != tuple(kernel)
            or any(ints_from_array(op.padding))
            or kernel[0] not in speck.POOLINGS
        ):
            raise self.error(
                op,
                f"pools {list(kernel)} with stride {list(ints_from_array(op.stride))} and padding "
                f"{list(ints_from_array(op.padding))}; Speck pools 1x1, 2x2 or 4x4 with stride equal to the kernel "
                "and no padding",
            )
        if shape != layer.neuron_shape():
            raise self.error(op, "pools a core's events a second time; merge the pools into one")
        if layer.pooling not in (1, kernel[0]):
            raise self.error(
                op,
                f"pools the events of '{layer.name}' by {kernel[0]} but another destination pools them by "
                f"{layer.pooling}; the speck dialect models one pooling per core, so pool every branch the same",
            )
        layer.pooling = kernel[0]
        layer.out_shape = (shape[0], shape[1] // kernel[0], shape[2] // kernel[0])
        self.values[op.output] = (sources, layer.out_shape, None)

    def visit_output(self, op: snn.OutputOp) -> None:
        sources, shape, synapse = self.source(op)
        if sources[0] is None or synapse is not None:
            raise self.error(op, "does not read the spikes of a core; Speck outputs are the events of a monitored core")
        layer_index = sources[0]
        self.layers[layer_index].monitored = True
        self.outputs.append((op, layer_index))
        self.output_shapes.append(shape)

    def check_routing(self) -> None:
        """Check, once every pool is known, that each reader gets a core's pooled events and that fan-out fits."""
        for (op, layer_index), shape in zip(self.outputs, self.output_shapes):
            if shape != self.layers[layer_index].out_shape:
                raise self.error(op, "reads the events of a core before its pooling; Speck monitors only the pooled events")
        for reader in self.layers:
            for index in reader.sources:
                if index is not None and self.layers[index].out_shape != reader.in_shape:
                    source = self.layers[index]
                    raise self.error(
                        reader.neuron,
                        f"reads the events of '{source.name}' without the {source.pooling}x{source.pooling} pooling "
                        "that another destination applies; a core pools the same for all its destinations, so pool "
                        "every branch the same",
                    )
        for index, layer in enumerate(self.layers):
            readers = [other.name for other in self.layers if index in other.sources]
            if len(readers) > speck.MAX_DESTINATIONS:
                raise self.error(
                    layer.neuron,
                    f"sends its events to {len(readers)} cores ({', '.join(repr(name) for name in readers)}); a Speck "
                    f"core has at most {speck.MAX_DESTINATIONS} destinations, so copy the layer and split the readers "
                    "between the copies",
                )


# --------------------------------------------------------------------------------------
# Placement
# --------------------------------------------------------------------------------------


def fitting_cores(layer: Layer) -> list[int]:
    need = layer.memory()
    return [
        core
        for core in range(speck.CORE_COUNT)
        if all(need[kind] <= speck.core_capacity(core)[kind] for kind in need)
    ]


def describe_shortfall(layer: Layer) -> str:
    """Say which memory of the largest fitting core is short for a layer, and by how much."""
    need = layer.memory()
    parts = []
    for kind in ("kernel", "neuron", "bias"):
        largest = max(speck.core_capacity(core)[kind] for core in range(speck.CORE_COUNT))
        if need[kind] > largest:
            parts.append(f"{need[kind]} {kind} memory entries, {need[kind] - largest} more than the largest core's {largest}")
    if not parts:
        kernel_cores = [c for c in range(speck.CORE_COUNT) if need["kernel"] <= speck.KERNEL_MEMORY[c]]
        neuron_cores = [c for c in range(speck.CORE_COUNT) if need["neuron"] <= speck.NEURON_MEMORY[c]]
        parts.append(
            f"{need['kernel']} kernel entries (cores {kernel_cores} have them) and {need['neuron']} neuron entries "
            f"(cores {neuron_cores} have them), and no core has both"
        )
    return "; ".join(parts)


def place_layers(layers: list[Layer], error) -> None:
    """Assign each layer a core whose memories fit it, by bipartite matching.

    Among the valid assignments the pass takes the lexicographically smallest: the first layer
    goes on the lowest core that still leaves a valid assignment for the rest, and so on. So the
    result does not depend on the matching algorithm. For the NIR paper's CNN it is the
    assignment that sinabs finds.
    """
    import networkx as nx
    from networkx.algorithms import bipartite

    if len(layers) > speck.CORE_COUNT:
        raise error(
            layers[speck.CORE_COUNT].neuron,
            f"is layer {speck.CORE_COUNT + 1} of {len(layers)}; Speck has {speck.CORE_COUNT} cores, so merge or drop "
            f"{len(layers) - speck.CORE_COUNT} layers",
        )
    candidates = [fitting_cores(layer) for layer in layers]
    for layer, cores in zip(layers, candidates):
        if not cores:
            raise error(layer.neuron, f"does not fit any core: the layer needs {describe_shortfall(layer)}")

    def complete(fixed: dict[int, int]) -> bool:
        graph = nx.Graph()
        free = [index for index in range(len(layers)) if index not in fixed]
        taken = set(fixed.values())
        graph.add_nodes_from((("layer", index) for index in free), bipartite=0)
        graph.add_nodes_from((("core", core) for core in range(speck.CORE_COUNT) if core not in taken), bipartite=1)
        graph.add_edges_from(
            (("layer", index), ("core", core)) for index in free for core in candidates[index] if core not in taken
        )
        top = [("layer", index) for index in free]
        matching = bipartite.hopcroft_karp_matching(graph, top_nodes=top)
        return all(node in matching for node in top)

    if not complete({}):
        described = ", ".join(f"'{layer.name}' fits cores {cores}" for layer, cores in zip(layers, candidates))
        raise error(
            layers[0].neuron,
            f"starts a network whose layers cannot all get a core of their own ({described}); shrink a layer so "
            "that it fits more cores",
        )
    fixed: dict[int, int] = {}
    for index, cores in enumerate(candidates):
        for core in cores:
            if core in fixed.values():
                continue
            fixed[index] = core
            if complete(fixed):
                break
            del fixed[index]
    for index, layer in enumerate(layers):
        layer.core = fixed[index]


# --------------------------------------------------------------------------------------
# Building the speck graph
# --------------------------------------------------------------------------------------


def count_type(shape: tuple[int, int, int]) -> TensorType:
    return TensorType(IntegerType(speck.COUNT_BITS), list(shape))


def int_attr(value: int) -> IntegerAttr:
    return IntegerAttr(value, i64)


def build_graph(collector: LayerCollector) -> speck.GraphOp:
    layers = collector.layers
    block = Block()
    input_op = collector.input
    input_shape = as_map(snn.tensor_shape(input_op.output.type))
    speck_input = speck.InputOp.create(
        result_types=[count_type(input_shape)],
        properties={"node_name": input_op.node_name, "source": StringAttr("external")},
    )
    speck_input.results[0].name_hint = input_op.output.name_hint
    block.add_op(speck_input)
    results: list[SSAValue] = []
    for index, layer in enumerate(layers):
        operands = [speck_input.results[0] if source is None else results[source] for source in layer.sources]
        readers = [other.core for other in layers if index in other.sources]
        integers = layer.integers

        core = speck.CoreOp.create(
            operands=operands,
            result_types=[count_type(layer.out_shape)],
            properties={
                "node_name": StringAttr(layer.name),
                "core": int_attr(layer.core),
                "weight": dense_from_numpy(integers["weight"].astype(np.int8)),
                "bias": dense_from_numpy(integers["bias"].astype(np.int8)),
                "stride": i64_array(layer.stride),
                "padding": i64_array(layer.padding),
                "threshold_high": int_attr(integers["threshold_high"]),
                "threshold_low": int_attr(integers["threshold_low"]),
                "return_to_zero": BoolAttr.from_bool(layer.return_to_zero),
                "leak_enable": BoolAttr.from_bool(bool(integers["bias"].any())),
                "monitor_enable": BoolAttr.from_bool(layer.monitored),
                "destinations": i64_array(readers),
                "pooling": i64_array([layer.pooling] * len(readers)),
                "feature_shift": i64_array([0] * len(readers)),
                "voltage_scale": FloatAttr(integers["voltage_scale"], Float64Type()),
            },
        )
        core.results[0].name_hint = layer.neuron.output.name_hint
        block.add_op(core)
        results.append(core.results[0])

    for output, layer_index in collector.outputs:
        block.add_op(speck.OutputOp.create(operands=[results[layer_index]], properties={"node_name": output.node_name}))
    graph = collector.graph
    return speck.GraphOp.create(
        properties={"sym_name": graph.sym_name, "dt": graph.dt},
        regions=[Region(block)],
    )


def lower_to_speck(module: ModuleOp, membrane_floor: str = "negative-threshold") -> None:
    """Replace every snn.graph (or nir.graph, after discretizing it as sinabs does) by a speck.graph."""
    if membrane_floor not in FLOORS:
        raise DiagnosticError(
            f"lower-to-speck: invalid membrane-floor '{membrane_floor}'; expected one of {', '.join(FLOORS)}"
        )
    if any(op.name == "nir.graph" for op in module.ops):
        preset = resolve_preset("sinabs", LowerToSpeckPass.name, max_spikes_per_step=SINABS_MAX_SPIKES, if_gain="r")
        discretize_module(module, preset, 1.0)
    check_input_level(module, LowerToSpeckPass.name, "snn", "speck")
    for graph in [op for op in module.ops if isinstance(op, snn.GraphOp)]:
        collector = LayerCollector(graph, membrane_floor)
        collector.collect()
        place_layers(collector.layers, collector.error)
        for layer in collector.layers:
            discretize_layer(layer)
            if layer.integers["threshold_high"] <= 0:
                raise collector.error(
                    layer.neuron,
                    f"has threshold {layer.threshold}, which rounds to {layer.integers['threshold_high']} at the layer's "
                    f"scale of {1.0 / layer.integers['voltage_scale']:.6g} units per volt; the 16-bit floor "
                    f"{layer.floor} limits the scale, so use "
                    f"{'membrane-floor=negative-threshold or ' if membrane_floor == 'none' else ''}larger thresholds",
                )
        speck_graph = build_graph(collector)
        module.body.block.insert_op_before(speck_graph, graph)
        module.body.block.erase_op(graph)


@dataclass(frozen=True)
class LowerToSpeckPass(ModulePass):
    """Lower nir or snn graphs to speck graphs: one core per integrate-and-fire layer."""

    name = "lower-to-speck"

    membrane_floor: str = "negative-threshold"
    """Lower bound of the membrane (threshold_low): negative-threshold (-threshold, as sinabs imports NIR IF
    nodes) or none (-32768 before scaling, sinabs' value when the layer has no floor)."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        lower_to_speck(op, self.membrane_floor)

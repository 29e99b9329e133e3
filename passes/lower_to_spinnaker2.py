"""`lower-to-spinnaker2`: lower snn graphs to py-spinnaker2 populations and projections.

The pass lowers from the snn level, where the parameters are float: SpiNNaker2 computes its
neurons in float32 on ARM cores, so only the weights become integers (int8), and there is no
quantize step. A nir module is discretized first (nir-inline-subgraphs, then discretize with
preset spinnaker2 and this pass's integrator and reset), so the pass also runs from nir.

Each spiking snn neuron group becomes a population, and each path of memoryless linear ops
(affine, scale, flatten, pools, convolutions) and delays from a spike source (an input or a
neuron group) into it becomes one projection. The path's linear map is composed into a dense
(post, pre) matrix, except that a conv2d, optionally after a sum pool whose window equals its
stride, becomes a conv2d_projection into a lif_conv2d population. The path's delays add up to
the projection's delay.

Scaling: each population has one weight scale s (`weight-scale`, or 127 over its largest
absolute weight). Chip weights are round(s·W). The chip voltage is the snn voltage times
v_scale = s / g per neuron, where g is the snn input gain per step (voltage_gain for lif,
current_gain·voltage_gain for cuba_lif), so the chip neuron adds the integer weights directly:
threshold = v_threshold·v_scale, v_reset = v_reset·v_scale, i_offset = leak·v_scale,
alpha_decay = voltage_decay, exc_decay = inh_decay = current_decay. Rounding the weights is the
only approximation.

Biases: a constant input that reaches a lif neuron without delay adds s times itself to
i_offset. Any other constant input, into a current or behind a delay, comes from a one-neuron
population named "bias" that spikes at every step. Its projection has the bias times s as weights
and the path's delay, so the bias enters the current or arrives late as it does in snn.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import FloatAttr, IntegerAttr, ModuleOp, StringAttr, TensorType, f32, f64, i64
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from nirmlir.dense import dense_from_numpy, i64_array, ints_from_array, numpy_from_dense
from nirmlir.diagnostics import DiagnosticError, Location
from nirmlir.dialects import snn, spinnaker2
from nirmlir.passes.discretize import discretize_module, parse_dt, resolve_preset
from nirmlir.passes.inline_subgraphs import inline_subgraphs
from nirmlir.passes.levels import check_input_level
from nirmlir.simulator import numerics

INTEGRATORS = ("forward_euler", "exp_euler")
"""The integrators of py-spinnaker2's NIR converter: Forward-Euler and Exponential-Euler."""
RESETS = {"to_reset_value": "reset_to_v_reset", "subtract": "reset_by_subtraction"}
"""snn reset -> py-spinnaker2 reset."""
DEFAULT_DT = 1e-4
"""Step length in seconds for a nir graph without a dt option or metadata (the NIR paper's dt)."""
SPIKE_SOURCES = (snn.InputOp, snn.LIFOp, snn.CubaLIFOp)
LINEAR_OPS = (snn.AffineOp, snn.ScaleOp, snn.FlattenOp, snn.SumPool2dOp, snn.AvgPool2dOp, snn.Conv1dOp, snn.Conv2dOp)
DELAY_OPS = (snn.StepDelayOp, snn.DelayOp)


@dataclass
class Path:
    """A chain of linear ops from a spike source into a neuron, in source-to-neuron order."""

    source: Operation
    chain: list[Operation]
    delay: int


@dataclass
class Incoming:
    """The projections of one population before scaling: float weights per (source, delay)."""

    dense: dict[tuple[Operation, int], np.ndarray] = field(default_factory=dict)
    """(source, delay) -> float (post, pre) matrix."""
    conv: list[tuple[Operation, snn.Conv2dOp, snn.SumPool2dOp | None]] = field(default_factory=list)
    """(source, conv, pool) of each conv2d projection."""
    offset: np.ndarray | None = None
    """The constant input (biases) that reaches the neuron in the step it enters, flattened; lif adds it to i_offset."""
    bias: dict[int, np.ndarray] = field(default_factory=dict)
    """delay -> constant input (post, 1) that a bias population feeds in, as a projection."""

    def max_weight(self) -> float:
        values = [_largest_magnitude(m) for m in self.dense.values()]
        values += [_largest_magnitude(m) for m in self.bias.values()]
        values += [_largest_magnitude(numpy_from_dense(conv.weight)) for _, conv, _ in self.conv]
        return max(values, default=0.0)


# Weights are converted to float64 a block of rows of about this many elements at a time, so
# that a large projection's temporaries stay about a megabyte each.
_BLOCK_ELEMENTS = 1 << 17


def _largest_magnitude(values: np.ndarray) -> float:
    """Return max |x| as a Python float, without an |x| copy of a large array (and without int8's |-128| overflow)."""
    if values.size == 0:
        return 0.0
    return max(-float(values.min()), float(values.max()), 0.0)


def size_of(value: SSAValue) -> int:
    return int(np.prod(snn.tensor_shape(value.type), dtype=np.int64))


class GraphLowering:
    """Lower one snn.graph to a spinnaker2.graph."""

    def __init__(self, graph: snn.GraphOp, weight_scale: float | None, atoms_per_core: int, sys_tick: float):
        self.graph = graph
        self.graph_name = graph.sym_name.data
        self.weight_scale = weight_scale
        self.atoms_per_core = atoms_per_core
        self.sys_tick = sys_tick

    def error(self, op: Operation, message: str) -> DiagnosticError:
        name = op.node_name.data
        return DiagnosticError(
            f"node '{name}' ('{op.name}'): {message}", Location(node_path=(self.graph_name, name)), op=op
        )

    # -- checks ------------------------------------------------------------------------

    def check_neuron(self, op: Operation) -> None:
        """Raise DiagnosticError unless the snn neuron group follows a rule of SpiNNaker2's neuron models."""
        if op.integrator.data == "event_exact":
            raise self.error(op, "SpiNNaker2 updates once per step; the event-exact integrator cannot run on it, "
                             "so discretize with integrator=forward_euler or exp_euler")
        if op.spike_test.data != "gt":
            raise self.error(op, "SpiNNaker2 spikes when v > threshold; discretize with spike-test=gt")
        if op.spike_timing.data != "after_update":
            raise self.error(op, "SpiNNaker2 tests the updated voltage; discretize with spike-timing=after_update")
        if op.max_spikes_per_step.value.data != 1:
            raise self.error(op, "SpiNNaker2 neurons spike at most once per step; discretize with max-spikes-per-step=1")
        if op.reset.data not in RESETS:
            raise self.error(
                op, f"SpiNNaker2 has no reset '{op.reset.data}'; discretize with reset=to_reset_value or reset=subtract"
            )
        if isinstance(op, snn.CubaLIFOp) and op.current_timing.data != "same_step":
            raise self.error(
                op, "the voltage of lif_curr_exp reads this step's current; discretize with current-timing=same_step"
            )

    # -- paths -------------------------------------------------------------------------

    def paths(self, value: SSAValue, neuron: Operation) -> list[Path]:
        """Return every path of linear ops and delays from a spike source to `value`."""
        found: list[Path] = []
        # (value, ops after it on the way to the neuron, delay so far, ops already on this path)
        pending = [(value, [], 0, frozenset())]
        while pending:
            current, chain, delay, seen = pending.pop()
            owner = current.owner
            if isinstance(owner, SPIKE_SOURCES):
                found.append(Path(owner, chain, delay))
                continue
            if owner in seen:
                raise self.error(neuron, f"its input passes through a cycle without a neuron at node '{owner.node_name.data}'")
            if isinstance(owner, DELAY_OPS):
                steps = self.delay_steps(owner)
                for operand in owner.operands:
                    pending.append((operand, chain, delay + steps, seen | {owner}))
            elif isinstance(owner, LINEAR_OPS):
                for operand in owner.operands:
                    pending.append((operand, [owner, *chain], delay, seen | {owner}))
            else:
                raise self.error(
                    owner,
                    f"it feeds neuron '{neuron.node_name.data}', but SpiNNaker2 projections carry only spikes through "
                    "affine, scale, flatten, pool and convolution maps and delays",
                )
        return found

    def delay_steps(self, op: Operation) -> int:
        if isinstance(op, snn.StepDelayOp):
            return op.steps.value.data
        steps = numpy_from_dense(op.steps)
        if steps.size == 0 or not (steps == steps.reshape(-1)[0]).all():
            raise self.error(op, "a SpiNNaker2 projection has one delay for all its connections; give the delay one value")
        return int(steps.reshape(-1)[0])

    def constant_input(self, value: SSAValue) -> dict[int, np.ndarray]:
        """Return delay -> the input `value` carries while every spike source is silent (the biases on its paths).

        A bias that passes a delay of k steps reaches the value only from step k on, so it is keyed by k.
        """
        owner = value.owner
        if isinstance(owner, SPIKE_SOURCES):
            return {}
        shifted: dict[int, np.ndarray] = {}
        steps = self.delay_steps(owner) if isinstance(owner, DELAY_OPS) else 0
        for operand in owner.operands:
            for delay, constant in self.constant_input(operand).items():
                key = delay + steps
                shifted[key] = shifted[key] + constant if key in shifted else constant
        if isinstance(owner, DELAY_OPS):
            return shifted
        result = {delay: apply_linear(owner, constant[None])[0] for delay, constant in shifted.items()}
        bias = getattr(owner, "bias", None)
        if bias is not None and np.any(snn.float_array(bias)):
            shape = snn.tensor_shape(owner.results[0].type)
            lifted = np.broadcast_to(lift_bias(owner, snn.float_array(bias), shape), shape)
            result[0] = result[0] + lifted if 0 in result else np.array(lifted, dtype=np.float64)
        return result

    def incoming(self, neuron: Operation) -> Incoming:
        """Group the paths into `neuron` by source and delay, and compose their float weights."""
        result = Incoming()
        post = size_of(neuron.results[0])
        constants: dict[int, np.ndarray] = {}
        for operand in neuron.operands:
            for delay, constant in self.constant_input(operand).items():
                constants[delay] = constants[delay] + constant if delay in constants else constant
            for path in self.paths(operand, neuron):
                conv = conv_pattern(path) if isinstance(neuron, snn.LIFOp) else None
                if conv is not None:
                    result.conv.append((path.source, *conv))
                    continue
                self.check_delay(neuron, f"the path from '{path.source.node_name.data}'", path.delay)
                matrix = compose(path, post)
                key = (path.source, path.delay)
                result.dense[key] = np.add(result.dense[key], matrix, dtype=np.float64) if key in result.dense else matrix
        result.offset = np.zeros(post)
        for delay, constant in constants.items():
            if delay == 0 and isinstance(neuron, snn.LIFOp):
                result.offset = constant.reshape(-1)
            elif np.any(constant):
                self.check_delay(neuron, "a bias", delay)
                result.bias[delay] = constant.reshape(post, 1)
        return result

    def check_delay(self, neuron: Operation, what: str, delay: int) -> None:
        if delay > spinnaker2.MAX_DELAY:
            raise self.error(
                neuron,
                f"{what} has a delay of {delay} steps, {delay - spinnaker2.MAX_DELAY} above SpiNNaker2's maximum "
                f"{spinnaker2.MAX_DELAY}; shorten the delay or use a longer dt",
            )

    # -- parameters --------------------------------------------------------------------

    def scale_for(self, neuron: Operation, incoming: Incoming) -> float:
        if self.weight_scale is not None:
            return self.weight_scale
        largest = incoming.max_weight()
        return spinnaker2.WEIGHT_RANGE[1] / largest if largest > 0 else 1.0

    def integer_weights(self, neuron: Operation, weights: np.ndarray, scale: float, source: Operation) -> np.ndarray:
        """Return rint(weights·scale) as int8, converting a block of rows to float64 at a time."""
        low, high = spinnaker2.WEIGHT_RANGE
        rows = weights.reshape(weights.shape[0], -1) if weights.ndim else weights.reshape(1, 1)
        integers = np.empty(rows.shape, dtype=np.int8)
        smallest = greatest = largest = 0.0
        step = max(1, _BLOCK_ELEMENTS // max(rows.shape[1], 1))
        for start in range(0, rows.shape[0], step):
            block = rows[start : start + step].astype(np.float64)
            scaled = np.rint(block * scale)
            if scaled.size:
                smallest, greatest = min(smallest, float(scaled.min())), max(greatest, float(scaled.max()))
                largest = max(largest, float(np.abs(block).max()))
            # Values beyond the int8 range fail the range check below before the integers are used.
            integers[start : start + step] = np.clip(scaled, low, high)
        if greatest > high or smallest < low:
            raise self.error(
                neuron,
                f"weight-scale {scale:g} maps the largest weight {largest:g} from '{source.node_name.data}' to "
                f"{greatest if greatest > high else smallest:g}, outside SpiNNaker2's int8 range "
                f"[{low}, {high}]; use weight-scale=auto or at most {high / largest:g}",
            )
        return integers.reshape(weights.shape)

    def population_properties(self, neuron: Operation, incoming: Incoming, scale: float) -> dict:
        """Return the float32 neuron parameters and v_scale of the population of an snn neuron group."""
        size = size_of(neuron.results[0])
        flat = {name: neuron.coefficient(name).reshape(-1) for name in neuron.COEFFICIENTS}
        if isinstance(neuron, snn.CubaLIFOp):
            gain = flat["current_gain"] * flat["voltage_gain"]
        else:
            gain = flat["voltage_gain"]
        if (gain <= 0).any():
            raise self.error(
                neuron,
                f"its input gain per step is {gain.min():g} for some neurons; SpiNNaker2 adds integer weights "
                "directly, which needs a positive gain",
            )
        v_scale = scale / gain
        properties = {
            "threshold": flat["v_threshold"] * v_scale,
            "alpha_decay": flat["voltage_decay"],
            "i_offset": flat["leak"] * v_scale + incoming.offset * scale,
            "v_reset": flat["v_reset"] * v_scale,
        }
        if isinstance(neuron, snn.CubaLIFOp):
            properties["exc_decay"] = flat["current_decay"]
            properties["inh_decay"] = flat["current_decay"]
        attributes = {key: dense_from_numpy(np.asarray(value, dtype=np.float32).reshape(size)) for key, value in properties.items()}
        attributes["v_scale"] = dense_from_numpy(np.asarray(v_scale, dtype=np.float64).reshape(size))
        attributes["reset"] = StringAttr(RESETS[neuron.reset.data])
        attributes["atoms_per_core"] = IntegerAttr(self.atoms_per_core, i64)
        return attributes

    # -- building ----------------------------------------------------------------------

    def lower(self) -> spinnaker2.GraphOp:
        ops = list(self.graph.body.block.ops)
        neurons = [op for op in ops if isinstance(op, snn.LIFOp | snn.CubaLIFOp)]
        for op in ops:
            if isinstance(op, snn.NeuronOp) and op not in neurons:
                raise self.error(op, "SpiNNaker2 populations are spiking lif or lif_curr_exp neurons; this node "
                                 "does not spike, so it has no SpiNNaker2 form")
        for neuron in neurons:
            self.check_neuron(neuron)

        incomings = {neuron: self.incoming(neuron) for neuron in neurons}
        values: dict[Operation, SSAValue] = {}
        new_ops: dict[Operation, Operation] = {}
        outgoing: dict[Operation, list[Operation]] = {}
        scales: dict[Operation, float] = {}
        for op in ops:
            if isinstance(op, snn.InputOp):
                new_ops[op] = spinnaker2.InputOp.create(
                    result_types=[population_type(size_of(op.results[0]))],
                    properties={"node_name": op.node_name, "atoms_per_core": IntegerAttr(self.atoms_per_core, i64)},
                )
            elif op in incomings:
                incoming = incomings[op]
                scales[op] = self.scale_for(op, incoming)
                properties = {"node_name": op.node_name, **self.population_properties(op, incoming, scales[op])}
                op_class = spinnaker2.LIFConv2dOp if incoming.conv else self.neuron_op(op)
                new_ops[op] = op_class.create(result_types=[population_type(size_of(op.results[0]))], properties=properties)
            else:
                continue
            values[op] = new_ops[op].results[0]
            values[op].name_hint = op.results[0].name_hint
            outgoing[op] = []

        names: set[str] = {op.node_name.data for op in ops}
        bias_population = None
        if any(incoming.bias for incoming in incomings.values()):
            bias_population = self.bias_population(unique_name("bias", names))
            bias_population.results[0].name_hint = bias_population.node_name.data
            outgoing[bias_population] = []
        for neuron in neurons:
            new_neuron = new_ops[neuron]
            incoming = incomings[neuron]
            scale = scales[neuron]
            projections = []
            for (source, delay), weights in incoming.dense.items():
                name = unique_name(f"{source.node_name.data}->{neuron.node_name.data}", names)
                weight = self.integer_weights(neuron, weights, scale, source)
                projection = spinnaker2.ProjectionOp.create(
                    operands=[values[source]],
                    result_types=[new_neuron.results[0].type],
                    properties={
                        "node_name": StringAttr(name),
                        "weight": dense_from_numpy(weight),
                        "delay": dense_from_numpy(np.full(weight.shape, delay, dtype=np.int8)),
                    },
                )
                projections.append(projection)
                outgoing[source].append(projection)
            for delay, constant in incoming.bias.items():
                weight = self.integer_weights(neuron, constant, scale, bias_population)
                projection = spinnaker2.ProjectionOp.create(
                    operands=[bias_population.results[0]],
                    result_types=[new_neuron.results[0].type],
                    properties={
                        "node_name": StringAttr(unique_name(f"{bias_population.node_name.data}->{neuron.node_name.data}", names)),
                        "weight": dense_from_numpy(weight),
                        "delay": dense_from_numpy(np.full(weight.shape, delay, dtype=np.int8)),
                    },
                )
                projections.append(projection)
                outgoing[bias_population].append(projection)
            for source, conv, pool in incoming.conv:
                name = unique_name(f"{source.node_name.data}->{neuron.node_name.data}", names)
                projection = self.conv_projection(neuron, source, conv, pool, scale, values[source], new_neuron, name)
                projections.append(projection)
                outgoing[source].append(projection)
            new_neuron.operands = [projection.results[0] for projection in projections]

        block = Block()
        if bias_population is not None:
            block.add_op(bias_population)
            block.add_ops(outgoing[bias_population])
        for op in ops:
            if op in new_ops:
                block.add_op(new_ops[op])
                block.add_ops(outgoing[op])
            elif isinstance(op, snn.OutputOp):
                block.add_op(self.output_op(op, values))
        return spinnaker2.GraphOp.create(
            properties={
                "sym_name": self.graph.sym_name,
                "dt": self.graph.dt,
                "sys_tick": FloatAttr(self.sys_tick, f64),
            },
            regions=[Region(block)],
        )

    def bias_population(self, name: str) -> Operation:
        """Return a one-neuron lif population that spikes at every step from step 0, the source of biases.

        Its voltage is 0·v + 1 > 0.5 at every step. A bias reaches a neuron as this population's
        spikes times an integer weight, so it passes delays and current synapses as the snn bias does.
        """
        one = np.ones(1, dtype=np.float32)
        return spinnaker2.LIFOp.create(
            result_types=[population_type(1)],
            properties={
                "node_name": StringAttr(name),
                "threshold": dense_from_numpy(one / 2),
                "alpha_decay": dense_from_numpy(one * 0),
                "i_offset": dense_from_numpy(one),
                "v_reset": dense_from_numpy(one * 0),
                "reset": StringAttr("reset_to_v_reset"),
                "v_scale": dense_from_numpy(np.ones(1)),
                "atoms_per_core": IntegerAttr(1, i64),
            },
        )

    @staticmethod
    def neuron_op(neuron: Operation) -> type[spinnaker2.NeuronPopulationOp]:
        return spinnaker2.LIFCurrExpOp if isinstance(neuron, snn.CubaLIFOp) else spinnaker2.LIFOp

    def conv_projection(self, neuron, source, conv, pool, scale, pre, post, name) -> Operation:
        in_shape = snn.tensor_shape((pool or conv).operands[0].type)
        kernel = numpy_from_dense(conv.weight)
        weight = self.integer_weights(neuron, kernel, scale, source).transpose(1, 0, 2, 3)
        padding = ints_from_array(conv.padding)
        pool_size = ints_from_array(pool.kernel_size) if pool is not None else (1, 1)
        return spinnaker2.Conv2dProjectionOp.create(
            operands=[pre],
            result_types=[post.results[0].type],
            properties={
                "node_name": StringAttr(name),
                "weight": dense_from_numpy(np.ascontiguousarray(weight)),
                "in_shape": i64_array(in_shape),
                "stride": conv.stride,
                "padding": i64_array((padding[0], padding[0], padding[1], padding[1])),
                "pool": i64_array(pool_size),
            },
        )

    def output_op(self, op: snn.OutputOp, values: dict[Operation, SSAValue]) -> Operation:
        operands = []
        for operand in op.operands:
            owner = operand.owner
            while isinstance(owner, snn.FlattenOp) and len(owner.operands) == 1:
                owner = owner.operands[0].owner
            if owner not in values:
                raise self.error(
                    op, f"it reads node '{owner.node_name.data}' ('{owner.name}'); SpiNNaker2 records only the "
                    "spikes of inputs and neuron populations"
                )
            operands.append(values[owner])
        return spinnaker2.OutputOp.create(operands=operands, properties={"node_name": op.node_name})


def population_type(size: int) -> TensorType:
    return TensorType(f32, [size])


def unique_name(name: str, names: set[str]) -> str:
    candidate, index = name, 1
    while candidate in names:
        candidate = f"{name}_{index}"
        index += 1
    names.add(candidate)
    return candidate


def lift_bias(op: Operation, bias: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Return a bias broadcast to the output `shape`: per channel for convolutions, per output otherwise."""
    if isinstance(op, snn.Conv1dOp | snn.Conv2dOp):
        return bias.reshape((-1,) + (1,) * (len(shape) - 1))
    return bias


def apply_linear(op: Operation, x: np.ndarray) -> np.ndarray:
    """Apply the linear part (no bias) of a memoryless snn op to a batch x (B, *input shape)."""
    if isinstance(op, snn.AffineOp):
        return numerics.affine(x, snn.float_array(op.weight))
    if isinstance(op, snn.ScaleOp):
        return x * snn.float_array(op.scale)
    if isinstance(op, snn.FlattenOp):
        return x.reshape((x.shape[0], *snn.tensor_shape(op.results[0].type)))
    if isinstance(op, snn.SumPool2dOp | snn.AvgPool2dOp):
        kernel = ints_from_array(op.kernel_size)
        y = numerics.sum_pool(x, kernel, ints_from_array(op.stride), ints_from_array(op.padding))
        return y / math.prod(kernel) if isinstance(op, snn.AvgPool2dOp) else y
    assert isinstance(op, snn.Conv1dOp | snn.Conv2dOp)
    return numerics.convolution(
        x,
        snn.float_array(op.weight),
        ints_from_array(op.stride),
        ints_from_array(op.padding),
        ints_from_array(op.dilation),
        op.groups.value.data,
    )


def compose(path: Path, post: int) -> np.ndarray:
    """Return the (post, pre) matrix of a path's linear maps, found by mapping every unit spike of the source.

    One affine op with scale and flatten ops around it scales the rows or columns of its weight,
    and a lone affine op is its own (post, pre) weight in its stored dtype. Neither builds the
    identity matrix of the source's size, which costs pre² memory and pre²·post operations.
    Chains with more affine ops keep the unit-spike method and its order of summation.
    """
    source_shape = snn.tensor_shape(path.source.results[0].type)
    pre = math.prod(source_shape)
    affine_count = sum(isinstance(op, snn.AffineOp) for op in path.chain)
    if affine_count == 1 and all(isinstance(op, snn.AffineOp | snn.ScaleOp | snn.FlattenOp) for op in path.chain):
        matrix = _compose_matrices(path.chain)
        if matrix is not None and matrix.shape == (post, pre):
            return matrix
    x = np.eye(pre).reshape((pre, *source_shape))
    for op in path.chain:
        x = apply_linear(op, x)
    return x.reshape(pre, post).T.copy()


def _compose_matrices(chain: list[Operation]) -> np.ndarray | None:
    """Return the (post, pre) matrix of a chain of one affine op and scale and flatten ops around it.

    Flatten keeps the C-order index of every element, so it is the identity on flat indices.
    An affine op whose weight has more than two axes returns None, and the caller falls back to
    mapping unit spikes. Each element is one product, as in the unit-spike method.
    """
    matrix: np.ndarray | None = None
    pending_scale: np.ndarray | None = None
    for op in chain:
        if isinstance(op, snn.FlattenOp):
            continue
        if isinstance(op, snn.ScaleOp):
            factor = snn.float_array(op.scale).reshape(-1)
            if matrix is None:
                pending_scale = factor if pending_scale is None else pending_scale * factor
            else:
                matrix = matrix * factor[:, None]
            continue
        weight = numpy_from_dense(op.weight)
        if weight.ndim != 2:
            return None
        if matrix is None:
            matrix = weight if pending_scale is None else weight * pending_scale[None, :]
        else:
            return None
    return matrix


def conv_pattern(path: Path) -> tuple[snn.Conv2dOp, snn.SumPool2dOp | None] | None:
    """Return (conv, pool) when the path is a Conv2DProjection: [sum_pool2d,] conv2d without delay.

    The conv must have groups 1 and dilation 1, and the pool a window equal to its stride and no padding.
    """
    chain = path.chain
    if path.delay or not chain or not isinstance(chain[-1], snn.Conv2dOp) or len(chain) > 2:
        return None
    conv = chain[-1]
    if conv.groups.value.data != 1 or any(d != 1 for d in ints_from_array(conv.dilation)):
        return None
    pool = chain[0] if len(chain) == 2 else None
    if pool is not None:
        if not isinstance(pool, snn.SumPool2dOp):
            return None
        if ints_from_array(pool.kernel_size) != ints_from_array(pool.stride) or any(ints_from_array(pool.padding)):
            return None
    return conv, pool


def parse_weight_scale(value: float | int | str) -> float | None:
    """Return the weight scale option as a number, or None for auto; raise DiagnosticError otherwise."""
    if value == "auto":
        return None
    try:
        scale = float(value)
    except (TypeError, ValueError):
        scale = math.nan
    if isinstance(value, bool) or not math.isfinite(scale) or scale <= 0:
        raise DiagnosticError(
            f"lower-to-spinnaker2: invalid weight-scale '{value}'; expected auto or a positive number"
        )
    return scale


def lower_to_spinnaker2(
    module: ModuleOp,
    *,
    dt: float | None = None,
    integrator: str | None = None,
    reset: str | None = None,
    weight_scale: float | None = None,
    atoms_per_core: int = 256,
    sys_tick: float = 1e-3,
) -> None:
    """Lower every snn.graph of the module (after discretizing its nir graphs) to a spinnaker2.graph."""
    name = LowerToSpiNNaker2Pass.name
    if integrator is not None and integrator not in INTEGRATORS:
        raise DiagnosticError(f"{name}: invalid integrator '{integrator}'; expected one of {', '.join(INTEGRATORS)}")
    if reset is not None and reset not in RESETS:
        raise DiagnosticError(f"{name}: invalid reset '{reset}'; expected one of {', '.join(RESETS)}")
    if isinstance(atoms_per_core, bool) or not isinstance(atoms_per_core, int) or not (
        1 <= atoms_per_core <= spinnaker2.MAX_ATOMS_PER_CORE
    ):
        raise DiagnosticError(
            f"{name}: invalid atoms-per-core '{atoms_per_core}'; expected an integer in [1, {spinnaker2.MAX_ATOMS_PER_CORE}]"
        )
    tick = parse_dt(sys_tick, "sys-tick")

    graphs = [op for op in module.ops if op.name.endswith(".graph")]
    if any(op.name == "nir.graph" for op in graphs):
        check_input_level(module, name, "nir", "snn")
        inline_subgraphs(module)
        preset = resolve_preset("spinnaker2", name, integrator=integrator, reset=reset)
        discretize_module(module, preset, dt, fallback_dt=DEFAULT_DT)
    else:
        check_input_level(module, name, "snn", "snn")
        for graph in graphs:
            check_snn_options(graph, integrator, reset)

    for graph in [op for op in module.ops if isinstance(op, snn.GraphOp)]:
        lowered = GraphLowering(graph, weight_scale, atoms_per_core, tick).lower()
        Rewriter.insert_op(lowered, InsertPoint.before(graph))
        Rewriter.erase_op(graph)


def check_snn_options(graph: Operation, integrator: str | None, reset: str | None) -> None:
    """Raise DiagnosticError when an integrator or reset option contradicts a discretized neuron's."""
    for op in neuron_ops(graph):
        for option, requested, actual in (("integrator", integrator, op.integrator.data), ("reset", reset, op.reset.data)):
            if requested is not None and requested != actual:
                graph_name = graph.sym_name.data
                raise DiagnosticError(
                    f"lower-to-spinnaker2: {option}={requested}, but node '{op.node_name.data}' was discretized with "
                    f"{option} '{actual}'; lower the nir model instead, or discretize with {option}={requested}",
                    Location(node_path=(graph_name, op.node_name.data)),
                    op=op,
                )


def neuron_ops(graph: Operation) -> Iterator[Operation]:
    return (op for op in graph.body.block.ops if isinstance(op, snn.LIFOp | snn.CubaLIFOp))


@dataclass(frozen=True)
class LowerToSpiNNaker2Pass(ModulePass):
    """Lower snn graphs to spinnaker2 populations and projections (nir graphs are discretized first)."""

    name = "lower-to-spinnaker2"

    dt: float | int | str | None = None
    """Step length in seconds when discretizing a nir model; defaults to the graph's metadata dt, then 1e-4."""
    integrator: str | None = None
    """forward_euler (the default from nir, decay 1 - dt/tau) or exp_euler (decay exp(-dt/tau)); from snn, the graph's own."""
    reset: str | None = None
    """to_reset_value (the default from nir, py-spinnaker2's reset_to_v_reset) or subtract (reset_by_subtraction)."""
    weight_scale: float | int | str = "auto"
    """Factor from NIR weights to integer chip weights: auto (127 over the largest weight into each population) or a number."""
    atoms_per_core: int = 256
    """Neurons per processing element of every population (py-spinnaker2's max atoms per core)."""
    sys_tick: float | int | str = 1e-3
    """Wall-clock length of one step on the chip, in seconds (py-spinnaker2's sys_tick_in_s)."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        lower_to_spinnaker2(
            op,
            dt=parse_dt(self.dt),
            integrator=self.integrator,
            reset=self.reset,
            weight_scale=parse_weight_scale(self.weight_scale),
            atoms_per_core=self.atoms_per_core,
            sys_tick=self.sys_tick,
        )

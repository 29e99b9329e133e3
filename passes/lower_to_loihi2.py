"""`lower-to-loihi2`: map nir or snn graphs onto lava-dl netx layers of the `loihi2` dialect.

The pass lowers from `snn`, not from `fxp`, and quantizes itself. Loihi's CUBA registers fix
the integer format. The threshold is a mantissa shifted left by 6, and synaptic sums enter the
current shifted left by 6. Decays are fractions of 4096 that round toward zero, and weights are
8-bit mantissas with one exponent per layer. The fxp quantizer chooses its own widths and scales
per node, so mapping its integers onto these registers would round a second time. Quantizing
the float snn coefficients once, into the registers, loses less.

A nir module is first discretized with the `lava` preset: forward Euler, v > v_threshold after
the update, reset to v_reset, one spike per step, and one step of synaptic delay on every edge
from a weight node into a neuron. That delay is the one every Lava Dense and Conv adds, so the
pass requires it on every synapse of an snn input and absorbs it into the layer. A NIR delay
node between a dense synapse and its neuron takes the place of that step.

Weights keep `weight_exp` 0, so each mantissa is the integer weight itself. A netx HDF5 file
stores those integers, and netx derives the exponent itself; lava-dl 0.6 clips larger mixed-sign
weights to [-256, 254].
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import (
    FloatAttr,
    IntegerAttr,
    IntegerType,
    ModuleOp,
    StringAttr,
    TensorType,
    f64,
    i64,
)
from xdsl.ir import Block, Operation, Region
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from nirmlir.dense import dense_from_numpy, i64_array, ints_from_array, numpy_from_dense
from nirmlir.diagnostics import DiagnosticError, Location
from nirmlir.dialects import loihi2, snn
from nirmlir.passes.discretize import discretize_module, parse_dt, resolve_preset
from nirmlir.passes.inline_subgraphs import inline_subgraphs
from nirmlir.passes.levels import check_input_level

DEFAULT_DT = 1e-4
"""Step length in seconds when neither the option nor the graph metadata gives one (the NIR paper's dt)."""
DECAY_ROUNDINGS = ("nearest", "toward_zero")
CURRENT_BIASES = ("steady_state", "reject")
MAX_SYNAPTIC_INPUT = (1 << 15) - 1
"""Lava's LIF receives the synaptic input as a 16-bit integer."""


@dataclass
class Synapse:
    """One weight op feeding a neuron group, with the pools and flatten between it and its source."""

    op: Operation
    source: Operation
    between: list[Operation]
    delay: np.ndarray | None = None
    """Steps of netx delay per output neuron, beyond the one step every synapse adds."""


@dataclass
class Layer:
    neuron: Operation
    forward: Synapse
    recurrent: Synapse | None


# Weights are converted to float64 a block of rows of about this many elements at a time, so
# that a large layer's temporaries stay about a megabyte each instead of several copies of it.
_BLOCK_ELEMENTS = 1 << 17


@dataclass(frozen=True)
class _ScaledRows:
    """A weight matrix in NIR volts per spike: its stored weights times one factor per output row."""

    weight: np.ndarray
    """The weights as stored, rows (neurons or output channels) first."""
    factor: np.ndarray
    """One factor per row, the neuron's input gain."""

    @property
    def shape(self) -> tuple[int, ...]:
        return self.weight.shape

    @property
    def rows(self) -> np.ndarray:
        return self.weight.reshape(self.factor.shape[0], -1)

    def blocks(self) -> Iterator[tuple[slice, np.ndarray]]:
        """Yield each block of rows and its float64 values, weight times factor."""
        rows = self.rows
        step = max(1, _BLOCK_ELEMENTS // max(rows.shape[1], 1))
        for start in range(0, rows.shape[0], step):
            block = slice(start, min(start + step, rows.shape[0]))
            yield block, rows[block].astype(np.float64) * self.factor[block, None]


def _error(graph: str, op: Operation, message: str) -> DiagnosticError:
    return DiagnosticError(message, Location(node_path=(graph, op.node_name.data)), op=op)


def _floats(op: Operation, field: str) -> np.ndarray:
    return numpy_from_dense(op.properties[field]).astype(np.float64)


# --------------------------------------------------------------------------------------
# Graph structure: a chain of synapse + neuron layers
# --------------------------------------------------------------------------------------


def _trace_synapse(graph: str, neuron: Operation, operand) -> Synapse:
    """Return the weight op behind one operand of a neuron, through its one-step synaptic delay.

    A NIR delay node between a dense synapse and the neuron replaces that step: a delay of k ≥ 1
    steps becomes the synapse's own step plus a netx delay of k - 1.
    """
    delay = operand.owner
    extra_steps = None
    if isinstance(delay, snn.DelayOp) and isinstance(delay.inputs[0].owner, snn.AffineOp):
        steps = numpy_from_dense(delay.steps).astype(np.int64)
        if steps.size and (steps.min() < 1 or steps.max() > loihi2.MAX_DELAY + 1):
            raise _error(
                graph, delay,
                f"node '{delay.node_name.data}' delays by {steps.min()} to {steps.max()} steps, but every Loihi 2 "
                f"synapse delays by 1 to {loihi2.MAX_DELAY + 1} steps (its own step plus a netx delay of at most "
                f"{loihi2.MAX_DELAY}); change the delay or the time step",
            )
        extra_steps = steps - 1
    elif not isinstance(delay, snn.StepDelayOp) or delay.steps.value.data != 1:
        raise _error(
            graph, neuron,
            f"node '{neuron.node_name.data}' reads '{delay.node_name.data}' ({delay.name}), but on Loihi 2 every "
            "input of a neuron passes a Dense or Conv synapse, which adds one step of delay; discretize with "
            "preset=lava (synapse-delay=1) and give every neuron a weight node as its input",
        )
    weight = delay.inputs[0].owner
    if not isinstance(weight, snn.AffineOp | snn.Conv2dOp):
        raise _error(
            graph, neuron,
            f"node '{neuron.node_name.data}' reads '{weight.node_name.data}' ({weight.name}); a netx layer's "
            "synapse is an affine, linear or 2-D conv node",
        )
    between: list[Operation] = []
    source = weight.inputs[0].owner
    while isinstance(source, snn.SumPool2dOp | snn.FlattenOp):
        between.insert(0, source)
        source = source.inputs[0].owner
    if not isinstance(source, snn.InputOp | snn.LIFOp | snn.CubaLIFOp):
        raise _error(
            graph, weight,
            f"node '{weight.node_name.data}' reads '{source.node_name.data}' ({source.name}); netx layers read "
            "the input or the spikes of a LIF, CubaLIF or IF layer",
        )
    return Synapse(weight, source, between, extra_steps)


def _check_operands(graph: str, op: Operation) -> None:
    if len(op.operands) != 1:
        raise _error(
            graph, op,
            f"node '{op.node_name.data}' has {len(op.operands)} inputs; netx layers read exactly one layer",
        )


def chain_layers(graph_op: snn.GraphOp) -> tuple[snn.InputOp, list[Layer], snn.OutputOp]:
    """Return the input, the layers in execution order and the output of a graph; raise DiagnosticError otherwise."""
    graph = graph_op.sym_name.data
    ops = list(graph_op.body.block.ops)
    inputs = [op for op in ops if isinstance(op, snn.InputOp)]
    outputs = [op for op in ops if isinstance(op, snn.OutputOp)]
    if len(inputs) != 1 or len(outputs) != 1:
        raise DiagnosticError(
            f"graph @{graph} has {len(inputs)} inputs and {len(outputs)} outputs; a netx network has one of each",
            Location(node_path=(graph,)),
            op=graph_op,
        )
    for op in ops:
        if isinstance(op, snn.LIOp | snn.CubaLIOp | snn.IntegratorOp):
            raise _error(
                graph, op,
                f"node '{op.node_name.data}' ({op.name}) does not spike; netx layers end in spiking CUBA neurons, "
                "so lower LI and integrator readouts as LIF nodes or read the spikes of the last layer",
            )
        delay_after_dense = isinstance(op, snn.DelayOp) and isinstance(op.inputs[0].owner, snn.AffineOp)
        if isinstance(op, snn.ScaleOp | snn.ThresholdOp | snn.DelayOp | snn.AvgPool2dOp | snn.Conv1dOp) and not (
            delay_after_dense
        ):
            raise _error(
                graph, op,
                f"node '{op.node_name.data}' ({op.name}) has no netx layer; netx has input, dense, dense_rec, conv "
                "and flatten layers, and this pass folds sum pools into the next weight node",
            )
        if isinstance(op, snn.AffineOp | snn.Conv2dOp | snn.SumPool2dOp | snn.FlattenOp | snn.StepDelayOp):
            _check_operands(graph, op)

    layers: dict[Operation, Layer] = {}
    for neuron in [op for op in ops if isinstance(op, snn.LIFOp | snn.CubaLIFOp)]:
        synapses = [_trace_synapse(graph, neuron, operand) for operand in neuron.operands]
        forward = [s for s in synapses if s.source is not neuron]
        recurrent = [s for s in synapses if s.source is neuron]
        if len(forward) != 1 or len(recurrent) > 1:
            raise _error(
                graph, neuron,
                f"node '{neuron.node_name.data}' has {len(forward)} feed-forward and {len(recurrent)} recurrent "
                "synapses; a netx layer has one of the first and at most one of the second",
            )
        if recurrent and (
            recurrent[0].between or recurrent[0].delay is not None or not isinstance(recurrent[0].op, snn.AffineOp)
        ):
            raise _error(
                graph, recurrent[0].op,
                f"the recurrent synapse '{recurrent[0].op.node_name.data}' must be an affine node reading "
                f"'{neuron.node_name.data}' directly, as netx dense_rec layers are",
            )
        layers[neuron] = Layer(neuron, forward[0], recurrent[0] if recurrent else None)

    ordered: list[Layer] = []
    source: Operation = inputs[0]
    by_source = {layer.forward.source: layer for layer in layers.values()}
    while source in by_source:
        layer = by_source.pop(source)
        ordered.append(layer)
        source = layer.neuron
    if by_source or len(ordered) != len(layers):
        stray = next(iter(by_source.values()), None) or next(iter(layers.values()))
        raise _error(
            graph, stray.neuron,
            f"node '{stray.neuron.node_name.data}' is not on the chain from the input; netx layers form one "
            "chain, each reading the layer before it",
        )
    output = outputs[0]
    if not ordered or output.inputs[0].owner is not ordered[-1].neuron or len(output.operands) != 1:
        raise _error(
            graph, output,
            "the output must read the spikes of the last layer and nothing else, which is what netx's "
            "Network.out provides",
        )
    return inputs[0], ordered, output


# --------------------------------------------------------------------------------------
# Quantization of one layer
# --------------------------------------------------------------------------------------


@dataclass
class Registers:
    properties: dict
    flatten: bool


class LayerLowering:
    """Register values of one layer: decays, one threshold, weights, bias and the voltage scale."""

    def __init__(self, graph: str, layer: Layer, options: LowerToLoihi2Pass):
        self.graph = graph
        self.layer = layer
        self.neuron = layer.neuron
        self.name = self.neuron.node_name.data
        self.options = options
        self.shape = tuple(self.neuron.results[0].type.get_shape())

    def fail(self, message: str, op: Operation | None = None) -> DiagnosticError:
        return _error(self.graph, op or self.neuron, message)

    # -- neuron --------------------------------------------------------------------------

    def check_conventions(self) -> None:
        neuron = self.neuron
        expected = {
            "spike_test": "gt",
            "spike_timing": "after_update",
            "reset": "to_reset_value",
        }
        if isinstance(neuron, snn.CubaLIFOp):
            expected["current_timing"] = "same_step"
        for field, value in expected.items():
            if neuron.properties[field].data != value:
                raise self.fail(
                    f"node '{self.name}' has {field} '{neuron.properties[field].data}', but Loihi's CUBA neuron "
                    f"has '{value}'; discretize with preset=lava"
                )
        if neuron.integrator.data == "event_exact":
            raise self.fail(f"node '{self.name}' is event-exact; Loihi 2 steps in fixed time, so discretize with preset=lava")
        if neuron.max_spikes_per_step.value.data != 1:
            raise self.fail(f"node '{self.name}' may spike more than once per step; Loihi's CUBA neuron spikes once")
        if (_floats(neuron, "v_reset") != 0).any():
            raise self.fail(f"node '{self.name}' resets to a non-zero v_reset; Loihi's CUBA neuron resets v to 0")
        if (_floats(neuron, "v_threshold") <= 0).any():
            raise self.fail(f"node '{self.name}' has a threshold of 0 or less; Loihi's threshold mantissa is unsigned")

    def decay_register(self, field: str) -> int:
        """Return iDecay or vDecay, 4096 times the fraction lost per step, which must be one value per layer."""
        lost = (1.0 - _floats(self.neuron, field)) * loihi2.DECAY_ONE
        rounded = np.floor(lost + 1e-9) if self.options.decay_rounding == "toward_zero" else np.floor(lost + 0.5)
        values = np.unique(np.clip(rounded, 0, loihi2.DECAY_ONE).astype(np.int64))
        if values.size > 1:
            listed = ", ".join(str(v) for v in values[:4]) + (", ..." if values.size > 4 else "")
            raise self.fail(
                f"node '{self.name}' has {values.size} different {field}s (as 12-bit registers: {listed}), but a netx "
                "layer has one iDecay and one vDecay; split the node into one NIR node per time constant"
            )
        return int(values[0])

    def input_gain(self) -> np.ndarray:
        """Return the factor from a synaptic input x to the per-step change of v (folding r, w_in and dt/tau)."""
        gain = _floats(self.neuron, "voltage_gain")
        if isinstance(self.neuron, snn.CubaLIFOp):
            gain = gain * _floats(self.neuron, "current_gain")
        return np.broadcast_to(gain, self.shape)

    # -- weights -------------------------------------------------------------------------

    def forward_weight(self) -> tuple[np.ndarray, np.ndarray | None, dict]:
        """Return the feed-forward weight with pools folded in, its bias and the conv geometry.

        The weight keeps its stored dtype (float64 once a pool is folded in); callers convert it a
        block of rows at a time.
        """
        synapse = self.layer.forward
        op = synapse.op
        weight = numpy_from_dense(op.weight)
        bias = _floats(op, "bias") if op.bias is not None else None
        pools = [between for between in synapse.between if isinstance(between, snn.SumPool2dOp)]
        flatten = [between for between in synapse.between if isinstance(between, snn.FlattenOp)]
        geometry: dict = {}

        if isinstance(op, snn.Conv2dOp):
            geometry = {
                "stride": list(ints_from_array(op.stride)),
                "padding": list(ints_from_array(op.padding)),
                "dilation": list(ints_from_array(op.dilation)),
                "groups": op.groups.value.data,
            }

        if len(pools) > 1 or (flatten and synapse.between[-1] is not flatten[0]) or len(flatten) > 1:
            raise self.fail(
                f"node '{op.node_name.data}' reads a chain of {len(synapse.between)} pool and flatten nodes; the "
                "pass folds one sum pool, optionally followed by one flatten",
                op,
            )
        if flatten:
            start, end = flatten[0].start_dim.value.data, flatten[0].end_dim.value.data
            rank = len(flatten[0].inputs[0].type.get_shape())
            if start % rank != 0 or end % rank != rank - 1:
                raise self.fail(
                    f"node '{flatten[0].node_name.data}' flattens dims {start}..{end}; a netx flatten layer "
                    "flattens the whole (C, H, W) map",
                    flatten[0],
                )
        if pools:
            weight, geometry = self.fold_pool(pools[0], weight.astype(np.float64), geometry, bool(flatten))
        return weight, bias, geometry

    def fold_pool(self, pool, weight: np.ndarray, geometry: dict, flattened: bool) -> tuple[np.ndarray, dict]:
        """Fold a sum pool (kernel = stride, no padding) into the weights of the synapse after it."""
        kernel = ints_from_array(pool.kernel_size)
        if ints_from_array(pool.stride) != kernel or any(ints_from_array(pool.padding)):
            raise self.fail(
                f"node '{pool.node_name.data}' pools with kernel {list(kernel)}, stride "
                f"{list(ints_from_array(pool.stride))} and padding {list(ints_from_array(pool.padding))}; only a "
                "sum pool whose stride equals its kernel and that has no padding folds into the next weights",
                pool,
            )
        channels, height, width = pool.inputs[0].type.get_shape()
        pooled = tuple(pool.results[0].type.get_shape())
        if flattened:
            # y[o] = Σ W[o, c, i, j]·pool[c, i, j] = Σ W[o, c, h // kh, w // kw]·x[c, h, w]; rows past the last window get 0.
            grid = weight.reshape(weight.shape[0], *pooled)
            expanded = np.repeat(np.repeat(grid, kernel[0], axis=2), kernel[1], axis=3)
            full = np.zeros((weight.shape[0], channels, height, width))
            full[:, :, : expanded.shape[2], : expanded.shape[3]] = expanded
            return full.reshape(weight.shape[0], -1), geometry
        if height % kernel[0] or width % kernel[1] or geometry["dilation"] != [1, 1]:
            raise self.fail(
                f"node '{pool.node_name.data}' pools a {height}x{width} map by {list(kernel)} before a conv with "
                f"dilation {geometry['dilation']}; folding needs a map that the kernel divides and dilation 1",
                pool,
            )
        folded = np.repeat(np.repeat(weight, kernel[0], axis=2), kernel[1], axis=3)
        geometry = dict(geometry)
        geometry["stride"] = [s * k for s, k in zip(geometry["stride"], kernel)]
        geometry["padding"] = [p * k for p, k in zip(geometry["padding"], kernel)]
        return folded, geometry

    def per_channel(self, values: np.ndarray, what: str) -> np.ndarray:
        """Return a per-neuron array of a conv layer as one value per output channel, which it must be."""
        flat = values.reshape(values.shape[0], -1)
        if (flat != flat[:, :1]).any():
            raise self.fail(
                f"node '{self.name}' has a {what} that varies within an output channel; a conv layer shares its "
                "kernel across positions, so it needs one value per channel"
            )
        return flat[:, 0]

    # -- scale ---------------------------------------------------------------------------

    def lower(self) -> Registers:
        self.check_conventions()
        is_cuba = isinstance(self.neuron, snn.CubaLIFOp)
        i_decay = self.decay_register("current_decay") if is_cuba else loihi2.DECAY_ONE
        v_decay = self.decay_register("voltage_decay")
        weight, affine_bias, geometry = self.forward_weight()
        conv = bool(geometry)
        gain = self.input_gain()
        threshold = np.broadcast_to(_floats(self.neuron, "v_threshold"), self.shape)
        leak = np.broadcast_to(_floats(self.neuron, "leak"), self.shape)
        if conv:
            gain = self.per_channel(gain, "input gain")
            threshold = self.per_channel(threshold, "threshold")
        rows = gain.shape[0] if conv else self.shape[0]
        gain_rows = gain.reshape(rows)
        threshold_rows = threshold.reshape(rows)

        # Real values in NIR volts: weights per spike, and the bias added to v per step.
        matrices = [_ScaledRows(weight, gain_rows)]
        if self.layer.recurrent is not None:
            matrices.append(_ScaledRows(numpy_from_dense(self.layer.recurrent.op.weight), gain_rows))
            if self.layer.recurrent.op.bias is not None:
                rec_bias = _floats(self.layer.recurrent.op, "bias")
                affine_bias = rec_bias if affine_bias is None else affine_bias + rec_bias
        bias = leak.copy()
        if affine_bias is not None and affine_bias.any():
            bias = bias + self.current_bias(affine_bias, gain, conv)

        # The threshold in v units is T for every neuron; neuron o then has T / v_threshold[o] units per volt.
        units = self.voltage_units(matrices, bias, threshold_rows, i_decay)
        vth_mant = self.threshold_mantissa(units, threshold_rows)
        per_volt = vth_mant * 64 / threshold_rows
        mantissas, exponent = self.weight_mantissas(matrices, per_volt)
        bias_units = bias * np.broadcast_to(per_volt.reshape((-1,) + (1,) * (bias.ndim - 1)), bias.shape) / 64
        bias_mant = np.floor(bias_units + 0.5).astype(np.int64)
        low, high = loihi2.BIAS_RANGE
        if bias_mant.size and (bias_mant.min() < low or bias_mant.max() > high):
            raise self.fail(
                f"node '{self.name}' needs bias mantissas from {bias_mant.min()} to {bias_mant.max()}, outside the "
                f"13-bit range [{low}, {high}]; lower voltage-scale"
            )

        scale = 1.0 / per_volt
        if conv:
            scale = np.broadcast_to(scale.reshape(-1, *([1] * (len(self.shape) - 1))), self.shape)
        properties = {
            "node_name": StringAttr(self.name),
            "weight": dense_from_numpy(mantissas[0]),
            "weight_exp": IntegerAttr(exponent, i64),
            "num_weight_bits": IntegerAttr(8, i64),
            "i_decay": IntegerAttr(i_decay, i64),
            "v_decay": IntegerAttr(v_decay, i64),
            "vth_mant": IntegerAttr(vth_mant, i64),
            "voltage_scale": dense_from_numpy(np.ascontiguousarray(scale, dtype=np.float64)),
        }
        if bias_mant.any():
            if conv and (bias_mant.reshape(rows, -1) == bias_mant.reshape(rows, -1)[:, :1]).all():
                bias_mant = bias_mant.reshape(rows, -1)[:, 0]
            properties["bias"] = dense_from_numpy(bias_mant.astype(np.int16))
        if len(mantissas) > 1:
            properties["weight_rec"] = dense_from_numpy(mantissas[1])
        delay = self.layer.forward.delay
        if delay is not None and delay.any():
            rows = np.broadcast_to(delay.reshape(-1, 1), mantissas[0].shape)
            properties["delay"] = dense_from_numpy(np.ascontiguousarray(rows, dtype=np.int8))
        if conv:
            properties["stride"] = i64_array(geometry["stride"])
            properties["padding"] = i64_array(geometry["padding"])
            properties["dilation"] = i64_array(geometry["dilation"])
            properties["groups"] = IntegerAttr(geometry["groups"], i64)
        flatten = any(isinstance(op, snn.FlattenOp) for op in self.layer.forward.between)
        return Registers(properties, flatten)

    def current_bias(self, affine_bias: np.ndarray, gain: np.ndarray, conv: bool) -> np.ndarray:
        """Return the bias on v per step that stands for a constant input on the synapse.

        Loihi adds its bias to v, not to the current. Without a current state (LIF, IF) the two
        are the same, except that the bias already acts at step 0, one step before the synapse
        delivers. With a current that keeps a fraction d per step, a constant input b settles at
        b·g/(1 - d) per step, which `steady_state` uses and `reject` refuses.
        """
        if conv:
            per_neuron = (affine_bias * gain).reshape((-1,) + (1,) * (len(self.shape) - 1))
        else:
            per_neuron = affine_bias * gain
        per_neuron = np.broadcast_to(per_neuron, self.shape)
        if not isinstance(self.neuron, snn.CubaLIFOp):
            return per_neuron
        if self.options.current_bias == "reject":
            raise self.fail(
                f"node '{self.name}' gets a constant input through its synapse bias, but Loihi adds its bias to "
                "v, not to the current; use current-bias=steady_state to approximate it by the settled value"
            )
        kept_fraction = np.broadcast_to(_floats(self.neuron, "current_decay"), self.shape)
        if (kept_fraction >= 1).any():
            raise self.fail(
                f"node '{self.name}' has a synapse bias and a current that never decays; the bias has no steady state"
            )
        return per_neuron / (1 - kept_fraction)

    def voltage_units(self, matrices, bias, threshold_rows, i_decay) -> float:
        """Return the largest threshold T in v units that every register and state range allows.

        With voltage-scale given, T follows from it and must be the same for every neuron.
        """
        if float(self.options.voltage_scale) > 0:
            units = threshold_rows * float(self.options.voltage_scale)
            mantissas = np.unique(np.floor(units / 64 + 0.5))
            if mantissas.size > 1:
                raise self.fail(
                    f"node '{self.name}' has thresholds that give {mantissas.size} different threshold mantissas "
                    "at this voltage-scale, but a netx layer has one; use voltage-scale=0, which scales each "
                    "neuron's weights to a common threshold"
                )
            return float(mantissas[0]) * 64
        # Bounds on T: each is a limit divided by the size of that quantity per unit of T.
        largest_weight = 0.0
        row_sum = np.zeros(threshold_rows.shape[0])
        for matrix in matrices:
            for block, values in matrix.blocks():
                per_threshold = np.abs(values / threshold_rows[block, None])
                largest_weight = max(largest_weight, float(per_threshold.max(initial=0)))
                row_sum[block] += per_threshold.sum(axis=1)
        largest_weight /= 64
        row_sum /= 64
        bounds = [loihi2.MAX_VTH_MANT * 64]
        if largest_weight > 0:
            bounds.append(254 / largest_weight)
        if row_sum.max(initial=0) > 0:
            bounds.append(MAX_SYNAPTIC_INPUT / float(row_sum.max()))
            if i_decay > 0:
                # u settles at most at (largest input << 6)·4096 / iDecay, which must stay below 2^23.
                bounds.append((2**23 - 1) * i_decay / (loihi2.DECAY_ONE * 64 * float(row_sum.max())))
        # NOTE: v clips at ±(2^23 - 1) and is not bounded here; with strong inhibition it can clip
        # where the float model keeps going down.
        bias_per_threshold = np.abs(bias).reshape(bias.shape[0], -1) / threshold_rows.reshape(-1, 1)
        if bias_per_threshold.max(initial=0) > 0:
            bounds.append(loihi2.BIAS_RANGE[1] * 64 / float(bias_per_threshold.max()))
        return min(bounds)

    def threshold_mantissa(self, units: float, threshold_rows: np.ndarray) -> int:
        mantissa = int(np.floor(units / 64 + 1e-9))
        if mantissa < 1:
            raise self.fail(
                f"node '{self.name}' gets a threshold mantissa of {units / 64:.3g}, below 1; its weights are "
                "more than 254 times its threshold, beyond the 8-bit weights that netx loads"
            )
        if mantissa > loihi2.MAX_VTH_MANT:
            raise self.fail(
                f"node '{self.name}' needs a threshold mantissa of {_compact(mantissa)}, "
                f"{_compact(mantissa - loihi2.MAX_VTH_MANT)} above the 17-bit maximum {loihi2.MAX_VTH_MANT}; "
                "lower voltage-scale"
            )
        return mantissa

    def weight_mantissas(self, matrices: list[_ScaledRows], per_volt: np.ndarray) -> tuple[list[np.ndarray], int]:
        """Return the int16 weights of each matrix, in its stored shape, at exponent 0; mixed-sign weights are even."""
        negative = positive = False
        for matrix in matrices:
            for block, values in matrix.blocks():
                scaled = values * per_volt[block, None] / 64
                negative = negative or bool((scaled < 0).any())
                positive = positive or bool((scaled > 0).any())
        mixed = negative and positive
        step = 2 if mixed else 1
        low, high = loihi2.SIGN_RANGES["mixed"] if mixed else (-255, 255)
        mantissas = []
        smallest = greatest = largest = 0.0
        for matrix in matrices:
            integers = np.empty(matrix.rows.shape, dtype=np.int16)
            for block, values in matrix.blocks():
                rounded = np.floor(values * per_volt[block, None] / 64 / step + 0.5) * step
                if rounded.size:
                    smallest = min(smallest, float(rounded.min()))
                    greatest = max(greatest, float(rounded.max()))
                    largest = max(largest, float(np.abs(rounded).max()))
                # Values beyond int16 fail the range check below before the integers are used.
                integers[block] = np.clip(rounded, -(2**15), 2**15 - 1)
            mantissas.append(integers.reshape(matrix.shape))
        if smallest < low or greatest > high:
            raise self.fail(
                f"node '{self.name}' needs weights up to {largest:.0f}, outside the 8-bit range [{low}, {high}] that "
                "netx loads; lower voltage-scale"
            )
        return mantissas, 0


# --------------------------------------------------------------------------------------
# The pass
# --------------------------------------------------------------------------------------


def spike_type(shape) -> TensorType:
    return TensorType(IntegerType(1), list(shape))


def lower_graph(graph_op: snn.GraphOp, options: LowerToLoihi2Pass) -> loihi2.GraphOp:
    """Return the loihi2 graph of one snn graph; raise DiagnosticError for what netx cannot express."""
    graph = graph_op.sym_name.data
    input_op, layers, output_op = chain_layers(graph_op)
    block = Block()
    source = loihi2.InputOp.create(
        result_types=[spike_type(input_op.results[0].type.get_shape())],
        properties={"node_name": input_op.node_name},
    )
    source.results[0].name_hint = input_op.results[0].name_hint
    block.add_op(source)
    for layer in layers:
        registers = LayerLowering(graph, layer, options).lower()
        value = source.results[0]
        if registers.flatten and len(value.type.get_shape()) > 1:
            flatten_name = next(op for op in layer.forward.between if isinstance(op, snn.FlattenOp)).node_name
            size = int(np.prod(value.type.get_shape()))
            source = loihi2.FlattenOp.create(
                operands=[value], result_types=[spike_type([size])], properties={"node_name": flatten_name}
            )
            block.add_op(source)
            value = source.results[0]
        if "stride" in registers.properties:
            op_class = loihi2.ConvOp
        elif "weight_rec" in registers.properties:
            op_class = loihi2.DenseRecOp
        else:
            op_class = loihi2.DenseOp
        source = op_class.create(
            operands=[value],
            result_types=[spike_type(layer.neuron.results[0].type.get_shape())],
            properties=registers.properties,
        )
        source.results[0].name_hint = layer.neuron.results[0].name_hint
        block.add_op(source)
    block.add_op(
        loihi2.OutputOp.create(operands=[source.results[0]], properties={"node_name": output_op.node_name})
    )
    return loihi2.GraphOp.create(
        properties={"sym_name": graph_op.sym_name, "dt": FloatAttr(graph_op.dt.value.data, f64)},
        regions=[Region(block)],
    )


def _compact(number: int) -> str:
    """Spell an integer in full up to 12 digits, else in scientific notation (a huge voltage-scale
    gives mantissas of hundreds of digits)."""
    return str(number) if abs(number) < 10**12 else f"{number:.4g}"


def lower_to_loihi2(module: ModuleOp, options: LowerToLoihi2Pass) -> None:
    """Lower every nir or snn graph of the module to a loihi2 graph."""
    for field, allowed in (("decay_rounding", options.decay_rounding), ("current_bias", options.current_bias)):
        choices = DECAY_ROUNDINGS if field == "decay_rounding" else CURRENT_BIASES
        if allowed not in choices:
            option = field.replace("_", "-")
            raise DiagnosticError(f"lower-to-loihi2: invalid {option} '{allowed}'; expected one of {', '.join(choices)}")
    try:
        voltage_scale = float(options.voltage_scale)
    except ValueError:
        voltage_scale = -1.0
    if not np.isfinite(voltage_scale) or voltage_scale < 0:
        raise DiagnosticError(
            f"lower-to-loihi2: invalid voltage-scale '{options.voltage_scale}'; expected v units per NIR volt "
            "(a positive number), or 0 to choose it per layer"
        )
    graphs = [op for op in module.ops if op.name.endswith(".graph")]
    if any(op.name == "nir.graph" for op in graphs):
        inline_subgraphs(module)
        discretize_module(module, resolve_preset("lava", LowerToLoihi2Pass.name), parse_dt(options.dt), DEFAULT_DT)
    else:
        check_input_level(module, LowerToLoihi2Pass.name, "snn", "loihi2")
    for graph in [op for op in module.ops if isinstance(op, snn.GraphOp)]:
        Rewriter.insert_op(lower_graph(graph, options), InsertPoint.before(graph))
        Rewriter.erase_op(graph)


@dataclass(frozen=True)
class LowerToLoihi2Pass(ModulePass):
    """Lower nir or snn graphs to lava-dl netx layers (loihi2 dialect), quantizing into Loihi's registers."""

    name = "lower-to-loihi2"

    dt: float | int | str | None = None
    """Step length in seconds for nir input; defaults to the graph's metadata dt, else 1e-4 with a warning."""
    voltage_scale: float | int | str = 0
    """Units of v per NIR volt; 0 chooses, per layer, the largest threshold that no register or state range limits."""
    decay_rounding: str = "nearest"
    """Rounding of 4096·(1 - decay) to iDecay and vDecay: nearest, or toward_zero as the NIR paper's Lava converter did."""
    current_bias: str = "steady_state"
    """A bias on the synapse of a CubaLIF: steady_state (a bias on v of its settled value) or reject."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        lower_to_loihi2(op, self)

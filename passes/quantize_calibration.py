"""Calibration input of `quantize`: the float model's activity on a user's data, and spike agreement with fixed point."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from nirmlir.diagnostics import DiagnosticError, Location
from nirmlir.dialects import fxp, snn

CalibrationSource = str | os.PathLike | np.ndarray | Mapping[str, np.ndarray]
"""A calibration input: a file path, one array for a graph with one input node, or input node name -> array.

Arrays are (steps, *input shape) or (batch, steps, *input shape), in NIR units.
"""

Activity = dict[str, dict[str, np.ndarray]]
"""Node -> trace key (v, i, spikes) -> (batch, steps, *neuron shape) of every neuron group."""

NEURON_OPS = (snn.LIFOp, snn.CubaLIFOp, snn.LIOp, snn.CubaLIOp, snn.IntegratorOp)


@dataclass(frozen=True)
class SpikeAgreement:
    """Agreement of a fixed-point group's spikes with the float model's on the calibration input."""

    cosine: float
    """Cosine similarity of the per-neuron spike counts over the whole input (1 when both are silent)."""
    float_spikes: int
    fixed_point_spikes: int


def graph_inputs(graph: snn.GraphOp, source: CalibrationSource) -> dict[str, np.ndarray]:
    """Return the calibration data of each input node of `graph`, as (batch, steps, *shape) float arrays.

    A file is read like nir-run's --input (.npy, .npz, .csv or NIR data). A graph with several
    input nodes needs a mapping, or an .npz file with one array per input node name.
    Raises DiagnosticError for missing inputs, wrong shapes and empty data.
    """
    from nirmlir.simulator.io import read_input

    shapes = {op.node_name.data: snn.tensor_shape(op.output.type) for op in graph.body.block.ops if isinstance(op, snn.InputOp)}
    location = Location(node_path=(graph.sym_name.data,))
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        if len(shapes) == 1:
            ((name, shape),) = shapes.items()
            arrays = {name: read_input(path, shape, node=name)}
        else:
            arrays = {name: read_input(path, shape, key=name, node=name) for name, shape in shapes.items()}
        location = Location(file=path)
    elif isinstance(source, Mapping):
        arrays = {name: np.asarray(data) for name, data in source.items()}
    else:
        if len(shapes) != 1:
            raise DiagnosticError(
                f"graph @{graph.sym_name.data} has {len(shapes)} input nodes; give the calibration input as a "
                "mapping (or an .npz file) from input node name to data",
                location,
            )
        arrays = {next(iter(shapes)): np.asarray(source)}

    batched: dict[str, np.ndarray] = {}
    for name, shape in shapes.items():
        if name not in arrays:
            raise DiagnosticError(f"the calibration input has no data for input node '{name}'", location)
        data = arrays[name]
        check_numbers(name, data, location)
        if data.ndim == len(shape) + 1 and tuple(data.shape[1:]) == shape:
            data = data[None]
        elif not (data.ndim == len(shape) + 2 and tuple(data.shape[2:]) == shape):
            expected = ", ".join(map(str, shape))
            raise DiagnosticError(
                f"the calibration data of input node '{name}' have shape {list(data.shape)}; expected "
                f"(T, {expected}) or (B, T, {expected})",
                location,
            )
        check_steps(name, data, location)
        batched[name] = data.astype(np.float64)
    steps = {data.shape[:2] for data in batched.values()}
    if len(steps) > 1:
        raise DiagnosticError("the calibration inputs differ in batch size or number of steps", location)
    return batched


def check_numbers(name: str, data: np.ndarray, location: Location) -> None:
    """Raise DiagnosticError unless the calibration data of input node `name` are finite numbers."""
    if data.dtype.kind not in "biuf":
        raise DiagnosticError(f"the calibration data of input node '{name}' have dtype {data.dtype}; expected numbers", location)
    if data.dtype.kind == "f" and not np.isfinite(data).all():
        raise DiagnosticError(f"the calibration data of input node '{name}' contain NaN or infinity; expected finite numbers",
                              location)


def check_steps(name: str, batched: np.ndarray, location: Location) -> None:
    """Raise DiagnosticError when (batch, steps, ...) calibration data have no batch entry or no step."""
    if batched.shape[0] == 0 or batched.shape[1] == 0:
        raise DiagnosticError(f"the calibration data of input node '{name}' have no steps", location)


def record_activity(graph: snn.GraphOp, inputs: dict[str, np.ndarray]) -> Activity:
    """Simulate the float graph on `inputs` and return the voltage, current and spikes of every neuron group."""
    from nirmlir.simulator import compile_graph

    program = compile_graph(graph)
    neurons = [op.node_name.data for op in graph.body.block.ops if isinstance(op, NEURON_OPS)]
    traces = program.run(inputs, neurons)
    return {node: traces[node] for node in neurons}


def spike_agreement(graph: fxp.GraphOp, inputs: dict[str, np.ndarray], activity: Activity) -> dict[str, SpikeAgreement]:
    """Simulate the fixed-point graph on `inputs` and compare each spiking group's spike counts with `activity`."""
    from nirmlir.simulator import compile_graph
    from nirmlir.simulator.compare import spike_count_cosine

    program = compile_graph(graph)
    spiking = [node for node, traces in activity.items() if "spikes" in traces]
    traces = program.run(inputs, [f"{node}/spikes" for node in spiking])
    agreement = {}
    for node in spiking:
        exact, fixed = activity[node]["spikes"], traces[node]["spikes"]
        cosine = spike_count_cosine(exact, fixed, time_axis=1)
        agreement[node] = SpikeAgreement(cosine, int(exact.sum(dtype=np.int64)), int(fixed.sum(dtype=np.int64)))
    return agreement

"""The public Python API: `load` a model, `compile` it to a lower level, `simulate` it.

    import nirmlir
    module = nirmlir.load("model.nir")                    # or a .mlir file, or a nir.NIRGraph
    lowered = nirmlir.compile(module, preset="norse", dt=1e-4, level="fxp")
    traces = nirmlir.simulate(module, x, preset="norse", dt=1e-4, record=["lif1"])
    traces["lif1"]["v"], traces["lif1"]["spikes"]

Unlike the simulator core, this module runs passes (discretize, quantize) in-process, so it
sits above them, next to the tools.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import fields, replace
from typing import Any

import numpy as np

from nirmlir.diagnostics import DiagnosticError, Location

LEVELS = ("nir", "snn", "fxp")
"""The dialect levels, from highest to lowest."""

Traces = dict[str, dict[str, np.ndarray]]


# --------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------


def _is_nir_graph(source: object) -> bool:
    """Return whether `source` is a graph object of the `nir` package (checked without importing it)."""
    module = type(source).__module__ or ""
    return (module == "nir" or module.startswith("nir.")) and hasattr(source, "nodes") and hasattr(source, "edges")


def load(source: Any, *, ctx=None, relax_output_shapes: bool = False):
    """Return a verified module from a `.nir` path, a `.mlir` path, a `nir.NIRGraph` or a module.

    An in-memory `nir.NIRGraph` is written with `nir.write` to an HDF5 buffer in memory and read
    by the importer, so it goes through the same checks as a file without touching the disk.
    A module is returned as it is. Raises DiagnosticError for a missing or invalid file.
    `relax_output_shapes` lets an HDF5 Output node take the shape it receives when its declared
    shape has as many elements (files from Rockpool 2.x declare [1, 1, 1] after a LIF of shape [1]).
    """
    from xdsl.dialects.builtin import ModuleOp

    from nirmlir.context import make_context

    if isinstance(source, ModuleOp):
        return source
    ctx = ctx or make_context()
    if _is_nir_graph(source):
        import nir

        from nirmlir.hdf5 import import_nir

        buffer = io.BytesIO()
        nir.write(buffer, source)
        buffer.seek(0)
        return import_nir(buffer, ctx, filename="<nir.NIRGraph>", relax_output_shapes=relax_output_shapes)
    if not isinstance(source, str | os.PathLike):
        raise DiagnosticError(
            f"cannot load a {type(source).__name__}; expected a .nir or .mlir path, a nir.NIRGraph or a module"
        )
    path = os.fspath(source)
    if not os.path.isfile(path):
        raise DiagnosticError(f"model file '{path}' not found")
    if path.lower().endswith((".nir", ".h5", ".hdf5")):
        from nirmlir.hdf5 import import_nir

        return import_nir(path, ctx, filename=path, relax_output_shapes=relax_output_shapes)
    return _load_text(path, ctx)


def _load_text(path: str, ctx):
    from nirmlir import parser
    from nirmlir.verification import verify_module

    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    except UnicodeDecodeError:
        raise DiagnosticError(
            f"model file '{path}' is not UTF-8 text; if it is a NIR HDF5 file, give it the .nir extension"
        ) from None
    except OSError as error:
        raise DiagnosticError(f"cannot read '{path}': {error.strerror}") from None
    module = parser.parse_module(text, ctx, path)
    verify_module(module, getattr(parser, "location_of", None))
    return module


# --------------------------------------------------------------------------------------
# Levels and graphs
# --------------------------------------------------------------------------------------


def _simulated_graph_ops() -> set[str]:
    from nirmlir.simulator.engine import SIMULATORS

    return set(SIMULATORS)


def module_level(module) -> str:
    """Return the level of a module ("nir", "snn", "fxp" or a chip level) from the dialect of its graphs."""
    graph_ops = _simulated_graph_ops() | {"nir.graph"}
    levels = {op.name.partition(".")[0] for op in module.ops if op.name in graph_ops}
    if not levels:
        names = ", ".join(sorted(graph_ops))
        raise DiagnosticError(f"the module contains no graph; expected one of these ops at the top level: {names}")
    if len(levels) > 1:
        raise DiagnosticError(f"the module mixes graph levels {sorted(levels)}; lower every graph to one level")
    return levels.pop()


def select_graph(module, name: str | None = None):
    """Return the graph to simulate (of any simulated level): `name`, else @main, else the only graph."""
    graph_ops = _simulated_graph_ops()
    graphs = {op.sym_name.data: op for op in module.ops if op.name in graph_ops}
    if name is not None:
        if name not in graphs:
            raise DiagnosticError(f"the module has no graph @{name}; its graphs are " + ", ".join(f"@{n}" for n in graphs))
        return graphs[name]
    if "main" in graphs:
        return graphs["main"]
    if len(graphs) == 1:
        return next(iter(graphs.values()))
    raise DiagnosticError(
        "the module has several graphs (" + ", ".join(f"@{n}" for n in graphs) + "); choose one by name"
    )


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise DiagnosticError(f"unknown level '{level}'; expected one of {', '.join(LEVELS)}")


def _quantize_options(quantize):
    from nirmlir.passes.quantize import QuantizeOptions

    if quantize is None:
        return QuantizeOptions()
    if isinstance(quantize, QuantizeOptions):
        return quantize
    values = {key.replace("-", "_"): value for key, value in dict(quantize).items()}
    known = [field.name for field in fields(QuantizeOptions)]
    unknown = [key for key in values if key not in known]
    if unknown:
        spelled = ", ".join(name.replace("_", "-") for name in known)
        raise DiagnosticError(f"unknown quantize option '{unknown[0].replace('_', '-')}'; the options are {spelled}")
    try:
        return QuantizeOptions(**values)
    except TypeError as error:
        raise DiagnosticError(f"invalid quantize options: {error}") from None


# --------------------------------------------------------------------------------------
# Compiling
# --------------------------------------------------------------------------------------


def compile(  # noqa: A001 - the public name the API promises
    module,
    pipeline: str | None = None,
    *,
    preset: str | None = None,
    dt: float | None = None,
    level: str = "snn",
    quantize=None,
):
    """Return a lowered copy of `module` (or of whatever `load` accepts); the input is left unchanged.

    With `pipeline` (nir-opt syntax, e.g. ``"discretize{dt=1e-4 preset=norse},quantize"``) the
    passes run as given. Otherwise the module is lowered to `level`: from nir, `discretize` with
    `preset` and `dt` (the graph's metadata dt when None), then for "fxp" `quantize` with
    `quantize` (a QuantizeOptions or a dict of its fields). Raises DiagnosticError for an
    unknown preset or level, a missing dt, or a level above the module's.
    """
    lowered = load(module).clone()
    filename = os.fspath(module) if isinstance(module, str | os.PathLike) else None
    with _diagnostics_in_file(filename):
        return _lower(lowered, pipeline, preset, dt, level, quantize)


@contextmanager
def _diagnostics_in_file(filename: str | None) -> Iterator[None]:
    """Put `filename` on pass diagnostics that name a graph and node but no file, which only the caller has."""
    try:
        yield
    except DiagnosticError as error:
        if filename is not None and error.diagnostic.location.file == Location().file:
            error.diagnostic.location = replace(error.diagnostic.location, file=filename)
        raise


def _lower(lowered, pipeline: str | None, preset: str | None, dt: float | None, level: str, quantize):
    from nirmlir.verification import verify_module

    if pipeline is not None:
        _run_pipeline(lowered, pipeline)
        verify_module(lowered)
        return lowered

    _check_level(level)
    current = module_level(lowered)
    if LEVELS.index(level) < LEVELS.index(current):
        raise DiagnosticError(f"the module is at the {current} level and cannot be raised to {level}")
    if current == "nir" and level != "nir":
        _discretize(lowered, preset, dt)
        current = "snn"
    if current == "snn" and level == "fxp":
        from nirmlir.passes.quantize import quantize_module

        quantize_module(lowered, _quantize_options(quantize))
    verify_module(lowered)
    return lowered


def _discretize(module, preset: str | None, dt: float | None) -> None:
    from nirmlir.passes.discretize import discretize_module, parse_dt, resolve_preset
    from nirmlir.presets import PRESETS

    if preset is None:
        raise DiagnosticError(
            "a nir-level model needs a discretization preset; choose one of " + ", ".join(PRESETS)
        )
    discretize_module(module, resolve_preset(preset), parse_dt(dt))


def _run_pipeline(module, pipeline: str) -> None:
    from nirmlir.pipeline import run_pass_pipeline

    run_pass_pipeline(module, pipeline)


# --------------------------------------------------------------------------------------
# Simulating
# --------------------------------------------------------------------------------------


def prepare(
    model,
    *,
    preset: str | None = None,
    dt: float | None = None,
    level: str | None = None,
    quantize=None,
    graph: str | None = None,
    filename: str | None = None,
    precision: str = "float64",
):
    """Return the compiled simulator Program of a model at `level` (default: snn for a nir model, else its own).

    A nir-level model is discretized with `preset` and `dt`. For an snn or fxp model, `preset`
    is not used, and a `dt` that differs from the graph's step raises DiagnosticError.
    `precision` ("float64" or "float32") is the float dtype of the snn level; integer levels ignore it.
    `filename` names the model in diagnostics (by default its path, if it is one).
    """
    from nirmlir.simulator import compile_graph

    module = load(model)
    current = module_level(module)
    target = level or ("snn" if current == "nir" else current)
    if current not in LEVELS and target != current:
        raise DiagnosticError(f"the module is at the {current} level, which runs only as it is; omit the level")
    if current in LEVELS:
        _check_level(target)
    if target == "nir":
        raise DiagnosticError("the nir level runs through a discretization; simulate at level snn or fxp")
    if current != "nir" and dt is not None:
        for op in module.ops:
            step = getattr(op, "dt", None)
            if step is not None and not math.isclose(float(step.value.data), float(dt), rel_tol=1e-9):
                raise DiagnosticError(
                    f"graph @{op.sym_name.data} is already discretized with dt {step.value.data:g} s, "
                    f"which differs from the requested dt {float(dt):g} s; rerun discretize on the nir model "
                    "to change dt"
                )
    if filename is None:
        filename = os.fspath(model) if isinstance(model, str | os.PathLike) else "<module>"
    if target != current:
        with _diagnostics_in_file(filename):
            module = compile(module, preset=preset, dt=dt, level=target, quantize=quantize)
    return compile_graph(select_graph(module, graph), filename, precision)


def batch_inputs(program, inputs) -> tuple[dict[str, np.ndarray], bool]:
    """Return the inputs as node -> (B, T, *shape) arrays and whether they came with a batch axis.

    `inputs` is one array for a graph with one input node, or a mapping from input node names.
    Each array is (T, *shape) or (B, T, *shape); all must agree.
    """
    location = program.location()
    if isinstance(inputs, Mapping):
        arrays = {name: np.asarray(data) for name, data in inputs.items()}
    else:
        if len(program.inputs) != 1:
            names = ", ".join(f"'{name}'" for name in program.inputs)
            raise DiagnosticError(
                f"graph @{program.graph_name} has {len(program.inputs)} input nodes ({names}); pass a mapping "
                "from input node name to data",
                location,
            )
        arrays = {next(iter(program.inputs)): np.asarray(inputs)}

    batched_flags = set()
    result = {}
    for name, data in arrays.items():
        if name not in program.inputs:
            raise DiagnosticError(
                f"graph @{program.graph_name} has no input node '{name}'; its inputs are "
                + ", ".join(f"'{n}'" for n in program.inputs),
                location,
            )
        shape = program.inputs[name]
        added_batch_axis = data.ndim == len(shape) + 1 and tuple(data.shape[1:]) == shape
        if added_batch_axis:
            batched_flags.add(False)
            data = data[None]
        elif data.ndim == len(shape) + 2 and tuple(data.shape[2:]) == shape:
            batched_flags.add(True)
        else:
            expected = ", ".join(map(str, shape))
            raise DiagnosticError(
                f"the data of input node '{name}' have shape {list(data.shape)}; expected (T, {expected}) or "
                f"(B, T, {expected})",
                location,
            )
        if data.dtype.kind not in "biuf":
            raise DiagnosticError(f"the data of input node '{name}' have dtype {data.dtype}; expected numbers", location)
        if data.dtype.kind == "f" and not np.isfinite(data).all():
            # NaN or inf would spread through every state and give traces without meaning.
            index = tuple(int(axis[0]) for axis in np.nonzero(~np.isfinite(data)))
            # Drop the batch axis that an unbatched input got above, so the index is the file's.
            shown = list(index[1:]) if added_batch_axis else list(index)
            raise DiagnosticError(
                f"the data of input node '{name}' contain {data[index]} at index {shown}; inputs must be "
                "finite numbers",
                location,
            )
        result[name] = data
    if len(batched_flags) > 1:
        raise DiagnosticError("some inputs have a batch axis and others do not; give all of them (B, T, ...)", location)
    return result, batched_flags.pop() if batched_flags else False


def run_program(
    program, inputs, *, record: Iterable[str] | None = None, integers: bool = False, threads: int = 1
) -> Traces:
    """Run a compiled Program on inputs of shape (T, ...) or (B, T, ...); traces keep the same leading axes.

    `threads` > 1 splits the batch among that many threads (see `Program.run`).
    """
    batched, has_batch = batch_inputs(program, inputs)
    traces = program.run(batched, record, integers, threads)
    if not has_batch:
        traces = {node: {key: array[0] for key, array in keys.items()} for node, keys in traces.items()}
    return traces


def simulate(
    model,
    inputs,
    *,
    preset: str | None = None,
    dt: float | None = None,
    record: Iterable[str] | None = None,
    level: str | None = None,
    quantize=None,
    integers: bool = False,
    graph: str | None = None,
    precision: str = "float64",
    threads: int = 1,
) -> Traces:
    """Simulate a model and return its traces, node -> key -> array.

    `model` is anything `load` accepts. `inputs` is an array of shape (T, *input_shape) or
    (B, T, *input_shape), or a mapping from input node names to such arrays. The traces have the
    same leading axes. Every output node is recorded, plus each entry of `record` (a node name,
    or `NODE/KEY`). Keys are `v` (voltage), `spikes` (counts per step), `i` (current of
    current-based neurons) and `value` (the result of any other node).

    A nir-level model is discretized with `preset` and `dt` first; `level="fxp"` also quantizes
    it (with `quantize` options). At the fxp level voltages and values are in NIR units (the
    integer times its scale); `integers=True` adds the raw integers as `v_int`, `i_int` and
    `value_int`. `precision="float32"` runs the snn level in float32, as most peers do, and
    `threads` > 1 splits the batch among that many threads.
    """
    program = prepare(model, preset=preset, dt=dt, level=level, quantize=quantize, graph=graph, precision=precision)
    return run_program(program, inputs, record=record, integers=integers, threads=threads)

"""nir-run: simulate a model at the snn, fxp or a chip's level and write, plot or compare its traces.

    nir-run model.nir --preset norse --dt 1e-4 --input x.npy -o traces.npz --record lif1
    nir-run model.nir --preset exact --dt 1e-4 --input x.csv --input-columns 0 --plot lif.png
    nir-run model.nir --preset norse --dt 1e-4 --input x.npy --compare fxp
"""

from __future__ import annotations

import argparse
import sys

from nirmlir.diagnostics import DiagnosticError

from .common import EXIT_OK, check_distinct_outputs, check_output_paths, run_guarded

PRESET_NAMES = ("exact", "norse", "snntorch", "spyx", "sinabs", "rockpool", "nengo", "lava", "spinnaker2")
LEVEL_NAMES = ("snn", "fxp")
PRECISION_NAMES = ("float64", "float32")


def build_argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nir-run",
        description="Simulate a NIR model (.nir, or .mlir at the nir, snn, fxp or a chip's level) on an input and "
        "write its traces: per recorded node NODE/v (voltage), NODE/spikes (counts per step), NODE/i "
        "(current of current-based neurons) and NODE/value (result of other nodes).",
    )
    parser.add_argument("model", help="model file: .nir (HDF5) or .mlir text at the nir, snn, fxp, loihi2, spinnaker2, speck or xylo level")

    parser.add_argument(
        "--preset",
        metavar="NAME",
        help="discretization preset of a nir-level model: " + ", ".join(PRESET_NAMES),
    )
    parser.add_argument(
        "--dt", type=float, metavar="SECONDS", help="step length in seconds (default: the graph's metadata dt)"
    )
    parser.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="[NODE=]FILE",
        help="input data: .npy or .npz of shape (T, *input_shape) or (B, T, *input_shape), .csv with one row "
        "per step, or a NIR data file (nir.write_data); NODE= names the input node of a graph with several",
    )
    parser.add_argument(
        "--input-columns", metavar="LIST", help="comma-separated CSV columns to read, by index or header name"
    )
    parser.add_argument(
        "--input-key", metavar="KEY", help="array of an .npz input, or NODE/OBSERVABLE of a NIR data file"
    )

    parser.add_argument("-o", "--output", metavar="FILE", help="trace file: .npz (all traces), .npy (one trace) or .csv")
    parser.add_argument(
        "--record",
        nargs="+",
        action="extend",
        default=[],
        metavar="NODE",
        help="nodes to record besides the outputs, as NODE (every trace) or NODE/KEY (one trace)",
    )

    parser.add_argument(
        "--precision",
        choices=PRECISION_NAMES,
        help="float dtype of the snn level (default: float64; float32 is faster and is what the torch simulators "
        "use); the fxp and chip levels compute in integers and reject it",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        metavar="N",
        help="simulate the batch in N threads, each taking an equal share of the samples (default: 1)",
    )
    parser.add_argument(
        "--relax-output-shapes",
        action="store_true",
        help="accept an HDF5 Output whose declared shape has as many elements as the shape it receives, and use the latter",
    )
    parser.add_argument(
        "--level",
        choices=LEVEL_NAMES,
        help="level to simulate: snn, or fxp after quantize (default: snn for a nir model, else the model's own)",
    )
    parser.add_argument(
        "--quantize",
        metavar="OPTIONS",
        help="quantize options when lowering to fxp, as in nir-opt: 'weight-bits=8 state-bits=16'",
    )
    parser.add_argument(
        "--integers", action="store_true", help="fxp level: also write the raw integers (NODE/v_int, NODE/i_int, ...)"
    )

    parser.add_argument("--plot", metavar="PNG", help="write a plot of the recorded traces (needs matplotlib)")
    parser.add_argument(
        "--compare",
        metavar="LEVEL_PRESET_OR_PRECISION",
        help="also run a second configuration on the same input (a level: snn or fxp, a preset name, or a "
        "precision: float64 or float32) and "
        "print per-node spike agreement, spike-count cosine and max state error",
    )
    parser.add_argument("--graph", metavar="NAME", help="graph to simulate when the module has several")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks of internal errors")
    return parser


def parse_quantize_options(text: str | None) -> dict[str, object] | None:
    """Return `key=value` pairs separated by spaces as a dict of ints, floats, booleans and strings."""
    if not text:
        return None
    options: dict[str, object] = {}
    for item in text.split():
        key, equals, value = item.partition("=")
        if not equals or not key:
            raise DiagnosticError(f"invalid --quantize option '{item}'; expected NAME=VALUE, e.g. weight-bits=8")
        options[key] = _option_value(value)
    return options


def _option_value(text: str) -> object:
    if text in ("true", "false"):
        return text == "true"
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


def check_preset(name: str | None) -> None:
    if name is not None and name not in PRESET_NAMES:
        raise DiagnosticError(f"unknown preset '{name}'; expected one of {', '.join(PRESET_NAMES)}")


def read_inputs(args, program) -> tuple[dict, bool]:
    """Return input node -> array from the --input flags, and whether the arrays have a batch axis."""
    from nirmlir.simulator.io import read_input

    if not args.input:
        raise DiagnosticError("no input data; give --input FILE (.npy, .npz, .csv or a NIR data file)")
    columns = args.input_columns.split(",") if args.input_columns else None
    arrays = {}
    for spec in args.input:
        node, equals, path = spec.partition("=")
        if not equals or node not in program.inputs:
            node, path = None, spec
        if node is None:
            if len(program.inputs) != 1:
                names = ", ".join(program.inputs)
                raise DiagnosticError(f"the graph has several inputs ({names}); give --input NODE=FILE for each")
            node = next(iter(program.inputs))
        arrays[node] = read_input(
            path, program.inputs[node], columns=columns, key=args.input_key, dt=program.dt, node=node
        )
    name, data = next(iter(arrays.items()))
    return arrays, data.ndim == len(program.inputs[name]) + 2


def describe(level: str, preset: str | None) -> str:
    return f"{level} ({preset})" if preset else level


def print_comparison(first: str, second: str, rows) -> None:
    def number(value: float | None, form: str) -> str:
        return "-" if value is None else format(value, form)

    print(f"comparison: {first} vs {second}")
    width = max([len("node")] + [len(row.node) for row in rows])
    print(f"{'node':<{width}}  {'spike agreement':>15}  {'spike cosine':>12}  {'max |dv| (V)':>12}  {'max |di|':>10}")
    for row in rows:
        print(
            f"{row.node:<{width}}  {number(row.spike_agreement, '.6f'):>15}  {number(row.spike_cosine, '.6f'):>12}  "
            f"{number(row.max_voltage_error, '.3e'):>12}  {number(row.max_current_error, '.3e'):>10}"
        )


def print_summary(traces) -> None:
    """Print the shape of each trace and the spike total of spike traces."""
    for node, keys in traces.items():
        for key, array in keys.items():
            detail = f"  {int(array.sum())} spikes" if key == "spikes" else ""
            print(f"{node}/{key}: shape {list(array.shape)}{detail}")


def check_precision_applies(args, level: str, precision_given: bool) -> None:
    """Reject a float precision for a level that computes in integers (fxp and the chip levels)."""
    if level == "snn":
        return
    if precision_given and args.compare != "snn":
        raise DiagnosticError(
            f"--precision {args.precision} sets the float dtype of the snn level, but the {level} level "
            "computes in integers; remove --precision"
        )
    if args.compare in PRECISION_NAMES:
        raise DiagnosticError(
            f"--compare {args.compare} compares float precisions of the snn level, but the {level} level "
            "computes in integers; compare with another level (--compare snn for a nir-level model) or "
            "remove --compare"
        )


def check_compare(name: str | None) -> None:
    if name is not None and name not in LEVEL_NAMES + PRESET_NAMES + PRECISION_NAMES:
        raise DiagnosticError(
            f"unknown --compare '{name}'; expected a level ({', '.join(LEVEL_NAMES)}), a preset "
            f"({', '.join(PRESET_NAMES)}) or a precision ({', '.join(PRECISION_NAMES)})"
        )


def check_levels_apply(args, model_level: str) -> None:
    """Reject --level, --compare LEVEL and --quantize where the model's level makes them meaningless.

    A chip-level model runs only as it is, and --quantize is used only by a run that
    quantizes a nir or snn model to the fxp level.
    """
    from nirmlir.api import LEVELS

    if model_level not in LEVELS:
        for flag, value in (("--level", args.level), ("--compare", args.compare)):
            if value in LEVEL_NAMES:
                raise DiagnosticError(
                    f"{flag} {value} needs a model at the nir, snn or fxp level, but '{args.model}' is at the "
                    f"{model_level} level, which runs only as it is; remove {flag}"
                )
    target = args.level or ("snn" if model_level == "nir" else model_level)
    quantizes = model_level in ("nir", "snn") and "fxp" in (target, args.compare)
    if args.quantize and not quantizes:
        raise DiagnosticError(
            f"--quantize is unused: '{args.model}' is at the {model_level} level and runs at the {target} level, "
            "without quantizing. Add --level fxp or --compare fxp (for a nir or snn model), or remove --quantize"
        )


def run(args) -> int:
    from nirmlir import api

    check_preset(args.preset)
    check_compare(args.compare)
    check_output_paths(args.output, args.plot)
    check_distinct_outputs([("-o", args.output), ("--plot", args.plot)])
    precision_given = args.precision is not None
    args.precision = args.precision or "float64"
    quantize = parse_quantize_options(args.quantize)
    module = api.load(args.model, relax_output_shapes=args.relax_output_shapes)
    model_level = api.module_level(module)
    check_levels_apply(args, model_level)
    if model_level != "nir" and args.preset is not None:
        print(f"nir-run: note: '{args.model}' is already at the {model_level} level, so --preset is not used", file=sys.stderr)
    try:
        program = api.prepare(
            module,
            preset=args.preset,
            dt=args.dt,
            level=args.level,
            quantize=quantize,
            graph=args.graph,
            filename=args.model,
            precision=args.precision,
        )
    except DiagnosticError as error:
        from nirmlir.passes.discretize import MISSING_DT_MESSAGE

        if error.message == MISSING_DT_MESSAGE:
            error.diagnostic.message = "the model has no metadata dt; give the step length with --dt SECONDS"
        raise
    check_precision_applies(args, program.level, precision_given)
    inputs, batched = read_inputs(args, program)
    traces = api.run_program(program, inputs, record=args.record, integers=args.integers, threads=args.threads)
    primary = describe(program.level, args.preset if model_level == "nir" else None)
    if args.precision != "float64" and program.level == "snn":
        primary += f" {args.precision}"

    # The second configuration runs before any file is written, so its errors leave the outputs as they were.
    comparison = compare_configuration(args, module, model_level, inputs, batched, traces, quantize, primary)
    if args.output:
        from nirmlir.simulator.io import write_traces

        selected = [item for item in args.record if "/" in item and item.rsplit("/", 1)[0] in program.by_name]
        write_traces(args.output, traces, batched, select=selected[0] if len(selected) == 1 else None)
    if args.plot:
        from nirmlir.simulator.plot import plot_traces

        order = [kernel.node_name for kernel in program.kernels]
        plot_traces(args.plot, traces, program.dt, batched, title=f"{args.model}: {primary}", order=order)
    if comparison is not None:
        print_comparison(*comparison)
    if not (args.output or args.plot or args.compare):
        print_summary(traces)
    return EXIT_OK


def compare_configuration(args, module, model_level: str, inputs, batched: bool, traces, quantize, primary: str):
    """Run the --compare configuration; return the arguments of print_comparison, or None without --compare."""
    from nirmlir import api
    from nirmlir.simulator.compare import compare_traces

    if not args.compare:
        return None
    other_preset, other_level, other_precision = args.preset, args.level, args.precision
    if args.compare in LEVEL_NAMES:
        other_level = args.compare
    elif args.compare in PRECISION_NAMES:
        other_precision = args.compare
    elif args.compare in PRESET_NAMES:
        if model_level != "nir":
            raise DiagnosticError(
                f"--compare {args.compare} needs a nir-level model, but '{args.model}' is at the {model_level} level"
            )
        other_preset = args.compare
    other = api.prepare(
        module,
        preset=other_preset,
        dt=args.dt,
        level=other_level,
        quantize=quantize,
        graph=args.graph,
        filename=args.model,
        precision=other_precision,
    )
    # A node that only the first configuration has (a synapse delay of one preset) is skipped.
    shared = [item for item in args.record if item in other.by_name or item.rsplit("/", 1)[0] in other.by_name]
    other_traces = api.run_program(other, inputs, record=shared, threads=args.threads)
    second = describe(other.level, other_preset if model_level == "nir" else None)
    if other_precision != "float64" and other.level == "snn":
        second += f" {other_precision}"
    return primary, second, compare_traces(traces, other_traces, batched)


def main(argv: list[str] | None = None) -> int:
    args = build_argument_parser().parse_args(sys.argv[1:] if argv is None else argv)
    return run_guarded(lambda: run(args), args.debug, "nir-run")


if __name__ == "__main__":
    sys.exit(main())

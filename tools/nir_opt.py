"""nir-opt: parse, verify, transform and print nirmlir IR, in the style of mlir-opt.

    nir-opt model.mlir -p 'discretize{dt=1e-4 preset=norse},quantize'
    nir-opt --lower-to-fixedpoint model.nir -o model.fxp.mlir
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time

from nirmlir.diagnostics import Diagnostic, DiagnosticError, emit_warning
from nirmlir.pipeline import parse_pass_pipeline
from nirmlir.registry import available_passes, pass_summary

from .common import (
    EXIT_FAILURE,
    EXIT_OK,
    attach_location,
    check_distinct_outputs,
    check_output_paths,
    has_hdf5_signature,
    is_hdf5_path,
    locator,
    read_text,
    report,
    run_guarded,
    use_one_blas_thread,
    write_text,
)

_SPLIT_MARKER = re.compile(r"^// -----\s*$", re.MULTILINE)


def extract_pass_flags(argv: list[str]) -> tuple[list[str], list[str]]:
    """Split `--<pass>` and `--<pass>=options` flags out of argv, keeping their order.

    Options attach only with `=`, as in mlir-opt, so `--lower-to-fixedpoint model.nir`
    never takes the input file for the pass options.
    """
    remaining, pipeline = [], []
    names = set(available_passes())
    bare_pass = None
    for argument in argv:
        name, equals, options = argument[2:].partition("=")
        if argument.startswith("--") and name in names:
            pipeline.append(f"{name}{{{options}}}" if equals and options else name)
            bare_pass = None if equals else name
            continue
        if bare_pass is not None and _OPTION_ASSIGNMENT.fullmatch(argument) and not os.path.exists(argument):
            build_argument_parser().error(
                f"'{argument}' after --{bare_pass} looks like a pass option, but options attach "
                f"to the pass with '=': --{bare_pass}={argument} (or -p '{bare_pass}{{{argument}}}')"
            )
        bare_pass = None
        remaining.append(argument)
    return remaining, pipeline


_OPTION_ASSIGNMENT = re.compile(r"[A-Za-z][\w-]*=\S*")


def build_argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nir-opt",
        description="Parse, verify, transform and print nirmlir IR (text .mlir or NIR HDF5 .nir).",
    )
    parser.add_argument(
        "input",
        nargs="?",
        default="-",
        help="input file: .mlir text, or NIR HDF5 for the extensions .nir, .h5 and .hdf5 "
        "(default: stdin, read as HDF5 when it starts with the HDF5 signature)",
    )
    parser.add_argument("-o", "--output", default="-", help="output file (default: stdout)")
    parser.add_argument(
        "-p",
        "--pass-pipeline",
        action="append",
        default=[],
        metavar="PIPELINE",
        help="passes to run, e.g. 'discretize{dt=1e-4 preset=norse},quantize' or "
        "'builtin.module(discretize,quantize)'",
    )
    passes = parser.add_argument_group(
        "passes (options attach with '=': --NAME='option=value option=value')"
    )
    for name in available_passes():
        passes.add_argument(
            f"--{name}",
            action="store_true",
            help=argparse.SUPPRESS if name.startswith("test-") else pass_summary(name),
        )
    parser.add_argument(
        "--help-passes",
        action="store_true",
        help="list every pass with its options, defaults and units, then exit",
    )
    parser.add_argument(
        "--split-input-file",
        action="store_true",
        help="process each chunk between '// -----' lines as its own module",
    )
    parser.add_argument(
        "--relax-output-shapes",
        action="store_true",
        help="accept an HDF5 Output whose declared shape has as many elements as the shape it receives, and use the latter",
    )
    parser.add_argument(
        "--verify-diagnostics",
        action="store_true",
        help="check the diagnostics against '// expected-error {{...}}' annotations",
    )
    parser.add_argument(
        "--print-op-generic", action="store_true", help="print every op in the generic form"
    )
    parser.add_argument(
        "--mlir-print-ir-after-all",
        action="store_true",
        help="print the module to stderr after each pass",
    )
    parser.add_argument(
        "--mlir-timing", action="store_true", help="print the time of each stage to stderr"
    )
    parser.add_argument(
        "--view-op-graph",
        metavar="FILE",
        help="write the graphs after the passes as Graphviz DOT: one node per op, one edge per use, "
        "a cluster per graph and per core; '--view-op-graph=FILE.dot' (or .gv) also writes FILE.png when "
        "Graphviz's dot is on PATH, '--view-op-graph=FILE.png' writes only the PNG (needs dot), and a bare "
        "'--view-op-graph' prints the DOT on stdout instead of the module",
    )
    parser.add_argument(
        "--mlir-elide-elementsattrs-if-larger",
        type=int,
        default=None,
        metavar="N",
        help="print tensors with more than N elements as dense_resource<__elided__>",
    )
    parser.add_argument(
        "--mlir-print-elementsattrs-with-hex-if-larger",
        type=int,
        default=16,
        metavar="N",
        help="print tensors with more than N elements as hex strings (default: 16; -1: never)",
    )
    parser.add_argument(
        "--quantization-report",
        metavar="FILE",
        help="write the report of lower-to-fixedpoint or quantize as JSON: scales, parameter errors, "
        "ranges and, with --calibration-input, spike agreement per neuron group",
    )
    parser.add_argument(
        "--calibration-input",
        metavar="FILE",
        help="input data (.npy, .npz, .csv or NIR data) for lower-to-fixedpoint and quantize: sizes the "
        "states under calibrate=true and gives the report's spike agreement; for map-to-cores: gives the "
        "firing rates of the traffic",
    )
    parser.add_argument(
        "--mapping-report",
        metavar="FILE",
        help="write the report of map-to-cores as JSON (cores used, per-core occupancy, spike traffic, "
        "mapping time) and print it as a table on stderr",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="print the quantization report as a table on stderr"
    )
    parser.add_argument(
        "--disable-verify", action="store_true", help="do not verify after parsing and each pass"
    )
    parser.add_argument(
        "--debug", action="store_true", help="show Python tracebacks of internal errors"
    )
    return parser


def split_chunks(text: str, split: bool) -> list[tuple[str, int]]:
    """Return (chunk, line offset) pairs; one chunk unless ``split`` is set."""
    if not split:
        return [(text, 0)]
    chunks = []
    start, line_offset = 0, 0
    for marker in _SPLIT_MARKER.finditer(text):
        chunk = text[start : marker.start()]
        chunks.append((chunk, line_offset))
        line_offset += chunk.count("\n") + 1
        start = marker.end() + 1
    chunks.append((text[start:], line_offset))
    return chunks


def print_pass_help() -> None:
    """Print every registered pass with its options (imports the passes).

    A plugin pass that fails to load is reported and skipped, so the others are still listed.
    """
    from nirmlir.registry import describe_options

    for name in available_passes():
        print(f"{name}: {pass_summary(name)}")
        try:
            options = describe_options(name)
        except DiagnosticError as error:
            report(error.diagnostic)
            print()
            continue
        for option, default, description in options:
            shown = f" (default: {default})" if default not in ("", "None") else ""
            print(f"    {option}{shown}: {description}")
        print()


class _Timer:
    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.rows: list[tuple[str, float]] = []

    def measure(self, label: str, start: float) -> None:
        if self.enabled:
            self.rows.append((label, time.perf_counter() - start))

    def print(self) -> None:
        if not self.enabled:
            return
        total = sum(seconds for _, seconds in self.rows)
        print("===- nir-opt timing -===", file=sys.stderr)
        for label, seconds in self.rows:
            print(f"  {seconds * 1000:10.2f} ms  {label}", file=sys.stderr)
        print(f"  {total * 1000:10.2f} ms  total", file=sys.stderr)


def _print_options(args) -> dict:
    return {
        "generic": args.print_op_generic,
        "hex_threshold": args.mlir_print_elementsattrs_with_hex_if_larger,
        "elide_threshold": args.mlir_elide_elementsattrs_if_larger,
    }


def warning_diagnostics(caught, locate, filename: str) -> list[Diagnostic]:
    """Turn caught Python warnings into diagnostics; foreign warnings become plain ones."""
    import dataclasses

    from nirmlir.diagnostics import DiagnosticWarning, Location, Severity

    diagnostics = []
    for item in caught:
        warning = item.message
        if isinstance(warning, DiagnosticWarning):
            diagnostic = warning.diagnostic
            if locate is not None and warning.op is not None:
                diagnostic.location = locate(warning.op) or diagnostic.location
        else:
            diagnostic = Diagnostic(Severity.WARNING, str(warning), Location())
        location = diagnostic.location
        if location.file == Location().file and (location.node_path or location.field):
            diagnostic.location = dataclasses.replace(location, file=filename)
        diagnostics.append(diagnostic)
    return diagnostics


def process_module(module, ctx, args, passes, timer: _Timer, locate, verified: bool = False) -> str:
    """Verify (unless ``verified``), run the passes and return the printed module."""
    from nirmlir.pipeline import apply_pass
    from nirmlir.printer import module_to_text
    from nirmlir.verification import verify_module

    if not args.disable_verify and not verified:
        start = time.perf_counter()
        verify_module(module, locate)
        timer.measure("verify", start)

    for pass_instance in passes:
        start = time.perf_counter()
        try:
            apply_pass(pass_instance, ctx, module)
        except DiagnosticError as error:
            attach_location(error, locate, args.display_name)
            raise
        timer.measure(pass_instance.name, start)
        if not args.disable_verify:
            start = time.perf_counter()
            try:
                verify_module(module, locate)
            except DiagnosticError as error:
                error.diagnostic.message = (
                    f"{error.diagnostic.message} (after pass '{pass_instance.name}')"
                )
                raise
            timer.measure(f"verify after {pass_instance.name}", start)
        if args.mlir_print_ir_after_all:
            print(f"// -----// IR Dump After {pass_instance.name} //----- //", file=sys.stderr)
            print(module_to_text(module, **_print_options(args)), file=sys.stderr)
    if args.view_op_graph is not None:
        from nirmlir.op_graph import module_to_dot

        start = time.perf_counter()
        args.op_graphs.append(module_to_dot(module, os.path.basename(args.display_name)))
        timer.measure("view-op-graph", start)
    start = time.perf_counter()
    text = module_to_text(module, **_print_options(args))
    timer.measure("print", start)
    return text


def check_print_options(args) -> None:
    """Validate the printing thresholds; -1 for the hex threshold means never hex."""
    hex_threshold = args.mlir_print_elementsattrs_with_hex_if_larger
    if hex_threshold < -1:
        raise DiagnosticError(
            f"invalid --mlir-print-elementsattrs-with-hex-if-larger {hex_threshold}; expected "
            "a number of elements, or -1 to never print hex"
        )
    if hex_threshold == -1:
        args.mlir_print_elementsattrs_with_hex_if_larger = sys.maxsize
    elide = args.mlir_elide_elementsattrs_if_larger
    if elide is not None and elide < 0:
        raise DiagnosticError(
            f"invalid --mlir-elide-elementsattrs-if-larger {elide}; expected a number of "
            "elements (0 or more)"
        )


def run_chunk(chunk: str, line_offset: int, filename: str, ctx, args, passes, timer, locate):
    """Parse and process one chunk; return (printed text or None, diagnostics)."""
    import warnings

    from nirmlir.parser import parse_module

    diagnostics: list[Diagnostic] = []
    text = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            start = time.perf_counter()
            module = parse_module(chunk, ctx, filename, line_offset)
            timer.measure("parse", start)
            text = process_module(module, ctx, args, passes, timer, locate)
        except DiagnosticError as error:
            diagnostics.append(error.diagnostic)
    return text, warning_diagnostics(caught, locate, filename) + diagnostics


def run(args) -> int:
    from nirmlir.context import make_context

    check_print_options(args)
    timer = _Timer(args.mlir_timing)
    passes = with_calibration_input(pipeline_passes(args), args.calibration_input)
    ctx = make_context()

    source, filename = read_input(args.input)
    args.display_name = filename
    if not isinstance(source, str):
        if args.split_input_file or args.verify_diagnostics:
            raise DiagnosticError(
                "--split-input-file and --verify-diagnostics need text input, not a .nir file"
            )
        return run_hdf5(source, filename, ctx, args, passes, timer)

    locate = locator()
    outputs: list[str] = []
    problems: list[Diagnostic] = []
    failed = False
    for chunk, line_offset in split_chunks(source, args.split_input_file):
        text, diagnostics = run_chunk(chunk, line_offset, filename, ctx, args, passes, timer, locate)
        if text is not None:
            outputs.append(text)
        if args.verify_diagnostics:
            from nirmlir.expected_diagnostics import check_diagnostics, collect_expected

            expected = collect_expected(chunk, line_offset, filename)
            problems.extend(check_diagnostics(diagnostics, expected, filename))
            continue
        for diagnostic in diagnostics:
            report(diagnostic)
        if text is None:
            failed = True
            if not args.split_input_file:
                break

    if outputs and not problems and not (failed and not args.split_input_file):
        write_module_text(args, "// -----\n".join(outputs))
    timer.print()
    for problem in problems:
        report(problem)
    return EXIT_FAILURE if failed or problems else EXIT_OK


def run_hdf5(source: bytes | None, filename: str, ctx, args, passes, timer) -> int:
    """Import a NIR HDF5 file (the path ``filename``, or bytes read from stdin) and process it."""
    import io
    import warnings

    from nirmlir.hdf5 import import_nir

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            start = time.perf_counter()
            stream = io.BytesIO(source) if source is not None else filename
            module = import_nir(stream, ctx, filename=filename, relax_output_shapes=args.relax_output_shapes)
            timer.measure("import HDF5", start)
            # import_nir verifies the module it returns.
            text = process_module(module, ctx, args, passes, timer, None, verified=True)
        finally:
            for diagnostic in warning_diagnostics(caught, None, filename):
                report(diagnostic)
    write_module_text(args, text)
    timer.print()
    return EXIT_OK


def write_module_text(args, text: str) -> None:
    """Keep the printed module for run_with_op_graph, which writes it with the other outputs.

    A report that cannot be made, or a picture that Graphviz cannot render, then fails the run
    before the module replaces an existing -o file.
    """
    args.module_text = text


def write_kept_module(args) -> None:
    """Write the kept module to -o, except to stdout when a bare --view-op-graph prints the DOT there."""
    text, args.module_text = args.module_text, None
    if text is None:
        return
    if args.view_op_graph == "-" and args.output in (None, "-"):
        return
    write_text(args.output, text)


def run_with_mapping_report(args) -> int:
    """Run nir-opt; write map-to-cores' report to --mapping-report and print it as a table on stderr."""
    if args.mapping_report is None:
        return run_with_quantization_report(args)
    from nirmlir.mapping.report import collect_reports, format_table, write_report

    with collect_reports() as documents:
        status = run_with_quantization_report(args)
    if status != EXIT_OK:
        return status
    if not documents:
        # check_report_requests made sure that the pipeline has map-to-cores.
        raise DiagnosticError("--mapping-report has nothing to report: map-to-cores found no fxp or chip graph in the "
                              "module; lower the graphs with lower-to-fixedpoint first")
    args.pending_reports.append(lambda: write_report(args.mapping_report, documents))
    args.report_tables.append(format_table(documents))
    return status


def run_with_op_graph(args) -> int:
    """Run nir-opt; then write the DOT of --view-op-graph, and its PNG when Graphviz is installed."""
    check_output_paths(args.output, args.view_op_graph, args.mapping_report, args.quantization_report)
    check_op_graph_path(args.view_op_graph)
    check_distinct_outputs(output_flags(args))
    check_input_kept(args.input, [output for output in output_flags(args) if output[0] != "-o"])
    check_input_kept(args.calibration_input, output_flags(args), "the calibration input")
    check_report_requests(args)
    status = run_with_mapping_report(args)
    picture = None
    drawing = status == EXIT_OK and args.view_op_graph is not None
    if drawing and not args.op_graphs:
        emit_warning(f"--view-op-graph: no module came out of the run, so '{args.view_op_graph}' is not written")
        drawing = False
    if drawing and args.view_op_graph.lower().endswith(".png"):
        from nirmlir.op_graph import png_of

        if len(args.op_graphs) > 1:
            raise DiagnosticError(f"--view-op-graph: a PNG file contains one picture, but --split-input-file gave "
                                  f"{len(args.op_graphs)} modules; give a .dot file, which contains a graph per module")
        # Rendered before any file is written, so a failing Graphviz leaves every output as it was.
        picture = png_of(args.op_graphs[0], args.view_op_graph)
    from nirmlir.atomic import output_group

    # The files replace their old versions together, or none does when one write fails.
    with output_group():
        write_kept_module(args)
        for write in args.pending_reports:
            write()
        if picture is not None:
            from nirmlir.op_graph import write_png

            write_png(picture, args.view_op_graph)
        elif drawing:
            write_text(args.view_op_graph, "\n".join(args.op_graphs))
    # The report tables go to stderr after the module, so a reader of both streams gets the module first.
    for table in args.report_tables:
        print(table, file=sys.stderr)
    if drawing and picture is None and args.view_op_graph != "-":
        from nirmlir.op_graph import render_png

        render_png(args.view_op_graph, len(args.op_graphs))
    return status


def output_flags(args) -> list[tuple[str, str | None]]:
    """Return (flag, path) of every file this run writes, including the PNG beside a DOT file."""
    import shutil

    outputs = [
        ("-o", args.output),
        ("--view-op-graph", args.view_op_graph),
        ("--mapping-report", args.mapping_report),
        ("--quantization-report", args.quantization_report),
    ]
    graph = args.view_op_graph
    if graph not in (None, "-") and not graph.lower().endswith(".png") and shutil.which("dot") is not None:
        outputs.append(("the PNG of --view-op-graph", os.path.splitext(graph)[0] + ".png"))
    return outputs


STDOUT_PATHS = ("/dev/stdout", "/dev/fd/1", "/proc/self/fd/1")
"""File names of standard output."""


def check_input_kept(input_path: str | None, outputs: list[tuple[str, str | None]], kind: str = "the input") -> None:
    """Raise DiagnosticError when one of `outputs` would replace an input file of the run.

    For the model input the caller leaves `-o` out, because rewriting a file in place is a
    common use. A report there would lose the module.
    """
    if input_path in (None, "-") or not os.path.isfile(input_path):
        return
    for flag, path in outputs:
        if path not in (None, "-", "") and os.path.isfile(path) and os.path.samefile(path, input_path):
            raise DiagnosticError(f"{flag} would replace {kind} file '{input_path}'; give it its own file")


def check_report_requests(args) -> None:
    """Raise DiagnosticError, before anything runs or is written, for a report that this run cannot write.

    A report goes to a file, because standard output carries the module (or the DOT). A mapping
    report needs map-to-cores in the pipeline.
    """
    for flag, path in (("--mapping-report", args.mapping_report), ("--quantization-report", args.quantization_report)):
        if path == "-" or path in STDOUT_PATHS:
            raise DiagnosticError(f"{flag} writes JSON to a file, and standard output carries the module; give a file name")
    if args.mapping_report is not None and not any(instance.name == "map-to-cores" for instance in pipeline_passes(args)):
        raise DiagnosticError("--mapping-report needs map-to-cores in the pipeline")


def pipeline_passes(args) -> list:
    """Return the passes of -p and the pass flags, in order, parsed once per run."""
    if args.passes is None:
        args.passes = parse_pass_pipeline(list(args.pass_pipeline) + list(args.flag_passes))
    return args.passes


def check_op_graph_path(path: str | None) -> None:
    """Reject a --view-op-graph file name whose suffix is not .dot, .gv or .png, or .png without Graphviz."""
    if path in (None, "-"):
        return
    import shutil

    from nirmlir.op_graph import DOT_SUFFIXES, PNG_NEEDS_GRAPHVIZ_MESSAGE

    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".png":
        if shutil.which("dot") is None:
            raise DiagnosticError(PNG_NEEDS_GRAPHVIZ_MESSAGE.format(path=path))
    elif suffix not in DOT_SUFFIXES:
        raise DiagnosticError(
            f"--view-op-graph writes DOT text to a .dot or .gv file, or a PNG picture (with Graphviz) "
            f"to a .png file; '{path}' has neither suffix"
        )


def read_input(path: str | None) -> tuple[str | bytes | None, str]:
    """Return (source, display name) of the input.

    The source is the text of a text input, the bytes of an HDF5 file read from stdin
    (recognised by the HDF5 signature, so `cat model.nir | nir-opt` works), or None for
    a path with a NIR HDF5 extension, which h5py reads itself.
    """
    if is_hdf5_path(path):
        if not os.path.exists(path):
            raise DiagnosticError(f"input file '{path}' not found")
        return None, path
    if path in (None, "-"):
        data = sys.stdin.buffer.read()
        if has_hdf5_signature(data):
            return data, "<stdin>"
        try:
            return data.decode("utf-8"), "<stdin>"
        except UnicodeDecodeError as error:
            raise DiagnosticError(
                f"standard input is neither UTF-8 text nor an HDF5 file (invalid byte at "
                f"offset {error.start})"
            ) from None
    return read_text(path)


def with_calibration_input(passes: list, path: str | None) -> list:
    """Give --calibration-input to every quantizing pass that does not name its own calibration-input."""
    if path is None:
        return passes
    import dataclasses

    quantizing = [index for index, instance in enumerate(passes) if hasattr(instance, "calibration_input")]
    if not quantizing:
        raise DiagnosticError("--calibration-input needs lower-to-fixedpoint or quantize in the pipeline (or map-to-cores)")
    passes = list(passes)
    for index in quantizing:
        if passes[index].calibration_input is None:
            passes[index] = dataclasses.replace(passes[index], calibration_input=path)
    return passes


def run_with_quantization_report(args) -> int:
    """Run nir-opt; write the quantizing passes' report to --quantization-report and print it with -v."""
    if args.quantization_report is None and not args.verbose:
        return run(args)
    from nirmlir.quantization_report import collect_reports, format_table, merge_documents, write_report

    with collect_reports() as documents:
        status = run(args)
    if status != EXIT_OK:
        return status
    if not documents:
        if args.quantization_report is None:
            return status
        # The quantizing passes are those with a calibration input, except map-to-cores.
        if any(hasattr(instance, "calibration_input") and instance.name != "map-to-cores" for instance in pipeline_passes(args)):
            raise DiagnosticError("--quantization-report has nothing to report: no graph reached the quantizing pass")
        raise DiagnosticError("--quantization-report needs lower-to-fixedpoint or quantize in the pipeline")
    document = merge_documents(documents)
    if args.quantization_report is not None:
        args.pending_reports.append(lambda: write_report(args.quantization_report, document))
    if args.verbose:
        args.report_tables.append(format_table(document))
    return status


def report_plugin_problems() -> None:
    """Print a warning for each plugin pass or dialect entry point that is ignored."""
    from nirmlir.plugins import plugin_problems

    for problem in plugin_problems():
        report(problem)


def main(argv: list[str] | None = None) -> int:
    use_one_blas_thread()
    report_plugin_problems()
    remaining, flag_passes = extract_pass_flags(sys.argv[1:] if argv is None else argv)
    # The file attaches only with '=', so `--view-op-graph model.mlir` keeps the input file.
    remaining = ["--view-op-graph=-" if argument == "--view-op-graph" else argument for argument in remaining]
    args = build_argument_parser().parse_args(remaining)
    # Standard output named as a file is standard output, so the atomic rename cannot replace it.
    args.output = "-" if args.output in STDOUT_PATHS else args.output
    args.view_op_graph = "-" if args.view_op_graph in STDOUT_PATHS else args.view_op_graph
    args.flag_passes = flag_passes
    args.passes = None
    args.op_graphs = []
    args.module_text = None
    args.report_tables = []
    # Report files are written with the module, once the whole run has succeeded.
    args.pending_reports = []
    if args.help_passes:
        return run_guarded(lambda: print_pass_help() or EXIT_OK, args.debug, "nir-opt")
    return run_guarded(lambda: run_with_op_graph(args), args.debug, "nir-opt")


if __name__ == "__main__":
    sys.exit(main())


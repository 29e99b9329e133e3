"""nir-opt: parse, verify, transform and print nirmlir IR, in the style of mlir-opt.

    nir-opt model.mlir -p 'discretize{dt=1e-4 preset=norse},quantize'
    nir-opt --lower-to-fixedpoint model.nir -o model.fxp.mlir
"""

from __future__ import annotations

import argparse
import re
import sys
import time

from nirmlir.diagnostics import Diagnostic, DiagnosticError
from nirmlir.registry import PASSES

from .common import (
    EXIT_FAILURE,
    EXIT_OK,
    import_hdf5,
    is_hdf5_path,
    locator,
    read_text,
    report,
    run_guarded,
    write_text,
)

_SPLIT_MARKER = re.compile(r"^// -----\s*$", re.MULTILINE)


def extract_pass_flags(argv: list[str]) -> tuple[list[str], list[str]]:
    """Split `--<pass>` and `--<pass>=options` flags out of argv, keeping their order.

    Options attach only with `=`, as in mlir-opt, so `--lower-to-fixedpoint model.nir`
    never takes the input file for the pass options.
    """
    remaining, pipeline = [], []
    for argument in argv:
        name, equals, options = argument[2:].partition("=")
        if argument.startswith("--") and name in PASSES:
            pipeline.append(f"{name}{{{options}}}" if equals and options else name)
        else:
            remaining.append(argument)
    return remaining, pipeline


def build_argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nir-opt",
        description="Parse, verify, transform and print nirmlir IR (text .mlir or NIR HDF5 .nir).",
    )
    parser.add_argument(
        "input",
        nargs="?",
        default="-",
        help="input file: .mlir text or .nir HDF5, chosen by extension (default: stdin, text)",
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
    for name in sorted(PASSES):
        passes.add_argument(
            f"--{name}",
            action="store_true",
            help=argparse.SUPPRESS if name.startswith("test-") else f"run the {name} pass",
        )
    parser.add_argument(
        "--split-input-file",
        action="store_true",
        help="process each chunk between '// -----' lines as its own module",
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
        help="print tensors with more than N elements as hex strings (default: 16)",
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


def parse_pipeline(specs: list[str]):
    """Turn pipeline strings into ModulePass instances, with diagnostics for bad names."""
    from xdsl.utils.arg_spec import parse_pipeline as parse_arg_specs
    from xdsl.utils.exceptions import ArgSpecParseError

    from nirmlir.registry import load_pass

    passes = []
    for spec in specs:
        spec = spec.strip()
        wrapped = re.fullmatch(r"builtin\.module\((.*)\)", spec, re.DOTALL)
        if wrapped:
            spec = wrapped.group(1)
        if not spec:
            continue
        try:
            arg_specs = list(parse_arg_specs(spec))
        except (ArgSpecParseError, ValueError) as error:
            # xDSL 0.74's ArgSpecParseError derives from BaseException, not Exception.
            detail = " ".join(str(error).split())
            raise DiagnosticError(f"invalid pass pipeline '{spec}': {detail}") from None
        for arg_spec in arg_specs:
            if arg_spec.name not in PASSES:
                raise DiagnosticError(
                    f"unknown pass '{arg_spec.name}'; available passes: "
                    + ", ".join(sorted(PASSES))
                )
            pass_class = load_pass(arg_spec.name)
            try:
                passes.append(pass_class.from_pass_spec(arg_spec))
            except (ValueError, TypeError) as error:
                raise DiagnosticError(
                    f"invalid options for pass '{arg_spec.name}': {error}"
                ) from None
    return passes


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


def process_module(module, ctx, args, passes, timer: _Timer, locate) -> str:
    """Verify, run the passes and return the printed module."""
    from nirmlir.printer import module_to_text
    from nirmlir.verification import verify_module

    if not args.disable_verify:
        start = time.perf_counter()
        verify_module(module, locate)
        timer.measure("verify", start)
    for pass_instance in passes:
        start = time.perf_counter()
        pass_instance.apply(ctx, module)
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
    start = time.perf_counter()
    text = module_to_text(module, **_print_options(args))
    timer.measure("print", start)
    return text


def run(args) -> int:
    from nirmlir.context import make_context

    timer = _Timer(args.mlir_timing)
    specs = list(args.pass_pipeline) + list(args.flag_passes)
    passes = parse_pipeline(specs)
    ctx = make_context()

    if is_hdf5_path(args.input):
        if args.split_input_file or args.verify_diagnostics:
            raise DiagnosticError(
                "--split-input-file and --verify-diagnostics need text input, not a .nir file"
            )
        start = time.perf_counter()
        module = import_hdf5(args.input, ctx)
        timer.measure("import HDF5", start)
        text = process_module(module, ctx, args, passes, timer, None)
        write_text(args.output, text)
        timer.print()
        return EXIT_OK

    from nirmlir.parser import parse_module

    source, filename = read_text(args.input)
    locate = locator()
    outputs: list[str] = []
    problems: list[Diagnostic] = []
    failed = False
    for chunk, line_offset in split_chunks(source, args.split_input_file):
        produced: list[Diagnostic] = []
        try:
            start = time.perf_counter()
            module = parse_module(chunk, ctx, filename, line_offset)
            timer.measure("parse", start)
            outputs.append(process_module(module, ctx, args, passes, timer, locate))
        except DiagnosticError as error:
            if not args.verify_diagnostics:
                report(error.diagnostic)
                failed = True
                if not args.split_input_file:
                    break
                continue
            produced.append(error.diagnostic)
        if args.verify_diagnostics:
            from nirmlir.expected_diagnostics import check_diagnostics, collect_expected

            expected = collect_expected(chunk, line_offset)
            problems.extend(check_diagnostics(produced, expected, filename))

    if outputs and not (failed and not args.split_input_file):
        write_text(args.output, "// -----\n".join(outputs))
    timer.print()
    for problem in problems:
        report(problem)
    return EXIT_FAILURE if failed or problems else EXIT_OK


def main(argv: list[str] | None = None) -> int:
    remaining, flag_passes = extract_pass_flags(sys.argv[1:] if argv is None else argv)
    args = build_argument_parser().parse_args(remaining)
    args.flag_passes = flag_passes
    return run_guarded(lambda: run(args), args.debug, "nir-opt")


if __name__ == "__main__":
    sys.exit(main())


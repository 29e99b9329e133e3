"""nir-translate: convert between NIR HDF5 files and nirmlir textual IR.

    nir-translate --import-nir model.nir -o model.mlir
    nir-translate --export-nir model.mlir -o model.nir
"""

from __future__ import annotations

import argparse
import os
import sys

from nirmlir.diagnostics import DiagnosticError

from .common import (
    EXIT_OK,
    attach_location,
    import_hdf5,
    locator,
    read_text,
    run_guarded,
    use_one_blas_thread,
    write_text,
)


def build_argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nir-translate",
        description="Translate between NIR HDF5 files (.nir) and nirmlir textual IR (.mlir).",
    )
    direction = parser.add_mutually_exclusive_group(required=True)
    direction.add_argument(
        "--import-nir",
        action="store_true",
        help="read a NIR HDF5 file and print the nir dialect",
    )
    direction.add_argument(
        "--export-nir",
        action="store_true",
        help="read nir-dialect text and write a NIR HDF5 file that nir.read loads",
    )
    direction.add_argument(
        "--speck-json",
        action="store_true",
        help="read speck-dialect text and write its Speck configuration as JSON with samna's field names",
    )
    direction.add_argument(
        "--spinnaker2-json",
        action="store_true",
        help="read spinnaker2-dialect text and write its populations, projections and run settings as JSON",
    )
    direction.add_argument(
        "--spinnaker2-script",
        action="store_true",
        help="read spinnaker2-dialect text and write a Python script that builds and runs it with py-spinnaker2",
    )
    direction.add_argument(
        "--xylo-spec",
        action="store_true",
        help="read xylo-dialect text and write the Rockpool specification of its graph as JSON",
    )
    direction.add_argument(
        "--xylo-config",
        action="store_true",
        help="read xylo-dialect text and write its Xylo configuration as JSON with the vendor's field names",
    )
    direction.add_argument(
        "--loihi2-netx",
        action="store_true",
        help="read loihi2-dialect text and write the lava-dl netx HDF5 file that netx.hdf5.Network loads",
    )
    parser.add_argument("input", nargs="?", default="-", help="input file (default: stdin)")
    parser.add_argument(
        "-o",
        "--output",
        default="-",
        help="output file (default: stdout; --export-nir writes binary HDF5 there only "
        "when stdout is not a terminal)",
    )
    parser.add_argument(
        "--print-op-generic", action="store_true", help="print every op in the generic form"
    )
    parser.add_argument(
        "--mlir-print-elementsattrs-with-hex-if-larger",
        type=int,
        default=16,
        metavar="N",
        help="print tensors with more than N elements as hex strings (default: 16)",
    )
    parser.add_argument(
        "--relax-output-shapes",
        action="store_true",
        help="accept an HDF5 Output whose declared shape has as many elements as the shape it receives, and use the latter",
    )
    parser.add_argument(
        "--no-compression",
        action="store_true",
        help="with --export-nir, write datasets without gzip compression",
    )
    parser.add_argument(
        "--debug", action="store_true", help="show Python tracebacks of internal errors"
    )
    return parser


def run_import(args) -> int:
    from nirmlir.context import make_context
    from nirmlir.printer import module_to_text

    module = import_hdf5(args.input, make_context(), relax_output_shapes=args.relax_output_shapes)
    text = module_to_text(
        module,
        generic=args.print_op_generic,
        hex_threshold=args.mlir_print_elementsattrs_with_hex_if_larger,
    )
    write_text(args.output, text)
    return EXIT_OK


def run_export(args) -> int:
    from nirmlir.context import make_context
    from nirmlir.parser import parse_module
    from nirmlir.verification import verify_module

    text, filename = read_text(args.input)
    module = parse_module(text, make_context(), filename)
    try:
        verify_module(module, locator())
        write_hdf5(module, args)
    except DiagnosticError as error:
        attach_location(error, locator(), filename)
        raise
    return EXIT_OK


def write_hdf5(module, args) -> None:
    """Export a verified nir module to the output file, or to stdout when it is a pipe."""
    from nirmlir.hdf5 import export_nir

    compression = None if args.no_compression else "gzip"
    if args.output in (None, "-"):
        if sys.stdout.isatty():
            raise DiagnosticError(
                "refusing to write binary HDF5 to a terminal; give an output file with -o"
            )
        export_nir(module, sys.stdout.buffer, compression=compression)
        sys.stdout.buffer.flush()
        return
    target = os.path.realpath(args.output)
    if os.path.isdir(target):
        raise DiagnosticError(f"cannot write '{args.output}': it is a folder; give a file name")
    if os.path.exists(target) and not os.path.isfile(target):
        # atomic_output writes a device or FIFO (e.g. /dev/null) in place, because renaming onto
        # it would replace it with a regular file, and names the file when the write fails.
        from nirmlir.atomic import atomic_output

        with atomic_output(target, "wb") as stream:
            export_nir(module, stream, compression=compression)
        return
    export_nir(module, target, compression=compression)


def render_chip_module(args, render, chip: str):
    """Parse and verify the chip-level text input, then return `render(module)`.

    A diagnostic from the verifier or from `render` gets the input's file and line. An empty
    module is rejected first: lower-to-`chip` of a module without a graph succeeds (as
    mlir-opt passes do) and gives one, so the message names the steps that make a graph.
    """
    from nirmlir.context import make_context
    from nirmlir.parser import parse_module
    from nirmlir.verification import verify_module

    text, filename = read_text(args.input)
    module = parse_module(text, make_context(), filename)
    if not module.ops:
        raise DiagnosticError(
            f"the module in '{filename}' is empty, so it has no {chip}.graph to print; a chip lowering of a "
            "module without a graph gives an empty module. Import the model (nir-translate --import-nir "
            f"model.nir -o model.mlir), lower it with nir-opt model.mlir --lower-to-{chip}, and print the result"
        )
    try:
        verify_module(module, locator())
        warn_dropped_placement(module, chip)
        return render(module)
    except DiagnosticError as error:
        attach_location(error, locator(), filename)
        raise


PLACEMENT_OWNERS = {
    "spinnaker2": "py-spinnaker2 splits each population over cores by set_max_atoms_per_core",
    "loihi2": "Intel's compiler places the neurons itself",
}


def warn_dropped_placement(module, chip: str) -> None:
    """Warn when map-to-cores placed neurons of a module whose chip output cannot carry the placement."""
    from nirmlir.diagnostics import emit_warning

    if chip not in PLACEMENT_OWNERS or not any("cores" in op.attributes for op in module.walk()):
        return
    emit_warning(f"the cores that map-to-cores assigned are not part of the {chip} output, because "
                 f"{PLACEMENT_OWNERS[chip]}; the mapping report keeps them")


def print_chip_text(args, printer, chip: str) -> int:
    """Write `printer(module)` of the chip-level input to the output file or stdout."""
    write_text(args.output, render_chip_module(args, printer, chip))
    return EXIT_OK


def run_xylo(args) -> int:
    from nirmlir.printers import xylo as xylo_printer

    return print_chip_text(args, xylo_printer.specification_json if args.xylo_spec else xylo_printer.configuration_json, "xylo")


def run_spinnaker2(args) -> int:
    from nirmlir.printers import spinnaker2 as spinnaker2_printer

    printer = spinnaker2_printer.network_json if args.spinnaker2_json else spinnaker2_printer.python_script
    return print_chip_text(args, printer, "spinnaker2")


def run_speck(args) -> int:
    from nirmlir.printers import speck as speck_printer

    return print_chip_text(args, speck_printer.configuration_json, "speck")


def run_loihi2(args) -> int:
    from nirmlir.printers import loihi2 as loihi2_printer

    def write(module) -> None:
        if args.output not in (None, "-"):
            loihi2_printer.write_netx(module, args.output)
            return
        if sys.stdout.isatty():
            raise DiagnosticError("refusing to write binary HDF5 to a terminal; give an output file with -o")
        loihi2_printer.write_netx(module, sys.stdout.buffer)
        sys.stdout.buffer.flush()

    render_chip_module(args, write, "loihi2")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    use_one_blas_thread()
    args = build_argument_parser().parse_args(argv)
    body = run_import if args.import_nir else run_export
    if args.speck_json:
        body = run_speck
    if args.spinnaker2_json or args.spinnaker2_script:
        body = run_spinnaker2
    if args.xylo_spec or args.xylo_config:
        body = run_xylo
    if args.loihi2_netx:
        body = run_loihi2
    return run_guarded(lambda: body(args), args.debug, "nir-translate")


if __name__ == "__main__":
    sys.exit(main())

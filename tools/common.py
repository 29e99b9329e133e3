"""Helpers that nir-opt and nir-translate share: reading inputs, writing outputs, reporting errors.

Heavy modules (xDSL, h5py, the parser) are imported inside functions, so `--help` and
argument errors never pay for them.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import traceback
from collections.abc import Callable

from nirmlir.diagnostics import Diagnostic, DiagnosticError, Location, PluginPassError
from nirmlir.hdf5_format import HDF5_SIGNATURE

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INTERNAL_ERROR = 70


# Variables that choose the thread count of numpy's BLAS (OpenBLAS, or MKL in some builds).
_BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def use_one_blas_thread() -> None:
    """Set numpy's BLAS to start with one thread, unless the user chose a count.

    OpenBLAS starts one thread per core when numpy is imported, which costs about 50 ms
    on a 2-core machine and more on larger ones, in every `nir-opt` and `nir-translate`
    process (lit runs hundreds). Their work is mostly element-wise, which numpy runs on
    one thread anyway. Call this before numpy is imported; later it changes nothing.
    """
    if "numpy" in sys.modules or any(name in os.environ for name in _BLAS_THREAD_VARIABLES):
        return
    os.environ["OPENBLAS_NUM_THREADS"] = "1"


# Control characters other than newline and tab: names read from a file may contain them,
# and printed raw, an escape sequence would recolour or rewrite the user's terminal.
_CONTROL_CHARACTERS = {code: f"\\x{code:02x}" for code in [*range(0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)]}


def printable(text: str) -> str:
    """Return ``text`` with control characters other than newline and tab written as ``\\xNN``."""
    return text.translate(_CONTROL_CHARACTERS)


MAX_LINE_CHARACTERS = 4000
"""Printed diagnostic lines longer than this lose their middle, because a node type of
200,000 characters once made a 200 KB line. The start names the place and the end the fix."""


def shortened(line: str) -> str:
    """Return ``line``, or its start and end around a count of the characters left out."""
    if len(line) <= MAX_LINE_CHARACTERS:
        return line
    head, tail = MAX_LINE_CHARACTERS * 3 // 4, MAX_LINE_CHARACTERS // 8
    omitted = len(line) - head - tail
    return f"{line[:head]} ... [{omitted} characters omitted] ... {line[-tail:]}"


def report(diagnostic: Diagnostic, tool: str = "nir-opt") -> None:
    """Print a diagnostic MLIR-style on stderr; one without a location names the tool."""
    text = diagnostic.format()
    if diagnostic.location == Location():
        text = f"{tool}: " + text.removeprefix(f"{Location()}: ")
    print("\n".join(shortened(line) for line in printable(text).split("\n")), file=sys.stderr)


def run_guarded(body: Callable[[], int], debug: bool, tool: str) -> int:
    """Run a tool's body: diagnostics become messages and exit 1, bugs a short report.

    Only internal errors (exceptions that are not diagnostics) print a traceback, and only
    with ``--debug``. Diagnostic warnings that the body does not catch itself are printed
    like errors, with the severity "warning".
    """
    import warnings

    def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
        diagnostic = getattr(message, "diagnostic", None)
        if isinstance(diagnostic, Diagnostic):
            report(diagnostic, tool)
        else:
            print(printable(f"{tool}: warning: {message}"), file=sys.stderr)

    try:
        with warnings.catch_warnings():
            warnings.showwarning = show_warning
            return body()
    except DiagnosticError as error:
        report(error.diagnostic, tool)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print(f"{tool}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of stdout went away (e.g. `| head`), so no output can reach it.
        sys.stderr.close()
        return EXIT_FAILURE
    except OSError as error:
        # A file the body opened itself (a missing folder, a folder given as a file, no permission).
        name = error.filename if error.filename is not None else "a file"
        print(f"{tool}: error: cannot access '{name}': {error.strerror or error}", file=sys.stderr)
        return EXIT_FAILURE
    except PluginPassError as error:
        if debug:
            traceback.print_exception(error.error)
        print(
            f"{tool}: error: the plugin pass '{error.pass_name}' failed with {error}\n"
            f"{tool}: note: the pass comes from the {error.plugin}; this is a bug in that plugin, not in "
            "nirmlir, so report it to the plugin's authors"
            + ("" if debug else "; rerun with --debug for the traceback"),
            file=sys.stderr,
        )
        return EXIT_INTERNAL_ERROR
    except Exception as error:  # noqa: BLE001 - the last line of defence of a tool
        if debug:
            traceback.print_exc()
        print(
            f"{tool}: internal error: {type(error).__name__}: {error}\n"
            f"{tool}: this is a bug in nirmlir; please report it with the input that "
            "caused it" + ("" if debug else ", and rerun with --debug for the traceback"),
            file=sys.stderr,
        )
        return EXIT_INTERNAL_ERROR


def is_hdf5_path(path: str | None) -> bool:
    """Return whether a path names a NIR HDF5 file, judged by its extension."""
    return path is not None and path.lower().endswith((".nir", ".h5", ".hdf5"))


def read_text(path: str | None) -> tuple[str, str]:
    """Return (text, display name) of a text input file, or of stdin for None or '-'."""
    if path in (None, "-"):
        return sys.stdin.read(), "<stdin>"
    try:
        with open(path, encoding="utf-8") as stream:
            return stream.read(), path
    except FileNotFoundError:
        raise DiagnosticError(f"input file '{path}' not found") from None
    except IsADirectoryError:
        raise DiagnosticError(f"input '{path}' is a directory, not a file") from None
    except UnicodeDecodeError as error:
        if _starts_with_hdf5_signature(path):
            raise DiagnosticError(
                f"input file '{path}' is a NIR HDF5 file, but this command reads textual IR; import it "
                "with nir-translate --import-nir, or lower it with nir-opt first"
            ) from None
        hint = "" if is_hdf5_path(path) else "; if it is a NIR HDF5 file, give it the .nir extension"
        raise DiagnosticError(f"input file '{path}' is not UTF-8 text (byte {error.start}){hint}") from None
    except OSError as error:
        raise DiagnosticError(f"cannot read '{path}': {error.strerror}") from None


def import_hdf5(path: str | None, ctx, relax_output_shapes: bool = False):
    """Import a NIR HDF5 file (stdin for None or '-') into a verified nir module."""
    import io

    from nirmlir.hdf5 import import_nir

    if path in (None, "-"):
        return import_nir(
            io.BytesIO(sys.stdin.buffer.read()), ctx, filename="<stdin>", relax_output_shapes=relax_output_shapes
        )
    if not os.path.exists(path):
        raise DiagnosticError(f"input file '{path}' not found")
    return import_nir(path, ctx, filename=path, relax_output_shapes=relax_output_shapes)


def check_output_paths(*paths: str | None) -> None:
    """Raise DiagnosticError for an output path that cannot be written, before any output is.

    A run with several outputs (the module, a report, a graph drawing, a plot) then fails
    before it replaces any of them, rather than after writing the first.
    """
    for path in paths:
        if path in (None, "-"):
            continue
        if path == "":
            raise DiagnosticError("an output file name is empty; give a file name, or '-' for stdout")
        target = os.path.realpath(path)
        if os.path.isdir(target):
            raise DiagnosticError(f"cannot write '{path}': it is a folder; give a file name")
        folder = os.path.dirname(target)
        if os.path.exists(folder) and not os.path.isdir(folder):
            raise DiagnosticError(f"cannot write '{path}': '{os.path.dirname(path) or folder}' is a file, not a folder")
        if not os.path.isdir(folder):
            raise DiagnosticError(f"cannot write '{path}': the folder '{os.path.dirname(path) or folder}' does not exist")
        # A file is written beside its target and renamed over it, so its folder must be writable.
        if (not os.path.exists(target) or os.path.isfile(target)) and not os.access(folder, os.W_OK | os.X_OK):
            raise DiagnosticError(f"cannot write '{path}': the folder '{os.path.dirname(path) or folder}' is not writable")


def check_distinct_outputs(outputs: list[tuple[str, str | None]]) -> None:
    """Raise DiagnosticError when two outputs of one run, given as (flag, path), name the same file.

    The later write would replace the earlier one. Devices such as /dev/null may be named twice.
    """
    flags_by_target: dict[str, str] = {}
    for flag, path in outputs:
        if path in (None, "-", ""):
            continue
        target = os.path.realpath(path)
        if os.path.exists(target) and not os.path.isfile(target):
            continue
        if target in flags_by_target:
            raise DiagnosticError(
                f"{flags_by_target[target]} and {flag} both write '{path}', so one would replace the other; "
                "give each output its own file"
            )
        flags_by_target[target] = flag


def hdf5_signature_offsets(size: int) -> list[int]:
    """Return where an HDF5 signature may start in a file of ``size`` bytes: at 0, or after a
    user block of 512 bytes or a larger power of two."""
    offsets = [0]
    offset = 512
    while offset + len(HDF5_SIGNATURE) <= size:
        offsets.append(offset)
        offset *= 2
    return offsets


def has_hdf5_signature(data: bytes) -> bool:
    """Return whether ``data`` contain an HDF5 file, with or without a user block."""
    return any(data.startswith(HDF5_SIGNATURE, offset) for offset in hdf5_signature_offsets(len(data)))


def _starts_with_hdf5_signature(path: str) -> bool:
    """Return whether the file contains the HDF5 signature where HDF5 puts it."""
    try:
        with open(path, "rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            for offset in hdf5_signature_offsets(size):
                stream.seek(offset)
                if stream.read(len(HDF5_SIGNATURE)) == HDF5_SIGNATURE:
                    return True
    except OSError:
        return False
    return False


def write_text(path: str | None, text: str) -> None:
    """Write text to a file atomically, or to stdout for None or '-'."""
    if text and not text.endswith("\n"):
        text += "\n"
    if path in (None, "-"):
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from nirmlir.atomic import atomic_output

    try:
        with atomic_output(path, "w") as stream:
            stream.write(text)
    except OSError as error:
        raise DiagnosticError(f"cannot write '{path}': {error.strerror}") from None


def attach_location(error: DiagnosticError, locate, filename: str) -> None:
    """Point a diagnostic at its op's parse location, or at least at the input file.

    Errors raised about an op carry it; when the parser recorded where the op was, that
    file, line and column replace the location. Otherwise a location that names a graph
    and node but no file gets the input's name.
    """
    if locate is not None and error.op is not None:
        location = locate(error.op)
        if location is not None:
            error.diagnostic.location = location
            return
    location = error.diagnostic.location
    if location.file == Location().file and (location.node_path or location.field):
        error.diagnostic.location = dataclasses.replace(location, file=filename)


def locator():
    """Return the parser's op-to-location function, or None when it records none."""
    from nirmlir import parser

    return getattr(parser, "location_of", None)

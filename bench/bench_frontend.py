"""Measure the front end on two NIR files: HDF5 import, generic print and parse.

Inputs: the NIR paper's CNN (`neuromorphs-NIR__cnn_sinabs.nir` from the shared corpus)
and a generated chain of 10 Affine 1000x1000 + LIF layers (10 million f32 weights)
written by nirmlir's exporter. For each input, in one process, the script reports:

- import: `nirmlir.hdf5.import_nir` against `nir.read` (nir 1.0.8, type checking on);
- print: nirmlir's generic printer against xDSL 0.74's `Printer` on the same module;
- parse: nirmlir's lark parser against xDSL's `Parser` on the same generic text, with
  xDSL's dense-literal constraint rebuild fixed (`patch_xdsl_dense_literal_type`);
- peak memory (tracemalloc) of the import and of the parse, next to the weight bytes.

Times are medians of `--repeat` runs; the previous result is freed and `gc.collect()`
runs before each. Run: `python bench/bench_frontend.py [--repeat 3] [--json FILE]`.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "bench"))


from benchlib import median_seconds, tracemalloc_peak_bytes


def peak_megabytes(run: Callable[[], object]) -> float:
    return tracemalloc_peak_bytes(run) / 1e6


def weight_megabytes(module) -> float:
    from xdsl.dialects.builtin import DenseIntOrFPElementsAttr

    total = 0
    for op in module.walk():
        for attr in op.properties.values():
            if isinstance(attr, DenseIntOrFPElementsAttr):
                total += len(attr.data.data)
    return total / 1e6


def measure(label: str, path: Path, repeat: int, ratios: dict[str, float]) -> list[str]:
    """Return the table rows of one file; add its reference / nirmlir time ratios to `ratios`."""
    import nir
    from xdsl.parser import Parser
    from xdsl.printer import Printer

    from nirmlir.context import make_context
    from nirmlir.hdf5 import import_nir
    from nirmlir.parser import parse_module
    from nirmlir.printer import module_to_text
    from nirmlir.text_attributes import patch_xdsl_dense_literal_type

    patch_xdsl_dense_literal_type()
    ctx = make_context()

    ours_import = median_seconds(lambda: import_nir(path, ctx), repeat)
    nir_import = median_seconds(lambda: nir.read(str(path)), repeat)
    import_peak = peak_megabytes(lambda: import_nir(path, ctx))

    module = import_nir(path, ctx)
    weights = weight_megabytes(module)
    text = module_to_text(module, generic=True)
    megabytes = len(text.encode()) / 1e6

    def xdsl_print():
        stream = io.StringIO()
        Printer(stream=stream, print_generic_format=True).print_op(module)
        return stream.getvalue()

    ours_print = median_seconds(lambda: module_to_text(module, generic=True), repeat)
    xdsl_print_time = median_seconds(xdsl_print, repeat)
    ours_parse = median_seconds(lambda: parse_module(text, ctx, str(path)), repeat)
    xdsl_parse = median_seconds(lambda: Parser(ctx, text, str(path)).parse_module(), repeat)
    parse_peak = peak_megabytes(lambda: parse_module(text, ctx, str(path)))
    ratios[f"{label}: import"] = nir_import / ours_import
    ratios[f"{label}: print"] = xdsl_print_time / ours_print
    ratios[f"{label}: parse"] = xdsl_parse / ours_parse

    return [
        f"| {label} | import | {ours_import:.3f} s | nir.read {nir_import:.3f} s | "
        f"{nir_import / ours_import:.2f}x | peak {import_peak:.1f} MB for {weights:.1f} MB of weights |",
        f"| {label} | print generic ({megabytes:.1f} MB) | {ours_print:.3f} s, "
        f"{megabytes / ours_print:.0f} MB/s | xDSL {xdsl_print_time:.3f} s, "
        f"{megabytes / xdsl_print_time:.0f} MB/s | {xdsl_print_time / ours_print:.2f}x | |",
        f"| {label} | parse generic ({megabytes:.1f} MB) | {ours_parse:.3f} s, "
        f"{megabytes / ours_parse:.0f} MB/s | xDSL {xdsl_parse:.3f} s, "
        f"{megabytes / xdsl_parse:.0f} MB/s | {xdsl_parse / ours_parse:.2f}x | "
        f"peak {parse_peak:.1f} MB |",
    ]


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--repeat", type=int, default=3)
    arguments.add_argument("--layers", type=int, default=10, help="Affine+LIF layers of the generated chain")
    arguments.add_argument("--width", type=int, default=1000, help="neurons per layer of the generated chain")
    arguments.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    arguments.add_argument(
        "--shared",
        default=os.environ.get("NIRMLIR_SHARED", str(REPO_ROOT.parent / "shared")),
        help="folder holding corpus/real (default: $NIRMLIR_SHARED or ../shared)",
    )
    options = arguments.parse_args()

    from bench_hdf5 import dense_chain
    from benchlib import write_json

    from nirmlir.hdf5 import export_nir

    rows, ratios = [], {}
    cnn = Path(options.shared) / "corpus" / "real" / "neuromorphs-NIR__cnn_sinabs.nir"
    if cnn.exists():
        rows += measure("cnn_sinabs.nir", cnn, options.repeat, ratios)
    else:
        print(f"skipping the CNN: {cnn} not found", file=sys.stderr)

    with tempfile.TemporaryDirectory() as folder:
        chain = Path(folder) / "chain10m.nir"
        export_nir(dense_chain(options.layers, options.width), chain)
        label = f"{options.layers} x Affine {options.width}x{options.width} + LIF"
        rows += measure(label, chain, options.repeat, ratios)

    print(f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs")
    print("| input | stage | nirmlir | reference | reference / nirmlir | memory |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(row)
    write_json(options.json, ratios)


if __name__ == "__main__":
    main()

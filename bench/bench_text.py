"""Benchmark nirmlir's text parser and printer against xDSL's on the same texts.

Two inputs, both generated here and printed by nirmlir in generic form:

- ``chain``: one ``nir.graph`` with a 10,000-op chain of node ops. Half are
  ``nir.lif`` with a unique 20-element f32 ``tau`` (printed as hex) and four splat
  parameters, a quarter ``nir.threshold`` with a splat, a quarter ``nir.scale`` with a
  unique 20-element ``scale``; every op has a node name and a ``metadata`` dictionary.
- ``hex``: one ``nir.affine`` whose weight holds 10 million f32 values (80 MB of hex).

For each input the script reports the median parse and print time of nirmlir and of
xDSL 0.74 over ``--repeat`` runs in this process (the previous module freed and
``gc.collect()`` called before each run), the ratio, and MB/s of text. xDSL's parser
runs with nirmlir's fix of its dense-literal constraint rebuild
(``patch_xdsl_dense_literal_type``) unless ``--unpatched-xdsl`` is given; without the
fix xDSL spends about 2 ms per ``dense<...>`` literal.

Run: ``python bench/bench_text.py [--ops 10000] [--weights 10000000] [--check] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import gc
import io
import statistics
import time

import numpy as np

from benchlib import write_json


def build_chain(op_count: int):
    """Build a module with one graph holding a chain of ``op_count`` node ops."""
    from xdsl.dialects.builtin import DictionaryAttr, IntegerAttr, StringAttr, TensorType, f32, i64
    from xdsl.ir import Block, Region

    from nirmlir.dense import dense_from_numpy
    from nirmlir.dialects import nir

    width = 20
    value_type = TensorType(f32, [width])
    rng = np.random.default_rng(0)

    def splat(value: float):
        return dense_from_numpy(np.full(width, value, dtype=np.float32))

    block = Block()
    previous = nir.InputOp.create(
        result_types=[value_type], properties={"node_name": StringAttr("input")}
    )
    previous.results[0].name_hint = "input"
    block.add_op(previous)
    for index in range(op_count):
        name = f"n{index}"
        properties = {"node_name": StringAttr(name)}
        kind = index % 4
        if kind in (0, 2):
            op_class = nir.LIFOp
            properties["tau"] = dense_from_numpy(rng.random(width, dtype=np.float32))
            properties["r"] = splat(1.0)
            properties["v_leak"] = splat(0.0)
            properties["v_threshold"] = splat(1.0)
            properties["v_reset"] = splat(0.0)
        elif kind == 1:
            op_class = nir.ThresholdOp
            properties["threshold"] = splat(0.5)
        else:
            op_class = nir.ScaleOp
            properties["scale"] = dense_from_numpy(rng.random(width, dtype=np.float32))
        metadata = DictionaryAttr({"index": IntegerAttr(index, i64), "origin": StringAttr("bench")})
        op = op_class.create(
            operands=[previous.results[0]],
            result_types=[value_type],
            properties=properties,
            attributes={"metadata": metadata},
        )
        op.results[0].name_hint = name
        block.add_op(op)
        previous = op
    block.add_op(
        nir.OutputOp.create(operands=[previous.results[0]], properties={"node_name": StringAttr("output")})
    )
    graph = nir.GraphOp.create(properties={"sym_name": StringAttr("main")}, regions=[Region(block)])
    from xdsl.dialects.builtin import ModuleOp

    return ModuleOp([graph])


def build_hex(weight_count: int):
    """Build a module with one ``nir.affine`` holding ``weight_count`` f32 weights."""
    from xdsl.dialects.builtin import ModuleOp, StringAttr, TensorType, f32
    from xdsl.ir import Block, Region

    from nirmlir.dense import dense_from_numpy
    from nirmlir.dialects import nir

    outputs = 2500
    inputs = max(1, weight_count // outputs)
    weight = np.random.default_rng(1).random((outputs, inputs), dtype=np.float32)
    bias = np.zeros(outputs, dtype=np.float32)
    block = Block()
    source = nir.InputOp.create(
        result_types=[TensorType(f32, [inputs])], properties={"node_name": StringAttr("input")}
    )
    block.add_op(source)
    affine = nir.AffineOp.create(
        operands=[source.results[0]],
        result_types=[TensorType(f32, [outputs])],
        properties={
            "node_name": StringAttr("fc"),
            "weight": dense_from_numpy(weight),
            "bias": dense_from_numpy(bias),
        },
    )
    block.add_op(affine)
    graph = nir.GraphOp.create(properties={"sym_name": StringAttr("main")}, regions=[Region(block)])
    return ModuleOp([graph])


def median_time(function, repeat: int) -> float:
    """Median wall time of ``function()`` over ``repeat`` runs, each after a full collection."""
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
        del result
    return statistics.median(times)


def xdsl_generic_text(module) -> str:
    from xdsl.printer import Printer

    stream = io.StringIO()
    Printer(stream=stream, print_generic_format=True).print_op(module)
    return stream.getvalue()


def run_case(label: str, module, repeat: int, check: bool) -> dict:
    """Time nirmlir's and xDSL's parse and print of the module's generic text; return the figures."""
    from xdsl.parser import Parser

    from nirmlir.context import make_context
    from nirmlir.parser import parse_module
    from nirmlir.printer import module_to_text

    ctx = make_context()
    text = module_to_text(module, generic=True)
    megabytes = len(text) / 1e6

    ours_parse = median_time(lambda: parse_module(text, ctx, "bench.mlir"), repeat)
    xdsl_parse = median_time(lambda: Parser(ctx, text, "bench.mlir").parse_module(), repeat)
    parsed = parse_module(text, ctx)
    ours_print = median_time(lambda: module_to_text(parsed, generic=True), repeat)
    xdsl_print = median_time(lambda: xdsl_generic_text(parsed), repeat)
    figures = {
        "label": label,
        "megabytes": megabytes,
        "parse": ours_parse,
        "xdsl_parse": xdsl_parse,
        "print": ours_print,
        "xdsl_print": xdsl_print,
    }
    if check:
        theirs = Parser(ctx, text, "bench.mlir").parse_module()
        figures["identical"] = xdsl_generic_text(theirs) == xdsl_generic_text(parsed)
    return figures


def print_table(cases: list[dict]) -> None:
    print("| text | stage | nirmlir | xDSL 0.74 | xDSL / nirmlir |")
    print("|---|---|---|---|---|")
    for case in cases:
        size = case["megabytes"]
        for stage in ("parse", "print"):
            ours, theirs = case[stage], case[f"xdsl_{stage}"]
            print(
                f"| {case['label']}, {size:.1f} MB | {stage} | {ours:.3f} s ({size / ours:.1f} MB/s) | "
                f"{theirs:.3f} s ({size / theirs:.1f} MB/s) | {theirs / ours:.1f}x |"
            )
    for case in cases:
        if "identical" in case:
            print(f"\n{case['label']}: xDSL's generic print of both parses is identical: {case['identical']}.")


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--ops", type=int, default=10_000, help="ops in the chain")
    arguments.add_argument(
        "--weights", type=int, default=10_000_000, help="f32 weights in the hex case"
    )
    arguments.add_argument("--repeat", type=int, default=3, help="runs per measurement")
    arguments.add_argument(
        "--unpatched-xdsl",
        action="store_true",
        help="time xDSL's parser without the dense-literal fix",
    )
    arguments.add_argument(
        "--check", action="store_true", help="also compare xDSL's print of both parses"
    )
    arguments.add_argument(
        "--case", choices=("chain", "hex", "both"), default="both", help="which input to run"
    )
    arguments.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    options = arguments.parse_args()

    import nirmlir.parser  # noqa: F401  (loads the grammar tables before timing)

    if not options.unpatched_xdsl:
        from nirmlir.text_attributes import patch_xdsl_dense_literal_type

        patch_xdsl_dense_literal_type()
    cases = []
    if options.case in ("chain", "both"):
        cases.append(run_case(f"chain of {options.ops:,} ops", build_chain(options.ops), options.repeat, options.check))
    if options.case in ("hex", "both"):
        cases.append(run_case(
            f"one op with {options.weights:,} f32 weights",
            build_hex(options.weights),
            options.repeat,
            options.check,
        ))
    print_table(cases)
    results = {}
    if options.case in ("chain", "both"):
        chain = cases[0]
        results["ops_parse_speedup"] = chain["xdsl_parse"] / chain["parse"]
        results["ops_print_speedup"] = chain["xdsl_print"] / chain["print"]
    if options.case in ("hex", "both"):
        hex_case = cases[-1]
        results["hex_parse_megabytes_per_second"] = hex_case["megabytes"] / hex_case["parse"]
        results["hex_print_speedup"] = hex_case["xdsl_print"] / hex_case["print"]
    results["identical"] = all(case.get("identical", True) for case in cases)
    write_json(options.json, results)

if __name__ == "__main__":
    main()

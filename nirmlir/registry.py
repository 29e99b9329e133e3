"""Registry of passes and pipelines, imported lazily so that `nir-opt --help` stays fast.

A pass is registered by one line in ``PASSES``: its command-line name and the
``module:Class`` path of its ``xdsl.passes.ModulePass`` subclass.
"""

from __future__ import annotations

import importlib

PASSES: dict[str, str] = {
    "nir-inline-subgraphs": "nirmlir.passes.inline_subgraphs:InlineSubgraphsPass",
    "discretize": "nirmlir.passes.discretize:DiscretizePass",
    "quantize": "nirmlir.passes.quantize:QuantizePass",
    "lower-to-fixedpoint": "nirmlir.passes.lower_to_fixedpoint:LowerToFixedPointPass",
    "lower-to-loihi2": "nirmlir.passes.lower_to_loihi2:LowerToLoihi2Pass",
    "lower-to-speck": "nirmlir.passes.lower_to_speck:LowerToSpeckPass",
    "lower-to-xylo": "nirmlir.passes.lower_to_xylo:LowerToXyloPass",
    "lower-to-spinnaker2": "nirmlir.passes.lower_to_spinnaker2:LowerToSpiNNaker2Pass",
    "map-to-cores": "nirmlir.passes.map_to_cores:MapToCoresPass",
}
"""Pass name -> "module:ClassName" of the ModulePass subclass that implements it."""

PASS_SUMMARIES: dict[str, str] = {
    "nir-inline-subgraphs": "replace each nir.subgraph by a renamed copy of its graph",
    "discretize": "lower nir to the discrete-time snn dialect (dt in seconds, simulator preset)",
    "quantize": "lower snn to the fixed-point fxp dialect (bit widths, scales, rounding)",
    "lower-to-fixedpoint": "run nir-inline-subgraphs, discretize and quantize (nir to fxp)",
    "lower-to-loihi2": "lower nir or snn to lava-dl netx layers for Loihi 2 (loihi2 dialect)",
    "lower-to-speck": "map IF layers onto Speck cores (nir or snn to speck, discretized as sinabs does)",
    "lower-to-xylo": "map fxp (or nir) graphs onto a Xylo chip variant, checking its limits",
    "lower-to-spinnaker2": "lower snn (or nir, discretized first) to SpiNNaker2 populations and projections",
    "map-to-cores": "assign the neurons of fxp or chip graphs to a chip's cores (greedy, metis, hypergraph, cpsat, or keep a speck or xylo graph's cores) within its capacities",
}
"""One line of `nir-opt --help` per pass; `nir-opt --help-passes` lists the options."""


def available_passes() -> list[str]:
    """Return the names of the built-in passes and of the plugin passes (see ``nirmlir.plugins``)."""
    from nirmlir.plugins import plugin_passes

    return sorted([*PASSES, *plugin_passes()])


def pass_summary(name: str) -> str:
    """Return the one-line summary of a built-in or plugin pass, without importing the pass."""
    if name in PASSES:
        return PASS_SUMMARIES.get(name, "")
    from nirmlir.plugins import pass_summary as plugin_summary, plugin_passes

    return plugin_summary(plugin_passes()[name])


def load_pass(name: str):
    """Import and return the ModulePass class registered under ``name``, built-in or plugin.

    A plugin pass that fails to load raises ``DiagnosticError`` naming its distribution.
    """
    if name not in PASSES:
        from nirmlir.plugins import load_plugin_pass

        return load_plugin_pass(name)
    module_name, class_name = PASSES[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def describe_options(name: str) -> list[tuple[str, str, str]]:
    """Return (option, default, description) for each option of a registered pass.

    Options are the pass dataclass fields, spelled with dashes as on the command line. The
    descriptions are the string literals that follow the fields in the class bodies.
    """
    import ast
    import dataclasses
    import inspect
    import textwrap

    pass_class = load_pass(name)
    descriptions: dict[str, str] = {}
    # Options may be declared in a base class; the class nearest the pass wins.
    for declaring in reversed([cls for cls in pass_class.__mro__ if dataclasses.is_dataclass(cls)]):
        tree = ast.parse(textwrap.dedent(inspect.getsource(declaring)))
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for statement, following in zip(body, body[1:]):
            if (
                isinstance(statement, ast.AnnAssign)
                and isinstance(statement.target, ast.Name)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                descriptions[statement.target.id] = " ".join(following.value.value.split())
    rows = []
    for field in dataclasses.fields(pass_class):
        default = "" if field.default is dataclasses.MISSING else str(field.default)
        rows.append((field.name.replace("_", "-"), default, descriptions.get(field.name, "")))
    return rows

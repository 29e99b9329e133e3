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
}
"""Pass name -> "module:ClassName" of the ModulePass subclass that implements it."""


def load_pass(name: str):
    """Import and return the ModulePass class registered under ``name``."""
    module_name, class_name = PASSES[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)

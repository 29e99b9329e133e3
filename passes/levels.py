"""The dialect levels that the lowering passes step through, and the check of a pass's input level."""

from __future__ import annotations

from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.ir import Operation

from nirmlir.diagnostics import DiagnosticError

LEVELS = ("nir", "snn", "fxp")
"""The dialects of the lowering, highest first; each level's graphs are `<dialect>.graph` ops."""

LOWERING = {"nir": "discretize", "snn": "quantize"}
"""The pass that lowers each level to the next."""

LOWERED = {"snn": "discretized", "fxp": "quantized"}
"""The state of a module at each level below nir, named after the pass that produced it."""


def check_input_level(module: ModuleOp, pass_name: str, expected: str, produces: str) -> None:
    """Raise DiagnosticError when ``module`` has graphs, but none at the ``expected`` level.

    A pass that finds no graph of its level would otherwise do nothing and succeed. A module
    without graphs passes, and so does one that mixes levels, because the pass has work there.
    ``produces`` is the level of the pass's output; it decides which pass to suggest.
    """
    graphs = [op for op in module.ops if op.name.endswith(".graph")]
    if not graphs or any(op.name == f"{expected}.graph" for op in graphs):
        return
    found = graphs[0].name.partition(".")[0]
    contents = ", ".join(_describe(op) for op in graphs)
    message = f"{pass_name} takes the {expected} dialect; this module contains {contents}"
    if found in LEVELS and LEVELS.index(found) < LEVELS.index(expected):
        steps = LEVELS[LEVELS.index(found) : LEVELS.index(expected)]
        message += f"; run {', then '.join(LOWERING[level] for level in steps)} first"
    elif found in LEVELS and LEVELS.index(found) > LEVELS.index(expected):
        message += f", which is already {LOWERED[found]}"
        if produces in LEVELS and LEVELS.index(found) < LEVELS.index(produces):
            steps = LEVELS[LEVELS.index(found) : LEVELS.index(produces)]
            message += f"; run {', then '.join(LOWERING[level] for level in steps)} instead"
    raise DiagnosticError(message, op=graphs[0])


def _describe(op: Operation) -> str:
    symbol = op.properties.get("sym_name")
    if isinstance(symbol, StringAttr):
        return f"{op.name} @{symbol.data}"
    return op.name

"""`count-neurons`: attach the number of neurons of each graph as an attribute."""

from __future__ import annotations

import math
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import IntegerAttr, ModuleOp, SymbolRefAttr, i64
from xdsl.ir import Operation
from xdsl.passes import ModulePass

from nirmlir.diagnostics import DiagnosticError, Location
from nirmlir.dialects import fxp, nir, snn

from nirmlir_example_plugin.neurostats import CountOp

GRAPHS = (nir.GraphOp, snn.GraphOp, fxp.GraphOp)
NEURONS = (nir.IOp, nir.IFOp, nir.LIOp, nir.LIFOp, nir.CubaLIOp, nir.CubaLIFOp, snn.NeuronOp, fxp.NeuronOp)


def count_neurons(graph: Operation) -> int:
    """Return the number of neurons in a nir, snn or fxp graph: the elements of each neuron op's result."""
    total = 0
    for op in graph.body.block.ops:
        if isinstance(op, NEURONS):
            total += math.prod(op.results[0].type.get_shape())
    return total


@dataclass(frozen=True)
class CountNeuronsPass(ModulePass):
    """Attach the number of neurons of each nir, snn or fxp graph as an attribute."""

    name = "count-neurons"

    attribute: str = "neurons"
    """Name of the i64 attribute that receives the count."""

    max_neurons: int = 0
    """Maximum number of neurons per graph, or 0 for no limit. A graph with more is an error."""

    summary: bool = False
    """Also append one neurostats.count op per graph to the module."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if self.max_neurons < 0:
            raise DiagnosticError(f"count-neurons: 'max-neurons' is {self.max_neurons}; expected 0 (no limit) or more")
        for graph in list(op.ops):
            if not isinstance(graph, GRAPHS):
                continue
            count = count_neurons(graph)
            if self.max_neurons and count > self.max_neurons:
                # `op=graph` lets nir-opt point the message at the graph's line in the input.
                raise DiagnosticError(
                    f"graph @{graph.sym_name.data} has {count} neurons, more than max-neurons={self.max_neurons}",
                    Location(node_path=(graph.sym_name.data,)),
                    op=graph,
                )
            graph.attributes[self.attribute] = IntegerAttr(count, i64)
            if self.summary:
                op.body.block.add_op(CountOp(SymbolRefAttr(graph.sym_name), count))

"""The `neurostats` dialect: statistics that passes record in a module, next to its graphs."""

from __future__ import annotations

from xdsl.dialects.builtin import IntegerAttr, SymbolRefAttr, i64
from xdsl.ir import Dialect
from xdsl.irdl import IRDLOperation, irdl_op_definition, prop_def
from xdsl.utils.exceptions import VerifyException


@irdl_op_definition
class CountOp(IRDLOperation):
    """The number of neurons of the graph `graph`, as count-neurons found it."""

    name = "neurostats.count"

    graph = prop_def(SymbolRefAttr)
    neurons = prop_def(IntegerAttr)

    def __init__(self, graph: SymbolRefAttr, neurons: int):
        super().__init__(properties={"graph": graph, "neurons": IntegerAttr(neurons, i64)})

    def verify_(self) -> None:
        if self.neurons.value.data < 0:
            raise VerifyException(
                f"'neurostats.count' op for @{self.graph.root_reference.data}: 'neurons' is "
                f"{self.neurons.value.data}; a count cannot be negative"
            )


NEUROSTATS = Dialect("neurostats", [CountOp], [])

"""Verify a module op by op, so that each failure is a diagnostic located at its op."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from xdsl.ir import Operation
from xdsl.utils.exceptions import DiagnosticException, VerifyException

from nirmlir.diagnostics import DiagnosticError, Location

OpLocator = Callable[[Operation], Location | None]


def verify_module(module: Operation, locate: OpLocator | None = None) -> None:
    """Run every op's verifier in pre-order; raise ``DiagnosticError`` on the first failure.

    xDSL's own ``Operation.verify`` would print the whole module into the message, which
    is megabytes long for large weights, so the ops are verified one at a time and the
    error names only the failing op. ``locate`` maps an op to its source location (the
    text parser records one per op).
    """
    mapped = False
    for op in module.walk():
        try:
            op.verify_()
        except (VerifyException, DiagnosticException) as error:
            location = (locate(op) if locate else None) or Location()
            message = str(error).strip()
            if not message.startswith("'"):
                message = f"'{op.name}' op {message}"
            raise DiagnosticError(message, location, op=op) from error
        mapped = mapped or "cores" in op.attributes
    if mapped:
        # map-to-cores' placement attribute is checked against the neurons of its graph.
        from nirmlir.passes.map_to_cores import check_cores_attributes

        check_cores_attributes(module, locate)


def nodes_match_definitions(ops: Iterable[Operation]) -> bool:
    """Return whether every op has the properties and types its IRDL definition requires.

    A graph verifier reads its nodes' properties, but verification runs in pre-order, so
    the nodes are verified only after the graph. A graph verifier returns early when this
    is false, and the node's own verifier then reports the problem at the node.
    """
    for op in ops:
        try:
            type(op).get_irdl_definition().verify(op)
        except VerifyException:
            return False
    return True

"""Hints that name a pass option, spelled for the pass the user ran.

A chip lowering such as lower-to-xylo runs discretize and quantize inside it with settings
of its own, so an error raised there must not tell the user to set ``integrator=`` or
``state-bits=`` on lower-to-xylo, which has no such options. The pass manager records the
pass it applies (`running_pass`). `option_hint` then names an option plainly when that
pass accepts it, and otherwise names the passes that do.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from contextvars import ContextVar

_RUNNING_PASS: ContextVar[tuple[str, frozenset[str]] | None] = ContextVar("running_pass", default=None)


def pass_options(pass_class: type) -> frozenset[str]:
    """Return the option names of a pass class, spelled with dashes as on the command line."""
    if not dataclasses.is_dataclass(pass_class):
        return frozenset()
    return frozenset(field.name.replace("_", "-") for field in dataclasses.fields(pass_class))


@contextlib.contextmanager
def running_pass(pass_instance: object) -> Iterator[None]:
    """Record ``pass_instance`` as the pass being applied, for the hints of the errors it raises."""
    name = getattr(pass_instance, "name", type(pass_instance).__name__)
    token = _RUNNING_PASS.set((name, pass_options(type(pass_instance))))
    try:
        yield
    finally:
        _RUNNING_PASS.reset(token)


def option_hint(assignment: str, *owners: str) -> str:
    """Return ``assignment`` (``integrator=exp_euler`` or an option name), adding which passes
    have that option when the running pass does not.

    ``owners`` are the passes that accept the option, the one that defines it first. Outside a
    pass manager (a direct Python call) the assignment is returned as it is.
    """
    running = _RUNNING_PASS.get()
    option = assignment.split("=", 1)[0]
    if running is None or running[0] in owners or option in running[1]:
        return assignment
    names = " and ".join(owners)
    return (
        f"{assignment} (an option of {names}, which {running[0]} does not have: run "
        f"{'one of those passes' if len(owners) > 1 else owners[0]} before {running[0]} to set it)"
    )

"""The xDSL context with every nirmlir dialect registered, loaded lazily on first use."""

from __future__ import annotations

from collections.abc import Callable

from xdsl.context import Context
from xdsl.ir import Dialect


def _nir() -> Dialect:
    from nirmlir.dialects.nir import NIR

    return NIR


def _snn() -> Dialect:
    from nirmlir.dialects.snn import SNN

    return SNN


def _fxp() -> Dialect:
    from nirmlir.dialects.fxp import FXP

    return FXP


DIALECT_FACTORIES: dict[str, Callable[[], Dialect]] = {
    "nir": _nir,
    "snn": _snn,
    "fxp": _fxp,
}
"""Each dialect name and a function that imports and returns the dialect."""


def make_context() -> Context:
    """Return a context with builtin loaded and the nirmlir dialects registered."""
    from xdsl.dialects.builtin import Builtin

    ctx = Context()
    ctx.load_dialect(Builtin)
    for name, factory in DIALECT_FACTORIES.items():
        ctx.register_dialect(name, factory)
    return ctx

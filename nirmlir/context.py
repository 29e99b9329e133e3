"""The xDSL context with every nirmlir dialect registered, loaded lazily on first use."""

from __future__ import annotations

import importlib
import warnings

from xdsl.context import Context
from xdsl.ir import Dialect

DIALECTS: dict[str, str] = {
    "nir": "nirmlir.dialects.nir:NIR",
    "snn": "nirmlir.dialects.snn:SNN",
    "fxp": "nirmlir.dialects.fxp:FXP",
    "speck": "nirmlir.dialects.speck:SPECK",
    "loihi2": "nirmlir.dialects.loihi2:LOIHI2",
    "spinnaker2": "nirmlir.dialects.spinnaker2:SPINNAKER2",
    "xylo": "nirmlir.dialects.xylo:XYLO",
}
"""Each dialect name and the "module:attribute" of its xDSL Dialect; a new dialect is one line here."""


def _importer(path: str):
    module_name, attribute = path.split(":")

    def load() -> Dialect:
        return getattr(importlib.import_module(module_name), attribute)

    return load


def make_context() -> Context:
    """Return a context with builtin loaded and the nirmlir and plugin dialects registered.

    Plugin dialects come from the entry-point group ``nirmlir.dialects`` and are imported on
    first use, like the built-in ones. Each plugin entry point that is ignored (see
    ``nirmlir.plugins``) is reported as a ``DiagnosticWarning``.
    """
    from xdsl.dialects.builtin import Builtin

    from nirmlir.diagnostics import DiagnosticWarning
    from nirmlir.plugins import DIALECT_GROUP, dialect_loader, plugin_dialects, plugin_problems

    ctx = Context()
    ctx.load_dialect(Builtin)
    for name, path in DIALECTS.items():
        ctx.register_dialect(name, _importer(path))
    for name, entry in plugin_dialects().items():
        ctx.register_dialect(name, dialect_loader(entry))
    for problem in plugin_problems(DIALECT_GROUP):
        warnings.warn(DiagnosticWarning(problem), stacklevel=2)
    return ctx

"""Passes and dialects that other distributions add through Python entry points.

A distribution registers a pass in the entry-point group ``nirmlir.passes`` and a dialect in
``nirmlir.dialects``. The entry point's name is the pass name (as ``nir-opt`` spells it) or the
dialect name, and its value is ``module:Class`` of the ``ModulePass`` subclass or
``module:attribute`` of the xDSL ``Dialect``. In ``pyproject.toml``::

    [project.entry-points."nirmlir.passes"]
    count-neurons = "nirmlir_example_plugin.count_neurons:CountNeuronsPass"

Discovery reads the installed distributions' metadata and imports no plugin module, so
``nir-opt --help`` stays fast: the one-line summary of a plugin pass is the first line of its
class docstring, read from the module's source with ``ast``. A plugin module is imported only
when its pass runs or its dialect is parsed. Nothing is cached on disk; the entry points are read
once per process.

A plugin entry point that cannot be used never breaks the built-in passes or other plugins.
One whose name is a built-in pass or dialect, or that two distributions claim, is ignored and
reported by ``plugin_problems``. One whose module fails to import raises a ``DiagnosticError``
naming the distribution and the entry point when its pass runs or its dialect is parsed.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass

from nirmlir.diagnostics import Diagnostic, DiagnosticError, Location, Severity

PASS_GROUP = "nirmlir.passes"
DIALECT_GROUP = "nirmlir.dialects"


@dataclass(frozen=True)
class PluginEntry:
    """One entry point of the group ``nirmlir.passes`` or ``nirmlir.dialects``."""

    group: str
    name: str
    value: str
    """``module:attribute`` as the distribution declares it."""
    distribution: str

    def describe(self) -> str:
        """Name the entry point and its distribution, as diagnostics print them."""
        return f"entry point '{self.name} = {self.value}' (group '{self.group}') of distribution '{self.distribution}'"


def _read_entry_points(group: str) -> list[PluginEntry]:
    """Read the entry points of ``group`` from the metadata folders on ``sys.path``.

    This reads what ``importlib.metadata.entry_points`` reads (``entry_points.txt`` of each
    ``*.dist-info`` and ``*.egg-info`` folder, the first distribution of a name winning) but
    without importing ``importlib.metadata``, whose import took about 45 ms of the 150 ms of
    ``nir-opt --help`` on a 2-core machine. Zipped distributions are not searched.
    """
    import sys

    entries: list[PluginEntry] = []
    seen: set[str] = set()
    for folder in sys.path:
        try:
            names = sorted(os.listdir(folder or "."))
        except OSError:
            continue
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            key = name.rpartition(".")[0].split("-")[0].lower().replace("-", "_").replace(".", "_")
            if key in seen:
                continue
            seen.add(key)
            metadata = os.path.join(folder or ".", name)
            try:
                with open(os.path.join(metadata, "entry_points.txt"), encoding="utf-8") as stream:
                    text = stream.read()
            except OSError:
                continue
            section = None
            for line in text.splitlines():
                line = line.strip()
                if not line or line.startswith(("#", ";")):
                    continue
                if line.startswith("[") and line.endswith("]"):
                    section = line[1:-1].strip()
                elif section == group and "=" in line:
                    entry_name, _, value = line.partition("=")
                    entries.append(PluginEntry(group, entry_name.strip(), value.strip(), _distribution_name(metadata, key)))
    return entries


def _distribution_name(metadata_folder: str, fallback: str) -> str:
    """Return the ``Name`` field of a distribution's metadata, or ``fallback`` when it cannot be read."""
    for file_name in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(metadata_folder, file_name), encoding="utf-8") as stream:
                for line in stream:
                    if line.startswith("Name:"):
                        return line[len("Name:") :].strip()
                    if not line.strip():
                        break
        except OSError:
            continue
    return fallback


_USABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
"""Names that a pass pipeline or a dialect prefix can spell."""


@functools.cache
def _discover(group: str, built_in: frozenset[str]) -> tuple[dict[str, PluginEntry], tuple[Diagnostic, ...]]:
    """Read the entry points of ``group``; return the usable ones by name and the problems found."""
    claims: dict[str, list[PluginEntry]] = {}
    for entry in _read_entry_points(group):
        claims.setdefault(entry.name, []).append(entry)

    kind = "pass" if group == PASS_GROUP else "dialect"
    usable: dict[str, PluginEntry] = {}
    problems: list[Diagnostic] = []
    for name, entries in sorted(claims.items()):
        if name in built_in:
            for entry in entries:
                problems.append(
                    _warning(
                        f"ignoring the plugin {kind} '{name}' of {entry.describe()}: nirmlir has a built-in "
                        f"{kind} of that name; rename the entry point"
                    )
                )
        elif len(entries) > 1:
            claimants = " and ".join(entry.describe() for entry in entries)
            problems.append(
                _warning(
                    f"ignoring the plugin {kind} '{name}': {claimants} both define it; uninstall one "
                    "of the distributions or rename its entry point"
                )
            )
        elif not _USABLE_NAME.fullmatch(name):
            problems.append(
                _warning(f"ignoring the plugin {kind} '{name}' of {entries[0].describe()}: a {kind} name is a letter or '_' "
                         "followed by letters, digits, '_', '-' and '.', as a pipeline spells it; rename the entry point")
            )
        elif ":" not in entries[0].value or entries[0].value.count(":") > 1:
            problems.append(
                _warning(f"ignoring the plugin {kind} '{name}': the value of {entries[0].describe()} is not 'module:attribute'")
            )
        else:
            usable[name] = entries[0]
    return usable, tuple(problems)


def _warning(message: str) -> Diagnostic:
    return Diagnostic(Severity.WARNING, message, Location())


def plugin_passes() -> dict[str, PluginEntry]:
    """Return the usable plugin passes by name; reads the entry points once per process."""
    from nirmlir.registry import PASSES

    return _discover(PASS_GROUP, frozenset(PASSES))[0]


def plugin_dialects() -> dict[str, PluginEntry]:
    """Return the usable plugin dialects by name; reads the entry points once per process."""
    return _discover(DIALECT_GROUP, _built_in_dialects())[0]


def _built_in_dialects() -> frozenset[str]:
    # nirmlir.context imports xDSL, which `nir-opt --help` must not pay for, so the names are
    # read from it only when a context is made anyway.
    from nirmlir.context import DIALECTS

    return frozenset(DIALECTS) | {"builtin"}


def plugin_problems(group: str = PASS_GROUP) -> list[Diagnostic]:
    """Return a warning for each entry point of ``group`` that is ignored: a name clash or a malformed value.

    The pass group is checked without importing xDSL; the dialect group imports it.
    """
    if group == PASS_GROUP:
        from nirmlir.registry import PASSES

        return list(_discover(PASS_GROUP, frozenset(PASSES))[1])
    return list(_discover(DIALECT_GROUP, _built_in_dialects())[1])


def load_entry(entry: PluginEntry) -> object:
    """Import the module of a plugin entry point and return its attribute.

    Raises ``DiagnosticError`` naming the distribution and the entry point when the module
    fails to import (whatever the exception) or lacks the attribute.
    """
    import importlib

    module_name, attribute = entry.value.split(":")
    module_name, attribute = module_name.strip(), attribute.strip()
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # noqa: BLE001 - any failure of foreign code becomes a diagnostic
        raise DiagnosticError(
            f"cannot load the plugin {entry.describe()}: importing '{module_name}' failed with "
            f"{type(error).__name__}: {error}"
        ) from None
    loaded = module
    for part in attribute.split("."):
        loaded = getattr(loaded, part, None)
        if loaded is None:
            raise DiagnosticError(
                f"cannot load the plugin {entry.describe()}: module '{module_name}' has no attribute '{attribute}'"
            )
    return loaded


def plugin_of_pass(pass_instance: object) -> PluginEntry | None:
    """Return the plugin entry point that provides ``pass_instance``'s class, or None for a built-in pass."""
    name = getattr(pass_instance, "name", None)
    if not isinstance(name, str):
        return None
    entry = plugin_passes().get(name)
    if entry is None:
        return None
    module_name = entry.value.split(":")[0].strip()
    return entry if type(pass_instance).__module__ == module_name else None


def load_plugin_pass(name: str) -> type:
    """Import and return the ModulePass subclass of the plugin pass ``name``, checking its ``name``."""
    from xdsl.passes import ModulePass

    entry = plugin_passes()[name]
    pass_class = load_entry(entry)
    if not (isinstance(pass_class, type) and issubclass(pass_class, ModulePass)):
        raise DiagnosticError(f"the plugin {entry.describe()} does not name a subclass of xdsl.passes.ModulePass")
    if getattr(pass_class, "name", None) != name:
        raise DiagnosticError(
            f"the plugin {entry.describe()} names class '{pass_class.__name__}', whose 'name' is "
            f"'{getattr(pass_class, 'name', None)}'; the entry point name and the class's 'name' must be equal"
        )
    return pass_class


def dialect_loader(entry: PluginEntry):
    """Return a function that imports the plugin dialect of ``entry``, for ``Context.register_dialect``."""

    def load():
        from xdsl.ir import Dialect

        dialect = load_entry(entry)
        if not isinstance(dialect, Dialect):
            raise DiagnosticError(f"the plugin {entry.describe()} does not name an xdsl.ir.Dialect")
        if dialect.name != entry.name:
            raise DiagnosticError(
                f"the plugin {entry.describe()} names dialect '{dialect.name}'; the entry point name "
                "and the dialect's name must be equal"
            )
        return dialect

    return load


def pass_summary(entry: PluginEntry) -> str:
    """Return the first line of the pass class's docstring without importing its module.

    The module's source file is found with the import system's path finders (which import
    nothing) and parsed with ``ast``. A module without a readable source, or a class without
    a docstring, gives a summary that names the distribution.
    """
    import ast

    fallback = f"plugin pass of distribution '{entry.distribution}'"
    module_name, class_name = (part.strip() for part in entry.value.split(":"))
    path = _module_source_path(module_name)
    if path is None:
        return fallback
    try:
        with open(path, encoding="utf-8") as stream:
            tree = ast.parse(stream.read(), path)
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return fallback
    for statement in tree.body:
        if isinstance(statement, ast.ClassDef) and statement.name == class_name:
            docstring = ast.get_docstring(statement)
            if docstring:
                return docstring.strip().splitlines()[0].rstrip(".")
    return fallback


def _module_source_path(module_name: str) -> str | None:
    """Return the source file of a module, found without importing it or its packages."""
    from importlib.machinery import PathFinder

    search_path = None
    spec = None
    for part in module_name.split("."):
        spec = PathFinder.find_spec(part, search_path)
        if spec is None:
            return None
        search_path = spec.submodule_search_locations
    origin = getattr(spec, "origin", None)
    return origin if origin and origin.endswith(".py") else None

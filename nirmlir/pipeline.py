"""Pass pipelines written as text: `discretize{dt=1e-4 preset=norse},quantize`.

The grammar is xDSL's (`a,b{option=value option=value}`, list items separated by commas),
also accepted wrapped in MLIR's `builtin.module(...)`. Every error is a `DiagnosticError`
that names the pass or option as the command line spells it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

from nirmlir.diagnostics import DiagnosticError
from nirmlir.registry import available_passes, load_pass


def parse_pass_pipeline(specs: str | Iterable[str]) -> list:
    """Return the ModulePass instances of one or more pipeline strings, in order."""
    from xdsl.utils.arg_spec import parse_pipeline as parse_arg_specs
    from xdsl.utils.exceptions import ArgSpecParseError

    if isinstance(specs, str):
        specs = [specs]
    passes = []
    for spec in specs:
        spec = spec.strip()
        wrapped = re.fullmatch(r"builtin\.module\((.*)\)", spec, re.DOTALL)
        if wrapped:
            spec = wrapped.group(1)
        if not spec:
            continue
        try:
            arg_specs = list(parse_arg_specs(spec))
        except (ArgSpecParseError, ValueError) as error:
            # xDSL 0.74's ArgSpecParseError derives from BaseException, not Exception.
            detail = " ".join(str(error).split())
            raise DiagnosticError(f"invalid pass pipeline '{spec}': {detail}{_quoting_hint(spec, detail)}") from None
        _reject_repeated_options(spec)
        for arg_spec in arg_specs:
            passes.append(_instantiate(arg_spec))
    return passes


def _quoting_hint(spec: str, detail: str) -> str:
    """Return a hint to quote the option value that xDSL stopped in, or "" when it stopped elsewhere.

    xDSL reads an unquoted value as one token, so a file name such as `bin.npy` ends at the dot.
    """
    found = re.search(r"pass-pipeline:1:(\d+)", detail)
    if found is None:
        return ""
    column = int(found.group(1)) - 1
    assignment = re.search(r"([A-Za-z_][\w-]*)=([^\s{}\"']*)$", spec[: column + 1])
    if assignment is None:
        return ""
    value_end = re.match(r"[^\s{}]*", spec[assignment.end():]).end() + assignment.end()
    value = assignment.group(2) + spec[assignment.end():value_end]
    return f"; quote a value with other characters than letters, digits, '_' and '-': {assignment.group(1)}=\"{value}\""


def _option_names(spec: str) -> Iterable[tuple[str, list[str]]]:
    """Yield each pass of a pipeline that xDSL parsed, with the option names in its braces in order.

    Option values may be quoted (``"a b"``) or be lists (``1,2,3``), so names are taken from
    the space-separated items outside quotes; only the text before '=' is a name.
    """
    position = 0
    while position < len(spec):
        brace = spec.find("{", position)
        if brace < 0:
            return
        name = re.split(r"[\s,]+", spec[position:brace].strip())[-1]
        items, current, quote, index = [], "", None, brace + 1
        while index < len(spec):
            char = spec[index]
            if quote:
                quote = None if char == quote else quote
            elif char in "\"'":
                quote = char
            elif char == "}":
                break
            elif char.isspace():
                items.append(current)
                current = ""
                index += 1
                continue
            current += char
            index += 1
        items.append(current)
        yield name, [item.split("=", 1)[0].strip() for item in items if "=" in item]
        position = index + 1


def _reject_repeated_options(spec: str) -> None:
    """Raise DiagnosticError for an option given twice to one pass, whose last value would win silently."""
    for name, options in _option_names(spec):
        seen: set[str] = set()
        for option in options:
            key = option.replace("_", "-")
            if key in seen:
                raise DiagnosticError(
                    f"option '{option}' of pass '{name}' is given more than once in '{spec}'; give it once"
                )
            seen.add(key)


def _instantiate(arg_spec):
    names = available_passes()
    if arg_spec.name not in names:
        raise DiagnosticError(f"unknown pass '{arg_spec.name}'; available passes: " + ", ".join(names))
    pass_class = load_pass(arg_spec.name)
    known = [field.name.replace("_", "-") for field in dataclasses.fields(pass_class)]
    for option in arg_spec.parameters:
        if option.replace("_", "-") not in known:
            raise DiagnosticError(
                f"unknown option '{option}' for pass '{arg_spec.name}'; its options are: "
                + ", ".join(known)
            )
    try:
        return pass_class.from_pass_spec(arg_spec)
    except (ValueError, TypeError) as error:
        detail = str(error).replace("Incompatible types: ", "")
        raise DiagnosticError(
            f"invalid options for pass '{arg_spec.name}': {detail}; run "
            "'nir-opt --help-passes' for the options and their types"
        ) from None


def run_pass_pipeline(module, specs: str | Iterable[str], ctx=None) -> None:
    """Parse a pipeline and apply its passes to ``module`` in place."""
    from nirmlir.context import make_context

    ctx = ctx or make_context()
    for pass_instance in parse_pass_pipeline(specs):
        apply_pass(pass_instance, ctx, module)


def apply_pass(pass_instance, ctx, module) -> None:
    """Apply one pass to ``module``.

    An exception other than a diagnostic raised by a plugin pass becomes `PluginPassError`, so
    that tools blame the plugin rather than nirmlir.
    """
    from nirmlir.diagnostics import DiagnosticError, PluginPassError
    from nirmlir.option_hints import running_pass

    try:
        with running_pass(pass_instance):
            pass_instance.apply(ctx, module)
    except DiagnosticError:
        raise
    except Exception as error:
        from nirmlir.plugins import plugin_of_pass

        entry = plugin_of_pass(pass_instance)
        if entry is None:
            raise
        raise PluginPassError(pass_instance.name, entry.describe(), error) from error

"""Regular expressions and string escapes of the textual IR, shared by the parser and printer.

The scanner in ``nirmlir/parser.py`` reads coarse tokens: a whole type, a whole
``dense<...> : type`` or a whole flat attribute dictionary is one token. The patterns
here define those tokens. Every repetition that could meet a failing match is possessive
(``*+``, Python 3.11), so a malformed input never makes the regex engine backtrack.
"""

from __future__ import annotations

import re

from nirmlir.diagnostics import DiagnosticError, Location
from nirmlir.regex_cache import compile_cached

IDENT = r"[A-Za-z_][\w$.]*+"
"""An MLIR bare identifier: op names, dictionary keys, builtin types such as ``f32``."""

SUFFIX_ID = r"(?:[0-9]+|[A-Za-z$._-][\w$.-]*)"
"""The part of an SSA value or block name after ``%`` or ``^``."""

STRING = r'"[^"\\\n]*+(?:\\.[^"\\\n]*+)*+"'
"""A string literal on one line, with escapes."""

# Inside dictionary and array tokens, strings are short and have no escapes. A longer or
# escaped string makes that token fail to match, and the scanner falls back to the
# entry-level tokens (a hex weight string is then scanned once, with str.find).
SHORT_STRING = r'"[^"\\\n]{0,512}+"'

NUMBER = r"[-+]?(?:0x[0-9A-Fa-f]++|[0-9]++(?:\.[0-9]*+(?:[eE][-+]?[0-9]++)?)?)"
"""An integer (decimal or hex) or float literal. MLIR float literals always have a '.'."""

TYPED_NUMBER = NUMBER + r"(?:\s*+:\s*+[A-Za-z_][\w$.]*+(?!<))?"
"""A number with an optional scalar type: ``1``, ``0.5 : f32``, ``0x7FC00000 : f32``."""

# Angle-bracketed parameters up to four levels deep. `->` (affine maps, function types)
# is text, not a closing bracket. Deeper nesting is scanned by `scan_angle_brackets`.
_ANGLE = r"<(?:->|[^<>\"\n]|" + SHORT_STRING + r")*+>"
for _ in range(3):
    _ANGLE = r"<(?:->|[^<>\"\n]|" + SHORT_STRING + r"|" + _ANGLE + r")*+>"
ANGLE = _ANGLE

TYPE = r"(?:[!#]?" + IDENT + r"(?:" + ANGLE + r")?+(?!<))"
"""A type or attribute written as an identifier with optional ``<...>`` parameters.

It fails (rather than stopping before the ``<``) when the parameters are beyond
``ANGLE``, so the token that contains it fails too and the scanner falls back."""

SYMBOL_REF = (
    r"@(?:" + IDENT + r"|" + STRING + r")(?:::@(?:" + IDENT + r"|" + STRING + r"))*+"
)

FLAT_ARRAY = r"\[(?:[^\[\]{}\"^%]|" + SHORT_STRING + r")*+\]"
"""An array attribute without nested arrays or dictionaries (and never a successor list)."""

_SCALAR_VALUE = (
    r"(?:"
    + SHORT_STRING
    + r"|"
    + TYPED_NUMBER
    + r"|@"
    + IDENT
    + r"(?:::@"
    + IDENT
    + r")*+|"
    + FLAT_ARRAY
    + r"|"
    + TYPE
    + r"(?:\s*+:\s*+"
    + TYPE
    + r")?)"
)

KEY = r"(?:" + IDENT + r"|" + SHORT_STRING + r")"

_ENTRY = KEY + r"(?:\s*+=\s*+" + _SCALAR_VALUE + r")?"
_INNER_DICT = r"\{\s*+(?:" + _ENTRY + r"(?:\s*+,\s*+" + _ENTRY + r")*+)?\s*+\}"

VALUE = r"(?:" + _SCALAR_VALUE + r"|" + _INNER_DICT + r")"
"""An attribute value that may appear inside a dictionary token: a scalar, string,
symbol, flat array, type, ``dense<..> : T``, or a dictionary of those (NIR metadata)."""

# A dictionary token needs an `=` in its first entry, so a region (which starts with an
# op, a block label or `}`) never matches it. `{}` and `{unit_first, ...}` are read by
# the grammar's entry rules instead.
DICT = (
    r"\{\s*+"
    + KEY
    + r"\s*+=\s*+"
    + VALUE
    + r"(?:\s*+,\s*+"
    + KEY
    + r"(?:\s*+=\s*+"
    + VALUE
    + r")?)*+\s*+\}"
)

_TYPE_LIST = r"\(\s*+(?:" + TYPE + r"(?:\s*+,\s*+" + TYPE + r")*+)?\s*+\)"
FUNCTION_TYPE = _TYPE_LIST + r"\s*+->\s*+(?:" + TYPE + r"|" + _TYPE_LIST + r")"

DICT_ENTRY_RE = compile_cached(r"\s*+(" + KEY + r")(?:\s*+=\s*+(" + VALUE + r"))?\s*+([,}])")
"""One entry of a dictionary token, with the separator after it."""

ARRAY_ELEMENT_RE = compile_cached(r"\s*+(" + VALUE + r")\s*+(?:,|$)")
TYPE_IN_LIST_RE = compile_cached(r"\s*+(" + TYPE + r")\s*+")
TYPE_AFTER_COLON_RE = compile_cached(r"\s*+:\s*+(" + TYPE + r")")
BARE_IDENT_RE = re.compile(IDENT)
VALUE_NAME_RE = re.compile(r"[A-Za-z_$.-][\w$.-]*")
"""Names that xDSL keeps as SSA value and block name hints."""

_BRACKET_OR_STRING_RE = re.compile(r'->|[<>"]')
_PAREN_OR_STRING_RE = re.compile(r'[()"]')
_STRING_AT_RE = re.compile(STRING)


def _scan_balanced(text: str, start: int, opening: str, closing: str, tokens: re.Pattern) -> int:
    """Return the index after the ``closing`` bracket that matches the one at ``start``.

    ``tokens`` finds the brackets and the quotes that start strings; a string is skipped
    whole. Returns -1 when the brackets or a string inside them are not closed.
    """
    depth = 0
    search = tokens.search
    position = start
    while True:
        match = search(text, position)
        if match is None:
            return -1
        token = match.group()
        position = match.end()
        if token == opening:
            depth += 1
        elif token == closing:
            depth -= 1
            if depth == 0:
                return position
        elif token == '"':
            string = _STRING_AT_RE.match(text, match.start())
            if string is None:
                return -1
            position = string.end()


def scan_angle_brackets(text: str, start: int) -> int:
    """Return the index after the ``>`` that closes the ``<`` at ``start``, or -1.

    The ``>`` of a ``->`` inside the brackets does not close them.
    """
    return _scan_balanced(text, start, "<", ">", _BRACKET_OR_STRING_RE)


def scan_parentheses(text: str, start: int) -> int:
    """Return the index after the ``)`` that closes the ``(`` at ``start``, or -1."""
    return _scan_balanced(text, start, "(", ")", _PAREN_OR_STRING_RE)


_NESTING_TOKEN_RE = re.compile(r'->|[<(\[{>)\]}"]')


def nesting_depth(text: str) -> int:
    """Return how deeply the brackets ``<([{`` nest in ``text``, skipping strings and ``->``."""
    depth = deepest = 0
    search = _NESTING_TOKEN_RE.search
    position = 0
    while True:
        match = search(text, position)
        if match is None:
            return deepest
        token = match.group()
        position = match.end()
        if token in "<([{":
            depth += 1
            if depth > deepest:
                deepest = depth
        elif token == '"':
            string = _STRING_AT_RE.match(text, match.start())
            if string is None:
                return deepest
            position = string.end()
        elif token != "->":
            depth -= 1


_SIMPLE_ESCAPES = {'"': 0x22, "\\": 0x5C, "n": 0x0A, "t": 0x09}
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def unescape_string(literal: str) -> str:
    """Decode the body of a string literal (without its quotes).

    Accepts MLIR's escapes ``\\"``, ``\\\\``, ``\\n``, ``\\t`` and ``\\XX`` (one byte
    in hex); the bytes must form UTF-8. Raises ``ValueError`` with a message and the
    offset of the bad escape in ``args[1]``.
    """
    if "\\" not in literal:
        return literal
    data = bytearray()
    index = 0
    length = len(literal)
    while index < length:
        backslash = literal.find("\\", index)
        if backslash < 0:
            data += literal[index:].encode()
            break
        data += literal[index:backslash].encode()
        escape = literal[backslash + 1 : backslash + 2]
        if escape in _SIMPLE_ESCAPES:
            data.append(_SIMPLE_ESCAPES[escape])
            index = backslash + 2
            continue
        pair = literal[backslash + 1 : backslash + 3]
        if len(pair) == 2 and pair[0] in _HEX_DIGITS and pair[1] in _HEX_DIGITS:
            data.append(int(pair, 16))
            index = backslash + 3
            continue
        raise ValueError(
            f"invalid escape '\\{escape}' in string literal;"
            ' expected \\", \\\\, \\n, \\t or two hex digits',
            backslash,
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError("string literal is not valid UTF-8", 0) from error


def escape_string(value: str) -> str:
    """Return ``value`` as a quoted string literal.

    Printable characters stay as they are, non-ASCII ones included, and a backslash
    becomes ``\\\\``. Every byte of the UTF-8 encoding of other characters (the quote,
    controls, unprintable non-ASCII) becomes ``\\XX``. Printable non-ASCII stays raw
    because xDSL 0.74 reads a string whose escapes decode to non-ASCII as bytes.
    """
    if value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    parts = ['"']
    for character in value:
        if character == "\\":
            parts.append("\\\\")
        elif character.isprintable() and character != '"':
            parts.append(character)
        else:
            parts.extend(f"\\{byte:02X}" for byte in character.encode("utf-8"))
    parts.append('"')
    return "".join(parts)


def print_key(key: str) -> str:
    """Return a dictionary key or symbol name: bare if it is an identifier, else quoted."""
    if BARE_IDENT_RE.fullmatch(key):
        return key
    return escape_string(key)


def location_of(text: str, position: int) -> tuple[int, int]:
    """Return the 1-based (line, column) of a character offset in ``text``."""
    line = text.count("\n", 0, position) + 1
    column = position - text.rfind("\n", 0, position)
    return line, column


def syntax_error(
    message: str, text: str, position: int, filename: str, line_offset: int
) -> DiagnosticError:
    """Build a ``DiagnosticError`` at a character offset of ``text``."""
    line, column = location_of(text, position)
    return DiagnosticError(message, Location(filename, line + line_offset, column))

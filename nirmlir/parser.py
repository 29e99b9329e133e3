"""Parser of nirmlir's textual IR (MLIR syntax) into xDSL modules.

``parse_module`` reads the generic op form, the custom forms of ``builtin.module`` and
``nir.graph``, and the node form of every op class with ``ASSEMBLY_FORM = "node"``. It
builds the IR and does not verify it.

How it is fast: the grammar (``grammar.lark``) is LALR(1), and lark turns it into
tables once (cached, see ``text_tables``). This module runs those tables with its own
loop, fused with a scanner that matches one master regex per token and never tracks
lines: a line and column are computed from the offset only for an error. Tokens are
coarse (a whole type, dense literal or flat dictionary is one token) and converted to
xDSL objects through caches keyed by their text (``text_attributes``). Hex tensor data
is located with ``str.find`` and decoded by ``binascii.unhexlify`` straight into bytes.
"""

from __future__ import annotations

import gc
import re
import weakref
from bisect import bisect_right

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp

from nirmlir.diagnostics import DiagnosticError, Location
from nirmlir.regex_cache import compile_cached
from nirmlir.text_builder import IRBuilder, custom_form_message, op_syntax
from nirmlir.text_syntax import (
    ANGLE,
    DICT,
    FLAT_ARRAY,
    FUNCTION_TYPE,
    IDENT,
    STRING,
    SUFFIX_ID,
    SYMBOL_REF,
    TYPED_NUMBER,
    scan_angle_brackets,
    scan_parentheses,
)
from nirmlir.text_tables import END_TERMINAL, ParseTables, load_tables

__all__ = ["location_of", "parse_module"]

# One alternative per token kind; the group name is the grammar's terminal name (or a
# kind that the scanner turns into one). Order matters where prefixes overlap: DICT
# before LBRACE, PROPS before LPROPS, FUNCTYPE before LPAREN, DENSE and LOC before
# PTYPE and BARE. The prefix skips whitespace and `//` comments.
_TOKEN_RE = compile_cached(
    r"(?:\s++|//[^\n]*+)*+(?:"
    + "|".join(
        f"(?P<{kind}>{pattern})"
        for kind, pattern in (
            ("VALUE", r"%" + SUFFIX_ID + r"(?:#[0-9]+)?"),
            ("STRING", STRING),
            ("DICT", DICT),
            ("LBRACE", r"\{"),
            ("RBRACE", r"\}"),
            ("LPAREN_OR_FUNCTYPE", r"\((?=\s*+[)!#A-Za-z_])"),
            ("LPAREN", r"\("),
            ("RPAREN", r"\)"),
            ("COMMA", r","),
            ("EQUAL", r"="),
            ("COLON", r":"),
            ("PROPS", r"<" + DICT + r">"),
            ("LPROPS", r"<\{"),
            ("DENSE", r"dense<"),
            ("LOC", r"loc\("),
            ("PTYPE", r"[!#]?" + IDENT + ANGLE + r"|[!#]" + IDENT),
            ("BARE", IDENT),
            ("ARROW", r"->"),
            ("NUMBER", TYPED_NUMBER),
            ("SYMREF", SYMBOL_REF),
            ("CARET", r"\^" + SUFFIX_ID),
            ("ATTR", FLAT_ARRAY),
            ("LBRACKET", r"\["),
            ("RBRACKET", r"\]"),
            ("RANGLE", r">"),
            ("EOF", r"\Z"),
            ("ERROR", r"."),
        )
    )
    + r")",
    re.DOTALL,
)
_FUNCTION_TYPE_RE = compile_cached(FUNCTION_TYPE)
_OPENER_RE = re.compile(r"<\{|[{(\[]")

_PUNCTUATION = frozenset(
    ("LBRACE", "RBRACE", "LPAREN", "RPAREN", "COMMA", "EQUAL", "COLON", "LPROPS")
    + ("ARROW", "LBRACKET", "RBRACKET", "RANGLE")
)

# Display names of the terminals in syntax errors, in the order they are listed:
# closing brackets first, because they are the most common fix.
_TERMINAL_NAMES = {
    "RPAREN": "')'",
    "RBRACE": "'}'",
    "RBRACKET": "']'",
    "RANGLE": "'>'",
    "COMMA": "','",
    "COLON": "':'",
    "EQUAL": "'='",
    "ARROW": "'->'",
    "LPAREN": "'('",
    "FUNCTYPE": "'('",
    "LBRACE": "'{'",
    "DICT": "'{'",
    "LBRACKET": "'['",
    "PROPS": "'<{'",
    "LPROPS": "'<{'",
    "VALUE": "an SSA value",
    "STRING": "a string",
    "BARE": "an identifier",
    "PTYPE": "a type",
    "SYMREF": "a symbol",
    "CARET": "a block label",
    "NUMBER": "a number",
    "ATTR": "an attribute",
    END_TERMINAL: "end of input",
}

_tables: ParseTables | None = None
_custom_name_states: frozenset[int] = frozenset()


def _load() -> ParseTables:
    global _tables, _custom_name_states
    if _tables is None:
        tables = load_tables()
        custom_name_rules = {
            ~index for index, rule in enumerate(tables.rules) if rule[2] == "custom_name"
        }
        # States right after an op name written without quotes: only `custom_name`
        # reductions are possible there, so a syntax error means the op's syntax is not
        # a form this parser reads.
        _custom_name_states = frozenset(
            state
            for state, row in enumerate(tables.actions)
            if row and all(action in custom_name_rules for action in row.values())
        )
        _tables = tables
    return _tables


def parse_module(
    text: str, ctx: Context, filename: str = "<stdin>", line_offset: int = 0
) -> ModuleOp:
    """Parse textual IR into a module, without verifying it.

    Top-level ops that are not a single ``builtin.module`` are wrapped in one. Every
    error in the input raises ``DiagnosticError`` located at ``filename:line:column``,
    with ``line_offset`` added to the line (for chunks of a split input file).
    """
    tables = _load()
    builder = IRBuilder(ctx, text, filename, line_offset)
    collecting = gc.isenabled()
    # Parsing allocates many objects that all stay alive in the module, so the cyclic
    # collector would walk the growing module again and again and free nothing.
    gc.disable()
    try:
        module = _run(text, builder, tables)
        _record_locations(builder, text, filename, line_offset)
        return module
    except MemoryError:
        raise DiagnosticError(
            "not enough memory to build the IR of this input", Location(filename)
        ) from None
    finally:
        if collecting:
            gc.enable()


class _SourceLines:
    """Line starts of one parsed text, to turn op offsets into line and column."""

    __slots__ = ("filename", "line_offset", "line_starts")

    def __init__(self, text: str, filename: str, line_offset: int):
        self.filename = filename
        self.line_offset = line_offset
        starts = [0]
        newline = text.find("\n")
        while newline >= 0:
            starts.append(newline + 1)
            newline = text.find("\n", newline + 1)
        self.line_starts = starts

    def location(self, offset: int) -> Location:
        line = bisect_right(self.line_starts, offset)
        column = offset - self.line_starts[line - 1] + 1
        return Location(self.filename, line + self.line_offset, column)


# Source location of each parsed op. Weak keys let an op erased by a pass drop out,
# and only the line starts of the text are kept, not the text itself.
_op_locations: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _record_locations(builder: IRBuilder, text: str, filename: str, line_offset: int) -> None:
    lines = _SourceLines(text, filename, line_offset)
    _op_locations.update((op, (lines, offset)) for op, offset in builder.op_offsets)


def location_of(op) -> Location | None:
    """Return the location of an op's text when ``parse_module`` built it, else None."""
    entry = _op_locations.get(op)
    if entry is None:
        return None
    lines, offset = entry
    return lines.location(offset)


def _run(text: str, builder: IRBuilder, tables: ParseTables) -> ModuleOp:
    """Scan and parse in one loop: LALR shift/reduce over lark's tables."""
    actions = tables.actions
    reducers = [(size, name, getattr(builder, alias)) for size, name, alias in tables.rules]
    end_state = tables.end_state
    reader = builder.reader
    fail = builder.fail
    match = _TOKEN_RE.match
    punctuation = _PUNCTUATION
    state_stack = [tables.start_state]
    value_stack: list = []
    position = 0

    while True:
        token = match(text, position)
        kind = token.lastgroup
        start = token.start(kind)
        position = token.end()

        if kind in punctuation:
            value = start
        elif kind == "VALUE":
            value = (text[start + 1 : position], start)
        elif kind == "STRING":
            literal = text[start:position]
            if "\\" in literal:
                value = (reader.string_value(literal, start), start)
            else:
                value = (literal[1:-1], start)
        elif kind == "BARE" or kind == "PTYPE":
            if text.startswith("<", position):
                # Parameters beyond what the PTYPE pattern reaches (deep nesting, an
                # escaped string): find the closing '>' by counting.
                end = scan_angle_brackets(text, position)
                if end < 0:
                    fail("unterminated '<' in type or attribute", position)
                kind = "PTYPE"
                value = (reader.type_or_attribute(text[start:end], start), start)
                position = end
            elif kind == "BARE":
                value = (text[start:position], start)
            else:
                value = (reader.type_or_attribute(text[start:position], start), start)
        elif kind == "DICT":
            value = (reader.dictionary_pairs(text[start:position], start), start)
        elif kind == "LPAREN_OR_FUNCTYPE":
            whole = _FUNCTION_TYPE_RE.match(text, start)
            if whole is None:
                kind = "LPAREN"
                value = start
            else:
                kind = "FUNCTYPE"
                position = whole.end()
                value = (reader.function_type(whole.group(), start), start)
        elif kind == "NUMBER":
            value = (reader.number(text[start:position], start), start)
        elif kind == "DENSE":
            attribute, position = reader.dense_at(text, start, start)
            kind = "ATTR"
            value = (attribute, start)
        elif kind == "PROPS":
            value = (reader.dictionary_pairs(text[start + 1 : position - 1], start + 1), start)
        elif kind == "SYMREF":
            value = (reader.symbol(text[start:position], start), start)
        elif kind == "CARET":
            value = (text[start + 1 : position], start)
        elif kind == "ATTR":
            value = (reader.flat_array(text[start:position], start), start)
        elif kind == "LOC":
            # Source locations are accepted and dropped.
            end = scan_parentheses(text, start + 3)
            if end < 0:
                fail("unterminated 'loc(' location", start)
            position = end
            continue
        elif kind == "EOF":
            kind = END_TERMINAL
            value = start
        else:
            _fail_on_character(text, start, fail)

        # Feed the token: reduce while the table gives a reduction, then shift it.
        while True:
            action = actions[state_stack[-1]].get(kind)
            if action is None:
                raise _syntax_error(builder, state_stack[-1], value_stack, kind, start, position)
            if action >= 0:
                state_stack.append(action)
                value_stack.append(value)
                break
            size, name, reduce = reducers[~action]
            if size:
                arguments = value_stack[-size:]
                del value_stack[-size:]
                del state_stack[-size:]
                result = reduce(*arguments)
            else:
                result = reduce()
            goto = actions[state_stack[-1]][name]
            if goto == end_state:
                return result
            state_stack.append(goto)
            value_stack.append(result)


def _fail_on_character(text: str, start: int, fail) -> None:
    character = text[start]
    if character == '"':
        fail("unterminated string literal", start)
    if character in "%^@":
        fail(f"expected a name after '{character}'", start)
    fail(f"unexpected character '{character}'", start)


def _syntax_error(
    builder: IRBuilder, state: int, value_stack: list, kind: str, start: int, end: int
) -> DiagnosticError:
    """Build the error for a token that the parser cannot accept in ``state``."""
    if state in _custom_name_states:
        # The op name before the token was read without quotes. An unknown name or an
        # op without a custom form explains the error better than the expected tokens.
        name, position = value_stack[-1]
        op_class = builder.lookup_op(name)
        if op_class is None:
            return builder.error(f"unknown operation '{name}'", position)
        if op_syntax(op_class).assembly_form is None:
            return builder.error(custom_form_message(name), position)
    order = list(_TERMINAL_NAMES.values())
    names = {
        _TERMINAL_NAMES.get(terminal, terminal)
        for terminal in _tables.actions[state]
        if terminal.isupper() or terminal == END_TERMINAL
    }
    ranked = sorted(names, key=lambda name: order.index(name) if name in order else len(order))
    if len(ranked) == 1:
        listed = ranked[0]
    else:
        listed = ", ".join(ranked[:-1]) + " or " + ranked[-1]
    if kind == END_TERMINAL:
        found = "end of input"
    else:
        shown = builder.text[start : min(end, start + 41)]
        opener = _OPENER_RE.match(shown)
        if opener is not None:
            # A whole dictionary or function type is one token; its first bracket is
            # what the reader needs to see.
            shown = opener.group()
        elif len(shown) > 40 or "\n" in shown:
            shown = shown[:40].partition("\n")[0] + "..."
        found = f"'{shown}'"
    return builder.error(f"expected {listed} but found {found}", start)

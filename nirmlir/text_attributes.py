"""Conversion of coarse attribute and type tokens to xDSL objects, with interning.

The scanner hands over whole tokens (``tensor<38xf32>``, ``dense<"0x..."> : tensor<4xf32>``,
``{tau = ..., r = ...}``). Common builtin forms are converted here with string
operations; anything else goes to xDSL's own attribute parser. xDSL attributes are
immutable, so equal token texts share one object: the caches below are keyed by the
token text and skip texts longer than ``MAX_CACHED_TEXT``, so weights are never kept.
"""

from __future__ import annotations

import binascii
import re
import struct
from collections.abc import Callable
from typing import NoReturn

from xdsl.context import Context
from xdsl.dialects.builtin import (
    ArrayAttr,
    BFloat16Type,
    BytesAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    DictionaryAttr,
    Float16Type,
    Float32Type,
    Float64Type,
    Float80Type,
    Float128Type,
    FloatAttr,
    FunctionType,
    IndexType,
    IntegerAttr,
    IntegerType,
    MemRefType,
    NoneType,
    Signedness,
    StringAttr,
    SymbolRefAttr,
    TensorType,
    UnitAttr,
    VectorType,
    i1,
    i64,
)
from xdsl.ir import Attribute, TypeAttribute

from nirmlir.diagnostics import DiagnosticError
from nirmlir.limits import MAX_NESTING_DEPTH, MAX_TENSOR_BYTES, MAX_TENSOR_RANK
from nirmlir.text_syntax import (
    ARRAY_ELEMENT_RE,
    DICT_ENTRY_RE,
    IDENT,
    NUMBER,
    STRING,
    TYPE_AFTER_COLON_RE,
    TYPE_IN_LIST_RE,
    nesting_depth,
    scan_angle_brackets,
    unescape_string,
)

MAX_CACHED_TEXT = 512
"""Token texts up to this many characters are interned."""

_MAX_CACHE_ENTRIES = 1 << 16

# Type caches shared by every parse: builtin types do not depend on the context.
_BUILTIN_TYPES: dict[str, Attribute] = {
    "f16": Float16Type(),
    "bf16": BFloat16Type(),
    "f32": Float32Type(),
    "f64": Float64Type(),
    "f80": Float80Type(),
    "f128": Float128Type(),
    "index": IndexType(),
    "none": NoneType(),
}

_FLOAT_TYPES = (Float16Type, BFloat16Type, Float32Type, Float64Type, Float80Type, Float128Type)
_NUMERIC_TYPES = (IntegerType, IndexType, *_FLOAT_TYPES)
_SHAPED_TYPES = (TensorType, VectorType, MemRefType)

_INTEGER_TYPE_RE = re.compile(r"([su]?)i([0-9]+)")
_TENSOR_RE = re.compile(r"tensor<((?:[0-9]+x)*)([a-z][a-z0-9]*)>")
_DENSE_ARRAY_RE = re.compile(r"array<\s*([a-z][a-z0-9]*)\s*(?::(.*))?>", re.DOTALL)
_NUMBER_RE = re.compile(NUMBER)
_DENSE_LIST_TOKEN_RE = re.compile(r"\s*+(?:(\[)|(\])|(,)|([^\[\],\s]++))")
_HEX_BITS_FORMATS = {Float16Type: "<e", Float32Type: "<f", Float64Type: "<d"}
_TRAILING_TEXT_RE = re.compile(r"\s*+(?://[^\n]*+\s*+)*+")
_SYMBOL_PART_RE = re.compile(r"@(?:(" + IDENT + r")|(" + STRING + r"))(?:::)?")
_INVALID_HEX_DIGIT_RE = re.compile(r"[^0-9A-Fa-f]")
_EMPTY_DICT_RE = re.compile(r"\{\s*+\}")
_SIGNEDNESS = {"": Signedness.SIGNLESS, "s": Signedness.SIGNED, "u": Signedness.UNSIGNED}

_UNIT = UnitAttr()
_TRUE = IntegerAttr(1, i1)
_FALSE = IntegerAttr(0, i1)


def _remember(cache: dict, key: str, value) -> None:
    if len(key) <= MAX_CACHED_TEXT:
        if len(cache) >= _MAX_CACHE_ENTRIES:
            cache.clear()
        cache[key] = value


def _integer_value(literal: str) -> int:
    """Return the value of a decimal or ``0x`` hex integer literal with an optional sign."""
    digits = literal.lstrip("-+")
    value = int(digits, 16) if digits.startswith("0x") else int(digits, 10)
    return -value if literal.startswith("-") else value


def builtin_scalar_type(text: str) -> Attribute | None:
    """Return the builtin scalar type spelled ``text`` (``f32``, ``ui8``, ``index``), or None."""
    scalar = _BUILTIN_TYPES.get(text)
    if scalar is not None:
        return scalar
    match = _INTEGER_TYPE_RE.fullmatch(text)
    if match is None:
        return None
    scalar = IntegerType(int(match.group(2)), _SIGNEDNESS[match.group(1)])
    _BUILTIN_TYPES[text] = scalar
    return scalar


def _patched_parse_dense_literal_type(self):
    """Read the shaped type of a dense literal (replacement for xDSL 0.74's method)."""
    parsed = self.parse_optional_type()
    if parsed is None:
        self.raise_error("expected the type of the dense literal after ':'")
    if not _dense_literal_type_constraint().verifies(parsed):
        self.raise_error(
            "expected a tensor, vector or memref type of integer, index, float or complex"
            f" elements for a dense literal, got {parsed}"
        )
    if any(dimension < 0 for dimension in parsed.get_shape()):
        self.raise_error(f"dense literal type {parsed} must have a static shape")
    return parsed


_DENSE_LITERAL_TYPE_CONSTRAINT = None


def _dense_literal_type_constraint():
    global _DENSE_LITERAL_TYPE_CONSTRAINT
    if _DENSE_LITERAL_TYPE_CONSTRAINT is None:
        from xdsl.dialects.builtin import AnyFloat, ComplexType, RankedStructure
        from xdsl.irdl import base

        _DENSE_LITERAL_TYPE_CONSTRAINT = base(
            RankedStructure[IntegerType | IndexType | AnyFloat | ComplexType]
        )
    return _DENSE_LITERAL_TYPE_CONSTRAINT


def patch_xdsl_dense_literal_type() -> None:
    """Make xDSL's parser build its dense-literal type constraint once, not per literal.

    xDSL 0.74's ``AttrParser._parse_dense_literal_type`` rebuilds the constraint
    ``base(RankedStructure[...])`` for every ``dense<...>`` it reads, which cost about
    0.5 ms per literal in ``bench/bench_text.py --unpatched-xdsl`` (2-vCPU machine).
    The replacement performs the same checks with a constraint built once. Safe to
    call more than once.
    """
    from xdsl.parser.attribute_parser import AttrParser

    AttrParser._parse_dense_literal_type = _patched_parse_dense_literal_type


class AttributeReader:
    """Converter of the attribute and type tokens of one input to xDSL objects.

    ``fail(message, position)`` raises the diagnostic for a character offset of the
    input. Every conversion error goes through it, so bad input raises no xDSL or
    Python exception.
    """

    def __init__(self, ctx: Context, filename: str, fail: Callable[[str, int], NoReturn]):
        self.ctx = ctx
        self.filename = filename
        self.fail = fail
        # Per-input caches: results of xDSL's parser may depend on the context's dialects.
        self.types: dict[str, Attribute] = {}
        self.attributes: dict[str, Attribute] = {}
        self.dictionaries: dict[str, tuple[tuple[str, Attribute], ...]] = {}
        self.function_types: dict[str, tuple[tuple[Attribute, ...], tuple[Attribute, ...]]] = {}
        self.strings: dict[str, StringAttr] = {}

    # Types.

    def type_from_text(self, text: str, position: int) -> Attribute:
        """Convert a type written as ``f32``, ``tensor<2x3xf32>``, ``!dialect.t<...>``."""
        cached = self.types.get(text)
        if cached is not None:
            return cached
        parsed = builtin_scalar_type(text)
        if parsed is None:
            parsed = self._tensor_type(text)
        if parsed is None:
            parsed = self._parse_with_xdsl(text, position, as_type=True)
        _remember(self.types, text, parsed)
        return parsed

    def _tensor_type(self, text: str) -> Attribute | None:
        match = _TENSOR_RE.fullmatch(text)
        if match is None:
            return None
        element_type = builtin_scalar_type(match.group(2))
        if element_type is None:
            return None
        dimensions = match.group(1)
        shape = [int(size) for size in dimensions[:-1].split("x")] if dimensions else []
        if len(shape) > MAX_TENSOR_RANK:
            return None  # `_parse_with_xdsl` rejects it with the type's position
        return TensorType(element_type, shape)

    def function_type(
        self, text: str, position: int
    ) -> tuple[tuple[Attribute, ...], tuple[Attribute, ...]]:
        """Convert a whole ``(T, T) -> (T)`` token to (input types, result types)."""
        cached = self.function_types.get(text)
        if cached is not None:
            return cached
        arrow = self._find_arrow(text)
        inputs = self._type_list(text[1 : text.rindex(")", 0, arrow)], position + 1)
        result_start = arrow + 2
        result_text = text[result_start:].strip()
        result_position = position + text.index(result_text, result_start)
        if result_text.startswith("("):
            outputs = self._type_list(result_text[1:-1], result_position + 1)
        else:
            outputs = (self.type_from_text(result_text, result_position),)
        signature = (inputs, outputs)
        _remember(self.function_types, text, signature)
        return signature

    @staticmethod
    def _find_arrow(text: str) -> int:
        """Return the index of the `->` that follows the input list of a function type."""
        depth = 0
        for index, character in enumerate(text):
            if character in "(<":
                depth += 1
            elif character in ")>" and text[index - 1] != "-":
                depth -= 1
            elif character == "-" and depth == 0 and text.startswith("->", index):
                return index
        raise AssertionError(f"function type token without '->': {text}")

    def _type_list(self, text: str, position: int) -> tuple[Attribute, ...]:
        types: list[Attribute] = []
        index = 0
        length = len(text)
        while index < length:
            match = TYPE_IN_LIST_RE.match(text, index)
            if match is None:
                break
            types.append(self.type_from_text(match.group(1), position + match.start(1)))
            index = match.end()
            if index < length and text[index] == ",":
                index += 1
        return tuple(types)

    # Attribute values.

    def attribute_from_text(self, text: str, position: int) -> Attribute:
        """Convert one attribute value: a number, string, symbol, array, dense, type..."""
        cached = self.attributes.get(text)
        if cached is not None:
            return cached
        first = text[0]
        if first == '"':
            parsed = self.string_attribute(self.string_value(text, position))
        elif first in "0123456789-+":
            parsed = self.number(text, position)
        elif first == "@":
            parsed = self.symbol(text, position)
        elif first == "[":
            parsed = self.flat_array(text, position)
        elif first == "{":
            parsed = DictionaryAttr(dict(self.dictionary_pairs(text, position)))
        elif text.startswith("dense<"):
            parsed, end = self.dense_at(text, 0, position)
            if end != len(text):
                self.fail("unexpected text after dense literal", position + end)
        elif text == "true":
            parsed = _TRUE
        elif text == "false":
            parsed = _FALSE
        elif text == "unit":
            parsed = _UNIT
        else:
            parsed = self.type_or_attribute(text, position)
        _remember(self.attributes, text, parsed)
        return parsed

    def type_or_attribute(self, text: str, position: int) -> Attribute:
        """Convert a ``name<...>``, ``!dialect.type`` or ``#dialect.attr`` token."""
        cached = self.attributes.get(text)
        if cached is not None:
            return cached
        if text.startswith("array<"):
            parsed = self._dense_array(text, position)
        else:
            parsed = builtin_scalar_type(text)
            if parsed is None:
                parsed = self._tensor_type(text)
            if parsed is None:
                parsed = self._parse_with_xdsl(text, position, as_type=False)
        _remember(self.attributes, text, parsed)
        return parsed

    def string_value(self, literal: str, position: int) -> str:
        """Decode a quoted string literal."""
        try:
            return unescape_string(literal[1:-1])
        except ValueError as error:
            message, offset = error.args
            self.fail(message, position + 1 + offset)

    def string_attribute(self, value: str) -> StringAttr:
        attribute = self.strings.get(value)
        if attribute is None:
            attribute = StringAttr(value)
            _remember(self.strings, value, attribute)
        return attribute

    def number(self, text: str, position: int) -> Attribute:
        """Convert ``1``, ``2.5``, ``1 : i8``, ``0.1 : f32`` or ``0x7FC00000 : f32``."""
        cached = self.attributes.get(text)
        if cached is not None:
            return cached
        literal, colon, type_text = text.partition(":")
        literal = literal.strip()
        is_float = "." in literal
        if colon:
            type_text = type_text.strip()
            value_type = self.type_from_text(type_text, position + text.index(type_text))
        else:
            value_type = Float64Type() if is_float else i64
        try:
            if isinstance(value_type, _FLOAT_TYPES):
                if is_float:
                    parsed = FloatAttr(float(literal), value_type)
                else:
                    parsed = FloatAttr(self._float_from_bits(literal, value_type), value_type)
            elif isinstance(value_type, IntegerType | IndexType):
                if is_float:
                    self.fail(f"expected an integer literal for type {type_text}", position)
                parsed = IntegerAttr(_integer_value(literal), value_type)
            else:
                self.fail(f"expected an integer or float type after ':', got {type_text}", position)
        except DiagnosticError:
            raise
        except Exception as error:  # xDSL raises VerifyException for an out-of-range value
            self.fail(f"invalid number '{text}': {error}", position)
        _remember(self.attributes, text, parsed)
        return parsed

    @staticmethod
    def _float_from_bits(literal: str, float_type: Attribute) -> float:
        """Read a hex literal as the bit pattern of a float (MLIR's spelling of NaN and inf)."""
        if not literal.lstrip("-+").startswith("0x"):
            # A decimal integer for a float type, for example `1 : f32`.
            return float(_integer_value(literal))
        bits = int(literal, 16)
        pattern = _HEX_BITS_FORMATS.get(type(float_type))
        if pattern is None:
            raise ValueError(f"hex float literals are not supported for {float_type}")
        size = struct.calcsize(pattern)
        return struct.unpack(pattern, bits.to_bytes(size, "little"))[0]

    def symbol(self, text: str, position: int) -> SymbolRefAttr:
        """Convert ``@name`` or ``@root::@nested`` (names may be quoted strings)."""
        parts: list[str] = []
        index = 0
        while index < len(text):
            match = _SYMBOL_PART_RE.match(text, index)
            if match.group(1) is not None:
                parts.append(match.group(1))
            else:
                parts.append(self.string_value(match.group(2), position + match.start(2)))
            index = match.end()
        return SymbolRefAttr(parts[0], parts[1:])

    def flat_array(self, text: str, position: int) -> Attribute:
        """Convert an array token without nested arrays: ``[1, 2]``, ``["a", f32]``."""
        cached = self.attributes.get(text)
        if cached is not None:
            return cached
        body = text[1:-1]
        elements: list[Attribute] = []
        index = 0
        if body.strip():
            while index < len(body):
                match = ARRAY_ELEMENT_RE.match(body, index)
                if match is None:
                    # Something the fast path does not know, such as `[1e5]`: xDSL
                    # reports it with its own message.
                    return self._parse_with_xdsl(text, position, as_type=False)
                element = match.group(1)
                elements.append(self.attribute_from_text(element, position + 1 + match.start(1)))
                index = match.end()
        parsed = ArrayAttr(elements)
        _remember(self.attributes, text, parsed)
        return parsed

    def dictionary_pairs(self, text: str, position: int) -> tuple[tuple[str, Attribute], ...]:
        """Convert a dictionary token ``{a = 1, b, c = {d = 2}}`` to its (key, value) pairs."""
        cached = self.dictionaries.get(text)
        if cached is not None:
            return cached
        pairs: list[tuple[str, Attribute]] = []
        seen: set[str] = set()
        index = 1
        empty = _EMPTY_DICT_RE.fullmatch(text) is not None
        while not empty:
            match = DICT_ENTRY_RE.match(text, index)
            if match is None:
                self.fail("invalid entry in attribute dictionary", position + index)
            key_text = match.group(1)
            key_position = position + match.start(1)
            key = self.string_value(key_text, key_position) if key_text[0] == '"' else key_text
            if key in seen:
                self.fail(f"duplicate key '{key}' in attribute dictionary", key_position)
            seen.add(key)
            value_text = match.group(2)
            if value_text is None:
                pairs.append((key, _UNIT))
            else:
                pairs.append((key, self.attribute_from_text(value_text, position + match.start(2))))
            index = match.end()
            if match.group(3) == "}":
                break
        result = tuple(pairs)
        _remember(self.dictionaries, text, result)
        return result

    def dictionary_attribute(self, pairs: tuple[tuple[str, Attribute], ...]) -> DictionaryAttr:
        return DictionaryAttr(dict(pairs))

    def function_type_attribute(
        self, signature: tuple[tuple[Attribute, ...], tuple[Attribute, ...]]
    ) -> FunctionType:
        return FunctionType.from_lists(list(signature[0]), list(signature[1]))

    def _dense_array(self, text: str, position: int) -> Attribute:
        """Convert ``array<i64: 1, 2>`` (or ``array<f32: 0.5>``, ``array<i8>``)."""
        match = _DENSE_ARRAY_RE.fullmatch(text)
        if match is None:
            return self._parse_with_xdsl(text, position, as_type=False)
        element_type = builtin_scalar_type(match.group(1))
        values_text = match.group(2)
        if element_type is None or not isinstance(element_type, (IntegerType, *_FLOAT_TYPES)):
            return self._parse_with_xdsl(text, position, as_type=False)
        literals = [item.strip() for item in values_text.split(",")] if values_text else []
        try:
            if isinstance(element_type, IntegerType):
                values = [self._integer_literal(literal) for literal in literals]
            else:
                values = [self._float_literal(literal, element_type) for literal in literals]
            return DenseArrayBase.from_list(element_type, values)
        except DiagnosticError:
            raise
        except Exception as error:  # ValueError, struct.error or xDSL's VerifyException
            self.fail(f"invalid dense array '{text}': {error}", position)

    # Dense elements.

    def dense_at(self, text: str, start: int, position: int) -> tuple[Attribute, int]:
        """Convert the ``dense<...> : type`` that starts at ``text[start]``.

        ``position`` is the offset of ``text[start]`` in the whole input. Returns the
        attribute and the index in ``text`` after the type. A hex payload is found with
        ``str.find`` and decoded with ``binascii.unhexlify`` straight into a
        ``BytesAttr``, so weights never become Python numbers.
        """
        content_start = start + 6
        base = position - start
        if text.startswith('"', content_start):
            closing_quote = text.find('"', content_start + 1)
            if closing_quote < 0 or not text.startswith(">", closing_quote + 1):
                self.fail("unterminated hex string in dense literal", base + content_start)
            content_end = closing_quote + 1
        else:
            content_end = text.find(">", content_start)
            if content_end < 0:
                self.fail("expected '>' to close the dense literal", base + content_start)
        type_match = TYPE_AFTER_COLON_RE.match(text, content_end + 1)
        if type_match is None:
            end = self._scan_type_after_colon(text, content_end + 1, base)
            type_text = text[text.index(":", content_end + 1) + 1 : end].strip()
        else:
            end = type_match.end()
            type_text = type_match.group(1)
        cache_key = text[start:end] if end - start <= MAX_CACHED_TEXT else None
        if cache_key is not None:
            cached = self.attributes.get(cache_key)
            if cached is not None:
                return cached, end
        type_position = base + text.index(type_text, content_end)
        shaped_type = self.type_from_text(type_text, type_position)
        attribute = self._dense_attribute(
            text, content_start, content_end, shaped_type, base, type_position
        )
        if cache_key is not None:
            _remember(self.attributes, cache_key, attribute)
        return attribute, end

    def _scan_type_after_colon(self, text: str, index: int, base: int) -> int:
        """Find the end of a `: type` too deeply nested for the type regex."""
        match = re.compile(r"\s*+:\s*+([!#]?" + IDENT + ")").match(text, index)
        if match is None:
            self.fail("expected ':' and a tensor type after the dense literal", base + index)
        end = match.end()
        if text.startswith("<", end):
            end = scan_angle_brackets(text, end)
            if end < 0:
                self.fail("unterminated '<' in type", base + match.start(1))
        return end

    def _dense_attribute(
        self,
        text: str,
        content_start: int,
        content_end: int,
        shaped_type: Attribute,
        base: int,
        type_position: int,
    ) -> Attribute:
        if not isinstance(shaped_type, _SHAPED_TYPES):
            self.fail(
                f"expected a tensor, vector or memref type for a dense literal, got {shaped_type}",
                type_position,
            )
        element_type = shaped_type.get_element_type()
        shape = shaped_type.get_shape()
        count = 1
        for dimension in shape:
            if dimension < 0:
                self.fail(f"dense literal type {shaped_type} must have a static shape", type_position)
            count *= dimension
        if not isinstance(element_type, _NUMERIC_TYPES):
            # Complex elements and other rare forms: xDSL's parser.
            literal = text[content_start - 6 : content_end + 1] + " : " + str(shaped_type)
            return self._parse_with_xdsl(literal, base + content_start - 6, as_type=False)
        try:
            element_size = element_type.compile_time_size
        except NotImplementedError:
            # xDSL 0.74 stores only 1-, 8-, 16-, 32- and 64-bit integers in dense literals.
            self.fail(
                f"dense literal element type {element_type} is not supported; use an integer "
                "type of 1, 8, 16, 32 or 64 bits or a float type",
                type_position,
            )
        if count * element_size > MAX_TENSOR_BYTES:
            self.fail(
                f"dense literal of type {shaped_type} needs {count * element_size} bytes,"
                f" more than the limit of {MAX_TENSOR_BYTES}",
                type_position,
            )

        if text.startswith('"', content_start):
            data = self._hex_payload(text, content_start, content_end, base)
            if len(data) == element_size and count != 1:
                data = data * count  # a hex splat contains one element
        else:
            data = self._decimal_payload(
                text[content_start:content_end], element_type, shape, count, base + content_start
            )
        if len(data) != count * element_size:
            self.fail(
                f"dense literal has {len(data)} bytes of data but type {shaped_type} needs"
                f" {count * element_size} ({count} elements of {element_size} bytes)",
                base + content_start,
            )
        try:
            return DenseIntOrFPElementsAttr(shaped_type, BytesAttr(data))
        except Exception as error:  # xDSL verifies the parameters and raises its own types
            self.fail(f"invalid dense literal: {error}", base + content_start)

    def _hex_payload(self, text: str, content_start: int, content_end: int, base: int) -> bytes:
        if not text.startswith('"0x', content_start):
            self.fail(
                "expected a hex string starting with 0x in dense literal", base + content_start
            )
        digits = text[content_start + 3 : content_end - 1]
        try:
            return binascii.unhexlify(digits)
        except (binascii.Error, ValueError):
            bad = _INVALID_HEX_DIGIT_RE.search(digits)
            if bad is not None:
                self.fail(
                    f"invalid hex digit '{bad.group()}' in dense literal",
                    base + content_start + 3 + bad.start(),
                )
            self.fail(
                f"hex string in dense literal has an odd number of digits ({len(digits)})",
                base + content_start,
            )

    def _decimal_payload(
        self, content: str, element_type, shape: tuple[int, ...], count: int, position: int
    ) -> bytes:
        """Pack ``1.0``, ``[1, 2]`` or ``[[1.0], [2.0]]`` with the element type's own packer."""
        if not content.strip():
            return b""
        if "(" in content:
            self.fail("complex dense literals are not supported in decimal form", position)
        literals, literal_shape = self._nested_list(content, position)
        if literal_shape is None:
            splat = True
        else:
            splat = False
            if literal_shape != tuple(shape):
                self.fail(
                    f"dense literal has shape {list(literal_shape)} but its type has shape"
                    f" {list(shape)}",
                    position,
                )
        try:
            if isinstance(element_type, IntegerType):
                values = [
                    element_type.get_normalized_value(self._integer_literal(item))
                    for item in literals
                ]
            elif isinstance(element_type, IndexType):
                values = [self._integer_literal(item) for item in literals]
            else:
                values = [self._float_literal(item, element_type) for item in literals]
            data = element_type.pack(values)
        except (ValueError, OverflowError, struct.error) as error:
            self.fail(f"invalid element in dense literal: {error}", position)
        if splat:
            data = data * count
        return data

    def _nested_list(
        self, content: str, position: int
    ) -> tuple[list[str], tuple[int, ...] | None]:
        """Flatten a nested list literal; the shape is None for a single (splat) value."""
        tokens: list[tuple[int, str]] = []
        index = 0
        length = len(content)
        while index < length:
            match = _DENSE_LIST_TOKEN_RE.match(content, index)
            if match is None:
                break
            tokens.append((match.lastindex, match.group(match.lastindex)))
            index = match.end()
        if len(tokens) == 1 and tokens[0][0] == 4:
            return [tokens[0][1]], None

        flat: list[str] = []
        shape_at_depth: dict[int, int] = {}
        counts: list[int] = []
        expect_item = True
        for kind, token in tokens:
            if kind == 1:  # '['
                if not expect_item:
                    self.fail("expected ',' between elements of the dense literal", position)
                if counts:
                    counts[-1] += 1
                counts.append(0)
                expect_item = True
            elif kind == 2:  # ']'
                if not counts:
                    self.fail("unbalanced ']' in dense literal", position)
                depth = len(counts)
                closed = counts.pop()
                known = shape_at_depth.setdefault(depth, closed)
                if known != closed:
                    self.fail("dense literal has rows of different lengths", position)
                expect_item = False
            elif kind == 3:  # ','
                if expect_item:
                    self.fail("unexpected ',' in dense literal", position)
                expect_item = True
            else:
                if not expect_item or not counts:
                    self.fail(f"unexpected '{token}' in dense literal", position)
                counts[-1] += 1
                flat.append(token)
                expect_item = False
        if counts or not tokens or tokens[0][0] != 1:
            self.fail("unbalanced '[' in dense literal", position)
        depth = max(shape_at_depth) if shape_at_depth else 0
        shape = tuple(shape_at_depth[level] for level in range(1, depth + 1))
        return flat, shape

    @staticmethod
    def _integer_literal(literal: str) -> int:
        if literal == "true":
            return 1
        if literal == "false":
            return 0
        if _NUMBER_RE.fullmatch(literal) is None or "." in literal:
            raise ValueError(f"invalid integer literal '{literal}'")
        return _integer_value(literal)

    @classmethod
    def _float_literal(cls, literal: str, float_type: Attribute) -> float:
        if _NUMBER_RE.fullmatch(literal) is None:
            raise ValueError(f"invalid float literal '{literal}'")
        if "." in literal:
            return float(literal)
        return cls._float_from_bits(literal, float_type)

    # Fallback.

    def _parse_with_xdsl(self, text: str, position: int, *, as_type: bool) -> Attribute:
        """Parse a token that the fast paths above do not handle with xDSL's parser."""
        from xdsl.parser import Parser
        from xdsl.utils.exceptions import ParseError

        shown = text if len(text) <= 80 else text[:77] + "..."
        # xDSL's parser and printer recurse once or more per bracket level.
        if nesting_depth(text) > MAX_NESTING_DEPTH:
            self.fail(
                f"nesting deeper than {MAX_NESTING_DEPTH} brackets in '{shown}'", position
            )
        patch_xdsl_dense_literal_type()
        parser = Parser(self.ctx, text, self.filename)
        try:
            parsed = parser.parse_type() if as_type else parser.parse_attribute()
            trailing = _TRAILING_TEXT_RE.match(text, parser.pos)
            if trailing.end() != len(text):
                self.fail(
                    f"unexpected text after {'type' if as_type else 'attribute'}",
                    position + parser.pos,
                )
        except ParseError as error:
            if error.span.start == 0:
                kind = "type" if as_type else "type or attribute"
                self.fail(f"unknown {kind} '{shown}' ({error.msg})", position)
            self.fail(error.msg, position + error.span.start)
        except DiagnosticError:
            raise
        except Exception as error:  # attribute constructors raise VerifyException, ValueError...
            self.fail(f"invalid {'type' if as_type else 'attribute'} '{shown}': {error}", position)
        if as_type and not isinstance(parsed, TypeAttribute):
            self.fail(f"expected a type, got attribute {text}", position)
        if isinstance(parsed, _SHAPED_TYPES) and len(parsed.get_shape()) > MAX_TENSOR_RANK:
            self.fail(
                f"type '{shown}' has {len(parsed.get_shape())} dimensions; at most"
                f" {MAX_TENSOR_RANK} are supported",
                position,
            )
        return parsed

"""Text of attributes and types for the printer, with exact float spelling.

Floats print as the shortest decimal that reads back to the same bits in their own
type (so ``0.1 : f32`` and ``0.1 : f64`` both print as ``0.1``), always with a ``.``
because MLIR's float literals need one. NaN and infinities print as hex bit patterns,
as MLIR does. Builtin attributes and types that nirmlir uses are formatted here;
anything else is printed by xDSL's printer.
"""

from __future__ import annotations

import math
import re
import struct
from io import StringIO

from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    DictionaryAttr,
    Float16Type,
    Float32Type,
    Float64Type,
    FloatAttr,
    FunctionType,
    IndexType,
    IntegerAttr,
    IntegerType,
    NoneAttr,
    NoneType,
    Signedness,
    StringAttr,
    SymbolRefAttr,
    TensorType,
    UnitAttr,
    i1,
)
from xdsl.ir import Attribute

from nirmlir.text_syntax import escape_string, print_key

_MAX_CACHED_TEXT = 4096

_FLOAT_STRUCTS = {
    Float16Type: struct.Struct("<e"),
    Float32Type: struct.Struct("<f"),
    Float64Type: struct.Struct("<d"),
}
_FLOAT_DIGITS = {Float16Type: 5, Float32Type: 9, Float64Type: 17}
"""Significant digits that always suffice to read a value of the type back exactly."""

_SIGNEDNESS_PREFIX = {
    Signedness.SIGNLESS: "i",
    Signedness.SIGNED: "si",
    Signedness.UNSIGNED: "ui",
}
_INTEGER_SUFFIX_RE = re.compile(r"(?:_[0-9]+)+$")

_float_texts: dict[tuple[type, float], str] = {}


def _with_point(text: str) -> str:
    """Add ``.0`` where Python's float text has no ``.``: ``1e-08`` -> ``1.0e-08``."""
    mantissa, exponent_mark, exponent = text.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return mantissa + exponent_mark + exponent


def float_text(value: float, float_type: Attribute) -> str | None:
    """Return the shortest text of ``value`` that reads back bit-exactly as ``float_type``.

    Returns the hex bit pattern (``0x7FC00000``) for NaN and infinities, and None for
    float types other than f16, f32 and f64.
    """
    kind = type(float_type)
    if value == 0.0 and kind in _FLOAT_STRUCTS:
        # Handled apart from the cache, because -0.0 == 0.0 would share one entry.
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    key = (kind, value)
    cached = _float_texts.get(key)
    if cached is not None:
        return cached
    packer = _FLOAT_STRUCTS.get(kind)
    if packer is None:
        return None
    if math.isnan(value) or math.isinf(value):
        return "0x" + packer.pack(value)[::-1].hex().upper()
    if kind is Float64Type:
        text = _with_point(repr(value))
    else:
        bits = packer.pack(value)
        text = repr(value)
        for digits in range(1, _FLOAT_DIGITS[kind] + 1):
            candidate = float("%.*g" % (digits, value))
            try:
                if packer.pack(candidate) == bits:
                    # repr() gives back the same digits (a double keeps 15 significant
                    # digits), spelled as Python and numpy print them: 100.0, not 1e+02.
                    text = repr(candidate)
                    break
            except OverflowError:
                continue
        text = _with_point(text)
    if len(_float_texts) > 1 << 16:
        _float_texts.clear()
    _float_texts[key] = text
    return text


class AttributeFormatter:
    """Formatter of attributes and types for one print call.

    Texts are cached by object identity: the printed module keeps every attribute
    alive for the duration of the call, and parsed modules share equal attributes.
    """

    def __init__(self, hex_threshold: int = 16, elide_threshold: int | None = None):
        self.hex_threshold = hex_threshold
        self.elide_threshold = elide_threshold
        self._texts: dict[int, tuple[Attribute, str]] = {}

    def format(self, attribute: Attribute) -> str:
        """Return the text of an attribute or type."""
        entry = self._texts.get(id(attribute))
        if entry is not None:
            return entry[1]
        text = self._format(attribute)
        if len(text) <= _MAX_CACHED_TEXT:
            self._texts[id(attribute)] = (attribute, text)
        return text

    def _format(self, attribute: Attribute) -> str:
        kind = type(attribute)
        if kind is TensorType:
            text = self._tensor(attribute)
        elif kind is StringAttr:
            return escape_string(attribute.data)
        elif kind is DenseIntOrFPElementsAttr:
            text = self._dense(attribute)
        elif kind is IntegerType:
            return f"{_SIGNEDNESS_PREFIX[attribute.signedness.data]}{attribute.width.data}"
        elif kind in _FLOAT_STRUCTS:
            return attribute.name
        elif kind is IntegerAttr:
            return self._integer(attribute)
        elif kind is FloatAttr:
            number = float_text(attribute.value.data, attribute.type)
            text = None if number is None else f"{number} : {self.format(attribute.type)}"
        elif kind is DictionaryAttr:
            return self.dictionary(attribute.data)
        elif kind is ArrayAttr:
            return "[" + ", ".join([self.format(element) for element in attribute.data]) + "]"
        elif kind is UnitAttr:
            return "unit"
        elif kind is SymbolRefAttr:
            return "".join(
                ["@", print_key(attribute.root_reference.data)]
                + ["::@" + print_key(nested.data) for nested in attribute.nested_references.data]
            )
        elif kind is DenseArrayBase:
            text = self._dense_array(attribute)
        elif kind is IndexType:
            return "index"
        elif kind is NoneType:
            return "none"
        elif kind is FunctionType:
            return self.function_type(attribute.inputs.data, attribute.outputs.data)
        else:
            text = None
        if text is None:
            text = self._format_with_xdsl(attribute)
        return text

    def dictionary(self, entries) -> str:
        """Return ``{key = value, unit_key}`` for a mapping of names to attributes."""
        parts: list[str] = []
        self.append_dictionary(parts, entries)
        return "".join(parts)

    def append_dictionary(self, parts: list[str], entries) -> None:
        """Append the text of ``dictionary(entries)`` to ``parts``.

        A large dense value goes in as pieces, so its hex text is copied only once more,
        into the final output.
        """
        parts.append("{")
        separator = ""
        for key, value in entries.items():
            parts.append(separator)
            separator = ", "
            if type(value) is UnitAttr:
                parts.append(print_key(key))
                continue
            parts.append(print_key(key))
            parts.append(" = ")
            if type(value) is DenseIntOrFPElementsAttr and len(value.data.data) > _MAX_CACHED_TEXT:
                pieces = self._dense_pieces(value)
                if pieces is not None:
                    parts.extend(pieces)
                    continue
            parts.append(self.format(value))
        parts.append("}")

    def function_type(self, inputs, outputs) -> str:
        """Return ``(T, T) -> T`` the way MLIR prints a function type."""
        text = "(" + ", ".join([self.format(item) for item in inputs]) + ") -> "
        if len(outputs) == 1 and type(outputs[0]) is not FunctionType:
            return text + self.format(outputs[0])
        return text + "(" + ", ".join([self.format(item) for item in outputs]) + ")"

    def _tensor(self, tensor: TensorType) -> str | None:
        # An isinstance test, because comparing with NoneAttr() would build and verify one per tensor.
        if not isinstance(tensor.encoding, NoneAttr):
            return None
        element = self.format(tensor.element_type)
        shape = tensor.get_shape()
        if not shape:
            return f"tensor<{element}>"
        dimensions = "x".join(["?" if size < 0 else str(size) for size in shape])
        return f"tensor<{dimensions}x{element}>"

    def _integer(self, attribute: IntegerAttr) -> str:
        value = attribute.value.data
        value_type = attribute.type
        if value_type == i1 and value in (0, 1, -1):
            return "true" if value else "false"
        return f"{value} : {self.format(value_type)}"

    def _element_texts(self, values, element_type) -> list[str] | None:
        if isinstance(element_type, IntegerType):
            if element_type.width.data == 1:
                return ["true" if value else "false" for value in values]
            return [str(value) for value in values]
        if isinstance(element_type, IndexType):
            return [str(value) for value in values]
        texts = []
        for value in values:
            if math.isnan(value) or math.isinf(value):
                return None
            text = float_text(value, element_type)
            if text is None:
                return None
            texts.append(text)
        return texts

    def _dense(self, attribute: DenseIntOrFPElementsAttr) -> str | None:
        pieces = self._dense_pieces(attribute)
        return None if pieces is None else "".join(pieces)

    def _dense_pieces(self, attribute: DenseIntOrFPElementsAttr) -> list[str] | None:
        """Return the text of a dense attribute in pieces, or None to print it with xDSL.

        Pieces let a large hex payload go into the output without extra copies.
        """
        shaped_type = attribute.type
        element_type = shaped_type.element_type
        if not isinstance(element_type, IntegerType | IndexType) and type(element_type) not in _FLOAT_STRUCTS:
            return None
        shape = shaped_type.get_shape()
        count = math.prod(shape)
        type_text = " : " + self.format(shaped_type)
        if self.elide_threshold is not None and count > self.elide_threshold:
            return ["dense_resource<__elided__>", type_text]
        data = attribute.data.data
        size = element_type.compile_time_size
        if count < 0 or len(data) != count * size:
            return None
        if count == 0:
            return ["dense<>", type_text]
        first = data[:size]
        if count >= 2 and data[-size:] == first and data.count(first) == count:
            # A splat. `bytes.count` counts non-overlapping matches, so `count` of them
            # in `count * size` bytes means every element equals the first.
            texts = self._element_texts(element_type.unpack(first, 1), element_type)
            if texts is None:
                return ['dense<"0x', first.hex().upper(), '">', type_text]
            return ["dense<", texts[0], ">", type_text]
        if count > self.hex_threshold:
            return ['dense<"0x', data.hex().upper(), '">', type_text]
        texts = self._element_texts(element_type.unpack(data, count), element_type)
        if texts is None:
            return ['dense<"0x', data.hex().upper(), '">', type_text]
        if not shape:
            return ["dense<", texts[0], ">", type_text]
        return ["dense<", _nested(texts, shape), ">", type_text]

    def _dense_array(self, attribute: DenseArrayBase) -> str | None:
        element_type = attribute.elt_type
        type_text = self.format(element_type)
        data = attribute.data.data
        size = element_type.compile_time_size
        values = element_type.unpack(data, len(data) // size)
        if not values:
            return f"array<{type_text}>"
        if isinstance(element_type, IntegerType):
            texts = [str(value) for value in values]
        else:
            texts = self._element_texts(values, element_type)
            if texts is None:
                return None
        return f"array<{type_text}: {', '.join(texts)}>"

    @staticmethod
    def _format_with_xdsl(attribute: Attribute) -> str:
        from xdsl.printer import Printer

        stream = StringIO()
        Printer(stream=stream).print_attribute(attribute)
        return stream.getvalue()


def _nested(texts: list[str], shape: tuple[int, ...]) -> str:
    """Return ``[[a, b], [c, d]]`` for row-major ``texts`` of the given shape."""
    if len(shape) == 1:
        return "[" + ", ".join(texts) + "]"
    step = len(texts) // shape[0] if shape[0] else 0
    rows = [_nested(texts[index : index + step], shape[1:]) for index in range(0, len(texts), step)]
    return "[" + ", ".join(rows) + "]"


def strip_name_suffix(hint: str) -> str:
    """Remove trailing ``_N`` groups, which the parser would drop from a name hint."""
    return _INTEGER_SUFFIX_RE.sub("", hint) or hint

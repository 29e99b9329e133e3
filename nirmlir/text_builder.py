"""Semantic actions of the textual IR grammar: they build xDSL ops, blocks and regions.

``nirmlir/parser.py`` calls one method of ``IRBuilder`` per reduced grammar rule, named
by the rule's alias in ``grammar.lark``, with one argument per symbol of the rule.
Token arguments are ``(value, offset)`` pairs, except punctuation, which is the bare
offset of the character in the input.

Values may be used before they are defined (NIR graphs are recurrent), so a use of an
unknown name creates a ``ForwardDeclaredValue`` that the definition replaces. Values
are scoped by region as in MLIR: ops in a region can use the values of the regions
around it, and the region's own values go out of scope when it closes. Uses that a
region leaves unresolved pass to the region around it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

from xdsl.context import Context
from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    IntegerAttr,
    ModuleOp,
    UnitAttr,
)
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue, TypeAttribute
from xdsl.irdl import IRDLOperation

from nirmlir.diagnostics import DiagnosticError, Location, note
from nirmlir.limits import MAX_NESTING_DEPTH
from nirmlir.text_attributes import AttributeReader
from nirmlir.text_syntax import VALUE_NAME_RE, location_of, syntax_error

_UNIT = UnitAttr()
_EMPTY_ARRAY = ArrayAttr([])

# Op forms in the tuples that op_body rules return to the `op` rules.
_GENERIC = 0
_NODE = 1
_REGION = 2

NODE_NAME = "node_name"
"""The property that contains the string written after a node-form op's name."""

SYMBOL_NAME = "sym_name"

MAX_RESULT_GROUP = 1 << 16
"""Largest result group ``%name:N`` accepted, a bound so a typo cannot exhaust memory."""


@dataclass(frozen=True)
class OpSyntax:
    """Syntax facts of an op class, shared by the parser and the printer."""

    assembly_form: str | None
    """``"node"``, ``"graph"``, ``"module"`` (builtin.module) or None (generic only).

    Op classes choose a form with the class attribute ``ASSEMBLY_FORM``, a ``ClassVar``
    in upper case because xDSL 0.74's op definitions reject other class attributes.
    A lower-case ``assembly_form`` set on the class after its definition also counts.
    """
    property_names: tuple[str, ...]
    """Property names in the op definition's order."""
    has_operand_def: bool


_OP_SYNTAX: dict[type[Operation], OpSyntax] = {}


def op_syntax(op_class: type[Operation]) -> OpSyntax:
    """Return (and cache) the syntax facts of an op class."""
    syntax = _OP_SYNTAX.get(op_class)
    if syntax is not None:
        return syntax
    if issubclass(op_class, IRDLOperation):
        definition = op_class.get_irdl_definition()
        property_names = tuple(definition.properties)
        has_operand_def = bool(definition.operands)
    else:
        property_names = ()
        has_operand_def = False
    form = getattr(op_class, "ASSEMBLY_FORM", None) or getattr(op_class, "assembly_form", None)
    if op_class is ModuleOp:
        form = "module"
    elif form not in ("node", "graph"):
        form = None
    syntax = OpSyntax(form, property_names, has_operand_def)
    _OP_SYNTAX[op_class] = syntax
    return syntax


class ForwardDeclaredValue(SSAValue):
    """A value used before its definition; the definition replaces all its uses.

    nirmlir's own class, so the parser does not import xDSL's parser for it.
    """

    @property
    def owner(self) -> Operation | Block:
        raise ValueError("a value used before its definition has no owner yet")


class _RegionFrame:
    """A region being parsed; the top level is a frame without a region."""

    __slots__ = ("region", "block", "blocks", "undefined_blocks", "ops")

    def __init__(self, region: Region | None):
        self.region = region
        self.block: Block | None = None
        self.blocks: dict[str, Block] = {}
        self.undefined_blocks: dict[str, int] = {}
        """Blocks used as successors but not labelled yet: name -> offset of first use."""
        self.ops: list[Operation] = []
        """Top-level ops (only for the frame without a region)."""


class IRBuilder:
    """Builder of one module from the reduced grammar rules of one input text."""

    def __init__(self, ctx: Context, text: str, filename: str, line_offset: int):
        self.ctx = ctx
        self.text = text
        self.filename = filename
        self.line_offset = line_offset
        self.reader = AttributeReader(ctx, filename, self.fail)
        self.op_classes: dict[str, type[Operation] | None] = {}
        self.frames = [_RegionFrame(None)]
        self.scopes: list[dict[str, SSAValue]] = [{}]
        """Defined values by name, one dictionary per open region."""
        self.forward: list[dict[str, tuple[ForwardDeclaredValue, int]]] = [{}]
        """Values used before their definition: name -> (placeholder, offset of the first
        use), one dictionary per open region."""
        self.hints: dict[str, str | None] = {}
        self.op_offsets: list[tuple[Operation, int]] = []
        """Each op built and the offset where its text starts (its first result or name)."""
        self.attribute_depths: dict[int, tuple[object, int]] = {}
        """Arrays and dictionaries that nest others, by id: (the container, its depth).
        The container is kept so its id cannot be reused during the parse."""

    def error(self, message: str, position: int) -> DiagnosticError:
        """Build a diagnostic at a character offset of the input."""
        return syntax_error(message, self.text, position, self.filename, self.line_offset)

    def location(self, position: int) -> Location:
        """Return the file, line and column of a character offset of the input."""
        line, column = location_of(self.text, position)
        return Location(self.filename, line + self.line_offset, column)

    def fail(self, message: str, position: int) -> NoReturn:
        """Raise a diagnostic at a character offset of the input."""
        raise self.error(message, position)

    def lookup_op(self, name: str) -> type[Operation] | None:
        if name in self.op_classes:
            return self.op_classes[name]
        op_class = self.ctx.get_optional_op(name)
        self.op_classes[name] = op_class
        return op_class

    # Values.

    def _hint(self, name: str) -> str | None:
        """Return the name hint xDSL would keep for ``%name`` (a trailing `_N` removed)."""
        if name in self.hints:
            return self.hints[name]
        hint = None
        if VALUE_NAME_RE.fullmatch(name):
            hint = Block.extract_valid_name(name)
        self.hints[name] = hint
        return hint

    def use(self, token: tuple[str, int], value_type: Attribute) -> SSAValue:
        """Return the value that ``%name`` names, or a placeholder until it is defined.

        As in MLIR, every use states the value's type (the generic form per operand, the
        node form once for all operands), and a use with another type is an error at the
        use. A use before the definition is checked when the definition arrives.
        """
        name, position = token
        scopes = self.scopes
        value = scopes[-1].get(name)
        if value is None:
            for depth in range(len(scopes) - 2, -1, -1):
                value = scopes[depth].get(name)
                if value is not None:
                    break
            else:
                forward = self.forward[-1]
                entry = forward.get(name)
                if entry is None:
                    placeholder = ForwardDeclaredValue(value_type)
                    forward[name] = (placeholder, position)
                    return placeholder
                placeholder, first_position = entry
                if placeholder.type != value_type:
                    raise self._conflicting_uses(
                        name, value_type, position, placeholder.type, first_position
                    )
                return placeholder
        if value.type is not value_type and value.type != value_type:
            self.fail(
                f"value '%{name}' has type {value.type} but is used with type {value_type}",
                position,
            )
        return value

    def _conflicting_uses(
        self, name: str, value_type: Attribute, position: int, earlier_type, earlier_position: int
    ) -> DiagnosticError:
        """Build the error for two uses of a not yet defined value with different types."""
        error = self.error(
            f"value '%{name}' is used with type {value_type} here but with type"
            f" {earlier_type} before",
            position,
        )
        error.diagnostic.notes.append(
            note(f"previously used here with type {earlier_type}", self.location(earlier_position))
        )
        return error

    def define(self, name: str, value: SSAValue, position: int) -> None:
        """Bind ``%name`` in the current region and resolve earlier uses of it."""
        for scope in self.scopes:
            if name in scope:
                self.fail(f"redefinition of value '%{name}'", position)
        self.scopes[-1][name] = value
        forward = self.forward[-1]
        if forward:
            entry = forward.pop(name, None)
            if entry is not None:
                placeholder, use_position = entry
                if placeholder.type != value.type:
                    error = self.error(
                        f"value '%{name}' is defined with type {value.type} but was used"
                        f" with type {placeholder.type}",
                        position,
                    )
                    error.diagnostic.notes.append(
                        note(
                            f"previously used here with type {placeholder.type}",
                            self.location(use_position),
                        )
                    )
                    raise error
                placeholder.replace_all_uses_with(value)
        hint = self._hint(name.partition("#")[0])
        if hint is not None:
            value.name_hint = hint

    # Blocks and regions.

    def _current_block(self) -> Block | None:
        frame = self.frames[-1]
        if frame.region is None:
            return None
        block = frame.block
        if block is None:
            block = Block()
            frame.region.add_block(block)
            frame.block = block
        return block

    def _append(self, op: Operation) -> None:
        block = self._current_block()
        if block is None:
            self.frames[-1].ops.append(op)
        else:
            block.add_op(op)

    def _block_reference(self, token: tuple[str, int]) -> Block:
        name, position = token
        frame = self.frames[-1]
        if frame.region is None:
            self.fail("a successor block must be inside a region", position)
        block = frame.blocks.get(name)
        if block is None:
            block = self._new_block(name)
            frame.blocks[name] = block
            frame.undefined_blocks[name] = position
        return block

    @staticmethod
    def _new_block(name: str) -> Block:
        block = Block()
        if VALUE_NAME_RE.fullmatch(name) and not Block.is_default_block_name(name):
            block.name_hint = name
        return block

    def _label(self, caret: tuple[str, int], arguments) -> None:
        name, position = caret
        frame = self.frames[-1]
        block = frame.blocks.get(name)
        if block is None:
            block = self._new_block(name)
            frame.blocks[name] = block
        elif frame.undefined_blocks.pop(name, None) is None:
            self.fail(f"redefinition of block '^{name}'", position)
        for argument_name, argument_position, argument_type in arguments:
            argument = block.insert_arg(argument_type, len(block.args))
            self.define(argument_name, argument, argument_position)
        frame.region.add_block(block)
        frame.block = block

    def region_open(self, brace: int) -> None:
        # The frame without a region is the top level, so len(frames) regions are open.
        if len(self.frames) > MAX_NESTING_DEPTH:
            self.fail(f"nesting deeper than {MAX_NESTING_DEPTH} regions", brace)
        self.frames.append(_RegionFrame(Region()))
        self.scopes.append({})
        self.forward.append({})

    def region(self, opened: None, items: None, brace: int) -> Region:
        frame = self.frames.pop()
        if frame.undefined_blocks:
            name, position = min(frame.undefined_blocks.items(), key=lambda item: item[1])
            self.fail(f"use of undefined block '^{name}'", position)
        self.scopes.pop()
        unresolved = self.forward.pop()
        if unresolved:
            outer = self.forward[-1]
            for name, entry in unresolved.items():
                outer_entry = outer.get(name)
                if outer_entry is None:
                    outer[name] = entry
                    continue
                placeholder, position = entry
                if placeholder.type != outer_entry[0].type:
                    raise self._conflicting_uses(
                        name, placeholder.type, position, outer_entry[0].type, outer_entry[1]
                    )
                placeholder.replace_all_uses_with(outer_entry[0])
        return frame.region

    def region_items_empty(self) -> None:
        return None

    def region_items_op(self, items: None, op: None) -> None:
        return None

    def region_items_label(self, items: None, label: None) -> None:
        return None

    def block_label_plain(self, caret, colon: int) -> None:
        self._label(caret, ())

    def block_label_empty_args(self, caret, paren: int, close: int, colon: int) -> None:
        self._label(caret, ())

    def block_label_args(self, caret, paren: int, arguments, close: int, colon: int) -> None:
        self._label(caret, arguments)

    def block_arg_list_first(self, argument):
        return [argument]

    def block_arg_list_more(self, arguments, comma: int, argument):
        arguments.append(argument)
        return arguments

    def block_arg(self, value, colon: int, value_type: Attribute):
        name, position = value
        if "#" in name:
            self.fail(f"block argument '%{name}' cannot have a '#' index", position)
        return (name, position, value_type)

    # The module.

    def top_empty(self) -> None:
        return None

    def top_more(self, items: None, op: None) -> None:
        return None

    def module_end(self, items: None) -> ModuleOp:
        forward = self.forward[0]
        if forward:
            name, entry = min(forward.items(), key=lambda item: item[1][1])
            position = entry[1]
            self.fail(f"use of undefined value '%{name}'", position)
        ops = self.frames[0].ops
        if len(ops) == 1 and isinstance(ops[0], ModuleOp):
            return ops[0]
        return ModuleOp(ops)

    # Ops.

    def op_with_results(self, results, equal: int, body) -> None:
        self._finish_op(results, body)

    def op_without_results(self, body) -> None:
        self._finish_op(None, body)

    def result_list_first(self, result):
        return [result]

    def result_list_more(self, results, comma: int, result):
        results.append(result)
        return results

    def result_single(self, value):
        name, position = value
        if "#" in name:
            self.fail(f"result name '%{name}' cannot have a '#' index", position)
        return (name, 1, position)

    def result_group(self, value, colon: int, number):
        name, position = value
        count = number[0]
        if "#" in name:
            self.fail(f"result name '%{name}' cannot have a '#' index", position)
        if not isinstance(count, IntegerAttr) or not 1 <= count.value.data <= MAX_RESULT_GROUP:
            self.fail(
                f"expected a number of results from 1 to {MAX_RESULT_GROUP} after ':'",
                number[1],
            )
        return (name, count.value.data, position)

    def generic_name(self, string):
        name, position = string
        op_class = self.lookup_op(name)
        if op_class is None:
            self.fail(f"unknown operation '{name}'", position)
        return (op_class, name, position)

    def custom_name(self, bare):
        name, position = bare
        op_class = self.lookup_op(name)
        if op_class is None:
            self.fail(f"unknown operation '{name}'", position)
        return (op_class, name, position)

    def generic_op(
        self, name, paren, operands, close, successors, properties, regions, attributes,
        colon, signature,
    ):
        return (_GENERIC, name, operands, successors, properties, regions, attributes, signature)

    def node_op(self, name, node_name, operands, attributes, signature):
        return (_NODE, name, node_name, operands, attributes, signature)

    def symbol_region_op(self, name, symbol, region):
        return (_REGION, name, symbol, None, region)

    def symbol_attributes_region_op(self, name, symbol, keyword, attributes, region):
        self._expect_attributes_keyword(keyword)
        return (_REGION, name, symbol, attributes, region)

    def region_op(self, name, region):
        return (_REGION, name, None, None, region)

    def attributes_region_op(self, name, keyword, attributes, region):
        self._expect_attributes_keyword(keyword)
        return (_REGION, name, None, attributes, region)

    def _expect_attributes_keyword(self, keyword) -> None:
        if keyword[0] != "attributes":
            self.fail(f"expected 'attributes' but found '{keyword[0]}'", keyword[1])

    def _finish_op(self, results, body) -> None:
        form = body[0]
        result_count = 0
        if results is not None:
            for result in results:
                result_count += result[1]
        if form == _GENERIC:
            op = self._generic(body)
        elif form == _NODE:
            op = self._node(body, result_count)
        else:
            op = self._region_form(body)
        if results is not None:
            if len(op.results) != result_count:
                self.fail(
                    f"operation '{body[1][1]}' has {len(op.results)} results but"
                    f" {result_count} names are bound",
                    results[0][2],
                )
            index = 0
            for name, count, position in results:
                if count == 1:
                    self.define(name, op.results[index], position)
                else:
                    for offset in range(count):
                        self.define(f"{name}#{offset}", op.results[index + offset], position)
                index += count
        self.op_offsets.append((op, body[1][2] if results is None else results[0][2]))
        self._append(op)

    def _create(self, op_class, name, position, **fields) -> Operation:
        try:
            return op_class.create(**fields)
        except Exception as error:  # constructors of ops outside nirmlir may raise anything
            self.fail(f"cannot build operation '{name}': {error}", position)

    def _generic(self, body) -> Operation:
        _, (op_class, name, position), operand_tokens, successors, properties, regions, attributes, signature = body
        inputs, outputs, signature_position = signature
        if len(inputs) != len(operand_tokens):
            self.fail(
                f"operation '{name}' has {len(operand_tokens)} operands but its signature"
                f" has {len(inputs)} operand types",
                signature_position,
            )
        use = self.use
        operands = [use(token, value_type) for token, value_type in zip(operand_tokens, inputs)]
        property_dict = dict(properties) if properties else {}
        attribute_dict = dict(attributes) if attributes else {}
        if attribute_dict:
            # As xDSL does, an attribute that names a property of the op becomes that
            # property (the generic form of older MLIR had no `<{...}>`).
            for property_name in op_syntax(op_class).property_names:
                if property_name in attribute_dict and property_name not in property_dict:
                    property_dict[property_name] = attribute_dict.pop(property_name)
        return self._create(
            op_class,
            name,
            position,
            operands=operands,
            result_types=outputs,
            properties=property_dict,
            attributes=attribute_dict,
            successors=successors,
            regions=regions,
        )

    def _split_entries(
        self, syntax: OpSyntax, pairs, properties: dict, position: int
    ) -> dict[str, Attribute]:
        """Move dictionary entries that name a property of the op into ``properties``."""
        attributes: dict[str, Attribute] = {}
        if pairs:
            property_names = syntax.property_names
            for key, value in pairs:
                if key in property_names:
                    if key in properties:
                        self.fail(f"duplicate key '{key}' in attribute dictionary", position)
                    properties[key] = value
                else:
                    attributes[key] = value
        return attributes

    def _node(self, body, result_count: int) -> Operation:
        _, (op_class, name, position), node_name, operand_tokens, pairs, signature = body
        syntax = op_syntax(op_class)
        if syntax.assembly_form != "node":
            self._reject_custom_form(name, position)
        properties = {NODE_NAME: self.reader.string_attribute(node_name[0])}
        attributes = self._split_entries(syntax, pairs, properties, position)
        operand_tokens = operand_tokens or ()
        if signature is None:
            if operand_tokens or result_count:
                self.fail(
                    f"expected ':' and a type after operation '{name}', which has operands"
                    " or results",
                    position,
                )
            input_type = output_type = None
        elif len(signature) == 1:
            input_type = output_type = signature[0]
        else:
            input_type, output_type = signature
        use = self.use
        operands = [use(token, input_type) for token in operand_tokens]
        return self._create(
            op_class,
            name,
            position,
            operands=operands,
            result_types=[output_type] * result_count,
            properties=properties,
            attributes=attributes,
        )

    def _region_form(self, body) -> Operation:
        _, (op_class, name, position), symbol, pairs, region = body
        syntax = op_syntax(op_class)
        if syntax.assembly_form not in ("graph", "module"):
            self._reject_custom_form(name, position)
        properties: dict[str, Attribute] = {}
        if symbol is not None:
            reference, symbol_position = symbol
            if reference.nested_references.data:
                self.fail("expected a symbol name without '::' nesting", symbol_position)
            properties[SYMBOL_NAME] = reference.root_reference
        elif syntax.assembly_form == "graph":
            self.fail(f"expected '@name' after '{name}'", position)
        attributes = self._split_entries(syntax, pairs, properties, position)
        if not region.blocks:
            region.add_block(Block())
        return self._create(
            op_class, name, position, properties=properties, attributes=attributes, regions=[region]
        )

    def _reject_custom_form(self, name: str, position: int) -> NoReturn:
        self.fail(custom_form_message(name), position)

    # Operand, successor and region lists.

    def operands_empty(self):
        return ()

    def operands_list(self, values):
        return values

    def value_list_first(self, value):
        return [value]

    def value_list_more(self, values, comma: int, value):
        values.append(value)
        return values

    def successors_empty(self):
        return ()

    def successors_list(self, bracket: int, blocks, close: int):
        return blocks

    def successor_list_first(self, caret):
        return [self._block_reference(caret)]

    def successor_list_more(self, blocks, comma: int, caret):
        blocks.append(self._block_reference(caret))
        return blocks

    def regions_empty(self):
        return ()

    def regions_list(self, paren: int, regions, close: int):
        return regions

    def region_list_first(self, region):
        return [region]

    def region_list_more(self, regions, comma: int, region):
        regions.append(region)
        return regions

    def node_operands_absent(self):
        return None

    def node_operands_empty(self, paren: int, close: int):
        return ()

    def node_operands_list(self, paren: int, values, close: int):
        return values

    def node_signature_absent(self):
        return None

    def node_signature_single(self, colon: int, value_type: Attribute):
        return (value_type,)

    def node_signature_arrow(self, colon: int, input_type: Attribute, arrow: int, output_type):
        return (input_type, output_type)

    # Properties and attribute dictionaries: a tuple of (key, value) pairs.

    def properties_empty(self):
        return None

    def properties_token(self, token):
        return token[0]

    def properties_braces_empty(self, opening: int, brace: int, angle: int):
        return None

    def properties_entries(self, opening: int, entries, brace: int, angle: int):
        return self._entries(entries)

    def attr_dict_absent(self):
        return None

    def attr_dict_present(self, pairs):
        return pairs

    def dict_token(self, token):
        return token[0]

    def dict_empty(self, opening: int, brace: int):
        return ()

    def dict_entries(self, opening: int, entries, brace: int):
        pairs = self._entries(entries)
        self._check_nesting(pairs, [value for _, value in pairs], opening)
        return pairs

    def _entries(self, entries) -> tuple[tuple[str, Attribute], ...]:
        seen: set[str] = set()
        for key, _, position in entries:
            if key in seen:
                self.fail(f"duplicate key '{key}' in attribute dictionary", position)
            seen.add(key)
        return tuple((key, value) for key, value, _ in entries)

    def entry_list_first(self, entry):
        return [entry]

    def entry_list_more(self, entries, comma: int, entry):
        entries.append(entry)
        return entries

    def entry_unit(self, key):
        return (key[0], _UNIT, key[1])

    def entry_value(self, key, equal: int, value: Attribute):
        return (key[0], value, key[1])

    # Attribute values.

    def attr_number(self, token) -> Attribute:
        return token[0]

    def attr_token(self, token) -> Attribute:
        return token[0]

    def attr_string(self, token) -> Attribute:
        return self.reader.string_attribute(token[0])

    def attr_bare(self, token) -> Attribute:
        return self.reader.attribute_from_text(token[0], token[1])

    def attr_symbol(self, token) -> Attribute:
        return token[0]

    def attr_function_type(self, token) -> Attribute:
        return self.reader.function_type_attribute(token[0])

    def attr_dictionary(self, pairs) -> Attribute:
        attribute = DictionaryAttr(dict(pairs))
        nested = self.attribute_depths.get(id(pairs))
        if nested is not None:
            self.attribute_depths[id(attribute)] = (attribute, nested[1])
        return attribute

    def attr_array_empty(self, bracket: int, close: int) -> Attribute:
        return _EMPTY_ARRAY

    def attr_array(self, bracket: int, values, close: int) -> Attribute:
        attribute = ArrayAttr(values)
        self._check_nesting(attribute, values, bracket)
        return attribute

    def _check_nesting(self, container, elements, position: int) -> None:
        """Record how deeply ``container`` nests arrays and dictionaries; fail beyond the limit.

        The printer and xDSL recurse once or more per level. Containers that nest nothing
        are not recorded, and neither are those read as one token (see ``_token_depth``).
        """
        depths = self.attribute_depths
        deepest = 0
        for element in elements:
            entry = depths.get(id(element))
            if entry is not None:
                depth = entry[1]
            elif type(element) is ArrayAttr or type(element) is DictionaryAttr:
                depth = _token_depth(element)
            else:
                continue
            if depth > deepest:
                deepest = depth
        if deepest:
            if deepest >= MAX_NESTING_DEPTH:
                self.fail(
                    f"nesting deeper than {MAX_NESTING_DEPTH} brackets in an attribute", position
                )
            depths[id(container)] = (container, deepest + 1)

    def attr_list_first(self, value):
        return [value]

    def attr_list_more(self, values, comma: int, value):
        values.append(value)
        return values

    # Types.

    def function_type_token(self, token):
        inputs, outputs = token[0]
        return (inputs, outputs, token[1])

    def function_type_no_inputs(self, paren: int, close: int, arrow: int, outputs):
        return ((), outputs, paren)

    def function_type_inputs(self, paren: int, inputs, close: int, arrow: int, outputs):
        return (tuple(inputs), outputs, paren)

    def result_types_single(self, value_type):
        return (value_type,)

    def result_types_empty(self, paren: int, close: int):
        return ()

    def result_types_list(self, paren: int, types, close: int):
        return tuple(types)

    def type_list_first(self, value_type):
        return [value_type]

    def type_list_more(self, types, comma: int, value_type):
        types.append(value_type)
        return types

    def type_bare(self, token) -> Attribute:
        return self.reader.type_from_text(token[0], token[1])

    def type_token(self, token) -> Attribute:
        value_type = token[0]
        if not isinstance(value_type, TypeAttribute):
            self.fail(f"expected a type, got attribute {value_type}", token[1])
        return value_type


def _token_depth(attribute: Attribute) -> int:
    """Return the nesting depth of an array or dictionary that was read as one token.

    The token patterns allow at most a flat array inside a dictionary inside a
    dictionary, so this recursion stays three levels deep.
    """
    if type(attribute) is ArrayAttr:
        children = attribute.data
    elif type(attribute) is DictionaryAttr:
        children = attribute.data.values()
    else:
        return 0
    return 1 + max((_token_depth(child) for child in children), default=0)


def custom_form_message(name: str) -> str:
    """Return the error for an op written in a custom form that the parser does not read."""
    return (
        f"operation '{name}' has no custom form that nirmlir reads; write it in the"
        f' generic form "{name}"(...)'
    )

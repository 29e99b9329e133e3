"""The LALR(1) tables of ``grammar.lark``, built by lark and cached as JSON.

lark is imported only to build the tables, when no cached copy for the current grammar
text exists, so a process that parses IR does not pay for importing lark and
analysing the grammar. The cache is plain JSON (never pickle). It is written atomically
to ``__pycache__`` next to the grammar, or to the user cache directory when that is not
writable. Without any writable place, each process rebuilds the tables in memory.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from pathlib import Path

from nirmlir.cache_files import cache_candidates, write_cache_file

GRAMMAR_PATH = Path(__file__).with_name("grammar.lark")

END_TERMINAL = "$END"
"""The terminal type lark gives to the end of the input."""

_FORMAT_VERSION = 1


@dataclass(frozen=True)
class ParseTables:
    """LALR(1) action and goto tables in a compact form.

    ``actions[state]`` maps a terminal or rule name to an int: a value >= 0 shifts (or
    goes to) that state, and a value < 0 reduces by rule ``~value``.
    """

    actions: list[dict[str, int]]
    rules: list[tuple[int, str, str]]
    """(number of symbols, rule name, alias naming the semantic action) per rule."""
    start_state: int
    end_state: int


def _grammar_digest(grammar: str) -> str:
    # Two zlib checksums and the length name the grammar text: a cache key, not a security
    # measure, and zlib loads in a fraction of the time hashlib takes to load OpenSSL.
    text = f"{_FORMAT_VERSION}\n{grammar}".encode()
    return f"{zlib.crc32(text):08x}{zlib.adler32(text):08x}-{len(text)}"


def _cache_candidates(digest: str) -> list[Path]:
    return cache_candidates(f"grammar-tables-{digest}.json")


def build_tables(grammar: str) -> ParseTables:
    """Analyse the grammar with lark and convert its LALR tables.

    ``strict=True`` makes lark reject shift/reduce conflicts, so a grammar change that
    introduces an ambiguity fails here instead of parsing some inputs wrongly.
    """
    from lark import Lark
    from lark.lexer import Lexer
    from lark.parsers.lalr_analysis import Shift

    class ExternalScanner(Lexer):
        """Lexer that lark requires but never runs, because nirmlir/parser.py scans."""

        def __init__(self, lexer_conf):
            pass

        def lex(self, lexer_state, parser_state):
            raise NotImplementedError("nirmlir/parser.py scans the text itself")

    lark_parser = Lark(grammar, parser="lalr", lexer=ExternalScanner, strict=True)
    parse_table = lark_parser.parser.parser._parse_table

    rule_index: dict[object, int] = {}
    rules: list[tuple[int, str, str]] = []
    actions: list[dict[str, int]] = [{} for _ in range(len(parse_table.states))]
    for state, row in parse_table.states.items():
        for symbol, (action, argument) in row.items():
            if action is Shift:
                actions[state][symbol] = argument
                continue
            key = (argument.origin.name, tuple(s.name for s in argument.expansion), argument.alias)
            index = rule_index.get(key)
            if index is None:
                index = len(rules)
                rule_index[key] = index
                alias = argument.alias or argument.origin.name
                rules.append((len(argument.expansion), argument.origin.name, alias))
            actions[state][symbol] = ~index
    return ParseTables(
        actions=actions,
        rules=rules,
        start_state=parse_table.start_states["start"],
        end_state=parse_table.end_states["start"],
    )


def _read_cache(path: Path, digest: str) -> ParseTables | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("digest") != digest:
            return None
        return ParseTables(
            actions=data["actions"],
            rules=[(int(size), str(name), str(alias)) for size, name, alias in data["rules"]],
            start_state=int(data["start_state"]),
            end_state=int(data["end_state"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_cache(path: Path, digest: str, tables: ParseTables) -> bool:
    data = {
        "digest": digest,
        "actions": tables.actions,
        "rules": tables.rules,
        "start_state": tables.start_state,
        "end_state": tables.end_state,
    }
    return write_cache_file(path, json.dumps(data, separators=(",", ":")).encode("utf-8"))


def load_tables() -> ParseTables:
    """Return the tables for ``grammar.lark``, from the cache when one is valid."""
    grammar = GRAMMAR_PATH.read_text(encoding="utf-8")
    digest = _grammar_digest(grammar)
    candidates = _cache_candidates(digest)
    for path in candidates:
        tables = _read_cache(path, digest)
        if tables is not None:
            return tables
    tables = build_tables(grammar)
    for path in candidates:
        if _write_cache(path, digest, tables):
            break
    return tables

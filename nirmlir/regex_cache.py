"""Compile the large regular expressions of the text syntax from a cache of their code.

Python's `re` parses and compiles a pattern in Python code, and the token pattern of the
parser and the value patterns of `text_syntax` took about 15 ms of every process that
imports them (lit runs hundreds). `compile_cached` keeps what `re` compiles to (the list
of 32-bit code words that the C regex engine runs) in a file next to the parse tables, and
a later process hands that code straight to the engine.

The cache is keyed by the Python version, the pattern and its flags. It contains integers
and names only, never Python objects. Reading it uses the same private compiler modules
that `re` itself uses (`re._parser`, `re._compiler`, `_sre`), so any failure, a missing or
damaged file, or another Python version makes `compile_cached` fall back to `re.compile`.
"""

from __future__ import annotations

import json
import re
import sys
import zlib
from array import array
from pathlib import Path

from nirmlir.cache_files import cache_candidates, write_cache_file

_FORMAT_VERSION = 1


def compile_cached(pattern: str, flags: int = 0) -> re.Pattern:
    """Return ``re.compile(pattern, flags)``, built from the cached code when there is some."""
    name = _cache_name(pattern, flags)
    for path in cache_candidates(name):
        compiled = _read(path, pattern, flags)
        if compiled is not None:
            return compiled
    try:
        code, state = _compile(pattern, flags)
    except Exception:
        # The private compiler changed in this Python version, so use the public one.
        return re.compile(pattern, flags)
    for path in cache_candidates(name):
        if _write(path, pattern, flags, code, state):
            break
    compiled = _build(pattern, flags, code, state)
    return compiled if compiled is not None else re.compile(pattern, flags)


def _cache_name(pattern: str, flags: int) -> str:
    text = f"{_FORMAT_VERSION}\n{sys.hexversion}\n{flags}\n{pattern}".encode()
    return f"regex-{zlib.crc32(text):08x}{zlib.adler32(text):08x}-{len(text)}.bin"


def _compile(pattern: str, flags: int) -> tuple[list[int], dict]:
    """Run the steps of `re.compile` before the C engine: return the code and the group state."""
    from re import _compiler, _parser

    parsed = _parser.parse(pattern, flags)
    code = _compiler._code(parsed, flags)
    state = {
        "flags": flags | parsed.state.flags,
        "groups": parsed.state.groups - 1,
        "groupindex": dict(parsed.state.groupdict),
    }
    return code, state


def _build(pattern: str, flags: int, code: list[int], state: dict) -> re.Pattern | None:
    """Return the pattern built from compiled code as `re._compiler.compile` builds it, or None on failure."""
    try:
        import _sre

        groupindex = state["groupindex"]
        indexgroup = [None] * (state["groups"] + 1)
        for group_name, index in groupindex.items():
            indexgroup[index] = group_name
        compiled = _sre.compile(pattern, state["flags"], code, state["groups"], groupindex, tuple(indexgroup))
    except Exception:
        return None
    # Code compiled from another pattern would differ here, and then the cache is not used.
    if compiled.pattern != pattern or compiled.groups != state["groups"]:
        return None
    return compiled


def _read(path: Path, pattern: str, flags: int) -> re.Pattern | None:
    try:
        data = path.read_bytes()
        header, _, body = data.partition(b"\n")
        state = json.loads(header)
        if state.get("pattern") != pattern or state.get("requested_flags") != flags:
            return None
        # A damaged or edited body would run as other code, so it must match its checksum.
        if state.get("code_crc32") != zlib.crc32(body):
            return None
        code = array("I")
        code.frombytes(body)
    except (OSError, ValueError, TypeError, AttributeError):
        return None
    return _build(pattern, flags, code.tolist(), state)


def _write(path: Path, pattern: str, flags: int, code: list[int], state: dict) -> bool:
    """Write the cache file; return False when it cannot be written there."""
    try:
        body = array("I", code).tobytes()
    except OverflowError:
        return False
    if array("I").itemsize != 4:
        return False  # the engine's code words are 32 bits
    header = json.dumps(
        {**state, "pattern": pattern, "requested_flags": flags, "code_crc32": zlib.crc32(body)}
    ).encode()
    return write_cache_file(path, header + b"\n" + body)

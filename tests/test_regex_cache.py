"""The compiled-regex cache gives patterns that match exactly as `re.compile` does."""

from __future__ import annotations

import re

import pytest

from nirmlir import regex_cache
from nirmlir.text_syntax import DICT_ENTRY_RE, VALUE

SAMPLES = [
    'tau = dense<[0.5, 2.0]> : tensor<2xf32>, ',
    'name = "lif \\"x\\"" }',
    'meta = {a = 1 : i64, b = [1, 2]} ,',
    'broken = dense<[1.0, ',
    "k }",
    "",
]


@pytest.fixture
def cache_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(regex_cache, "cache_candidates", lambda name: [tmp_path / name])
    return tmp_path


def test_cached_pattern_matches_like_re(cache_folder):
    pattern = DICT_ENTRY_RE.pattern
    first = regex_cache.compile_cached(pattern)
    assert len(list(cache_folder.iterdir())) == 1
    second = regex_cache.compile_cached(pattern)  # built from the file this time
    reference = re.compile(pattern)
    for text in SAMPLES:
        expected = reference.match(text)
        for compiled in (first, second):
            found = compiled.match(text)
            assert (found is None) == (expected is None), text
            if expected is not None:
                assert found.groups() == expected.groups()
                assert found.span() == expected.span()


def test_named_groups_and_flags_survive(cache_folder):
    pattern = r"(?P<key>\w+)\s*=\s*(?P<value>" + VALUE + ")"
    regex_cache.compile_cached(pattern, re.DOTALL)
    compiled = regex_cache.compile_cached(pattern, re.DOTALL)
    reference = re.compile(pattern, re.DOTALL)
    assert compiled.groupindex == reference.groupindex
    assert compiled.flags == reference.flags
    assert compiled.match("x = 3 : i64").group("value") == "3 : i64"


def test_damaged_cache_file_falls_back(cache_folder):
    pattern = r"(a|b)+c"
    regex_cache.compile_cached(pattern)
    (path,) = cache_folder.iterdir()
    header, _, body = path.read_bytes().partition(b"\n")
    flipped = bytearray(body)
    flipped[8] ^= 1
    for damaged in (b"not json\n" + body, header + b"\n" + body[:-4], header + b"\n" + bytes(flipped), b""):
        path.write_bytes(damaged)
        compiled = regex_cache.compile_cached(pattern)
        assert compiled.fullmatch("abca") is None
        assert compiled.fullmatch("ababc") is not None


def test_unwritable_cache_still_compiles(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setattr(regex_cache, "cache_candidates", lambda name: [blocked / name])
    assert regex_cache.compile_cached(r"x+").fullmatch("xxx") is not None

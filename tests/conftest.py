"""Shared fixtures: the location of the shared test data and the corpus parametrization.

The shared folder contains the real NIR corpus and the golden traces. It is found through
the environment variable NIRMLIR_SHARED, by default `../shared` next to the repository.
When it is missing, tests that need it skip, unless NIRMLIR_REQUIRE_SHARED=1, under which
they fail.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def _shared_root() -> Path:
    return Path(os.environ.get("NIRMLIR_SHARED", REPO_ROOT.parent / "shared"))


def _missing(message: str) -> None:
    """Skip the running test, or fail it when NIRMLIR_REQUIRE_SHARED=1."""
    if os.environ.get("NIRMLIR_REQUIRE_SHARED") == "1":
        pytest.fail(f"{message} (NIRMLIR_REQUIRE_SHARED=1)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared test data folder; skips (or fails) the test when it does not exist."""
    root = _shared_root()
    if not root.is_dir():
        _missing(f"shared test data not found at {root}; set NIRMLIR_SHARED to its path")
    return root


@pytest.fixture(scope="session")
def corpus_dir(shared_dir: Path) -> Path:
    """The folder of real NIR files; skips (or fails) the test when it does not exist."""
    corpus = shared_dir / "corpus" / "real"
    if not any(corpus.glob("*.nir")):
        _missing(f"no .nir files in {corpus}")
    return corpus


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Give each test that takes `corpus_name` one case per file of the real corpus.

    Without a corpus the test gets one case, `corpus-missing`, whose `corpus_dir`
    fixture then skips or fails.
    """
    if "corpus_name" not in metafunc.fixturenames:
        return
    names = sorted(path.name for path in (_shared_root() / "corpus" / "real").glob("*.nir"))
    if names:
        metafunc.parametrize("corpus_name", names)
    else:
        metafunc.parametrize("corpus_name", [pytest.param(None, id="corpus-missing")])


# --------------------------------------------------------------------------------------
# Comparing graphs read with the reference `nir` package
# --------------------------------------------------------------------------------------

# Integer hyperparameters that the nir dialect normalizes: Conv2d int stride, padding and
# dilation become pairs, and every field becomes int64. They are compared by value, with
# a scalar standing for the same value on every axis.
INTEGER_FIELDS = frozenset(
    {"stride", "padding", "dilation", "input_shape", "kernel_size", "groups", "start_dim",
     "end_dim", "shape", "input_type"}
)


def _assert_same_integers(expected, actual, where: str) -> None:
    if isinstance(expected, str) or isinstance(actual, str):
        assert expected == actual, f"{where}: {actual!r} != {expected!r}"
        return
    expected_array, actual_array = np.asarray(expected), np.asarray(actual)
    if expected_array.ndim == 0 and actual_array.ndim == 1:
        expected_array = np.broadcast_to(expected_array, actual_array.shape)
    if actual_array.ndim == 0 and expected_array.ndim == 1:
        actual_array = np.broadcast_to(actual_array, expected_array.shape)
    assert np.array_equal(expected_array, actual_array), f"{where}: {actual!r} != {expected!r}"


def _assert_same_array(expected: np.ndarray, actual: np.ndarray, where: str) -> None:
    assert isinstance(actual, np.ndarray), f"{where}: {type(actual).__name__} is not an array"
    assert actual.dtype == expected.dtype, f"{where}: dtype {actual.dtype} != {expected.dtype}"
    assert actual.shape == expected.shape, f"{where}: shape {actual.shape} != {expected.shape}"
    if expected.dtype == object:
        assert actual.tolist() == expected.tolist(), f"{where}: values differ"
    else:
        assert actual.tobytes() == expected.tobytes(), f"{where}: values differ"


def assert_same_metadata(expected: dict, actual: dict, where: str) -> None:
    """Assert equal metadata: same keys, and values of the same type, dtype and value."""
    assert set(actual) == set(expected), f"{where}: keys {sorted(actual)} != {sorted(expected)}"
    for key, value in expected.items():
        other, here = actual[key], f"{where}/{key}"
        if isinstance(value, dict):
            assert isinstance(other, dict), f"{here}: {other!r} is not a dict"
            assert_same_metadata(value, other, here)
        elif isinstance(value, np.ndarray):
            _assert_same_array(value, other, here)
        elif isinstance(value, np.generic):
            assert type(other) is type(value), f"{here}: {type(other)} != {type(value)}"
            assert other == value, f"{here}: {other!r} != {value!r}"
        else:
            assert other == value, f"{here}: {other!r} != {value!r}"


def assert_same_nir_graph(expected, actual, where: str = "graph") -> None:
    """Assert that two `nir.NIRGraph`s are equal node by node.

    Checked: node names and types (recursively), edge sets, metadata, and every field;
    parameter arrays must have equal dtype, shape and bytes, integer hyperparameters
    equal values (see INTEGER_FIELDS).
    """
    import nir

    assert set(actual.nodes) == set(expected.nodes), (
        f"{where}: nodes {sorted(actual.nodes)} != {sorted(expected.nodes)}"
    )
    edges = {tuple(edge) for edge in actual.edges}
    expected_edges = {tuple(edge) for edge in expected.edges}
    assert edges == expected_edges, f"{where}: edges {sorted(edges)} != {sorted(expected_edges)}"
    assert_same_metadata(expected.metadata, actual.metadata, f"{where}:metadata")
    for name, node in expected.nodes.items():
        other, here = actual.nodes[name], f"{where}/{name}"
        assert type(other) is type(node), f"{here}: {type(other).__name__} != {type(node).__name__}"
        if isinstance(node, nir.NIRGraph):
            assert_same_nir_graph(node, other, here)
            continue
        fields, other_fields = node.to_dict(), other.to_dict()
        assert set(other_fields) == set(fields), f"{here}: fields {sorted(other_fields)} != {sorted(fields)}"
        for field, value in fields.items():
            if field == "metadata":
                assert_same_metadata(value, other_fields[field], f"{here}:metadata")
            elif field in INTEGER_FIELDS:
                _assert_same_integers(value, other_fields[field], f"{here}:{field}")
            elif isinstance(value, np.ndarray):
                _assert_same_array(value, other_fields[field], f"{here}:{field}")
            else:
                assert other_fields[field] == value, f"{here}:{field}: {other_fields[field]!r} != {value!r}"


@pytest.fixture(scope="session")
def same_nir_graph():
    """The function `assert_same_nir_graph(expected, actual)`."""
    return assert_same_nir_graph

"""Skip the peer comparisons whose simulator is not installed, and share their fixtures.

`test_<peer>.py` needs the distribution `<peer>` (snntorch, norse, sinabs, rockpool) plus torch
and nir. A missing one skips that file with the reason and the install command; under
NIRMLIR_REQUIRE_PEERS=1 (for a CI job that installed the peers) it fails instead. Tests that run
longer than a few seconds carry the `slow` mark, so `-m "not slow"` leaves them out.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

INSTALL_HINT = "install the peers with: pip install -e '.[test,peers]'"

CORPUS_FILES = {
    "cnn": "neuromorphs-NIR__cnn_sinabs.nir",
    "braille_zero": "neuromorphs-NIR__braille_noDelay_bias_zero.nir",
    "braille_subtract": "neuromorphs-NIR__braille_noDelay_noBias_subtract.nir",
}
"""The NIR paper's networks in the shared corpus, by short name."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


def missing_modules(peer: str) -> list[str]:
    """Return the modules among torch, nir and `peer` that cannot be imported."""
    return [name for name in ("torch", "nir", peer) if importlib.util.find_spec(name) is None]


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip (or, under NIRMLIR_REQUIRE_PEERS=1, fail) every test of a peer that is not installed."""
    path = Path(item.fspath)
    if path.parent != Path(__file__).parent or not path.stem.startswith("test_"):
        return
    missing = missing_modules(path.stem.removeprefix("test_"))
    if not missing:
        return
    reason = f"{', '.join(missing)} not installed; {INSTALL_HINT}"
    if os.environ.get("NIRMLIR_REQUIRE_PEERS") == "1":
        pytest.fail(f"{reason} (NIRMLIR_REQUIRE_PEERS=1)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def paper_file(corpus_dir: Path):
    """The function name -> path of one of the NIR paper's networks in the shared corpus."""

    def path(name: str) -> Path:
        return corpus_dir / CORPUS_FILES[name]

    return path

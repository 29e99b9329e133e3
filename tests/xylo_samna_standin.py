"""A stand-in for `samna` that lets Rockpool's Xylo package import, for tests only.

Rockpool 3.1.0's `rockpool.devices.xylo` imports samna unconditionally (its Xylo Audio 3 and
IMU hardware modules do), and every samna release on PyPI is a stub that runs pip against a
non-PyPI index when imported. `XyloSim.from_specification` itself needs only xylosim. Inside
`installed()`, every `samna.*` module imports as an empty stand-in whose attributes are
`Recorded` objects. They record the attribute path that vendor code reads and validate
nothing. A test that uses it checks XyloSim's simulation, never a samna configuration.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Iterator


class Recorded:
    """Any samna name: attribute reads and calls return further Recorded objects with the path so far."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __getattr__(self, key: str) -> Recorded:
        if key.startswith("__"):
            raise AttributeError(key)
        return Recorded(f"{self.path}.{key}")

    def __call__(self, *args: object, **kwargs: object) -> Recorded:
        return Recorded(f"{self.path}()")

    def __mro_entries__(self, bases: tuple) -> tuple:
        # Vendor modules subclass samna classes at import time.
        return (object,)


class _StandInModule(types.ModuleType):
    def __getattr__(self, key: str) -> Recorded:
        if key.startswith("__"):
            raise AttributeError(key)
        return Recorded(f"{self.__name__}.{key}")


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name == "samna" or name.startswith("samna."):
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        module = _StandInModule(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module) -> None:
        pass


@contextlib.contextmanager
def installed() -> Iterator[None]:
    """Make `samna.*` importable as stand-ins, and remove them and Rockpool's Xylo modules afterwards."""
    finder = _Finder()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        for name in list(sys.modules):
            if name == "samna" or name.startswith(("samna.", "rockpool.devices.xylo")):
                del sys.modules[name]

"""Modules imported when first used, for dependencies that only some code paths need.

h5py takes about 20 ms to import, and the importer reads most files without it (see
`nirmlir.hdf5_tree`), so the HDF5 modules refer to it through a `LazyModule`.
"""

from __future__ import annotations

import importlib
from types import ModuleType


class LazyModule:
    """A stand-in for a module that imports it when one of its attributes is first read."""

    def __init__(self, name: str):
        self._lazy_name = name

    def __getattr__(self, attribute: str) -> object:
        module: ModuleType = importlib.import_module(self._lazy_name)
        # Later reads find the module's attributes here, without calling this method again.
        self.__dict__.update(module.__dict__)
        return getattr(module, attribute)

    def __repr__(self) -> str:
        return f"<module '{self._lazy_name}', imported when first used>"

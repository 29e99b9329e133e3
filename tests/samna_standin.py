"""A stand-in for the `samna` and `samnagui` modules that records what vendor code sets.

Every samna release on PyPI is a stub that runs pip against a non-PyPI index when imported, so
sinabs' Speck back-end (`sinabs.backend.dynapcnn`, which imports samna) cannot run against the
real configuration classes here. This stand-in provides the names that sinabs touches while it
builds a configuration: every attribute read returns a nested `Record`, every attribute write is
stored, and `validate_configuration` accepts anything. It validates nothing, so a test that uses
it checks only the values that sinabs computes, never whether samna would accept them.

Use `installed()` as a context manager inside a test: it puts the stand-in on `sys.modules` and
removes it, and every `sinabs.backend` module imported meanwhile, afterwards.
"""

from __future__ import annotations

import contextlib
import sys
import types
from collections.abc import Iterator

CNN_CORES = 9
DESTINATIONS = 2


class Record:
    """An object that stores the attributes set on it and creates a nested Record on first read."""

    def __init__(self, **fields: object) -> None:
        object.__setattr__(self, "fields", dict(fields))

    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):
            raise AttributeError(name)
        fields = object.__getattribute__(self, "fields")
        if name not in fields:
            fields[name] = Record()
        return fields[name]

    def __setattr__(self, name: str, value: object) -> None:
        self.fields[name] = value

    def __call__(self, *args: object, **kwargs: object) -> Record:
        return Record()

    def to_json(self) -> dict:
        """Return the recorded fields as plain JSON values; nested Records that were only read are left out."""
        return {name: _plain(value) for name, value in self.fields.items() if not _is_empty(value)}


def _is_empty(value: object) -> bool:
    return isinstance(value, Record) and not value.to_json()


def _plain(value: object) -> object:
    if isinstance(value, Record):
        return value.to_json()
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if hasattr(value, "item"):  # a numpy or torch scalar
        return value.item()
    return value


def make_configuration() -> Record:
    """Return an empty chip configuration: nine CNN cores with two destinations each, and a DVS layer."""
    layers = [Record(destinations=[Record() for _ in range(DESTINATIONS)]) for _ in range(CNN_CORES)]
    return Record(cnn_layers=layers, dvs_layer=Record())


def _chip_module(name: str) -> types.ModuleType:
    module = types.ModuleType(f"samna.{name}")
    configuration = types.ModuleType(f"samna.{name}.configuration")
    for class_name in ("SpeckConfiguration", "DynapcnnConfiguration", "CNNLayerConfig", "DvsLayerConfig"):
        setattr(configuration, class_name, make_configuration)
    module.configuration = configuration
    module.validate_configuration = lambda config: (True, "")
    module.event = Record()
    return module


CHIP_MODULES = ("dynapcnn", "speck2", "speck2b", "speck2cMini", "speck2dMini", "speck2e", "speck2f")
"""The samna sub-modules of the chips that sinabs' ChipFactory names."""


class _Module(types.ModuleType):
    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):
            raise AttributeError(name)
        return Record()


def build_modules() -> dict[str, types.ModuleType]:
    """Return the stand-in modules by their import name."""
    samna = _Module("samna")
    samna.__version__ = "0.0.0+standin"
    modules: dict[str, types.ModuleType] = {"samna": samna, "samnagui": _Module("samnagui")}
    for name in CHIP_MODULES:
        chip = _chip_module(name)
        setattr(samna, name, chip)
        modules[f"samna.{name}"] = chip
        modules[f"samna.{name}.configuration"] = chip.configuration
    return modules


@contextlib.contextmanager
def installed() -> Iterator[dict[str, types.ModuleType]]:
    """Put the stand-in on sys.modules for the duration of the block, then remove it and sinabs.backend."""
    modules = build_modules()
    saved = {name: sys.modules[name] for name in modules if name in sys.modules}
    sys.modules.update(modules)
    try:
        yield modules
    finally:
        for name in list(sys.modules):
            if name in modules or name.startswith("sinabs.backend"):
                del sys.modules[name]
        sys.modules.update(saved)

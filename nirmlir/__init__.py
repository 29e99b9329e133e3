"""nirmlir: an MLIR-style compiler for the Neuromorphic Intermediate Representation (NIR)."""

import os as _os

__version__ = "0.1.0"

# pyproject.toml installs the checkout's folders dialects/, passes/ and tools/ as nirmlir.dialects,
# nirmlir.passes and nirmlir.tools. Python run from the checkout's root finds this folder before the
# installed package, so the checkout's root joins the package path to find those three there.
_CHECKOUT = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if not _os.path.isdir(_os.path.join(_os.path.dirname(__file__), "dialects")) and _os.path.isfile(
    _os.path.join(_CHECKOUT, "dialects", "__init__.py")
):
    __path__.append(_CHECKOUT)

__all__ = ["__version__", "compile", "load", "simulate"]

_API = ("compile", "load", "simulate")


def __getattr__(name: str):
    # The API imports xDSL, which tools must not pay for at start-up, so it loads on first use.
    if name in _API:
        from nirmlir import api

        return getattr(api, name)
    raise AttributeError(f"module 'nirmlir' has no attribute '{name}'")

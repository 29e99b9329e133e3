"""nirmlir: an MLIR-style compiler for the Neuromorphic Intermediate Representation (NIR)."""

__version__ = "0.1.0"

__all__ = ["__version__", "compile", "load", "simulate"]

_API = ("compile", "load", "simulate")


def __getattr__(name: str):
    # The API imports xDSL, which tools must not pay for at start-up, so it loads on first use.
    if name in _API:
        from nirmlir import api

        return getattr(api, name)
    raise AttributeError(f"module 'nirmlir' has no attribute '{name}'")

"""nirmlir: an MLIR-style compiler for the Neuromorphic Intermediate Representation (NIR)."""

__version__ = "0.1.0"

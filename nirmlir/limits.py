"""Size and depth limits that every reader of untrusted input (text and HDF5) applies.

Each limit turns an input that would exhaust memory or the Python stack into a
diagnostic that names the limit.
"""

from __future__ import annotations

MAX_TENSOR_BYTES = 1 << 34
"""Largest tensor built from input, 16 GiB. A short text splat (``dense<0.0> : tensor<...>``)
or a small chunked HDF5 dataset can declare any size, so the size is checked before any
data is read. NOTE: chosen as a size no NIR weight tensor reaches, not from a measured need."""

MAX_NESTING_DEPTH = 64
"""Deepest nesting of regions, of NIR subgraphs, and of brackets in an attribute or type.

Printing, verifying and walking IR recurse once per level: xDSL 0.74's ``Operation.walk``
takes three Python frames per region level, and Python's default recursion limit is 1000
frames, so 64 levels leave room for the callers' own frames. Real NIR graphs nest a few
levels deep.
"""

MAX_TENSOR_RANK = 64
"""Most dimensions of a tensor type: numpy 2 arrays have at most 64 dimensions."""

"""The HDF5 bridge: `.nir` files to modules of `nir.graph` ops and back.

`import_nir` reads what nir 1.0.8 and older writers produced, with the tolerance real
files need, and reports every fault as a `DiagnosticError` located at the graph, node and
field. `export_nir` writes the layout nir 1.0.8 writes, atomically for paths.
"""

from nirmlir.hdf5_format import FORMAT_VERSION
from nirmlir.hdf5_import import import_nir

__all__ = ["FORMAT_VERSION", "export_nir", "import_nir"]


def __getattr__(name: str) -> object:
    # The exporter imports h5py, which importing a file mostly does not need.
    if name == "export_nir":
        from nirmlir.hdf5_export import export_nir

        return export_nir
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

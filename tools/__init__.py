"""Command-line entry points: nir-opt and nir-translate."""

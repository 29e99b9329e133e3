"""An example nirmlir plugin: two passes and a dialect that nir-opt loads through entry points.

Keep this file free of imports: nir-opt reads the pass summaries from the modules' source
without importing them, and a light package keeps loading a pass cheap.
"""

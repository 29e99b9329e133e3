"""The reference simulator of the snn and fxp levels.

`compile_graph(graph)` turns an `snn.graph` or `fxp.graph` into a `Program` of numpy kernels,
and `Program.run(inputs, record)` steps it over time on a batch. The `nir` level runs through
`nirmlir.simulate`, which discretizes it with a preset first.
"""

from nirmlir.simulator.engine import Program, compile_graph

__all__ = ["Program", "compile_graph"]

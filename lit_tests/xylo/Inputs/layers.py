"""Write a NIR graph of stacked CubaLIF layers: input -> fc0 -> lif0 -> ... -> readout -> output.

Usage: layers.py OUT.nir INPUTS LAYER [LAYER ...] OUTPUTS [--skip] [--skip-out]. lif0 also has
a recurrent affine. --skip adds a second affine from the input into lif1, and --skip-out an
affine from lif0 into the readout.
"""

import sys

import nir
import numpy as np

args = [arg for arg in sys.argv[1:] if not arg.startswith("--")]
path, inputs, *layers, outputs = args[0], *map(int, args[1:])
rng = np.random.default_rng(0)


def cuba_lif(size: int) -> nir.CubaLIF:
    return nir.CubaLIF(
        tau_syn=np.full(size, 4e-4),
        tau_mem=np.full(size, 8e-4),
        r=np.ones(size),
        v_leak=np.zeros(size),
        v_threshold=np.ones(size),
        v_reset=np.zeros(size),
    )


nodes = {"input": nir.Input(input_type=np.array([inputs])), "output": nir.Output(output_type=np.array([outputs]))}
edges = []
previous, width = "input", inputs
for index, size in enumerate([*layers, outputs]):
    nodes[f"fc{index}"] = nir.Linear(weight=rng.normal(0, 1, (size, width)))
    nodes[f"lif{index}"] = cuba_lif(size)
    edges += [(previous, f"fc{index}"), (f"fc{index}", f"lif{index}")]
    previous, width = f"lif{index}", size
nodes["rec0"] = nir.Linear(weight=rng.normal(0, 0.5, (layers[0], layers[0])))
edges += [("lif0", "rec0"), ("rec0", "lif0"), (previous, "output")]
if "--skip" in sys.argv:
    nodes["skip"] = nir.Linear(weight=np.ones((layers[1], inputs)))
    edges += [("input", "skip"), ("skip", "lif1")]
if "--skip-out" in sys.argv:
    nodes["skip_out"] = nir.Linear(weight=rng.normal(0, 1, (outputs, layers[0])))
    edges += [("lif0", "skip_out"), ("skip_out", previous)]
nir.write(path, nir.NIRGraph(nodes=nodes, edges=edges))

"""Write the example networks lif.nir, cnn.nir and rnn.nir with nirmlir's own code.

Usage: python examples/make_examples.py [OUTPUT_FOLDER]

The folder defaults to the one containing this script. The weights come from a fixed
numpy seed, so running the script again writes the same files byte for byte (with
the same h5py and HDF5 versions). Time constants are in seconds.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from xdsl.dialects.builtin import DictionaryAttr, IntegerAttr, ModuleOp, StringAttr, TensorType, f32, i64
from xdsl.ir import Attribute, Block, Region

from nirmlir.dense import dense_from_numpy, i64_array
from nirmlir.dialects.nir import (
    AffineOp,
    Conv2dOp,
    CubaLIFOp,
    FlattenOp,
    GraphOp,
    IFOp,
    InputOp,
    LIFOp,
    LinearOp,
    NIRNodeOp,
    OutputOp,
    SumPool2dOp,
    make_node,
)
from nirmlir.hdf5 import export_nir

SEED = 2024


class GraphBuilder:
    """Collects the nodes of one graph; `build` connects them, so an edge may name a
    node defined later (a recurrent connection)."""

    def __init__(self) -> None:
        # (op class, node name, parameters, names of the input nodes) per node.
        self.nodes: list[tuple[type[NIRNodeOp], str, dict, list[str]]] = []
        self.shapes: dict[str, tuple[int, ...]] = {}

    def add(self, op_class: type[NIRNodeOp], name: str, inputs: list[str], **params) -> str:
        """Add a node fed by `inputs`; its shape follows from its parameters and, for
        pools and Flatten, from the shape of its first input."""
        input_shape = self.shapes.get(inputs[0]) if inputs else None
        if op_class is InputOp:
            self.shapes[name] = tuple(params.pop("shape"))
        elif op_class is not OutputOp:
            self.shapes[name] = op_class.shape_rule(params, input_shape)[1]
        self.nodes.append((op_class, name, params, inputs))
        return name

    def build(self, description: str) -> ModuleOp:
        block = Block()
        ops: dict[str, NIRNodeOp] = {}
        for op_class, name, params, _ in self.nodes:
            result_type = TensorType(f32, self.shapes[name]) if name in self.shapes else None
            properties = {key: _attribute(value) for key, value in params.items()}
            op = make_node(op_class, name, [], result_type, properties)
            if op.results:
                op.results[0].name_hint = name
            block.add_op(op)
            ops[name] = op
        for _, name, _, inputs in self.nodes:
            ops[name].operands = [ops[source].results[0] for source in inputs]
        metadata = DictionaryAttr({"description": StringAttr(description)})
        graph = GraphOp.create(
            properties={"sym_name": StringAttr("main")},
            attributes={"metadata": metadata},
            regions=[Region(block)],
        )
        module = ModuleOp([graph])
        module.verify()
        return module


def _attribute(value) -> Attribute:
    if isinstance(value, np.ndarray):
        return dense_from_numpy(value)
    if isinstance(value, tuple):
        return i64_array(value)
    if isinstance(value, str):
        return StringAttr(value)
    return IntegerAttr(value, i64)


def _full(shape, value: float) -> np.ndarray:
    return np.full(shape, value, dtype=np.float32)


def _uniform(rng: np.random.Generator, shape, fan_in: int) -> np.ndarray:
    """PyTorch's default initialization range: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape).astype(np.float32)


def lif_example() -> ModuleOp:
    """Build one LIF neuron (tau 2.5 ms, threshold 0.1) behind a 1x1 affine map."""
    graph = GraphBuilder()
    graph.add(InputOp, "input", [], shape=(1,))
    graph.add(AffineOp, "affine", ["input"], weight=_full((1, 1), 1.0), bias=_full((1,), 0.0))
    graph.add(
        LIFOp, "lif", ["affine"],
        tau=_full((1,), 2.5e-3), r=_full((1,), 1.0), v_leak=_full((1,), 0.0),
        v_threshold=_full((1,), 0.1), v_reset=_full((1,), 0.0),
    )
    graph.add(OutputOp, "output", ["lif"])
    return graph.build("Input[1] -> Affine 1x1 -> LIF(tau=2.5e-3 s, v_threshold=0.1) -> Output")


def cnn_example(rng: np.random.Generator) -> ModuleOp:
    """Build a small spiking CNN on 2x16x16 inputs with 10 output neurons."""
    graph = GraphBuilder()
    graph.add(InputOp, "input", [], shape=(2, 16, 16))
    graph.add(
        Conv2dOp, "conv", ["input"],
        input_shape=(16, 16), weight=_uniform(rng, (4, 2, 3, 3), 2 * 9), stride=(1, 1),
        padding=(1, 1), dilation=(1, 1), groups=1, bias=_full((4,), 0.0),
    )
    graph.add(
        IFOp, "if1", ["conv"],
        r=_full((4, 16, 16), 1.0), v_threshold=_full((4, 16, 16), 1.0), v_reset=_full((4, 16, 16), 0.0),
    )
    graph.add(SumPool2dOp, "pool", ["if1"], kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))
    graph.add(FlattenOp, "flatten", ["pool"], start_dim=0, end_dim=-1)
    graph.add(AffineOp, "fc", ["flatten"], weight=_uniform(rng, (10, 256), 256), bias=_full((10,), 0.0))
    graph.add(IFOp, "if2", ["fc"], r=_full((10,), 1.0), v_threshold=_full((10,), 1.0), v_reset=_full((10,), 0.0))
    graph.add(OutputOp, "output", ["if2"])
    return graph.build("Conv2d -> IF -> SumPool2d -> Flatten -> Affine -> IF on 2x16x16 inputs")


def _cuba_lif(size: int) -> dict[str, np.ndarray]:
    return {
        "tau_syn": _full((size,), 5e-3), "tau_mem": _full((size,), 1e-2), "r": _full((size,), 1.0),
        "v_leak": _full((size,), 0.0), "v_threshold": _full((size,), 1.0),
        "v_reset": _full((size,), 0.0), "w_in": _full((size,), 1.0),
    }


def rnn_example(rng: np.random.Generator) -> ModuleOp:
    """Build a recurrent network: 12 inputs, 16 CubaLIF neurons with a recurrent Linear
    loop, and 4 CubaLIF output neurons."""
    graph = GraphBuilder()
    graph.add(InputOp, "input", [], shape=(12,))
    graph.add(AffineOp, "fc1", ["input"], weight=_uniform(rng, (16, 12), 12), bias=_full((16,), 0.0))
    graph.add(CubaLIFOp, "lif1", ["fc1", "w_rec"], **_cuba_lif(16))
    graph.add(LinearOp, "w_rec", ["lif1"], weight=_uniform(rng, (16, 16), 16))
    graph.add(AffineOp, "fc2", ["lif1"], weight=_uniform(rng, (4, 16), 16), bias=_full((4,), 0.0))
    graph.add(CubaLIFOp, "lif2", ["fc2"], **_cuba_lif(4))
    graph.add(OutputOp, "output", ["lif2"])
    return graph.build("Affine -> CubaLIF with a recurrent Linear loop -> Affine -> CubaLIF")


def write_examples(folder: Path) -> list[Path]:
    """Write the three examples into `folder` and return their paths."""
    rng = np.random.default_rng(SEED)
    modules = {"lif.nir": lif_example(), "cnn.nir": cnn_example(rng), "rnn.nir": rnn_example(rng)}
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, module in modules.items():
        path = folder / name
        export_nir(module, path)
        paths.append(path)
    return paths


def main(argv: list[str]) -> int:
    folder = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent
    for path in write_examples(folder):
        print(f"wrote {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

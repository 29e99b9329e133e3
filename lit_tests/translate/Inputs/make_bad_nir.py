"""Write one invalid `.nir` file per importer rejection into the folder given as argument.

Each file is a small valid LIF model (Input[2] -> Affine -> LIF -> Output[2]) with one
change, named after the rule it breaks; import-errors.test imports each and checks the
diagnostic.

    python make_bad_nir.py OUTPUT_FOLDER
"""

from __future__ import annotations

import copy
import struct
import sys
import zlib
from pathlib import Path

import h5py
import numpy as np

STRING = h5py.string_dtype()
# nirmlir.limits.MAX_NESTING_DEPTH, repeated so that this script needs only h5py and numpy.
MAX_NESTING_DEPTH = 64


def write_members(group: h5py.Group, members: dict) -> None:
    """Write dicts as groups, str as UTF-8 strings, bytes as fixed-length strings, the rest as arrays."""
    for key, value in members.items():
        if isinstance(value, dict):
            write_members(group.create_group(key), value)
        elif isinstance(value, str):
            group.create_dataset(key, data=value, dtype=STRING)
        elif isinstance(value, bytes):
            group.create_dataset(key, data=np.bytes_(value))
        else:
            group.create_dataset(key, data=np.asarray(value))


def io_node(kind: str, *shape: int) -> dict:
    return {"type": kind, "shape": np.array(shape, dtype=np.int64)}


def lif(size: int) -> dict:
    return {
        "type": "LIF",
        "tau": np.full(size, 0.01, np.float32),
        "r": np.ones(size, np.float32),
        "v_leak": np.zeros(size, np.float32),
        "v_threshold": np.ones(size, np.float32),
        "v_reset": np.zeros(size, np.float32),
    }


def cuba_lif_without_w_in(size: int) -> dict:
    """Return a CubaLIF node as files written before nir stored ``w_in`` have it."""
    node = lif(size) | {"type": "CubaLIF", "tau_syn": np.full(size, 0.005, np.float32)}
    node["tau_mem"] = node.pop("tau")
    return node


def edges(*pairs: tuple[str, str]) -> np.ndarray:
    return np.array(pairs, dtype=STRING)


def valid_graph() -> dict:
    return {
        "type": "NIRGraph",
        "nodes": {
            "input": io_node("Input", 2),
            "fc": {"type": "Affine", "weight": np.eye(2, dtype=np.float32), "bias": np.zeros(2, np.float32)},
            "lif": lif(2),
            "output": io_node("Output", 2),
        },
        "edges": edges(("input", "fc"), ("fc", "lif"), ("lif", "output")),
    }


def changed(change) -> dict:
    """Return the valid graph after ``change(graph)`` edits it in place."""
    graph = copy.deepcopy(valid_graph())
    change(graph)
    return graph


def set_node(name: str, node: dict):
    return lambda graph: graph["nodes"].__setitem__(name, node)


def set_field(node: str, field: str, value):
    return lambda graph: graph["nodes"][node].__setitem__(field, value)


def drop_field(node: str, field: str):
    return lambda graph: graph["nodes"][node].pop(field)


def set_edges(*pairs: tuple[str, str]):
    return lambda graph: graph.__setitem__("edges", edges(*pairs))


def nested_with_two_inputs(graph: dict) -> None:
    graph["nodes"]["lif"] = {
        "type": "NIRGraph",
        "nodes": {"a": io_node("Input", 2), "b": io_node("Input", 2), "n": lif(2), "out": io_node("Output", 2)},
        "edges": edges(("a", "n"), ("b", "n"), ("n", "out")),
    }


def nested_with_unconnected_node(graph: dict) -> None:
    graph["nodes"]["lif"] = {
        "type": "NIRGraph",
        "nodes": {"a": io_node("Input", 2), "n": lif(2), "spare": lif(2), "out": io_node("Output", 2)},
        "edges": edges(("a", "n"), ("n", "out")),
    }


GRAPHS = {
    "unknown-type": set_node("lif", {"type": "LIFF", "tau": np.ones(2)}),
    "unknown-field": set_field("lif", "tau_m", np.ones(2, np.float32)),
    "missing-field": drop_field("fc", "weight"),
    "no-type": drop_field("lif", "type"),
    "type-not-string": set_field("lif", "type", np.int64(3)),
    "string-weight": set_field("fc", "weight", "0.5"),
    "non-integer-groups": set_node("fc", {
        "type": "Conv1d", "weight": np.ones((2, 2, 1), np.float32), "bias": np.zeros(2, np.float32),
        "stride": 1, "padding": 0, "dilation": 1, "groups": np.float64(1.5), "input_shape": 1,
    }),
    "bad-padding": set_node("fc", {
        "type": "Conv1d", "weight": np.ones((2, 2, 1), np.float32), "bias": np.zeros(2, np.float32),
        "stride": 1, "padding": "full", "dilation": 1, "groups": 1, "input_shape": 1,
    }),
    "zero-shape": set_node("input", io_node("Input", 0)),
    "nan-threshold": set_field("lif", "v_threshold", np.array([1.0, np.nan], np.float32)),
    "zero-tau": set_field("lif", "tau", np.array([0.01, 0.0], np.float32)),
    "negative-tau": set_field("lif", "tau", np.array([-0.01, 0.01], np.float32)),
    "dangling-edge": set_edges(("input", "fc"), ("fc", "lif1"), ("lif", "output")),
    "duplicate-edge": set_edges(("input", "fc"), ("fc", "lif"), ("fc", "lif"), ("lif", "output")),
    "edge-into-input": set_edges(("input", "fc"), ("fc", "lif"), ("lif", "output"), ("lif", "input")),
    "edge-out-of-output": set_edges(("input", "fc"), ("fc", "lif"), ("lif", "output"), ("output", "fc")),
    "edges-wrong-shape": lambda graph: graph.__setitem__("edges", np.array(["input", "fc", "lif"], dtype=STRING)),
    "integer-edges-named-nodes": lambda graph: graph.__setitem__("edges", np.array([[0, 1]], dtype=np.int64)),
    "no-edges": lambda graph: graph.pop("edges"),
    "no-nodes": lambda graph: graph.pop("nodes"),
    "node-is-dataset": lambda graph: graph["nodes"].__setitem__("extra", np.ones(2)),
    "unknown-graph-member": lambda graph: graph.__setitem__("nodez", np.ones(2)),
    "metadata-not-group": lambda graph: graph.__setitem__("metadata", np.ones(2)),
    "shape-mismatch": set_field("fc", "weight", np.ones((2, 3), np.float32)),
    "batch-dimension": set_node("input", io_node("Input", 1, 2)),
    "scalar-neuron-root": lambda graph: (
        graph["nodes"].__setitem__("lif", {key: (np.float32(0.01) if key != "type" else "LIF") for key in lif(2)}),
        graph.__setitem__("edges", edges(("lif", "output"))),
        graph["nodes"].pop("fc"),
        graph["nodes"].pop("input"),
    ),
    "stride-per-axis": set_node("fc", {
        "type": "Conv1d", "weight": np.ones((2, 2, 1), np.float32), "bias": np.zeros(2, np.float32),
        "stride": np.array([1, 1]), "padding": 0, "dilation": 1, "groups": 1, "input_shape": 1,
    }),
    "input-shape-with-channels": set_node("fc", {
        "type": "Conv1d", "weight": np.ones((2, 2, 1), np.float32), "bias": np.zeros(2, np.float32),
        "stride": 1, "padding": 0, "dilation": 1, "groups": 1, "input_shape": np.array([2, 1]),
    }),
    "shape-not-list": set_node("input", {"type": "Input", "shape": np.ones((2, 1), np.int64)}),
    "field-is-group": set_field("fc", "weight", {"data": np.ones(2)}),
    "edges-not-names": lambda graph: graph.__setitem__("edges", np.array([[0.5, 1.5]])),
    "type-not-utf8": set_field("lif", "type", b"LIF\xff"),
    "output-without-shape-or-edge": lambda graph: (
        graph["nodes"].__setitem__("spare", {"type": "Output"}),
    ),
    "slash-in-edge": set_edges(("input", "fc"), ("fc", "lif/1"), ("lif", "output")),
    "edge-index-too-large": lambda graph: graph.update(
        nodes={"0": io_node("Input", 2), "1": lif(2), "2": io_node("Output", 2)},
        edges=np.array([[0, 1], [1, 5]], dtype=np.int64),
    ),
    "flatten-without-input": lambda graph: (
        graph["nodes"].__setitem__("flat", {"type": "Flatten", "start_dim": 0, "end_dim": -1}),
        graph.__setitem__("edges", edges(("input", "fc"), ("fc", "lif"), ("lif", "output"), ("flat", "output"))),
    ),
    "cuba-lif-without-w-in": set_node("lif", cuba_lif_without_w_in(2)),
    "no-incoming-edge": set_edges(("fc", "lif"), ("lif", "output")),
    "complex-metadata": lambda graph: graph.__setitem__("metadata", {"gain": np.array([1 + 2j])}),
    "memoryless-cycle": set_edges(("input", "fc"), ("fc", "lif"), ("lif", "output"), ("fc", "fc")),
    "nested-two-inputs": nested_with_two_inputs,
    "nested-unconnected-node": nested_with_unconnected_node,
}


def nested_chain(depth: int) -> dict:
    """Return the valid graph with its node 'lif' replaced by graphs nested ``depth`` levels deep."""
    graph = valid_graph()
    if depth > 0:
        graph["nodes"]["lif"] = nested_chain(depth - 1)
    return graph


def write_linked(folder: Path) -> None:
    """Write a graph and a metadata group that contain themselves through HDF5 hard links."""
    write(folder / "graph-contains-itself.nir", valid_graph())
    with h5py.File(folder / "graph-contains-itself.nir", "a") as file:
        del file["node/nodes/lif"]
        file["node/nodes/lif"] = file["node"]

    metadata = valid_graph() | {"metadata": {"inner": {"note": "x"}}}
    write(folder / "metadata-contains-itself.nir", metadata)
    with h5py.File(folder / "metadata-contains-itself.nir", "a") as file:
        file["node/metadata/inner/loop"] = file["node/metadata"]


def write_named_datatype_metadata(path: Path) -> None:
    """Write a metadata entry that is a committed (named) HDF5 datatype instead of a dataset."""
    write(path, valid_graph() | {"metadata": {"note": "x"}})
    with h5py.File(path, "a") as file:
        file["node/metadata/kind"] = np.dtype(np.float32)


def write_vlen_weight(path: Path) -> None:
    """Write a weight as a variable-length sequence of floats, an HDF5 type NIR never uses."""
    write(path, valid_graph())
    with h5py.File(path, "a") as file:
        del file["node/nodes/fc/weight"]
        weight = file["node/nodes/fc"].create_dataset("weight", shape=(2,), dtype=h5py.vlen_dtype(np.float32))
        weight[0] = np.ones(2, np.float32)
        weight[1] = np.ones(2, np.float32)


def deep_metadata(depth: int) -> dict:
    entry: dict = {"note": "x"}
    for _ in range(depth):
        entry = {"inner": entry}
    return entry


def write_huge_dataset(path: Path) -> None:
    """Write a weight whose declared shape is 2**33 x 2 float32 (64 GiB) but whose chunks are
    never written, so the file stays a few KiB."""
    write(path, valid_graph())
    with h5py.File(path, "a") as file:
        del file["node/nodes/fc/weight"]
        file["node/nodes/fc"].create_dataset("weight", shape=(2**33, 2), dtype=np.float32, chunks=(1, 2))


def write_empty_huge_dataset(path: Path) -> None:
    """Write an empty weight of shape 0 x 2**62, whose second size no array can have."""
    write(path, valid_graph())
    with h5py.File(path, "a") as file:
        del file["node/nodes/fc/weight"]
        file["node/nodes/fc"].create_dataset("weight", shape=(0, 2**62), dtype=np.float32)


def damage_global_heap(valid: bytes, folder: Path) -> None:
    """Write copies of the valid file with a damaged global heap collection, which contains
    the variable-length strings (the 'type' and 'edges' datasets)."""
    start = valid.find(b"GCOL")
    assert start >= 0, "the valid file has no global heap collection"
    # The collection size (bytes 8 to 16 of the header) declares far more than the file has.
    oversized = bytearray(valid)
    oversized[start + 8 : start + 16] = (2**40).to_bytes(8, "little")
    (folder / "heap-size-beyond-file.nir").write_bytes(bytes(oversized))
    # A wrong signature: HDF5 itself rejects the collection when a string is read.
    bad_signature = bytearray(valid)
    bad_signature[start : start + 4] = b"XCOL"
    (folder / "heap-bad-signature.nir").write_bytes(bytes(bad_signature))


def write_inflate_bomb(path: Path) -> None:
    """Write a weight of 2 x 2 float32 (16 bytes) whose one deflated chunk inflates to 1 MiB."""
    write(path, valid_graph())
    with h5py.File(path, "a") as file:
        del file["node/nodes/fc/weight"]
        weight = file["node/nodes/fc"].create_dataset(
            "weight", shape=(2, 2), dtype=np.float32, chunks=(2, 2), compression="gzip"
        )
        weight.id.write_direct_chunk((0, 0), zlib.compress(bytes(1 << 20)))


def write_compact_string(path: Path) -> None:
    """Write a metadata string in compact storage, inside the dataset's object header."""
    write(path, valid_graph())
    with h5py.File(path, "a") as file:
        properties = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        properties.set_layout(h5py.h5d.COMPACT)
        string_type = h5py.h5t.py_create(STRING, logical=1)
        group = file["node"].create_group("metadata")
        note = h5py.h5d.create(group.id, b"note", string_type, h5py.h5s.create(h5py.h5s.SCALAR), dcpl=properties)
        note.write(h5py.h5s.ALL, h5py.h5s.ALL, np.array("compact", dtype=STRING))
        note.close()


def write_non_utf8_name(path: Path) -> None:
    """Write a node field whose HDF5 name is the bytes b'\\xfftau', which are not UTF-8."""
    write(path, valid_graph())
    with h5py.File(path, "a") as file:
        file["node/nodes/lif"].create_dataset(b"\xfftau", data=np.ones(2, np.float32))


def write_long_double_weight(path: Path) -> None:
    """Write a weight of HDF5's native long double type, which numpy reads as float128 on x86-64 Linux."""
    write(path, valid_graph())
    with h5py.File(path, "a") as file:
        del file["node/nodes/fc/weight"]
        file["node/nodes/fc"].create_dataset("weight", shape=(2, 2), dtype=h5py.Datatype(h5py.h5t.NATIVE_LDOUBLE))


def write(path: Path, top: dict) -> None:
    with h5py.File(path, "w") as file:
        file.create_dataset("version", data="1.0.8", dtype=STRING)
        write_members(file.create_group("node"), top)


def write_looping_btree(path: Path) -> None:
    """Write the valid graph with the B-tree of group 'node/nodes' made a level-1 node whose
    two children are the node itself, which libhdf5 follows until the process crashes."""
    write(path, valid_graph())
    with h5py.File(path, "r") as file:
        header = h5py.h5o.get_info(file["node/nodes"].id).addr
    data = bytearray(path.read_bytes())
    # Find the symbol table message (type 0x11) among the version 1 object header's messages.
    position = header + 16
    while struct.unpack_from("<H", data, position)[0] != 0x11:
        position += 8 + struct.unpack_from("<H", data, position + 2)[0]
    btree = struct.unpack_from("<Q", data, position + 8)[0]
    data[btree + 5] = 1
    struct.pack_into("<H", data, btree + 6, 2)
    struct.pack_into("<QQQQQ", data, btree + 24, 0, btree, 8, btree, 16)
    path.write_bytes(bytes(data))


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, change in GRAPHS.items():
        write(folder / f"{name}.nir", changed(change))

    with h5py.File(folder / "no-node-group.nir", "w") as file:
        file.create_dataset("version", data="1.0.8", dtype=STRING)
    write(folder / "top-not-graph.nir", lif(2))
    # A node name with '/' is stored by HDF5 as a group inside a group.
    slashed = valid_graph()
    slashed["nodes"]["lif"] = {"1": lif(2)}
    write(folder / "slash-in-name.nir", slashed)

    valid = folder / "valid.nir"
    write(valid, valid_graph())
    data = valid.read_bytes()
    (folder / "truncated.nir").write_bytes(data[: len(data) // 2])
    (folder / "empty.nir").write_bytes(b"")
    damage_global_heap(data, folder)

    write_linked(folder)
    write(folder / "deeply-nested.nir", nested_chain(MAX_NESTING_DEPTH + 1))
    write(folder / "deep-metadata.nir", valid_graph() | {"metadata": deep_metadata(MAX_NESTING_DEPTH + 1)})
    write_huge_dataset(folder / "huge-weight.nir")
    write_empty_huge_dataset(folder / "empty-huge-weight.nir")
    write_named_datatype_metadata(folder / "named-datatype-metadata.nir")
    write_vlen_weight(folder / "vlen-weight.nir")
    write_inflate_bomb(folder / "inflate-bomb.nir")
    write_compact_string(folder / "compact-string.nir")
    write_non_utf8_name(folder / "non-utf8-name.nir")
    write_long_double_weight(folder / "long-double-weight.nir")
    write_looping_btree(folder / "looping-btree.nir")
    (folder / "folder.nir").mkdir(exist_ok=True)
    # torch.save writes a ZIP archive whose first entry contains a pickle.
    (folder / "pickle.nir").write_bytes(b"PK\x03\x04" + b"\x00" * 60)


if __name__ == "__main__":
    main(Path(sys.argv[1]))

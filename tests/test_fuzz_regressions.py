"""Inputs that the fuzz tests found crashing, kept as regression tests with the expected outcome."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import h5py
import nir
import numpy as np
import pytest

import nirmlir
from nirmlir.diagnostics import DiagnosticError

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def pooled_voltage_graph(second_kernel: int) -> nir.NIRGraph:
    """Input -> LI -> Scale -> 2x2 SumPool2d -> second SumPool2d -> Output, on (1, 8, 8) values.

    The LI voltage is not a spike, so the Scale result has accumulator-bits (32) and the
    first pool's 64; a second pool that sums several of those cannot fit 64 bits.
    """
    shape = (1, 8, 8)
    second_size = 4 // second_kernel
    nodes = {
        "input": nir.Input(input_type={"input": np.array(shape)}),
        "li": nir.LI(tau=np.full(shape, 0.01), r=np.ones(shape), v_leak=np.zeros(shape)),
        "scale": nir.Scale(scale=np.full(shape, 0.5)),
        "pool_a": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        "pool_b": nir.SumPool2d(
            kernel_size=np.array([second_kernel] * 2), stride=np.array([second_kernel] * 2), padding=np.array([0, 0])
        ),
        "output": nir.Output(output_type={"output": np.array([1, second_size, second_size])}),
    }
    edges = [("input", "li"), ("li", "scale"), ("scale", "pool_a"), ("pool_a", "pool_b"), ("pool_b", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def test_pool_sum_beyond_64_bits_rejected() -> None:
    # Found by test_fuzz_graphs: quantize raised a bare ValueError ("65 bits do not fit").
    with pytest.raises(DiagnosticError) as caught:
        nirmlir.compile(pooled_voltage_graph(2), preset="norse", dt=1e-4, level="fxp")
    assert caught.value.location.node_path == ("main", "pool_b")
    assert "does not fit a 64-bit integer" in caught.value.message


def test_one_element_pool_keeps_width() -> None:
    module = nirmlir.compile(pooled_voltage_graph(1), preset="norse", dt=1e-4, level="fxp")
    pool = next(op for op in module.walk() if getattr(op, "node_name", None) and op.node_name.data == "pool_b")
    assert str(pool.results[0].type) == "tensor<1x4x4xi64>"


DAMAGED_FILES = [
    # (example file, byte offset, new byte value, part of HDF5's message): one byte changed in
    # a group's B-tree or an object header made h5py raise RuntimeError or KeyError, which
    # the importer let through as a traceback.
    ("lif.nir", 37319, 0x84, "number of children is greater than maximum"),
    ("lif.nir", 16, 251, "addr overflow"),
    ("lif.nir", 1088, 135, "bad object header version number"),
]


@pytest.mark.parametrize(("example", "offset", "value", "cause"), DAMAGED_FILES)
def test_damaged_hdf5_rejected(tmp_path, example: str, offset: int, value: int, cause: str) -> None:
    data = bytearray((EXAMPLES / example).read_bytes())
    data[offset] = value
    path = tmp_path / example
    path.write_bytes(bytes(data))
    with pytest.raises(DiagnosticError) as caught:
        nirmlir.load(path)
    assert str(caught.value).startswith(f"{path}")
    assert "damaged or truncated" in caught.value.message
    assert cause in caught.value.message


def test_damaged_global_heap_rejected_without_hang(tmp_path) -> None:
    # Byte 2072 of lif.nir is the low byte of the size of the global heap collection that
    # contains the file's strings. Raised from 4096 to 4351 bytes, the size made HDF5 2.0.0
    # loop forever when reading the 'type' string, so the check runs in a process with a
    # time limit.
    data = bytearray((EXAMPLES / "lif.nir").read_bytes())
    assert data[2064:2068] == b"GCOL"
    data[2072] = 0xFF
    path = tmp_path / "lif.nir"
    path.write_bytes(bytes(data))
    nir_opt = Path(sys.executable).with_name("nir-opt")
    result = subprocess.run([str(nir_opt), str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"{path}:<graph>:type: error: cannot read the HDF5 file, which is damaged")
    assert "global heap collection at offset 2064" in result.stderr
    assert "Traceback" not in result.stderr


def test_damaged_vlen_type_rejected_without_crash(tmp_path) -> None:
    # Found by test_mutated_hdf5_round_trips: byte 41521 of cnn.nir is the kind of the
    # variable-length datatype of node 'fc's 'type' string. Set from 1 (string) to 3, an
    # undefined kind, HDF5 took it for a sequence and crashed the process (SIGSEGV) when
    # reading it, so the check runs in a process of its own.
    data = bytearray((EXAMPLES / "cnn.nir").read_bytes())
    assert data[41521] == 1
    data[41521] = 3
    path = tmp_path / "cnn.nir"
    path.write_bytes(bytes(data))
    nir_opt = Path(sys.executable).with_name("nir-opt")
    result = subprocess.run([str(nir_opt), str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith(f"{path}:fc:type: error: 'type' has an HDF5 variable-length sequence datatype")


def test_user_block_heap_damage_rejected(tmp_path) -> None:
    # Behind a user block, HDF5 addresses are not file offsets. The heap check used to be
    # skipped for such files, and HDF5 looped forever on the same damage as above.
    source = h5py.File(EXAMPLES / "lif.nir", "r")
    path = tmp_path / "lif.nir"
    with h5py.File(path, "w", userblock_size=512) as file:
        source.copy(source["node"], file, "node")
    source.close()
    data = bytearray(path.read_bytes())
    start = data.find(b"GCOL")
    size = int.from_bytes(data[start + 8 : start + 16], "little")
    data[start + 8 : start + 16] = (size + 255).to_bytes(8, "little")
    path.write_bytes(bytes(data))
    nir_opt = Path(sys.executable).with_name("nir-opt")
    nir_translate = Path(sys.executable).with_name("nir-translate")
    commands = (([str(nir_opt), str(path)], None), ([str(nir_translate), "--import-nir", "-"], path.read_bytes()))
    for command, stdin in commands:
        result = subprocess.run(command, input=stdin, capture_output=True, timeout=120)
        assert result.returncode == 1, result.stderr
        assert b"the string data of 'type' is invalid: the global heap collection at offset" in result.stderr


def test_unusual_number_types_converted(tmp_path) -> None:
    # h5py maps a 12-bit integer at bit offset 3 to int16, so its bytes must not be copied
    # raw from the file: HDF5 converts them.
    from nirmlir.hdf5_raw import read_dataset

    weight = np.array([[1, -2], [300, -7]], dtype=np.int16)
    stored_type = h5py.h5t.STD_I16LE.copy()
    stored_type.set_precision(12)
    stored_type.set_offset(3)
    path = tmp_path / "numbers.h5"
    with h5py.File(path, "w") as file:
        for name, options in (("contiguous", {}), ("deflated", {"chunks": (2, 2), "compression": "gzip"})):
            dataset = file.create_dataset(name, shape=weight.shape, dtype=h5py.Datatype(stored_type), **options)
            dataset[...] = weight
    descriptor = os.open(path, os.O_RDONLY)
    try:
        with h5py.File(path, "r") as file:
            for name in ("contiguous", "deflated"):
                dataset = file[name]
                assert dataset.dtype == np.int16
                array = read_dataset(dataset.id, dataset.dtype, dataset.shape, descriptor)
                assert array.tolist() == weight.tolist()
    finally:
        os.close(descriptor)

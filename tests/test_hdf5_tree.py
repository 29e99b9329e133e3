"""Tests of `nirmlir.hdf5_tree`, the HDF5 parser of the files that nir.write writes.

Each file is written with h5py and read both by `read_tree` and by h5py: the member
names, their order, dtypes, shapes and values must be equal. Files that use HDF5 features
outside the parser's subset must raise `OutsideSubset`, and `import_nir` must then give
the same module or diagnostic as before, through h5py.
"""

from __future__ import annotations

import struct
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import h5py
import nir
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mutations import apply_edits, edits

from nirmlir.context import make_context
from nirmlir.diagnostics import DiagnosticError, DiagnosticWarning
from nirmlir.hdf5 import import_nir
from nirmlir.hdf5_tree import (
    DamagedFile,
    OutsideSubset,
    TreeDataset,
    TreeGroup,
    read_tree,
    read_tree_arrays,
)
from nirmlir.printer import module_to_text

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def tree_of(path: Path) -> TreeGroup:
    data = path.read_bytes()
    return read_tree(lambda offset, size: data[offset : offset + size], len(data))


def assert_same_as_h5py(tree: TreeGroup, group: h5py.Group) -> int:
    """Compare every member with h5py's reading; return the number of datasets compared."""
    assert list(tree.members) == list(group.keys())
    compared = 0
    for name, item in tree.members.items():
        if isinstance(item, TreeGroup):
            compared += assert_same_as_h5py(item, group[name])
            continue
        expected = group[name]
        if item.is_string:
            value = item.strings()
            reference = expected.asstr()[()]
            if isinstance(value, str):
                assert value == reference
            else:
                assert value.shape == expected.shape
                assert value.tolist() == np.asarray(reference, dtype=object).tolist()
        else:
            value = item.array()
            reference = expected[()]
            assert value.dtype == reference.dtype
            assert value.shape == reference.shape
            assert value.tobytes() == np.ascontiguousarray(reference).tobytes()
        compared += 1
    return compared


def write(path: Path, fill) -> Path:
    with h5py.File(path, "w") as file:
        fill(file)
    return path


@pytest.mark.parametrize("example", ["lif.nir", "cnn.nir", "rnn.nir"])
def test_examples_read_as_h5py(example: str) -> None:
    with h5py.File(EXAMPLES / example, "r") as file:
        assert assert_same_as_h5py(tree_of(EXAMPLES / example), file) > 3


def test_corpus_files_read_as_h5py(corpus_dir: Path) -> None:
    parsed = 0
    for path in sorted(corpus_dir.glob("*.nir")):
        if not path.read_bytes().startswith(b"\x89HDF"):
            continue  # a torch ZIP archive under a .nir name
        with h5py.File(path, "r") as file:
            assert_same_as_h5py(tree_of(path), file)
        parsed += 1
    # Every HDF5 file of the corpus (47 of its 48 .nir files) lies inside the subset.
    assert parsed == 47


NUMBER_DTYPES = ["<i1", "<i2", "<i4", "<i8", "<u1", "<u2", "<u4", "<u8", "<f2", "<f4", "<f8"]


@pytest.mark.parametrize("dtype", NUMBER_DTYPES)
def test_number_types_in_every_layout(tmp_path, dtype: str) -> None:
    values = (np.arange(7 * 5 * 3) - 40).astype(dtype).reshape(7, 5, 3)

    def fill(file: h5py.File) -> None:
        file["contiguous"] = values
        properties = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        properties.set_layout(h5py.h5d.COMPACT)
        space = h5py.h5s.create_simple(values[:2].shape)
        compact = h5py.h5d.create(file.id, b"compact", h5py.h5t.py_create(values.dtype), space, dcpl=properties)
        compact.write(h5py.h5s.ALL, h5py.h5s.ALL, np.ascontiguousarray(values[:2]))
        file.create_dataset("edge_chunks", data=values, chunks=(2, 2, 2), compression="gzip")
        file.create_dataset("shuffled", data=values, chunks=(3, 5, 1), shuffle=True, compression="gzip")
        file.create_dataset("uncompressed_chunks", data=values, chunks=(4, 4, 3))
        file["scalar"] = values[1, 2, 0]
        file["empty"] = np.zeros((0, 3), dtype)

    path = write(tmp_path / "numbers.h5", fill)
    with h5py.File(path, "r") as file:
        assert assert_same_as_h5py(tree_of(path), file) == 7


def test_strings_scalar_and_arrays(tmp_path) -> None:
    def fill(file: h5py.File) -> None:
        file["name"] = "LIF"
        file["names"] = np.array(["a", "é", "", "lif/0"], dtype=object)
        file["ascii"] = np.array([b"one", b"two"], dtype=h5py.string_dtype("ascii"))
        file["grid"] = np.array([["x", "y"], ["z", "w"]], dtype=h5py.string_dtype())

    path = write(tmp_path / "strings.h5", fill)
    with h5py.File(path, "r") as file:
        assert assert_same_as_h5py(tree_of(path), file) == 4


def test_non_utf8_string_raises_decode_error(tmp_path) -> None:
    path = write(tmp_path / "latin.h5", lambda file: file.create_dataset("type", data=b"\xe9t\xe9", dtype=h5py.string_dtype("ascii")))
    with pytest.raises(UnicodeDecodeError):
        tree_of(path).members["type"].strings()


def test_many_members_and_chunks(tmp_path) -> None:
    # 300 links need more than one B-tree level of symbol table nodes, and 30x30 chunks
    # more than one level of the chunk B-tree (64 entries per node).
    values = np.random.default_rng(0).standard_normal((60, 61)).astype("<f4")

    def fill(file: h5py.File) -> None:
        group = file.create_group("nodes")
        for index in range(300):
            group[f"n{index}"] = np.array([index], "<i8")
        file.create_dataset("weight", data=values, chunks=(2, 2), compression="gzip")

    path = write(tmp_path / "many.h5", fill)
    with h5py.File(path, "r") as file:
        assert assert_same_as_h5py(tree_of(path), file) == 301


def test_large_chunked_arrays_read_in_parallel(tmp_path) -> None:
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((700, 600)).astype("<f4") for _ in range(3)]

    def fill(file: h5py.File) -> None:
        for index, array in enumerate(arrays):
            chunks = (700, 600) if index == 0 else (100, 128)
            file.create_dataset(f"w{index}", data=array, chunks=chunks, compression="gzip", shuffle=index == 2)

    tree = tree_of(write(tmp_path / "large.h5", fill))
    located = []
    read = read_tree_arrays([tree.members[f"w{index}"] for index in range(3)], located.append)
    for array, expected in zip(read, arrays):
        assert np.array_equal(array, expected)
    assert sorted(set(located)) == [0, 1, 2]


OUTSIDE_SUBSET = {
    "big-endian": lambda file: file.create_dataset("x", data=np.arange(3, dtype=">f4")),
    "bool enum": lambda file: file.create_dataset("x", data=np.array([True, False])),
    "fixed-length string": lambda file: file.create_dataset("x", data=np.array([b"abc"], dtype="S3")),
    "soft link": lambda file: (file.create_group("g"), file.__setitem__("link", h5py.SoftLink("/g"))),
    "hard link twice": lambda file: (file.create_group("g"), file.__setitem__("again", file["g"])),
    "fletcher32": lambda file: file.create_dataset("x", data=np.arange(9.0), chunks=(3,), fletcher32=True),
    "unwritten chunks": lambda file: file.create_dataset("x", shape=(8,), dtype="<f4", chunks=(2,)),
    "named datatype": lambda file: file.__setitem__("t", np.dtype("<f4")),
    "complex": lambda file: file.create_dataset("x", data=np.arange(3) * 1j),
}


@pytest.mark.parametrize("case", OUTSIDE_SUBSET)
def test_outside_subset_raises(tmp_path, case: str) -> None:
    path = write(tmp_path / "other.h5", OUTSIDE_SUBSET[case])
    with pytest.raises(OutsideSubset):
        tree = tree_of(path)
        for item in tree.members.values():
            if isinstance(item, TreeDataset):
                item.array()


def test_latest_format_and_user_block_raise(tmp_path) -> None:
    latest = tmp_path / "latest.h5"
    with h5py.File(latest, "w", libver="latest") as file:
        file["x"] = np.arange(3.0)
    blocked = tmp_path / "blocked.h5"
    with h5py.File(blocked, "w", userblock_size=512) as file:
        file["x"] = np.arange(3.0)
    for path in (latest, blocked):
        with pytest.raises(OutsideSubset):
            tree_of(path)


def test_import_falls_back_for_outside_files(tmp_path) -> None:
    # A big-endian weight sends the file through h5py; the module is the same.
    graph = nir.read(EXAMPLES / "lif.nir")
    little = tmp_path / "little.nir"
    nir.write(little, graph)
    big = tmp_path / "big.nir"
    with h5py.File(little, "r") as source, h5py.File(big, "w") as target:
        source.copy(source["node"], target, "node")
        tau = target["node/nodes/lif/tau"]
        values = tau[()]
        del target["node/nodes/lif/tau"]
        target["node/nodes/lif/tau"] = values.astype(values.dtype.newbyteorder(">"))
    with pytest.raises(OutsideSubset):
        tree_of(big).members["node"].members["nodes"].members["lif"].members["tau"].array()
    ctx = make_context()
    assert module_to_text(import_nir(big, ctx)) == module_to_text(import_nir(little, ctx))


def test_fallback_emits_warnings_once(tmp_path) -> None:
    # A CubaLIF without 'w_in' warns while read_tree reads it. A big-endian 'tau' then
    # sends the file through h5py, which warns again: only one warning reaches the caller.
    path = tmp_path / "cuba.nir"
    with h5py.File(path, "w") as file:
        node = file.create_group("node")
        node["type"] = "NIRGraph"
        node["edges"] = np.array([["input", "cuba"], ["cuba", "output"]], dtype=object)
        nodes = node.create_group("nodes")
        for name, kind in (("input", "Input"), ("output", "Output")):
            group = nodes.create_group(name)
            group["type"] = kind
            group["shape"] = np.array([2])
        cuba = nodes.create_group("cuba")
        cuba["type"] = "CubaLIF"
        for field in ("tau_mem", "tau_syn", "r", "v_leak", "v_threshold", "v_reset"):
            cuba[field] = np.full(2, 0.5, ">f4" if field == "tau_mem" else "<f4")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            import_nir(path, make_context())
        except DiagnosticError:
            pass
    messages = [str(warning.message) for warning in caught if issubclass(warning.category, DiagnosticWarning)]
    assert len([message for message in messages if "'w_in'" in message]) == 1


SEEDS = {name: (EXAMPLES / name).read_bytes() for name in ("lif.nir", "cnn.nir")}


@settings(
    max_examples=1500,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.sampled_from(sorted(SEEDS)), edits())
def test_mutated_files_read_as_h5py_or_outside(tmp_path_factory, seed: str, edit_list) -> None:
    # Whatever a damaged file contains, read_tree either raises OutsideSubset or reads
    # exactly what h5py reads (when h5py reads the file at all).
    data = apply_edits(SEEDS[seed], edit_list)
    try:
        tree = read_tree(lambda offset, size: data[offset : offset + size], len(data))
        values = _read_all(tree)
    except (OutsideSubset, UnicodeDecodeError):
        return
    path = tmp_path_factory.mktemp("mutated") / seed
    path.write_bytes(data)
    try:
        with h5py.File(path, "r") as file:
            expected = _read_all_h5py(file)
    except Exception:  # noqa: BLE001 (h5py raises many types for damage that read_tree does not read)
        return
    assert values.keys() == expected.keys()
    for name, value in values.items():
        if isinstance(value, np.ndarray) and value.dtype != object:
            assert value.dtype == expected[name].dtype, name
            assert value.tobytes() == expected[name].tobytes(), name
        else:
            assert np.asarray(value, dtype=object).tolist() == np.asarray(expected[name], dtype=object).tolist(), name


def _read_all(group: TreeGroup, prefix: str = "") -> dict[str, object]:
    values: dict[str, object] = {}
    for name, item in group.members.items():
        if isinstance(item, TreeGroup):
            values.update(_read_all(item, f"{prefix}{name}/"))
        else:
            values[prefix + name] = item.strings() if item.is_string else item.array()
    return values


def _read_all_h5py(group: h5py.Group, prefix: str = "") -> dict[str, object]:
    values: dict[str, object] = {}
    for name, item in group.items():
        if isinstance(item, h5py.Group):
            values.update(_read_all_h5py(item, f"{prefix}{name}/"))
        elif h5py.check_string_dtype(item.dtype) is not None:
            values[prefix + name] = item.asstr()[()]
        else:
            values[prefix + name] = np.asarray(item[()])
    return values


def test_import_leaves_h5py_unimported() -> None:
    # h5py costs about 20 ms to import, which a file inside the subset does not need.
    script = (
        "import sys\n"
        "from nirmlir.context import make_context\n"
        "from nirmlir.hdf5 import import_nir\n"
        f"import_nir({str(EXAMPLES / 'cnn.nir')!r}, make_context())\n"
        "print('h5py' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# Damaged files found by a hostile-file run. Each breaks one structure that libhdf5 checks
# or follows differently, so read_tree must leave it to libhdf5 (or report the damage).


def header_message(data: bytes, header: int, kind: int) -> int:
    """Return the position of the data of the first message of ``kind`` in a version 1 object header."""
    position = header + 16
    while struct.unpack_from("<H", data, position)[0] != kind:
        position += 8 + struct.unpack_from("<H", data, position + 2)[0]
    return position + 8


def damaged(tmp_path: Path, fill, damage) -> bytes:
    """Write a file with ``fill``, then return its bytes after ``damage(data, headers)``,
    where ``headers`` maps each root member to its object header address."""
    path = write(tmp_path / "damaged.h5", fill)
    with h5py.File(path, "r") as file:
        headers = {name: h5py.h5o.get_info(file[name].id).addr for name in file}
        headers["/"] = h5py.h5o.get_info(file.id).addr
    data = bytearray(path.read_bytes())
    damage(data, headers)
    return bytes(data)


def parse(data: bytes) -> dict[str, object]:
    return _read_all(read_tree(lambda offset, size: data[offset : offset + size], len(data)))


def test_looping_group_btree_is_damage(tmp_path) -> None:
    def loop(data: bytearray, headers: dict[str, int]) -> None:
        btree = struct.unpack_from("<Q", data, header_message(data, headers["/"], 0x11))[0]
        data[btree + 5] = 1  # level 1, so the children are B-tree nodes: the node itself
        struct.pack_into("<H", data, btree + 6, 2)
        struct.pack_into("<QQQQQ", data, btree + 24, 0, btree, 8, btree, 16)

    data = damaged(tmp_path, lambda file: file.create_dataset("x", data=np.arange(3.0)), loop)
    with pytest.raises(DamagedFile, match="reaches its node at address"):
        parse(data)


def test_dot_link_name_outside(tmp_path) -> None:
    # libhdf5 looks up "." as the group itself, not as the link's object.
    def rename(data: bytearray, headers: dict[str, int]) -> None:
        heap = struct.unpack_from("<Q", data, header_message(data, headers["/"], 0x11) + 8)[0]
        names = struct.unpack_from("<Q", data, heap + 24)[0]
        position = data.index(b"a\0", names)
        data[position] = ord(".")

    data = damaged(tmp_path, lambda file: file.create_dataset("a", data=np.arange(3.0)), rename)
    with pytest.raises(OutsideSubset, match="link name"):
        parse(data)


def test_shuffle_of_other_element_size_outside(tmp_path) -> None:
    def halve(data: bytearray, headers: dict[str, int]) -> None:
        pipeline = header_message(data, headers["x"], 0x0B)
        # Version 1: 8 header bytes, then the shuffle filter's 8 bytes, name and client value.
        code, name_length = struct.unpack_from("<HH", data, pipeline + 8)
        assert code == 2
        struct.pack_into("<I", data, pipeline + 16 + name_length, 4)

    def fill(file: h5py.File) -> None:
        file.create_dataset("x", data=np.arange(16.0), chunks=(8,), shuffle=True)

    data = damaged(tmp_path, fill, halve)
    with pytest.raises(OutsideSubset, match="shuffle"):
        parse(data)


def test_chunk_key_past_its_chunk_outside(tmp_path) -> None:
    # libhdf5 finds a chunk by its B-tree keys and reads the fill value where they are wrong.
    def zero_right_key(data: bytearray, headers: dict[str, int]) -> None:
        btree = struct.unpack_from("<Q", data, header_message(data, headers["x"], 0x08) + 3)[0]
        right_key = btree + 24 + (8 + 16) + 8
        data[right_key : right_key + 24] = bytes(24)

    data = damaged(tmp_path, lambda file: file.create_dataset("x", data=np.arange(4.0), chunks=(4,)), zero_right_key)
    with pytest.raises(OutsideSubset, match="do not increase"):
        parse(data)


def test_chunk_larger_than_dataset_outside(tmp_path) -> None:
    # A chunk far larger than its dataset could inflate far beyond the declared size.
    def widen(data: bytearray, headers: dict[str, int]) -> None:
        layout = header_message(data, headers["x"], 0x08)
        struct.pack_into("<I", data, layout + 11, 2**27)

    def fill(file: h5py.File) -> None:
        file.create_dataset("x", data=np.arange(1.0), chunks=(1,), compression="gzip")

    data = damaged(tmp_path, fill, widen)
    with pytest.raises(OutsideSubset, match="chunk larger than its dataset"):
        parse(data)


def test_string_with_nul_read_as_h5py(tmp_path) -> None:
    # libhdf5 converts strings to C strings, which end at the first NUL.
    path = write(tmp_path / "nul.h5", lambda file: file.__setitem__("s", "abXd"))
    # h5py writes no NUL inside a string, so it goes into the global heap afterwards.
    data = path.read_bytes()
    path.write_bytes(data.replace(b"abXd", b"ab\0d", 1))
    with h5py.File(path, "r") as file:
        expected = file["s"].asstr()[()]
    assert tree_of(path).members["s"].strings() == expected


def test_string_length_mismatch_outside(tmp_path) -> None:
    def shorten(data: bytearray, headers: dict[str, int]) -> None:
        address = struct.unpack_from("<Q", data, header_message(data, headers["s"], 0x08) + 2)[0]
        struct.pack_into("<I", data, address, 2)

    data = damaged(tmp_path, lambda file: file.__setitem__("s", "abc"), shorten)
    with pytest.raises(OutsideSubset, match="missing from its global heap"):
        parse(data)


def test_fill_value_of_unknown_version_outside(tmp_path) -> None:
    # libhdf5 decodes the fill value message when it opens a dataset and rejects this.
    def bump(data: bytearray, headers: dict[str, int]) -> None:
        data[header_message(data, headers["x"], 0x05)] = 9

    data = damaged(tmp_path, lambda file: file.create_dataset("x", data=np.arange(3.0)), bump)
    with pytest.raises(OutsideSubset, match="fill value message version 9"):
        parse(data)


def test_gap_after_last_message_outside(tmp_path) -> None:
    # libhdf5 requires the messages to fill the object header exactly.
    def lengthen(data: bytearray, headers: dict[str, int]) -> None:
        size = struct.unpack_from("<I", data, headers["x"] + 8)[0]
        struct.pack_into("<I", data, headers["x"] + 8, size + 4)

    data = damaged(tmp_path, lambda file: file.create_dataset("x", data=np.arange(3.0)), lengthen)
    with pytest.raises(OutsideSubset, match="8-byte units"):
        parse(data)


def test_held_warnings_stay_in_their_thread() -> None:
    # The importer keeps back the warnings of a read that may fall back to h5py. Another
    # thread's warnings must reach the warnings module meanwhile, because that is per context.
    from nirmlir.diagnostics import emit_warning, held_warnings, release_warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with held_warnings() as collected:
            emit_warning("held")
            thread = threading.Thread(target=emit_warning, args=("other thread",))
            thread.start()
            thread.join()
        assert [str(warning.message) for warning in caught] == ["other thread"]
        release_warnings(collected)
    assert [str(warning.message) for warning in caught] == ["other thread", "held"]

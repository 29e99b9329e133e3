"""The exporter's low-level HDF5 objects match those h5py's high-level API creates.

`ObjectWriter` builds property lists, datatypes and dataspaces itself instead of calling
`h5py.Group.create_dataset`. These tests export modules that reach every kind of dataset
and group, then recreate each object with the high-level API in a scratch file and
compare the creation properties that a reader can see.
"""

from __future__ import annotations

import io
from pathlib import Path

import h5py
import nir
import numpy as np
import pytest
from conftest import REPO_ROOT
from h5py import h5o, h5t

from nirmlir.context import make_context
from nirmlir.hdf5 import export_nir, import_nir
from nirmlir.hdf5_objects import ObjectWriter
from nirmlir.parser import parse_module

# Non-ASCII node names and metadata keys, string arrays, booleans, a splat, an empty
# array, nested metadata groups and a nested graph.
MODULE_TEXT = """
builtin.module {
  nir.graph @main attributes {metadata = {dt = 1.0e-04 : f64, "ünï" = "ç", flag = true,
      names = [["a", "d"], ["b", "c"]], empty = [],
      nested = {deep = {x = 3 : i32, w = dense<[1, 2, 3]> : tensor<3xi16>},
                b = dense<[true, false]> : tensor<2xi1>, s = dense<1.5> : tensor<2x2xf32>,
                z = dense<> : tensor<0xf32>}}} {
    %input = nir.input "ïnput" : tensor<2xf32>
    %hidden = nir.subgraph "hidden"(%input) {graph = @hidden, metadata = {who = "sub"}} : tensor<2xf32>
    nir.output "output"(%hidden) : tensor<2xf32>
  }
  nir.graph @hidden {
    %input = nir.input "input" : tensor<2xf32>
    %lif = nir.lif "lif"(%input, %rec) {tau = dense<[0.0025, 0.005]> : tensor<2xf64>, r = dense<1.0> : tensor<2xf64>, v_leak = dense<0.0> : tensor<2xf64>, v_threshold = dense<0.1> : tensor<2xf64>, v_reset = dense<0.0> : tensor<2xf64>, metadata = {layer = 1 : i64, sc = dense<2.0> : tensor<f32>}} : tensor<2xf32>
    %rec = nir.linear "rec"(%lif) {weight = dense<[[0.0, -0.5], [-0.5, 0.0]]> : tensor<2x2xf32>} : tensor<2xf32>
    nir.output "output"(%lif) : tensor<2xf32>
  }
}
"""


def exported_files(tmp_path: Path, compression: str | None) -> list[Path]:
    """Export the text module above and the CNN example (conv, pool and flatten integers)."""
    modules = [
        parse_module(MODULE_TEXT, make_context()),
        import_nir(REPO_ROOT / "examples" / "cnn.nir", make_context()),
    ]
    paths = []
    for index, module in enumerate(modules):
        path = tmp_path / f"exported{index}.nir"
        export_nir(module, path, compression=compression)
        paths.append(path)
    return paths


def link_encoding(item: h5py.Group | h5py.Dataset) -> int:
    """Return the character set of the link to ``item`` from its parent group."""
    parent_name, _, base = item.name.rpartition("/")
    parent = item.file[parent_name or "/"]
    return parent.id.links.get_info(base.encode()).cset


def dataset_properties(dataset: h5py.Dataset) -> dict:
    """Return the creation properties of a dataset that a reader of the file can see."""
    plist = dataset.id.get_create_plist()
    layout = plist.get_layout()
    return {
        "layout": layout,
        "chunks": plist.get_chunk() if layout == h5py.h5d.CHUNKED else None,
        "filters": [plist.get_filter(index)[:3] for index in range(plist.get_nfilters())],
        "fill time": plist.get_fill_time(),
        "allocation time": plist.get_alloc_time(),
        "fill value defined": plist.fill_value_defined(),
        # A reopened dataset's property list does not show whether times are tracked.
        "creation time": h5o.get_info(dataset.id).ctime,
        "attribute order": plist.get_attr_creation_order(),
        "shape": dataset.shape,
        "dtype": dataset.dtype,
        "compression options": dataset.compression_opts,
    }


def group_properties(group: h5py.Group) -> dict:
    plist = group.id.get_create_plist()
    return {
        "creation time": h5o.get_info(group.id).ctime,
        "link order": plist.get_link_creation_order(),
        "attribute order": plist.get_attr_creation_order(),
    }


def recreate(exported: h5py.File, scratch: h5py.File) -> dict[str, str]:
    """Create each object of ``exported`` again in ``scratch`` with h5py's high-level API.

    Each copy has the name of its original, in a group of its own. Returns the path of
    each copy, by the path of its original.
    """
    paths: dict[str, str] = {}

    def create(name: str, item: h5py.Group | h5py.Dataset) -> None:
        holder = scratch.create_group(f"object{len(paths)}")
        base = name.rpartition("/")[2]
        if isinstance(item, h5py.Group):
            holder.create_group(base)
        else:
            # h5py chose the chunks of an empty array, which exceed its shape.
            chunks = True if item.chunks and item.size == 0 else item.chunks
            holder.create_dataset(
                base, data=item[()], dtype=item.dtype, compression=item.compression, chunks=chunks
            )
        paths[name] = f"{holder.name}/{base}"

    exported.visititems(create)
    return paths


@pytest.mark.parametrize("compression", ["gzip", "lzf", None])
def test_objects_match_high_level_api(tmp_path: Path, compression: str | None) -> None:
    for path in exported_files(tmp_path, compression):
        scratch_path = tmp_path / "scratch.h5"
        # The properties are compared on reopened files: an open file reports the
        # property lists as created, not as stored.
        with h5py.File(path, "r") as file, h5py.File(scratch_path, "w") as scratch:
            copies = recreate(file, scratch)
        assert len(copies) > 20

        with h5py.File(path, "r") as file, h5py.File(scratch_path, "r") as scratch:
            for name, copy in copies.items():
                item, reference = file[name], scratch[copy]
                label = f"{path.name}:{name}"
                assert link_encoding(item) == link_encoding(reference), label
                if isinstance(item, h5py.Group):
                    assert group_properties(item) == group_properties(reference), label
                    continue
                assert dataset_properties(item) == dataset_properties(reference), label
                assert item.id.get_type().equal(reference.id.get_type()), label
                np.testing.assert_array_equal(item[()], reference[()], err_msg=label)


def test_non_ascii_group_names_are_utf8(tmp_path: Path) -> None:
    path = exported_files(tmp_path, "gzip")[0]

    with h5py.File(path, "r") as file:
        assert link_encoding(file["node/nodes/ïnput"]) == h5t.CSET_UTF8
        assert link_encoding(file["node/nodes/output"]) == h5t.CSET_ASCII
        # h5py marks no dataset name as UTF-8, whatever its characters.
        assert link_encoding(file["node/metadata/ünï"]) == h5t.CSET_ASCII
        assert file["node/nodes/ïnput/shape"][()].tolist() == [2]
    assert list(nir.read(path).nodes) == ["hidden", "output", "ïnput"]


def test_compression_rules(tmp_path: Path) -> None:
    """Check that arrays of one or more dimensions are one gzip chunk, and that strings, scalars
    and edges are stored uncompressed."""
    path = exported_files(tmp_path, "gzip")[0]

    with h5py.File(path, "r") as file:
        tau = file["node/nodes/hidden/nodes/lif/tau"]
        assert (tau.compression, tau.compression_opts, tau.chunks) == ("gzip", 4, (2,))
        splat = file["node/metadata/nested/s"]
        assert (splat.chunks, splat[()].tolist()) == ((2, 2), [[1.5, 1.5], [1.5, 1.5]])
        for name in ("node/edges", "node/type", "node/metadata/dt", "node/metadata/names",
                     "node/nodes/hidden/nodes/lif/metadata/sc"):
            assert file[name].compression is None, name
            assert file[name].chunks is None, name


def test_export_bytes_repeat(tmp_path: Path) -> None:
    # No timestamps are stored, so the same module gives the same bytes.
    module = parse_module(MODULE_TEXT, make_context())
    first, second = io.BytesIO(), io.BytesIO()
    export_nir(module, first)
    export_nir(module, second)

    assert first.getvalue() == second.getvalue()


def test_object_writer_rejects_unknown_filter() -> None:
    with pytest.raises(ValueError, match="unsupported compression filter 'szip'"):
        ObjectWriter("szip", 4)


def test_unknown_filter_rejected_by_h5py(tmp_path: Path) -> None:
    module = parse_module(MODULE_TEXT, make_context())

    with pytest.raises(ValueError, match='Compression filter "bogus" is unavailable'):
        export_nir(module, tmp_path / "out.nir", compression="bogus")
    assert not (tmp_path / "out.nir").exists()

"""Create the groups and datasets of an HDF5 file with h5py's low-level API.

`h5py.Group.create_dataset` validates its arguments and builds a new property list,
datatype and dataspace for every dataset. For a chain of 1000 one-neuron LIF nodes
(h5py 3.16), that Python work took longer than HDF5's own. `ObjectWriter` builds each of
these once and reuses it. It sets every property that h5py 3.16 sets for the same call,
so the same sequence of calls writes the same bytes as the high-level API. Each dataset
is closed right after it is written, as CPython closes a `Dataset` that the caller drops,
because the order of closes decides where HDF5 places chunks and heap blocks.
"""

from __future__ import annotations

import h5py
import numpy as np
from h5py import h5d, h5g, h5p, h5s, h5t, h5z

STRING_DTYPE = h5py.string_dtype()
"""Variable-length UTF-8 strings, the string type of every `.nir` file."""

FILTERS = ("gzip", "lzf")
"""The compression filters `ObjectWriter` sets up itself, by their h5py names."""


class ObjectWriter:
    """Writer of groups and datasets in one open file, which reuses property lists and types.

    ``compression`` is the filter of compressed datasets, one of `FILTERS`, or None for a
    writer that creates no compressed dataset. ``gzip_level`` is the deflate level of "gzip".
    """

    def __init__(self, compression: str | None, gzip_level: int):
        if compression is not None and compression not in FILTERS:
            raise ValueError(f"unsupported compression filter {compression!r}; expected 'gzip', 'lzf' or None")
        self.compression = compression
        self.gzip_level = gzip_level
        # Like h5py, track the creation order of links and attributes only when h5py's
        # global configuration sets track_order, and record no timestamps.
        self.track_order = h5py.get_config().track_order
        self.group_properties = h5p.create(h5p.GROUP_CREATE)
        if self.track_order:
            order_flags = h5p.CRT_ORDER_TRACKED | h5p.CRT_ORDER_INDEXED
            self.group_properties.set_link_creation_order(order_flags)
            self.group_properties.set_attr_creation_order(order_flags)
        self.group_properties.set_obj_track_times(False)
        # h5py marks a group name as UTF-8 only when it is not ASCII.
        self.link_properties = {
            h5t.CSET_ASCII: self._link_properties(h5t.CSET_ASCII),
            h5t.CSET_UTF8: self._link_properties(h5t.CSET_UTF8),
        }
        self.contiguous_properties = self._dataset_properties()
        self.chunked_properties: dict[tuple[int, ...], h5p.PropDCID] = {}
        self.string_type = h5t.py_create(STRING_DTYPE, logical=1)
        self.numeric_types: dict[np.dtype, h5t.TypeID] = {}
        self.spaces: dict[tuple[int, ...], h5s.SpaceID] = {}

    @staticmethod
    def _link_properties(encoding: int) -> h5p.PropLCID:
        properties = h5p.create(h5p.LINK_CREATE)
        properties.set_create_intermediate_group(True)
        properties.set_char_encoding(encoding)
        return properties

    def _dataset_properties(self, chunks: tuple[int, ...] | None = None) -> h5p.PropDCID:
        properties = h5p.create(h5p.DATASET_CREATE)
        if chunks is not None:
            if self.compression is None:
                raise ValueError("a writer without compression creates no chunked dataset")
            properties.set_chunk(chunks)
            if self.compression == "gzip":
                properties.set_deflate(self.gzip_level)
            else:
                properties.set_filter(h5z.FILTER_LZF, h5z.FLAG_OPTIONAL)
        properties.set_obj_track_times(False)
        order_flags = h5p.CRT_ORDER_TRACKED | h5p.CRT_ORDER_INDEXED if self.track_order else 0
        properties.set_attr_creation_order(order_flags)
        return properties

    def create_group(self, parent: h5g.GroupID, name: str) -> h5g.GroupID:
        encoded, encoding = _encode_name(name)
        return h5g.create(
            parent, encoded, lcpl=self.link_properties[encoding], gcpl=self.group_properties
        )

    def write_string(self, parent: h5g.GroupID, name: str, value: str) -> None:
        """Write a scalar string dataset."""
        self._write(parent, name, np.array(value, dtype=STRING_DTYPE), self.string_type, False)

    def write_strings(self, parent: h5g.GroupID, name: str, array: np.ndarray) -> None:
        """Write an array of strings of dtype `STRING_DTYPE`, uncompressed."""
        self._write(parent, name, array, self.string_type, False)

    def write_numbers(
        self, parent: h5g.GroupID, name: str, data: np.ndarray | np.generic, compressed: bool
    ) -> None:
        """Write a numeric array or scalar, as one compressed chunk when ``compressed``.

        A compressed array must have one or more dimensions and at least one byte.
        """
        array = np.asarray(data, order="C")
        self._write(parent, name, array, self._numeric_type(array.dtype), compressed)

    def create_chunked(
        self, parent: h5g.GroupID, name: str, shape: tuple[int, ...], dtype: np.dtype
    ) -> h5d.DatasetID:
        """Create a compressed dataset of one chunk and return it unwritten, for the caller to close."""
        return h5d.create(
            parent,
            _encode_name(name)[0],
            self._numeric_type(dtype),
            self._space(shape),
            dcpl=self._chunked_properties(shape),
        )

    def _write(
        self,
        parent: h5g.GroupID,
        name: str,
        array: np.ndarray,
        datatype: h5t.TypeID,
        compressed: bool,
    ) -> None:
        properties = self._chunked_properties(array.shape) if compressed else self.contiguous_properties
        # As h5py does, a dataset name gets no link properties, so HDF5 records it as
        # ASCII even when it is UTF-8.
        dataset = h5d.create(
            parent, _encode_name(name)[0], datatype, self._space(array.shape), dcpl=properties
        )
        try:
            dataset.write(h5s.ALL, h5s.ALL, array)
        finally:
            dataset.close()

    def _chunked_properties(self, shape: tuple[int, ...]) -> h5p.PropDCID:
        properties = self.chunked_properties.get(shape)
        if properties is None:
            properties = self.chunked_properties[shape] = self._dataset_properties(shape)
        return properties

    def _numeric_type(self, dtype: np.dtype) -> h5t.TypeID:
        datatype = self.numeric_types.get(dtype)
        if datatype is None:
            datatype = self.numeric_types[dtype] = h5t.py_create(dtype, logical=1)
        return datatype

    def _space(self, shape: tuple[int, ...]) -> h5s.SpaceID:
        space = self.spaces.get(shape)
        if space is None:
            space = self.spaces[shape] = h5s.create_simple(shape)
        return space


def _encode_name(name: str) -> tuple[bytes, int]:
    """Encode an HDF5 link name as h5py does: ASCII when it can be, else UTF-8."""
    try:
        return name.encode("ascii"), h5t.CSET_ASCII
    except UnicodeEncodeError:
        return name.encode("utf-8"), h5t.CSET_UTF8

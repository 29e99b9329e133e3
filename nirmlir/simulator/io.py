"""Reading simulator inputs (.npy, .npz, .csv, NIR data files) and writing traces (.npz, .npy, .csv).

Traces are nested dictionaries, node -> key -> array with leading axes (T, ...) or (B, T, ...).
Flat files name each trace `NODE/KEY`, the form `nir-run --record` accepts.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Sequence

import numpy as np

from nirmlir.diagnostics import DiagnosticError, Location

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"

Traces = dict[str, dict[str, np.ndarray]]


# --------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------


def read_input(
    path: str,
    shape: tuple[int, ...],
    *,
    columns: Sequence[str | int] | None = None,
    key: str | None = None,
    dt: float | None = None,
    node: str = "input",
) -> np.ndarray:
    """Return the data of one input node, shaped (T, *shape) or (B, T, *shape).

    `.npy` is taken as it is; `.npz` needs `key` unless it contains one array. A CSV file has one
    row per step and optionally a header; `columns` selects columns by index or header name.
    An HDF5 file is read as NIR data (`nir.write_data`): `key` selects `NODE` or `NODE/OBSERVABLE`,
    by default the data of the node named `node`, or the file's only node. CSV rows and NIR data
    neurons are flat, so they are reshaped to `shape` when their size matches.
    """
    location = Location(file=path)
    if os.path.isdir(path):
        raise DiagnosticError(f"input '{path}' is a directory, not a file", location)
    if not os.path.isfile(path):
        raise DiagnosticError(f"input file '{path}' not found", location)
    with open(path, "rb") as stream:
        head = stream.read(len(HDF5_SIGNATURE))
    lower = path.lower()
    if head == HDF5_SIGNATURE:
        return _unflatten(_read_nir_data(path, key, dt, node), shape, location)
    if lower.endswith(".npy"):
        return _load_numpy(path, location)
    if lower.endswith(".npz"):
        return _read_npz(path, key, location, node)
    if lower.endswith((".csv", ".txt")):
        return _unflatten(_read_csv(path, columns), shape, location)
    raise DiagnosticError(
        f"unknown input format of '{path}'; expected .npy, .npz, .csv or a NIR data file (HDF5)", location
    )


def _load_numpy(path: str, location: Location) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError) as error:
        raise DiagnosticError(f"cannot read '{path}' as a numpy array: {error}", location) from None


def _read_npz(path: str, key: str | None, location: Location, node: str) -> np.ndarray:
    """Return array `key` of an archive; without a key, its only array or the one named after `node`."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = list(archive.files)
            listed = ", ".join(names)
            if not names:
                raise DiagnosticError(f"'{path}' contains no arrays; save the data of input node '{node}' in it", location)
            if key is None and len(names) == 1:
                key = names[0]
            elif key is None and node in names:
                key = node
            elif key is None:
                raise DiagnosticError(
                    f"'{path}' contains the arrays {listed}; store the data of input node '{node}' under the name "
                    f"'{node}', or with nir-run choose an array with --input-key", location)
            if key not in names:
                raise DiagnosticError(f"'{path}' has no array '{key}' for input node '{node}'; it contains {listed}", location)
            return archive[key]
    except (ValueError, OSError) as error:
        raise DiagnosticError(f"cannot read '{path}' as a numpy archive: {error}", location) from None


def _read_csv(path: str, columns: Sequence[str | int] | None) -> np.ndarray:
    """Return a CSV file as a (rows, columns) float array; a first row that is not numeric is the header."""
    location = Location(file=path)
    with open(path, newline="", encoding="utf-8") as stream:
        sample = stream.read(4096)
        stream.seek(0)
        delimiter = "\t" if "\t" in sample and "," not in sample else ","
        rows = [row for row in csv.reader(stream, delimiter=delimiter) if row and any(cell.strip() for cell in row)]
    if not rows:
        raise DiagnosticError(f"the CSV file '{path}' has no rows", location)

    header = None
    if not _is_numeric(rows[0]):
        header = [cell.strip() for cell in rows[0]]
        rows = rows[1:]
    width = len(rows[0]) if rows else 0
    values = np.empty((len(rows), width), dtype=np.float64)
    for number, row in enumerate(rows):
        if len(row) != width:
            raise DiagnosticError(f"row {number + 1} of '{path}' has {len(row)} columns; expected {width}", location)
        try:
            values[number] = [float(cell) for cell in row]
        except ValueError:
            raise DiagnosticError(f"row {number + 1} of '{path}' contains a value that is not a number", location) from None
    if columns is None:
        return values

    indices = []
    for column in columns:
        if isinstance(column, int) or str(column).lstrip("-").isdigit():
            index = int(column)
            if not -width <= index < width:
                raise DiagnosticError(f"column {index} does not exist; '{path}' has {width} columns", location)
            indices.append(index)
        elif header is not None and column in header:
            indices.append(header.index(column))
        else:
            names = ", ".join(header) if header else "no header"
            raise DiagnosticError(f"column '{column}' not found in '{path}' ({names})", location)
    return values[:, indices]


def _is_numeric(row: list[str]) -> bool:
    try:
        for cell in row:
            float(cell)
    except ValueError:
        return False
    return True


def _unflatten(data: np.ndarray, shape: tuple[int, ...], location: Location) -> np.ndarray:
    """Reshape flat rows (..., n) to (..., *shape) when n is the input's size."""
    size = int(np.prod(shape))
    if data.shape[-1] != size:
        raise DiagnosticError(
            f"the input data have {data.shape[-1]} values per step but the input node has shape {list(shape)} "
            f"({size} values); write only the input's columns (nir-run can choose them with --input-columns) or check the model",
            location,
        )
    return data.reshape(data.shape[:-1] + tuple(shape))


def _read_nir_data(path: str, key: str | None, dt: float | None, default_node: str) -> np.ndarray:
    """Return one observable of a NIR data file as a (samples, steps, neurons) array."""
    import h5py

    location = Location(file=path)
    node_name, observable = (key.split("/", 1) + [None])[:2] if key else (None, None)
    with h5py.File(path, "r") as file:
        if file.attrs.get("__type__") != "NIRGraphData" or "nodes" not in file:
            raise DiagnosticError(
                f"'{path}' is an HDF5 file but not NIR data (no NIRGraphData root); write it with nir.write_data",
                location,
            )
        nodes = file["nodes"]
        if node_name is None and default_node in nodes:
            node_name = default_node
        elif node_name is None and len(nodes) == 1:
            node_name = next(iter(nodes))
        if node_name is None or node_name not in nodes:
            raise DiagnosticError(
                f"choose the node of '{path}' with --input-key NODE/OBSERVABLE; it has nodes {', '.join(nodes)}",
                location,
            )
        group = nodes[node_name]
        if group.attrs.get("__type__") != "NIRNodeData" or "observables" not in group:
            raise DiagnosticError(f"node '{node_name}' of '{path}' has no observables (it is nested graph data)", location)
        observables = group["observables"]
        if observable is None:
            if len(observables) == 1:
                observable = next(iter(observables))
            elif "spikes" in observables:
                observable = "spikes"
        if observable is None or observable not in observables:
            raise DiagnosticError(
                f"choose the observable of node '{node_name}' with --input-key {node_name}/NAME; it has "
                + ", ".join(observables),
                location,
            )
        return _observable_grid(observables[observable], dt, f"{node_name}/{observable}", location)


def _observable_grid(group, dt: float | None, name: str, location: Location) -> np.ndarray:
    """Return TimeGriddedData as it is, and EventData on the grid of `dt` as nir 1.0.8 bins it.

    An event at time τ lands in step floor(τ/dt), over int(t_max/dt) steps. As in nir 1.0.8,
    several events of one neuron in one step count once, and a valued event writes its value.
    """
    kind = group.attrs.get("__type__")
    if kind == "TimeGriddedData":
        data = np.asarray(group["data"][()])
        recorded_dt = float(group.attrs["dt"])
        if dt is not None and not math.isclose(recorded_dt, dt, rel_tol=1e-9):
            raise DiagnosticError(
                f"observable '{name}' is gridded with dt {recorded_dt:g} s but the model steps every {dt:g} s",
                location,
            )
        if data.ndim != 3:
            raise DiagnosticError(f"observable '{name}' has shape {list(data.shape)}; expected (samples, steps, neurons)", location)
        return data.astype(np.float64)
    if kind not in ("EventData", "ValuedEventData"):
        raise DiagnosticError(f"observable '{name}' has unknown type '{kind}'", location)
    if dt is None:
        raise DiagnosticError(f"observable '{name}' contains events; give --dt to put them on a time grid", location)
    indices = np.asarray(group["idx"][()], dtype=np.int64)
    times = np.asarray(group["time"][()], dtype=np.float64)
    values = np.asarray(group["value"][()], dtype=np.float64) if kind == "ValuedEventData" else np.ones_like(times)
    neurons = int(group.attrs["n_neurons"])
    steps = int(float(group.attrs["t_max"]) / dt)
    grid = np.zeros((indices.shape[0], steps, neurons), dtype=np.float64)
    valid = indices != -1
    samples = np.broadcast_to(np.arange(indices.shape[0])[:, None], indices.shape)[valid]
    bins = np.floor(times[valid] / dt).astype(np.int64)
    if bins.size and (bins.min() < 0 or bins.max() >= steps):
        raise DiagnosticError(f"observable '{name}' has events outside [0, t_max)", location)
    grid[samples, bins, indices[valid]] = values[valid]
    return grid


# --------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------


def flatten_traces(traces: Traces) -> dict[str, np.ndarray]:
    """Return the traces as `NODE/KEY` -> array."""
    return {f"{node}/{key}": array for node, keys in traces.items() for key, array in keys.items()}


def write_traces(path: str, traces: Traces, batched: bool, select: str | None = None) -> None:
    """Write traces atomically as .npz (every trace), .npy (one trace) or .csv (one column per element).

    For .npy, `select` names the trace (`NODE/KEY`) when there is more than one.
    """
    from nirmlir.atomic import atomic_output

    flat = flatten_traces(traces)
    lower = path.lower()
    if lower.endswith(".npz"):
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **flat)
        payload = buffer.getvalue()
        mode = "wb"
    elif lower.endswith(".npy"):
        if select is None and len(flat) != 1:
            raise DiagnosticError(
                f"a .npy file stores one trace but the run recorded {len(flat)} ({', '.join(flat)}); "
                "select one with --record NODE/KEY, or write .npz"
            )
        name = select or next(iter(flat))
        buffer = io.BytesIO()
        np.save(buffer, flat[name], allow_pickle=False)
        payload = buffer.getvalue()
        mode = "wb"
    elif lower.endswith(".csv"):
        payload = _csv_text(flat, batched)
        mode = "w"
    else:
        raise DiagnosticError(f"unknown output format of '{path}'; expected .npz, .npy or .csv")
    try:
        with atomic_output(path, mode) as stream:
            stream.write(payload)
    except OSError as error:
        raise DiagnosticError(f"cannot write '{path}': {error.strerror}") from None


def _csv_text(flat: dict[str, np.ndarray], batched: bool) -> str:
    """Return the traces as CSV: a header, then one row per step (per sample and step when batched)."""
    columns = ["sample", "step"] if batched else ["step"]
    blocks = []
    for name, array in flat.items():
        leading = array.shape[:2] if batched else array.shape[:1]
        # The element count per row from the shape itself: -1 cannot be inferred when there are no rows.
        values = array.reshape(leading + (int(np.prod(array.shape[len(leading):])),))
        size = values.shape[-1]
        columns.extend(f"{name}[{index}]" if size > 1 else name for index in range(size))
        blocks.append(values.reshape(-1, size))
    first = next(iter(flat.values()))
    if batched:
        samples, steps = first.shape[:2]
        data_columns = [np.repeat(np.arange(samples), steps), np.tile(np.arange(steps), samples)]
    else:
        data_columns = [np.arange(first.shape[0])]
    # Each column keeps its dtype, so spike counts print as integers and voltages as floats.
    data_columns.extend(block[:, index] for block in blocks for index in range(block.shape[1]))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in zip(*data_columns):
        writer.writerow([_format(value) for value in row])
    return out.getvalue()


def _format(value) -> str:
    if isinstance(value, float | np.floating):
        return repr(float(value))
    return str(int(value))

"""A PNG of recorded traces: voltage and current lines and a spike raster per node, for the first sample."""

from __future__ import annotations

import io

import numpy as np

from nirmlir.diagnostics import DiagnosticError

Traces = dict[str, dict[str, np.ndarray]]

MAX_NEURONS = 8
"""Neurons drawn per node; a layer of thousands of lines would hide every trace."""


def plot_traces(path: str, traces: Traces, dt: float, batched: bool, title: str = "") -> None:
    """Write a PNG with one panel per recorded trace, time in milliseconds, atomically to `path`."""
    try:
        import matplotlib
    except ImportError:
        raise DiagnosticError(
            "--plot needs matplotlib, which is not installed; install it with pip install 'nirmlir[plot]'"
        ) from None
    matplotlib.use("Agg")
    from matplotlib import pyplot

    from nirmlir.atomic import atomic_output

    # Integer copies repeat the scaled traces, and an output's value repeats its spikes.
    panels = [
        (node, key, array)
        for node, keys in traces.items()
        for key, array in keys.items()
        if not key.endswith("_int") and not (key == "value" and "spikes" in keys)
    ]
    if not panels:
        raise DiagnosticError("no traces to plot")
    figure, axes = pyplot.subplots(len(panels), 1, figsize=(9, 1.8 * len(panels) + 0.6), sharex=True, squeeze=False)
    for axis, (node, key, array) in zip(axes[:, 0], panels):
        sample = array[0] if batched else array
        steps = sample.shape[0]
        flat = sample.reshape(steps, -1)[:, :MAX_NEURONS]
        times = np.arange(steps) * dt * 1e3
        if key == "spikes":
            events = [times[flat[:, neuron] > 0] for neuron in range(flat.shape[1])]
            axis.eventplot(events, colors="black", linelengths=0.8)
            axis.set_ylabel(f"{node}\nspikes")
            axis.set_yticks(range(flat.shape[1]))
        else:
            axis.plot(times, flat, linewidth=0.9)
            axis.set_ylabel(f"{node}\n{key}")
        if sample.reshape(steps, -1).shape[1] > MAX_NEURONS:
            axis.set_title(f"first {MAX_NEURONS} of {sample.reshape(steps, -1).shape[1]} neurons", fontsize=8, loc="right")
    axes[-1, 0].set_xlabel("time (ms)")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    pyplot.close(figure)
    try:
        with atomic_output(path, "wb") as stream:
            stream.write(buffer.getvalue())
    except OSError as error:
        raise DiagnosticError(f"cannot write '{path}': {error.strerror}") from None

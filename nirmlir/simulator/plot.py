"""A PNG of recorded traces: voltage and current lines and a spike raster per node, for the first sample."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np

from nirmlir.diagnostics import DiagnosticError

Traces = dict[str, dict[str, np.ndarray]]

MAX_NEURONS = 8
"""Neurons drawn per node; a layer of thousands of lines would hide every trace."""


QUANTITIES = {"v": "voltage", "i": "current", "value": "value"}
"""The axis label of each line trace; traces are in NIR units, which a NIR file does not name."""


def plot_traces(
    path: str, traces: Traces, dt: float, batched: bool, title: str = "", order: Sequence[str] | None = None
) -> None:
    """Write a PNG with one panel per recorded trace, time in milliseconds, atomically to `path`.

    Panels follow `order` (node names, e.g. the graph's schedule), then any other node in the
    order of `traces`. Each panel has a legend naming its node, trace and neuron index.
    """
    try:
        import matplotlib
    except ImportError:
        raise DiagnosticError(
            "--plot needs matplotlib, which is not installed; install it with pip install 'nirmlir[plot]'"
        ) from None
    matplotlib.use("Agg")
    from matplotlib import pyplot

    from nirmlir.atomic import atomic_output

    rank = {node: index for index, node in enumerate(order or ())}
    nodes = sorted(traces, key=lambda node: rank.get(node, len(rank)))
    # Integer copies repeat the scaled traces, and an output's value repeats its spikes.
    panels = [
        (node, key, array)
        for node in nodes
        for key, array in traces[node].items()
        if not key.endswith("_int") and not (key == "value" and "spikes" in traces[node])
    ]
    if not panels:
        raise DiagnosticError("no traces to plot")
    figure, axes = pyplot.subplots(len(panels), 1, figsize=(9, 1.8 * len(panels) + 0.6), sharex=True, squeeze=False)
    for axis, (node, key, array) in zip(axes[:, 0], panels):
        sample = array[0] if batched else array
        steps = sample.shape[0]
        neurons = sample.reshape(steps, -1).shape[1]
        flat = sample.reshape(steps, -1)[:, :MAX_NEURONS]
        times = np.arange(steps) * dt * 1e3
        names = [f"{node}/{key}" if neurons == 1 else f"{node}/{key}[{neuron}]" for neuron in range(flat.shape[1])]
        if key == "spikes":
            events = [times[flat[:, neuron] > 0] for neuron in range(flat.shape[1])]
            rows = axis.eventplot(events, colors="black", linelengths=0.8)
            if rows:
                rows[0].set_label(f"{node} spikes")
            axis.set_ylabel(f"{node}\nspikes (neuron index)")
            axis.set_yticks(range(flat.shape[1]))
        else:
            for neuron in range(flat.shape[1]):
                axis.plot(times, flat[:, neuron], linewidth=0.9, label=names[neuron])
            axis.set_ylabel(f"{node}\n{QUANTITIES.get(key, key)} (NIR units)")
        # Outside the axes, on the right, the legend never hides a trace.
        axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
        if neurons > MAX_NEURONS:
            axis.set_title(f"first {MAX_NEURONS} of {neurons} neurons", fontsize=8, loc="left")
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

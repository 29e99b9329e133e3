"""A recording stand-in for the py-spinnaker2 API that generated scripts call.

py-spinnaker2 is not on PyPI, so the tests run the scripts against these classes. They record
every constructor call and run request in `CALLS` and compute nothing: a run records no spikes.
"""

from __future__ import annotations

import types

CALLS: list[tuple[str, dict]] = []


class Population:
    def __init__(self, size, neuron_model, params, name, record=()):
        self.size = size
        self.neuron_model = neuron_model
        self.params = params
        self.name = name
        self.record = list(record)
        self.max_atoms_per_core = None
        CALLS.append(("Population", {"size": size, "neuron_model": neuron_model, "params": params, "name": name, "record": list(record)}))

    def set_max_atoms_per_core(self, atoms):
        self.max_atoms_per_core = atoms
        CALLS.append(("set_max_atoms_per_core", {"name": self.name, "atoms": atoms}))

    def get_spikes(self):
        return {}

    def get_voltages(self):
        return {}


class Projection:
    def __init__(self, pre, post, connections):
        CALLS.append(("Projection", {"pre": pre.name, "post": post.name, "connections": connections}))


class Conv2DProjection:
    def __init__(self, pre, post, weights, params):
        CALLS.append(("Conv2DProjection", {"pre": pre.name, "post": post.name, "weights": weights, "params": params}))


class Network:
    def __init__(self, name):
        self.name = name
        self.objects = []
        CALLS.append(("Network", {"name": name}))

    def add(self, *objects):
        self.objects.extend(objects)


class SpiNNaker2Chip:
    def __init__(self, eth_ip):
        CALLS.append(("SpiNNaker2Chip", {"eth_ip": eth_ip}))

    def run(self, network, timesteps, sys_tick_in_s=None):
        CALLS.append(("run", {"backend": "hardware", "timesteps": timesteps, "sys_tick_in_s": sys_tick_in_s}))


class Brian2Backend:
    def run(self, network, timesteps):
        CALLS.append(("run", {"backend": "brian2", "timesteps": timesteps}))


def modules() -> dict[str, types.ModuleType]:
    """Return the stand-in modules by import name, for sys.modules."""
    package = types.ModuleType("spinnaker2")
    snn = types.ModuleType("spinnaker2.snn")
    snn.Population, snn.Projection, snn.Conv2DProjection, snn.Network = Population, Projection, Conv2DProjection, Network
    hardware = types.ModuleType("spinnaker2.hardware")
    hardware.SpiNNaker2Chip = SpiNNaker2Chip
    brian2_sim = types.ModuleType("spinnaker2.brian2_sim")
    brian2_sim.Brian2Backend = Brian2Backend
    package.snn, package.hardware, package.brian2_sim = snn, hardware, brian2_sim
    return {"spinnaker2": package, "spinnaker2.snn": snn, "spinnaker2.hardware": hardware, "spinnaker2.brian2_sim": brian2_sim}

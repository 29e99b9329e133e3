"""Core placement: chip core capacities, the neuron-level connectivity of a graph, and mapping strategies.

`targets` describes each chip's cores, and `extract` builds the `network` of neuron groups and
synapses of an fxp graph. `strategies` assigns neurons to cores. `check` measures a mapping
against the capacities, independently of the strategy that made it, and `report` turns that
measurement into the cost report of `nir-opt --mapping-report`.
"""

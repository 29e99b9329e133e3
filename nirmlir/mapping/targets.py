"""Cores and capacities of the chips that map-to-cores places neurons on, each number with its source."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from nirmlir.diagnostics import DiagnosticError


@dataclass(frozen=True)
class Target:
    """The cores of one chip and what each core holds.

    A capacity of None has no published figure and is reported but not enforced. On targets
    with `whole_layers`, each core contains exactly one neuron group, sized by the memory
    formulas of Speck instead of by neuron and synapse counts.
    """

    name: str
    chip: str
    cores_per_chip: int
    neurons_per_core: int | None
    synapses_per_core: int | None
    """Synapse entries per core: one per nonzero weight into a neuron on the core."""
    fan_in_per_core: int | None
    """Distinct source neurons whose spikes a core can receive."""
    destinations_per_core: int | None
    """Distinct other cores that the neurons of one core can send spikes to."""
    whole_layers: bool = False
    kernel_memory: tuple[int, ...] = ()
    """Per core, entries of kernel memory (Speck)."""
    neuron_memory: tuple[int, ...] = ()
    """Per core, entries of neuron memory (Speck)."""
    bias_memory: int | None = None
    limits: dict[str, int] = field(default_factory=dict)
    """Chip-wide limits on neuron roles: input_channels, hidden_neurons, readout_neurons (Xylo)."""
    sources: dict[str, str] = field(default_factory=dict)
    """Capacity name -> where the number comes from, and whether it is verified."""


LOIHI2 = Target(
    name="loihi2",
    chip="Intel Loihi 2",
    cores_per_chip=128,
    neurons_per_core=8192,
    synapses_per_core=131072,
    fan_in_per_core=None,
    destinations_per_core=None,
    sources={
        "cores_per_chip": "128 neuro-cores per chip (public Intel material, unverified)",
        "neurons_per_core": "up to about 8 k neurons per core (public Intel material, unverified)",
        "synapses_per_core": "estimate: 128 kB of SRAM per core at one byte per 8-bit weight; the same "
        "SRAM also holds neuron state and routing, which this ignores",
        "fan_in_per_core": "not published; placement happens in Intel's closed lava-loihi compiler",
        "destinations_per_core": "not published",
    },
)

SPINNAKER2 = Target(
    name="spinnaker2",
    chip="SpiNNaker2",
    cores_per_chip=152,
    neurons_per_core=256,
    synapses_per_core=32768,
    fan_in_per_core=None,
    destinations_per_core=None,
    sources={
        "cores_per_chip": "152 ARM Cortex-M4F processing elements, 38 quad-PE groups (public descriptions, unverified)",
        "neurons_per_core": "py-spinnaker2 Population.set_max_atoms_per_core; 256 is the largest value the "
        "NIR paper's SpiNNaker2 runs used",
        "synapses_per_core": "estimate: 128 kB of local SRAM per PE at 4 bytes per synapse word",
        "fan_in_per_core": "not published",
        "destinations_per_core": "not published; the NoC routes by multicast",
    },
)

SPECK = Target(
    name="speck",
    chip="SynSense Speck",
    cores_per_chip=9,
    neurons_per_core=None,
    synapses_per_core=None,
    fan_in_per_core=None,
    destinations_per_core=2,
    whole_layers=True,
    kernel_memory=(16384, 16384, 16384, 32768, 32768, 65536, 65536, 16384, 16384),
    neuron_memory=(65536, 65536, 65536, 32768, 32768, 16384, 16384, 16384, 16384),
    bias_memory=1024,
    sources={
        "cores_per_chip": "9 CNN cores (sinabs-dynapcnn code and SynSense documentation)",
        "kernel_memory": "16K,16K,16K,32K,32K,64K,64K,16K,16K entries for cores 0 to 8; a layer needs "
        "c * 2^(ceil(log2(kx*ky)) + ceil(log2 f)) (sinabs-dynapcnn)",
        "neuron_memory": "64K,64K,64K,32K,32K,16K,16K,16K,16K entries; a layer needs "
        "f * 2^(ceil(log2 fy) + ceil(log2 fx)) (sinabs-dynapcnn)",
        "bias_memory": "1024 entries per core; a layer needs f (sinabs-dynapcnn)",
        "destinations_per_core": "each core sends to at most 2 destination layers (sinabs-dynapcnn)",
    },
)

XYLO = Target(
    name="xylo",
    chip="SynSense Xylo Audio 2 (SYNS61201)",
    cores_per_chip=1,
    neurons_per_core=1008,
    synapses_per_core=None,
    fan_in_per_core=None,
    destinations_per_core=None,
    limits={"input_channels": 16, "hidden_neurons": 1000, "readout_neurons": 8},
    sources={
        "cores_per_chip": "one neuron core",
        "limits": "16 input channels, 1000 hidden neurons, 8 output neurons (rockpool Xylo Audio 2 mapper)",
        "neurons_per_core": "1000 hidden plus 8 readout neurons",
        "synapses_per_core": "the weight matrices are fixed size; the neuron limits bound them",
    },
)

TARGETS = {target.name: target for target in (LOIHI2, SPINNAKER2, SPECK, XYLO)}

MAX_CHIPS = 10_000
"""Maximum number of chips that map-to-cores models; a million-neuron graph needs far fewer."""


USER_CAPACITIES = ("neurons_per_core", "synapses_per_core", "fan_in_per_core", "destinations_per_core")
"""Capacities that pass options may set, for research on chips that do not exist."""


def with_capacities(target: Target, **capacities: int | None) -> Target:
    """Return `target` with the capacities given (None keeps the chip's own), each marked as set by the user.

    Raise DiagnosticError for a capacity that is not positive, or one that a whole-layer target
    does not count.
    """
    changes = {}
    sources = dict(target.sources)
    for name, value in capacities.items():
        if value is None:
            continue
        option = name.replace("_", "-")
        if value < 1:
            raise DiagnosticError(f"map-to-cores: {option} is {value}; expected a positive number")
        if target.whole_layers and name != "destinations_per_core":
            raise DiagnosticError(f"map-to-cores: {option} does not apply to target '{target.name}', whose cores each hold "
                                  "one layer sized by its memory formulas; only destinations-per-core can be set")
        changes[name] = value
        sources[name] = f"{value}, set by the pass option {option} (a hypothetical chip, not {target.chip}'s figure)"
    if not changes:
        return target
    return replace(target, sources=sources, **changes)


def xylo_target(variant) -> Target:
    """Return the one core of a Xylo variant (`dialects.xylo.XyloVariant`) as a target."""
    return Target(
        name="xylo",
        chip=f"SynSense {variant.title} ({variant.part})",
        cores_per_chip=1,
        neurons_per_core=variant.hidden + variant.outputs,
        synapses_per_core=None,
        fan_in_per_core=None,
        destinations_per_core=None,
        limits={"input_channels": variant.inputs, "hidden_neurons": variant.hidden, "readout_neurons": variant.outputs},
        sources={
            "cores_per_chip": "one neuron core",
            "limits": f"{variant.inputs} input channels, {variant.hidden} hidden neurons, {variant.outputs} output neurons "
            "(dialects/xylo.py VARIANTS, from Rockpool 3.1.0)",
        },
    )


def get_target(name: str) -> Target:
    """Return the target called `name`; raise DiagnosticError naming the known targets otherwise."""
    if name not in TARGETS:
        raise DiagnosticError(f"map-to-cores: unknown target '{name}'; expected one of {', '.join(TARGETS)}")
    return TARGETS[name]

"""Write lif_input.csv, the input spike train of the NIR paper's LIF experiment, for examples/lif.nir.

Usage: python examples/make_lif_input.py [OUTPUT_FILE]

The experiment (neuromorphs/NIR, paper/01_lif) drives one LIF neuron with tau 2.5 ms and
threshold 0.1, as in examples/lif.nir, with a 100 ms train given at 1 ms resolution. Each 1 ms
bin becomes ten steps of dt = 0.1 ms, and a spike is a 1 in the first of its ten steps, so the
file has 1000 rows and 34 spikes. These rows equal the input column (column 0) of the
experiment's recorded lif_<simulator>.csv traces. The file is one CSV column with the header
`input`, which `nir-run --input` reads as the input node's data.
"""

from __future__ import annotations

import sys
from pathlib import Path

SPIKE_MILLISECONDS = [6, 22, 27, 31, 32, 35, 37, 40, 41, *range(43, 54), *range(67, 79), 84, 85]
"""The 1 ms bins, counted from 0, that contain a spike of the experiment's train."""
DURATION_MILLISECONDS = 100
STEPS_PER_MILLISECOND = 10
"""Steps of dt = 0.1 ms in each 1 ms bin."""


def spike_train() -> list[int]:
    """Return the train at dt = 0.1 ms: 1 in the first step of each spiking bin, else 0."""
    steps = [0] * (DURATION_MILLISECONDS * STEPS_PER_MILLISECOND)
    for millisecond in SPIKE_MILLISECONDS:
        steps[millisecond * STEPS_PER_MILLISECOND] = 1
    return steps


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent / "lif_input.csv"
    train = spike_train()
    path.write_text("input\n" + "".join(f"{value}\n" for value in train), encoding="ascii")
    print(f"wrote {path}: {len(train)} steps, {sum(train)} spikes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

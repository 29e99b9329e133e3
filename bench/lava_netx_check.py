"""Load nirmlir's netx files in lava-dl's `netx.hdf5.Network` and compare Lava's fixed-point run with nir-run.

Usage: python bench/lava_netx_check.py [--venv DIR] [--workdir DIR] [--steps N] [--cnn-steps N]
       [--cases lif,braille,cnn,delay]

This check is not part of CI: lava-nc 0.10.0 and lava-dl 0.6.0 declare Python < 3.11, need
torch 2.3 by their metadata and a patched lava-nc on Python 3.11. The script therefore builds
its own virtual environment (by default `nirmlir-lava-venv` in the temporary folder, reused on
later runs):

1. `pip install --ignore-requires-python --no-deps lava-nc==0.10.0 lava-dl==0.6.0`, then their
   dependencies (numpy < 2, networkx <= 2.8.7, asteval < 0.10, scikit-learn, scipy, h5py,
   matplotlib, opencv-python-headless, pillow) and torch 2.13.0 in place of torch 2.3;
2. a patch of `lava/magma/compiler/var_model.py`, whose dataclasses use a mutable default
   (`ByteEncoder()`) that Python 3.11 rejects, to `field(default_factory=ByteEncoder)`;
3. a placeholder `torchvision` package (with empty `ops` and `transforms`) if the real one does not
   import: lava-dl's object-detection helpers import it when slayer loads, but netx never calls it.

Then, for each case, this interpreter (with nirmlir) lowers a NIR file with lower-to-loihi2,
writes the netx file with the printer and runs nirmlir's loihi2 interpreter. The venv's Python
loads the file with `netx.hdf5.Network`, drives `net.inp` from a RingBuffer and runs it with
`Loihi2SimCfg(select_tag="fixed_pt")`, recording u, v and the spikes of every layer. The cases
are the NIR paper's LIF neuron on its recorded input spikes, and the braille network, the
sinabs CNN and a dense layer behind a NIR delay node (netx `delay`) on seeded random spikes. It prints one line per case, layer and trace, and exits
non-zero on any difference.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

REPOSITORY = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("NIRMLIR_SHARED", REPOSITORY.parent / "shared"))
LAVA_PACKAGES = ["lava-nc==0.10.0", "lava-dl==0.6.0"]
DEPENDENCIES = [
    "numpy>=1.24.4,<2",
    "networkx<=2.8.7",
    "asteval>=0.9.31,<0.10",
    "scikit-learn>=1.5,<2",
    "scipy>=1.10.1,<2",
    "h5py>=3.7,<4",
    "matplotlib>=3.5.2,<4",
    "opencv-python-headless>=4.8.1.78,<5",
    "pillow>=10.0.1,<11",
    "torch==2.13.0",
]

RUNNER = textwrap.dedent(
    '''
    """Run one netx file in Lava's bit-accurate CPU models; write u, v and spikes of every layer."""
    import json
    import sys

    import numpy as np
    from lava.lib.dl import netx
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.source import RingBuffer
    from lava.proc.monitor.process import Monitor

    netx_path, input_path, output_path = sys.argv[1:4]
    spikes = np.load(input_path)  # (T, N) or (T, C, H, W), as nirmlir stores it
    steps = spikes.shape[0]
    net = netx.hdf5.Network(net_config=netx_path)
    # Lava orders neurons (W, H, C) and puts time last.
    source = RingBuffer(data=spikes.transpose(*range(spikes.ndim - 1, -1, -1)).astype(np.int32))
    source.s_out.connect(net.inp)
    monitors = []
    for index, layer in enumerate(net.layers):
        for var in ("u", "v"):
            monitor = Monitor()
            monitor.probe(getattr(layer.neuron, var), steps)
            monitors.append((index, var, monitor))
        monitor = Monitor()
        monitor.probe(layer.neuron.s_out, steps)
        monitors.append((index, "s_out", monitor))
    net.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
    traces = {}
    for index, var, monitor in monitors:
        data = next(iter(monitor.get_data().values()))
        shape = net.layers[index].neuron.v.shape
        values = np.asarray(next(iter(data.values()))).reshape(steps, *shape)
        if len(shape) == 3:
            values = values.transpose(0, 3, 2, 1)
        traces[f"{index}/{var}"] = values.reshape(steps, -1)
    net.stop()
    np.savez(output_path, **traces)
    print(json.dumps({"layers": len(net.layers)}))
    '''
)


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    print("+", " ".join(command), flush=True)
    return subprocess.run(command, check=True, **kwargs)


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def build_venv(venv: Path) -> None:
    """Create the Lava environment once: packages, the var_model patch and the torchvision placeholder."""
    python = venv_python(venv)
    if not python.exists():
        run([sys.executable, "-m", "venv", str(venv)])
    pip = [str(python), "-m", "pip", "install", "-q"]
    run(pip + ["--ignore-requires-python", "--no-deps", *LAVA_PACKAGES])
    run(pip + DEPENDENCIES)
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
    )
    var_model = site / "lava" / "magma" / "compiler" / "var_model.py"
    text = var_model.read_text()
    if "default_factory=ByteEncoder" not in text:
        text = text.replace(": ByteEncoder = ByteEncoder()", ": ByteEncoder = field(default_factory=ByteEncoder)")
        if "from dataclasses import" in text and " field" not in text.split("from dataclasses import", 1)[1].split("\n", 1)[0]:
            text = text.replace("from dataclasses import", "from dataclasses import field,", 1)
        var_model.write_text(text)
    probe = subprocess.run(
        [str(python), "-c", "import torchvision.ops, torchvision.transforms"], check=False, capture_output=True
    )
    if probe.returncode != 0:
        placeholder = site / "torchvision"
        placeholder.mkdir(exist_ok=True)
        for module in ("__init__", "ops", "transforms"):
            (placeholder / f"{module}.py").write_text('"""Placeholder: lava-dl imports torchvision, but netx does not use it."""\n')


def nirmlir_case(name: str, model: Path, options: str, spikes: np.ndarray, workdir: Path) -> tuple[Path, dict]:
    """Lower and print one case with nirmlir; return the netx path and the interpreter's integer traces."""
    from nirmlir.dialects import loihi2

    import nirmlir
    from nirmlir.printers.loihi2 import write_netx

    module = nirmlir.compile(nirmlir.load(model), options)
    netx_path = workdir / f"{name}.net"
    write_netx(module, netx_path)
    graph = next(op for op in module.ops if isinstance(op, loihi2.GraphOp))
    layers = [op.node_name.data for op in graph.body.block.ops if isinstance(op, loihi2.LayerOp)]
    traces = nirmlir.simulate(module, spikes, record=layers, integers=True)
    expected = {}
    for index, layer in enumerate(layers):
        expected[f"{index}/u"] = traces[layer]["i_int"]
        expected[f"{index}/v"] = traces[layer]["v_int"]
        expected[f"{index}/s_out"] = traces[layer]["spikes"].astype(np.int64)
    return netx_path, expected


def write_delay_model(path: Path, rng: np.random.Generator) -> Path:
    """Write Input(12) -> Affine -> Delay (1 to 6 steps per neuron) -> LIF(10) -> Output as a NIR file."""
    import nir

    size = 10
    nodes = {
        "input": nir.Input(input_type={"input": np.array([12])}),
        "fc": nir.Affine(weight=rng.normal(0, 0.3, (size, 12)).astype(np.float32), bias=np.zeros(size, np.float32)),
        "delay": nir.Delay(delay=(rng.integers(1, 7, size) * 1e-4).astype(np.float32)),
        "lif": nir.LIF(
            tau=np.full(size, 2e-3, np.float32),
            r=np.full(size, 20.0, np.float32),
            v_leak=np.zeros(size, np.float32),
            v_threshold=np.full(size, 0.5, np.float32),
            v_reset=np.zeros(size, np.float32),
        ),
        "output": nir.Output(output_type={"output": np.array([size])}),
    }
    edges = [("input", "fc"), ("fc", "delay"), ("delay", "lif"), ("lif", "output")]
    nir.write(path, nir.NIRGraph(nodes=nodes, edges=edges))
    return path


def compare(name: str, expected: dict, actual: dict) -> bool:
    identical = True
    for key, values in expected.items():
        values = values.reshape(values.shape[0], -1)
        lava = np.asarray(actual[key]).astype(np.int64).reshape(values.shape)
        differing = int((lava != values).sum())
        print(f"{name} layer {key}: {differing} of {values.size} values differ" + (
            f" (max |difference| {int(np.abs(lava - values).max())})" if differing else ""
        ))
        identical = identical and differing == 0
    return identical


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", type=Path, default=Path(tempfile.gettempdir()) / "nirmlir-lava-venv", help="the Lava environment (built when missing)")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "nirmlir-lava-check", help="folder for netx files and traces")
    parser.add_argument("--steps", type=int, default=200, help="steps of random input for the braille network")
    parser.add_argument("--cnn-steps", type=int, default=30, help="steps of random input for the sinabs CNN")
    parser.add_argument("--cases", default="lif,braille,cnn,delay", help="comma-separated cases to run")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    build_venv(args.venv)
    runner = args.workdir / "run_netx.py"
    runner.write_text(RUNNER)

    corpus = SHARED / "corpus" / "real"
    golden = np.loadtxt(SHARED / "corpus" / "golden" / "lif" / "lif_lava_cpu_fixed.csv", delimiter=",")
    rng = np.random.default_rng(0)
    cases = [
        (
            "lif",
            corpus / "neuromorphs-NIR__lif_norse.nir",
            "lower-to-loihi2{dt=1e-4 voltage-scale=16000 decay-rounding=toward_zero}",
            golden[:, :1].astype(np.int64),
        ),
        (
            "braille",
            corpus / "neuromorphs-NIR__braille_noDelay_bias_zero.nir",
            "lower-to-loihi2{dt=1e-4}",
            (rng.random((args.steps, 12)) < 0.3).astype(np.int64),
        ),
        (
            "cnn",
            corpus / "neuromorphs-NIR__cnn_sinabs.nir",
            "lower-to-loihi2{dt=1e-4}",
            (rng.random((args.cnn_steps, 2, 34, 34)) < 0.2).astype(np.int64),
        ),
        (
            "delay",
            write_delay_model(args.workdir / "delay.nir", rng),
            "lower-to-loihi2{dt=1e-4}",
            (rng.random((args.steps, 12)) < 0.3).astype(np.int64),
        ),
    ]
    identical = True
    for name, model, options, spikes in cases:
        if name not in args.cases.split(","):
            continue
        netx_path, expected = nirmlir_case(name, model, options, spikes, args.workdir)
        input_path = args.workdir / f"{name}_input.npy"
        output_path = args.workdir / f"{name}_lava.npz"
        np.save(input_path, spikes)
        result = run([str(venv_python(args.venv)), str(runner), str(netx_path), str(input_path), str(output_path)],
                     stdout=subprocess.PIPE, text=True)
        print(result.stdout.strip().splitlines()[-1])
        identical = compare(name, expected, dict(np.load(output_path))) and identical
    print("bit-exact" if identical else "DIFFERENT")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())

"""Time whole `nir-opt` processes: start-up, small lit cases, and the paper CNN against snn-mlir.

Every row is one command run as a child process. Each of `--repeat` rounds runs every
command once, in the same order, and the table gives the median wall time, the median CPU
time (user plus system, from `os.wait4`) and the peak RSS. The rows:

- `python -c pass` and `python -c "import xdsl.ir"`: the interpreter alone, and the bare
  xDSL import that the lit target is measured against;
- `nir-opt --help`, which imports neither xDSL nor numpy;
- two commands from the lit tests: printing `lit_tests/nir/ops.mlir` and discretizing
  `lit_tests/passes/discretize.mlir`;
- `nir-opt --lower-to-fixedpoint` on `neuromorphs-NIR__cnn_sinabs.nir` from the shared
  corpus, writing the fxp text to a file, against snn-mlir 1.0.0 exporting the same file
  with `snn_mlir.to_mlir(path, quantize=True)` and writing its text to a file.
  snn-mlir reads the file with nir 1.0.8 and emits int8 weights and Q12 states without
  verifying the graph, checking value ranges or writing a report.

nirmlir's bytecode is written before the first run, as an install writes it.

Run: `python bench/bench_startup.py [--repeat 9] [--json results.json]`.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path

from benchlib import (
    CNN_PATH,
    REPO_ROOT,
    compile_bytecode,
    format_seconds,
    median_processes,
    tool_command,
    write_json,
)

SNN_MLIR_EXPORT = (
    "import sys, snn_mlir; open(sys.argv[2], 'w').write(snn_mlir.to_mlir(sys.argv[1], quantize=True))"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="rounds; each runs every command once")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    options = parser.parse_args()

    compile_bytecode()
    nir_opt = tool_command("nir-opt")
    python = [sys.executable]
    lit = REPO_ROOT / "lit_tests"
    with tempfile.TemporaryDirectory() as folder:
        commands = {
            "python -c pass": python + ["-c", "pass"],
            'python -c "import xdsl.ir"': python + ["-c", "import xdsl.ir"],
            "nir-opt --help": nir_opt + ["--help"],
            "nir-opt lit_tests/nir/ops.mlir": nir_opt + [str(lit / "nir" / "ops.mlir")],
            "nir-opt lit_tests/passes/discretize.mlir -p 'discretize{dt=1e-4 preset=norse}'": nir_opt
            + [str(lit / "passes" / "discretize.mlir"), "-p", "discretize{dt=1e-4 preset=norse}"],
        }
        have_cnn = CNN_PATH.exists()
        have_snn_mlir = importlib.util.find_spec("snn_mlir") is not None
        if have_cnn:
            commands["nir-opt --lower-to-fixedpoint cnn_sinabs.nir -o cnn.mlir"] = nir_opt + [
                "--lower-to-fixedpoint", str(CNN_PATH), "-o", str(Path(folder) / "ours.mlir"),
            ]
            if have_snn_mlir:
                commands["snn-mlir 1.0.0: to_mlir(cnn_sinabs.nir, quantize=True) to a file"] = python + [
                    "-c", SNN_MLIR_EXPORT, str(CNN_PATH), str(Path(folder) / "snn_mlir.mlir"),
                ]
        times = median_processes(commands, options.repeat)

    print(f"Medians of {options.repeat} interleaved rounds, one child process per run.\n")
    print("| command | wall | CPU | peak RSS |")
    print("|---|---|---|---|")
    for label, (wall, cpu, rss) in times.items():
        print(f"| `{label}` | {format_seconds(wall)} | {format_seconds(cpu)} | {rss / 2**20:.0f} MiB |")

    labels = list(commands)
    xdsl_import = times[labels[1]][0]
    results = {
        "help_seconds": times[labels[2]][0],
        "xdsl_import_seconds": xdsl_import,
        "lit_print_over_xdsl_seconds": times[labels[3]][0] - xdsl_import,
        "lit_discretize_over_xdsl_seconds": times[labels[4]][0] - xdsl_import,
    }
    print()
    print(
        f"Above the bare xDSL import: printing ops.mlir {format_seconds(results['lit_print_over_xdsl_seconds'])}, "
        f"discretizing {format_seconds(results['lit_discretize_over_xdsl_seconds'])}."
    )
    if have_cnn and have_snn_mlir:
        ours, theirs = times[labels[5]][0], times[labels[6]][0]
        results["cnn_lowering_seconds"] = ours
        results["cnn_snn_mlir_seconds"] = theirs
        print(
            f"CNN to fixed point: snn-mlir / nir-opt wall time = {theirs / ours:.2f}x "
            f"(CPU {times[labels[6]][1] / times[labels[5]][1]:.2f}x)."
        )
    elif not have_cnn:
        print(f"Skipped the CNN rows: {CNN_PATH} not found; set NIRMLIR_SHARED.")
    else:
        print("Skipped snn-mlir: it is not installed (pip install -e '.[peers]').")
    write_json(options.json, results)


if __name__ == "__main__":
    main()

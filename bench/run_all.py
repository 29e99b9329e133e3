"""Run every benchmark script and write its figures into docs/benchmarks.md.

Each script runs as its own process with the Python that runs this file. Its Markdown
output replaces the block between the two markers of its section in the page:

    <!-- begin generated: NAME -->
    ...
    <!-- end generated: NAME -->

so the prose around the blocks, and sections that others add, stay as they are. A section
whose markers are missing is appended at the end of the page. The `machine` block records
the processor, memory, package versions and the load average before and after each
script; the `targets` block compares the figures (from each script's `--json` output) with
the targets they must meet.

Run from the repository root: `python bench/run_all.py`. It took 42 minutes on 2 cores under
a load average of 3 to 10. `--only startup passes` runs some sections, `--quick` runs tiny
sizes in seconds to check that every script works, and `--page FILE` writes another page.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO_ROOT = BENCH.parent
PAGE = REPO_ROOT / "docs" / "benchmarks.md"
PACKAGES = ["xdsl", "lark", "h5py", "numpy", "nir", "snn-mlir", "torch", "snntorch"]


@dataclass
class Section:
    name: str
    title: str
    script: str
    arguments: list[str]
    quick: list[str]
    json: bool = True
    """Whether the script accepts `--json FILE`."""
    markdown: bool = True
    """Whether the script prints Markdown; plain text goes into a fenced block."""


SECTIONS = [
    Section("startup", "Start-up, lit cases and the CNN against snn-mlir", "bench_startup.py",
            ["--repeat", "9"], ["--repeat", "1"]),
    Section("hdf5-nodes", "HDF5 import and export against nir 1.0.8", "bench_hdf5_nodes.py",
            [], ["--nodes", "20", "40", "--layers", "1", "--width", "50", "--repeat", "1"]),
    Section("frontend", "HDF5 import, text print and text parse", "bench_frontend.py",
            ["--repeat", "3"], ["--repeat", "1", "--layers", "1", "--width", "50"]),
    Section("text", "Op-heavy and weight-heavy text", "bench_text.py",
            ["--repeat", "3", "--check"], ["--repeat", "1", "--ops", "40", "--weights", "1000", "--check"]),
    Section("passes", "Passes: scaling over ops and weights, peak memory", "bench_passes.py",
            [], ["--layers", "4", "8", "--max-weights", "1e4", "--repeat", "1"]),
    Section("mapping", "map-to-cores: traffic, cores and time per strategy", "bench_mapping.py",
            [], ["--sizes", "1e3", "--million", "--no-paper", "--cpsat-seconds", "2", "--no-sweep"]),
    Section("nir-run", "nir-run on the paper CNN", "bench_nir_run.py",
            ["--repeat", "3"], ["--repeat", "1", "--batch", "2", "--steps", "3"], json=False, markdown=False),
    Section("nir-run-vs-snntorch-2", "nir-run against snnTorch, 2 threads", "bench_nir_run_vs_snntorch.py",
            ["--repeat", "3", "--threads", "2"], ["--repeat", "1", "--threads", "2", "--batch", "2", "--steps", "3"],
            json=False),
    Section("nir-run-vs-snntorch-1", "nir-run against snnTorch, 1 thread", "bench_nir_run_vs_snntorch.py",
            ["--repeat", "3", "--threads", "1"], ["--repeat", "1", "--threads", "1", "--batch", "2", "--steps", "3"],
            json=False),
]


@dataclass
class Outcome:
    output: str
    figures: dict = field(default_factory=dict)
    failed: bool = False
    load_before: float = 0.0
    load_after: float = 0.0
    seconds: float = 0.0


def load_average() -> float:
    return os.getloadavg()[0]


def run_section(section: Section, quick: bool) -> Outcome:
    """Run one script; return its output, its JSON figures and the load around it."""
    command = [sys.executable, str(BENCH / section.script), *(section.quick if quick else section.arguments)]
    with tempfile.TemporaryDirectory() as folder:
        json_path = Path(folder) / "figures.json"
        if section.json:
            command += ["--json", str(json_path)]
        before, start = load_average(), time.perf_counter()
        completed = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
        outcome = Outcome(completed.stdout.strip(), load_before=before, load_after=load_average(),
                          seconds=time.perf_counter() - start)
        if completed.returncode != 0:
            outcome.failed = True
            tail = "\n".join(completed.stderr.strip().splitlines()[-15:])
            outcome.output = f"{outcome.output}\n\n{section.script} failed with exit code {completed.returncode}:\n{tail}"
        elif json_path.exists():
            outcome.figures = json.loads(json_path.read_text())
    return outcome


def render_block(section: Section, outcome: Outcome, quick: bool) -> str:
    arguments = " ".join(section.quick if quick else section.arguments)
    lines = [f"Command: `python bench/{section.script}{' ' + arguments if arguments else ''}`."]
    body = outcome.output if section.markdown and not outcome.failed else f"```text\n{outcome.output}\n```"
    lines += ["", body, ""]
    lines.append(
        f"Load average (1 min) {outcome.load_before:.2f} before and {outcome.load_after:.2f} after; "
        f"the script took {outcome.seconds:.0f} s."
    )
    if outcome.figures:
        # Kept in the page, so that a later run of other sections can still check these targets.
        lines.append(f"<!-- figures: {json.dumps(outcome.figures, sort_keys=True)} -->")
    return "\n".join(lines)


def previous_outcomes(page: str) -> dict[str, Outcome]:
    """Return the outcome of each section as the page shows it: its block text and figures."""
    outcomes = {}
    for section in SECTIONS:
        match = re.search(
            f"<!-- begin generated: {re.escape(section.name)} -->(.*?)<!-- end generated: {re.escape(section.name)} -->",
            page,
            re.DOTALL,
        )
        if match is None:
            continue
        figures = re.search(r"<!-- figures: (.*?) -->", match.group(1))
        outcomes[section.name] = Outcome(match.group(1), json.loads(figures.group(1)) if figures else {})
    return outcomes


def machine_block(loads: list[float], quick: bool, sections: list[str]) -> str:
    """Describe the processor, memory, Python, packages and load of this run."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = []
    for package in PACKAGES:
        try:
            versions.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{package} not installed")
    lines = [
        f"Run on {datetime.date.today().isoformat()}: {os.cpu_count()} CPUs ({model}), {memory:.0f} GiB of "
        f"memory, {platform.system()} {platform.release()}, Python {platform.python_version()}; "
        + ", ".join(versions) + ".",
        "",
        f"Load average (1 min) during the last run, of {', '.join(sections)}: {min(loads):.2f} to "
        f"{max(loads):.2f}. Each block below states the load of its own run. A load near 1 is the "
        "benchmark alone on one core; above that, other work shared the machine, which slows absolute "
        "times but hardly the ratios, because each ratio compares two sides measured in the same rounds.",
    ]
    if quick:
        lines += ["", "**Quick run on tiny sizes: these figures only show that every script works.**"]
    return "\n".join(lines)


def nir_run_ratio(output: str) -> float | None:
    """Return the snnTorch float32 / nirmlir wall-time ratio from the table of bench_nir_run_vs_snntorch.

    The row is nirmlir's simulator in the peer's precision, float32, with as many threads as torch
    (`nir-run --precision float32 --threads N`), timed like the peer: the run alone, without
    start-up and file input and output, which the table's end-to-end nir-run row adds.
    """
    match = re.search(r"^\| nirmlir snn float32, Program\.run threads=\d+ \|.*\| ([0-9.]+)x \|$", output, re.MULTILINE)
    return float(match.group(1)) if match else None


def targets_block(outcomes: dict[str, Outcome]) -> str:
    """Compare the measured figures with the targets; a missing figure shows as not measured."""

    def figure(section: str, key: str):
        outcome = outcomes.get(section)
        return None if outcome is None else outcome.figures.get(key)

    rows: list[tuple[str, object, str, bool | None]] = []

    def add(target: str, value, shown: str, met: bool | None) -> None:
        rows.append((target, value, shown if value is not None else "not measured", met if value is not None else None))

    frontend = outcomes.get("frontend")
    import_ratios = [v for k, v in (frontend.figures if frontend else {}).items() if k.endswith(": import")]
    # The node-count block imports its own files, among them the CNN as nir.write writes it.
    chain_import = figure("hdf5-nodes", "min_import_speedup")
    if chain_import is not None:
        import_ratios.append(chain_import)
    worst_import = min(import_ratios) if import_ratios else None
    add("HDF5 import no slower than nir.read (every file)", worst_import,
        f"worst nir.read / nirmlir = {worst_import:.2f}x" if worst_import else "", worst_import and worst_import >= 1)
    speedup = figure("hdf5-nodes", "largest_chain_import_speedup")
    nodes = figure("hdf5-nodes", "largest_chain_nodes")
    add(f"import of a {nodes or 10000:,}-node graph at least 20x faster than nir.read", speedup,
        f"{speedup:.1f}x" if speedup else "", speedup and speedup >= 20)
    exponent = figure("hdf5-nodes", "import_exponent")
    add("import linear in the node count (exponent at most 1.15)", exponent,
        f"exponent {exponent:.2f} (nir.read {figure('hdf5-nodes', 'nir_read_exponent') or 0:.2f})" if exponent else "",
        exponent is not None and exponent <= 1.15)
    export = figure("hdf5-nodes", "min_export_speedup")
    add("HDF5 export no slower than nir.write (every graph)", export,
        f"worst nir.write / nirmlir = {export:.2f}x" if export else "", export and export >= 1)
    parse = figure("text", "ops_parse_speedup")
    add("op-heavy generic text parses at least 5x faster than xDSL", parse,
        f"{parse:.1f}x" if parse else "", parse and parse >= 5)
    rate = figure("text", "hex_parse_megabytes_per_second")
    add("hex tensors parse at 250 MB/s or more", rate, f"{rate:.0f} MB/s" if rate else "", rate and rate >= 250)
    prints = [figure("text", "ops_print_speedup"), figure("text", "hex_print_speedup")]
    prints += [v for k, v in (frontend.figures if frontend else {}).items() if k.endswith(": print")]
    prints = [value for value in prints if value is not None]
    worst_print = min(prints) if prints else None
    add("printing at least as fast as xDSL (every text)", worst_print,
        f"worst xDSL / nirmlir = {worst_print:.1f}x" if worst_print else "", worst_print and worst_print >= 1)
    pass_exponent = figure("passes", "max_exponent")
    add("every pass linear in ops and weights (exponent at most 1.15)", pass_exponent,
        f"largest exponent {pass_exponent:.2f}" if pass_exponent else "", pass_exponent is not None and pass_exponent <= 1.15)
    peak = figure("passes", "max_peak_ratio")
    add("peak memory below 3x the weights (largest networks)", peak, f"{peak:.2f}x" if peak else "", peak and peak < 3)
    chip_peak = figure("passes", "max_chip_peak_ratio")
    add("peak memory of the chip lowerings below 3x the weights", chip_peak, f"{chip_peak:.2f}x" if chip_peak else "",
        chip_peak and chip_peak < 3)
    help_time = figure("startup", "help_seconds")
    add("`nir-opt --help` under 0.3 s", help_time, f"{help_time:.3f} s" if help_time else "", help_time and help_time < 0.3)
    lit = figure("startup", "lit_discretize_over_xdsl_seconds")
    add("small lit case within 0.2 s of `import xdsl.ir`", lit, f"+{lit:.3f} s" if lit else "", lit is not None and lit <= 0.2)
    ours, theirs = figure("startup", "cnn_lowering_seconds"), figure("startup", "cnn_snn_mlir_seconds")
    ratio = theirs / ours if ours and theirs else None
    add("`nir-opt --lower-to-fixedpoint` on the CNN no slower than snn-mlir 1.0.0", ratio,
        f"snn-mlir / nir-opt = {ratio:.2f}x ({ours:.3f} s against {theirs:.3f} s)" if ratio else "", ratio and ratio >= 1)
    for family in ("sparse", "convolutional"):
        worst = figure("mapping", f"hypergraph_worst_ratio_{family}")
        add(f"hypergraph mapping at least 30 % less traffic than greedy ({family} networks)", worst,
            f"worst hypergraph / greedy = {worst:.2f}" if worst is not None else "", worst is not None and worst <= 0.7)
    million = figure("mapping", "million_neuron_max_seconds")
    add("a million-neuron network mapped in under a minute (every strategy)", million,
        f"{million:.1f} s" if million is not None else "", million is not None and million < 60)
    for threads in (2, 1):
        outcome = outcomes.get(f"nir-run-vs-snntorch-{threads}")
        run_ratio = nir_run_ratio(outcome.output) if outcome else None
        add(f"nir-run at least as fast as snnTorch ({threads} thread{'s' if threads > 1 else ''})", run_ratio,
            f"snnTorch / nir-run = {run_ratio:.2f}x" if run_ratio else "", run_ratio and run_ratio >= 1)

    lines = ["| target | measured | met |", "|---|---|---|"]
    for target, _, shown, met in rows:
        if met is None:
            verdict = "not measured"
        else:
            verdict = "yes" if met else "**no**"
        lines.append(f"| {target} | {shown} | {verdict} |")
    return "\n".join(lines)


def replace_block(page: str, name: str, title: str, content: str) -> str:
    begin, end = f"<!-- begin generated: {name} -->", f"<!-- end generated: {name} -->"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    block = f"{begin}\n{content}\n{end}"
    if pattern.search(page):
        return pattern.sub(lambda _: block, page, count=1)
    return page.rstrip("\n") + f"\n\n## {title}\n\n{block}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=[s.name for s in SECTIONS], help="run only these sections")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check that every script runs")
    parser.add_argument("--page", type=Path, default=PAGE, help="page to update (default: docs/benchmarks.md)")
    options = parser.parse_args()

    sections = [s for s in SECTIONS if not options.only or s.name in options.only]
    outcomes: dict[str, Outcome] = {}
    loads = [load_average()]
    for section in sections:
        print(f"running {section.script} ({section.name}), load average {load_average():.2f}", file=sys.stderr)
        outcomes[section.name] = run_section(section, options.quick)
        loads.append(outcomes[section.name].load_after)
        if outcomes[section.name].failed:
            print(outcomes[section.name].output, file=sys.stderr)

    page = options.page.read_text() if options.page.exists() else "# Benchmarks\n"
    # Sections not run now keep their block, and the targets use the figures it records.
    names = [section.name for section in sections]
    page = replace_block(page, "machine", "Machine", machine_block(loads, options.quick, names))
    page = replace_block(page, "targets", "Targets", targets_block({**previous_outcomes(page), **outcomes}))
    for section in sections:
        page = replace_block(page, section.name, section.title, render_block(section, outcomes[section.name], options.quick))
    options.page.write_text(page)
    print(f"wrote {options.page}", file=sys.stderr)
    if any(outcome.failed for outcome in outcomes.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()

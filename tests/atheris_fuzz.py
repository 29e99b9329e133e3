"""Coverage-guided fuzzing of the text parser and the HDF5 importer with atheris (libFuzzer).

The hypothesis tests in test_fuzz_mutations.py run fixed byte mutations in CI. This harness runs
the same checks under libFuzzer's coverage feedback for as long as you let it, outside CI:

    pip install -e .[test,fuzz]
    python tests/atheris_fuzz.py text -max_total_time=600 -seed=1
    python tests/atheris_fuzz.py hdf5 -max_total_time=600 -seed=1

Each input is parsed (or imported), verified, printed and, at the nir level, lowered to fixed
point, as the tools do. A DiagnosticError is an accepted outcome. Any other exception is a
crash, which libFuzzer reports with the input that caused it (saved as crash-<hash>); keep that
input as a regression case in test_fuzz_regressions.py. The valid seeds of the CI fuzz tests
start the corpus. Extra arguments go to libFuzzer (`-help=1` lists them).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))

with atheris.instrument_imports():
    from nirmlir.diagnostics import DiagnosticError, DiagnosticWarning
    from test_fuzz_mutations import run_hdf5, run_text

from mutations import hdf5_seeds, text_seeds  # noqa: E402

CHECKS = {"text": (run_text, text_seeds), "hdf5": (run_hdf5, hdf5_seeds)}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in CHECKS:
        sys.exit(f"usage: {sys.argv[0]} {{text|hdf5}} [libFuzzer options]")
    check, seeds = CHECKS[sys.argv.pop(1)]
    warnings.simplefilter("ignore", DiagnosticWarning)

    def one_input(data: bytes) -> None:
        try:
            check(data)
        except DiagnosticError:
            pass

    # libFuzzer reads a seed corpus from folders given on the command line; write the seeds to one.
    corpus = Path(f".atheris-{check.__name__}-seeds")
    corpus.mkdir(exist_ok=True)
    for index, seed in enumerate(seeds()):
        (corpus / f"seed{index}").write_bytes(seed)
    atheris.Setup(sys.argv + [str(corpus)], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()

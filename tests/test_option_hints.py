"""Hints in the chip lowerings' messages name only options of the pass that raises them.

A hint such as ``use integrator=exp_euler`` must be an option of the pass the user ran, or
say which pass has it (``discretize with preset=lava``, ``quantize{state-bits=16}`` or the
``(an option of ...)`` that `option_hint` adds), because nir-opt rejects an option that the
pass lacks.
"""

from __future__ import annotations

import ast
import re
import warnings
from pathlib import Path

import pytest

from nirmlir.context import make_context
from nirmlir.diagnostics import DiagnosticError, DiagnosticWarning
from nirmlir.hdf5 import import_nir
from nirmlir.option_hints import option_hint, pass_options
from nirmlir.pipeline import run_pass_pipeline
from nirmlir.registry import available_passes, load_pass

REPO = Path(__file__).resolve().parents[1]
RNN = REPO / "examples" / "rnn.nir"
PASS_OPTIONS = {name: pass_options(load_pass(name)) for name in available_passes()}
EVERY_OPTION = frozenset().union(*PASS_OPTIONS.values())
CHIP_LOWERINGS = [name for name in PASS_OPTIONS if name.startswith("lower-to-") and name != "lower-to-fixedpoint"]
# An option assignment (``dt=1e-4``), or a bare option name with a dash (``raise state-bits``).
OPTION = re.compile(r"(?<![\w.-])([a-z][a-z0-9]*(?:-[a-z0-9]+)*)(=?)")


def foreign_options(text: str, running: str) -> list[str]:
    """Return the options a hint in ``text`` tells the user to set that ``running`` does not accept
    and that the hint does not attribute to a pass which accepts them."""
    foreign = []
    for match in OPTION.finditer(text):
        option, assignment = match.groups()
        if option not in EVERY_OPTION or (not assignment and "-" not in option):
            continue
        if option in PASS_OPTIONS[running]:
            continue
        # The hint names the pass that has the option: 'discretize with preset=lava (synapse-delay=1)',
        # 'quantize{state-bits=16}' or 'state-bits (an option of quantize ...'.
        clause = text[: match.start()].rsplit(";", 1)[-1]
        after = text[match.end() :].split(";", 1)[0]
        owners = re.findall(r"([a-z][a-z0-9-]*)(?: with |\{)", clause)
        owners += re.findall(r"^\S* \(an option of ([a-z0-9-]+)(?: and ([a-z0-9-]+))?", after)
        flat = {name for group in owners for name in ((group,) if isinstance(group, str) else group) if name}
        if not any(option in PASS_OPTIONS.get(name, ()) for name in flat):
            foreign.append(option)
    return foreign


def source_strings(path: Path) -> list[str]:
    """Return the string literals of a source file, with ``{}`` for each f-string field."""
    texts = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.JoinedStr):
            texts.append("".join(str(part.value) if isinstance(part, ast.Constant) else "{}" for part in node.values))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            texts.append(node.value)
    return texts


def test_chip_lowerings_are_found() -> None:
    assert {"lower-to-xylo", "lower-to-speck", "lower-to-loihi2", "lower-to-spinnaker2"} <= set(CHIP_LOWERINGS)


def test_foreign_options_detects_wrong_hint() -> None:
    assert foreign_options("use a smaller dt or integrator=exp_euler", "lower-to-xylo") == ["integrator"]
    assert foreign_options("raise state-bits, or check dt", "lower-to-xylo") == ["state-bits"]
    assert foreign_options("use a smaller dt or integrator=exp_euler", "lower-to-spinnaker2") == []
    assert foreign_options("discretize with preset=lava (synapse-delay=1)", "lower-to-loihi2") == []


@pytest.mark.parametrize("lowering", CHIP_LOWERINGS)
def test_lowering_source_hints_name_own_options(lowering) -> None:
    path = REPO / "passes" / (lowering.replace("-", "_") + ".py")
    assert path.exists(), f"no source file {path} for {lowering}"
    wrong = {text: foreign_options(text, lowering) for text in source_strings(path)}
    assert {text: options for text, options in wrong.items() if options} == {}


@pytest.mark.parametrize(
    ("pipeline", "message"),
    [
        # discretize's hint about the integrator, raised inside chip lowerings without that option.
        ("lower-to-loihi2{dt=1}", "integrator=exp_euler (an option of discretize and lower-to-fixedpoint, which lower-to-loihi2 does not have"),
        ("lower-to-xylo{dt=0.5 preset=norse}", "integrator=exp_euler (an option of discretize and lower-to-fixedpoint, which lower-to-xylo does not have"),
        # quantize's hint about state-bits, raised inside lower-to-xylo.
        ("lower-to-xylo{dt=1}", "raise state-bits (an option of quantize and lower-to-fixedpoint, which lower-to-xylo does not have"),
        # lower-to-spinnaker2 has an integrator option, so the hint stays plain.
        ("lower-to-spinnaker2{dt=1}", "use a smaller dt or integrator=exp_euler"),
        ("lower-to-fixedpoint{dt=1}", "use a smaller dt or integrator=exp_euler"),
    ],
)
def test_inner_pass_hint_names_owner(pipeline: str, message: str) -> None:
    module = import_nir(RNN, make_context())
    with warnings.catch_warnings(), pytest.raises(DiagnosticError) as raised:
        warnings.simplefilter("ignore", DiagnosticWarning)
        run_pass_pipeline(module, pipeline)
    assert message in raised.value.message
    assert foreign_options(raised.value.message, pipeline.split("{")[0]) == []


def test_hint_outside_pass_manager_is_plain() -> None:
    assert option_hint("integrator=exp_euler", "discretize", "lower-to-fixedpoint") == "integrator=exp_euler"

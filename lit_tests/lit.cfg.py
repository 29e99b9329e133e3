"""lit configuration: FileCheck tests of nir-opt and nir-translate.

Run from the repository root with `lit -sv lit_tests` in an environment where nirmlir,
lit and filecheck are installed. The tools are found next to the Python that runs lit.
"""

import os
import sys

import lit.formats

config.name = "nirmlir"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "lit.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.test_source_root, "Output")

repository = os.path.dirname(config.test_source_root)
config.environment["PATH"] = os.pathsep.join(
    [os.path.dirname(sys.executable), os.environ.get("PATH", "/usr/bin:/bin")]
)
config.substitutions.append(("%examples", os.path.join(repository, "examples")))

# The real-file corpus lives outside the repository. Tests that need it declare
# `REQUIRES: shared` and are reported unsupported when it is absent, unless
# NIRMLIR_REQUIRE_SHARED=1 makes its absence an error.
shared = os.path.abspath(
    os.environ.get("NIRMLIR_SHARED", os.path.join(repository, "..", "shared"))
)
if os.path.isdir(os.path.join(shared, "corpus", "real")):
    config.available_features.add("shared")
    config.substitutions.append(("%corpus", os.path.join(shared, "corpus", "real")))
elif os.environ.get("NIRMLIR_REQUIRE_SHARED") == "1":
    lit_config.fatal(f"NIRMLIR_REQUIRE_SHARED=1 but no corpus at {shared}/corpus/real")

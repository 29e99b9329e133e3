"""lit configuration of the example plugin's tests: FileCheck tests of its passes through nir-opt.

Run `lit -v tests` from the plugin's folder in an environment where nirmlir, lit, filecheck
and the plugin are installed. nir-opt is found next to the Python that runs lit.
"""

import os
import sys

import lit.formats

config.name = "nirmlir-example-plugin"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.test_source_root, "Output")

config.environment["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "/usr/bin:/bin")])
# A plugin installed with `pip install --target DIR` is found through PYTHONPATH, which lit
# does not pass on by itself.
if "PYTHONPATH" in os.environ:
    config.environment["PYTHONPATH"] = os.environ["PYTHONPATH"]

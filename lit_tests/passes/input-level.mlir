// A pass given graphs of another dialect rejects the module instead of doing nothing.
// RUN: nir-opt %s -p quantize --verify-diagnostics
// RUN: nir-opt %s -p 'discretize{dt=1e-4}' | not nir-opt -p 'discretize{dt=1e-4}' 2>&1 | filecheck %s --check-prefix=TWICE

// expected-error @+1 {{quantize takes the snn dialect; this module contains nir.graph @main; run discretize first}}
nir.graph @main {
  %input = nir.input "input" : tensor<1xf32>
  nir.output "output"(%input) : tensor<1xf32>
}

// TWICE: <stdin>:2:3: error: discretize takes the nir dialect; this module contains snn.graph @main, which is already discretized

// Pass diagnostics point at the op they are about, so --verify-diagnostics matches them
// on its line: the graph for the input level and dt, the node for node errors.
// RUN: nir-opt %s -p lower-to-fixedpoint --split-input-file --verify-diagnostics

// Without dt from the options or the metadata, the pipeline warns and uses 1e-4 s.
// expected-warning @+1 {{no dt given for graph @main; using dt=0.0001 s}}
nir.graph @main {
  %input = nir.input "input" : tensor<1xf32>
  %lif = nir.lif "lif"(%input) {tau = dense<0.01> : tensor<1xf32>, r = dense<1.0> : tensor<1xf32>, v_leak = dense<0.0> : tensor<1xf32>, v_threshold = dense<1.0> : tensor<1xf32>, v_reset = dense<0.0> : tensor<1xf32>} : tensor<1xf32>
  nir.output "output"(%lif) : tensor<1xf32>
}

// -----

// A metadata dt that is not a number is an error, not a reason to use the default.
// expected-error @+1 {{graph @main has metadata dt "abc", which is not a number of seconds}}
nir.graph @main attributes {metadata = {dt = "abc"}} {
  %input = nir.input "input" : tensor<1xf32>
  nir.output "output"(%input) : tensor<1xf32>
}

// -----

// expected-error @+1 {{graph @main has metadata dt true, which is not a number of seconds}}
nir.graph @main attributes {metadata = {dt = true}} {
  %input = nir.input "input" : tensor<1xf32>
  nir.output "output"(%input) : tensor<1xf32>
}

// -----

// A node error of discretize is reported on the node's line.
nir.graph @main attributes {metadata = {dt = 1.0e-03 : f64}} {
  %input = nir.input "input" : tensor<1xf32>
  // expected-error @+1 {{node 'fast': 'tau' 0.0005 s is shorter than dt 0.001 s}}
  %fast = nir.lif "fast"(%input) {tau = dense<0.0005> : tensor<1xf32>, r = dense<1.0> : tensor<1xf32>, v_leak = dense<0.0> : tensor<1xf32>, v_threshold = dense<1.0> : tensor<1xf32>, v_reset = dense<0.0> : tensor<1xf32>} : tensor<1xf32>
  nir.output "output"(%fast) : tensor<1xf32>
}

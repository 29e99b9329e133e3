// A graph over the limit is an error located at the graph.
// RUN: nir-opt %s -p 'count-neurons{max-neurons=3}' --verify-diagnostics

// expected-error@+1 {{graph @main has 4 neurons, more than max-neurons=3}}
nir.graph @main {
  %input = nir.input "input" : tensor<4xf32>
  %lif = nir.lif "lif"(%input) {tau = dense<0.0025> : tensor<4xf32>, r = dense<1.0> : tensor<4xf32>, v_leak = dense<0.0> : tensor<4xf32>, v_threshold = dense<0.1> : tensor<4xf32>, v_reset = dense<0.0> : tensor<4xf32>} : tensor<4xf32>
  nir.output "output"(%lif) : tensor<4xf32>
}

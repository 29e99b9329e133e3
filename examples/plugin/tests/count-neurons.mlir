// count-neurons attaches the number of neurons of each graph, at every level.
// RUN: nir-opt %s -p count-neurons | filecheck %s
// RUN: nir-opt %s -p 'count-neurons{attribute=size summary=true}' | filecheck %s --check-prefix=SUMMARY
// RUN: nir-opt %s -p 'lower-to-fixedpoint{dt=1e-4},count-neurons' | filecheck %s --check-prefix=FXP

// CHECK-LABEL: nir.graph @main attributes {neurons = 6 : i64}
// CHECK-LABEL: nir.graph @empty attributes {neurons = 0 : i64}

// SUMMARY-LABEL: nir.graph @main attributes {size = 6 : i64}
// SUMMARY:       "neurostats.count"() <{graph = @main, neurons = 6 : i64}> : () -> ()
// SUMMARY-NEXT:  "neurostats.count"() <{graph = @empty, neurons = 0 : i64}> : () -> ()

// FXP-LABEL: fxp.graph @main attributes {dt = 0.0001 : f64, neurons = 6 : i64}
nir.graph @main {
  %input = nir.input "input" : tensor<2xf32>
  %fc = nir.affine "fc"(%input) {weight = dense<1.0> : tensor<4x2xf32>, bias = dense<0.0> : tensor<4xf32>} : tensor<2xf32> -> tensor<4xf32>
  %lif = nir.lif "lif"(%fc) {tau = dense<0.0025> : tensor<4xf32>, r = dense<1.0> : tensor<4xf32>, v_leak = dense<0.0> : tensor<4xf32>, v_threshold = dense<0.1> : tensor<4xf32>, v_reset = dense<0.0> : tensor<4xf32>} : tensor<4xf32>
  %out = nir.affine "out"(%lif) {weight = dense<1.0> : tensor<2x4xf32>, bias = dense<0.0> : tensor<2xf32>} : tensor<4xf32> -> tensor<2xf32>
  %li = nir.li "li"(%out) {tau = dense<0.0025> : tensor<2xf32>, r = dense<1.0> : tensor<2xf32>, v_leak = dense<0.0> : tensor<2xf32>} : tensor<2xf32>
  nir.output "output"(%li) : tensor<2xf32>
}
nir.graph @empty {
  %input = nir.input "input" : tensor<2xf32>
  nir.output "output"(%input) : tensor<2xf32>
}

// Every use of a value states its type; a use with another type is a parse error.
// RUN: nir-opt %s --split-input-file --verify-diagnostics

// The node form's input type must be the operand's type.
nir.graph @main {
  %input = nir.input "input" : tensor<2xf32>
  // expected-error @+1 {{value '%input' has type tensor<2xf32> but is used with type tensor<9xf32>}}
  %fc = nir.affine "fc"(%input) {weight = dense<1.0> : tensor<3x2xf32>, bias = dense<0.0> : tensor<3xf32>} : tensor<9xf32> -> tensor<3xf32>
  nir.output "output"(%fc) : tensor<3xf32>
}

// -----

// An element type that differs is a different type.
nir.graph @main {
  %input = nir.input "input" : tensor<3xf32>
  // expected-error @+1 {{value '%input' has type tensor<3xf32> but is used with type tensor<3xf64>}}
  nir.output "output"(%input) : tensor<3xf64>
}

// -----

// Every operand is checked, not only the first.
nir.graph @main {
  %a = nir.input "a" : tensor<2xf32>
  %b = nir.input "b" : tensor<3xf32>
  // expected-error @+1 {{value '%b' has type tensor<3xf32> but is used with type tensor<2xf32>}}
  %s = nir.scale "s"(%a, %b) {scale = dense<1.0> : tensor<2xf32>} : tensor<2xf32>
  nir.output "output"(%s) : tensor<2xf32>
}

// -----

// A recurrent edge is checked when its source is defined.
nir.graph @main {
  %input = nir.input "input" : tensor<2xf32>
  // expected-note @+1 {{previously used here with type tensor<2xf32>}}
  %fc = nir.affine "fc"(%input, %lif) {weight = dense<1.0> : tensor<2x2xf32>, bias = dense<0.0> : tensor<2xf32>} : tensor<2xf32>
  // expected-error @+1 {{value '%lif' is defined with type tensor<3xf32> but was used with type tensor<2xf32>}}
  %lif = nir.lif "lif"(%fc) {tau = dense<0.01> : tensor<3xf32>, r = dense<1.0> : tensor<3xf32>, v_leak = dense<0.0> : tensor<3xf32>, v_threshold = dense<1.0> : tensor<3xf32>, v_reset = dense<0.0> : tensor<3xf32>} : tensor<2xf32> -> tensor<3xf32>
  nir.output "output"(%lif) : tensor<3xf32>
}

// One case per verifier rule of the spinnaker2 dialect.
// RUN: nir-opt %s --split-input-file --verify-diagnostics

// Weights are int8.
spinnaker2.graph @g attributes {dt = 0.0001 : f64, sys_tick = 0.001 : f64} {
  %in = spinnaker2.input "in" {atoms_per_core = 256 : i64} : tensor<2xf32>
  // expected-error @+1 {{'spinnaker2.projection' op node 'p': 'weight' has 200, 73 above the chip's maximum 127; lower weight-scale in lower-to-spinnaker2 (weight-scale=auto maps the largest weight to 127)}}
  %p = spinnaker2.projection "p"(%in) {weight = dense<[[200, 0], [0, 1]]> : tensor<2x2xi32>, delay = dense<0> : tensor<2x2xi32>} : tensor<2xf32>
  %lif = spinnaker2.lif "lif"(%p) {threshold = dense<1.0> : tensor<2xf32>, alpha_decay = dense<0.9> : tensor<2xf32>, i_offset = dense<0.0> : tensor<2xf32>, v_reset = dense<0.0> : tensor<2xf32>, reset = "reset_to_v_reset", v_scale = dense<1.0> : tensor<2xf64>, atoms_per_core = 256 : i64} : tensor<2xf32>
}

// -----

// Delays are at most MAX_DELAY steps.
spinnaker2.graph @g attributes {dt = 0.0001 : f64, sys_tick = 0.001 : f64} {
  %in = spinnaker2.input "in" {atoms_per_core = 256 : i64} : tensor<2xf32>
  // expected-error @+1 {{'spinnaker2.projection' op node 'p': 'delay' has 9, 2 above the chip's maximum 7; shorten the delays in the model}}
  %p = spinnaker2.projection "p"(%in) {weight = dense<1> : tensor<2x2xi32>, delay = dense<9> : tensor<2x2xi32>} : tensor<2xf32>
  %lif = spinnaker2.lif "lif"(%p) {threshold = dense<1.0> : tensor<2xf32>, alpha_decay = dense<0.9> : tensor<2xf32>, i_offset = dense<0.0> : tensor<2xf32>, v_reset = dense<0.0> : tensor<2xf32>, reset = "reset_to_v_reset", v_scale = dense<1.0> : tensor<2xf64>, atoms_per_core = 256 : i64} : tensor<2xf32>
}

// -----

// A projection's matrices are (post, pre).
spinnaker2.graph @g attributes {dt = 0.0001 : f64, sys_tick = 0.001 : f64} {
  %in = spinnaker2.input "in" {atoms_per_core = 256 : i64} : tensor<2xf32>
  // expected-error @+1 {{'spinnaker2.projection' op node 'p': 'weight' has shape [2, 3]; expected [2, 2] (post, pre)}}
  %p = spinnaker2.projection "p"(%in) {weight = dense<1> : tensor<2x3xi32>, delay = dense<0> : tensor<2x2xi32>} : tensor<2xf32>
  %lif = spinnaker2.lif "lif"(%p) {threshold = dense<1.0> : tensor<2xf32>, alpha_decay = dense<0.9> : tensor<2xf32>, i_offset = dense<0.0> : tensor<2xf32>, v_reset = dense<0.0> : tensor<2xf32>, reset = "reset_to_v_reset", v_scale = dense<1.0> : tensor<2xf64>, atoms_per_core = 256 : i64} : tensor<2xf32>
}

// -----

// Weights are integers.
spinnaker2.graph @g attributes {dt = 0.0001 : f64, sys_tick = 0.001 : f64} {
  %in = spinnaker2.input "in" {atoms_per_core = 256 : i64} : tensor<2xf32>
  // expected-error @+1 {{'spinnaker2.projection' op node 'p': 'weight' has element type f32; expected integers}}
  %p = spinnaker2.projection "p"(%in) {weight = dense<1.0> : tensor<2x2xf32>, delay = dense<0> : tensor<2x2xi32>} : tensor<2xf32>
  %lif = spinnaker2.lif "lif"(%p) {threshold = dense<1.0> : tensor<2xf32>, alpha_decay = dense<0.9> : tensor<2xf32>, i_offset = dense<0.0> : tensor<2xf32>, v_reset = dense<0.0> : tensor<2xf32>, reset = "reset_to_v_reset", v_scale = dense<1.0> : tensor<2xf64>, atoms_per_core = 256 : i64} : tensor<2xf32>
}

// -----

// A projection feeds a neuron population.
spinnaker2.graph @g attributes {dt = 0.0001 : f64, sys_tick = 0.001 : f64} {
  %in = spinnaker2.input "in" {atoms_per_core = 256 : i64} : tensor<2xf32>
  // expected-error @+1 {{'spinnaker2.projection' op node 'p': its result feeds 'spinnaker2.output'; a projection must feed a neuron population}}
  %p = spinnaker2.projection "p"(%in) {weight = dense<1> : tensor<2x2xi32>, delay = dense<0> : tensor<2x2xi32>} : tensor<2xf32>
  spinnaker2.output "out"(%p) : tensor<2xf32>
}

// -----

// Populations receive only projections.
spinnaker2.graph @g attributes {dt = 0.0001 : f64, sys_tick = 0.001 : f64} {
  %in = spinnaker2.input "in" {atoms_per_core = 256 : i64} : tensor<2xf32>
  // expected-error @+1 {{'spinnaker2.lif' op node 'lif': operand 0 is not a projection; a population receives spikes only through projections}}
  %lif = spinnaker2.lif "lif"(%in) {threshold = dense<1.0> : tensor<2xf32>, alpha_decay = dense<0.9> : tensor<2xf32>, i_offset = dense<0.0> : tensor<2xf32>, v_reset = dense<0.0> : tensor<2xf32>, reset = "reset_to_v_reset", v_scale = dense<1.0> : tensor<2xf64>, atoms_per_core = 256 : i64} : tensor<2xf32>
}

// -----

// Parameters are float32, as the ARM cores compute.
spinnaker2.graph @g attributes {dt = 0.0001 : f64, sys_tick = 0.001 : f64} {
  %in = spinnaker2.input "in" {atoms_per_core = 256 : i64} : tensor<2xf32>
  %p = spinnaker2.projection "p"(%in) {weight = dense<1> : tensor<2x2xi32>, delay = dense<0> : tensor<2x2xi32>} : tensor<2xf32>
  // expected-error @+1 {{'spinnaker2.lif' op node 'lif': 'threshold' has element type f64; expected f32, the ARM cores compute in float32}}
  %lif = spinnaker2.lif "lif"(%p) {threshold = dense<1.0> : tensor<2xf64>, alpha_decay = dense<0.9> : tensor<2xf32>, i_offset = dense<0.0> : tensor<2xf32>, v_reset = dense<0.0> : tensor<2xf32>, reset = "reset_to_v_reset", v_scale = dense<1.0> : tensor<2xf64>, atoms_per_core = 256 : i64} : tensor<2xf32>
}

// -----

// Parameters are per neuron.
spinnaker2.graph @g attributes {dt = 0.0001 : f64, sys_tick = 0.001 : f64} {
  %in = spinnaker2.input "in" {atoms_per_core = 256 : i64} : tensor<2xf32>
  %p = spinnaker2.projection "p"(%in) {weight = dense<1> : tensor<2x2xi32>, delay = dense<0> : tensor<2x2xi32>} : tensor<2xf32>
  // expected-error @+1 {{'spinnaker2.lif' op node 'lif': 'i_offset' has shape [3]; expected [2]}}
  %lif = spinnaker2.lif "lif"(%p) {threshold = dense<1.0> : tensor<2xf32>, alpha_decay = dense<0.9> : tensor<2xf32>, i_offset = dense<0.0> : tensor<3xf32>, v_reset = dense<0.0> : tensor<2xf32>, reset = "reset_to_v_reset", v_scale = dense<1.0> : tensor<2xf64>, atoms_per_core = 256 : i64} : tensor<2xf32>
}

// -----

// A decay lies in [0, 1].
spinnaker2.graph @g attributes {dt = 0.0001 : f64, sys_tick = 0.001 : f64} {
  %in = spinnaker2.input "in" {atoms_per_core = 256 : i64} : tensor<2xf32>
  %p = spinnaker2.projection "p"(%in) {weight = dense<1> : tensor<2x2xi32>, delay = dense<0> : tensor<2x2xi32>} : tensor<2xf32>
  // expected-error @+1 {{'spinnaker2.lif' op node 'lif': 'alpha_decay' has values in [1.5, 1.5]; a decay is the fraction kept per step and must lie in [0, 1]}}
  %lif = spinnaker2.lif "lif"(%p) {threshold = dense<1.0> : tensor<2xf32>, alpha_decay = dense<1.5> : tensor<2xf32>, i_offset = dense<0.0> : tensor<2xf32>, v_reset = dense<0.0> : tensor<2xf32>, reset = "reset_to_v_reset", v_scale = dense<1.0> : tensor<2xf64>, atoms_per_core = 256 : i64} : tensor<2xf32>
}

// -----

// Parameters are finite.
spinnaker2.graph @g attributes {dt = 0.0001 : f64, sys_tick = 0.001 : f64} {
  %in = spinnaker2.input "in" {atoms_per_core = 256 : i64} : tensor<2xf32>
  %p = spinnaker2.projection "p"(%in) {weight = dense<1> : tensor<2x2xi32>, delay = dense<0> : tensor<2x2xi32>} : tensor<2xf32>
  // expected-error @+1 {{'spinnaker2.lif' op node 'lif': 'threshold' contains a value that is not finite}}
  %lif = spinnaker2.lif "lif"(%p) {threshold = dense<0x7F800000> : tensor<2xf32>, alpha_decay = dense<0.9> : tensor<2xf32>, i_offset = dense<0.0> : tensor<2xf32>, v_reset = dense<0.0> : tensor<2xf32>, reset = "reset_to_v_reset", v_scale = dense<1.0> : tensor<2xf64>, atoms_per_core = 256 : i64} : tensor<2xf32>
}

// -----

// The reset is one of py-spinnaker2's.
spinnaker2.graph @g attributes {dt = 0.0001 : f64, sys_tick = 0.001 : f64} {
  %in = spinnaker2.input "in" {atoms_per_core = 256 : i64} : tensor<2xf32>
  %p = spinnaker2.projection "p"(%in) {weight = dense<1> : tensor<2x2xi32>, delay = dense<0> : tensor<2x2xi32>} : tensor<2xf32>
  // expected-error @+1 {{'spinnaker2.lif' op node 'lif': 'reset' is 'reset_to_zero'; expected one of reset_to_v_reset, reset_by_subtraction}}
  %lif = spinnaker2.lif "lif"(%p) {threshold = dense<1.0> : tensor<2xf32>, alpha_decay = dense<0.9> : tensor<2xf32>, i_offset = dense<0.0> : tensor<2xf32>, v_reset = dense<0.0> : tensor<2xf32>, reset = "reset_to_zero", v_scale = dense<1.0> : tensor<2xf64>, atoms_per_core = 256 : i64} : tensor<2xf32>
}

// -----

// One PE holds at most MAX_ATOMS_PER_CORE neurons.
spinnaker2.graph @g attributes {dt = 0.0001 : f64, sys_tick = 0.001 : f64} {
  %in = spinnaker2.input "in" {atoms_per_core = 256 : i64} : tensor<2xf32>
  %p = spinnaker2.projection "p"(%in) {weight = dense<1> : tensor<2x2xi32>, delay = dense<0> : tensor<2x2xi32>} : tensor<2xf32>
  // expected-error @+1 {{'spinnaker2.lif' op node 'lif': 'atoms_per_core' is 2000, 976 above the 1024 neurons one PE holds; lower atoms-per-core}}
  %lif = spinnaker2.lif "lif"(%p) {threshold = dense<1.0> : tensor<2xf32>, alpha_decay = dense<0.9> : tensor<2xf32>, i_offset = dense<0.0> : tensor<2xf32>, v_reset = dense<0.0> : tensor<2xf32>, reset = "reset_to_v_reset", v_scale = dense<1.0> : tensor<2xf64>, atoms_per_core = 2000 : i64} : tensor<2xf32>
}

// -----

// Populations are flat f32 vectors.
spinnaker2.graph @g attributes {dt = 0.0001 : f64, sys_tick = 0.001 : f64} {
  // expected-error @+1 {{'spinnaker2.input' op node 'in': a population value must be tensor<Nxf32>, got tensor<2x2xf32>}}
  %in = spinnaker2.input "in" {atoms_per_core = 256 : i64} : tensor<2x2xf32>
}

// -----

// Outputs record populations.
spinnaker2.graph @g attributes {dt = 0.0001 : f64, sys_tick = 0.001 : f64} {
  %in = spinnaker2.input "in" {atoms_per_core = 256 : i64} : tensor<2xf32>
  // expected-error @+1 {{'spinnaker2.projection' op node 'p': its result feeds 'spinnaker2.output'; a projection must feed a neuron population}}
  %p = spinnaker2.projection "p"(%in) {weight = dense<1> : tensor<2x2xi32>, delay = dense<0> : tensor<2x2xi32>} : tensor<2xf32>
  %lif = spinnaker2.lif "lif"(%p) {threshold = dense<1.0> : tensor<2xf32>, alpha_decay = dense<0.9> : tensor<2xf32>, i_offset = dense<0.0> : tensor<2xf32>, v_reset = dense<0.0> : tensor<2xf32>, reset = "reset_to_v_reset", v_scale = dense<1.0> : tensor<2xf64>, atoms_per_core = 256 : i64} : tensor<2xf32>
  spinnaker2.output "out"(%p) : tensor<2xf32>
}

// -----

// Only lif_conv2d receives conv2d projections.
spinnaker2.graph @g attributes {dt = 0.0001 : f64, sys_tick = 0.001 : f64} {
  %in = spinnaker2.input "in" {atoms_per_core = 256 : i64} : tensor<8xf32>
  %p = spinnaker2.conv2d_projection "p"(%in) {weight = dense<1> : tensor<2x1x2x2xi32>, in_shape = array<i64: 2, 2, 2>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, pool = array<i64: 1, 1>} : tensor<8xf32> -> tensor<1xf32>
  // expected-error @+1 {{'spinnaker2.lif' op node 'lif': operand 0 is a conv2d_projection, which only lif_conv2d populations receive}}
  %lif = spinnaker2.lif "lif"(%p) {threshold = dense<1.0> : tensor<1xf32>, alpha_decay = dense<0.9> : tensor<1xf32>, i_offset = dense<0.0> : tensor<1xf32>, v_reset = dense<0.0> : tensor<1xf32>, reset = "reset_to_v_reset", v_scale = dense<1.0> : tensor<1xf64>, atoms_per_core = 256 : i64} : tensor<1xf32>
}

// -----

// The conv geometry gives the population size.
spinnaker2.graph @g attributes {dt = 0.0001 : f64, sys_tick = 0.001 : f64} {
  %in = spinnaker2.input "in" {atoms_per_core = 256 : i64} : tensor<8xf32>
  // expected-error @+1 {{'spinnaker2.conv2d_projection' op node 'p': the convolution gives [1, 1, 1] = 1 neurons but the result has 4}}
  %p = spinnaker2.conv2d_projection "p"(%in) {weight = dense<1> : tensor<2x1x2x2xi32>, in_shape = array<i64: 2, 2, 2>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, pool = array<i64: 1, 1>} : tensor<8xf32> -> tensor<4xf32>
  %lif = spinnaker2.lif_conv2d "lif"(%p) {threshold = dense<1.0> : tensor<4xf32>, alpha_decay = dense<0.9> : tensor<4xf32>, i_offset = dense<0.0> : tensor<4xf32>, v_reset = dense<0.0> : tensor<4xf32>, reset = "reset_to_v_reset", v_scale = dense<1.0> : tensor<4xf64>, atoms_per_core = 256 : i64} : tensor<4xf32>
}

// -----

// The pool must fit the input.
spinnaker2.graph @g attributes {dt = 0.0001 : f64, sys_tick = 0.001 : f64} {
  %in = spinnaker2.input "in" {atoms_per_core = 256 : i64} : tensor<8xf32>
  // expected-error @+1 {{'spinnaker2.conv2d_projection' op node 'p': the kernel [2, 2] does not fit the pooled input [1, 1]}}
  %p = spinnaker2.conv2d_projection "p"(%in) {weight = dense<1> : tensor<2x1x2x2xi32>, in_shape = array<i64: 2, 2, 2>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, pool = array<i64: 2, 2>} : tensor<8xf32> -> tensor<1xf32>
  %lif = spinnaker2.lif_conv2d "lif"(%p) {threshold = dense<1.0> : tensor<1xf32>, alpha_decay = dense<0.9> : tensor<1xf32>, i_offset = dense<0.0> : tensor<1xf32>, v_reset = dense<0.0> : tensor<1xf32>, reset = "reset_to_v_reset", v_scale = dense<1.0> : tensor<1xf64>, atoms_per_core = 256 : i64} : tensor<1xf32>
}

// -----

// Non-delayed projections are computed before they are read.
// expected-error @+1 {{'spinnaker2.graph' op @g: node 'lif' reads node 'p', which is computed later in the step; only delay ops with at least one step may be read before they are computed}}
spinnaker2.graph @g attributes {dt = 0.0001 : f64, sys_tick = 0.001 : f64} {
  %in = spinnaker2.input "in" {atoms_per_core = 256 : i64} : tensor<2xf32>
  %lif = spinnaker2.lif "lif"(%p) {threshold = dense<1.0> : tensor<2xf32>, alpha_decay = dense<0.9> : tensor<2xf32>, i_offset = dense<0.0> : tensor<2xf32>, v_reset = dense<0.0> : tensor<2xf32>, reset = "reset_to_v_reset", v_scale = dense<1.0> : tensor<2xf64>, atoms_per_core = 256 : i64} : tensor<2xf32>
  %p = spinnaker2.projection "p"(%in) {weight = dense<1> : tensor<2x2xi32>, delay = dense<0> : tensor<2x2xi32>} : tensor<2xf32>
}

// -----

// The populations fit on one chip's 152 PEs.
// expected-error @+1 {{'spinnaker2.graph' op @g: the populations need 200 PEs, 48 more than the 152 of one chip; raise atoms_per_core (population 'in' uses 200)}}
spinnaker2.graph @g attributes {dt = 0.0001 : f64, sys_tick = 0.001 : f64} {
  %in = spinnaker2.input "in" {atoms_per_core = 1 : i64} : tensor<200xf32>
}

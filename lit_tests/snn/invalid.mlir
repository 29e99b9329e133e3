// One case per verifier rule of the snn dialect.
// RUN: nir-opt %s --split-input-file --verify-diagnostics

// A decay is the fraction kept per step.
snn.graph @g attributes {dt = 0.0001 : f64} {
  %a = snn.input "a" : tensor<1xf32>
  // expected-error @+1 {{'snn.li' op node 'li': 'voltage_decay' has values in [1.5, 1.5]; a decay is the fraction of the state kept per step and must lie in [0, 1]}}
  %li = snn.li "li"(%a) {voltage_decay = dense<1.5> : tensor<1xf64>, voltage_gain = dense<0.04> : tensor<1xf64>, leak = dense<0.0> : tensor<1xf64>, integrator = "forward_euler"} : tensor<1xf32>
}

// -----

// Coefficients have the neuron shape.
snn.graph @g attributes {dt = 0.0001 : f64} {
  %a = snn.input "a" : tensor<2xf32>
  // expected-error @+1 {{'snn.li' op node 'li': 'voltage_gain' has shape [3] but the neurons have shape [2]}}
  %li = snn.li "li"(%a) {voltage_decay = dense<0.9> : tensor<2xf64>, voltage_gain = dense<0.04> : tensor<3xf64>, leak = dense<0.0> : tensor<2xf64>, integrator = "forward_euler"} : tensor<2xf32>
}

// -----

// Gains must be finite.
snn.graph @g attributes {dt = 0.0001 : f64} {
  %a = snn.input "a" : tensor<1xf32>
  // expected-error @+1 {{'snn.integrator' op node 'i': 'voltage_gain' contains a value that is not finite}}
  %i = snn.integrator "i"(%a) {voltage_gain = dense<0x7FF0000000000000> : tensor<1xf64>, integrator = "forward_euler"} : tensor<1xf32>
}

// -----

// Enum-like attributes take one of their listed values.
snn.graph @g attributes {dt = 0.0001 : f64} {
  %a = snn.input "a" : tensor<1xf32>
  // expected-error @+1 {{'snn.lif' op node 'lif': 'reset' is 'zero'; expected one of to_reset_value, subtract, none}}
  %lif = snn.lif "lif"(%a) {voltage_decay = dense<0.96> : tensor<1xf64>, voltage_gain = dense<0.04> : tensor<1xf64>, leak = dense<0.0> : tensor<1xf64>, v_threshold = dense<0.1> : tensor<1xf64>, v_reset = dense<0.0> : tensor<1xf64>, spike_test = "gt", spike_timing = "after_update", reset = "zero", max_spikes_per_step = 1 : i64, integrator = "forward_euler"} : tensor<1xf32>
}

// -----

// Counting several spikes per step needs a positive threshold.
snn.graph @g attributes {dt = 0.0001 : f64} {
  %a = snn.input "a" : tensor<1xf32>
  // expected-error @+1 {{'snn.lif' op node 'lif': 'max_spikes_per_step' is 2, which needs a positive 'v_threshold' to count spikes as multiples of it}}
  %lif = snn.lif "lif"(%a) {voltage_decay = dense<0.96> : tensor<1xf64>, voltage_gain = dense<0.04> : tensor<1xf64>, leak = dense<0.0> : tensor<1xf64>, v_threshold = dense<0.0> : tensor<1xf64>, v_reset = dense<0.0> : tensor<1xf64>, spike_test = "gt", spike_timing = "after_update", reset = "subtract", max_spikes_per_step = 2 : i64, integrator = "forward_euler"} : tensor<1xf32>
}

// -----

// Event-exact integration is defined for one-state neurons only.
snn.graph @g attributes {dt = 0.0001 : f64} {
  %a = snn.input "a" : tensor<1xf32>
  // expected-error @+1 {{'snn.cuba_li' op node 'c': integrator 'event_exact' is defined only for one-state neurons (lif, li, integrator); use zero_order_hold}}
  %c = snn.cuba_li "c"(%a) {current_decay = dense<0.5> : tensor<1xf64>, current_gain = dense<0.5> : tensor<1xf64>, voltage_decay = dense<0.9> : tensor<1xf64>, voltage_gain = dense<0.1> : tensor<1xf64>, leak = dense<0.0> : tensor<1xf64>, current_timing = "same_step", integrator = "event_exact"} : tensor<1xf32>
}

// -----

// A back edge must go through a delay: here the neuron reads an affine computed later in the step.
// expected-error @+1 {{'snn.graph' op @g: node 'lif' reads node 'rec', which is computed later in the step; only delay ops with at least one step may be read before they are computed}}
snn.graph @g attributes {dt = 0.0001 : f64} {
  %a = snn.input "a" : tensor<1xf32>
  %lif = snn.lif "lif"(%a, %rec) {voltage_decay = dense<0.96> : tensor<1xf64>, voltage_gain = dense<0.04> : tensor<1xf64>, leak = dense<0.0> : tensor<1xf64>, v_threshold = dense<0.1> : tensor<1xf64>, v_reset = dense<0.0> : tensor<1xf64>, spike_test = "gt", spike_timing = "after_update", reset = "to_reset_value", max_spikes_per_step = 1 : i64, integrator = "forward_euler"} : tensor<1xf32>
  %rec = snn.affine "rec"(%lif) {weight = dense<0.5> : tensor<1x1xf32>} : tensor<1xf32>
}

// -----

// A step delay delays by at least one step.
snn.graph @g attributes {dt = 0.0001 : f64} {
  %a = snn.input "a" : tensor<1xf32>
  // expected-error @+1 {{'snn.step_delay' op node 'd': 'steps' is 0; expected at least 1}}
  %d = snn.step_delay "d"(%a) {steps = 0 : i64} : tensor<1xf32>
}

// -----

// dt is a positive number of seconds.
// expected-error @+1 {{'snn.graph' op @g: 'dt' is -1.0 of type f64; expected a positive f64 number of seconds}}
snn.graph @g attributes {dt = -1.0 : f64} {
  %a = snn.input "a" : tensor<1xf32>
}

// -----

// A back edge's delay without 'steps' is reported at the delay, not as a crash of the graph's
// schedule check, which reads 'steps'.
snn.graph @g attributes {dt = 0.0001 : f64} {
  %x = snn.input "x" : tensor<2xf32>
  // expected-error @+1 {{'snn.step_delay' op property 'steps' expected in operation 'snn.step_delay'}}
  %back = snn.step_delay "back"(%s) {stepr = 1 : i64} : tensor<2xf32>
  %s = snn.scale "s"(%back) {scale = dense<1.0> : tensor<2xf64>} : tensor<2xf32>
  snn.output "out"(%s) : tensor<2xf32>
}

// -----

// A weight needs an output and an input dimension.
snn.graph @g attributes {dt = 0.0001 : f64} {
  %a = snn.input "a" : tensor<16xf32>
  // expected-error @+1 {{'snn.affine' op node 'fc': 'weight' has shape [16]; it needs (..., out, in)}}
  %fc = snn.affine "fc"(%a) {weight = dense<0.5> : tensor<16xf32>} : tensor<16xf32> -> tensor<3xf32>
}

// -----

// A bias has one value per output.
snn.graph @g attributes {dt = 0.0001 : f64} {
  %a = snn.input "a" : tensor<16xf32>
  // expected-error @+1 {{'snn.affine' op node 'fc': 'bias' has shape [4]; expected [3]}}
  %fc = snn.affine "fc"(%a) {weight = dense<0.5> : tensor<3x16xf32>, bias = dense<0.0> : tensor<4xf32>} : tensor<16xf32> -> tensor<3xf32>
}

// -----

// Weights must be finite.
snn.graph @g attributes {dt = 0.0001 : f64} {
  %a = snn.input "a" : tensor<16xf32>
  // expected-error @+1 {{'snn.affine' op node 'fc': 'weight' contains a value that is not finite}}
  %fc = snn.affine "fc"(%a) {weight = dense<0x7F800000> : tensor<3x16xf32>} : tensor<16xf32> -> tensor<3xf32>
}

// -----

// The input width must match the weight's last dimension.
snn.graph @g attributes {dt = 0.0001 : f64} {
  %a = snn.input "a" : tensor<16xf32>
  // expected-error @+1 {{'snn.affine' op node 'fc': the input has shape [16] but the op expects [8]}}
  %fc = snn.affine "fc"(%a) {weight = dense<0.5> : tensor<3x8xf32>} : tensor<16xf32> -> tensor<3xf32>
}

// -----

// The result shape must be the one the weight gives.
snn.graph @g attributes {dt = 0.0001 : f64} {
  %a = snn.input "a" : tensor<16xf32>
  // expected-error @+1 {{'snn.affine' op node 'fc': the result has shape [4] but the op gives [3]}}
  %fc = snn.affine "fc"(%a) {weight = dense<0.5> : tensor<3x16xf32>} : tensor<16xf32> -> tensor<4xf32>
}

// -----

// Delays are whole numbers of steps, zero or more.
snn.graph @g attributes {dt = 0.0001 : f64} {
  %a = snn.input "a" : tensor<3xf32>
  // expected-error @+1 {{'snn.delay' op node 'delay': 'steps' must hold non-negative integers}}
  %d = snn.delay "delay"(%a) {steps = dense<[0, -1, 2]> : tensor<3xi64>} : tensor<3xf32>
}

// -----

// The event-exact integrator places each spike at its threshold crossing, after the update.
snn.graph @g attributes {dt = 0.0001 : f64} {
  %in = snn.input "in" : tensor<2xf32>
  // expected-error @+1 {{'snn.lif' op node 'lif': integrator 'event_exact' needs spike_timing 'after_update'}}
  %lif = snn.lif "lif"(%in) {voltage_decay = dense<0.96> : tensor<2xf64>, voltage_gain = dense<0.04> : tensor<2xf64>, leak = dense<0.0> : tensor<2xf64>, v_threshold = dense<0.1> : tensor<2xf64>, v_reset = dense<0.0> : tensor<2xf64>, spike_test = "gt", spike_timing = "before_update", reset = "to_reset_value", max_spikes_per_step = 1 : i64, integrator = "event_exact"} : tensor<2xf32>
}

// -----

// Graph inputs are snn.input ops, not block arguments.
// expected-error @+1 {{'snn.graph' op @g: the body block must have no arguments; use snn.input ops}}
snn.graph @g attributes {dt = 0.0001 : f64} {
^bb0(%x: tensor<2xf32>):
  %in = snn.input "in" : tensor<2xf32>
}

// -----

// An snn graph holds only snn node ops.
// expected-error @+1 {{'snn.graph' op @g: 'nir.input' is not an snn node op}}
snn.graph @g attributes {dt = 0.0001 : f64} {
  %in = nir.input "in" : tensor<2xf32>
}

// -----

// A convolution needs an incoming edge.
snn.graph @g attributes {dt = 0.0001 : f64} {
  // expected-error @+1 {{'snn.conv1d' op node 'c': a convolution needs at least one operand}}
  %conv1d = "snn.conv1d"() <{node_name = "c", weight = dense<1.0> : tensor<2x3x3xf32>, stride = array<i64: 2>, padding = array<i64: 1>, dilation = array<i64: 1>, groups = 1 : i64}> : () -> tensor<2x5xf32>
}

// -----

// A pool needs an incoming edge.
snn.graph @g attributes {dt = 0.0001 : f64} {
  // expected-error @+1 {{'snn.sum_pool2d' op node 'p': a pool needs at least one operand}}
  %p = "snn.sum_pool2d"() <{node_name = "p", kernel_size = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>}> : () -> tensor<4x4x4xf32>
}

// -----

// A flatten needs an incoming edge.
snn.graph @g attributes {dt = 0.0001 : f64} {
  // expected-error @+1 {{'snn.flatten' op node 'f': a flatten needs at least one operand}}
  %p = "snn.flatten"() <{node_name = "f", start_dim = 0 : i64, end_dim = -1 : i64}> : () -> tensor<16xf32>
}

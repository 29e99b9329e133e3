// The verifier checks the placement that map-to-cores writes on each neuron op of an fxp or
// chip graph: (core, count) pairs of i64, cores from 0, runs of at least one neuron, and as
// many neurons as the op has. A hand-edited placement fails at its op.
// RUN: nir-opt %s --split-input-file --verify-diagnostics

// A split placement that covers every neuron verifies.
fxp.graph @split attributes {dt = 0.001 : f64} {
  %in = fxp.input "in" {scale = 1.0 : f64} : tensor<4xi8>
  %fc = fxp.affine "fc"(%in) {weight = dense<1> : tensor<6x4xi8>, weight_bits = 8 : i64, weight_scale = dense<0.001> : tensor<f64>, input_scale = 1.0 : f64, folded_gain = dense<1.0> : tensor<f64>, saturate = true} : tensor<4xi8> -> tensor<6xi16>
  %l = fxp.lif "l"(%fc) {voltage_decay = dense<4096> : tensor<6xi16>, leak = dense<0> : tensor<6xi16>, v_threshold = dense<100> : tensor<6xi16>, v_reset = dense<0> : tensor<6xi16>, spike_test = "gt", spike_timing = "after_update", reset = "to_reset_value", max_spikes_per_step = 1 : i64, decay_kind = "kept_fraction_q12", decay_min_step = 0 : i64, rounding = "toward_zero", voltage_scale = dense<0.001> : tensor<f64>, voltage_bits = 16 : i64, voltage_saturate = true, cores = array<i64: 0, 2, 3, 4>} : tensor<6xi16> -> tensor<6xi8>
  fxp.output "out"(%l) {scale = dense<1.0> : tensor<f64>} : tensor<6xi8>
}

// -----

fxp.graph @counts attributes {dt = 0.001 : f64} {
  %in = fxp.input "in" {scale = 1.0 : f64} : tensor<4xi8>
  %fc = fxp.affine "fc"(%in) {weight = dense<1> : tensor<6x4xi8>, weight_bits = 8 : i64, weight_scale = dense<0.001> : tensor<f64>, input_scale = 1.0 : f64, folded_gain = dense<1.0> : tensor<f64>, saturate = true} : tensor<4xi8> -> tensor<6xi16>
  // expected-error @+1 {{has a cores attribute that places 4 neurons, but the op has 6; remove the attribute and run map-to-cores to place the op again}}
  %l = fxp.lif "l"(%fc) {voltage_decay = dense<4096> : tensor<6xi16>, leak = dense<0> : tensor<6xi16>, v_threshold = dense<100> : tensor<6xi16>, v_reset = dense<0> : tensor<6xi16>, spike_test = "gt", spike_timing = "after_update", reset = "to_reset_value", max_spikes_per_step = 1 : i64, decay_kind = "kept_fraction_q12", decay_min_step = 0 : i64, rounding = "toward_zero", voltage_scale = dense<0.001> : tensor<f64>, voltage_bits = 16 : i64, voltage_saturate = true, cores = array<i64: 0, 4>} : tensor<6xi16> -> tensor<6xi8>
  fxp.output "out"(%l) {scale = dense<1.0> : tensor<f64>} : tensor<6xi8>
}

// -----

fxp.graph @negative_core attributes {dt = 0.001 : f64} {
  %in = fxp.input "in" {scale = 1.0 : f64} : tensor<4xi8>
  %fc = fxp.affine "fc"(%in) {weight = dense<1> : tensor<6x4xi8>, weight_bits = 8 : i64, weight_scale = dense<0.001> : tensor<f64>, input_scale = 1.0 : f64, folded_gain = dense<1.0> : tensor<f64>, saturate = true} : tensor<4xi8> -> tensor<6xi16>
  // expected-error @+1 {{has a cores attribute that names core -1 (cores count from 0)}}
  %l = fxp.lif "l"(%fc) {voltage_decay = dense<4096> : tensor<6xi16>, leak = dense<0> : tensor<6xi16>, v_threshold = dense<100> : tensor<6xi16>, v_reset = dense<0> : tensor<6xi16>, spike_test = "gt", spike_timing = "after_update", reset = "to_reset_value", max_spikes_per_step = 1 : i64, decay_kind = "kept_fraction_q12", decay_min_step = 0 : i64, rounding = "toward_zero", voltage_scale = dense<0.001> : tensor<f64>, voltage_bits = 16 : i64, voltage_saturate = true, cores = array<i64: -1, 6>} : tensor<6xi16> -> tensor<6xi8>
  fxp.output "out"(%l) {scale = dense<1.0> : tensor<f64>} : tensor<6xi8>
}

// -----

fxp.graph @empty_run attributes {dt = 0.001 : f64} {
  %in = fxp.input "in" {scale = 1.0 : f64} : tensor<4xi8>
  %fc = fxp.affine "fc"(%in) {weight = dense<1> : tensor<6x4xi8>, weight_bits = 8 : i64, weight_scale = dense<0.001> : tensor<f64>, input_scale = 1.0 : f64, folded_gain = dense<1.0> : tensor<f64>, saturate = true} : tensor<4xi8> -> tensor<6xi16>
  // expected-error @+1 {{has a cores attribute that gives a run of 0 neurons (each run contains at least one neuron)}}
  %l = fxp.lif "l"(%fc) {voltage_decay = dense<4096> : tensor<6xi16>, leak = dense<0> : tensor<6xi16>, v_threshold = dense<100> : tensor<6xi16>, v_reset = dense<0> : tensor<6xi16>, spike_test = "gt", spike_timing = "after_update", reset = "to_reset_value", max_spikes_per_step = 1 : i64, decay_kind = "kept_fraction_q12", decay_min_step = 0 : i64, rounding = "toward_zero", voltage_scale = dense<0.001> : tensor<f64>, voltage_bits = 16 : i64, voltage_saturate = true, cores = array<i64: 0, 6, 1, 0>} : tensor<6xi16> -> tensor<6xi8>
  fxp.output "out"(%l) {scale = dense<1.0> : tensor<f64>} : tensor<6xi8>
}

// -----

fxp.graph @odd attributes {dt = 0.001 : f64} {
  %in = fxp.input "in" {scale = 1.0 : f64} : tensor<4xi8>
  %fc = fxp.affine "fc"(%in) {weight = dense<1> : tensor<6x4xi8>, weight_bits = 8 : i64, weight_scale = dense<0.001> : tensor<f64>, input_scale = 1.0 : f64, folded_gain = dense<1.0> : tensor<f64>, saturate = true} : tensor<4xi8> -> tensor<6xi16>
  // expected-error @+1 {{has a cores attribute that has 3 values, not (core, count) pairs}}
  %l = fxp.lif "l"(%fc) {voltage_decay = dense<4096> : tensor<6xi16>, leak = dense<0> : tensor<6xi16>, v_threshold = dense<100> : tensor<6xi16>, v_reset = dense<0> : tensor<6xi16>, spike_test = "gt", spike_timing = "after_update", reset = "to_reset_value", max_spikes_per_step = 1 : i64, decay_kind = "kept_fraction_q12", decay_min_step = 0 : i64, rounding = "toward_zero", voltage_scale = dense<0.001> : tensor<f64>, voltage_bits = 16 : i64, voltage_saturate = true, cores = array<i64: 0, 6, 1>} : tensor<6xi16> -> tensor<6xi8>
  fxp.output "out"(%l) {scale = dense<1.0> : tensor<f64>} : tensor<6xi8>
}

// -----

fxp.graph @not_i64 attributes {dt = 0.001 : f64} {
  %in = fxp.input "in" {scale = 1.0 : f64} : tensor<4xi8>
  %fc = fxp.affine "fc"(%in) {weight = dense<1> : tensor<6x4xi8>, weight_bits = 8 : i64, weight_scale = dense<0.001> : tensor<f64>, input_scale = 1.0 : f64, folded_gain = dense<1.0> : tensor<f64>, saturate = true} : tensor<4xi8> -> tensor<6xi16>
  // expected-error @+1 {{has a cores attribute that is not an array<i64: core, count, ...>}}
  %l = fxp.lif "l"(%fc) {voltage_decay = dense<4096> : tensor<6xi16>, leak = dense<0> : tensor<6xi16>, v_threshold = dense<100> : tensor<6xi16>, v_reset = dense<0> : tensor<6xi16>, spike_test = "gt", spike_timing = "after_update", reset = "to_reset_value", max_spikes_per_step = 1 : i64, decay_kind = "kept_fraction_q12", decay_min_step = 0 : i64, rounding = "toward_zero", voltage_scale = dense<0.001> : tensor<f64>, voltage_bits = 16 : i64, voltage_saturate = true, cores = array<i32: 0, 6>} : tensor<6xi16> -> tensor<6xi8>
  fxp.output "out"(%l) {scale = dense<1.0> : tensor<f64>} : tensor<6xi8>
}

// -----

fxp.graph @integer attributes {dt = 0.001 : f64} {
  %in = fxp.input "in" {scale = 1.0 : f64} : tensor<4xi8>
  %fc = fxp.affine "fc"(%in) {weight = dense<1> : tensor<6x4xi8>, weight_bits = 8 : i64, weight_scale = dense<0.001> : tensor<f64>, input_scale = 1.0 : f64, folded_gain = dense<1.0> : tensor<f64>, saturate = true} : tensor<4xi8> -> tensor<6xi16>
  // expected-error @+1 {{has a cores attribute that is not an array<i64: core, count, ...>}}
  %l = fxp.lif "l"(%fc) {voltage_decay = dense<4096> : tensor<6xi16>, leak = dense<0> : tensor<6xi16>, v_threshold = dense<100> : tensor<6xi16>, v_reset = dense<0> : tensor<6xi16>, spike_test = "gt", spike_timing = "after_update", reset = "to_reset_value", max_spikes_per_step = 1 : i64, decay_kind = "kept_fraction_q12", decay_min_step = 0 : i64, rounding = "toward_zero", voltage_scale = dense<0.001> : tensor<f64>, voltage_bits = 16 : i64, voltage_saturate = true, cores = 3 : i64} : tensor<6xi16> -> tensor<6xi8>
  fxp.output "out"(%l) {scale = dense<1.0> : tensor<f64>} : tensor<6xi8>
}

// -----

fxp.graph @not_a_neuron attributes {dt = 0.001 : f64} {
  %in = fxp.input "in" {scale = 1.0 : f64} : tensor<4xi8>
  // expected-error @+1 {{'fxp.affine' op has a cores attribute that belongs only on neuron ops}}
  %fc = fxp.affine "fc"(%in) {weight = dense<1> : tensor<6x4xi8>, weight_bits = 8 : i64, weight_scale = dense<0.001> : tensor<f64>, input_scale = 1.0 : f64, folded_gain = dense<1.0> : tensor<f64>, saturate = true, cores = array<i64: 0, 6>} : tensor<4xi8> -> tensor<6xi16>
  %l = fxp.lif "l"(%fc) {voltage_decay = dense<4096> : tensor<6xi16>, leak = dense<0> : tensor<6xi16>, v_threshold = dense<100> : tensor<6xi16>, v_reset = dense<0> : tensor<6xi16>, spike_test = "gt", spike_timing = "after_update", reset = "to_reset_value", max_spikes_per_step = 1 : i64, decay_kind = "kept_fraction_q12", decay_min_step = 0 : i64, rounding = "toward_zero", voltage_scale = dense<0.001> : tensor<f64>, voltage_bits = 16 : i64, voltage_saturate = true} : tensor<6xi16> -> tensor<6xi8>
  fxp.output "out"(%l) {scale = dense<1.0> : tensor<f64>} : tensor<6xi8>
}

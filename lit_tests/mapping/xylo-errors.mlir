// Xylo Audio 2 has one core: every strategy places all neurons on core 0 after checking the limits.
// RUN: nir-opt %s --split-input-file --verify-diagnostics -p 'map-to-cores{target=xylo strategy=metis}'
// RUN: not nir-opt %s --split-input-file -p 'map-to-cores{target=xylo chips=2}' 2>&1 | filecheck %s --check-prefix=CHIPS
// CHIPS: error: map-to-cores: target 'xylo' maps one chip; expected chips=1, not 2
fxp.graph @inputs attributes {dt = 0.001 : f64} {
  // expected-error @+1 {{input channels: the graph has 20 but SynSense Xylo Audio 2 (SYNS61201) has 16 (short by 4)}}
  %in = fxp.input "in" {scale = 1.0 : f64} : tensor<20xi8>
  %fc = fxp.affine "fc"(%in) {weight = dense<1> : tensor<10x20xi8>, weight_bits = 8 : i64, weight_scale = dense<0.001> : tensor<f64>, input_scale = 1.0 : f64, folded_gain = dense<1.0> : tensor<f64>, saturate = true} : tensor<20xi8> -> tensor<10xi16>
  %h = fxp.lif "h"(%fc) {voltage_decay = dense<4096> : tensor<10xi16>, leak = dense<0> : tensor<10xi16>, v_threshold = dense<100> : tensor<10xi16>, v_reset = dense<0> : tensor<10xi16>, spike_test = "gt", spike_timing = "after_update", reset = "to_reset_value", max_spikes_per_step = 1 : i64, decay_kind = "kept_fraction_q12", decay_min_step = 0 : i64, rounding = "toward_zero", voltage_scale = dense<0.001> : tensor<f64>, voltage_bits = 16 : i64, voltage_saturate = true} : tensor<10xi16> -> tensor<10xi8>
  %ro = fxp.affine "ro"(%h) {weight = dense<1> : tensor<4x10xi8>, weight_bits = 8 : i64, weight_scale = dense<0.001> : tensor<f64>, input_scale = 1.0 : f64, folded_gain = dense<1.0> : tensor<f64>, saturate = true} : tensor<10xi8> -> tensor<4xi16>
  %r = fxp.lif "r"(%ro) {voltage_decay = dense<4096> : tensor<4xi16>, leak = dense<0> : tensor<4xi16>, v_threshold = dense<100> : tensor<4xi16>, v_reset = dense<0> : tensor<4xi16>, spike_test = "gt", spike_timing = "after_update", reset = "to_reset_value", max_spikes_per_step = 1 : i64, decay_kind = "kept_fraction_q12", decay_min_step = 0 : i64, rounding = "toward_zero", voltage_scale = dense<0.001> : tensor<f64>, voltage_bits = 16 : i64, voltage_saturate = true} : tensor<4xi16> -> tensor<4xi8>
  fxp.output "out"(%r) {scale = dense<1.0> : tensor<f64>} : tensor<4xi8>
}

// -----

fxp.graph @readout attributes {dt = 0.001 : f64} {
  %in = fxp.input "in" {scale = 1.0 : f64} : tensor<8xi8>
  %fc = fxp.affine "fc"(%in) {weight = dense<1> : tensor<10x8xi8>, weight_bits = 8 : i64, weight_scale = dense<0.001> : tensor<f64>, input_scale = 1.0 : f64, folded_gain = dense<1.0> : tensor<f64>, saturate = true} : tensor<8xi8> -> tensor<10xi16>
  %h = fxp.lif "h"(%fc) {voltage_decay = dense<4096> : tensor<10xi16>, leak = dense<0> : tensor<10xi16>, v_threshold = dense<100> : tensor<10xi16>, v_reset = dense<0> : tensor<10xi16>, spike_test = "gt", spike_timing = "after_update", reset = "to_reset_value", max_spikes_per_step = 1 : i64, decay_kind = "kept_fraction_q12", decay_min_step = 0 : i64, rounding = "toward_zero", voltage_scale = dense<0.001> : tensor<f64>, voltage_bits = 16 : i64, voltage_saturate = true} : tensor<10xi16> -> tensor<10xi8>
  %ro = fxp.affine "ro"(%h) {weight = dense<1> : tensor<9x10xi8>, weight_bits = 8 : i64, weight_scale = dense<0.001> : tensor<f64>, input_scale = 1.0 : f64, folded_gain = dense<1.0> : tensor<f64>, saturate = true} : tensor<10xi8> -> tensor<9xi16>
  // expected-error @+1 {{readout neurons: the graph has 9 but SynSense Xylo Audio 2 (SYNS61201) has 8 (short by 1)}}
  %r = fxp.lif "r"(%ro) {voltage_decay = dense<4096> : tensor<9xi16>, leak = dense<0> : tensor<9xi16>, v_threshold = dense<100> : tensor<9xi16>, v_reset = dense<0> : tensor<9xi16>, spike_test = "gt", spike_timing = "after_update", reset = "to_reset_value", max_spikes_per_step = 1 : i64, decay_kind = "kept_fraction_q12", decay_min_step = 0 : i64, rounding = "toward_zero", voltage_scale = dense<0.001> : tensor<f64>, voltage_bits = 16 : i64, voltage_saturate = true} : tensor<9xi16> -> tensor<9xi8>
  fxp.output "out"(%r) {scale = dense<1.0> : tensor<f64>} : tensor<9xi8>
}

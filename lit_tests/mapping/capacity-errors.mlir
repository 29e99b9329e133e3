// Capacity diagnostics of map-to-cores: each names the op, the resource and the shortfall.
// RUN: nir-opt %s --split-input-file --verify-diagnostics -p 'map-to-cores{target=spinnaker2}'
fxp.graph @too_many_neurons attributes {dt = 0.001 : f64} {
  %in = fxp.input "in" {scale = 1.0 : f64} : tensor<40000xi16>
  // expected-error @+1 {{neurons: the graph has 40000 but 152 cores of SpiNNaker2 hold 38912 (short by 1088); give chips=2}}
  %big = fxp.lif "big"(%in) {voltage_decay = dense<4096> : tensor<40000xi16>, leak = dense<0> : tensor<40000xi16>, v_threshold = dense<100> : tensor<40000xi16>, v_reset = dense<0> : tensor<40000xi16>, spike_test = "gt", spike_timing = "after_update", reset = "to_reset_value", max_spikes_per_step = 1 : i64, decay_kind = "kept_fraction_q12", decay_min_step = 0 : i64, rounding = "toward_zero", voltage_scale = dense<0.001> : tensor<f64>, voltage_bits = 16 : i64, voltage_saturate = true} : tensor<40000xi16> -> tensor<40000xi8>
  fxp.output "out"(%big) {scale = dense<1.0> : tensor<f64>} : tensor<40000xi8>
}

// -----

// One neuron with 40000 synapses does not fit the 32768 synapse entries of a core.
fxp.graph @too_many_synapses attributes {dt = 0.001 : f64} {
  %in = fxp.input "in" {scale = 1.0 : f64} : tensor<40000xi8>
  %fc = fxp.affine "fc"(%in) {weight = dense<1> : tensor<1x40000xi8>, weight_bits = 8 : i64, weight_scale = dense<0.001> : tensor<f64>, input_scale = 1.0 : f64, folded_gain = dense<1.0> : tensor<f64>, saturate = true} : tensor<40000xi8> -> tensor<1xi16>
  // expected-error @+1 {{synapses: one neuron has 40000 synapse entries but a core of SpiNNaker2 stores 32768 (short by 7232)}}
  %one = fxp.lif "one"(%fc) {voltage_decay = dense<4096> : tensor<1xi16>, leak = dense<0> : tensor<1xi16>, v_threshold = dense<100> : tensor<1xi16>, v_reset = dense<0> : tensor<1xi16>, spike_test = "gt", spike_timing = "after_update", reset = "to_reset_value", max_spikes_per_step = 1 : i64, decay_kind = "kept_fraction_q12", decay_min_step = 0 : i64, rounding = "toward_zero", voltage_scale = dense<0.001> : tensor<f64>, voltage_bits = 16 : i64, voltage_saturate = true} : tensor<1xi16> -> tensor<1xi8>
  fxp.output "out"(%one) {scale = dense<1.0> : tensor<f64>} : tensor<1xi8>
}

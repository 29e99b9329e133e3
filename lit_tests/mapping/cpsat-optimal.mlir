// CP-SAT proves the optimum on a small graph. Each l1 neuron has 2000 synapse entries, so at most
// 16 fit the 32768 of a SpiNNaker2 core and l1 needs two cores. The optimum puts 16 l1 neurons and
// all of l2 on one core: the 2000 inputs reach 2 cores (4000) and the 4 other l1 neurons reach the
// core of l2 (4), so the traffic is 4004 with every rate 1.
// RUN: nir-opt %s -p 'map-to-cores{target=spinnaker2 strategy=cpsat time-limit=60}' --mapping-report %t.json > /dev/null
// RUN: filecheck %s < %t.json

// CHECK: "strategy": "cpsat"
// CHECK: "cores_used": 2
// CHECK: "traffic": 4004.0
// CHECK: "optimality_gap": 0.0
// CHECK: "note": "CP-SAT on 30 atoms and at most 3 cores, starting from {{[a-z]+}}{{.}}s mapping, optimal after {{.*}}; the gap is against the best bound over mappings on at most 3 cores"

fxp.graph @proof attributes {dt = 0.001 : f64} {
  %in = fxp.input "in" {scale = 1.0 : f64} : tensor<2000xi8>
  %fc1 = fxp.affine "fc1"(%in) {weight = dense<1> : tensor<20x2000xi8>, weight_bits = 8 : i64, weight_scale = dense<0.001> : tensor<f64>, input_scale = 1.0 : f64, folded_gain = dense<1.0> : tensor<f64>, saturate = true} : tensor<2000xi8> -> tensor<20xi16>
  %l1 = fxp.lif "l1"(%fc1) {voltage_decay = dense<4096> : tensor<20xi16>, leak = dense<0> : tensor<20xi16>, v_threshold = dense<100> : tensor<20xi16>, v_reset = dense<0> : tensor<20xi16>, spike_test = "gt", spike_timing = "after_update", reset = "to_reset_value", max_spikes_per_step = 1 : i64, decay_kind = "kept_fraction_q12", decay_min_step = 0 : i64, rounding = "toward_zero", voltage_scale = dense<0.001> : tensor<f64>, voltage_bits = 16 : i64, voltage_saturate = true} : tensor<20xi16> -> tensor<20xi8>
  %fc2 = fxp.affine "fc2"(%l1) {weight = dense<1> : tensor<10x20xi8>, weight_bits = 8 : i64, weight_scale = dense<0.001> : tensor<f64>, input_scale = 1.0 : f64, folded_gain = dense<1.0> : tensor<f64>, saturate = true} : tensor<20xi8> -> tensor<10xi16>
  %l2 = fxp.lif "l2"(%fc2) {voltage_decay = dense<4096> : tensor<10xi16>, leak = dense<0> : tensor<10xi16>, v_threshold = dense<100> : tensor<10xi16>, v_reset = dense<0> : tensor<10xi16>, spike_test = "gt", spike_timing = "after_update", reset = "to_reset_value", max_spikes_per_step = 1 : i64, decay_kind = "kept_fraction_q12", decay_min_step = 0 : i64, rounding = "toward_zero", voltage_scale = dense<0.001> : tensor<f64>, voltage_bits = 16 : i64, voltage_saturate = true} : tensor<10xi16> -> tensor<10xi8>
  fxp.output "out"(%l2) {scale = dense<1.0> : tensor<f64>} : tensor<10xi8>
}

// The exact CP-SAT strategy: 270 neurons need 2 SpiNNaker2 cores. Within its time limit CP-SAT
// starts from the best of the greedy, metis and hypergraph mappings and reports its best mapping
// and the gap to its best bound.
// RUN: nir-opt %s -p 'map-to-cores{target=spinnaker2 strategy=cpsat time-limit=3}' --mapping-report %t.json | filecheck %s
// RUN: filecheck %s --check-prefix=JSON < %t.json

// CHECK: fxp.lif "l1"{{.*}}cores = array<i64:
// CHECK: fxp.lif "l2"{{.*}}cores = array<i64:
// JSON: "strategy": "cpsat"
// JSON: "cores_used": 2
// JSON: "optimality_gap": {{[0-9.]+}}
// JSON: "note": "CP-SAT on 270 atoms and at most 3 cores, starting from {{[a-z]+}}{{.}}s mapping

fxp.graph @tiny attributes {dt = 0.001 : f64} {
  %in = fxp.input "in" {scale = 1.0 : f64} : tensor<4xi8>
  %fc1 = fxp.affine "fc1"(%in) {weight = dense<1> : tensor<150x4xi8>, weight_bits = 8 : i64, weight_scale = dense<0.001> : tensor<f64>, input_scale = 1.0 : f64, folded_gain = dense<1.0> : tensor<f64>, saturate = true} : tensor<4xi8> -> tensor<150xi16>
  %l1 = fxp.lif "l1"(%fc1) {voltage_decay = dense<4096> : tensor<150xi16>, leak = dense<0> : tensor<150xi16>, v_threshold = dense<100> : tensor<150xi16>, v_reset = dense<0> : tensor<150xi16>, spike_test = "gt", spike_timing = "after_update", reset = "to_reset_value", max_spikes_per_step = 1 : i64, decay_kind = "kept_fraction_q12", decay_min_step = 0 : i64, rounding = "toward_zero", voltage_scale = dense<0.001> : tensor<f64>, voltage_bits = 16 : i64, voltage_saturate = true} : tensor<150xi16> -> tensor<150xi8>
  %fc2 = fxp.affine "fc2"(%l1) {weight = dense<1> : tensor<120x150xi8>, weight_bits = 8 : i64, weight_scale = dense<0.001> : tensor<f64>, input_scale = 1.0 : f64, folded_gain = dense<1.0> : tensor<f64>, saturate = true} : tensor<150xi8> -> tensor<120xi16>
  %l2 = fxp.lif "l2"(%fc2) {voltage_decay = dense<4096> : tensor<120xi16>, leak = dense<0> : tensor<120xi16>, v_threshold = dense<100> : tensor<120xi16>, v_reset = dense<0> : tensor<120xi16>, spike_test = "gt", spike_timing = "after_update", reset = "to_reset_value", max_spikes_per_step = 1 : i64, decay_kind = "kept_fraction_q12", decay_min_step = 0 : i64, rounding = "toward_zero", voltage_scale = dense<0.001> : tensor<f64>, voltage_bits = 16 : i64, voltage_saturate = true} : tensor<120xi16> -> tensor<120xi8>
  fxp.output "out"(%l2) {scale = dense<1.0> : tensor<f64>} : tensor<120xi8>
}

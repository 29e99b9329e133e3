// map-to-cores with every strategy on SpiNNaker2 (256 neurons per core): the cores attribute
// lists (core, count) runs of each neuron op, and the report counts cores and traffic.
// RUN: nir-opt %s -p 'map-to-cores{target=spinnaker2 strategy=greedy}' --mapping-report %t.greedy.json 2>&1 | filecheck %s --check-prefix=GREEDY
// RUN: filecheck %s --check-prefix=GREEDY-JSON < %t.greedy.json
// RUN: nir-opt %s -p 'map-to-cores{target=spinnaker2 strategy=greedy}' | nir-opt | filecheck %s --check-prefix=GREEDY
// RUN: nir-opt %s -p 'map-to-cores{target=spinnaker2 strategy=metis seed=1}' --mapping-report %t.metis.json | filecheck %s --check-prefix=PARTITION
// RUN: filecheck %s --check-prefix=PARTITION-JSON < %t.metis.json
// RUN: nir-opt %s -p 'map-to-cores{target=spinnaker2 strategy=hypergraph seed=1}' --mapping-report %t.hypergraph.json | filecheck %s --check-prefix=PARTITION
// RUN: filecheck %s --check-prefix=PARTITION-JSON < %t.hypergraph.json
// RUN: not nir-opt %s -p 'map-to-cores{target=spinnaker2 strategy=cpsat}' 2>&1 | filecheck %s --check-prefix=CPSAT
// RUN: nir-opt %s -p 'map-to-cores{target=loihi2}' | filecheck %s --check-prefix=LOIHI

// Greedy starts each group on a new core: l1 fills core 0 (256) and 44 neurons of core 1. l2 has
// 300 synapses a neuron, so 109 fit in 32768 synapse entries: it takes cores 2 and 3.
// GREEDY: fxp.lif "l1"{{.*}}cores = array<i64: 0, 256, 1, 44>}
// GREEDY: fxp.lif "l2"{{.*}}cores = array<i64: 2, 109, 3, 91>}
// GREEDY-JSON: "strategy": "greedy"
// GREEDY-JSON: "cores_used": 4
// Traffic with every rate 1: 8 inputs reach 2 cores and 300 neurons of l1 reach 2 cores.
// GREEDY-JSON: "traffic": 616.0
// PARTITION: fxp.lif "l1"{{.*}}cores = array<i64:
// PARTITION: fxp.lif "l2"{{.*}}cores = array<i64:
// Load 3.0 cores (l1: 300/256 of the neurons, l2: 200*300/32768 of the synapses) plus 5 % slack.
// PARTITION-JSON: "cores_used": 4
// CPSAT: error: map-to-cores: cpsat: graph @small has 500 atoms (its neurons, or runs of neurons in graphs of over 100000 neurons) but the exact model takes at most 300; use strategy=hypergraph
// LOIHI: fxp.lif "l1"{{.*}}cores = array<i64: 0, 300>}
// LOIHI: fxp.lif "l2"{{.*}}cores = array<i64: 1, 200>}

fxp.graph @small attributes {dt = 0.001 : f64} {
  %in = fxp.input "in" {scale = 1.0 : f64} : tensor<8xi8>
  %fc1 = fxp.affine "fc1"(%in) {weight = dense<1> : tensor<300x8xi8>, weight_bits = 8 : i64, weight_scale = dense<0.001> : tensor<f64>, input_scale = 1.0 : f64, folded_gain = dense<1.0> : tensor<f64>, saturate = true} : tensor<8xi8> -> tensor<300xi16>
  %l1 = fxp.lif "l1"(%fc1) {voltage_decay = dense<4096> : tensor<300xi16>, leak = dense<0> : tensor<300xi16>, v_threshold = dense<100> : tensor<300xi16>, v_reset = dense<0> : tensor<300xi16>, spike_test = "gt", spike_timing = "after_update", reset = "to_reset_value", max_spikes_per_step = 1 : i64, decay_kind = "kept_fraction_q12", decay_min_step = 0 : i64, rounding = "toward_zero", voltage_scale = dense<0.001> : tensor<f64>, voltage_bits = 16 : i64, voltage_saturate = true} : tensor<300xi16> -> tensor<300xi8>
  %fc2 = fxp.affine "fc2"(%l1) {weight = dense<1> : tensor<200x300xi8>, weight_bits = 8 : i64, weight_scale = dense<0.001> : tensor<f64>, input_scale = 1.0 : f64, folded_gain = dense<1.0> : tensor<f64>, saturate = true} : tensor<300xi8> -> tensor<200xi16>
  %l2 = fxp.lif "l2"(%fc2) {voltage_decay = dense<4096> : tensor<200xi16>, leak = dense<0> : tensor<200xi16>, v_threshold = dense<100> : tensor<200xi16>, v_reset = dense<0> : tensor<200xi16>, spike_test = "gt", spike_timing = "after_update", reset = "to_reset_value", max_spikes_per_step = 1 : i64, decay_kind = "kept_fraction_q12", decay_min_step = 0 : i64, rounding = "toward_zero", voltage_scale = dense<0.001> : tensor<f64>, voltage_bits = 16 : i64, voltage_saturate = true} : tensor<200xi16> -> tensor<200xi8>
  fxp.output "out"(%l2) {scale = dense<1.0> : tensor<f64>} : tensor<200xi8>
}

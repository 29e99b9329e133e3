// quantize folds the neuron's input gain into the weights, so the state is in the unit of the
// accumulated input, and stores decays as 12-bit kept fractions.
// RUN: nir-opt %s -p quantize | filecheck %s
// RUN: nir-opt %s -p 'quantize{weight-bits=4 decay-kind=shift rounding=floor}' | filecheck %s --check-prefix=SHIFT
// RUN: not nir-opt %s -p 'quantize{rounding=banker}' 2>&1 | filecheck %s --check-prefix=INVALID

// CHECK-LABEL: fxp.graph @lif attributes {dt = 0.0001 : f64}
// CHECK-NEXT:    %[[IN:.*]] = fxp.input "input" {scale = 1.0 : f64} : tensor<1xi8>
// CHECK-NEXT:    %[[FC:.*]] = fxp.affine "fc"(%[[IN]]) {weight = dense<{{\[\[}}127]]> : tensor<1x1xi8>, weight_bits = 8 : i64, weight_scale = dense<0.000{{[0-9]+}}> : tensor<f64>, input_scale = 1.0 : f64, folded_gain = dense<0.04> : tensor<f64>
// CHECK-SAME:    : tensor<1xi8> -> tensor<1xi32>
// CHECK-NEXT:    %[[LIF:.*]] = fxp.lif "lif"(%[[FC]]) {voltage_decay = dense<[3932]> : tensor<1xi16>, leak = dense<[0]> : tensor<1xi16>, v_threshold = dense<[{{317|318}}]> : tensor<1xi16>
// CHECK-SAME:    decay_kind = "kept_fraction_q12"
// CHECK-SAME:    rounding = "toward_zero"
// CHECK-SAME:    voltage_bits = 16 : i64
// CHECK-SAME:    : tensor<1xi32> -> tensor<1xi8>
// CHECK-NEXT:    fxp.output "output"(%[[LIF]]) {scale = dense<1.0> : tensor<f64>} : tensor<1xi8>

// A decay of 0.96 loses 1/25 per step, closest to a shift of 5 (1/32).
// SHIFT-LABEL: fxp.graph @lif
// SHIFT:         weight = dense<{{\[\[}}7]]> : tensor<1x1xi8>
// SHIFT:         fxp.lif "lif"(%{{.*}}) {voltage_decay = dense<[5]> : tensor<1xi16>
// SHIFT-SAME:    decay_kind = "shift"
// SHIFT-SAME:    rounding = "floor"

// INVALID: error: quantize: invalid rounding 'banker'; expected one of nearest, toward_zero, floor, stochastic
snn.graph @lif attributes {dt = 0.0001 : f64} {
  %input = snn.input "input" : tensor<1xf32>
  %fc = snn.affine "fc"(%input) {weight = dense<[[1.0]]> : tensor<1x1xf32>, bias = dense<[0.0]> : tensor<1xf32>} : tensor<1xf32>
  %lif = snn.lif "lif"(%fc) {voltage_decay = dense<[0.96]> : tensor<1xf64>, voltage_gain = dense<[0.04]> : tensor<1xf64>, leak = dense<[0.0]> : tensor<1xf64>, v_threshold = dense<[0.1]> : tensor<1xf64>, v_reset = dense<[0.0]> : tensor<1xf64>, spike_test = "gt", spike_timing = "after_update", reset = "to_reset_value", max_spikes_per_step = 1 : i64, integrator = "forward_euler"} : tensor<1xf32>
  snn.output "output"(%lif) : tensor<1xf32>
}

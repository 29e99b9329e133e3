// Every fxp op survives print -> parse -> print, in the custom and the generic form.
// RUN: nir-opt %s | filecheck %s
// RUN: nir-opt %s | nir-opt | filecheck %s
// RUN: nir-opt %s --print-op-generic | nir-opt | filecheck %s

// CHECK-LABEL: fxp.graph @maps attributes {dt = 0.0001 : f64}
// CHECK-NEXT:    %[[IMG:.*]] = fxp.input "image" {scale = 1.0 : f64} : tensor<2x8x8xi8>
// CHECK-NEXT:    %[[CONV:.*]] = fxp.conv2d "conv"(%[[IMG]]) {stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, weight = dense<3> : tensor<4x2x3x3xi8>, weight_bits = 8 : i64, weight_scale = dense<0.01> : tensor<f64>, input_scale = 1.0 : f64, folded_gain = dense<1.0> : tensor<f64>, bias = dense<[1, 2, 3, 4]> : tensor<4xi32>, saturate = true} : tensor<2x8x8xi8> -> tensor<4x8x8xi32>
// CHECK-NEXT:    %[[SUM:.*]] = fxp.sum_pool2d "sum"(%[[CONV]]) {kernel_size = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>, saturate = false} : tensor<4x8x8xi32> -> tensor<4x4x4xi32>
// CHECK-NEXT:    %[[FLAT:.*]] = fxp.flatten "flat"(%[[SUM]]) {start_dim = 0 : i64, end_dim = -1 : i64} : tensor<4x4x4xi32> -> tensor<64xi32>
// CHECK-NEXT:    %[[RESCALE:.*]] = fxp.rescale "rescale"(%[[FLAT]]) {multiplier = dense<3> : tensor<i16>, shift = 4 : i64, rounding = "stochastic", rounding_seed = 7 : i64, saturate = true} : tensor<64xi32> -> tensor<64xi16>
// CHECK-NEXT:    %[[TH:.*]] = fxp.threshold "th"(%[[RESCALE]]) {threshold = dense<100> : tensor<64xi16>, spike_test = "gt"} : tensor<64xi16> -> tensor<64xi1>
// CHECK-NEXT:    %[[DELAY:.*]] = fxp.delay "delay"(%[[TH]]) {steps = dense<2> : tensor<64xi64>} : tensor<64xi1>
// CHECK-NEXT:    fxp.output "out"(%[[DELAY]]) {scale = dense<1.0> : tensor<f64>} : tensor<64xi1>
fxp.graph @maps attributes {dt = 0.0001 : f64} {
  %image = fxp.input "image" {scale = 1.0 : f64} : tensor<2x8x8xi8>
  %conv = fxp.conv2d "conv"(%image) {weight = dense<3> : tensor<4x2x3x3xi8>, weight_bits = 8 : i64, weight_scale = dense<0.01> : tensor<f64>, input_scale = 1.0 : f64, folded_gain = dense<1.0> : tensor<f64>, bias = dense<[1, 2, 3, 4]> : tensor<4xi32>, saturate = true, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x8x8xi8> -> tensor<4x8x8xi32>
  %sum = fxp.sum_pool2d "sum"(%conv) {kernel_size = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>, saturate = false} : tensor<4x8x8xi32> -> tensor<4x4x4xi32>
  %flat = fxp.flatten "flat"(%sum) {start_dim = 0 : i64, end_dim = -1 : i64} : tensor<4x4x4xi32> -> tensor<64xi32>
  %rescale = fxp.rescale "rescale"(%flat) {multiplier = dense<3> : tensor<i16>, shift = 4 : i64, rounding = "stochastic", rounding_seed = 7 : i64, saturate = true} : tensor<64xi32> -> tensor<64xi16>
  %th = fxp.threshold "th"(%rescale) {threshold = dense<100> : tensor<64xi16>, spike_test = "gt"} : tensor<64xi16> -> tensor<64xi1>
  %delay = fxp.delay "delay"(%th) {steps = dense<2> : tensor<64xi64>} : tensor<64xi1>
  fxp.output "out"(%delay) {scale = dense<1.0> : tensor<f64>} : tensor<64xi1>
}

// Loihi-like CUBA neurons: 24-bit states, truncating 12-bit decays, a wrapping current.
// CHECK-LABEL: fxp.graph @neurons
// CHECK:         %[[CUBA:.*]] = fxp.cuba_lif "cuba"(%[[FC:.*]], %[[BACK:[^)]*]]) {current_decay = dense<0> : tensor<2xi16>, voltage_decay = dense<3933> : tensor<2xi16>, leak = dense<0> : tensor<2xi32>, v_threshold = dense<1600> : tensor<2xi32>, v_reset = dense<0> : tensor<2xi32>, spike_test = "gt", spike_timing = "after_update", reset = "to_reset_value", max_spikes_per_step = 1 : i64, current_scale = dense<6.25e-05> : tensor<f64>, current_bits = 24 : i64, current_saturate = false, current_timing = "same_step", decay_kind = "kept_fraction_q12", decay_min_step = 0 : i64, rounding = "toward_zero", voltage_scale = dense<6.25e-05> : tensor<f64>, voltage_bits = 24 : i64, voltage_saturate = true} : tensor<2xi32> -> tensor<2xi8>
// CHECK-NEXT:    %[[REC:.*]] = fxp.affine "rec"(%[[CUBA]])
// CHECK-NEXT:    %[[BACK]] = fxp.step_delay "rec->cuba"(%[[REC]]) {steps = 1 : i64} : tensor<2xi32>
// Xylo-like leaky integrator: shift decay with a minimum step of one unit, flooring.
// CHECK-NEXT:    fxp.li "li"(%[[CUBA]]) {voltage_decay = dense<3> : tensor<2xi16>, leak = dense<0> : tensor<2xi16>, decay_kind = "shift", decay_min_step = 1 : i64, rounding = "floor"
// CHECK-NEXT:    fxp.cuba_li "cuba_li"
// CHECK-NEXT:    fxp.integrator "integrator"
// CHECK-NEXT:    fxp.lif "lif"
fxp.graph @neurons attributes {dt = 0.0001 : f64} {
  %in = fxp.input "in" {scale = 1.0 : f64} : tensor<2xi8>
  %fc = fxp.affine "fc"(%in) {weight = dense<100> : tensor<2x2xi8>, weight_bits = 8 : i64, weight_scale = dense<6.25e-05> : tensor<f64>, input_scale = 1.0 : f64, folded_gain = dense<[1.0, 0.5]> : tensor<2xf64>, saturate = true} : tensor<2xi8> -> tensor<2xi32>
  %cuba = fxp.cuba_lif "cuba"(%fc, %back) {current_decay = dense<0> : tensor<2xi16>, voltage_decay = dense<3933> : tensor<2xi16>, leak = dense<0> : tensor<2xi32>, v_threshold = dense<1600> : tensor<2xi32>, v_reset = dense<0> : tensor<2xi32>, spike_test = "gt", spike_timing = "after_update", reset = "to_reset_value", max_spikes_per_step = 1 : i64, current_scale = dense<6.25e-05> : tensor<f64>, current_bits = 24 : i64, current_saturate = false, current_timing = "same_step", decay_kind = "kept_fraction_q12", decay_min_step = 0 : i64, rounding = "toward_zero", voltage_scale = dense<6.25e-05> : tensor<f64>, voltage_bits = 24 : i64, voltage_saturate = true} : tensor<2xi32> -> tensor<2xi8>
  %rec = fxp.affine "rec"(%cuba) {weight = dense<-5> : tensor<2x2xi8>, weight_bits = 8 : i64, weight_scale = dense<6.25e-05> : tensor<f64>, input_scale = 1.0 : f64, folded_gain = dense<1.0> : tensor<f64>, saturate = true} : tensor<2xi8> -> tensor<2xi32>
  %back = fxp.step_delay "rec->cuba"(%rec) {steps = 1 : i64} : tensor<2xi32>
  %li = fxp.li "li"(%cuba) {voltage_decay = dense<3> : tensor<2xi16>, leak = dense<0> : tensor<2xi16>, decay_kind = "shift", decay_min_step = 1 : i64, rounding = "floor", voltage_scale = dense<[0.5, 0.25]> : tensor<2xf64>, voltage_bits = 16 : i64, voltage_saturate = true} : tensor<2xi8> -> tensor<2xi16>
  %cuba_li = fxp.cuba_li "cuba_li"(%li) {current_decay = dense<2048> : tensor<2xi16>, voltage_decay = dense<164> : tensor<2xi16>, leak = dense<1> : tensor<2xi16>, current_scale = dense<0.01> : tensor<f64>, current_bits = 16 : i64, current_saturate = true, current_timing = "previous_step", decay_kind = "lost_fraction_q12", decay_min_step = 0 : i64, rounding = "nearest", voltage_scale = dense<0.001> : tensor<f64>, voltage_bits = 16 : i64, voltage_saturate = true} : tensor<2xi16> -> tensor<2xi16>
  %integrator = fxp.integrator "integrator"(%cuba_li) {voltage_scale = dense<0.001> : tensor<f64>, voltage_bits = 16 : i64, voltage_saturate = true} : tensor<2xi16> -> tensor<2xi16>
  %lif = fxp.lif "lif"(%integrator) {voltage_decay = dense<4096> : tensor<2xi16>, leak = dense<0> : tensor<2xi16>, v_threshold = dense<100> : tensor<2xi16>, v_reset = dense<0> : tensor<2xi16>, spike_test = "ge", spike_timing = "after_update", reset = "subtract", max_spikes_per_step = 31 : i64, decay_kind = "kept_fraction_q12", decay_min_step = 0 : i64, rounding = "toward_zero", voltage_scale = dense<0.001> : tensor<f64>, voltage_bits = 16 : i64, voltage_saturate = true} : tensor<2xi16> -> tensor<2xi8>
  fxp.output "out"(%lif) {scale = dense<1.0> : tensor<f64>} : tensor<2xi8>
}

// A chip with 8-bit threshold registers: threshold_bits narrows v_threshold and v_reset.
// CHECK-LABEL: fxp.graph @thresholds
// CHECK:         fxp.lif "lif"(%{{.*}}) {voltage_decay = dense<4096> : tensor<2xi16>, leak = dense<0> : tensor<2xi16>, v_threshold = dense<100> : tensor<2xi8>, v_reset = dense<-20> : tensor<2xi8>, threshold_bits = 8 : i64, spike_test = "gt"
fxp.graph @thresholds attributes {dt = 0.0001 : f64} {
  %in = fxp.input "in" {scale = 1.0 : f64} : tensor<2xi16>
  %lif = fxp.lif "lif"(%in) {voltage_decay = dense<4096> : tensor<2xi16>, leak = dense<0> : tensor<2xi16>, v_threshold = dense<100> : tensor<2xi8>, v_reset = dense<-20> : tensor<2xi8>, threshold_bits = 8 : i64, spike_test = "gt", spike_timing = "after_update", reset = "to_reset_value", max_spikes_per_step = 1 : i64, decay_kind = "kept_fraction_q12", decay_min_step = 0 : i64, rounding = "toward_zero", voltage_scale = dense<0.001> : tensor<f64>, voltage_bits = 16 : i64, voltage_saturate = true} : tensor<2xi16> -> tensor<2xi8>
  fxp.output "out"(%lif) {scale = dense<1.0> : tensor<f64>} : tensor<2xi8>
}

// Every snn op survives print -> parse -> print, in the custom and the generic form.
// RUN: nir-opt %s | filecheck %s
// RUN: nir-opt %s | nir-opt | filecheck %s
// RUN: nir-opt %s --print-op-generic | nir-opt | filecheck %s

// CHECK-LABEL: snn.graph @maps attributes {dt = 0.0001 : f64}
// CHECK-NEXT:    %[[IMG:.*]] = snn.input "image" : tensor<2x8x8xf32>
// CHECK-NEXT:    %[[CONV:.*]] = snn.conv2d "conv"(%[[IMG]]) {weight = dense<1.0> : tensor<4x2x3x3xf32>, bias = dense<0.0> : tensor<4xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x8x8xf32> -> tensor<4x8x8xf32>
// CHECK-NEXT:    %[[SUM:.*]] = snn.sum_pool2d "sum"(%[[CONV]]) {kernel_size = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>} : tensor<4x8x8xf32> -> tensor<4x4x4xf32>
// CHECK-NEXT:    %[[AVG:.*]] = snn.avg_pool2d "avg"(%[[SUM]])
// CHECK-NEXT:    %[[FLAT:.*]] = snn.flatten "flat"(%[[AVG]]) {start_dim = 0 : i64, end_dim = -1 : i64} : tensor<4x2x2xf32> -> tensor<16xf32>
// CHECK-NEXT:    %[[FC:.*]] = snn.affine "fc"(%[[FLAT]]) {weight = dense<0.5> : tensor<3x16xf32>} : tensor<16xf32> -> tensor<3xf32>
// CHECK-NEXT:    %[[SCALE:.*]] = snn.scale "scale"(%[[FC]]) {scale = dense<2.0> : tensor<3xf32>} : tensor<3xf32>
// CHECK-NEXT:    %[[TH:.*]] = snn.threshold "th"(%[[SCALE]]) {threshold = dense<1.0> : tensor<3xf32>, spike_test = "ge"} : tensor<3xf32>
// CHECK-NEXT:    %[[DELAY:.*]] = snn.delay "delay"(%[[TH]]) {steps = dense<[0, 1, 2]> : tensor<3xi64>} : tensor<3xf32>
// CHECK-NEXT:    %[[SIG:.*]] = snn.input "signal" : tensor<3x10xf32>
// CHECK-NEXT:    %[[C1:.*]] = snn.conv1d "conv1d"(%[[SIG]])
// CHECK-NEXT:    snn.output "out"(%[[DELAY]]) : tensor<3xf32>
// CHECK-NEXT:    snn.output "out1d"(%[[C1]]) : tensor<2x5xf32>
snn.graph @maps attributes {dt = 0.0001 : f64} {
  %image = snn.input "image" : tensor<2x8x8xf32>
  %conv = snn.conv2d "conv"(%image) {weight = dense<1.0> : tensor<4x2x3x3xf32>, bias = dense<0.0> : tensor<4xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x8x8xf32> -> tensor<4x8x8xf32>
  %sum = snn.sum_pool2d "sum"(%conv) {kernel_size = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>} : tensor<4x8x8xf32> -> tensor<4x4x4xf32>
  %avg = snn.avg_pool2d "avg"(%sum) {kernel_size = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>} : tensor<4x4x4xf32> -> tensor<4x2x2xf32>
  %flat = snn.flatten "flat"(%avg) {start_dim = 0 : i64, end_dim = -1 : i64} : tensor<4x2x2xf32> -> tensor<16xf32>
  %fc = snn.affine "fc"(%flat) {weight = dense<0.5> : tensor<3x16xf32>} : tensor<16xf32> -> tensor<3xf32>
  %scale = snn.scale "scale"(%fc) {scale = dense<2.0> : tensor<3xf32>} : tensor<3xf32>
  %th = snn.threshold "th"(%scale) {threshold = dense<1.0> : tensor<3xf32>, spike_test = "ge"} : tensor<3xf32>
  %delay = snn.delay "delay"(%th) {steps = dense<[0, 1, 2]> : tensor<3xi64>} : tensor<3xf32>
  %signal = snn.input "signal" : tensor<3x10xf32>
  %conv1d = snn.conv1d "conv1d"(%signal) {weight = dense<1.0> : tensor<2x3x3xf32>, stride = array<i64: 2>, padding = array<i64: 1>, dilation = array<i64: 1>, groups = 1 : i64} : tensor<3x10xf32> -> tensor<2x5xf32>
  snn.output "out"(%delay) : tensor<3xf32>
  snn.output "out1d"(%conv1d) : tensor<2x5xf32>
}

// CHECK-LABEL: snn.graph @neurons attributes {dt = 0.0001 : f64}
// CHECK:         %[[LIF:.*]] = snn.lif "lif"(%{{.*}}, %[[BACK:[^)]*]]) {voltage_decay = dense<0.96> : tensor<2xf64>, voltage_gain = dense<0.04> : tensor<2xf64>, leak = dense<0.0> : tensor<2xf64>, v_threshold = dense<0.1> : tensor<2xf64>, v_reset = dense<0.0> : tensor<2xf64>, spike_test = "gt", spike_timing = "after_update", reset = "to_reset_value", max_spikes_per_step = 1 : i64, integrator = "forward_euler"} : tensor<2xf32>
// CHECK-NEXT:    %[[BACK]] = snn.step_delay "lif->lif"(%[[LIF]]) {steps = 1 : i64} : tensor<2xf32>
// CHECK-NEXT:    snn.cuba_lif "cuba_lif"(%[[LIF]]) {current_decay = dense<0.55> : tensor<2xf64>, current_gain = dense<1.0> : tensor<2xf64>, voltage_decay = dense<0.9> : tensor<2xf64>, voltage_gain = dense<1.0> : tensor<2xf64>, leak = dense<0.0> : tensor<2xf64>, v_threshold = dense<1.0> : tensor<2xf64>, v_reset = dense<0.0> : tensor<2xf64>, spike_test = "gt", spike_timing = "before_update", reset = "subtract", max_spikes_per_step = 3 : i64, current_timing = "previous_step", integrator = "forward_euler"} : tensor<2xf32>
// CHECK-NEXT:    snn.li "li"
// CHECK-NEXT:    snn.cuba_li "cuba_li"
// CHECK-NEXT:    snn.integrator "integrator"(%{{.*}}) {voltage_gain = dense<1.0> : tensor<2xf64>, integrator = "forward_euler"} : tensor<2xf32>
snn.graph @neurons attributes {dt = 0.0001 : f64} {
  %in = snn.input "in" : tensor<2xf32>
  %lif = snn.lif "lif"(%in, %back) {voltage_decay = dense<0.96> : tensor<2xf64>, voltage_gain = dense<0.04> : tensor<2xf64>, leak = dense<0.0> : tensor<2xf64>, v_threshold = dense<0.1> : tensor<2xf64>, v_reset = dense<0.0> : tensor<2xf64>, spike_test = "gt", spike_timing = "after_update", reset = "to_reset_value", max_spikes_per_step = 1 : i64, integrator = "forward_euler"} : tensor<2xf32>
  %back = snn.step_delay "lif->lif"(%lif) {steps = 1 : i64} : tensor<2xf32>
  %cuba = snn.cuba_lif "cuba_lif"(%lif) {current_decay = dense<0.55> : tensor<2xf64>, current_gain = dense<1.0> : tensor<2xf64>, voltage_decay = dense<0.9> : tensor<2xf64>, voltage_gain = dense<1.0> : tensor<2xf64>, leak = dense<0.0> : tensor<2xf64>, v_threshold = dense<1.0> : tensor<2xf64>, v_reset = dense<0.0> : tensor<2xf64>, spike_test = "gt", spike_timing = "before_update", reset = "subtract", max_spikes_per_step = 3 : i64, current_timing = "previous_step", integrator = "forward_euler"} : tensor<2xf32>
  %li = snn.li "li"(%cuba) {voltage_decay = dense<0.96> : tensor<2xf64>, voltage_gain = dense<0.04> : tensor<2xf64>, leak = dense<0.0> : tensor<2xf64>, integrator = "exp_euler"} : tensor<2xf32>
  %cuba_li = snn.cuba_li "cuba_li"(%li) {current_decay = dense<0.5> : tensor<2xf64>, current_gain = dense<0.5> : tensor<2xf64>, voltage_decay = dense<0.9> : tensor<2xf64>, voltage_gain = dense<0.1> : tensor<2xf64>, leak = dense<0.0> : tensor<2xf64>, current_timing = "same_step", integrator = "zero_order_hold"} : tensor<2xf32>
  %integrator = snn.integrator "integrator"(%cuba_li) {voltage_gain = dense<1.0> : tensor<2xf64>, integrator = "forward_euler"} : tensor<2xf32>
  snn.output "out"(%integrator) : tensor<2xf32>
}

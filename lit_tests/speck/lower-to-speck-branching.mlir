// lower-to-speck on a residual network: l0 feeds l1 and l2, and l2 convolves the sum of the
// events of l0 and l1. So core 0 has two destinations and core 2 two sources.
// RUN: nir-opt %s --lower-to-speck | filecheck %s
// RUN: nir-opt %s --lower-to-speck | nir-opt | filecheck %s
// RUN: nir-opt %s --lower-to-speck | nir-translate --speck-json | filecheck %s --check-prefix=JSON

// CHECK-LABEL: speck.graph @main
// CHECK: %[[L0:.*]] = speck.core "l0"(%input) {core = 0 : i64,
// CHECK-SAME: destinations = array<i64: 1, 2>, pooling = array<i64: 1, 1>, feature_shift = array<i64: 0, 0>
// CHECK: %[[L1:.*]] = speck.core "l1"(%[[L0]]) {core = 1 : i64,
// CHECK-SAME: destinations = array<i64: 2>, pooling = array<i64: 1>
// CHECK: %[[L2:.*]] = speck.core "l2"(%[[L0]], %[[L1]]) {core = 2 : i64,
// CHECK-SAME: monitor_enable = true, destinations = array<i64>
// CHECK: speck.output "output"(%[[L2]])

// JSON: "destinations":[{"enable":true,"layer":1,"pooling":1,"feature_shift":0},{"enable":true,"layer":2,"pooling":1,"feature_shift":0}]
// JSON-SAME: "destinations":[{"enable":true,"layer":2,"pooling":1,"feature_shift":0},{"enable":false}]
// JSON-SAME: "destinations":[{"enable":false},{"enable":false}]

builtin.module {
  nir.graph @main {
    %input = nir.input "input" : tensor<2x8x8xf32>
    %c0 = nir.conv2d "c0"(%input) {weight = dense<0.2> : tensor<4x2x3x3xf32>, bias = dense<0.0> : tensor<4xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 8, 8>} : tensor<2x8x8xf32> -> tensor<4x8x8xf32>
    %l0 = nir.if "l0"(%c0) {r = dense<1.0> : tensor<4x8x8xf32>, v_threshold = dense<1.0> : tensor<4x8x8xf32>, v_reset = dense<0.0> : tensor<4x8x8xf32>} : tensor<4x8x8xf32>
    %c1 = nir.conv2d "c1"(%l0) {weight = dense<0.2> : tensor<4x4x3x3xf32>, bias = dense<0.0> : tensor<4xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 8, 8>} : tensor<4x8x8xf32> -> tensor<4x8x8xf32>
    %l1 = nir.if "l1"(%c1) {r = dense<1.0> : tensor<4x8x8xf32>, v_threshold = dense<1.0> : tensor<4x8x8xf32>, v_reset = dense<0.0> : tensor<4x8x8xf32>} : tensor<4x8x8xf32>
    %c2 = nir.conv2d "c2"(%l0, %l1) {weight = dense<0.2> : tensor<4x4x3x3xf32>, bias = dense<0.0> : tensor<4xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 8, 8>} : tensor<4x8x8xf32> -> tensor<4x8x8xf32>
    %l2 = nir.if "l2"(%c2) {r = dense<1.0> : tensor<4x8x8xf32>, v_threshold = dense<1.0> : tensor<4x8x8xf32>, v_reset = dense<0.0> : tensor<4x8x8xf32>} : tensor<4x8x8xf32>
    nir.output "output"(%l2) : tensor<4x8x8xf32>
  }
}

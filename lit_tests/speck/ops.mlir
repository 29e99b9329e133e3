// The speck ops print and parse back unchanged, in the custom and the generic form.
// RUN: nir-opt %s | filecheck %s
// RUN: nir-opt %s | nir-opt | filecheck %s
// RUN: nir-opt %s --print-op-generic | nir-opt | filecheck %s

// CHECK-LABEL: speck.graph @two_cores attributes {dt = 1.0 : f64}
// CHECK-NEXT: %in = speck.input "in" {source = "external"} : tensor<2x8x8xi32>
// CHECK-NEXT: %conv = speck.core "conv"(%in) {core = 0 : i64, weight = dense<1> : tensor<4x2x3x3xi8>, bias = dense<[0, 1, -2, 3]> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = true, monitor_enable = false, destinations = array<i64: 1>, pooling = array<i64: 2>, feature_shift = array<i64: 0>, voltage_scale = 0.1 : f64} : tensor<2x8x8xi32> -> tensor<4x4x4xi32>
// CHECK-NEXT: %fc = speck.core "fc"(%conv) {core = 1 : i64, weight = dense<-3> : tensor<3x4x4x4xi8>, bias = dense<0> : tensor<3xi8>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, threshold_high = 100 : i64, threshold_low = -32768 : i64, return_to_zero = true, leak_enable = false, monitor_enable = true, destinations = array<i64>, pooling = array<i64>, feature_shift = array<i64>, voltage_scale = 0.01 : f64} : tensor<4x4x4xi32> -> tensor<3x1x1xi32>
// CHECK-NEXT: speck.output "out"(%fc) : tensor<3x1x1xi32>
speck.graph @two_cores attributes {dt = 1.0 : f64} {
  %in = speck.input "in" {source = "external"} : tensor<2x8x8xi32>
  %conv = speck.core "conv"(%in) {core = 0 : i64, weight = dense<1> : tensor<4x2x3x3xi8>, bias = dense<[0, 1, -2, 3]> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = true, monitor_enable = false, destinations = array<i64: 1>, pooling = array<i64: 2>, feature_shift = array<i64: 0>, voltage_scale = 0.1 : f64} : tensor<2x8x8xi32> -> tensor<4x4x4xi32>
  %fc = speck.core "fc"(%conv) {core = 1 : i64, weight = dense<-3> : tensor<3x4x4x4xi8>, bias = dense<0> : tensor<3xi8>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, threshold_high = 100 : i64, threshold_low = -32768 : i64, return_to_zero = true, leak_enable = false, monitor_enable = true, destinations = array<i64>, pooling = array<i64>, feature_shift = array<i64>, voltage_scale = 0.01 : f64} : tensor<4x4x4xi32> -> tensor<3x1x1xi32>
  speck.output "out"(%fc) : tensor<3x1x1xi32>
}

// CHECK-LABEL: speck.graph @dvs
// CHECK-NEXT: %events = speck.input "events" {source = "dvs"} : tensor<2x128x128xi32>
speck.graph @dvs attributes {dt = 0.001 : f64} {
  %events = speck.input "events" {source = "dvs"} : tensor<2x128x128xi32>
  %c = speck.core "c"(%events) {core = 0 : i64, weight = dense<1> : tensor<8x2x2x2xi8>, bias = dense<0> : tensor<8xi8>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>, threshold_high = 1 : i64, threshold_low = 0 : i64, return_to_zero = false, leak_enable = false, monitor_enable = true, destinations = array<i64>, pooling = array<i64>, feature_shift = array<i64>, voltage_scale = 1.0 : f64} : tensor<2x128x128xi32> -> tensor<8x64x64xi32>
  speck.output "out"(%c) : tensor<8x64x64xi32>
}

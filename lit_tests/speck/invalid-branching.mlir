// Verifier rules of the speck dialect for branching: fan-in shapes, sources, destinations and their pooling.
// RUN: nir-opt %s --split-input-file --verify-diagnostics

// A core convolves the sum of its sources' events, so they have one shape (the custom form states one
// operand type, so this case is written in the generic form).
speck.graph @g attributes {dt = 1.0 : f64} {
  %in = speck.input "in" {source = "external"} : tensor<2x8x8xi32>
  %a = speck.core "a"(%in) {core = 0 : i64, weight = dense<1> : tensor<4x2x3x3xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = false, destinations = array<i64: 1, 2>, pooling = array<i64: 1, 1>, feature_shift = array<i64: 0, 0>, voltage_scale = 0.1 : f64} : tensor<2x8x8xi32> -> tensor<4x8x8xi32>
  %b = speck.core "b"(%a) {core = 1 : i64, weight = dense<1> : tensor<4x4x3x3xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = false, destinations = array<i64: 2>, pooling = array<i64: 2>, feature_shift = array<i64: 0>, voltage_scale = 0.1 : f64} : tensor<4x8x8xi32> -> tensor<4x4x4xi32>
  // expected-error @+1 {{'speck.core' op node 'c': operand 1 has type tensor<4x4x4xi32> but operand 0 has shape [4, 8, 8]; a core sums the events of its sources, which must have one shape}}
  %c = "speck.core"(%a, %b) <{node_name = "c", core = 2 : i64, weight = dense<1> : tensor<4x4x3x3xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = true, destinations = array<i64>, pooling = array<i64>, feature_shift = array<i64>, voltage_scale = 0.1 : f64}> : (tensor<4x8x8xi32>, tensor<4x4x4xi32>) -> tensor<4x8x8xi32>
}

// -----

// A core receives each source's events once.
speck.graph @g attributes {dt = 1.0 : f64} {
  %in = speck.input "in" {source = "external"} : tensor<2x8x8xi32>
  %a = speck.core "a"(%in) {core = 0 : i64, weight = dense<1> : tensor<4x2x3x3xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = false, destinations = array<i64: 1>, pooling = array<i64: 1>, feature_shift = array<i64: 0>, voltage_scale = 0.1 : f64} : tensor<2x8x8xi32> -> tensor<4x8x8xi32>
  // expected-error @+1 {{'speck.core' op node 'b': the operands name one source twice; a core receives each source's events once, so double the weights instead}}
  %b = speck.core "b"(%a, %a) {core = 1 : i64, weight = dense<1> : tensor<4x4x3x3xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = true, destinations = array<i64>, pooling = array<i64>, feature_shift = array<i64>, voltage_scale = 0.1 : f64} : tensor<4x8x8xi32> -> tensor<4x8x8xi32>
}

// -----

// A core sends to at most two cores.
speck.graph @g attributes {dt = 1.0 : f64} {
  %in = speck.input "in" {source = "external"} : tensor<2x8x8xi32>
  // expected-error @+1 {{'speck.core' op node 'a': core 0 has 3 destinations; a core sends to at most 2, so split the fan-out over copies of this layer}}
  %a = speck.core "a"(%in) {core = 0 : i64, weight = dense<1> : tensor<4x2x3x3xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = false, destinations = array<i64: 1, 2, 3>, pooling = array<i64: 1, 1, 1>, feature_shift = array<i64: 0, 0, 0>, voltage_scale = 0.1 : f64} : tensor<2x8x8xi32> -> tensor<4x8x8xi32>
  %b = speck.core "b"(%a) {core = 1 : i64, weight = dense<1> : tensor<4x4x3x3xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = true, destinations = array<i64>, pooling = array<i64>, feature_shift = array<i64>, voltage_scale = 0.1 : f64} : tensor<4x8x8xi32> -> tensor<4x8x8xi32>
  %c = speck.core "c"(%a) {core = 2 : i64, weight = dense<1> : tensor<4x4x3x3xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = true, destinations = array<i64>, pooling = array<i64>, feature_shift = array<i64>, voltage_scale = 0.1 : f64} : tensor<4x8x8xi32> -> tensor<4x8x8xi32>
  %d = speck.core "d"(%a) {core = 3 : i64, weight = dense<1> : tensor<4x4x3x3xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = true, destinations = array<i64>, pooling = array<i64>, feature_shift = array<i64>, voltage_scale = 0.1 : f64} : tensor<4x8x8xi32> -> tensor<4x8x8xi32>
}

// -----

// The destination registers list every core that reads the events.
speck.graph @g attributes {dt = 1.0 : f64} {
  %in = speck.input "in" {source = "external"} : tensor<2x8x8xi32>
  // expected-error @+1 {{'speck.core' op node 'a': core 0 lists destinations [1] but cores [1, 2] read its events; the destinations must name exactly the reading cores}}
  %a = speck.core "a"(%in) {core = 0 : i64, weight = dense<1> : tensor<4x2x3x3xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = false, destinations = array<i64: 1>, pooling = array<i64: 1>, feature_shift = array<i64: 0>, voltage_scale = 0.1 : f64} : tensor<2x8x8xi32> -> tensor<4x8x8xi32>
  %b = speck.core "b"(%a) {core = 1 : i64, weight = dense<1> : tensor<4x4x3x3xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = true, destinations = array<i64>, pooling = array<i64>, feature_shift = array<i64>, voltage_scale = 0.1 : f64} : tensor<4x8x8xi32> -> tensor<4x8x8xi32>
  %c = speck.core "c"(%a) {core = 2 : i64, weight = dense<1> : tensor<4x4x3x3xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = true, destinations = array<i64>, pooling = array<i64>, feature_shift = array<i64>, voltage_scale = 0.1 : f64} : tensor<4x8x8xi32> -> tensor<4x8x8xi32>
}

// -----

// One pooled result per core: both destinations pool the same.
speck.graph @g attributes {dt = 1.0 : f64} {
  %in = speck.input "in" {source = "external"} : tensor<2x8x8xi32>
  // expected-error @+1 {{'speck.core' op node 'a': the destinations pool by [1, 2]; this dialect models one pooled result per core, so give every destination the same pooling}}
  %a = speck.core "a"(%in) {core = 0 : i64, weight = dense<1> : tensor<4x2x3x3xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = false, destinations = array<i64: 1, 2>, pooling = array<i64: 1, 2>, feature_shift = array<i64: 0, 0>, voltage_scale = 0.1 : f64} : tensor<2x8x8xi32> -> tensor<4x8x8xi32>
  %b = speck.core "b"(%a) {core = 1 : i64, weight = dense<1> : tensor<4x4x3x3xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = true, destinations = array<i64>, pooling = array<i64>, feature_shift = array<i64>, voltage_scale = 0.1 : f64} : tensor<4x8x8xi32> -> tensor<4x8x8xi32>
  %c = speck.core "c"(%a) {core = 2 : i64, weight = dense<1> : tensor<4x4x3x3xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = true, destinations = array<i64>, pooling = array<i64>, feature_shift = array<i64>, voltage_scale = 0.1 : f64} : tensor<4x8x8xi32> -> tensor<4x8x8xi32>
}

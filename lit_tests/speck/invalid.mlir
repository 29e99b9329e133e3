// One case per verifier rule of the speck dialect: the chip's limits and the core memories.
// RUN: nir-opt %s --split-input-file --verify-diagnostics

// Speck has cores 0 to 8.
speck.graph @g attributes {dt = 1.0 : f64} {
  %in = speck.input "in" {source = "external"} : tensor<2x8x8xi32>
  // expected-error @+1 {{'speck.core' op node 'c': 'core' is 9; Speck has cores 0 to 8}}
  %c = speck.core "c"(%in) {core = 9 : i64, weight = dense<1> : tensor<4x2x3x3xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = false, destinations = array<i64>, pooling = array<i64>, feature_shift = array<i64>, voltage_scale = 0.1 : f64} : tensor<2x8x8xi32> -> tensor<4x8x8xi32>
}

// -----

// Weights are 8-bit registers.
speck.graph @g attributes {dt = 1.0 : f64} {
  %in = speck.input "in" {source = "external"} : tensor<2x8x8xi32>
  // expected-error @+1 {{'weight' has values in [200, 200], outside the 8-bit register range [-128, 127]}}
  %c = speck.core "c"(%in) {core = 0 : i64, weight = dense<200> : tensor<4x2x3x3xi16>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = false, destinations = array<i64>, pooling = array<i64>, feature_shift = array<i64>, voltage_scale = 0.1 : f64} : tensor<2x8x8xi32> -> tensor<4x8x8xi32>
}

// -----

// Biases are 8-bit registers too.
speck.graph @g attributes {dt = 1.0 : f64} {
  %in = speck.input "in" {source = "external"} : tensor<2x8x8xi32>
  // expected-error @+1 {{'bias' has values in [-300, -300], outside the 8-bit register range [-128, 127]}}
  %c = speck.core "c"(%in) {core = 0 : i64, weight = dense<1> : tensor<4x2x3x3xi8>, bias = dense<-300> : tensor<4xi16>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = false, destinations = array<i64>, pooling = array<i64>, feature_shift = array<i64>, voltage_scale = 0.1 : f64} : tensor<2x8x8xi32> -> tensor<4x8x8xi32>
}

// -----

// Weights are integers.
speck.graph @g attributes {dt = 1.0 : f64} {
  %in = speck.input "in" {source = "external"} : tensor<2x8x8xi32>
  // expected-error @+1 {{'weight' must be an integer tensor}}
  %c = speck.core "c"(%in) {core = 0 : i64, weight = dense<1.0> : tensor<4x2x3x3xf32>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = false, destinations = array<i64>, pooling = array<i64>, feature_shift = array<i64>, voltage_scale = 0.1 : f64} : tensor<2x8x8xi32> -> tensor<4x8x8xi32>
}

// -----

// The weight's input channels match the input.
speck.graph @g attributes {dt = 1.0 : f64} {
  %in = speck.input "in" {source = "external"} : tensor<2x8x8xi32>
  // expected-error @+1 {{'weight' has 3 input channels but the input has 2}}
  %c = speck.core "c"(%in) {core = 0 : i64, weight = dense<1> : tensor<4x3x3x3xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = false, destinations = array<i64>, pooling = array<i64>, feature_shift = array<i64>, voltage_scale = 0.1 : f64} : tensor<2x8x8xi32> -> tensor<4x8x8xi32>
}

// -----

// Kernels are square.
speck.graph @g attributes {dt = 1.0 : f64} {
  %in = speck.input "in" {source = "external"} : tensor<2x8x8xi32>
  // expected-error @+1 {{the kernel is 3x2; Speck kernels are square}}
  %c = speck.core "c"(%in) {core = 0 : i64, weight = dense<1> : tensor<4x2x3x2xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = false, destinations = array<i64>, pooling = array<i64>, feature_shift = array<i64>, voltage_scale = 0.1 : f64} : tensor<2x8x8xi32> -> tensor<4x8x8xi32>
}

// -----

// Kernels are at most 16x16.
speck.graph @g attributes {dt = 1.0 : f64} {
  %in = speck.input "in" {source = "external"} : tensor<1x20x20xi32>
  // expected-error @+1 {{the kernel is 17x17, larger than 16x16 by 1}}
  %c = speck.core "c"(%in) {core = 0 : i64, weight = dense<1> : tensor<1x1x17x17xi8>, bias = dense<0> : tensor<1xi8>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = false, destinations = array<i64>, pooling = array<i64>, feature_shift = array<i64>, voltage_scale = 0.1 : f64} : tensor<1x20x20xi32> -> tensor<1x4x4xi32>
}

// -----

// A core has at most 1024 channels.
speck.graph @g attributes {dt = 1.0 : f64} {
  %in = speck.input "in" {source = "external"} : tensor<1x1x1xi32>
  // expected-error @+1 {{1025 output channels exceed the 1024 of a core by 1}}
  %c = speck.core "c"(%in) {core = 0 : i64, weight = dense<1> : tensor<1025x1x1x1xi8>, bias = dense<0> : tensor<1025xi8>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = false, destinations = array<i64>, pooling = array<i64>, feature_shift = array<i64>, voltage_scale = 0.1 : f64} : tensor<1x1x1xi32> -> tensor<1025x1x1xi32>
}

// -----

// Strides are 1, 2, 4 or 8.
speck.graph @g attributes {dt = 1.0 : f64} {
  %in = speck.input "in" {source = "external"} : tensor<2x8x8xi32>
  // expected-error @+1 {{'stride' is [3, 3]; each of y and x must be one of [1, 2, 4, 8]}}
  %c = speck.core "c"(%in) {core = 0 : i64, weight = dense<1> : tensor<4x2x3x3xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 3, 3>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = false, destinations = array<i64>, pooling = array<i64>, feature_shift = array<i64>, voltage_scale = 0.1 : f64} : tensor<2x8x8xi32> -> tensor<4x3x3xi32>
}

// -----

// Padding is 0 to 7.
speck.graph @g attributes {dt = 1.0 : f64} {
  %in = speck.input "in" {source = "external"} : tensor<2x8x8xi32>
  // expected-error @+1 {{'padding' is [8, 8]; each of y and x must be 0 to 7}}
  %c = speck.core "c"(%in) {core = 0 : i64, weight = dense<1> : tensor<4x2x3x3xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 8, 8>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = false, destinations = array<i64>, pooling = array<i64>, feature_shift = array<i64>, voltage_scale = 0.1 : f64} : tensor<2x8x8xi32> -> tensor<4x22x22xi32>
}

// -----

// The neuron map is at most 64x64.
speck.graph @g attributes {dt = 1.0 : f64} {
  %in = speck.input "in" {source = "external"} : tensor<1x100x100xi32>
  // expected-error @+1 {{the neuron map is 100x100, larger than the 64x64 of a core by 36; use a larger stride}}
  %c = speck.core "c"(%in) {core = 0 : i64, weight = dense<1> : tensor<1x1x1x1xi8>, bias = dense<0> : tensor<1xi8>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = false, destinations = array<i64>, pooling = array<i64>, feature_shift = array<i64>, voltage_scale = 0.1 : f64} : tensor<1x100x100xi32> -> tensor<1x100x100xi32>
}

// -----

// The result is the neuron map after pooling.
speck.graph @g attributes {dt = 1.0 : f64} {
  %in = speck.input "in" {source = "external"} : tensor<2x8x8xi32>
  // expected-error @+1 {{the result has shape [4, 4, 4] but the 4x8x8 neuron map pooled by 1 gives [4, 8, 8]}}
  %c = speck.core "c"(%in) {core = 0 : i64, weight = dense<1> : tensor<4x2x3x3xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = false, destinations = array<i64>, pooling = array<i64>, feature_shift = array<i64>, voltage_scale = 0.1 : f64} : tensor<2x8x8xi32> -> tensor<4x4x4xi32>
}

// -----

// Thresholds are 16-bit registers.
speck.graph @g attributes {dt = 1.0 : f64} {
  %in = speck.input "in" {source = "external"} : tensor<2x8x8xi32>
  // expected-error @+1 {{'threshold_high' has values in [40000, 40000], outside the 16-bit register range [-32768, 32767]}}
  %c = speck.core "c"(%in) {core = 0 : i64, weight = dense<1> : tensor<4x2x3x3xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 40000 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = false, destinations = array<i64>, pooling = array<i64>, feature_shift = array<i64>, voltage_scale = 0.1 : f64} : tensor<2x8x8xi32> -> tensor<4x8x8xi32>
}

// -----

// The firing threshold is positive.
speck.graph @g attributes {dt = 1.0 : f64} {
  %in = speck.input "in" {source = "external"} : tensor<2x8x8xi32>
  // expected-error @+1 {{'threshold_high' is 0; it must be positive}}
  %c = speck.core "c"(%in) {core = 0 : i64, weight = dense<1> : tensor<4x2x3x3xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 0 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = false, destinations = array<i64>, pooling = array<i64>, feature_shift = array<i64>, voltage_scale = 0.1 : f64} : tensor<2x8x8xi32> -> tensor<4x8x8xi32>
}

// -----

// The membrane floor is at most 0.
speck.graph @g attributes {dt = 1.0 : f64} {
  %in = speck.input "in" {source = "external"} : tensor<2x8x8xi32>
  // expected-error @+1 {{'threshold_low' is 5; it must be at most 0}}
  %c = speck.core "c"(%in) {core = 0 : i64, weight = dense<1> : tensor<4x2x3x3xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = 5 : i64, return_to_zero = false, leak_enable = false, monitor_enable = false, destinations = array<i64>, pooling = array<i64>, feature_shift = array<i64>, voltage_scale = 0.1 : f64} : tensor<2x8x8xi32> -> tensor<4x8x8xi32>
}

// -----

// A core sends to at most two cores.
speck.graph @g attributes {dt = 1.0 : f64} {
  %in = speck.input "in" {source = "external"} : tensor<2x8x8xi32>
  // expected-error @+1 {{core 0 has 3 destinations; a core sends to at most 2}}
  %c = speck.core "c"(%in) {core = 0 : i64, weight = dense<1> : tensor<4x2x3x3xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = false, destinations = array<i64: 1, 2, 3>, pooling = array<i64: 1, 1, 1>, feature_shift = array<i64: 0, 0, 0>, voltage_scale = 0.1 : f64} : tensor<2x8x8xi32> -> tensor<4x8x8xi32>
}

// -----

// Each destination has a pooling and a feature shift.
speck.graph @g attributes {dt = 1.0 : f64} {
  %in = speck.input "in" {source = "external"} : tensor<2x8x8xi32>
  // expected-error @+1 {{'destinations', 'pooling' and 'feature_shift' have 1, 0 and 1 entries}}
  %c = speck.core "c"(%in) {core = 0 : i64, weight = dense<1> : tensor<4x2x3x3xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = false, destinations = array<i64: 1>, pooling = array<i64>, feature_shift = array<i64: 0>, voltage_scale = 0.1 : f64} : tensor<2x8x8xi32> -> tensor<4x8x8xi32>
}

// -----

// Pooling is 1, 2 or 4.
speck.graph @g attributes {dt = 1.0 : f64} {
  %in = speck.input "in" {source = "external"} : tensor<2x8x8xi32>
  // expected-error @+1 {{'pooling' 3 is not one of [1, 2, 4]}}
  %c = speck.core "c"(%in) {core = 0 : i64, weight = dense<1> : tensor<4x2x3x3xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = false, destinations = array<i64: 1>, pooling = array<i64: 3>, feature_shift = array<i64: 0>, voltage_scale = 0.1 : f64} : tensor<2x8x8xi32> -> tensor<4x8x8xi32>
}

// -----

// Destination cores exist.
speck.graph @g attributes {dt = 1.0 : f64} {
  %in = speck.input "in" {source = "external"} : tensor<2x8x8xi32>
  // expected-error @+1 {{destination core 9 does not exist; cores are 0 to 8}}
  %c = speck.core "c"(%in) {core = 0 : i64, weight = dense<1> : tensor<4x2x3x3xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = false, destinations = array<i64: 9>, pooling = array<i64: 1>, feature_shift = array<i64: 0>, voltage_scale = 0.1 : f64} : tensor<2x8x8xi32> -> tensor<4x8x8xi32>
}

// -----

// Feature shifts fit their register.
speck.graph @g attributes {dt = 1.0 : f64} {
  %in = speck.input "in" {source = "external"} : tensor<2x8x8xi32>
  // expected-error @+1 {{'feature_shift' 2000 is outside 0 to 1023}}
  %c = speck.core "c"(%in) {core = 0 : i64, weight = dense<1> : tensor<4x2x3x3xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = false, destinations = array<i64: 1>, pooling = array<i64: 1>, feature_shift = array<i64: 2000>, voltage_scale = 0.1 : f64} : tensor<2x8x8xi32> -> tensor<4x8x8xi32>
}

// -----

// One pooled result per core.
speck.graph @g attributes {dt = 1.0 : f64} {
  %in = speck.input "in" {source = "external"} : tensor<2x8x8xi32>
  // expected-error @+1 {{the destinations pool by [2, 4]; this dialect models one pooled result per core}}
  %c = speck.core "c"(%in) {core = 0 : i64, weight = dense<1> : tensor<4x2x3x3xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = false, destinations = array<i64: 1, 2>, pooling = array<i64: 2, 4>, feature_shift = array<i64: 0, 0>, voltage_scale = 0.1 : f64} : tensor<2x8x8xi32> -> tensor<4x4x4xi32>
}

// -----

// Kernel memory: c·2^(⌈log2 k²⌉ + ⌈log2 f⌉) entries.
speck.graph @g attributes {dt = 1.0 : f64} {
  %in = speck.input "in" {source = "external"} : tensor<64x8x8xi32>
  // expected-error @+1 {{the layer needs 262144 kernel memory entries but core 5 has 65536, 196608 too few}}
  %c = speck.core "c"(%in) {core = 5 : i64, weight = dense<1> : tensor<128x64x5x5xi8>, bias = dense<0> : tensor<128xi8>, stride = array<i64: 1, 1>, padding = array<i64: 2, 2>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = false, destinations = array<i64>, pooling = array<i64>, feature_shift = array<i64>, voltage_scale = 0.1 : f64} : tensor<64x8x8xi32> -> tensor<128x8x8xi32>
}

// -----

// Neuron memory: f·2^(⌈log2 f_y⌉ + ⌈log2 f_x⌉) entries.
speck.graph @g attributes {dt = 1.0 : f64} {
  %in = speck.input "in" {source = "external"} : tensor<2x64x64xi32>
  // expected-error @+1 {{the layer needs 65536 neuron memory entries but core 3 has 32768, 32768 too few}}
  %c = speck.core "c"(%in) {core = 3 : i64, weight = dense<1> : tensor<16x2x3x3xi8>, bias = dense<0> : tensor<16xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = false, destinations = array<i64>, pooling = array<i64>, feature_shift = array<i64>, voltage_scale = 0.1 : f64} : tensor<2x64x64xi32> -> tensor<16x64x64xi32>
}

// -----

// Inputs are at most 128x128.
speck.graph @g attributes {dt = 1.0 : f64} {
  // expected-error @+1 {{the input map is 130x130, larger than the chip's 128x128 by 2}}
  %in = speck.input "in" {source = "external"} : tensor<2x130x130xi32>
}

// -----

// The DVS sensor has two channels.
speck.graph @g attributes {dt = 1.0 : f64} {
  // expected-error @+1 {{the DVS sensor gives 2 polarity channels, not 3}}
  %in = speck.input "in" {source = "dvs"} : tensor<3x8x8xi32>
}

// -----

// The input comes from the DVS or the host.
speck.graph @g attributes {dt = 1.0 : f64} {
  // expected-error @+1 {{'source' is 'usb'; expected one of external, dvs}}
  %in = speck.input "in" {source = "usb"} : tensor<2x8x8xi32>
}

// -----

// Values are spike counts of i32.
speck.graph @g attributes {dt = 1.0 : f64} {
  // expected-error @+1 {{spike counts are i32}}
  %in = speck.input "in" {source = "external"} : tensor<2x8x8xi8>
}

// -----

// Values are (C, H, W) maps.
speck.graph @g attributes {dt = 1.0 : f64} {
  // expected-error @+1 {{expected a tensor<CxHxWxi32> of spike counts}}
  %in = speck.input "in" {source = "external"} : tensor<16xi32>
}

// -----

// Each core holds one layer.
// expected-error @+1 {{core 0 contains both 'a' and 'b'; each core contains one layer}}
speck.graph @g attributes {dt = 1.0 : f64} {
  %in = speck.input "in" {source = "external"} : tensor<2x8x8xi32>
  %a = speck.core "a"(%in) {core = 0 : i64, weight = dense<1> : tensor<4x2x3x3xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = false, destinations = array<i64: 0>, pooling = array<i64: 1>, feature_shift = array<i64: 0>, voltage_scale = 0.1 : f64} : tensor<2x8x8xi32> -> tensor<4x8x8xi32>
  %b = speck.core "b"(%a) {core = 0 : i64, weight = dense<1> : tensor<4x4x3x3xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = false, destinations = array<i64>, pooling = array<i64>, feature_shift = array<i64>, voltage_scale = 0.1 : f64} : tensor<4x8x8xi32> -> tensor<4x8x8xi32>
}

// -----

// The destination registers name the cores that read the events.
speck.graph @g attributes {dt = 1.0 : f64} {
  %in = speck.input "in" {source = "external"} : tensor<2x8x8xi32>
  // expected-error @+1 {{core 0 lists destinations [2] but cores [1] read its events}}
  %a = speck.core "a"(%in) {core = 0 : i64, weight = dense<1> : tensor<4x2x3x3xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = false, destinations = array<i64: 2>, pooling = array<i64: 1>, feature_shift = array<i64: 0>, voltage_scale = 0.1 : f64} : tensor<2x8x8xi32> -> tensor<4x8x8xi32>
  %b = speck.core "b"(%a) {core = 1 : i64, weight = dense<1> : tensor<4x4x3x3xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = false, monitor_enable = false, destinations = array<i64>, pooling = array<i64>, feature_shift = array<i64>, voltage_scale = 0.1 : f64} : tensor<4x8x8xi32> -> tensor<4x8x8xi32>
}

// -----

// A graph has one input.
// expected-error @+1 {{a speck graph has exactly one speck.input, found 2}}
speck.graph @g attributes {dt = 1.0 : f64} {
  %in = speck.input "in" {source = "external"} : tensor<2x8x8xi32>
  %in2 = speck.input "in2" {source = "external"} : tensor<2x8x8xi32>
}

// -----

// A core number that is not an integer is the op's error, not a crash of the graph check (found by fuzzing).
speck.graph @two_cores attributes {dt = 1.0 : f64} {
  %in = speck.input "in" {source = "external"} : tensor<2x8x8xi32>
  // expected-error@+1 {{'speck.core' op i64 should be of base attribute integer}}
  %conv = speck.core "conv"(%in) {core = i64, weight = dense<1> : tensor<4x2x3x3xi8>, bias = dense<[0, 1, -2, 3]> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 10 : i64, threshold_low = -10 : i64, return_to_zero = false, leak_enable = true, monitor_enable = false, destinations = array<i64: 1>, pooling = array<i64: 2>, feature_shift = array<i64: 0>, voltage_scale = 0.1 : f64} : tensor<2x8x8xi32> -> tensor<4x4x4xi32>
  %fc = speck.core "fc"(%conv) {core = 1 : i64, weight = dense<-3> : tensor<3x4x4x4xi8>, bias = dense<0> : tensor<3xi8>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, threshold_high = 100 : i64, threshold_low = -32768 : i64, return_to_zero = true, leak_enable = false, monitor_enable = true, destinations = array<i64>, pooling = array<i64>, feature_shift = array<i64>, voltage_scale = 0.01 : f64} : tensor<4x4x4xi32> -> tensor<3x1x1xi32>
  speck.output "out"(%fc) : tensor<3x1x1xi32>
}

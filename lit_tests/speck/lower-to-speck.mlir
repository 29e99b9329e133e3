// lower-to-speck maps each IF layer to a core: the conv or affine op before it becomes the
// kernel, the sum pool after it the pooling of its destination, and one factor per layer scales
// weights, bias and thresholds into 8 and 16 bits as sinabs does.
// RUN: nir-opt %s --lower-to-speck | filecheck %s
// RUN: nir-opt %s -p 'discretize{dt=1 preset=sinabs max-spikes-per-step=2147483647},lower-to-speck' | filecheck %s
// RUN: nir-opt %s --lower-to-speck | nir-opt | filecheck %s
// RUN: not nir-opt %s --lower-to-speck='membrane-floor=none' 2>&1 | filecheck %s --check-prefix=NOFLOOR

// The conv weights reach -0.81, so the scale is 128/0.81 and the threshold 0.5 becomes 79.
// The affine op reads the 4x4x4 pooled map as a 4x4 kernel; its weights reach 0.86, so the
// scale is 127/0.86: threshold 148, bias [0.1, 0, -0.2] -> [15, 0, -30], and leak_enable is set.
// CHECK-LABEL: speck.graph @main attributes {dt = 1.0 : f64}
// CHECK-NEXT: %input = speck.input "input" {source = "external"} : tensor<2x8x8xi32>
// CHECK-NEXT: %if1 = speck.core "if1"(%input) {core = 0 : i64, weight = dense<"0x{{[0-9A-F]+}}"> : tensor<4x2x3x3xi8>, bias = dense<0> : tensor<4xi8>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, threshold_high = 79 : i64, threshold_low = -79 : i64, return_to_zero = false, leak_enable = false, monitor_enable = false, destinations = array<i64: 1>, pooling = array<i64: 2>, feature_shift = array<i64: 0>, voltage_scale = {{.*}} : f64} : tensor<2x8x8xi32> -> tensor<4x4x4xi32>
// CHECK-NEXT: %if2 = speck.core "if2"(%if1) {core = 1 : i64, weight = dense<"0x{{[0-9A-F]+}}"> : tensor<3x4x4x4xi8>, bias = dense<[15, 0, -30]> : tensor<3xi8>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, threshold_high = 148 : i64, threshold_low = -148 : i64, return_to_zero = false, leak_enable = true, monitor_enable = true, destinations = array<i64>, pooling = array<i64>, feature_shift = array<i64>, voltage_scale = {{.*}} : f64} : tensor<4x4x4xi32> -> tensor<3x1x1xi32>
// CHECK-NEXT: speck.output "output"(%if2) : tensor<3x1x1xi32>

// Without a floor, sinabs scales the thresholds (-32768, threshold) too, which caps the factor
// at 1, so the threshold 0.5 would round to 0.
// NOFLOOR: error: lower-to-speck: node 'if1' (snn.lif): has threshold 0.5, which rounds to 0 at the layer's scale of 1 units per volt; the 16-bit floor -32768.0 limits the scale, so use membrane-floor=negative-threshold or larger thresholds

builtin.module {
  nir.graph @main {
    %input = nir.input "input" : tensor<2x8x8xf32>
    %conv = nir.conv2d "conv"(%input) {weight = dense<[[[[0.1, 0.25, 0.1], [-0.39, 0.27, 0.13], [-0.16, 0.17, 0.11]], [[0.09, 0.01, 0.16], [-0.22, -0.05, -0.14], [0.18, 0.01, -0.09]]], [[[-0.23, -0.08, 0.0], [-0.08, 0.39, 0.3], [-0.81, -0.57, -0.05]], [[-0.13, 0.06, 0.07], [0.64, -0.33, -0.11], [0.61, 0.19, 0.2]]], [[[-0.15, -0.49, 0.05], [0.03, -0.37, -0.2], [-0.02, -0.28, -0.03]], [[0.03, 0.01, -0.15], [0.18, 0.27, 0.1], [-0.25, 0.22, -0.15]]], [[[0.26, -0.32, 0.27], [-0.01, -0.37, -0.09], [0.02, 0.08, -0.29]], [[-0.33, 0.06, -0.14], [0.07, 0.23, -0.49], [0.08, 0.37, -0.09]]]]> : tensor<4x2x3x3xf32>, bias = dense<0.0> : tensor<4xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 8, 8>} : tensor<2x8x8xf32> -> tensor<4x8x8xf32>
    %if1 = nir.if "if1"(%conv) {r = dense<1.0> : tensor<4x8x8xf32>, v_threshold = dense<0.5> : tensor<4x8x8xf32>, v_reset = dense<0.0> : tensor<4x8x8xf32>} : tensor<4x8x8xf32>
    %pool = nir.sum_pool2d "pool"(%if1) {kernel_size = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>} : tensor<4x8x8xf32> -> tensor<4x4x4xf32>
    %flat = nir.flatten "flat"(%pool) {start_dim = 0 : i64, end_dim = -1 : i64} : tensor<4x4x4xf32> -> tensor<64xf32>
    %fc = nir.affine "fc"(%flat) {weight = dense<[[-0.24, 0.23, 0.08, 0.27, -0.1, -0.44, -0.03, -0.13, 0.23, 0.06, -0.49, -0.36, 0.27, 0.2, -0.19, -0.0, 0.13, 0.14, 0.26, 0.08, -0.03, -0.08, 0.32, -0.68, -0.04, 0.01, -0.43, 0.1, -0.2, 0.26, -0.04, 0.2, 0.37, 0.11, -0.26, -0.45, 0.53, -0.03, -0.21, 0.04, -0.06, 0.26, 0.01, 0.0, -0.21, 0.14, -0.31, 0.2, 0.46, -0.46, -0.74, 0.19, 0.76, -0.3, -0.38, 0.18, -0.25, -0.15, -0.1, 0.16, -0.12, 0.08, -0.05, -0.25], [-0.1, -0.29, 0.0, -0.34, -0.33, 0.44, -0.02, -0.02, 0.15, -0.13, -0.07, 0.13, 0.08, -0.35, 0.25, -0.18, -0.32, -0.27, -0.12, 0.49, -0.35, 0.05, -0.64, -0.0, 0.27, -0.07, -0.19, 0.07, 0.21, 0.2, 0.59, 0.06, -0.18, -0.04, -0.02, 0.03, -0.01, 0.05, -0.5, 0.25, -0.17, -0.35, 0.19, 0.4, 0.15, 0.05, -0.28, 0.86, 0.26, -0.34, -0.23, 0.03, -0.47, 0.05, -0.14, 0.37, 0.29, -0.81, 0.01, -0.49, 0.33, 0.05, 0.16, -0.32], [0.55, 0.61, -0.32, 0.11, -0.2, -0.01, -0.38, 0.56, -0.29, -0.09, 0.15, -0.19, -0.07, -0.17, -0.04, -0.35, -0.13, -0.06, -0.1, 0.02, -0.09, 0.23, -0.1, -0.04, -0.2, -0.16, -0.38, 0.16, -0.34, -0.22, 0.11, 0.12, -0.12, -0.61, 0.13, 0.08, -0.42, 0.23, -0.21, -0.34, 0.03, -0.05, 0.06, -0.48, 0.54, -0.18, -0.46, 0.19, -0.11, 0.1, -0.1, -0.02, 0.07, -0.22, 0.2, -0.14, -0.26, 0.02, 0.13, -0.07, -0.26, 0.19, -0.53, -0.31]]> : tensor<3x64xf32>, bias = dense<[0.1, 0.0, -0.2]> : tensor<3xf32>} : tensor<64xf32> -> tensor<3xf32>
    %if2 = nir.if "if2"(%fc) {r = dense<1.0> : tensor<3xf32>, v_threshold = dense<1.0> : tensor<3xf32>, v_reset = dense<0.0> : tensor<3xf32>} : tensor<3xf32>
    nir.output "output"(%if2) : tensor<3xf32>
  }
}

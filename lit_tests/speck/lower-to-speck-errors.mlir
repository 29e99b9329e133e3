// lower-to-speck names the layer at fault, the limit and by how much, for networks that do not fit.
// RUN: not nir-opt %s --split-input-file --lower-to-speck 2>&1 | filecheck %s
// A layer that no core can hold: 64·2^(4+7) = 131072 kernel entries.
// CHECK: error: lower-to-speck: node 'l0' (snn.lif): does not fit any core: the layer needs 131072 kernel memory entries, 65536 more than the largest core's 65536
builtin.module {
  nir.graph @main {
    %input = nir.input "input" : tensor<64x4x4xf32>
    %c0 = nir.conv2d "c0"(%input) {weight = dense<0.1> : tensor<128x64x3x3xf32>, bias = dense<0.0> : tensor<128xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 4, 4>} : tensor<64x4x4xf32> -> tensor<128x4x4xf32>
    %l0 = nir.if "l0"(%c0) {r = dense<1.0> : tensor<128x4x4xf32>, v_threshold = dense<1.0> : tensor<128x4x4xf32>, v_reset = dense<0.0> : tensor<128x4x4xf32>} : tensor<128x4x4xf32>
    nir.output "output"(%l0) : tensor<128x4x4xf32>
  }
}

// -----

// Three layers of 64·2^(4+6) = 65536 kernel entries, which only cores 5 and 6 hold.
// CHECK: error: lower-to-speck: node 'l0' (snn.lif): starts a network whose layers cannot all get a core of their own ('l0' fits cores [5, 6], 'l1' fits cores [5, 6], 'l2' fits cores [5, 6])
builtin.module {
  nir.graph @main {
    %input = nir.input "input" : tensor<64x4x4xf32>
    %c0 = nir.conv2d "c0"(%input) {weight = dense<0.1> : tensor<64x64x3x3xf32>, bias = dense<0.0> : tensor<64xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 4, 4>} : tensor<64x4x4xf32> -> tensor<64x4x4xf32>
    %l0 = nir.if "l0"(%c0) {r = dense<1.0> : tensor<64x4x4xf32>, v_threshold = dense<1.0> : tensor<64x4x4xf32>, v_reset = dense<0.0> : tensor<64x4x4xf32>} : tensor<64x4x4xf32>
    %c1 = nir.conv2d "c1"(%l0) {weight = dense<0.1> : tensor<64x64x3x3xf32>, bias = dense<0.0> : tensor<64xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 4, 4>} : tensor<64x4x4xf32> -> tensor<64x4x4xf32>
    %l1 = nir.if "l1"(%c1) {r = dense<1.0> : tensor<64x4x4xf32>, v_threshold = dense<1.0> : tensor<64x4x4xf32>, v_reset = dense<0.0> : tensor<64x4x4xf32>} : tensor<64x4x4xf32>
    %c2 = nir.conv2d "c2"(%l1) {weight = dense<0.1> : tensor<64x64x3x3xf32>, bias = dense<0.0> : tensor<64xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 4, 4>} : tensor<64x4x4xf32> -> tensor<64x4x4xf32>
    %l2 = nir.if "l2"(%c2) {r = dense<1.0> : tensor<64x4x4xf32>, v_threshold = dense<1.0> : tensor<64x4x4xf32>, v_reset = dense<0.0> : tensor<64x4x4xf32>} : tensor<64x4x4xf32>
    nir.output "output"(%l2) : tensor<64x4x4xf32>
  }
}

// -----

// Ten layers for nine cores.
// CHECK: error: lower-to-speck: node 'l9' (snn.lif): is layer 10 of 10; Speck has 9 cores, so merge or drop 1 layers
builtin.module {
  nir.graph @main {
    %input = nir.input "input" : tensor<1x4x4xf32>
    %c0 = nir.conv2d "c0"(%input) {weight = dense<0.1> : tensor<1x1x3x3xf32>, bias = dense<0.0> : tensor<1xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 4, 4>} : tensor<1x4x4xf32> -> tensor<1x4x4xf32>
    %l0 = nir.if "l0"(%c0) {r = dense<1.0> : tensor<1x4x4xf32>, v_threshold = dense<1.0> : tensor<1x4x4xf32>, v_reset = dense<0.0> : tensor<1x4x4xf32>} : tensor<1x4x4xf32>
    %c1 = nir.conv2d "c1"(%l0) {weight = dense<0.1> : tensor<1x1x3x3xf32>, bias = dense<0.0> : tensor<1xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 4, 4>} : tensor<1x4x4xf32> -> tensor<1x4x4xf32>
    %l1 = nir.if "l1"(%c1) {r = dense<1.0> : tensor<1x4x4xf32>, v_threshold = dense<1.0> : tensor<1x4x4xf32>, v_reset = dense<0.0> : tensor<1x4x4xf32>} : tensor<1x4x4xf32>
    %c2 = nir.conv2d "c2"(%l1) {weight = dense<0.1> : tensor<1x1x3x3xf32>, bias = dense<0.0> : tensor<1xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 4, 4>} : tensor<1x4x4xf32> -> tensor<1x4x4xf32>
    %l2 = nir.if "l2"(%c2) {r = dense<1.0> : tensor<1x4x4xf32>, v_threshold = dense<1.0> : tensor<1x4x4xf32>, v_reset = dense<0.0> : tensor<1x4x4xf32>} : tensor<1x4x4xf32>
    %c3 = nir.conv2d "c3"(%l2) {weight = dense<0.1> : tensor<1x1x3x3xf32>, bias = dense<0.0> : tensor<1xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 4, 4>} : tensor<1x4x4xf32> -> tensor<1x4x4xf32>
    %l3 = nir.if "l3"(%c3) {r = dense<1.0> : tensor<1x4x4xf32>, v_threshold = dense<1.0> : tensor<1x4x4xf32>, v_reset = dense<0.0> : tensor<1x4x4xf32>} : tensor<1x4x4xf32>
    %c4 = nir.conv2d "c4"(%l3) {weight = dense<0.1> : tensor<1x1x3x3xf32>, bias = dense<0.0> : tensor<1xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 4, 4>} : tensor<1x4x4xf32> -> tensor<1x4x4xf32>
    %l4 = nir.if "l4"(%c4) {r = dense<1.0> : tensor<1x4x4xf32>, v_threshold = dense<1.0> : tensor<1x4x4xf32>, v_reset = dense<0.0> : tensor<1x4x4xf32>} : tensor<1x4x4xf32>
    %c5 = nir.conv2d "c5"(%l4) {weight = dense<0.1> : tensor<1x1x3x3xf32>, bias = dense<0.0> : tensor<1xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 4, 4>} : tensor<1x4x4xf32> -> tensor<1x4x4xf32>
    %l5 = nir.if "l5"(%c5) {r = dense<1.0> : tensor<1x4x4xf32>, v_threshold = dense<1.0> : tensor<1x4x4xf32>, v_reset = dense<0.0> : tensor<1x4x4xf32>} : tensor<1x4x4xf32>
    %c6 = nir.conv2d "c6"(%l5) {weight = dense<0.1> : tensor<1x1x3x3xf32>, bias = dense<0.0> : tensor<1xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 4, 4>} : tensor<1x4x4xf32> -> tensor<1x4x4xf32>
    %l6 = nir.if "l6"(%c6) {r = dense<1.0> : tensor<1x4x4xf32>, v_threshold = dense<1.0> : tensor<1x4x4xf32>, v_reset = dense<0.0> : tensor<1x4x4xf32>} : tensor<1x4x4xf32>
    %c7 = nir.conv2d "c7"(%l6) {weight = dense<0.1> : tensor<1x1x3x3xf32>, bias = dense<0.0> : tensor<1xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 4, 4>} : tensor<1x4x4xf32> -> tensor<1x4x4xf32>
    %l7 = nir.if "l7"(%c7) {r = dense<1.0> : tensor<1x4x4xf32>, v_threshold = dense<1.0> : tensor<1x4x4xf32>, v_reset = dense<0.0> : tensor<1x4x4xf32>} : tensor<1x4x4xf32>
    %c8 = nir.conv2d "c8"(%l7) {weight = dense<0.1> : tensor<1x1x3x3xf32>, bias = dense<0.0> : tensor<1xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 4, 4>} : tensor<1x4x4xf32> -> tensor<1x4x4xf32>
    %l8 = nir.if "l8"(%c8) {r = dense<1.0> : tensor<1x4x4xf32>, v_threshold = dense<1.0> : tensor<1x4x4xf32>, v_reset = dense<0.0> : tensor<1x4x4xf32>} : tensor<1x4x4xf32>
    %c9 = nir.conv2d "c9"(%l8) {weight = dense<0.1> : tensor<1x1x3x3xf32>, bias = dense<0.0> : tensor<1xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 4, 4>} : tensor<1x4x4xf32> -> tensor<1x4x4xf32>
    %l9 = nir.if "l9"(%c9) {r = dense<1.0> : tensor<1x4x4xf32>, v_threshold = dense<1.0> : tensor<1x4x4xf32>, v_reset = dense<0.0> : tensor<1x4x4xf32>} : tensor<1x4x4xf32>
    nir.output "output"(%l9) : tensor<1x4x4xf32>
  }
}

// -----

// A core has one threshold.
// CHECK: error: lower-to-speck: node 'l0' (snn.lif): has thresholds from 1.0 to 2.0; a Speck core has one threshold
builtin.module {
  nir.graph @main {
    %input = nir.input "input" : tensor<2x4x4xf32>
    %c0 = nir.conv2d "c0"(%input) {weight = dense<0.1> : tensor<2x2x3x3xf32>, bias = dense<0.0> : tensor<2xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 4, 4>} : tensor<2x4x4xf32> -> tensor<2x4x4xf32>
    %l0 = nir.if "l0"(%c0) {r = dense<1.0> : tensor<2x4x4xf32>, v_threshold = dense<[[[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]], [[2.0, 2.0, 2.0, 2.0], [2.0, 2.0, 2.0, 2.0], [2.0, 2.0, 2.0, 2.0], [2.0, 2.0, 2.0, 2.0]]]> : tensor<2x4x4xf32>, v_reset = dense<0.0> : tensor<2x4x4xf32>} : tensor<2x4x4xf32>
    nir.output "output"(%l0) : tensor<2x4x4xf32>
  }
}

// -----

// Speck neurons do not leak.
// CHECK: error: lower-to-speck: node 'l0' (snn.lif): leaks; Speck neurons integrate and fire without leak
builtin.module {
  nir.graph @main {
    %input = nir.input "input" : tensor<2x4x4xf32>
    %c0 = nir.conv2d "c0"(%input) {weight = dense<0.1> : tensor<2x2x3x3xf32>, bias = dense<0.0> : tensor<2xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 4, 4>} : tensor<2x4x4xf32> -> tensor<2x4x4xf32>
    %l0 = nir.lif "l0"(%c0) {tau = dense<0.01> : tensor<2x4x4xf32>, r = dense<1.0> : tensor<2x4x4xf32>, v_leak = dense<0.0> : tensor<2x4x4xf32>, v_threshold = dense<1.0> : tensor<2x4x4xf32>, v_reset = dense<0.0> : tensor<2x4x4xf32>} : tensor<2x4x4xf32>
    nir.output "output"(%l0) : tensor<2x4x4xf32>
  }
}

// -----

// Pooling is 1x1, 2x2 or 4x4 with stride equal to the kernel.
// CHECK: error: lower-to-speck: node 'p' (snn.sum_pool2d): pools [3, 3] with stride [1, 1] and padding [0, 0]; Speck pools 1x1, 2x2 or 4x4
builtin.module {
  nir.graph @main {
    %input = nir.input "input" : tensor<2x4x4xf32>
    %c0 = nir.conv2d "c0"(%input) {weight = dense<0.1> : tensor<2x2x3x3xf32>, bias = dense<0.0> : tensor<2xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 4, 4>} : tensor<2x4x4xf32> -> tensor<2x4x4xf32>
    %l0 = nir.if "l0"(%c0) {r = dense<1.0> : tensor<2x4x4xf32>, v_threshold = dense<1.0> : tensor<2x4x4xf32>, v_reset = dense<0.0> : tensor<2x4x4xf32>} : tensor<2x4x4xf32>
    %p = nir.sum_pool2d "p"(%l0) {kernel_size = array<i64: 3, 3>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0>} : tensor<2x4x4xf32> -> tensor<2x2x2xf32>
    nir.output "output"(%p) : tensor<2x2x2xf32>
  }
}

// -----

// Each core starts with a convolution.
// CHECK: error: lower-to-speck: node 'l1' (snn.lif): has no conv2d or affine op before it
builtin.module {
  nir.graph @main {
    %input = nir.input "input" : tensor<2x4x4xf32>
    %c0 = nir.conv2d "c0"(%input) {weight = dense<0.1> : tensor<2x2x3x3xf32>, bias = dense<0.0> : tensor<2xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 4, 4>} : tensor<2x4x4xf32> -> tensor<2x4x4xf32>
    %l0 = nir.if "l0"(%c0) {r = dense<1.0> : tensor<2x4x4xf32>, v_threshold = dense<1.0> : tensor<2x4x4xf32>, v_reset = dense<0.0> : tensor<2x4x4xf32>} : tensor<2x4x4xf32>
    %l1 = nir.if "l1"(%l0) {r = dense<1.0> : tensor<2x4x4xf32>, v_threshold = dense<1.0> : tensor<2x4x4xf32>, v_reset = dense<0.0> : tensor<2x4x4xf32>} : tensor<2x4x4xf32>
    nir.output "output"(%l1) : tensor<2x4x4xf32>
  }
}

// -----

// A threshold of 0 or less: threshold_high must be positive, whatever the layer's scale.
// CHECK: error: lower-to-speck: node 'l0' (snn.lif): has threshold 0.0; a Speck core fires at a positive threshold_high, so give the node a threshold above 0
builtin.module {
  nir.graph @main {
    %input = nir.input "input" : tensor<2x4x4xf32>
    %c0 = nir.conv2d "c0"(%input) {weight = dense<0.1> : tensor<2x2x3x3xf32>, bias = dense<0.0> : tensor<2xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 4, 4>} : tensor<2x4x4xf32> -> tensor<2x4x4xf32>
    %l0 = nir.if "l0"(%c0) {r = dense<1.0> : tensor<2x4x4xf32>, v_threshold = dense<0.0> : tensor<2x4x4xf32>, v_reset = dense<0.0> : tensor<2x4x4xf32>} : tensor<2x4x4xf32>
    nir.output "output"(%l0) : tensor<2x4x4xf32>
  }
}

// -----

// A negative threshold gets the same message, not the one about rounding at the layer's scale.
// CHECK: error: lower-to-speck: node 'l0' (snn.lif): has threshold -1.0; a Speck core fires at a positive threshold_high
builtin.module {
  nir.graph @main {
    %input = nir.input "input" : tensor<2x4x4xf32>
    %c0 = nir.conv2d "c0"(%input) {weight = dense<0.1> : tensor<2x2x3x3xf32>, bias = dense<0.0> : tensor<2xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 4, 4>} : tensor<2x4x4xf32> -> tensor<2x4x4xf32>
    %l0 = nir.if "l0"(%c0) {r = dense<1.0> : tensor<2x4x4xf32>, v_threshold = dense<-1.0> : tensor<2x4x4xf32>, v_reset = dense<0.0> : tensor<2x4x4xf32>} : tensor<2x4x4xf32>
    nir.output "output"(%l0) : tensor<2x4x4xf32>
  }
}

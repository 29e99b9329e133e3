// lower-to-speck on branching networks: each limit of fan-out and fan-in names the node and the fix.
// RUN: not nir-opt %s --split-input-file --lower-to-speck 2>&1 | filecheck %s
// A core sends its events to at most two cores.
// CHECK: error: lower-to-speck: node 'l0' (snn.lif): sends its events to 3 cores ('l1', 'l2', 'l3'); a Speck core has at most 2 destinations, so copy the layer and split the readers between the copies
builtin.module {
  nir.graph @main {
    %input = nir.input "input" : tensor<4x8x8xf32>
    %c0 = nir.conv2d "c0"(%input) {weight = dense<0.1> : tensor<4x4x3x3xf32>, bias = dense<0.0> : tensor<4xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 8, 8>} : tensor<4x8x8xf32> -> tensor<4x8x8xf32>
    %l0 = nir.if "l0"(%c0) {r = dense<1.0> : tensor<4x8x8xf32>, v_threshold = dense<1.0> : tensor<4x8x8xf32>, v_reset = dense<0.0> : tensor<4x8x8xf32>} : tensor<4x8x8xf32>
    %c1 = nir.conv2d "c1"(%l0) {weight = dense<0.1> : tensor<4x4x3x3xf32>, bias = dense<0.0> : tensor<4xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 8, 8>} : tensor<4x8x8xf32> -> tensor<4x8x8xf32>
    %l1 = nir.if "l1"(%c1) {r = dense<1.0> : tensor<4x8x8xf32>, v_threshold = dense<1.0> : tensor<4x8x8xf32>, v_reset = dense<0.0> : tensor<4x8x8xf32>} : tensor<4x8x8xf32>
    %c2 = nir.conv2d "c2"(%l0) {weight = dense<0.1> : tensor<4x4x3x3xf32>, bias = dense<0.0> : tensor<4xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 8, 8>} : tensor<4x8x8xf32> -> tensor<4x8x8xf32>
    %l2 = nir.if "l2"(%c2) {r = dense<1.0> : tensor<4x8x8xf32>, v_threshold = dense<1.0> : tensor<4x8x8xf32>, v_reset = dense<0.0> : tensor<4x8x8xf32>} : tensor<4x8x8xf32>
    %c3 = nir.conv2d "c3"(%l0) {weight = dense<0.1> : tensor<4x4x3x3xf32>, bias = dense<0.0> : tensor<4xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 8, 8>} : tensor<4x8x8xf32> -> tensor<4x8x8xf32>
    %l3 = nir.if "l3"(%c3) {r = dense<1.0> : tensor<4x8x8xf32>, v_threshold = dense<1.0> : tensor<4x8x8xf32>, v_reset = dense<0.0> : tensor<4x8x8xf32>} : tensor<4x8x8xf32>
    nir.output "out_l1"(%l1) : tensor<4x8x8xf32>
    nir.output "out_l2"(%l2) : tensor<4x8x8xf32>
    nir.output "out_l3"(%l3) : tensor<4x8x8xf32>
  }
}

// -----

// A neuron group fed by two synapse ops would need two kernels in one core.
// CHECK: error: lower-to-speck: node 'l1' (snn.lif): sums 2 inputs; a core has one kernel, so sum the sources' spikes where one conv2d or affine op reads them
builtin.module {
  nir.graph @main {
    %input = nir.input "input" : tensor<4x8x8xf32>
    %c0 = nir.conv2d "c0"(%input) {weight = dense<0.1> : tensor<4x4x3x3xf32>, bias = dense<0.0> : tensor<4xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 8, 8>} : tensor<4x8x8xf32> -> tensor<4x8x8xf32>
    %l0 = nir.if "l0"(%c0) {r = dense<1.0> : tensor<4x8x8xf32>, v_threshold = dense<1.0> : tensor<4x8x8xf32>, v_reset = dense<0.0> : tensor<4x8x8xf32>} : tensor<4x8x8xf32>
    %c1 = nir.conv2d "c1"(%l0) {weight = dense<0.1> : tensor<4x4x3x3xf32>, bias = dense<0.0> : tensor<4xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 8, 8>} : tensor<4x8x8xf32> -> tensor<4x8x8xf32>
    %c2 = nir.conv2d "c2"(%input) {weight = dense<0.1> : tensor<4x4x3x3xf32>, bias = dense<0.0> : tensor<4xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 8, 8>} : tensor<4x8x8xf32> -> tensor<4x8x8xf32>
    %l1 = nir.if "l1"(%c1, %c2) {r = dense<1.0> : tensor<4x8x8xf32>, v_threshold = dense<1.0> : tensor<4x8x8xf32>, v_reset = dense<0.0> : tensor<4x8x8xf32>} : tensor<4x8x8xf32>
    nir.output "out_l1"(%l1) : tensor<4x8x8xf32>
  }
}

// -----

// Two branches pool the events of one core by different sizes.
// CHECK: error: lower-to-speck: node 'p2' (snn.sum_pool2d): pools the events of 'l0' by 4 but another destination pools them by 2; the speck dialect models one pooling per core, so pool every branch the same
builtin.module {
  nir.graph @main {
    %input = nir.input "input" : tensor<4x8x8xf32>
    %c0 = nir.conv2d "c0"(%input) {weight = dense<0.1> : tensor<4x4x3x3xf32>, bias = dense<0.0> : tensor<4xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 8, 8>} : tensor<4x8x8xf32> -> tensor<4x8x8xf32>
    %l0 = nir.if "l0"(%c0) {r = dense<1.0> : tensor<4x8x8xf32>, v_threshold = dense<1.0> : tensor<4x8x8xf32>, v_reset = dense<0.0> : tensor<4x8x8xf32>} : tensor<4x8x8xf32>
    %p1 = nir.sum_pool2d "p1"(%l0) {kernel_size = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>} : tensor<4x8x8xf32> -> tensor<4x4x4xf32>
    %p2 = nir.sum_pool2d "p2"(%l0) {kernel_size = array<i64: 4, 4>, stride = array<i64: 4, 4>, padding = array<i64: 0, 0>} : tensor<4x8x8xf32> -> tensor<4x2x2xf32>
    nir.output "out_p1"(%p1) : tensor<4x4x4xf32>
    nir.output "out_p2"(%p2) : tensor<4x2x2xf32>
  }
}

// -----

// One branch reads a core's events without the pooling that another branch applies.
// CHECK: error: lower-to-speck: node 'l1' (snn.lif): reads the events of 'l0' without the 2x2 pooling that another destination applies; a core pools the same for all its destinations, so pool every branch the same
builtin.module {
  nir.graph @main {
    %input = nir.input "input" : tensor<4x8x8xf32>
    %c0 = nir.conv2d "c0"(%input) {weight = dense<0.1> : tensor<4x4x3x3xf32>, bias = dense<0.0> : tensor<4xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 8, 8>} : tensor<4x8x8xf32> -> tensor<4x8x8xf32>
    %l0 = nir.if "l0"(%c0) {r = dense<1.0> : tensor<4x8x8xf32>, v_threshold = dense<1.0> : tensor<4x8x8xf32>, v_reset = dense<0.0> : tensor<4x8x8xf32>} : tensor<4x8x8xf32>
    %c1 = nir.conv2d "c1"(%l0) {weight = dense<0.1> : tensor<4x4x3x3xf32>, bias = dense<0.0> : tensor<4xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 8, 8>} : tensor<4x8x8xf32> -> tensor<4x8x8xf32>
    %l1 = nir.if "l1"(%c1) {r = dense<1.0> : tensor<4x8x8xf32>, v_threshold = dense<1.0> : tensor<4x8x8xf32>, v_reset = dense<0.0> : tensor<4x8x8xf32>} : tensor<4x8x8xf32>
    %p = nir.sum_pool2d "p"(%l0) {kernel_size = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>} : tensor<4x8x8xf32> -> tensor<4x4x4xf32>
    %c2 = nir.conv2d "c2"(%p) {weight = dense<0.1> : tensor<4x4x3x3xf32>, bias = dense<0.0> : tensor<4xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 4, 4>} : tensor<4x4x4xf32> -> tensor<4x4x4xf32>
    %l2 = nir.if "l2"(%c2) {r = dense<1.0> : tensor<4x4x4xf32>, v_threshold = dense<1.0> : tensor<4x4x4xf32>, v_reset = dense<0.0> : tensor<4x4x4xf32>} : tensor<4x4x4xf32>
    nir.output "out_l1"(%l1) : tensor<4x8x8xf32>
    nir.output "out_l2"(%l2) : tensor<4x4x4xf32>
  }
}

// -----

// A core receives the events of each source once.
// CHECK: error: lower-to-speck: node 'c1' (snn.conv2d): reads the events of 'l0' twice; a core receives each source's events once, so double the weights instead
builtin.module {
  nir.graph @main {
    %input = nir.input "input" : tensor<4x8x8xf32>
    %c0 = nir.conv2d "c0"(%input) {weight = dense<0.1> : tensor<4x4x3x3xf32>, bias = dense<0.0> : tensor<4xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 8, 8>} : tensor<4x8x8xf32> -> tensor<4x8x8xf32>
    %l0 = nir.if "l0"(%c0) {r = dense<1.0> : tensor<4x8x8xf32>, v_threshold = dense<1.0> : tensor<4x8x8xf32>, v_reset = dense<0.0> : tensor<4x8x8xf32>} : tensor<4x8x8xf32>
    %c1 = nir.conv2d "c1"(%l0, %l0) {weight = dense<0.1> : tensor<4x4x3x3xf32>, bias = dense<0.0> : tensor<4xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 8, 8>} : tensor<4x8x8xf32> -> tensor<4x8x8xf32>
    %l1 = nir.if "l1"(%c1) {r = dense<1.0> : tensor<4x8x8xf32>, v_threshold = dense<1.0> : tensor<4x8x8xf32>, v_reset = dense<0.0> : tensor<4x8x8xf32>} : tensor<4x8x8xf32>
    nir.output "out_l1"(%l1) : tensor<4x8x8xf32>
  }
}

// -----

// A core adds events, not the result of another synapse op.
// CHECK: error: lower-to-speck: node 'c1' (snn.conv2d): sums the result of synapse op 'c0'; a core has one kernel and adds only events, so give the sum's spikes to one conv2d or affine op
builtin.module {
  nir.graph @main {
    %input = nir.input "input" : tensor<4x8x8xf32>
    %c0 = nir.conv2d "c0"(%input) {weight = dense<0.1> : tensor<4x4x3x3xf32>, bias = dense<0.0> : tensor<4xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 8, 8>} : tensor<4x8x8xf32> -> tensor<4x8x8xf32>
    %l0 = nir.if "l0"(%c0) {r = dense<1.0> : tensor<4x8x8xf32>, v_threshold = dense<1.0> : tensor<4x8x8xf32>, v_reset = dense<0.0> : tensor<4x8x8xf32>} : tensor<4x8x8xf32>
    %c1 = nir.conv2d "c1"(%l0, %c0) {weight = dense<0.1> : tensor<4x4x3x3xf32>, bias = dense<0.0> : tensor<4xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 8, 8>} : tensor<4x8x8xf32> -> tensor<4x8x8xf32>
    %l1 = nir.if "l1"(%c1) {r = dense<1.0> : tensor<4x8x8xf32>, v_threshold = dense<1.0> : tensor<4x8x8xf32>, v_reset = dense<0.0> : tensor<4x8x8xf32>} : tensor<4x8x8xf32>
    nir.output "out_l1"(%l1) : tensor<4x8x8xf32>
  }
}

// -----

// Only a convolution sums the events of several cores.
// CHECK: error: lower-to-speck: node 'p' (snn.sum_pool2d): has 2 inputs; Speck sums the events of several cores only where a conv2d, affine or flatten op reads them, so move the sum to the convolution
builtin.module {
  nir.graph @main {
    %input = nir.input "input" : tensor<4x8x8xf32>
    %c0 = nir.conv2d "c0"(%input) {weight = dense<0.1> : tensor<4x4x3x3xf32>, bias = dense<0.0> : tensor<4xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 8, 8>} : tensor<4x8x8xf32> -> tensor<4x8x8xf32>
    %l0 = nir.if "l0"(%c0) {r = dense<1.0> : tensor<4x8x8xf32>, v_threshold = dense<1.0> : tensor<4x8x8xf32>, v_reset = dense<0.0> : tensor<4x8x8xf32>} : tensor<4x8x8xf32>
    %c1 = nir.conv2d "c1"(%input) {weight = dense<0.1> : tensor<4x4x3x3xf32>, bias = dense<0.0> : tensor<4xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 8, 8>} : tensor<4x8x8xf32> -> tensor<4x8x8xf32>
    %l1 = nir.if "l1"(%c1) {r = dense<1.0> : tensor<4x8x8xf32>, v_threshold = dense<1.0> : tensor<4x8x8xf32>, v_reset = dense<0.0> : tensor<4x8x8xf32>} : tensor<4x8x8xf32>
    %p = nir.sum_pool2d "p"(%l0, %l1) {kernel_size = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>} : tensor<4x8x8xf32> -> tensor<4x4x4xf32>
    nir.output "out_p"(%p) : tensor<4x4x4xf32>
  }
}

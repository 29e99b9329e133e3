// Every nir op in its custom form survives print -> parse -> print, in both forms.
// RUN: nir-opt %s | filecheck %s
// RUN: nir-opt %s | nir-opt | filecheck %s
// RUN: nir-opt %s --print-op-generic | nir-opt | filecheck %s

// CHECK-LABEL: nir.graph @linear_maps {
// CHECK-NEXT: %input = nir.input "input" : tensor<3xf32>
// CHECK-NEXT: %affine = nir.affine "affine"(%input) {weight = dense<{{\[\[}}1.0, -2.0, 0.5], [0.25, 0.0, 3.0]]> : tensor<2x3xf32>, bias = dense<[0.5, -0.5]> : tensor<2xf32>} : tensor<3xf32> -> tensor<2xf32>
// CHECK-NEXT: %linear = nir.linear "linear"(%affine) {weight = dense<{{\[\[}}1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>} : tensor<2xf32>
// CHECK-NEXT: %scale = nir.scale "scale"(%linear) {scale = dense<[2.0, 0.5]> : tensor<2xf32>} : tensor<2xf32>
// CHECK-NEXT: nir.output "output"(%scale) : tensor<2xf32>
// CHECK-LABEL: nir.graph @convolutions {
// CHECK-NEXT: %image = nir.input "image" : tensor<2x8x8xf32>
// CHECK-NEXT: %conv = nir.conv2d "conv"(%image) {weight = dense<1.0> : tensor<4x2x3x3xf32>, bias = dense<0.0> : tensor<4xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 8, 8>} : tensor<2x8x8xf32> -> tensor<4x8x8xf32>
// CHECK-NEXT: %same = nir.conv2d "same"(%conv) {weight = dense<0.5> : tensor<4x4x3x3xf32>, bias = dense<0.0> : tensor<4xf32>, stride = array<i64: 1, 1>, padding = "same", dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 8, 8>} : tensor<4x8x8xf32>
// CHECK-NEXT: %sum = nir.sum_pool2d "sum"(%same) {kernel_size = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>} : tensor<4x8x8xf32> -> tensor<4x4x4xf32>
// CHECK-NEXT: %avg = nir.avg_pool2d "avg"(%sum) {kernel_size = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>} : tensor<4x4x4xf32> -> tensor<4x2x2xf32>
// CHECK-NEXT: %flat = nir.flatten "flat"(%avg) {start_dim = 0 : i64, end_dim = -1 : i64} : tensor<4x2x2xf32> -> tensor<16xf32>
// CHECK-NEXT: nir.output "output"(%flat) : tensor<16xf32>
// CHECK-LABEL: nir.graph @sequence {
// CHECK-NEXT: %signal = nir.input "signal" : tensor<3x10xf32>
// CHECK-NEXT: %conv = nir.conv1d "conv"(%signal) {weight = dense<1.0> : tensor<2x3x3xf32>, bias = dense<[0.0, 1.0]> : tensor<2xf32>, stride = array<i64: 2>, padding = array<i64: 1>, dilation = array<i64: 1>, groups = 1 : i64, input_shape = array<i64: 10>} : tensor<3x10xf32> -> tensor<2x5xf32>
// CHECK-NEXT: nir.output "output"(%conv) : tensor<2x5xf32>
// CHECK-LABEL: nir.graph @neurons attributes {metadata = {source = "hand-written", dt = 0.0001 : f64}} {
// CHECK-NEXT: %input = nir.input "input" : tensor<2xf32>
// CHECK-NEXT: %delay = nir.delay "delay"(%input) {delay = dense<[0.001, 0.002]> : tensor<2xf32>} : tensor<2xf32>
// CHECK-NEXT: %threshold = nir.threshold "threshold"(%delay) {threshold = dense<0.5> : tensor<2xf32>} : tensor<2xf32>
// CHECK-NEXT: %integrator = nir.i "integrator"(%threshold) {r = dense<1.0> : tensor<2xf32>} : tensor<2xf32>
// CHECK-NEXT: %if = nir.if "if"(%integrator) {r = dense<1.0> : tensor<2xf32>, v_threshold = dense<1.0> : tensor<2xf32>, v_reset = dense<0.0> : tensor<2xf32>} : tensor<2xf32>
// CHECK-NEXT: %li = nir.li "li"(%if) {tau = dense<0.02> : tensor<2xf64>, r = dense<1.0> : tensor<2xf64>, v_leak = dense<0.0> : tensor<2xf64>} : tensor<2xf32>
// CHECK-NEXT: %lif = nir.lif "lif"(%li, %lif) {tau = dense<[0.0025, 0.005]> : tensor<2xf32>, r = dense<1.0> : tensor<2xf32>, v_leak = dense<0.0> : tensor<2xf32>, v_threshold = dense<0.1> : tensor<2xf32>, v_reset = dense<0.0> : tensor<2xf32>, metadata = {layer = 3 : i64}} : tensor<2xf32>
// CHECK-NEXT: %cuba_li = nir.cuba_li "cuba_li"(%lif) {tau_syn = dense<0.002> : tensor<2xf32>, tau_mem = dense<0.01> : tensor<2xf32>, r = dense<1.0> : tensor<2xf32>, v_leak = dense<0.0> : tensor<2xf32>, w_in = dense<1.0> : tensor<2xf32>} : tensor<2xf32>
// CHECK-NEXT: %cuba_lif = nir.cuba_lif "cuba_lif"(%cuba_li) {tau_syn = dense<0.002> : tensor<2xf32>, tau_mem = dense<0.01> : tensor<2xf32>, r = dense<1.0> : tensor<2xf32>, v_leak = dense<0.0> : tensor<2xf32>, v_threshold = dense<1.0> : tensor<2xf32>, v_reset = dense<0.0> : tensor<2xf32>, w_in = dense<2.0> : tensor<2xf32>} : tensor<2xf32>
// CHECK-NEXT: nir.output "output"(%cuba_lif) : tensor<2xf32>
// CHECK-LABEL: nir.graph @recurrent {
// CHECK-NEXT: %input = nir.input "input" : tensor<2xf32>
// CHECK-NEXT: %lif = nir.lif "lif"(%input, %rec) {tau = dense<0.01> : tensor<2xf32>, r = dense<1.0> : tensor<2xf32>, v_leak = dense<0.0> : tensor<2xf32>, v_threshold = dense<1.0> : tensor<2xf32>, v_reset = dense<0.0> : tensor<2xf32>} : tensor<2xf32>
// CHECK-NEXT: %rec = nir.linear "rec"(%lif) {weight = dense<{{\[\[}}0.0, -0.5], [-0.5, 0.0]]> : tensor<2x2xf32>} : tensor<2xf32>
// CHECK-NEXT: nir.output "output"(%lif) : tensor<2xf32>
// CHECK-LABEL: nir.graph @inner {
// CHECK-NEXT: %input = nir.input "input" : tensor<2xf32>
// CHECK-NEXT: %scale = nir.scale "scale"(%input) {scale = dense<3.0> : tensor<2xf32>} : tensor<2xf32>
// CHECK-NEXT: nir.output "output"(%scale) : tensor<2xf32>
// CHECK-LABEL: nir.graph @main {
// CHECK-NEXT: %input = nir.input "input" : tensor<2xf32>
// CHECK-NEXT: %nested = nir.subgraph "nested"(%input) {graph = @inner} : tensor<2xf32>
// CHECK-NEXT: nir.output "output"(%nested) : tensor<2xf32>

builtin.module {
  nir.graph @linear_maps {
    %input = nir.input "input" : tensor<3xf32>
    %affine = nir.affine "affine"(%input) {weight = dense<[[1.0, -2.0, 0.5], [0.25, 0.0, 3.0]]> : tensor<2x3xf32>, bias = dense<[0.5, -0.5]> : tensor<2xf32>} : tensor<3xf32> -> tensor<2xf32>
    %linear = nir.linear "linear"(%affine) {weight = dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>} : tensor<2xf32>
    %scale = nir.scale "scale"(%linear) {scale = dense<[2.0, 0.5]> : tensor<2xf32>} : tensor<2xf32>
    nir.output "output"(%scale) : tensor<2xf32>
  }

  nir.graph @convolutions {
    %image = nir.input "image" : tensor<2x8x8xf32>
    %conv = nir.conv2d "conv"(%image) {weight = dense<1.0> : tensor<4x2x3x3xf32>, bias = dense<0.0> : tensor<4xf32>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 8, 8>} : tensor<2x8x8xf32> -> tensor<4x8x8xf32>
    %same = nir.conv2d "same"(%conv) {weight = dense<0.5> : tensor<4x4x3x3xf32>, bias = dense<0.0> : tensor<4xf32>, stride = array<i64: 1, 1>, padding = "same", dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 8, 8>} : tensor<4x8x8xf32>
    %sum = nir.sum_pool2d "sum"(%same) {kernel_size = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>} : tensor<4x8x8xf32> -> tensor<4x4x4xf32>
    %avg = nir.avg_pool2d "avg"(%sum) {kernel_size = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>} : tensor<4x4x4xf32> -> tensor<4x2x2xf32>
    %flat = nir.flatten "flat"(%avg) {start_dim = 0 : i64, end_dim = -1 : i64} : tensor<4x2x2xf32> -> tensor<16xf32>
    nir.output "output"(%flat) : tensor<16xf32>
  }

  nir.graph @sequence {
    %signal = nir.input "signal" : tensor<3x10xf32>
    %conv = nir.conv1d "conv"(%signal) {weight = dense<1.0> : tensor<2x3x3xf32>, bias = dense<[0.0, 1.0]> : tensor<2xf32>, stride = array<i64: 2>, padding = array<i64: 1>, dilation = array<i64: 1>, groups = 1 : i64, input_shape = array<i64: 10>} : tensor<3x10xf32> -> tensor<2x5xf32>
    nir.output "output"(%conv) : tensor<2x5xf32>
  }

  nir.graph @neurons attributes {metadata = {source = "hand-written", dt = 1.0e-04 : f64}} {
    %input = nir.input "input" : tensor<2xf32>
    %delay = nir.delay "delay"(%input) {delay = dense<[1.0e-03, 2.0e-03]> : tensor<2xf32>} : tensor<2xf32>
    %threshold = nir.threshold "threshold"(%delay) {threshold = dense<0.5> : tensor<2xf32>} : tensor<2xf32>
    %integrator = nir.i "integrator"(%threshold) {r = dense<1.0> : tensor<2xf32>} : tensor<2xf32>
    %if = nir.if "if"(%integrator) {r = dense<1.0> : tensor<2xf32>, v_threshold = dense<1.0> : tensor<2xf32>, v_reset = dense<0.0> : tensor<2xf32>} : tensor<2xf32>
    %li = nir.li "li"(%if) {tau = dense<0.02> : tensor<2xf64>, r = dense<1.0> : tensor<2xf64>, v_leak = dense<0.0> : tensor<2xf64>} : tensor<2xf32>
    %lif = nir.lif "lif"(%li, %lif) {tau = dense<[0.0025, 0.005]> : tensor<2xf32>, r = dense<1.0> : tensor<2xf32>, v_leak = dense<0.0> : tensor<2xf32>, v_threshold = dense<0.1> : tensor<2xf32>, v_reset = dense<0.0> : tensor<2xf32>, metadata = {layer = 3 : i64}} : tensor<2xf32>
    %cuba_li = nir.cuba_li "cuba_li"(%lif) {tau_syn = dense<0.002> : tensor<2xf32>, tau_mem = dense<0.01> : tensor<2xf32>, r = dense<1.0> : tensor<2xf32>, v_leak = dense<0.0> : tensor<2xf32>, w_in = dense<1.0> : tensor<2xf32>} : tensor<2xf32>
    %cuba_lif = nir.cuba_lif "cuba_lif"(%cuba_li) {tau_syn = dense<0.002> : tensor<2xf32>, tau_mem = dense<0.01> : tensor<2xf32>, r = dense<1.0> : tensor<2xf32>, v_leak = dense<0.0> : tensor<2xf32>, v_threshold = dense<1.0> : tensor<2xf32>, v_reset = dense<0.0> : tensor<2xf32>, w_in = dense<2.0> : tensor<2xf32>} : tensor<2xf32>
    nir.output "output"(%cuba_lif) : tensor<2xf32>
  }

  nir.graph @recurrent {
    %input = nir.input "input" : tensor<2xf32>
    %lif = nir.lif "lif"(%input, %rec) {tau = dense<0.01> : tensor<2xf32>, r = dense<1.0> : tensor<2xf32>, v_leak = dense<0.0> : tensor<2xf32>, v_threshold = dense<1.0> : tensor<2xf32>, v_reset = dense<0.0> : tensor<2xf32>} : tensor<2xf32>
    %rec = nir.linear "rec"(%lif) {weight = dense<[[0.0, -0.5], [-0.5, 0.0]]> : tensor<2x2xf32>} : tensor<2xf32>
    nir.output "output"(%lif) : tensor<2xf32>
  }

  nir.graph @inner {
    %input = nir.input "input" : tensor<2xf32>
    %scale = nir.scale "scale"(%input) {scale = dense<3.0> : tensor<2xf32>} : tensor<2xf32>
    nir.output "output"(%scale) : tensor<2xf32>
  }

  nir.graph @main {
    %input = nir.input "input" : tensor<2xf32>
    %nested = nir.subgraph "nested"(%input) {graph = @inner} : tensor<2xf32>
    nir.output "output"(%nested) : tensor<2xf32>
  }
}

// One case per verifier rule of the nir dialect.
// RUN: nir-opt %s --split-input-file --verify-diagnostics

// Edges into one node must carry one shape, because the node sums them (the custom form
// cannot even state two operand types, so this case is written in the generic form).
nir.graph @g {
  %a = nir.input "a" : tensor<2xf32>
  %b = nir.input "b" : tensor<3xf32>
  // expected-error @+1 {{'nir.scale' op node 's': operand 1 has type tensor<3xf32> but operand 0 has type tensor<2xf32>}}
  %s = "nir.scale"(%a, %b) <{node_name = "s", scale = dense<1.0> : tensor<2xf32>}> : (tensor<2xf32>, tensor<3xf32>) -> tensor<2xf32>
}

// -----

// An affine weight needs (out, in) dimensions.
nir.graph @g {
  %a = nir.input "a" : tensor<2xf32>
  // expected-error @+1 {{'weight' has shape [2]; it needs at least 2 dimensions (out, in)}}
  %s = nir.affine "fc"(%a) {weight = dense<1.0> : tensor<2xf32>, bias = dense<0.0> : tensor<2xf32>} : tensor<2xf32>
}

// -----

// The bias must broadcast to the output shape.
nir.graph @g {
  %a = nir.input "a" : tensor<2xf32>
  // expected-error @+1 {{'bias' has shape [5] but the output has shape [3]}}
  %s = nir.affine "fc"(%a) {weight = dense<1.0> : tensor<3x2xf32>, bias = dense<0.0> : tensor<5xf32>} : tensor<2xf32> -> tensor<3xf32>
}

// -----

// The input width must match the weight's last dimension (e.g. a transposed weight).
nir.graph @g {
  %a = nir.input "a" : tensor<128xf32>
  // expected-error @+1 {{'nir.linear' op node 'linear': input has shape [128] but the parameters expect [64]}}
  %s = nir.linear "linear"(%a) {weight = dense<1.0> : tensor<128x64xf32>} : tensor<128xf32>
}

// -----

// The result shape must be the one the parameters give.
nir.graph @g {
  %a = nir.input "a" : tensor<2xf32>
  // expected-error @+1 {{result has shape [2] but the parameters give [3]}}
  %s = nir.linear "linear"(%a) {weight = dense<1.0> : tensor<3x2xf32>} : tensor<2xf32>
}

// -----

// A 2-D convolution weight has rank 4.
nir.graph @g {
  %a = nir.input "a" : tensor<2x8x8xf32>
  // expected-error @+1 {{'weight' has shape [4, 2, 3]; expected rank 4}}
  %c = nir.conv2d "conv"(%a) {weight = dense<1.0> : tensor<4x2x3xf32>, bias = dense<0.0> : tensor<4xf32>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 8, 8>} : tensor<2x8x8xf32> -> tensor<4x6x6xf32>
}

// -----

// Output channels must be divisible by groups.
nir.graph @g {
  %a = nir.input "a" : tensor<4x8x8xf32>
  // expected-error @+1 {{'groups' is 2 but the 3 output channels are not divisible by it}}
  %c = nir.conv2d "conv"(%a) {weight = dense<1.0> : tensor<3x2x3x3xf32>, bias = dense<0.0> : tensor<3xf32>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 2 : i64, input_shape = array<i64: 8, 8>} : tensor<4x8x8xf32> -> tensor<3x6x6xf32>
}

// -----

// groups must be positive.
nir.graph @g {
  %a = nir.input "a" : tensor<2x8x8xf32>
  // expected-error @+1 {{'groups' is 0; expected a positive integer}}
  %c = nir.conv2d "conv"(%a) {weight = dense<1.0> : tensor<4x2x3x3xf32>, bias = dense<0.0> : tensor<4xf32>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 0 : i64, input_shape = array<i64: 8, 8>} : tensor<2x8x8xf32> -> tensor<4x6x6xf32>
}

// -----

// A convolution bias has one value per output channel.
nir.graph @g {
  %a = nir.input "a" : tensor<2x8x8xf32>
  // expected-error @+1 {{'bias' has shape [2]; expected [4]}}
  %c = nir.conv2d "conv"(%a) {weight = dense<1.0> : tensor<4x2x3x3xf32>, bias = dense<0.0> : tensor<2xf32>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 8, 8>} : tensor<2x8x8xf32> -> tensor<4x6x6xf32>
}

// -----

// input_shape is spatial only: (H, W), not (C, H, W).
nir.graph @g {
  %a = nir.input "a" : tensor<2x8x8xf32>
  // expected-error @+1 {{'input_shape' is (2, 8, 8); expected 2 spatial size(s), without the channel dimension}}
  %c = nir.conv2d "conv"(%a) {weight = dense<1.0> : tensor<4x2x3x3xf32>, bias = dense<0.0> : tensor<4xf32>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 2, 8, 8>} : tensor<2x8x8xf32> -> tensor<4x6x6xf32>
}

// -----

// Strides must be positive.
nir.graph @g {
  %a = nir.input "a" : tensor<2x8x8xf32>
  // expected-error @+1 {{'stride' is (0, 1); expected 2 positive integer(s)}}
  %c = nir.conv2d "conv"(%a) {weight = dense<1.0> : tensor<4x2x3x3xf32>, bias = dense<0.0> : tensor<4xf32>, stride = array<i64: 0, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 8, 8>} : tensor<2x8x8xf32> -> tensor<4x6x6xf32>
}

// -----

// Padding is non-negative integers, "same" or "valid".
nir.graph @g {
  %a = nir.input "a" : tensor<2x8x8xf32>
  // expected-error @+1 {{'padding' is full; expected 2 non-negative integer(s), 'same' or 'valid'}}
  %c = nir.conv2d "conv"(%a) {weight = dense<1.0> : tensor<4x2x3x3xf32>, bias = dense<0.0> : tensor<4xf32>, stride = array<i64: 1, 1>, padding = "full", dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 8, 8>} : tensor<2x8x8xf32> -> tensor<4x6x6xf32>
}

// -----

// The kernel must fit the padded input.
nir.graph @g {
  %a = nir.input "a" : tensor<1x2x2xf32>
  // expected-error @+1 {{the kernel [3] does not fit the input [2]}}
  %c = nir.conv1d "conv"(%a) {weight = dense<1.0> : tensor<1x1x3xf32>, bias = dense<0.0> : tensor<1xf32>, stride = array<i64: 1>, padding = array<i64: 0>, dilation = array<i64: 1>, groups = 1 : i64, input_shape = array<i64: 2>} : tensor<1x2x2xf32> -> tensor<1x1x1xf32>
}

// -----

// A 2-D pool has two kernel sizes.
nir.graph @g {
  %a = nir.input "a" : tensor<2x8x8xf32>
  // expected-error @+1 {{'kernel_size' is (2,); expected 2 integers}}
  %p = nir.sum_pool2d "pool"(%a) {kernel_size = array<i64: 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>} : tensor<2x8x8xf32> -> tensor<2x4x4xf32>
}

// -----

// A 2-D pool takes (C, H, W); a batch dimension is not part of NIR shapes.
nir.graph @g {
  %a = nir.input "a" : tensor<1x2x8x8xf32>
  // expected-error @+1 {{the input has shape [1, 2, 8, 8]; a 2-D pool expects rank 3 (C, H, W)}}
  %p = nir.avg_pool2d "pool"(%a) {kernel_size = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>} : tensor<1x2x8x8xf32> -> tensor<1x2x4x4xf32>
}

// -----

// The pool kernel must fit the input.
nir.graph @g {
  %a = nir.input "a" : tensor<2x2x2xf32>
  // expected-error @+1 {{'kernel_size' [3, 3] does not fit the input [2, 2]}}
  %p = nir.sum_pool2d "pool"(%a) {kernel_size = array<i64: 3, 3>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0>} : tensor<2x2x2xf32> -> tensor<2x1x1xf32>
}

// -----

// A pool without an incoming edge has no known input shape.
nir.graph @g {
  // expected-error @+1 {{the input shape is unknown; a pool needs an incoming edge}}
  %p = nir.sum_pool2d "pool"() {kernel_size = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>} : tensor<2x4x4xf32>
}

// -----

// Flatten dimensions must exist in the input shape.
nir.graph @g {
  %a = nir.input "a" : tensor<8x4x4xf32>
  // expected-error @+1 {{'start_dim' 3 and 'end_dim' -1 do not select dimensions of the input shape [8, 4, 4]}}
  %f = nir.flatten "flat"(%a) {start_dim = 3 : i64, end_dim = -1 : i64} : tensor<8x4x4xf32> -> tensor<128xf32>
}

// -----

// Flatten as written: start_dim 1 on (8, 4, 4) gives (8, 16), not (128).
nir.graph @g {
  %a = nir.input "a" : tensor<8x4x4xf32>
  // expected-error @+1 {{result has shape [128] but the parameters give [8, 16]}}
  %f = nir.flatten "flat"(%a) {start_dim = 1 : i64, end_dim = -1 : i64} : tensor<8x4x4xf32> -> tensor<128xf32>
}

// -----

// Every neuron parameter has the neuron shape, the shape most of them have.
nir.graph @g {
  %a = nir.input "a" : tensor<38xf32>
  // expected-error @+1 {{'nir.lif' op node 'lif1': 'tau' has shape [40] but 'r' has shape [38]; every LIF parameter must have the neuron shape}}
  %l = nir.lif "lif1"(%a) {tau = dense<0.01> : tensor<40xf32>, r = dense<1.0> : tensor<38xf32>, v_leak = dense<0.0> : tensor<38xf32>, v_threshold = dense<1.0> : tensor<38xf32>, v_reset = dense<0.0> : tensor<38xf32>} : tensor<38xf32>
}

// -----

// An output needs an incoming edge.
nir.graph @g {
  // expected-error @+1 {{'nir.output' op node 'out': an output needs at least one operand}}
  nir.output "out"()
}

// -----

// Edges into an output carry one shape.
nir.graph @g {
  %a = nir.input "a" : tensor<2xf32>
  %b = nir.input "b" : tensor<3xf32>
  // expected-error @+1 {{'nir.output' op node 'out': operand 1 has type tensor<3xf32> but operand 0 has type tensor<2xf32>}}
  "nir.output"(%a, %b) <{node_name = "out"}> : (tensor<2xf32>, tensor<3xf32>) -> ()
}

// -----

// A subgraph names a graph of this module.
nir.graph @g {
  %a = nir.input "a" : tensor<2xf32>
  // expected-error @+1 {{'nir.subgraph' op node 'sub': graph @missing is not defined in this module}}
  %s = nir.subgraph "sub"(%a) {graph = @missing} : tensor<2xf32>
}

// -----

// A nested graph has exactly one input and one output.
nir.graph @two_inputs {
  %a = nir.input "a" : tensor<2xf32>
  %b = nir.input "b" : tensor<2xf32>
  nir.output "out"(%a, %b) : tensor<2xf32>
}
nir.graph @g {
  %a = nir.input "a" : tensor<2xf32>
  // expected-error @+1 {{graph @two_inputs has 2 inputs and 1 outputs; a nested graph needs exactly one of each}}
  %s = nir.subgraph "sub"(%a) {graph = @two_inputs} : tensor<2xf32>
}

// -----

// The subgraph's operands have the nested input's type (a 12-wide input feeding 38 neurons).
nir.graph @hidden {
  %a = nir.input "input" : tensor<12xf32>
  nir.output "output"(%a) : tensor<12xf32>
}
nir.graph @g {
  %a = nir.input "a" : tensor<38xf32>
  // expected-error @+1 {{operand type tensor<38xf32> does not match the input 'input' of @hidden, which has type tensor<12xf32>}}
  %s = nir.subgraph "hidden"(%a) {graph = @hidden} : tensor<38xf32> -> tensor<12xf32>
}

// -----

// The subgraph's result has the nested output's type.
nir.graph @inner {
  %a = nir.input "input" : tensor<2xf32>
  nir.output "output"(%a) : tensor<2xf32>
}
nir.graph @g {
  %a = nir.input "a" : tensor<2xf32>
  // expected-error @+1 {{result type tensor<3xf32> does not match the output 'output' of @inner, which has type tensor<2xf32>}}
  %s = nir.subgraph "sub"(%a) {graph = @inner} : tensor<2xf32> -> tensor<3xf32>
}

// -----

// Node names are unique within a graph.
// expected-error @+1 {{'nir.graph' op @g: node name 'a' is used twice}}
nir.graph @g {
  %a = nir.input "a" : tensor<2xf32>
  %b = nir.input "a" : tensor<2xf32>
}

// -----

// Parameters must be finite: 0x7FC00000 is a NaN threshold.
nir.graph @g {
  %a = nir.input "a" : tensor<1xf32>
  // expected-error @+1 {{'nir.lif' op node 'lif': 'v_threshold' contains nan at index (0,); every parameter must be finite}}
  %l = nir.lif "lif"(%a) {tau = dense<[0.01]> : tensor<1xf32>, r = dense<[1.0]> : tensor<1xf32>, v_leak = dense<[0.0]> : tensor<1xf32>, v_threshold = dense<"0x0000C07F"> : tensor<1xf32>, v_reset = dense<[0.0]> : tensor<1xf32>} : tensor<1xf32>
}

// -----

// NIR shapes are static and have no empty dimensions.
nir.graph @g {
  // expected-error @+1 {{'nir.input' op node 'a': result 0 has type tensor<0xf32>; NIR shapes need static sizes of at least 1}}
  %a = nir.input "a" : tensor<0xf32>
}

// -----

// A node op lives in a graph.
// expected-error @+1 {{'nir.input' op node 'a': a NIR node op must be inside a 'nir.graph'}}
%a = nir.input "a" : tensor<2xf32>

// -----

// A graph cannot contain itself, directly or through another graph.
nir.graph @outer {
  %a = nir.input "a" : tensor<2xf32>
  // expected-error @+1 {{'nir.subgraph' op node 'inner': graph @outer instantiates itself (@outer -> @inner -> @outer); a NIR graph cannot contain itself}}
  %s = nir.subgraph "inner"(%a) {graph = @inner} : tensor<2xf32>
  nir.output "out"(%s) : tensor<2xf32>
}
nir.graph @inner {
  %a = nir.input "a" : tensor<2xf32>
  %s = nir.subgraph "outer"(%a) {graph = @outer} : tensor<2xf32>
  nir.output "out"(%s) : tensor<2xf32>
}

// -----

// A time constant must be positive: tau = 0 divides by zero, and tau < 0 makes v grow.
nir.graph @g {
  %a = nir.input "a" : tensor<2xf32>
  // expected-error @+1 {{'nir.lif' op node 'lif': 'tau' is -0.02 at index (1,); every time constant must be a positive number of seconds}}
  %l = nir.lif "lif"(%a) {tau = dense<[0.02, -0.02]> : tensor<2xf64>, r = dense<1.0> : tensor<2xf64>, v_leak = dense<0.0> : tensor<2xf64>, v_threshold = dense<1.0> : tensor<2xf64>, v_reset = dense<0.0> : tensor<2xf64>} : tensor<2xf32>
}

// -----

nir.graph @g {
  %a = nir.input "a" : tensor<2xf32>
  // expected-error @+1 {{'nir.cuba_li' op node 'li': 'tau_syn' is 0.0 at index (0,); every time constant must be a positive number of seconds}}
  %l = nir.cuba_li "li"(%a) {tau_syn = dense<0.0> : tensor<2xf64>, tau_mem = dense<0.02> : tensor<2xf64>, r = dense<1.0> : tensor<2xf64>, v_leak = dense<0.0> : tensor<2xf64>, w_in = dense<1.0> : tensor<2xf64>} : tensor<2xf32>
}

// -----

// A delay cannot be negative.
nir.graph @g {
  %a = nir.input "a" : tensor<2xf32>
  // expected-error @+1 {{'nir.delay' op node 'd': 'delay' is -0.001 at index (0,); a delay must be zero or a positive number of seconds}}
  %d = nir.delay "d"(%a) {delay = dense<-0.001> : tensor<2xf64>} : tensor<2xf32>
}

// -----

// A cycle needs a node with state on it; a zero delay has none.
// expected-error @+1 {{'nir.graph' op @g: the edges 'sum' -> 'rec' -> 'zero' -> 'sum' form a cycle of memoryless nodes}}
nir.graph @g {
  %a = nir.input "a" : tensor<2xf32>
  %sum = nir.scale "sum"(%a, %zero) {scale = dense<1.0> : tensor<2xf32>} : tensor<2xf32>
  %rec = nir.linear "rec"(%sum) {weight = dense<0.5> : tensor<2x2xf32>} : tensor<2xf32>
  %zero = nir.delay "zero"(%rec) {delay = dense<0.0> : tensor<2xf64>} : tensor<2xf32>
  nir.output "o"(%sum) : tensor<2xf32>
}

// -----

// A subgraph whose input reaches its output through memoryless nodes only does not break
// a cycle either.
// expected-error @+1 {{'nir.graph' op @outer: the edges 'sum' -> 'inner' -> 'sum' form a cycle of memoryless nodes}}
nir.graph @outer {
  %a = nir.input "a" : tensor<2xf32>
  %sum = nir.scale "sum"(%a, %s) {scale = dense<1.0> : tensor<2xf32>} : tensor<2xf32>
  %s = nir.subgraph "inner"(%sum) {graph = @inner} : tensor<2xf32>
  nir.output "out"(%sum) : tensor<2xf32>
}
nir.graph @inner {
  %a = nir.input "a" : tensor<2xf32>
  %l = nir.linear "l"(%a) {weight = dense<0.5> : tensor<2x2xf32>} : tensor<2xf32>
  nir.output "out"(%l) : tensor<2xf32>
}

// -----

// A node without its name is reported at the node, not as a crash of the graph's check of
// unique names.
nir.graph @g {
  %a = nir.input "a" : tensor<2xf32>
  // expected-error @+1 {{'nir.scale' op property 'node_name' expected in operation 'nir.scale'}}
  %s = "nir.scale"(%a) <{scale = dense<1.0> : tensor<2xf32>}> : (tensor<2xf32>) -> tensor<2xf32>
}

// -----

// Parameters are dense tensors.
nir.graph @g {
  %a = nir.input "a" : tensor<2xf32>
  // expected-error @+1 {{'nir.scale' op 1.000000e+00 : f32 should be of base attribute dense}}
  %s = nir.scale "s"(%a) {scale = 1.0 : f32} : tensor<2xf32>
}

// -----

// Graph inputs are nir.input ops, not block arguments.
// expected-error @+1 {{'nir.graph' op @g: the body block must have no arguments; use nir.input ops for graph inputs}}
nir.graph @g {
^bb0(%x: tensor<2xf32>):
  %a = nir.input "a" : tensor<2xf32>
}

// -----

// A nir graph holds only nir node ops.
// expected-error @+1 {{'nir.graph' op @g: 'snn.input' is not a NIR node op}}
nir.graph @g {
  %a = snn.input "a" : tensor<2xf32>
}

// -----

// A convolution kernel must fit the padded input.
nir.graph @g {
  %a = nir.input "a" : tensor<2x2x2xf32>
  // expected-error @+1 {{'nir.conv2d' op node 'conv': the kernel [3, 3] does not fit the input [2, 2] with this stride, padding and dilation}}
  %c = nir.conv2d "conv"(%a) {weight = dense<1.0> : tensor<4x2x3x3xf32>, bias = dense<0.0> : tensor<4xf32>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, dilation = array<i64: 1, 1>, groups = 1 : i64, input_shape = array<i64: 2, 2>} : tensor<2x2x2xf32> -> tensor<4x1x1xf32>
}

// -----

// Pool kernels and strides are positive.
nir.graph @g {
  %a = nir.input "a" : tensor<2x4x4xf32>
  // expected-error @+1 {{'nir.sum_pool2d' op node 'pool': 'kernel_size' and 'stride' must be positive}}
  %p = nir.sum_pool2d "pool"(%a) {kernel_size = array<i64: 0, 2>, stride = array<i64: 2, 2>, padding = array<i64: 0, 0>} : tensor<2x4x4xf32> -> tensor<2x2x2xf32>
}

// -----

// A pool pads each side with zeros, so negative padding has no meaning.
nir.graph @g {
  %a = nir.input "a" : tensor<1x8x8xf32>
  // expected-error @+1 {{'nir.avg_pool2d' op node 'pool': 'padding' is [-1, -1]; a pool pads each side of the input with zeros, so padding must be 0 or more}}
  %p = nir.avg_pool2d "pool"(%a) {kernel_size = array<i64: 2, 2>, stride = array<i64: 2, 2>, padding = array<i64: -1, -1>} : tensor<1x8x8xf32> -> tensor<1x3x3xf32>
}

// -----

// A flatten takes its input shape from its incoming edge.
nir.graph @g {
  // expected-error @+1 {{'nir.flatten' op node 'flat': the input shape is unknown; a flatten needs an incoming edge}}
  %f = "nir.flatten"() <{node_name = "flat", start_dim = 0 : i64, end_dim = -1 : i64}> : () -> tensor<16xf32>
}

// -----

// Values are tensors.
nir.graph @g {
  %a = nir.input "a" : tensor<2xf32>
  // expected-error @+1 {{'nir.scale' op result 'output' at position 0 does not verify:}}
  %s = "nir.scale"(%a) <{node_name = "s", scale = dense<1.0> : tensor<2xf32>}> : (tensor<2xf32>) -> f32
}

// -----

// A bias may broadcast to the output shape but not widen it.
nir.graph @g {
  %a = nir.input "a" : tensor<2xf32>
  // expected-error @+1 {{'nir.affine' op node 'fc': 'bias' has shape [2, 3], which does not broadcast to the output shape [3]}}
  %s = nir.affine "fc"(%a) {weight = dense<1.0> : tensor<3x2xf32>, bias = dense<0.0> : tensor<2x3xf32>} : tensor<2xf32> -> tensor<3xf32>
}

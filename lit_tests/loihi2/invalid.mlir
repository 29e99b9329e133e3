// One case per verifier rule of the loihi2 dialect: each error names the limit, by how much it
// is missed and what would fix it.
// RUN: nir-opt %s --split-input-file --verify-diagnostics

// A decay is a fraction of 4096.
loihi2.graph @g attributes {dt = 0.0001 : f64} {
  %in = loihi2.input "in" : tensor<2xi1>
  // expected-error @+1 {{'loihi2.dense' op node 'fc': 'v_decay' is 4097, 1 outside the Loihi 2 range [0, 4096]; decays are fractions of 4096}}
  %l = loihi2.dense "fc"(%in) {weight = dense<2> : tensor<2x2xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = 4096 : i64, v_decay = 4097 : i64, vth_mant = 10 : i64, voltage_scale = dense<1.0> : tensor<f64>} : tensor<2xi1> -> tensor<2xi1>
}

// -----

// The threshold mantissa has 17 bits.
loihi2.graph @g attributes {dt = 0.0001 : f64} {
  %in = loihi2.input "in" : tensor<2xi1>
  // expected-error @+1 {{'vth_mant' is 131075, 4 outside the Loihi 2 range [0, 131071]; lower the layer's voltage scale}}
  %l = loihi2.dense "fc"(%in) {weight = dense<2> : tensor<2x2xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = 4096 : i64, v_decay = 0 : i64, vth_mant = 131075 : i64, voltage_scale = dense<1.0> : tensor<f64>} : tensor<2xi1> -> tensor<2xi1>
}

// -----

// The bias mantissa has 13 bits.
loihi2.graph @g attributes {dt = 0.0001 : f64} {
  %in = loihi2.input "in" : tensor<2xi1>
  // expected-error @+1 {{'bias' is -4100, 4 outside the Loihi 2 range [-4096, 4095]; lower the layer's voltage scale}}
  %l = loihi2.dense "fc"(%in) {weight = dense<2> : tensor<2x2xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = 4096 : i64, v_decay = 0 : i64, vth_mant = 10 : i64, voltage_scale = dense<1.0> : tensor<f64>, bias = dense<[0, -4100]> : tensor<2xi16>} : tensor<2xi1> -> tensor<2xi1>
}

// -----

// Mixed-sign mantissas lie in [-256, 254].
loihi2.graph @g attributes {dt = 0.0001 : f64} {
  %in = loihi2.input "in" : tensor<2xi1>
  // expected-error @+1 {{'weight' has mantissa 256, outside the mixed range [-256, 254] of Lava's Dense; halve the mantissas and raise 'weight_exp' by 1}}
  %l = loihi2.dense "fc"(%in) {weight = dense<[[256, -2], [0, 0]]> : tensor<2x2xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = 4096 : i64, v_decay = 0 : i64, vth_mant = 10 : i64, voltage_scale = dense<1.0> : tensor<f64>} : tensor<2xi1> -> tensor<2xi1>
}

// -----

// Mixed-sign mantissas are even, because Lava drops their lowest bit.
loihi2.graph @g attributes {dt = 0.0001 : f64} {
  %in = loihi2.input "in" : tensor<2xi1>
  // expected-error @+1 {{'weight' has mantissa 3, which is not a multiple of 2; Lava keeps only 8 weight bits in mixed sign mode and would drop its low bits}}
  %l = loihi2.dense "fc"(%in) {weight = dense<[[3, -2], [0, 0]]> : tensor<2x2xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = 4096 : i64, v_decay = 0 : i64, vth_mant = 10 : i64, voltage_scale = dense<1.0> : tensor<f64>} : tensor<2xi1> -> tensor<2xi1>
}

// -----

// Fewer weight bits clear more low bits.
loihi2.graph @g attributes {dt = 0.0001 : f64} {
  %in = loihi2.input "in" : tensor<2xi1>
  // expected-error @+1 {{'weight' has mantissa 4, which is not a multiple of 8; Lava keeps only 5 weight bits in excitatory sign mode}}
  %l = loihi2.dense "fc"(%in) {weight = dense<[[4, 8], [0, 0]]> : tensor<2x2xi16>, weight_exp = 0 : i64, num_weight_bits = 5 : i64, i_decay = 4096 : i64, v_decay = 0 : i64, vth_mant = 10 : i64, voltage_scale = dense<1.0> : tensor<f64>} : tensor<2xi1> -> tensor<2xi1>
}

// -----

// Lava stores at most 8 weight bits.
loihi2.graph @g attributes {dt = 0.0001 : f64} {
  %in = loihi2.input "in" : tensor<2xi1>
  // expected-error @+1 {{'num_weight_bits' is 9, 1 outside the Loihi 2 range [1, 8]; Lava's Dense stores at most 8 weight bits}}
  %l = loihi2.dense "fc"(%in) {weight = dense<2> : tensor<2x2xi16>, weight_exp = 0 : i64, num_weight_bits = 9 : i64, i_decay = 4096 : i64, v_decay = 0 : i64, vth_mant = 10 : i64, voltage_scale = dense<1.0> : tensor<f64>} : tensor<2xi1> -> tensor<2xi1>
}

// -----

// The weight exponent is a signed 4-bit field.
loihi2.graph @g attributes {dt = 0.0001 : f64} {
  %in = loihi2.input "in" : tensor<2xi1>
  // expected-error @+1 {{'weight_exp' is 8, 1 outside the Loihi 2 range [-8, 7]; rescale the layer}}
  %l = loihi2.dense "fc"(%in) {weight = dense<2> : tensor<2x2xi16>, weight_exp = 8 : i64, num_weight_bits = 8 : i64, i_decay = 4096 : i64, v_decay = 0 : i64, vth_mant = 10 : i64, voltage_scale = dense<1.0> : tensor<f64>} : tensor<2xi1> -> tensor<2xi1>
}

// -----

// Synaptic delays reach at most 62 steps.
loihi2.graph @g attributes {dt = 0.0001 : f64} {
  %in = loihi2.input "in" : tensor<2xi1>
  // expected-error @+1 {{'delay' is 63, 1 outside the Loihi 2 range [0, 62]; netx clamps longer delays}}
  %l = loihi2.dense "fc"(%in) {weight = dense<2> : tensor<2x2xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = 4096 : i64, v_decay = 0 : i64, vth_mant = 10 : i64, voltage_scale = dense<1.0> : tensor<f64>, delay = dense<[[0, 63], [0, 0]]> : tensor<2x2xi8>} : tensor<2xi1> -> tensor<2xi1>
}

// -----

// A delay is given per synapse.
loihi2.graph @g attributes {dt = 0.0001 : f64} {
  %in = loihi2.input "in" : tensor<2xi1>
  // expected-error @+1 {{'delay' has shape [2]; expected the weight shape [2, 2]}}
  %l = loihi2.dense "fc"(%in) {weight = dense<2> : tensor<2x2xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = 4096 : i64, v_decay = 0 : i64, vth_mant = 10 : i64, voltage_scale = dense<1.0> : tensor<f64>, delay = dense<1> : tensor<2xi8>} : tensor<2xi1> -> tensor<2xi1>
}

// -----

// The voltage scale is positive.
loihi2.graph @g attributes {dt = 0.0001 : f64} {
  %in = loihi2.input "in" : tensor<2xi1>
  // expected-error @+1 {{'voltage_scale' must hold positive finite numbers}}
  %l = loihi2.dense "fc"(%in) {weight = dense<2> : tensor<2x2xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = 4096 : i64, v_decay = 0 : i64, vth_mant = 10 : i64, voltage_scale = dense<-1.0> : tensor<f64>} : tensor<2xi1> -> tensor<2xi1>
}

// -----

// A dense weight is (out, in) over the input.
loihi2.graph @g attributes {dt = 0.0001 : f64} {
  %in = loihi2.input "in" : tensor<2xi1>
  // expected-error @+1 {{'weight' has shape [2, 3] for an input of shape [2]; expected (out, in) over a flat input (insert a loihi2.flatten)}}
  %l = loihi2.dense "fc"(%in) {weight = dense<2> : tensor<2x3xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = 4096 : i64, v_decay = 0 : i64, vth_mant = 10 : i64, voltage_scale = dense<1.0> : tensor<f64>} : tensor<2xi1> -> tensor<2xi1>
}

// -----

// A dense_rec layer shares one sign mode between its two matrices, so the recurrent mantissas
// count toward the mixed range too.
loihi2.graph @g attributes {dt = 0.0001 : f64} {
  %in = loihi2.input "in" : tensor<2xi1>
  // expected-error @+1 {{'weight_rec' has mantissa 255, outside the mixed range [-256, 254]}}
  %l = loihi2.dense_rec "rec"(%in) {weight = dense<[[-2, 0], [0, 0]]> : tensor<2x2xi16>, weight_rec = dense<[[255, 0], [0, 0]]> : tensor<2x2xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = 4096 : i64, v_decay = 0 : i64, vth_mant = 10 : i64, voltage_scale = dense<1.0> : tensor<f64>} : tensor<2xi1> -> tensor<2xi1>
}

// -----

// The recurrent matrix is square.
loihi2.graph @g attributes {dt = 0.0001 : f64} {
  %in = loihi2.input "in" : tensor<2xi1>
  // expected-error @+1 {{'weight_rec' has shape [2, 3]; expected [2, 2]}}
  %l = loihi2.dense_rec "rec"(%in) {weight = dense<2> : tensor<2x2xi16>, weight_rec = dense<2> : tensor<2x3xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = 4096 : i64, v_decay = 0 : i64, vth_mant = 10 : i64, voltage_scale = dense<1.0> : tensor<f64>} : tensor<2xi1> -> tensor<2xi1>
}

// -----

// Values are spike tensors of i1.
loihi2.graph @g attributes {dt = 0.0001 : f64} {
  // expected-error @+1 {{'loihi2.input' op node 'in': expected a spike tensor of i1, got tensor<2xi8>}}
  %in = loihi2.input "in" : tensor<2xi8>
}

// -----

// A conv bias is per neuron or per output channel.
loihi2.graph @g attributes {dt = 0.0001 : f64} {
  %in = loihi2.input "in" : tensor<1x4x4xi1>
  // expected-error @+1 {{'bias' has shape [3]; expected [2, 4, 4] or [2]}}
  %c = loihi2.conv "c"(%in) {weight = dense<2> : tensor<2x1x3x3xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = 4096 : i64, v_decay = 0 : i64, vth_mant = 10 : i64, bias = dense<1> : tensor<3xi16>, voltage_scale = dense<1.0> : tensor<f64>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<1x4x4xi1> -> tensor<2x4x4xi1>
}

// -----

// A flatten keeps every spike.
loihi2.graph @g attributes {dt = 0.0001 : f64} {
  %in = loihi2.input "in" : tensor<2x3xi1>
  // expected-error @+1 {{'loihi2.flatten' op node 'f': the result must have shape [6], got tensor<5xi1>}}
  %f = loihi2.flatten "f"(%in) : tensor<2x3xi1> -> tensor<5xi1>
}

// -----

// netx layers form a chain: no layer feeds two others.
// expected-error @+1 {{'loihi2.graph' op @g: node 'in' feeds 2 ops; netx layers form a chain, so each layer feeds at most one}}
loihi2.graph @g attributes {dt = 0.0001 : f64} {
  %in = loihi2.input "in" : tensor<2xi1>
  loihi2.output "a"(%in) : tensor<2xi1>
  loihi2.output "b"(%in) : tensor<2xi1>
}

// -----

// A netx network has one input layer.
// expected-error @+1 {{'loihi2.graph' op @g: a netx network has exactly one loihi2.input, found 2}}
loihi2.graph @g attributes {dt = 0.0001 : f64} {
  %a = loihi2.input "a" : tensor<2xi1>
  %b = loihi2.input "b" : tensor<2xi1>
}

// -----

// A layer reads one layer: netx has no concatenation.
loihi2.graph @g attributes {dt = 0.0001 : f64} {
  %in = loihi2.input "in" : tensor<2xi1>
  // expected-error @+1 {{a netx layer reads exactly one layer, got 0 operands; netx has no concatenation}}
  loihi2.output "out" : tensor<2xi1>
}

// Every loihi2 op survives print -> parse -> print, in the custom and the generic form.
// RUN: nir-opt %s | filecheck %s
// RUN: nir-opt %s | nir-opt | filecheck %s
// RUN: nir-opt %s --print-op-generic | nir-opt | filecheck %s

// CHECK-LABEL: loihi2.graph @recurrent attributes {dt = 0.0001 : f64}
// CHECK-NEXT:    %[[IN:.*]] = loihi2.input "input" : tensor<3xi1>
// CHECK-NEXT:    %[[REC:.*]] = loihi2.dense_rec "hidden"(%[[IN]]) {weight_rec = dense<{{\[\[}}0, -2], [2, 0]]> : tensor<2x2xi16>, delay = dense<{{\[\[}}0, 1, 62], [3, 0, 0]]> : tensor<2x3xi8>, weight = dense<{{\[\[}}2, -4, 6], [0, 8, -10]]> : tensor<2x3xi16>, weight_exp = 3 : i64, num_weight_bits = 8 : i64, i_decay = 1843 : i64, v_decay = 410 : i64, vth_mant = 546 : i64, bias = dense<[-4096, 4095]> : tensor<2xi16>, voltage_scale = dense<[1.0e-05, 2.0e-05]> : tensor<2xf64>} : tensor<3xi1> -> tensor<2xi1>
// CHECK-NEXT:    %[[OUT:.*]] = loihi2.dense "readout"(%[[REC]]) {weight = dense<{{\[\[}}255, 1]]> : tensor<1x2xi16>, weight_exp = -8 : i64, num_weight_bits = 8 : i64, i_decay = 0 : i64, v_decay = 4096 : i64, vth_mant = 131071 : i64, voltage_scale = dense<1.0> : tensor<f64>} : tensor<2xi1> -> tensor<1xi1>
// CHECK-NEXT:    loihi2.output "output"(%[[OUT]]) : tensor<1xi1>
loihi2.graph @recurrent attributes {dt = 0.0001 : f64} {
  %input = loihi2.input "input" : tensor<3xi1>
  %hidden = loihi2.dense_rec "hidden"(%input) {weight = dense<[[2, -4, 6], [0, 8, -10]]> : tensor<2x3xi16>, weight_rec = dense<[[0, -2], [2, 0]]> : tensor<2x2xi16>, weight_exp = 3 : i64, num_weight_bits = 8 : i64, delay = dense<[[0, 1, 62], [3, 0, 0]]> : tensor<2x3xi8>, i_decay = 1843 : i64, v_decay = 410 : i64, vth_mant = 546 : i64, bias = dense<[-4096, 4095]> : tensor<2xi16>, voltage_scale = dense<[1.0e-05, 2.0e-05]> : tensor<2xf64>} : tensor<3xi1> -> tensor<2xi1>
  %readout = loihi2.dense "readout"(%hidden) {weight = dense<[[255, 1]]> : tensor<1x2xi16>, weight_exp = -8 : i64, num_weight_bits = 8 : i64, i_decay = 0 : i64, v_decay = 4096 : i64, vth_mant = 131071 : i64, voltage_scale = dense<1.0> : tensor<f64>} : tensor<2xi1> -> tensor<1xi1>
  loihi2.output "output"(%readout) : tensor<1xi1>
}

// CHECK-LABEL: loihi2.graph @conv
// CHECK-NEXT:    %[[IMG:.*]] = loihi2.input "image" : tensor<2x8x8xi1>
// CHECK-NEXT:    %[[CONV:.*]] = loihi2.conv "conv"(%[[IMG]]) {stride = array<i64: 2, 2>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64, weight = dense<-6> : tensor<4x2x3x3xi16>, weight_exp = 0 : i64, num_weight_bits = 7 : i64, i_decay = 4096 : i64, v_decay = 0 : i64, vth_mant = 100 : i64, bias = dense<[1, 2, 3, 4]> : tensor<4xi16>, voltage_scale = dense<0.01> : tensor<f64>} : tensor<2x8x8xi1> -> tensor<4x4x4xi1>
// CHECK-NEXT:    %[[FLAT:.*]] = loihi2.flatten "flat"(%[[CONV]]) : tensor<4x4x4xi1> -> tensor<64xi1>
// CHECK-NEXT:    %[[FC:.*]] = loihi2.dense "fc"(%[[FLAT]])
// CHECK-NEXT:    loihi2.output "out"(%[[FC]]) : tensor<10xi1>
loihi2.graph @conv attributes {dt = 0.001 : f64} {
  %image = loihi2.input "image" : tensor<2x8x8xi1>
  %conv = loihi2.conv "conv"(%image) {weight = dense<-6> : tensor<4x2x3x3xi16>, weight_exp = 0 : i64, num_weight_bits = 7 : i64, i_decay = 4096 : i64, v_decay = 0 : i64, vth_mant = 100 : i64, bias = dense<[1, 2, 3, 4]> : tensor<4xi16>, voltage_scale = dense<0.01> : tensor<f64>, stride = array<i64: 2, 2>, padding = array<i64: 1, 1>, dilation = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x8x8xi1> -> tensor<4x4x4xi1>
  %flat = loihi2.flatten "flat"(%conv) : tensor<4x4x4xi1> -> tensor<64xi1>
  %fc = loihi2.dense "fc"(%flat) {weight = dense<1> : tensor<10x64xi16>, weight_exp = 0 : i64, num_weight_bits = 8 : i64, i_decay = 4096 : i64, v_decay = 0 : i64, vth_mant = 10 : i64, voltage_scale = dense<0.01> : tensor<f64>} : tensor<64xi1> -> tensor<10xi1>
  loihi2.output "out"(%fc) : tensor<10xi1>
}

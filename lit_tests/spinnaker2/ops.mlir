// Every spinnaker2 op survives print -> parse -> print, in the custom and the generic form.
// RUN: nir-opt %s | filecheck %s
// RUN: nir-opt %s | nir-opt | filecheck %s
// RUN: nir-opt %s --print-op-generic | nir-opt | filecheck %s

// CHECK-LABEL: spinnaker2.graph @net attributes {dt = 0.0001 : f64, sys_tick = 0.001 : f64}
// CHECK-NEXT:    %[[IN:.*]] = spinnaker2.input "in" {atoms_per_core = 256 : i64} : tensor<8xf32>
// CHECK-NEXT:    %[[CONV:.*]] = spinnaker2.conv2d_projection "in->conv"(%[[IN]]) {weight = dense<3> : tensor<2x1x2x2xi32>, in_shape = array<i64: 2, 2, 2>, stride = array<i64: 1, 1>, padding = array<i64: 0, 1, 0, 1>, pool = array<i64: 1, 1>} : tensor<8xf32>
// CHECK-NEXT:    %[[C:.*]] = spinnaker2.lif_conv2d "conv"(%[[CONV]]) {threshold = dense<1.5> : tensor<4xf32>, alpha_decay = dense<1.0> : tensor<4xf32>, i_offset = dense<0.0> : tensor<4xf32>, v_reset = dense<0.0> : tensor<4xf32>, reset = "reset_by_subtraction", v_scale = dense<127.0> : tensor<4xf64>, atoms_per_core = 4 : i64} : tensor<4xf32>
// CHECK-NEXT:    %[[FF:.*]] = spinnaker2.projection "conv->cur"(%[[C]]) {weight = dense<{{\[\[}}1, -2, 0, 127], [-128, 0, 5, 1]]> : tensor<2x4xi32>, delay = dense<0> : tensor<2x4xi32>} : tensor<4xf32> -> tensor<2xf32>
// CHECK-NEXT:    %[[CUR:.*]] = spinnaker2.lif_curr_exp "cur"(%[[FF]], %[[REC:.*]]) {exc_decay = dense<0.5> : tensor<2xf32>, inh_decay = dense<0.5> : tensor<2xf32>, threshold = dense<20.0> : tensor<2xf32>, alpha_decay = dense<0.9> : tensor<2xf32>, i_offset = dense<0.25> : tensor<2xf32>, v_reset = dense<0.0> : tensor<2xf32>, reset = "reset_to_v_reset", v_scale = dense<10.0> : tensor<2xf64>, atoms_per_core = 256 : i64} : tensor<2xf32>
// CHECK-NEXT:    %[[REC]] = spinnaker2.projection "cur->cur"(%[[CUR]]) {weight = dense<{{\[\[}}0, 4], [-4, 0]]> : tensor<2x2xi32>, delay = dense<1> : tensor<2x2xi32>} : tensor<2xf32>
// CHECK-NEXT:    %[[OUT:.*]] = spinnaker2.projection "cur->out"(%[[CUR]])
// CHECK-NEXT:    %[[LIF:.*]] = spinnaker2.lif "out"(%[[OUT]])
// CHECK-NEXT:    spinnaker2.output "output"(%[[LIF]]) : tensor<2xf32>
spinnaker2.graph @net attributes {dt = 0.0001 : f64, sys_tick = 0.001 : f64} {
  %in = spinnaker2.input "in" {atoms_per_core = 256 : i64} : tensor<8xf32>
  %conv_in = spinnaker2.conv2d_projection "in->conv"(%in) {weight = dense<3> : tensor<2x1x2x2xi32>, in_shape = array<i64: 2, 2, 2>, stride = array<i64: 1, 1>, padding = array<i64: 0, 1, 0, 1>, pool = array<i64: 1, 1>} : tensor<8xf32> -> tensor<4xf32>
  %conv = spinnaker2.lif_conv2d "conv"(%conv_in) {threshold = dense<1.5> : tensor<4xf32>, alpha_decay = dense<1.0> : tensor<4xf32>, i_offset = dense<0.0> : tensor<4xf32>, v_reset = dense<0.0> : tensor<4xf32>, reset = "reset_by_subtraction", v_scale = dense<127.0> : tensor<4xf64>, atoms_per_core = 4 : i64} : tensor<4xf32>
  %ff = spinnaker2.projection "conv->cur"(%conv) {weight = dense<[[1, -2, 0, 127], [-128, 0, 5, 1]]> : tensor<2x4xi32>, delay = dense<0> : tensor<2x4xi32>} : tensor<4xf32> -> tensor<2xf32>
  %cur = spinnaker2.lif_curr_exp "cur"(%ff, %rec) {threshold = dense<20.0> : tensor<2xf32>, alpha_decay = dense<0.9> : tensor<2xf32>, i_offset = dense<0.25> : tensor<2xf32>, v_reset = dense<0.0> : tensor<2xf32>, reset = "reset_to_v_reset", v_scale = dense<10.0> : tensor<2xf64>, atoms_per_core = 256 : i64, exc_decay = dense<0.5> : tensor<2xf32>, inh_decay = dense<0.5> : tensor<2xf32>} : tensor<2xf32>
  %rec = spinnaker2.projection "cur->cur"(%cur) {weight = dense<[[0, 4], [-4, 0]]> : tensor<2x2xi32>, delay = dense<1> : tensor<2x2xi32>} : tensor<2xf32>
  %out_in = spinnaker2.projection "cur->out"(%cur) {weight = dense<[[7, 0], [0, 7]]> : tensor<2x2xi32>, delay = dense<0> : tensor<2x2xi32>} : tensor<2xf32>
  %out = spinnaker2.lif "out"(%out_in) {threshold = dense<10.0> : tensor<2xf32>, alpha_decay = dense<0.96> : tensor<2xf32>, i_offset = dense<0.0> : tensor<2xf32>, v_reset = dense<0.0> : tensor<2xf32>, reset = "reset_to_v_reset", v_scale = dense<2550.5> : tensor<2xf64>, atoms_per_core = 256 : i64} : tensor<2xf32>
  spinnaker2.output "output"(%out) : tensor<2xf32>
}

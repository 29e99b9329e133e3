// discretize folds dt/tau, r and w_in into per-step coefficients by the preset's integrator.
// RUN: nir-opt %s -p 'discretize{dt=1e-4 preset=norse}' | filecheck %s
// RUN: nir-opt %s -p 'discretize{dt=1e-4 preset=sinabs}' | filecheck %s --check-prefix=SINABS
// RUN: nir-opt %s -p 'discretize{dt=1e-4 preset=snntorch reset=subtract spike-test=ge}' | filecheck %s --check-prefix=OVERRIDE
// RUN: nir-opt %s -p 'discretize{dt=1e-4 preset=lava}' | filecheck %s --check-prefix=LAVA

// The NIR paper's LIF: tau 2.5 ms at dt 0.1 ms gives a = 0.04.
// CHECK-LABEL: snn.graph @lif attributes {dt = 0.0001 : f64}
// CHECK-NEXT:    %[[IN:.*]] = snn.input "input" : tensor<1xf32>
// CHECK-NEXT:    %[[FC:.*]] = snn.affine "fc"(%[[IN]])
// CHECK-NEXT:    %[[LIF:.*]] = snn.lif "lif"(%[[FC]]) {voltage_decay = dense<[0.96]> : tensor<1xf64>, voltage_gain = dense<[0.04]> : tensor<1xf64>, leak = dense<[0.0]> : tensor<1xf64>, v_threshold = dense<[0.1]> : tensor<1xf64>, v_reset = dense<[0.0]> : tensor<1xf64>, spike_test = "gt", spike_timing = "after_update", reset = "to_reset_value", max_spikes_per_step = 1 : i64, integrator = "forward_euler"}
// CHECK-NEXT:    snn.output "output"(%[[LIF]])

// sinabs keeps the exact decay e^-0.04 with the Euler gain, and resets by subtraction.
// SINABS-LABEL: snn.graph @lif
// SINABS:         snn.lif "lif"(%{{.*}}) {voltage_decay = dense<[0.9607894391523232]> : tensor<1xf64>, voltage_gain = dense<[0.04]> : tensor<1xf64>
// SINABS-SAME:    spike_test = "ge"
// SINABS-SAME:    reset = "subtract"
// SINABS-SAME:    integrator = "exp_euler"

// OVERRIDE-LABEL: snn.graph @lif
// OVERRIDE:         snn.lif "lif"
// OVERRIDE-SAME:    spike_test = "ge"
// OVERRIDE-SAME:    reset = "subtract"
nir.graph @lif {
  %input = nir.input "input" : tensor<1xf32>
  %fc = nir.affine "fc"(%input) {weight = dense<[[1.0]]> : tensor<1x1xf64>, bias = dense<[0.0]> : tensor<1xf64>} : tensor<1xf32>
  %lif = nir.lif "lif"(%fc) {tau = dense<[0.0025]> : tensor<1xf64>, r = dense<[1.0]> : tensor<1xf64>, v_leak = dense<[0.0]> : tensor<1xf64>, v_threshold = dense<[0.1]> : tensor<1xf64>, v_reset = dense<[0.0]> : tensor<1xf64>} : tensor<1xf32>
  nir.output "output"(%lif) : tensor<1xf32>
}

// A recurrent edge becomes an snn.step_delay right after its source; the neuron reads it
// before it is computed, and the rest of the graph follows the edges.
// CHECK-LABEL: snn.graph @recurrent
// CHECK-NEXT:    %[[IN:.*]] = snn.input "input"
// CHECK-NEXT:    %[[FC:.*]] = snn.affine "fc"(%[[IN]])
// CHECK-NEXT:    %[[LIF:.*]] = snn.lif "lif"(%[[FC]], %[[DELAYED:[^)]*]])
// CHECK-NEXT:    %[[REC:.*]] = snn.affine "rec"(%[[LIF]])
// CHECK-NEXT:    %[[DELAYED]] = snn.step_delay "rec->lif"(%[[REC]]) {steps = 1 : i64}
// CHECK-NEXT:    snn.output "output"(%[[LIF]])

// Lava adds one step on each synapse edge; the recurrent edge keeps one step in total.
// LAVA-LABEL: snn.graph @recurrent
// LAVA:         snn.step_delay "fc->lif"(%{{.*}}) {steps = 1 : i64}
// LAVA:         snn.step_delay "rec->lif"(%{{.*}}) {steps = 1 : i64}
nir.graph @recurrent {
  %input = nir.input "input" : tensor<2xf32>
  %fc = nir.affine "fc"(%input) {weight = dense<1.0> : tensor<2x2xf32>, bias = dense<0.0> : tensor<2xf32>} : tensor<2xf32>
  %lif = nir.lif "lif"(%fc, %rec) {tau = dense<0.0025> : tensor<2xf32>, r = dense<1.0> : tensor<2xf32>, v_leak = dense<0.0> : tensor<2xf32>, v_threshold = dense<0.1> : tensor<2xf32>, v_reset = dense<0.0> : tensor<2xf32>} : tensor<2xf32>
  %rec = nir.affine "rec"(%lif) {weight = dense<0.5> : tensor<2x2xf32>, bias = dense<0.0> : tensor<2xf32>} : tensor<2xf32>
  nir.output "output"(%lif) : tensor<2xf32>
}

// snnTorch's braille CubaLIF (tau_syn = dt/0.45, tau_mem = dt/0.1, r = tau_mem/dt,
// w_in = tau_syn/dt) gives alpha 0.55, beta 0.9 and unit gains.
// OVERRIDE-LABEL: snn.graph @cuba
// OVERRIDE:         snn.cuba_lif "lif1"(%{{.*}}) {current_decay = dense<0.55> : tensor<2xf64>, current_gain = dense<1.0> : tensor<2xf64>, voltage_decay = dense<0.9> : tensor<2xf64>, voltage_gain = dense<1.0> : tensor<2xf64>
// OVERRIDE-SAME:    current_timing = "same_step"
nir.graph @cuba {
  %input = nir.input "input" : tensor<2xf32>
  %lif1 = nir.cuba_lif "lif1"(%input) {tau_syn = dense<2.2222222222222223e-04> : tensor<2xf64>, tau_mem = dense<1.0e-03> : tensor<2xf64>, r = dense<10.0> : tensor<2xf64>, v_leak = dense<0.0> : tensor<2xf64>, v_threshold = dense<1.0> : tensor<2xf64>, v_reset = dense<0.0> : tensor<2xf64>, w_in = dense<2.2222222222222223> : tensor<2xf64>} : tensor<2xf32>
  nir.output "output"(%lif1) : tensor<2xf32>
}

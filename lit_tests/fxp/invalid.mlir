// One case per verifier rule of the fxp dialect.
// RUN: nir-opt %s --split-input-file --verify-diagnostics

// Weights must fit their declared width.
fxp.graph @g attributes {dt = 0.0001 : f64} {
  %a = fxp.input "a" {scale = 1.0 : f64} : tensor<2xi8>
  // expected-error @+1 {{'fxp.affine' op node 'fc': 'weight' has values in [100, 100], outside the 4-bit range [-8, 7]}}
  %fc = fxp.affine "fc"(%a) {weight = dense<100> : tensor<2x2xi8>, weight_bits = 4 : i64, weight_scale = dense<0.1> : tensor<f64>, input_scale = 1.0 : f64, folded_gain = dense<1.0> : tensor<f64>, saturate = true} : tensor<2xi8> -> tensor<2xi32>
}

// -----

// A weight scale is one number or one per output channel.
fxp.graph @g attributes {dt = 0.0001 : f64} {
  %a = fxp.input "a" {scale = 1.0 : f64} : tensor<2xi8>
  // expected-error @+1 {{'fxp.affine' op node 'fc': 'weight_scale' has shape [3]; expected [] or [2]}}
  %fc = fxp.affine "fc"(%a) {weight = dense<1> : tensor<2x2xi8>, weight_bits = 8 : i64, weight_scale = dense<0.1> : tensor<3xf64>, input_scale = 1.0 : f64, folded_gain = dense<1.0> : tensor<f64>, saturate = true} : tensor<2xi8> -> tensor<2xi32>
}

// -----

// Values are integer tensors.
fxp.graph @g attributes {dt = 0.0001 : f64} {
  // expected-error @+1 {{expected an integer tensor type, got tensor<2xf32>}}
  %a = fxp.input "a" {scale = 1.0 : f64} : tensor<2xf32>
}

// -----

// A 12-bit kept fraction lies in [0, 4096].
fxp.graph @g attributes {dt = 0.0001 : f64} {
  %a = fxp.input "a" {scale = 1.0 : f64} : tensor<1xi16>
  // expected-error @+1 {{'fxp.li' op node 'li': 'voltage_decay' has values in [5000, 5000]; decay kind 'kept_fraction_q12' needs 0 to 4096}}
  %li = fxp.li "li"(%a) {voltage_decay = dense<5000> : tensor<1xi16>, leak = dense<0> : tensor<1xi16>, decay_kind = "kept_fraction_q12", decay_min_step = 0 : i64, rounding = "floor", voltage_scale = dense<0.01> : tensor<f64>, voltage_bits = 16 : i64, voltage_saturate = true} : tensor<1xi16> -> tensor<1xi16>
}

// -----

// Stochastic rounding needs its seed.
fxp.graph @g attributes {dt = 0.0001 : f64} {
  %a = fxp.input "a" {scale = 1.0 : f64} : tensor<1xi16>
  // expected-error @+1 {{'fxp.rescale' op node 'r': 'rounding_seed' must be given exactly when rounding is 'stochastic'}}
  %r = fxp.rescale "r"(%a) {multiplier = dense<3> : tensor<i16>, shift = 1 : i64, rounding = "stochastic", saturate = true} : tensor<1xi16> -> tensor<1xi32>
}

// -----

// Thresholds are in the state unit and must fit the state width.
fxp.graph @g attributes {dt = 0.0001 : f64} {
  %a = fxp.input "a" {scale = 1.0 : f64} : tensor<1xi16>
  // expected-error @+1 {{'fxp.lif' op node 'lif': 'v_threshold' has values in [40000, 40000], outside the 16-bit range [-32768, 32767]}}
  %lif = fxp.lif "lif"(%a) {voltage_decay = dense<4096> : tensor<1xi16>, leak = dense<0> : tensor<1xi16>, v_threshold = dense<40000> : tensor<1xi32>, v_reset = dense<0> : tensor<1xi16>, spike_test = "gt", spike_timing = "after_update", reset = "subtract", max_spikes_per_step = 1 : i64, decay_kind = "kept_fraction_q12", decay_min_step = 0 : i64, rounding = "floor", voltage_scale = dense<0.01> : tensor<f64>, voltage_bits = 16 : i64, voltage_saturate = true} : tensor<1xi16> -> tensor<1xi8>
}

// -----

// A one-bit spike output counts at most one spike per step.
fxp.graph @g attributes {dt = 0.0001 : f64} {
  %a = fxp.input "a" {scale = 1.0 : f64} : tensor<1xi16>
  // expected-error @+1 {{'fxp.lif' op node 'lif': 'max_spikes_per_step' is 3, which the result type tensor<1xi1> cannot count}}
  %lif = fxp.lif "lif"(%a) {voltage_decay = dense<4096> : tensor<1xi16>, leak = dense<0> : tensor<1xi16>, v_threshold = dense<100> : tensor<1xi16>, v_reset = dense<0> : tensor<1xi16>, spike_test = "gt", spike_timing = "after_update", reset = "subtract", max_spikes_per_step = 3 : i64, decay_kind = "kept_fraction_q12", decay_min_step = 0 : i64, rounding = "floor", voltage_scale = dense<0.01> : tensor<f64>, voltage_bits = 16 : i64, voltage_saturate = true} : tensor<1xi16> -> tensor<1xi1>
}

// -----

// Scales are positive.
fxp.graph @g attributes {dt = 0.0001 : f64} {
  %a = fxp.input "a" {scale = 1.0 : f64} : tensor<1xi16>
  // expected-error @+1 {{'fxp.output' op node 'o': 'scale' must hold positive finite numbers}}
  fxp.output "o"(%a) {scale = dense<0.0> : tensor<f64>} : tensor<1xi16>
}

// -----

// A non-spiking neuron's result is its voltage, of voltage_bits bits.
fxp.graph @g attributes {dt = 0.0001 : f64} {
  %a = fxp.input "a" {scale = 1.0 : f64} : tensor<1xi16>
  // expected-error @+1 {{'fxp.integrator' op node 'i': the result type tensor<1xi8> must have voltage_bits (16) bits, because the result is the voltage}}
  %i = fxp.integrator "i"(%a) {voltage_scale = dense<0.001> : tensor<f64>, voltage_bits = 16 : i64, voltage_saturate = true} : tensor<1xi16> -> tensor<1xi8>
}

// -----

// A threshold must fit threshold_bits when the op narrows it.
fxp.graph @g attributes {dt = 0.0001 : f64} {
  %a = fxp.input "a" {scale = 1.0 : f64} : tensor<2xi16>
  // expected-error @+1 {{'fxp.lif' op node 'lif': 'v_threshold' has values in [200, 200], outside the 8-bit range [-128, 127]}}
  %lif = fxp.lif "lif"(%a) {voltage_decay = dense<4096> : tensor<2xi16>, leak = dense<0> : tensor<2xi16>, v_threshold = dense<200> : tensor<2xi16>, v_reset = dense<0> : tensor<2xi16>, threshold_bits = 8 : i64, spike_test = "gt", spike_timing = "after_update", reset = "to_reset_value", max_spikes_per_step = 1 : i64, decay_kind = "kept_fraction_q12", decay_min_step = 0 : i64, rounding = "toward_zero", voltage_scale = dense<0.001> : tensor<f64>, voltage_bits = 16 : i64, voltage_saturate = true} : tensor<2xi16> -> tensor<2xi8>
}

// -----

// threshold_bits cannot exceed the voltage width.
fxp.graph @g attributes {dt = 0.0001 : f64} {
  %a = fxp.input "a" {scale = 1.0 : f64} : tensor<2xi16>
  // expected-error @+1 {{'fxp.lif' op node 'lif': 'threshold_bits' is 20; expected 2 to 16}}
  %lif = fxp.lif "lif"(%a) {voltage_decay = dense<4096> : tensor<2xi16>, leak = dense<0> : tensor<2xi16>, v_threshold = dense<100> : tensor<2xi16>, v_reset = dense<0> : tensor<2xi16>, threshold_bits = 20 : i64, spike_test = "gt", spike_timing = "after_update", reset = "to_reset_value", max_spikes_per_step = 1 : i64, decay_kind = "kept_fraction_q12", decay_min_step = 0 : i64, rounding = "toward_zero", voltage_scale = dense<0.001> : tensor<f64>, voltage_bits = 16 : i64, voltage_saturate = true} : tensor<2xi16> -> tensor<2xi8>
}

// -----

// A delay without 'steps' is reported at the delay; the graph's schedule check, which reads
// 'steps', skips a graph whose nodes break their definitions.
fxp.graph @g attributes {dt = 0.0001 : f64} {
  %x = fxp.input "x" {scale = 1.0 : f64} : tensor<2xi8>
  // expected-error @+1 {{'fxp.step_delay' op property 'steps' expected in operation 'fxp.step_delay'}}
  %back = fxp.step_delay "back"(%x) {stepr = 1 : i64} : tensor<2xi8>
  fxp.output "out"(%back) {scale = dense<1.0> : tensor<f64>} : tensor<2xi8>
}

// -----

// Neuron state parameters are integers.
fxp.graph @g attributes {dt = 0.0001 : f64} {
  %in = fxp.input "in" {scale = 1.0 : f64} : tensor<2xi16>
  // expected-error @+1 {{'fxp.lif' op node 'lif': 'voltage_decay' must be an integer tensor, got tensor<2xf32>}}
  %lif = fxp.lif "lif"(%in) {voltage_decay = dense<0.5> : tensor<2xf32>, leak = dense<0> : tensor<2xi16>, v_threshold = dense<100> : tensor<2xi16>, v_reset = dense<0> : tensor<2xi16>, spike_test = "gt", spike_timing = "after_update", reset = "to_reset_value", max_spikes_per_step = 1 : i64, decay_kind = "kept_fraction_q12", decay_min_step = 0 : i64, rounding = "toward_zero", voltage_scale = dense<0.001> : tensor<f64>, voltage_bits = 16 : i64, voltage_saturate = true} : tensor<2xi16> -> tensor<2xi8>
}

// -----

// Scales are f64 tensors.
fxp.graph @g attributes {dt = 0.0001 : f64} {
  %in = fxp.input "in" {scale = 1.0 : f64} : tensor<2xi16>
  // expected-error @+1 {{'fxp.lif' op node 'lif': 'voltage_scale' must be an f64 tensor, got tensor<i32>}}
  %lif = fxp.lif "lif"(%in) {voltage_decay = dense<4096> : tensor<2xi16>, leak = dense<0> : tensor<2xi16>, v_threshold = dense<100> : tensor<2xi16>, v_reset = dense<0> : tensor<2xi16>, spike_test = "gt", spike_timing = "after_update", reset = "to_reset_value", max_spikes_per_step = 1 : i64, decay_kind = "kept_fraction_q12", decay_min_step = 0 : i64, rounding = "toward_zero", voltage_scale = dense<1> : tensor<i32>, voltage_bits = 16 : i64, voltage_saturate = true} : tensor<2xi16> -> tensor<2xi8>
}

// -----

// decay_min_step cannot be negative.
fxp.graph @g attributes {dt = 0.0001 : f64} {
  %in = fxp.input "in" {scale = 1.0 : f64} : tensor<2xi16>
  // expected-error @+1 {{'fxp.lif' op node 'lif': 'decay_min_step' must be at least 0}}
  %lif = fxp.lif "lif"(%in) {voltage_decay = dense<4096> : tensor<2xi16>, leak = dense<0> : tensor<2xi16>, v_threshold = dense<100> : tensor<2xi16>, v_reset = dense<0> : tensor<2xi16>, spike_test = "gt", spike_timing = "after_update", reset = "to_reset_value", max_spikes_per_step = 1 : i64, decay_kind = "kept_fraction_q12", decay_min_step = -1 : i64, rounding = "toward_zero", voltage_scale = dense<0.001> : tensor<f64>, voltage_bits = 16 : i64, voltage_saturate = true} : tensor<2xi16> -> tensor<2xi8>
}

// -----

// Edges into one node carry one shape, because the node sums them.
fxp.graph @g attributes {dt = 0.0001 : f64} {
  %a = fxp.input "a" {scale = 1.0 : f64} : tensor<2xi8>
  %b = fxp.input "b" {scale = 1.0 : f64} : tensor<3xi8>
  // expected-error @+1 {{'fxp.affine' op node 'fc': operand 1 has type tensor<3xi8> but operand 0 has shape [2]; every edge into a node must carry the same shape, because the node sums them}}
  %fc = "fxp.affine"(%a, %b) <{node_name = "fc", weight = dense<100> : tensor<2x2xi8>, weight_bits = 8 : i64, weight_scale = dense<6.25e-05> : tensor<f64>, input_scale = 1.0 : f64, folded_gain = dense<1.0> : tensor<f64>, saturate = true}> : (tensor<2xi8>, tensor<3xi8>) -> tensor<2xi32>
}

// -----

// An input scale is a positive finite number.
fxp.graph @g attributes {dt = 0.0001 : f64} {
  // expected-error @+1 {{'fxp.input' op node 'in': 'scale' must be a positive finite number}}
  %in = fxp.input "in" {scale = 0.0 : f64} : tensor<2xi8>
}

// -----

// A weight op's input scale is a positive finite number.
fxp.graph @g attributes {dt = 0.0001 : f64} {
  %in = fxp.input "in" {scale = 1.0 : f64} : tensor<2xi8>
  // expected-error @+1 {{'fxp.affine' op node 'fc': 'input_scale' must be a positive finite f64}}
  %fc = fxp.affine "fc"(%in) {weight = dense<100> : tensor<2x2xi8>, weight_bits = 8 : i64, weight_scale = dense<6.25e-05> : tensor<f64>, input_scale = -1.0 : f64, folded_gain = dense<1.0> : tensor<f64>, saturate = true} : tensor<2xi8> -> tensor<2xi32>
}

// -----

// A bias has one value per output.
fxp.graph @g attributes {dt = 0.0001 : f64} {
  %in = fxp.input "in" {scale = 1.0 : f64} : tensor<2xi8>
  // expected-error @+1 {{'fxp.affine' op node 'fc': 'bias' has shape [3]; expected [2]}}
  %fc = fxp.affine "fc"(%in) {weight = dense<100> : tensor<2x2xi8>, weight_bits = 8 : i64, weight_scale = dense<6.25e-05> : tensor<f64>, input_scale = 1.0 : f64, folded_gain = dense<1.0> : tensor<f64>, saturate = true, bias = dense<1> : tensor<3xi32>} : tensor<2xi8> -> tensor<2xi32>
}

// -----

// A flatten keeps its input's integer type.
fxp.graph @g attributes {dt = 0.0001 : f64} {
  %image = fxp.input "image" {scale = 1.0 : f64} : tensor<4x4xi8>
  // expected-error @+1 {{'fxp.flatten' op node 'flat': a flatten keeps the element type of its input}}
  %flat = fxp.flatten "flat"(%image) {start_dim = 0 : i64, end_dim = -1 : i64} : tensor<4x4xi8> -> tensor<16xi16>
}

// -----

// A rescale multiplier broadcasts to the value's shape.
fxp.graph @g attributes {dt = 0.0001 : f64} {
  %in = fxp.input "in" {scale = 1.0 : f64} : tensor<4xi32>
  // expected-error @+1 {{'fxp.rescale' op node 'rescale': 'multiplier' has shape [3], which does not broadcast to [4]}}
  %rescale = fxp.rescale "rescale"(%in) {multiplier = dense<3> : tensor<3xi16>, shift = 4 : i64, rounding = "nearest", saturate = true} : tensor<4xi32> -> tensor<4xi16>
}

// -----

// A delay keeps its input's type.
fxp.graph @g attributes {dt = 0.0001 : f64} {
  %in = fxp.input "in" {scale = 1.0 : f64} : tensor<4xi8>
  // expected-error @+1 {{'fxp.delay' op node 'delay': a delay keeps the type of its input}}
  %delay = "fxp.delay"(%in) <{node_name = "delay", steps = dense<2> : tensor<4xi64>}> : (tensor<4xi8>) -> tensor<4xi16>
}

// -----

// Several spikes per step need a positive threshold, which each spike subtracts.
fxp.graph @g attributes {dt = 0.0001 : f64} {
  %in = fxp.input "in" {scale = 1.0 : f64} : tensor<2xi16>
  // expected-error @+1 {{'fxp.lif' op node 'lif': more than one spike per step needs a positive 'v_threshold'}}
  %lif = fxp.lif "lif"(%in) {voltage_decay = dense<4096> : tensor<2xi16>, leak = dense<0> : tensor<2xi16>, v_threshold = dense<0> : tensor<2xi16>, v_reset = dense<0> : tensor<2xi16>, spike_test = "gt", spike_timing = "after_update", reset = "subtract", max_spikes_per_step = 3 : i64, decay_kind = "kept_fraction_q12", decay_min_step = 0 : i64, rounding = "toward_zero", voltage_scale = dense<0.001> : tensor<f64>, voltage_bits = 16 : i64, voltage_saturate = true} : tensor<2xi16> -> tensor<2xi8>
  fxp.output "out"(%lif) {scale = dense<1.0> : tensor<f64>} : tensor<2xi8>
}

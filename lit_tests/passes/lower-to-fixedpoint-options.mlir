// Every quantization option of lower-to-fixedpoint, and what it changes in the printed fxp IR.
// The graph has a LIF group fed by an affine op and an LI group fed straight from the input,
// which gets an fxp.rescale.

// With the defaults, the largest folded weight uses the 8-bit range, the state unit is the
// weights' unit, and thresholds and reset values are 16-bit.
// RUN: nir-opt %s -p 'lower-to-fixedpoint{dt=1e-4}' | filecheck %s --check-prefix=DEFAULT
// DEFAULT:      %input = fxp.input "input" {scale = 1.0 : f64} : tensor<2xi8>
// DEFAULT-NEXT: %fc = fxp.affine "fc"(%input) {weight = dense<{{\[\[}}127, 32], [63, -1]]> : tensor<2x2xi8>, weight_bits = 8 : i64, weight_scale = dense<0.00031496{{[0-9]*}}> : tensor<f64>
// DEFAULT-SAME: bias = dense<0> : tensor<2xi32>
// DEFAULT-SAME: -> tensor<2xi32>
// DEFAULT-NEXT: %lif = fxp.lif "lif"(%fc) {voltage_decay = dense<3932> : tensor<2xi16>, leak = dense<0> : tensor<2xi16>, v_threshold = dense<[317, 159]> : tensor<2xi16>, v_reset = dense<0> : tensor<2xi16>, spike_test = "gt", spike_timing = "after_update", reset = "to_reset_value"
// DEFAULT-SAME: decay_kind = "kept_fraction_q12", decay_min_step = 0 : i64, rounding = "toward_zero"
// DEFAULT-SAME: voltage_bits = 16 : i64, voltage_saturate = true
// DEFAULT-SAME: -> tensor<2xi8>
// DEFAULT-NEXT: fxp.rescale "input->direct.rescale"(%input) {multiplier = dense<[32512, 16256]> : tensor<2xi16>, shift = 8 : i64
// DEFAULT:      fxp.li "direct"{{.*}} voltage_scale = dense<0.00031496{{[0-9]*}}> : tensor<f64>

// weight-bits sets the width of the integer weights.
// RUN: nir-opt %s -p 'lower-to-fixedpoint{dt=1e-4 weight-bits=4}' | filecheck %s --check-prefix=WEIGHT-BITS
// WEIGHT-BITS: fxp.affine "fc"(%input) {weight = dense<{{\[\[}}7, 2], [4, 0]]> : tensor<2x2xi8>, weight_bits = 4 : i64

// state-bits sets the width of the voltages (and of thresholds, unless threshold-bits is given).
// RUN: nir-opt %s -p 'lower-to-fixedpoint{dt=1e-4 state-bits=24}' | filecheck %s --check-prefix=STATE-BITS
// STATE-BITS: fxp.lif "lif"{{.*}} v_threshold = dense<[317, 159]> : tensor<2xi32>{{.*}} voltage_bits = 24 : i64
// STATE-BITS: fxp.li "direct"{{.*}} voltage_bits = 24 : i64{{.*}} -> tensor<2xi24>

// threshold-bits narrows thresholds and reset values; the state unit grows until they fit.
// RUN: nir-opt %s -p 'lower-to-fixedpoint{dt=1e-4 threshold-bits=6}' | filecheck %s --check-prefix=THRESHOLD-BITS
// THRESHOLD-BITS: fxp.affine "fc"(%input) {weight = dense<{{\[\[}}12, 3], [6, 0]]>
// THRESHOLD-BITS: fxp.lif "lif"{{.*}} v_threshold = dense<[31, 16]> : tensor<2xi8>, v_reset = dense<0> : tensor<2xi8>, threshold_bits = 6 : i64

// accumulator-bits sets the width of weighted sums and rescales; spike-bits that of spike counts.
// RUN: nir-opt %s -p 'lower-to-fixedpoint{dt=1e-4 accumulator-bits=24 spike-bits=1}' | filecheck %s --check-prefix=WIDTHS
// WIDTHS: fxp.affine "fc"{{.*}} bias = dense<0> : tensor<2xi32>{{.*}} -> tensor<2xi24>
// WIDTHS: fxp.lif "lif"{{.*}} -> tensor<2xi1>
// WIDTHS: fxp.rescale "input->direct.rescale"{{.*}} -> tensor<2xi24>

// input-bits and input-scale set the graph input's width and unit.
// RUN: nir-opt %s -p 'lower-to-fixedpoint{dt=1e-4 input-bits=4 input-scale=0.5}' | filecheck %s --check-prefix=INPUT
// INPUT:      %input = fxp.input "input" {scale = 0.5 : f64} : tensor<2xi4>
// INPUT-NEXT: fxp.affine "fc"(%input) {{{.*}} input_scale = 0.5 : f64

// multiplier-bits sets the width of the rescale multipliers.
// RUN: nir-opt %s -p 'lower-to-fixedpoint{dt=1e-4 multiplier-bits=8}' | filecheck %s --check-prefix=MULTIPLIER
// MULTIPLIER: fxp.rescale "input->direct.rescale"(%input) {multiplier = dense<[127, 63]> : tensor<2xi8>, shift = 0 : i64

// weight-scale-rule=power-of-two rounds every scale up to a power of two.
// RUN: nir-opt %s -p 'lower-to-fixedpoint{dt=1e-4 weight-scale-rule=power-of-two}' | filecheck %s --check-prefix=POWER
// POWER: fxp.affine "fc"(%input) {weight = dense<{{\[\[}}82, 20], [41, -1]]> : tensor<2x2xi8>, weight_bits = 8 : i64, weight_scale = dense<0.00048828125> : tensor<f64>
// POWER: fxp.li "direct"{{.*}} voltage_scale = dense<0.00048828125> : tensor<f64>

// per-output-channel gives each output of the affine op its own scale; the LI group, which no
// weight op feeds, keeps one.
// RUN: nir-opt %s -p 'lower-to-fixedpoint{dt=1e-4 weight-granularity=per-output-channel}' | filecheck %s --check-prefix=CHANNEL
// CHANNEL: fxp.affine "fc"(%input) {weight = dense<{{\[\[}}127, 32], [127, -3]]> : tensor<2x2xi8>, weight_bits = 8 : i64, weight_scale = dense<[0.00031496{{[0-9]*}}, 0.00015748{{[0-9]*}}]> : tensor<2xf64>
// CHANNEL: fxp.lif "lif"{{.*}} v_threshold = dense<317> : tensor<2xi16>
// CHANNEL: fxp.li "direct"{{.*}} voltage_scale = dense<0.00031496{{[0-9]*}}> : tensor<f64>

// per-target-neuron gives every neuron its own scale, the LI group's too.
// RUN: nir-opt %s -p 'lower-to-fixedpoint{dt=1e-4 weight-granularity=per-target-neuron}' | filecheck %s --check-prefix=NEURON
// NEURON: fxp.affine "fc"(%input) {weight = dense<{{\[\[}}127, 32], [127, -3]]>
// NEURON: fxp.rescale "input->direct.rescale"(%input) {multiplier = dense<32512> : tensor<i16>, shift = 8 : i64
// NEURON: fxp.li "direct"{{.*}} voltage_scale = dense<[0.00031496{{[0-9]*}}, 0.00015748{{[0-9]*}}]> : tensor<2xf64>

// clip=percentile scales the weights to a percentile of their magnitudes; larger ones saturate.
// RUN: nir-opt %s -p 'lower-to-fixedpoint{dt=1e-4 clip=percentile clip-percentile=50}' | filecheck %s --check-prefix=CLIP
// CLIP: fxp.affine "fc"(%input) {weight = dense<{{\[\[}}127, 85], [127, -3]]> : tensor<2x2xi8>

// state-scale=range makes the state unit 2^5 times finer than the weights' unit: the affine op's
// input is shifted left, so the bias and the thresholds get the finer unit.
// RUN: nir-opt %s -p 'lower-to-fixedpoint{dt=1e-4 state-scale=range}' | filecheck %s --check-prefix=RANGE
// RANGE:      %[[SHIFTED:.*]] = fxp.rescale "input->fc.rescale"(%input) {multiplier = dense<32> : tensor<i16>, shift = 0 : i64
// RANGE-NEXT: fxp.affine "fc"(%[[SHIFTED]]) {weight = dense<{{\[\[}}127, 32], [63, -1]]> : tensor<2x2xi8>, weight_bits = 8 : i64, weight_scale = dense<0.00031496{{[0-9]*}}> : tensor<f64>, input_scale = 0.03125 : f64
// RANGE-SAME: bias = dense<[0, 4]> : tensor<2xi32>
// RANGE-NEXT: fxp.lif "lif"{{.*}} v_threshold = dense<[10160, 5080]> : tensor<2xi16>
// RANGE:      fxp.li "direct"{{.*}} voltage_scale = dense<0.00031496{{[0-9]*}}> : tensor<f64>

// calibrate=true sizes the states from the float model's run on the calibration input: with a
// constant input of 1 the LI voltage reaches 1, so its unit can be 8 times finer.
// RUN: python -c "import numpy; numpy.save('%t.npy', numpy.ones((50, 2)))"
// RUN: nir-opt %s -p 'lower-to-fixedpoint{dt=1e-4 state-scale=range calibrate=true}' --calibration-input %t.npy | filecheck %s --check-prefix=CALIBRATE
// CALIBRATE: fxp.rescale "input->fc.rescale"(%input) {multiplier = dense<32> : tensor<i16>, shift = 0 : i64
// CALIBRATE: fxp.rescale "input->direct.rescale"(%input) {multiplier = dense<[32512, 16256]> : tensor<2xi16>, shift = 5 : i64
// CALIBRATE: fxp.li "direct"{{.*}} voltage_scale = dense<3.937{{[0-9]*}}e-05> : tensor<f64>
// RUN: not nir-opt %s -p 'lower-to-fixedpoint{dt=1e-4 calibrate=true}' 2>&1 | filecheck %s --check-prefix=CALIBRATE-MISSING
// CALIBRATE-MISSING: error: lower-to-fixedpoint: calibrate=true needs calibration data; give calibration-input=FILE, or --calibration-input FILE to nir-opt

// decay-kind, decay-min-step, rounding and seed set how decays are stored and rounded.
// RUN: nir-opt %s -p 'lower-to-fixedpoint{dt=1e-4 decay-kind=lost_fraction_q12 decay-min-step=1 rounding=stochastic seed=7}' | filecheck %s --check-prefix=DECAY
// DECAY: fxp.lif "lif"{{.*}}{voltage_decay = dense<164> : tensor<2xi16>{{.*}} decay_kind = "lost_fraction_q12", decay_min_step = 1 : i64, rounding = "stochastic", rounding_seed = 7 : i64
// RUN: nir-opt %s -p 'lower-to-fixedpoint{dt=1e-4 decay-kind=shift}' | filecheck %s --check-prefix=SHIFT
// SHIFT: fxp.lif "lif"{{.*}}{voltage_decay = dense<5> : tensor<2xi16>{{.*}} decay_kind = "shift"

// saturate=false makes every result and state wrap; the range analysis then rejects any value
// that can exceed its width, here the LI voltage once inputs reach 127.
// RUN: nir-opt %s -p 'lower-to-fixedpoint{dt=1e-4 saturate=false}' | filecheck %s --check-prefix=WRAP
// WRAP: fxp.affine "fc"{{.*}} saturate = false
// WRAP: fxp.lif "lif"{{.*}} voltage_saturate = false
// RUN: not nir-opt %s -p 'lower-to-fixedpoint{dt=1e-4 saturate=false input-max=127}' 2>&1 | filecheck %s --check-prefix=BOUND
// BOUND: error: node 'direct': the voltage can reach 402,856, which needs 20 bits, but it has 16; widen state-bits or choose saturate=true

// With saturation the same bound is a warning.
// RUN: nir-opt %s -p 'lower-to-fixedpoint{dt=1e-4 input-max=127}' -o /dev/null 2>&1 | filecheck %s --check-prefix=SATURATE
// SATURATE: warning: graph @main: 1 value(s) may exceed their width and saturate: node 'direct' voltage (can reach 402,856, which needs 20 bits)

// preset and its overrides choose the discretization, as discretize's options do.
// RUN: nir-opt %s -p 'lower-to-fixedpoint{dt=1e-4 preset=sinabs reset=to_reset_value}' | filecheck %s --check-prefix=PRESET
// PRESET: fxp.lif "lif"{{.*}} spike_test = "ge", spike_timing = "after_update", reset = "to_reset_value"

nir.graph @main {
  %input = nir.input "input" : tensor<2xf32>
  %fc = nir.affine "fc"(%input) {weight = dense<[[1.0, 0.25], [0.5, -0.01]]> : tensor<2x2xf32>, bias = dense<[0.0, 0.001]> : tensor<2xf32>} : tensor<2xf32>
  %lif = nir.lif "lif"(%fc) {tau = dense<2.5e-03> : tensor<2xf32>, r = dense<1.0> : tensor<2xf32>, v_leak = dense<0.0> : tensor<2xf32>, v_threshold = dense<[0.1, 0.05]> : tensor<2xf32>, v_reset = dense<0.0> : tensor<2xf32>} : tensor<2xf32>
  %direct = nir.li "direct"(%input) {tau = dense<[2.5e-03, 5.0e-03]> : tensor<2xf32>, r = dense<1.0> : tensor<2xf32>, v_leak = dense<0.0> : tensor<2xf32>} : tensor<2xf32>
  nir.output "spikes"(%lif) : tensor<2xf32>
  nir.output "voltage"(%direct) : tensor<2xf32>
}

// One case per design rule of each Xylo variant and per verifier rule of the xylo ops.
// RUN: nir-opt %s --split-input-file --verify-diagnostics

// Xylo Audio 2 has 16 input channels.
builtin.module attributes {xylo.variant = "audio2"} {
  // expected-error @+1 {{17 input channels, Xylo Audio 2 has 16: merge or drop input channels}}
  xylo.graph @main attributes {dt = 0.0001 : f64} {
    %in = xylo.input "in" : tensor<17xi8>
    %w = xylo.input_weights "w"(%in) {weights = dense<1> : tensor<17x3x1xi8>, weight_shift = 0 : i64} : tensor<17xi8> -> tensor<3x1xi32>
    %h = xylo.hidden "h"(%w, %rec) {dash_mem = dense<1> : tensor<3xi8>, dash_syn = dense<1> : tensor<3x1xi8>, threshold = dense<10> : tensor<3xi16>, bias = dense<0> : tensor<3xi16>, voltage_scale = dense<1.0> : tensor<f64>, current_scale = dense<1.0> : tensor<f64>} : tensor<3x1xi32> -> tensor<3xi8>
    %rec = xylo.recurrent_weights "rec"(%h) {weights = dense<0> : tensor<3x3x1xi8>, weight_shift = 0 : i64} : tensor<3xi8> -> tensor<3x1xi32>
    %o = xylo.output_weights "o"(%h) {weights = dense<1> : tensor<3x2xi8>, weight_shift = 0 : i64} : tensor<3xi8> -> tensor<2xi32>
    %r = xylo.readout "r"(%o) {dash_mem = dense<1> : tensor<2xi8>, dash_syn = dense<1> : tensor<2xi8>, threshold = dense<10> : tensor<2xi16>, bias = dense<0> : tensor<2xi16>, voltage_scale = dense<1.0> : tensor<f64>, current_scale = dense<1.0> : tensor<f64>} : tensor<2xi32> -> tensor<2xi8>
    xylo.output "out"(%r) : tensor<2xi8>
  }
}

// -----

// Xylo Audio 2 has 1000 hidden neurons.
builtin.module attributes {xylo.variant = "audio2"} {
  // expected-error @+1 {{1001 hidden neurons, Xylo Audio 2 has 1000: use a smaller hidden layer}}
  xylo.graph @main attributes {dt = 0.0001 : f64} {
    %in = xylo.input "in" : tensor<2xi8>
    %w = xylo.input_weights "w"(%in) {weights = dense<1> : tensor<2x1001x1xi8>, weight_shift = 0 : i64} : tensor<2xi8> -> tensor<1001x1xi32>
    %h = xylo.hidden "h"(%w) {dash_mem = dense<1> : tensor<1001xi8>, dash_syn = dense<1> : tensor<1001x1xi8>, threshold = dense<10> : tensor<1001xi16>, bias = dense<0> : tensor<1001xi16>, voltage_scale = dense<1.0> : tensor<f64>, current_scale = dense<1.0> : tensor<f64>} : tensor<1001x1xi32> -> tensor<1001xi8>
    %o = xylo.output_weights "o"(%h) {weights = dense<1> : tensor<1001x2xi8>, weight_shift = 0 : i64} : tensor<1001xi8> -> tensor<2xi32>
    %r = xylo.readout "r"(%o) {dash_mem = dense<1> : tensor<2xi8>, dash_syn = dense<1> : tensor<2xi8>, threshold = dense<10> : tensor<2xi16>, bias = dense<0> : tensor<2xi16>, voltage_scale = dense<1.0> : tensor<f64>, current_scale = dense<1.0> : tensor<f64>} : tensor<2xi32> -> tensor<2xi8>
    xylo.output "out"(%r) : tensor<2xi8>
  }
}

// -----

// Xylo IMU has 496 hidden neurons.
builtin.module attributes {xylo.variant = "imu"} {
  // expected-error @+1 {{497 hidden neurons, Xylo IMU has 496}}
  xylo.graph @main attributes {dt = 0.0001 : f64} {
    %in = xylo.input "in" : tensor<2xi8>
    %w = xylo.input_weights "w"(%in) {weights = dense<0> : tensor<2x497x1xi8>, weight_shift = 0 : i64} : tensor<2xi8> -> tensor<497x1xi32>
    %h = xylo.hidden "h"(%w) {dash_mem = dense<1> : tensor<497xi8>, dash_syn = dense<1> : tensor<497x1xi8>, threshold = dense<10> : tensor<497xi16>, bias = dense<0> : tensor<497xi16>, voltage_scale = dense<1.0> : tensor<f64>, current_scale = dense<1.0> : tensor<f64>} : tensor<497x1xi32> -> tensor<497xi8>
    %o = xylo.output_weights "o"(%h) {weights = dense<1> : tensor<497x2xi8>, weight_shift = 0 : i64} : tensor<497xi8> -> tensor<2xi32>
    %r = xylo.readout "r"(%o) {dash_mem = dense<1> : tensor<2xi8>, dash_syn = dense<1> : tensor<2xi8>, threshold = dense<10> : tensor<2xi16>, bias = dense<0> : tensor<2xi16>, voltage_scale = dense<1.0> : tensor<f64>, current_scale = dense<1.0> : tensor<f64>} : tensor<2xi32> -> tensor<2xi8>
    xylo.output "out"(%r) : tensor<2xi8>
  }
}

// -----

// Xylo Audio 2 has 8 output neurons.
builtin.module attributes {xylo.variant = "audio2"} {
  // expected-error @+1 {{9 output neurons, Xylo Audio 2 has 8: use fewer output classes or another variant}}
  xylo.graph @main attributes {dt = 0.0001 : f64} {
    %in = xylo.input "in" : tensor<2xi8>
    %w = xylo.input_weights "w"(%in) {weights = dense<1> : tensor<2x3x1xi8>, weight_shift = 0 : i64} : tensor<2xi8> -> tensor<3x1xi32>
    %h = xylo.hidden "h"(%w, %rec) {dash_mem = dense<1> : tensor<3xi8>, dash_syn = dense<1> : tensor<3x1xi8>, threshold = dense<10> : tensor<3xi16>, bias = dense<0> : tensor<3xi16>, voltage_scale = dense<1.0> : tensor<f64>, current_scale = dense<1.0> : tensor<f64>} : tensor<3x1xi32> -> tensor<3xi8>
    %rec = xylo.recurrent_weights "rec"(%h) {weights = dense<0> : tensor<3x3x1xi8>, weight_shift = 0 : i64} : tensor<3xi8> -> tensor<3x1xi32>
    %o = xylo.output_weights "o"(%h) {weights = dense<1> : tensor<3x9xi8>, weight_shift = 0 : i64} : tensor<3xi8> -> tensor<9xi32>
    %r = xylo.readout "r"(%o) {dash_mem = dense<1> : tensor<9xi8>, dash_syn = dense<1> : tensor<9xi8>, threshold = dense<10> : tensor<9xi16>, bias = dense<0> : tensor<9xi16>, voltage_scale = dense<1.0> : tensor<f64>, current_scale = dense<1.0> : tensor<f64>} : tensor<9xi32> -> tensor<9xi8>
    xylo.output "out"(%r) : tensor<9xi8>
  }
}

// -----

// Xylo Audio 3 has 32 output neurons.
builtin.module attributes {xylo.variant = "audio3"} {
  // expected-error @+1 {{33 output neurons, Xylo Audio 3 has 32}}
  xylo.graph @main attributes {dt = 0.0001 : f64} {
    %in = xylo.input "in" : tensor<2xi8>
    %w = xylo.input_weights "w"(%in) {weights = dense<1> : tensor<2x3x1xi8>, weight_shift = 0 : i64} : tensor<2xi8> -> tensor<3x1xi32>
    %h = xylo.hidden "h"(%w, %rec) {dash_mem = dense<1> : tensor<3xi8>, dash_syn = dense<1> : tensor<3x1xi8>, threshold = dense<10> : tensor<3xi16>, bias = dense<0> : tensor<3xi16>, voltage_scale = dense<1.0> : tensor<f64>, current_scale = dense<1.0> : tensor<f64>} : tensor<3x1xi32> -> tensor<3xi8>
    %rec = xylo.recurrent_weights "rec"(%h) {weights = dense<0> : tensor<3x3x1xi8>, weight_shift = 0 : i64} : tensor<3xi8> -> tensor<3x1xi32>
    %o = xylo.output_weights "o"(%h) {weights = dense<1> : tensor<3x33xi8>, weight_shift = 0 : i64} : tensor<3xi8> -> tensor<33xi32>
    %r = xylo.readout "r"(%o) {dash_mem = dense<1> : tensor<33xi8>, dash_syn = dense<1> : tensor<33xi8>, threshold = dense<10> : tensor<33xi16>, bias = dense<0> : tensor<33xi16>, voltage_scale = dense<1.0> : tensor<f64>, current_scale = dense<1.0> : tensor<f64>} : tensor<33xi32> -> tensor<33xi8>
    xylo.output "out"(%r) : tensor<33xi8>
  }
}

// -----

// Xylo IMU has one synapse per hidden neuron.
builtin.module attributes {xylo.variant = "imu"} {
  // expected-error @+1 {{2 synapses per hidden neuron, Xylo IMU has 1: use one synaptic current}}
  xylo.graph @main attributes {dt = 0.0001 : f64} {
    %in = xylo.input "in" : tensor<2xi8>
    %w = xylo.input_weights "w"(%in) {weights = dense<1> : tensor<2x3x2xi8>, weight_shift = 0 : i64} : tensor<2xi8> -> tensor<3x2xi32>
    %h = xylo.hidden "h"(%w, %rec) {dash_mem = dense<1> : tensor<3xi8>, dash_syn = dense<1> : tensor<3x2xi8>, threshold = dense<10> : tensor<3xi16>, bias = dense<0> : tensor<3xi16>, voltage_scale = dense<1.0> : tensor<f64>, current_scale = dense<1.0> : tensor<f64>} : tensor<3x2xi32> -> tensor<3xi8>
    %rec = xylo.recurrent_weights "rec"(%h) {weights = dense<0> : tensor<3x3x2xi8>, weight_shift = 0 : i64} : tensor<3xi8> -> tensor<3x2xi32>
    %o = xylo.output_weights "o"(%h) {weights = dense<1> : tensor<3x2xi8>, weight_shift = 0 : i64} : tensor<3xi8> -> tensor<2xi32>
    %r = xylo.readout "r"(%o) {dash_mem = dense<1> : tensor<2xi8>, dash_syn = dense<1> : tensor<2xi8>, threshold = dense<10> : tensor<2xi16>, bias = dense<0> : tensor<2xi16>, voltage_scale = dense<1.0> : tensor<f64>, current_scale = dense<1.0> : tensor<f64>} : tensor<2xi32> -> tensor<2xi8>
    xylo.output "out"(%r) : tensor<2xi8>
  }
}

// -----

// On Xylo IMU only the first 128 hidden neurons receive input.
builtin.module attributes {xylo.variant = "imu"} {
  // expected-error @+1 {{input weights reach hidden neuron 129, but on Xylo IMU only the first 128 hidden neurons receive input}}
  xylo.graph @main attributes {dt = 0.0001 : f64} {
    %in = xylo.input "in" : tensor<2xi8>
    %w = xylo.input_weights "w"(%in) {weights = dense<1> : tensor<2x130x1xi8>, weight_shift = 0 : i64} : tensor<2xi8> -> tensor<130x1xi32>
    %h = xylo.hidden "h"(%w) {dash_mem = dense<1> : tensor<130xi8>, dash_syn = dense<1> : tensor<130x1xi8>, threshold = dense<10> : tensor<130xi16>, bias = dense<0> : tensor<130xi16>, voltage_scale = dense<1.0> : tensor<f64>, current_scale = dense<1.0> : tensor<f64>} : tensor<130x1xi32> -> tensor<130xi8>
    %o = xylo.output_weights "o"(%h) {weights = dense<0> : tensor<130x2xi8>, weight_shift = 0 : i64} : tensor<130xi8> -> tensor<2xi32>
    %r = xylo.readout "r"(%o) {dash_mem = dense<1> : tensor<2xi8>, dash_syn = dense<1> : tensor<2xi8>, threshold = dense<10> : tensor<2xi16>, bias = dense<0> : tensor<2xi16>, voltage_scale = dense<1.0> : tensor<f64>, current_scale = dense<1.0> : tensor<f64>} : tensor<2xi32> -> tensor<2xi8>
    xylo.output "out"(%r) : tensor<2xi8>
  }
}

// -----

// Xylo Audio 3 has the same 128 input expansion neurons.
builtin.module attributes {xylo.variant = "audio3"} {
  // expected-error @+1 {{input weights reach hidden neuron 129, but on Xylo Audio 3 only the first 128 hidden neurons receive input: reorder the hidden neurons}}
  xylo.graph @main attributes {dt = 0.0001 : f64} {
    %in = xylo.input "in" : tensor<2xi8>
    %w = xylo.input_weights "w"(%in) {weights = dense<1> : tensor<2x130x1xi8>, weight_shift = 0 : i64} : tensor<2xi8> -> tensor<130x1xi32>
    %h = xylo.hidden "h"(%w) {dash_mem = dense<1> : tensor<130xi8>, dash_syn = dense<1> : tensor<130x1xi8>, threshold = dense<10> : tensor<130xi16>, bias = dense<0> : tensor<130xi16>, voltage_scale = dense<1.0> : tensor<f64>, current_scale = dense<1.0> : tensor<f64>} : tensor<130x1xi32> -> tensor<130xi8>
    %o = xylo.output_weights "o"(%h) {weights = dense<0> : tensor<130x2xi8>, weight_shift = 0 : i64} : tensor<130xi8> -> tensor<2xi32>
    %r = xylo.readout "r"(%o) {dash_mem = dense<1> : tensor<2xi8>, dash_syn = dense<1> : tensor<2xi8>, threshold = dense<10> : tensor<2xi16>, bias = dense<0> : tensor<2xi16>, voltage_scale = dense<1.0> : tensor<f64>, current_scale = dense<1.0> : tensor<f64>} : tensor<2xi32> -> tensor<2xi8>
    xylo.output "out"(%r) : tensor<2xi8>
  }
}

// -----

// On Xylo IMU only the last 128 hidden neurons drive the readout.
builtin.module attributes {xylo.variant = "imu"} {
  // expected-error @+1 {{hidden neuron 0 drives the readout, but on Xylo IMU only the last 128 hidden neurons (from 2) do}}
  xylo.graph @main attributes {dt = 0.0001 : f64} {
    %in = xylo.input "in" : tensor<2xi8>
    %w = xylo.input_weights "w"(%in) {weights = dense<0> : tensor<2x130x1xi8>, weight_shift = 0 : i64} : tensor<2xi8> -> tensor<130x1xi32>
    %h = xylo.hidden "h"(%w) {dash_mem = dense<1> : tensor<130xi8>, dash_syn = dense<1> : tensor<130x1xi8>, threshold = dense<10> : tensor<130xi16>, bias = dense<0> : tensor<130xi16>, voltage_scale = dense<1.0> : tensor<f64>, current_scale = dense<1.0> : tensor<f64>} : tensor<130x1xi32> -> tensor<130xi8>
    %o = xylo.output_weights "o"(%h) {weights = dense<1> : tensor<130x2xi8>, weight_shift = 0 : i64} : tensor<130xi8> -> tensor<2xi32>
    %r = xylo.readout "r"(%o) {dash_mem = dense<1> : tensor<2xi8>, dash_syn = dense<1> : tensor<2xi8>, threshold = dense<10> : tensor<2xi16>, bias = dense<0> : tensor<2xi16>, voltage_scale = dense<1.0> : tensor<f64>, current_scale = dense<1.0> : tensor<f64>} : tensor<2xi32> -> tensor<2xi8>
    xylo.output "out"(%r) : tensor<2xi8>
  }
}

// -----

// Bit-shift decays are 0 to 15.
builtin.module attributes {xylo.variant = "audio2"} {
  xylo.graph @main attributes {dt = 0.0001 : f64} {
    %in = xylo.input "in" : tensor<2xi8>
    %w = xylo.input_weights "w"(%in) {weights = dense<1> : tensor<2x3x1xi8>, weight_shift = 0 : i64} : tensor<2xi8> -> tensor<3x1xi32>
    // expected-error @+1 {{'xylo.hidden' op node 'h': 'dash_mem' has values in [16, 16]; the register range is 0 to 15}}
    %h = xylo.hidden "h"(%w, %rec) {dash_mem = dense<16> : tensor<3xi8>, dash_syn = dense<1> : tensor<3x1xi8>, threshold = dense<10> : tensor<3xi16>, bias = dense<0> : tensor<3xi16>, voltage_scale = dense<1.0> : tensor<f64>, current_scale = dense<1.0> : tensor<f64>} : tensor<3x1xi32> -> tensor<3xi8>
    %rec = xylo.recurrent_weights "rec"(%h) {weights = dense<0> : tensor<3x3x1xi8>, weight_shift = 0 : i64} : tensor<3xi8> -> tensor<3x1xi32>
    %o = xylo.output_weights "o"(%h) {weights = dense<1> : tensor<3x2xi8>, weight_shift = 0 : i64} : tensor<3xi8> -> tensor<2xi32>
    %r = xylo.readout "r"(%o) {dash_mem = dense<1> : tensor<2xi8>, dash_syn = dense<1> : tensor<2xi8>, threshold = dense<10> : tensor<2xi16>, bias = dense<0> : tensor<2xi16>, voltage_scale = dense<1.0> : tensor<f64>, current_scale = dense<1.0> : tensor<f64>} : tensor<2xi32> -> tensor<2xi8>
    xylo.output "out"(%r) : tensor<2xi8>
  }
}

// -----

// Weight shifts are 3-bit fields, 0 to 7.
builtin.module attributes {xylo.variant = "audio2"} {
  xylo.graph @main attributes {dt = 0.0001 : f64} {
    %in = xylo.input "in" : tensor<2xi8>
    // expected-error @+1 {{'xylo.input_weights' op node 'w': 'weight_shift' is 8; expected 0 to 7, the range of the chip's 3-bit weight shift field}}
    %w = xylo.input_weights "w"(%in) {weights = dense<1> : tensor<2x3x1xi8>, weight_shift = 8 : i64} : tensor<2xi8> -> tensor<3x1xi32>
    %h = xylo.hidden "h"(%w, %rec) {dash_mem = dense<1> : tensor<3xi8>, dash_syn = dense<1> : tensor<3x1xi8>, threshold = dense<10> : tensor<3xi16>, bias = dense<0> : tensor<3xi16>, voltage_scale = dense<1.0> : tensor<f64>, current_scale = dense<1.0> : tensor<f64>} : tensor<3x1xi32> -> tensor<3xi8>
    %rec = xylo.recurrent_weights "rec"(%h) {weights = dense<0> : tensor<3x3x1xi8>, weight_shift = 0 : i64} : tensor<3xi8> -> tensor<3x1xi32>
    %o = xylo.output_weights "o"(%h) {weights = dense<1> : tensor<3x2xi8>, weight_shift = 0 : i64} : tensor<3xi8> -> tensor<2xi32>
    %r = xylo.readout "r"(%o) {dash_mem = dense<1> : tensor<2xi8>, dash_syn = dense<1> : tensor<2xi8>, threshold = dense<10> : tensor<2xi16>, bias = dense<0> : tensor<2xi16>, voltage_scale = dense<1.0> : tensor<f64>, current_scale = dense<1.0> : tensor<f64>} : tensor<2xi32> -> tensor<2xi8>
    xylo.output "out"(%r) : tensor<2xi8>
  }
}

// -----

// The variant must be known.
builtin.module attributes {xylo.variant = "audio9"} {
  // expected-error @+1 {{'xylo.graph' op: unknown Xylo variant 'audio9'; expected one of audio2, imu, audio3}}
  xylo.graph @main attributes {dt = 0.0001 : f64} {
    %in = xylo.input "in" : tensor<2xi8>
    %w = xylo.input_weights "w"(%in) {weights = dense<1> : tensor<2x3x1xi8>, weight_shift = 0 : i64} : tensor<2xi8> -> tensor<3x1xi32>
    %h = xylo.hidden "h"(%w, %rec) {dash_mem = dense<1> : tensor<3xi8>, dash_syn = dense<1> : tensor<3x1xi8>, threshold = dense<10> : tensor<3xi16>, bias = dense<0> : tensor<3xi16>, voltage_scale = dense<1.0> : tensor<f64>, current_scale = dense<1.0> : tensor<f64>} : tensor<3x1xi32> -> tensor<3xi8>
    %rec = xylo.recurrent_weights "rec"(%h) {weights = dense<0> : tensor<3x3x1xi8>, weight_shift = 0 : i64} : tensor<3xi8> -> tensor<3x1xi32>
    %o = xylo.output_weights "o"(%h) {weights = dense<1> : tensor<3x2xi8>, weight_shift = 0 : i64} : tensor<3xi8> -> tensor<2xi32>
    %r = xylo.readout "r"(%o) {dash_mem = dense<1> : tensor<2xi8>, dash_syn = dense<1> : tensor<2xi8>, threshold = dense<10> : tensor<2xi16>, bias = dense<0> : tensor<2xi16>, voltage_scale = dense<1.0> : tensor<f64>, current_scale = dense<1.0> : tensor<f64>} : tensor<2xi32> -> tensor<2xi8>
    xylo.output "out"(%r) : tensor<2xi8>
  }
}

// -----

// A hidden neuron cannot be its own alias target.
builtin.module attributes {xylo.variant = "audio2"} {
  xylo.graph @main attributes {dt = 0.0001 : f64} {
    %in = xylo.input "in" : tensor<2xi8>
    %w = xylo.input_weights "w"(%in) {weights = dense<1> : tensor<2x3x1xi8>, weight_shift = 0 : i64} : tensor<2xi8> -> tensor<3x1xi32>
    // expected-error @+1 {{'xylo.hidden' op node 'h': hidden neuron 1 is its own alias target; use -1 for a neuron without an alias}}
    %h = xylo.hidden "h"(%w) {dash_mem = dense<1> : tensor<3xi8>, dash_syn = dense<1> : tensor<3x1xi8>, threshold = dense<10> : tensor<3xi16>, bias = dense<0> : tensor<3xi16>, voltage_scale = dense<1.0> : tensor<f64>, current_scale = dense<1.0> : tensor<f64>, alias_target = dense<[-1, 1, -1]> : tensor<3xi16>} : tensor<3x1xi32> -> tensor<3xi8>
    %o = xylo.output_weights "o"(%h) {weights = dense<1> : tensor<3x2xi8>, weight_shift = 0 : i64} : tensor<3xi8> -> tensor<2xi32>
    %r = xylo.readout "r"(%o) {dash_mem = dense<1> : tensor<2xi8>, dash_syn = dense<1> : tensor<2xi8>, threshold = dense<10> : tensor<2xi16>, bias = dense<0> : tensor<2xi16>, voltage_scale = dense<1.0> : tensor<f64>, current_scale = dense<1.0> : tensor<f64>} : tensor<2xi32> -> tensor<2xi8>
    xylo.output "out"(%r) : tensor<2xi8>
  }
}

// -----

// Alias targets are hidden neurons of the same group.
builtin.module attributes {xylo.variant = "audio2"} {
  xylo.graph @main attributes {dt = 0.0001 : f64} {
    %in = xylo.input "in" : tensor<2xi8>
    %w = xylo.input_weights "w"(%in) {weights = dense<1> : tensor<2x3x1xi8>, weight_shift = 0 : i64} : tensor<2xi8> -> tensor<3x1xi32>
    // expected-error @+1 {{'xylo.hidden' op node 'h': 'alias_target' has values in [-1, 3]; the register range is -1 to 2}}
    %h = xylo.hidden "h"(%w) {dash_mem = dense<1> : tensor<3xi8>, dash_syn = dense<1> : tensor<3x1xi8>, threshold = dense<10> : tensor<3xi16>, bias = dense<0> : tensor<3xi16>, voltage_scale = dense<1.0> : tensor<f64>, current_scale = dense<1.0> : tensor<f64>, alias_target = dense<[-1, 3, -1]> : tensor<3xi16>} : tensor<3x1xi32> -> tensor<3xi8>
    %o = xylo.output_weights "o"(%h) {weights = dense<1> : tensor<3x2xi8>, weight_shift = 0 : i64} : tensor<3xi8> -> tensor<2xi32>
    %r = xylo.readout "r"(%o) {dash_mem = dense<1> : tensor<2xi8>, dash_syn = dense<1> : tensor<2xi8>, threshold = dense<10> : tensor<2xi16>, bias = dense<0> : tensor<2xi16>, voltage_scale = dense<1.0> : tensor<f64>, current_scale = dense<1.0> : tensor<f64>} : tensor<2xi32> -> tensor<2xi8>
    xylo.output "out"(%r) : tensor<2xi8>
  }
}

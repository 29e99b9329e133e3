// Hidden neuron 0 has alias target 2: neuron 2, which has no input and a threshold it never
// reaches, re-emits neuron 0's spikes, and its output weight carries them to the readout.
// RUN: nir-opt %s | nir-opt | filecheck %s --check-prefix=ROUNDTRIP
// RUN: nir-translate --xylo-spec %s | filecheck %s --check-prefix=SPEC
// RUN: nir-translate --xylo-config %s | filecheck %s --check-prefix=CONFIG
// RUN: rm -rf %t && mkdir -p %t
// RUN: python -c "import numpy as np; np.save('%t/x.npy', np.array([1, 1, 0, 0]).reshape(4, 1))"
// RUN: nir-run %s --input %t/x.npy --record h --integers -o %t/out.csv
// RUN: filecheck %s --check-prefix=TRACE < %t/out.csv

// ROUNDTRIP: xylo.hidden "h"(%{{[a-z0-9]+}}) {alias_target = dense<[2, -1, -1]> : tensor<3xi16>

// SPEC: "aliases": {{\[\[}}2], [], []]

// CONFIG: "aliasing": true,
// CONFIG: "alias_target": 2

// Columns: step, readout spikes, then h's voltages, currents and spikes. In step 1 neuron 0
// reaches its threshold of 60 and spikes once, and neuron 2 spikes with it. The readout
// receives that spike one step later.
// TRACE: step,out/spikes,{{.*}},h/spikes[0],h/spikes[1],h/spikes[2]
// TRACE-NEXT: 0,0,{{.*}},0,0,0
// TRACE-NEXT: 1,0,{{.*}},1,0,1
// TRACE-NEXT: 2,1,{{.*}},0,0,0

builtin.module attributes {xylo.variant = "audio2"} {
  xylo.graph @main attributes {dt = 0.001 : f64} {
    %in = xylo.input "in" : tensor<1xi8>
    %w = xylo.input_weights "w"(%in) {weights = dense<[[[100], [0], [0]]]> : tensor<1x3x1xi8>, weight_shift = 0 : i64} : tensor<1xi8> -> tensor<3x1xi32>
    %h = xylo.hidden "h"(%w) {dash_mem = dense<1> : tensor<3xi8>, dash_syn = dense<1> : tensor<3x1xi8>, threshold = dense<[60, 60, 32767]> : tensor<3xi16>, bias = dense<0> : tensor<3xi16>, voltage_scale = dense<1.0> : tensor<f64>, current_scale = dense<1.0> : tensor<f64>, alias_target = dense<[2, -1, -1]> : tensor<3xi16>} : tensor<3x1xi32> -> tensor<3xi8>
    %o = xylo.output_weights "o"(%h) {weights = dense<[[0], [0], [100]]> : tensor<3x1xi8>, weight_shift = 0 : i64} : tensor<3xi8> -> tensor<1xi32>
    %r = xylo.readout "r"(%o) {dash_mem = dense<1> : tensor<1xi8>, dash_syn = dense<1> : tensor<1xi8>, threshold = dense<40> : tensor<1xi16>, bias = dense<0> : tensor<1xi16>, voltage_scale = dense<1.0> : tensor<f64>, current_scale = dense<1.0> : tensor<f64>} : tensor<1xi32> -> tensor<1xi8>
    xylo.output "out"(%r) : tensor<1xi8>
  }
}

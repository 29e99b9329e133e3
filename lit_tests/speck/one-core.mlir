// A one-core graph whose trace can be worked out by hand: v += 3·x, floor(v/5) spikes, subtract.
// RUN: nir-opt %s | nir-opt | filecheck %s --check-prefix=ROUNDTRIP
// ROUNDTRIP: speck.core "n"(%x) {core = 7 : i64, weight = dense<{{\[\[}}{{\[\[}}3]]]]> : tensor<1x1x1x1xi8>

// Inputs 1, 1, 1, 0, 2 give v = 3, 6-5 = 1, 4, 4, 10-10 = 0 and spikes 0, 1, 0, 0, 2.
// RUN: rm -rf %t && mkdir -p %t
// RUN: python -c "import numpy as np; np.save('%t/x.npy', np.array([1, 1, 1, 0, 2]).reshape(5, 1, 1, 1))"
// RUN: nir-run %s --input %t/x.npy --record n -o %t/out.csv
// RUN: filecheck %s --check-prefix=TRACE < %t/out.csv
// TRACE: step,out/spikes,n/v,n/neuron_spikes_int,n/spikes
// TRACE-NEXT: 0,0,0.75,0,0
// TRACE-NEXT: 1,1,0.25,1,1
// TRACE-NEXT: 2,0,1.0,0,0
// TRACE-NEXT: 3,0,1.0,0,0
// TRACE-NEXT: 4,2,0.0,2,2

// The printer writes core 7 and leaves the other cores empty.
// RUN: nir-translate --speck-json %s | filecheck %s --check-prefix=JSON
// JSON: {"cnn_layers":[{},{},{},{},{},{},{},{"dimensions":{"input_shape":{"size":{"x":1,"y":1},"feature_count":1},"output_shape":{"size":{"x":1,"y":1},"feature_count":1},"padding":{"x":0,"y":0},"stride":{"x":1,"y":1},"kernel_size":1},"weights":{{\[\[}}{{\[\[}}3]]]],"biases":[0],"leak_enable":false,"return_to_zero":false,"threshold_high":5,"threshold_low":-5,"monitor_enable":true,"neurons_initial_value":{{\[\[}}[0]]],"destinations":[{"enable":false},{"enable":false}]},{}],"dvs_layer":{"pass_sensor_events":false}}

// The printer needs a speck graph.
// RUN: not nir-translate --speck-json %S/lower-to-speck.mlir 2>&1 | filecheck %s --check-prefix=LEVEL
// LEVEL: error: --speck-json needs a module with exactly one speck.graph, found 0 (ops: nir.graph); lower the model with nir-opt --lower-to-speck first

speck.graph @main attributes {dt = 1.0 : f64} {
  %x = speck.input "x" {source = "external"} : tensor<1x1x1xi32>
  %n = speck.core "n"(%x) {core = 7 : i64, weight = dense<3> : tensor<1x1x1x1xi8>, bias = dense<0> : tensor<1xi8>, stride = array<i64: 1, 1>, padding = array<i64: 0, 0>, threshold_high = 5 : i64, threshold_low = -5 : i64, return_to_zero = false, leak_enable = false, monitor_enable = true, destinations = array<i64>, pooling = array<i64>, feature_shift = array<i64>, voltage_scale = 0.25 : f64} : tensor<1x1x1xi32> -> tensor<1x1x1xi32>
  speck.output "out"(%n) : tensor<1x1x1xi32>
}

// Text -> HDF5 -> text gives the same module: recurrence, nested graphs, metadata, f64.
// RUN: nir-translate --export-nir %s -o %t.nir
// RUN: nir-translate --import-nir %t.nir | filecheck %s
// RUN: nir-opt %s > %t.expected.mlir
// RUN: nir-translate --import-nir %t.nir > %t.actual.mlir
// RUN: diff %t.expected.mlir %t.actual.mlir

// CHECK-LABEL: nir.graph @main attributes {metadata = {dt = 0.0001 : f64, source = "lit"}}
// CHECK-NEXT: %input = nir.input "input" : tensor<2xf32>
// CHECK-NEXT: %hidden = nir.subgraph "hidden"(%input) {graph = @hidden} : tensor<2xf32>
// CHECK-NEXT: nir.output "output"(%hidden) : tensor<2xf32>
// CHECK-LABEL: nir.graph @hidden
// CHECK-NEXT: %input = nir.input "input" : tensor<2xf32>
// CHECK-NEXT: %lif = nir.lif "lif"(%input, %rec) {tau = dense<[0.0025, 0.005]> : tensor<2xf64>, r = dense<1.0> : tensor<2xf64>, v_leak = dense<0.0> : tensor<2xf64>, v_threshold = dense<0.1> : tensor<2xf64>, v_reset = dense<0.0> : tensor<2xf64>, metadata = {layer = 1 : i64}} : tensor<2xf32>
// CHECK-NEXT: %rec = nir.linear "rec"(%lif) {weight = dense<{{\[\[}}0.0, -0.5], [-0.5, 0.0]]> : tensor<2x2xf32>} : tensor<2xf32>
// CHECK-NEXT: nir.output "output"(%lif) : tensor<2xf32>

builtin.module {
  nir.graph @main attributes {metadata = {dt = 1.0e-04 : f64, source = "lit"}} {
    %input = nir.input "input" : tensor<2xf32>
    %hidden = nir.subgraph "hidden"(%input) {graph = @hidden} : tensor<2xf32>
    nir.output "output"(%hidden) : tensor<2xf32>
  }
  nir.graph @hidden {
    %input = nir.input "input" : tensor<2xf32>
    %lif = nir.lif "lif"(%input, %rec) {tau = dense<[0.0025, 0.005]> : tensor<2xf64>, r = dense<1.0> : tensor<2xf64>, v_leak = dense<0.0> : tensor<2xf64>, v_threshold = dense<0.1> : tensor<2xf64>, v_reset = dense<0.0> : tensor<2xf64>, metadata = {layer = 1 : i64}} : tensor<2xf32>
    %rec = nir.linear "rec"(%lif) {weight = dense<[[0.0, -0.5], [-0.5, 0.0]]> : tensor<2x2xf32>} : tensor<2xf32>
    nir.output "output"(%lif) : tensor<2xf32>
  }
}

// fuse-scales replaces a chain of gains by one gain whose factors are the products.
// RUN: nir-opt %s -p fuse-scales | filecheck %s
// RUN: nir-opt %s -p 'discretize{dt=1e-4},fuse-scales' | filecheck %s --check-prefix=SNN

// CHECK-LABEL: nir.graph @chain
// CHECK-NEXT:    %[[IN:.*]] = nir.input "input"
// CHECK-NEXT:    %[[G:.*]] = nir.scale "c"(%[[IN]]) {scale = dense<[3.0, -24.0]> : tensor<2xf32>}
// CHECK-NEXT:    nir.output "output"(%[[G]])
// SNN-LABEL:   snn.graph @chain
// SNN-NEXT:      snn.input "input"
// SNN-NEXT:      %[[SG:[^ ]*]] = snn.scale "c"(%{{.*}}) {scale = dense<[3.0, -24.0]> : tensor<2xf32>}
// SNN-NEXT:      snn.output "output"(%[[SG]])
nir.graph @chain {
  %input = nir.input "input" : tensor<2xf32>
  %a = nir.scale "a"(%input) {scale = dense<[2.0, 3.0]> : tensor<2xf32>} : tensor<2xf32>
  %b = nir.scale "b"(%a) {scale = dense<[0.5, 4.0]> : tensor<2xf32>} : tensor<2xf32>
  %c = nir.scale "c"(%b) {scale = dense<[3.0, -2.0]> : tensor<2xf32>} : tensor<2xf32>
  nir.output "output"(%c) : tensor<2xf32>
}

// A gain whose result has a second use stays, because fusing it would change that use.
// CHECK-LABEL: nir.graph @shared
// CHECK:         nir.scale "a"
// CHECK:         nir.scale "b"
nir.graph @shared {
  %input = nir.input "input" : tensor<2xf32>
  %a = nir.scale "a"(%input) {scale = dense<2.0> : tensor<2xf32>} : tensor<2xf32>
  %b = nir.scale "b"(%a) {scale = dense<3.0> : tensor<2xf32>} : tensor<2xf32>
  nir.output "output"(%b, %a) : tensor<2xf32>
}

// nir-inline-subgraphs copies a nested graph's nodes as <subgraph node>.<inner node> and drops the graph.
// RUN: nir-opt %s -p nir-inline-subgraphs | filecheck %s

// CHECK-LABEL: nir.graph @main
// CHECK-NEXT:    %[[IN:.*]] = nir.input "input"
// CHECK-NEXT:    %[[LIF:.*]] = nir.lif "block.lif"(%[[IN]], %[[REC:[^)]*]])
// CHECK-NEXT:    %[[REC]] = nir.linear "block.rec"(%[[LIF]])
// CHECK-NEXT:    nir.output "output"(%[[LIF]])
// CHECK-NEXT:  }
// CHECK-NOT:   nir.graph @block_graph
nir.graph @main {
  %input = nir.input "input" : tensor<2xf32>
  %block = nir.subgraph "block"(%input) {graph = @block_graph} : tensor<2xf32>
  nir.output "output"(%block) : tensor<2xf32>
}

nir.graph @block_graph {
  %in = nir.input "input" : tensor<2xf32>
  %lif = nir.lif "lif"(%in, %rec) {tau = dense<0.0025> : tensor<2xf32>, r = dense<1.0> : tensor<2xf32>, v_leak = dense<0.0> : tensor<2xf32>, v_threshold = dense<0.1> : tensor<2xf32>, v_reset = dense<0.0> : tensor<2xf32>} : tensor<2xf32>
  %rec = nir.linear "rec"(%lif) {weight = dense<0.5> : tensor<2x2xf32>} : tensor<2xf32>
  nir.output "output"(%lif) : tensor<2xf32>
}

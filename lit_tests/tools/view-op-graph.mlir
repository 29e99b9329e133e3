// --view-op-graph writes the graphs after the passes as Graphviz DOT: a node per op, an edge
// per use, a cluster per graph and one per core inside it.
// RUN: nir-opt %s --view-op-graph | filecheck %s
// RUN: nir-opt %s --view-op-graph | not grep builtin.module
// RUN: nir-opt %s -p 'discretize{dt=1e-4}' --view-op-graph=%t.dot -o %t.mlir
// RUN: filecheck %s --check-prefix=SNN < %t.dot
// RUN: filecheck %s --check-prefix=MODULE < %t.mlir
// RUN: nir-opt %s --view-op-graph=%t.stdout.dot | filecheck %s --check-prefix=MODULE

// The back edge rec -> lif points back in the block order, so it is dashed. Ops placed by a
// `core` attribute or a `mapping` attribute (integer, dictionary with `core`, or string)
// are grouped into one cluster per core.
// CHECK:      digraph "view-op-graph.mlir" {
// CHECK-NEXT:   compound=true;
// CHECK:        subgraph cluster_1 {
// CHECK-NEXT:     label="nir.graph @recurrent";
// CHECK-NEXT:     [[IN:n[0-9]+]] [label="input\nnir.input\ntensor<2xf32>"];
// CHECK-NEXT:     [[OUT:n[0-9]+]] [label="output\nnir.output\ntensor<2xf32>"];
// CHECK-NEXT:     subgraph cluster_2 {
// CHECK-NEXT:       label="core 0"; style=filled; fillcolor=lightgrey;
// CHECK-NEXT:       [[FC:n[0-9]+]] [label="fc\nnir.affine\ntensor<2xf32>"];
// CHECK-NEXT:       [[REC:n[0-9]+]] [label="rec\nnir.affine\ntensor<2xf32>"];
// CHECK-NEXT:     }
// CHECK-NEXT:     subgraph cluster_3 {
// CHECK-NEXT:       label="core 1";
// CHECK-NEXT:       [[LIF:n[0-9]+]] [label="lif\nnir.lif\ntensor<2xf32>"];
// CHECK-NEXT:     }
// CHECK-NEXT:     subgraph cluster_4 {
// CHECK-NEXT:       label="core north";
// CHECK-NEXT:       [[SCALE:n[0-9]+]] [label="gain\nnir.scale\ntensor<2xf32>"];
// CHECK-NEXT:     }
// CHECK-NEXT:   }

// map-to-cores writes `cores` runs (core, count, ...); an op split over cores has a node in
// each core's cluster with its neurons there, and every such node gets the op's edges.
// CHECK:          label="nir.graph @split";
// CHECK-NEXT:     [[SPLIT_IN:n[0-9]+]] [label="input\nnir.input\ntensor<4xf32>"];
// CHECK-NEXT:     [[SPLIT_OUT:n[0-9]+]] [label="output\nnir.output\ntensor<4xf32>"];
// CHECK:          label="core 2";
// CHECK-NEXT:     [[A:n[0-9]+]] [label="a\nnir.lif\ntensor<4xf32>"];
// CHECK:          label="core 1";
// CHECK-NEXT:     [[B1:n[0-9]+]] [label="b\nnir.lif\ntensor<4xf32>\n2 of 4 neurons"];
// CHECK:          label="core 0";
// CHECK-NEXT:     [[B0:n[0-9]+]] [label="b\nnir.lif\ntensor<4xf32>\n2 of 4 neurons"];

// A nir.subgraph node points at the cluster of the graph it instantiates.
// CHECK:        subgraph [[INNER:cluster_[0-9]+]] {
// CHECK-NEXT:     label="nir.graph @inner";
// CHECK-NEXT:     [[INNER_IN:n[0-9]+]] [label="x\nnir.input\ntensor<2xf32>"];
// CHECK:        subgraph cluster_{{[0-9]+}} {
// CHECK-NEXT:     label="nir.graph @outer";
// CHECK:          [[SUB:n[0-9]+]] [label="sub\nnir.subgraph\ntensor<2xf32>"];

// One edge per use; the lif node sums two edges.
// CHECK:        [[IN]] -> [[FC]];
// CHECK-NEXT:   [[FC]] -> [[LIF]];
// CHECK-NEXT:   [[REC]] -> [[LIF]] [style=dashed];
// CHECK-NEXT:   [[LIF]] -> [[REC]];
// CHECK-NEXT:   [[REC]] -> [[SCALE]];
// CHECK-NEXT:   [[SCALE]] -> [[OUT]];
// CHECK:        [[SPLIT_IN]] -> [[A]];
// CHECK-NEXT:   [[A]] -> [[B1]];
// CHECK-NEXT:   [[A]] -> [[B0]];
// CHECK-NEXT:   [[B1]] -> [[SPLIT_OUT]];
// CHECK-NEXT:   [[B0]] -> [[SPLIT_OUT]];
// CHECK:        [[SUB]] -> [[INNER_IN]] [lhead=[[INNER]], style=dotted, label="instantiates"];
// CHECK:      }

// After discretize the back edge goes through an snn.step_delay, which reads rec and feeds
// lif one step later: the edge out of the delay is dashed.
// SNN:        label="snn.graph @recurrent";
// SNN:        [[DELAY:n[0-9]+]] [label="rec->lif\nsnn.step_delay\ntensor<2xf32>"];
// SNN:        [[DELAY]] -> [[SNNLIF:n[0-9]+]] [style=dashed];
// SNN:        [[SNNREC:n[0-9]+]] -> [[DELAY]];

// With a file for the DOT, the module is printed as usual.
// MODULE: builtin.module
nir.graph @recurrent {
  %input = nir.input "input" : tensor<2xf32>
  %fc = nir.affine "fc"(%input) {weight = dense<1.0> : tensor<2x2xf32>, bias = dense<0.0> : tensor<2xf32>, core = 0 : i64} : tensor<2xf32>
  %lif = nir.lif "lif"(%fc, %rec) {tau = dense<0.0025> : tensor<2xf32>, r = dense<1.0> : tensor<2xf32>, v_leak = dense<0.0> : tensor<2xf32>, v_threshold = dense<0.1> : tensor<2xf32>, v_reset = dense<0.0> : tensor<2xf32>, mapping = {core = 1 : i64}} : tensor<2xf32>
  %rec = nir.affine "rec"(%lif) {weight = dense<0.5> : tensor<2x2xf32>, bias = dense<0.0> : tensor<2xf32>, mapping = 0 : i64} : tensor<2xf32>
  %gain = nir.scale "gain"(%rec) {scale = dense<2.0> : tensor<2xf32>, mapping = "north"} : tensor<2xf32>
  nir.output "output"(%gain) : tensor<2xf32>
}
nir.graph @split {
  %input = nir.input "input" : tensor<4xf32>
  %a = nir.lif "a"(%input) {tau = dense<0.0025> : tensor<4xf32>, r = dense<1.0> : tensor<4xf32>, v_leak = dense<0.0> : tensor<4xf32>, v_threshold = dense<0.1> : tensor<4xf32>, v_reset = dense<0.0> : tensor<4xf32>, cores = array<i64: 2, 4>} : tensor<4xf32>
  %b = nir.lif "b"(%a) {tau = dense<0.0025> : tensor<4xf32>, r = dense<1.0> : tensor<4xf32>, v_leak = dense<0.0> : tensor<4xf32>, v_threshold = dense<0.1> : tensor<4xf32>, v_reset = dense<0.0> : tensor<4xf32>, cores = array<i64: 1, 2, 0, 2>} : tensor<4xf32>
  nir.output "output"(%b) : tensor<4xf32>
}
nir.graph @inner {
  %x = nir.input "x" : tensor<2xf32>
  %y = nir.lif "y"(%x) {tau = dense<0.0025> : tensor<2xf32>, r = dense<1.0> : tensor<2xf32>, v_leak = dense<0.0> : tensor<2xf32>, v_threshold = dense<0.1> : tensor<2xf32>, v_reset = dense<0.0> : tensor<2xf32>} : tensor<2xf32>
  nir.output "out"(%y) : tensor<2xf32>
}
nir.graph @outer {
  %input = nir.input "input" : tensor<2xf32>
  %sub = nir.subgraph "sub"(%input) {graph = @inner} : tensor<2xf32>
  nir.output "output"(%sub) : tensor<2xf32>
}

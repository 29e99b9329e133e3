// discretize rounds a Delay to the nearest whole number of steps: a whole number passes silently,
// a fraction warns with the rounding error, and a delay that would round to 0 steps is an error.
// RUN: nir-opt %s -p 'discretize{dt=1e-4}' 2>&1 | filecheck %s --check-prefix=WHOLE
// RUN: nir-opt %s -p 'discretize{dt=4e-4}' 2>&1 | filecheck %s --check-prefix=FRACTION
// RUN: not nir-opt %s -p 'discretize{dt=5e-3}' 2>&1 | filecheck %s --check-prefix=VANISHED

// 1 ms and 2 ms at 0.1 ms are 10 and 20 steps, although the float32 values are not exact.
// WHOLE-NOT: warning
// WHOLE: snn.delay "delay"(%input) {steps = dense<[10, 20]> : tensor<2xi64>}

// At 0.4 ms, the float32 1 ms is 2.5000001 steps, so 3 steps, and 2 ms is 5 steps.
// FRACTION: discretize-delay.mlir:19:3: warning: node 'delay': 'delay' is not a whole number of steps at dt 0.0004 s (0.001 s at index 0 is 2.5 steps); rounded to the nearest step, with an error of up to 0.5 steps (0.0002 s)
// FRACTION: snn.delay "delay"(%input) {steps = dense<[3, 5]> : tensor<2xi64>}

// At 5 ms, 1 ms is 0.2 steps, which would round to no delay at all.
// VANISHED: discretize-delay.mlir:19:3: error: node 'delay': 'delay' 0.001 s at index 0 is 0.2 steps at dt 0.005 s, which rounds to 0 steps and would remove the delay; use a dt of at most 0.002 s, or set that delay to 0
nir.graph @main {
  %input = nir.input "input" : tensor<2xf32>
  %delay = nir.delay "delay"(%input) {delay = dense<[1.0e-03, 2.0e-03]> : tensor<2xf32>} : tensor<2xf32>
  nir.output "output"(%delay) : tensor<2xf32>
}

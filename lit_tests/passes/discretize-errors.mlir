// discretize rejects graphs and options it cannot discretize, with a message that says how to fix them.
// RUN: not nir-opt %s -p discretize 2>&1 | filecheck %s --check-prefix=NO-DT
// RUN: not nir-opt %s -p 'discretize{dt=1e-4 reset=zero}' 2>&1 | filecheck %s --check-prefix=RESET
// RUN: not nir-opt %s -p 'discretize{dt=1e-3}' 2>&1 | filecheck %s --check-prefix=EULER
// RUN: nir-opt %s -p 'discretize{dt=1e-3 integrator=exp_euler}' | filecheck %s --check-prefix=EXP

// NO-DT: error: discretize needs dt in seconds; e.g. -p 'discretize{dt=1e-4}'
// RESET: error: discretize: invalid reset 'zero'; expected one of to_reset_value, subtract, none

// At dt = 1 ms, tau = 0.5 ms would make the forward-Euler decay negative; exact decay is fine.
// EULER: error: node 'fast': 'tau' 0.0005 s is shorter than dt 0.001 s, so forward Euler gives a negative decay -1; use a smaller dt or integrator=exp_euler
// EXP: snn.lif "fast"
nir.graph @g {
  %a = nir.input "a" : tensor<1xf32>
  %fast = nir.lif "fast"(%a) {tau = dense<[0.0005]> : tensor<1xf64>, r = dense<[1.0]> : tensor<1xf64>, v_leak = dense<[0.0]> : tensor<1xf64>, v_threshold = dense<[0.1]> : tensor<1xf64>, v_reset = dense<[0.0]> : tensor<1xf64>} : tensor<1xf32>
  nir.output "o"(%fast) : tensor<1xf32>
}

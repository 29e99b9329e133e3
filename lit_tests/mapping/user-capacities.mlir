// Capacities set as pass options, for hypothetical chips: every strategy keeps within them or
// names the op, the resource and the shortfall. The bundled CNN: if1 is 4x16x16 IF neurons
// fed by a 3x3 convolution of 2 channels (at most 18 sources each), if2 is 10 neurons fed by
// all 1024 neurons of if1.
// RUN: nir-opt %examples/cnn.nir --lower-to-fixedpoint=dt=1e-3 -o %t.mlir 2>/dev/null
// RUN: nir-opt %t.mlir -p 'map-to-cores{target=loihi2 strategy=greedy fan-in-per-core=1100 neurons-per-core=300}' --mapping-report %t.greedy.json > /dev/null 2>&1
// RUN: filecheck %s --check-prefix=FITS < %t.greedy.json
// RUN: nir-opt %t.mlir -p 'map-to-cores{target=loihi2 strategy=metis fan-in-per-core=1100 neurons-per-core=300}' --mapping-report %t.metis.json > /dev/null 2>&1
// RUN: filecheck %s --check-prefix=FITS < %t.metis.json
// RUN: nir-opt %t.mlir -p 'map-to-cores{target=loihi2 strategy=hypergraph fan-in-per-core=1100 neurons-per-core=300}' --mapping-report %t.hypergraph.json > /dev/null 2>&1
// RUN: filecheck %s --check-prefix=FITS < %t.hypergraph.json
// RUN: nir-opt %t.mlir -p 'map-to-cores{target=loihi2 strategy=cpsat time-limit=2 fan-in-per-core=1100 neurons-per-core=300}' --mapping-report %t.cpsat.json > /dev/null 2>&1
// RUN: filecheck %s --check-prefix=FITS < %t.cpsat.json
// The 1034 neurons need at least 4 cores of 300; every core's fan-in stays within 1100 (the pytest
// checker recounts it), and greedy gives if2 a core of its own.
// FITS: "cores_used": {{([4-9]|[1-9][0-9]),}}
// FITS-NOT: "fan_in": {{1[1-9][0-9][0-9]|[2-9][0-9][0-9][0-9]}}

// One neuron of if2 receives from 1024 sources, more than fan-in-per-core=1000.
// RUN: not nir-opt %t.mlir -p 'map-to-cores{target=loihi2 fan-in-per-core=1000}' 2>&1 | filecheck %s --check-prefix=FANIN
// FANIN: error: map-to-cores: 'fxp.lif' op node 'if2': fan-in: one neuron receives spikes from 1024 source neurons but fan-in-per-core is 1000 (short by 24)

// 1034 neurons on the 128 cores of one chip at 8 neurons per core: 1024 places.
// RUN: not nir-opt %t.mlir -p 'map-to-cores{target=loihi2 strategy=hypergraph neurons-per-core=8}' 2>&1 | filecheck %s --check-prefix=NEURONS
// NEURONS: error: map-to-cores: 'fxp.lif' op node 'if2': neurons: the graph has 1034 but 128 cores of Intel Loihi 2 hold 1024 (short by 10); give chips=2 or a larger neurons-per-core

// if1's neurons each have 18 synapse entries; 16 per core cannot hold one.
// RUN: not nir-opt %t.mlir -p 'map-to-cores{target=spinnaker2 synapses-per-core=16}' 2>&1 | filecheck %s --check-prefix=SYNAPSES
// SYNAPSES: error: map-to-cores: 'fxp.lif' op node 'if1': synapses: one neuron has 18 synapse entries but synapses-per-core is 16 (short by 2)

// At 4 neurons per core, if2 spans 3 cores and every core of if1 sends to all of them; fewer
// neurons per core spread if2 further, so greedy cannot meet destinations-per-core=1.
// RUN: not nir-opt %t.mlir -p 'map-to-cores{target=loihi2 destinations-per-core=1 neurons-per-core=4 chips=3}' 2>&1 | filecheck %s --check-prefix=DESTINATIONS
// DESTINATIONS: error: map-to-cores: 'fxp.lif' op node 'if1': destinations: in the greedy mapping, core 0 (with neurons of this group) has 3 but destinations-per-core is 1 (short by 2); with 1 neurons per core greedy placement in order runs out of the 384 cores; give more chips or a larger capacity

// RUN: not nir-opt %t.mlir -p 'map-to-cores{target=loihi2 fan-in-per-core=0}' 2>&1 | filecheck %s --check-prefix=ZERO
// ZERO: error: map-to-cores: fan-in-per-core is 0; expected a positive number

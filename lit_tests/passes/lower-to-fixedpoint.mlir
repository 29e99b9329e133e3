// lower-to-fixedpoint leaves only fxp ops for the NIR paper's three models.
// REQUIRES: shared
// RUN: nir-translate --import-nir %corpus/neuromorphs-NIR__lif_norse.nir | nir-opt --lower-to-fixedpoint | filecheck %s --check-prefix=LIF
// RUN: nir-translate --import-nir %corpus/neuromorphs-NIR__cnn_sinabs.nir | nir-opt --lower-to-fixedpoint | filecheck %s --check-prefix=CNN
// RUN: nir-translate --import-nir %corpus/neuromorphs-NIR__braille_noDelay_bias_zero.nir | nir-opt --lower-to-fixedpoint | filecheck %s --check-prefix=RNN
// RUN: nir-translate --import-nir %corpus/neuromorphs-NIR__braille_noDelay_noBias_subtract.nir | nir-opt --lower-to-fixedpoint | filecheck %s --check-prefix=RNN
// RUN: nir-translate --import-nir %corpus/neuromorphs-NIR__braille_noDelay_noBias_subtract.nir | nir-opt --lower-to-fixedpoint | filecheck %s --check-prefix=ONLY-FXP

// LIF:      fxp.graph @main attributes {dt = 0.0001 : f64}
// LIF:        fxp.lif "1"(%{{.*}}) {voltage_decay = dense<[3932]> : tensor<1xi16>

// CNN:      fxp.conv2d "0"
// CNN:      fxp.lif "1"
// CNN:      fxp.sum_pool2d "4"
// CNN:      fxp.flatten "8"
// CNN:      fxp.affine "9"

// RNN:      fxp.cuba_lif "lif1.lif"(%[[DELAYED:[^,]*]], %{{.*}})
// RNN:      %[[REC:.*]] = fxp.affine "lif1.w_rec"
// RNN:      %[[DELAYED]] = fxp.step_delay "lif1.w_rec->lif1.lif"(%[[REC]]) {steps = 1 : i64}
// RNN:      fxp.cuba_lif "lif2"

// ONLY-FXP-NOT: nir.
// ONLY-FXP-NOT: snn.

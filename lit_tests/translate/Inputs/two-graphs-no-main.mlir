builtin.module {
  nir.graph @first {
    %input = nir.input "input" : tensor<2xf32>
    nir.output "output"(%input) : tensor<2xf32>
  }
  nir.graph @second {
    %input = nir.input "input" : tensor<2xf32>
    nir.output "output"(%input) : tensor<2xf32>
  }
}

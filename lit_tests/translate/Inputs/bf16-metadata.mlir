nir.graph @main attributes {metadata = {gain = dense<[1.0, 2.0]> : tensor<2xbf16>}} {
  %input = nir.input "input" : tensor<2xf32>
  nir.output "output"(%input) : tensor<2xf32>
}

nir.graph @main attributes {metadata = {tags = ["a", ["b", "c"]]}} {
  %input = nir.input "input" : tensor<2xf32>
  nir.output "output"(%input) : tensor<2xf32>
}

"""Translation targets: writers of the formats that chip toolchains load."""

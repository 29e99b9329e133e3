"""Passes of nirmlir, one module per pass or lowering."""

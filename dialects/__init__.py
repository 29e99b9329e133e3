"""Dialects of nirmlir: nir (continuous time), snn (discrete time), fxp (fixed point)."""

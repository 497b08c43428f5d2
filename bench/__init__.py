"""Measure docctl's performance targets on this machine (`make bench`)."""

"""Benchmarks: scripts that print figures beside the targets they serve (see the Makefile)."""

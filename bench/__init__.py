"""Benchmarks: scripts, not tests (`python -m bench.events`)."""

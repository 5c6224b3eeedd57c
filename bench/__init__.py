"""Benchmarks, scripts rather than tests. `make bench` (`python -m bench`): how much the gateway
adds over the work itself, every figure a ratio against a baseline measured in the same run, or
a median of repeated runs, because the machines this runs on are shared and noisy (see
`bench/RESULTS.md`). `python -m bench.events`: the event streams alone.
"""

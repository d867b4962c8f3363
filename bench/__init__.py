"""Benchmarks, run on demand (`./dev bench <name>`); never part of the test suite."""

"""Continuous integration: the baseline of a suite, the regression check against it, and throughput benchmarks."""

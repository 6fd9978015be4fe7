"""Benchmarks (`make bench`): real AS and RS processes on loopback ports, figures as medians of interleaved rounds."""

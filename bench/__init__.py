"""Benchmarks: scripts that run the real bot against the fake Bot API and print figures."""

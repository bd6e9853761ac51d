"""Benchmarks: scripts that print a table and can be rerun (results in docs/benchmarks.md)."""

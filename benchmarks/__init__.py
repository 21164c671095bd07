"""Benchmarks: ``python -m benchmarks [TABLE ...]`` prints each table, peers side by side."""

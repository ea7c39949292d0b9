"""Approximate queries with guarantees: aggregation and selection with a cheap proxy and an
expensive oracle."""

"""Latency percentiles as the HTTP benchmarks report them (nearest rank, in milliseconds).

Shared so that every benchmark's p95 and p99 mean the same thing and can be compared in
docs/benchmarks.md.
"""

from __future__ import annotations

import statistics


def percentile(values: list[float], fraction: float) -> float:
    """The value at ``fraction`` of the sorted values (nearest rank, no interpolation)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def p50_p95_p99(values: list[float]) -> tuple[float, float, float]:
    """The median, p95 and p99 of a non-empty list of latencies."""
    return statistics.median(values), percentile(values, 0.95), percentile(values, 0.99)

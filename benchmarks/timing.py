"""Shared timing helpers for the benchmarks: percentiles and a printed table."""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np


def measure(call: Callable[[], object], n: int, warmup: int = 5) -> np.ndarray:
    """Seconds taken by each of ``n`` calls, after ``warmup`` untimed ones."""
    for _ in range(warmup):
        call()
    times = np.empty(n)
    for i in range(n):
        start = time.perf_counter()
        call()
        times[i] = time.perf_counter() - start
    return times


def summary(name: str, seconds: np.ndarray) -> dict:
    ms = seconds * 1000
    return {"name": name, "n": len(ms), "p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
            "mean_ms": float(ms.mean()), "per_s": float(len(ms) / seconds.sum())}


def print_table(title: str, rows: list[dict]) -> None:
    print(f"\n{title}")
    print(f"  {'what':<44} {'n':>6} {'p50 ms':>9} {'p99 ms':>9} {'req/s':>9}")
    for r in rows:
        print(f"  {r['name']:<44} {r['n']:>6} {r['p50_ms']:>9.2f} {r['p99_ms']:>9.2f} {r['per_s']:>9.1f}")


def getter(session, base_url: str, path: Callable[[], str]) -> Callable[[], None]:
    """A call that GETs ``base_url + path()`` and fails on an error status."""
    def call() -> None:
        session.get(base_url + path(), timeout=30).raise_for_status()
    return call

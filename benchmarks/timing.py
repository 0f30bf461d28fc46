"""Shared timing helpers for the benchmarks: percentiles and a printed table."""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ops.services import session_members


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


def _ticks(stat: Path) -> int:
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])   # utime stime


def session_cpu_seconds(session_id: int | None) -> float:
    """CPU seconds (user + system) used so far by the live processes of one session: a service the
    launcher started in a session of its own, its children included (a PyFlink job's JVM)."""
    if session_id is None:
        return 0.0
    total = 0
    for pid in session_members(session_id):
        try:
            total += _ticks(Path("/proc", str(pid), "stat"))
        except OSError:  # the process ended meanwhile
            continue
    return total / os.sysconf("SC_CLK_TCK")


def session_jit_seconds(session_id: int | None) -> float:
    """CPU seconds the JVMs of one session spent in their JIT compiler threads (named ``C1/C2 CompilerThread``),
    the live ones: the warm-up a freshly started JVM pays and a long-running one has behind it."""
    if session_id is None:
        return 0.0
    total = 0
    for pid in session_members(session_id):
        for task in Path("/proc", str(pid), "task").glob("*"):
            try:
                if (task / "comm").read_text().startswith(("C1 CompilerThre", "C2 CompilerThre")):
                    total += _ticks(task / "stat")
            except OSError:
                continue
    return total / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds each named service used between :meth:`start` and :meth:`stop` (``used``), and of them the
    seconds its JVMs' JIT compilers took (``jit``)."""

    def __init__(self, services: dict[str, object]):
        self.services = services
        self.used: dict[str, float] = {}
        self.jit: dict[str, float] = {}

    def start(self) -> None:
        self._at = {name: session_cpu_seconds(s.pid()) for name, s in self.services.items()}
        self._jit_at = {name: session_jit_seconds(s.pid()) for name, s in self.services.items()}

    def stop(self) -> dict[str, float]:
        self.used = {name: session_cpu_seconds(s.pid()) - self._at[name] for name, s in self.services.items()}
        self.jit = {name: session_jit_seconds(s.pid()) - self._jit_at[name] for name, s in self.services.items()}
        return self.used

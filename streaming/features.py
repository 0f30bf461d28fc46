"""Real-time feature arithmetic, kept free of Flink and Cassandra so it can be tested alone.

``streaming.operators.WriteFeatures`` keeps these counts in Flink keyed state per title.
"""
from __future__ import annotations

WINDOW_MS = 60_000                      # one-minute tumbling windows for trending
WINDOW_RETENTION_MS = 24 * 3600 * 1000  # windows older than this leave the state

Counts = tuple[int, int]  # (clicks, views)


def window_start(timestamp_ms: int, size_ms: int = WINDOW_MS) -> int:
    return timestamp_ms - timestamp_ms % size_ms


def bump(counts: Counts | None, kind: str) -> Counts:
    """Counts after one more event of ``kind``."""
    clicks, views = counts or (0, 0)
    if kind == "click":
        return clicks + 1, views
    if kind == "view":
        return clicks, views + 1
    raise ValueError(f"not a counted event kind: {kind!r}")


def expired_windows(starts, now_ms: int) -> list[int]:
    horizon = now_ms - WINDOW_RETENTION_MS
    return [s for s in starts if s < horizon]

"""Real-time title features for ranking, from a per-process snapshot refreshed in the background.

Reading 300 titles' counts per request (a multi-partition ``IN``) cost ~20 ms; the whole
table is one row per title that ever had an event (at most the catalog), so each API
process re-reads it every ``every_s`` seconds and ranks from memory: counts are at most that
stale, which is within the "seconds" the streaming path promises anyway.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping

from config.registry import CTR_PRIOR_CLICKS, CTR_PRIOR_VIEWS, TITLE_WINDOWS

# The ranker's real-time inputs per title, in this order (ranking.features.REALTIME names them).
VECTOR = ("clicks", "views", "ctr", "clicks_24h", "views_24h", "trending")
_HOUR, _DAY = (w for w in TITLE_WINDOWS)


def _in_window(row: Mapping, window, now_ms: int) -> tuple[float, float]:
    """A window's counts, or zeros when the title's last event in it is older than the window."""
    at = row.get(f"window_at_{window.name}")
    if at is None or at < now_ms - window.minutes * 60_000:
        return 0.0, 0.0
    return float(row.get(f"clicks_{window.name}") or 0), float(row.get(f"views_{window.name}") or 0)


def title_vector(row: Mapping | None, now_ms: int) -> tuple[float, ...]:
    """:data:`VECTOR` of one title as of ``now_ms`` from its stored features (None: no events yet).

    ``trending`` compares the last hour's events with the hourly rate of the last day:
    (events_1h + 1) / (events_24h / 24 + 1), so 1.0 is "as usual" and a title with no events is 1.0.
    """
    if row is None:
        return 0.0, 0.0, CTR_PRIOR_CLICKS / CTR_PRIOR_VIEWS, 0.0, 0.0, 1.0
    clicks, views = float(row.get("clicks") or 0), float(row.get("views") or 0)
    c1, v1 = _in_window(row, _HOUR, now_ms)
    c24, v24 = _in_window(row, _DAY, now_ms)
    trending = (c1 + v1 + 1.0) / ((c24 + v24) / 24.0 + 1.0)
    return clicks, views, (clicks + CTR_PRIOR_CLICKS) / (views + CTR_PRIOR_VIEWS), c24, v24, trending

log = logging.getLogger("animerec.ranking")


class FrozenFeatures:
    """Title features fixed at one moment (training's point-in-time examples): same answers as
    :class:`RealtimeCounts`, from rows given up front."""

    def __init__(self, rows: Mapping[int, Mapping], now_ms: int):
        self.rows, self.now_ms = rows, now_ms

    def vectors(self, anime_ids, now_ms: int | None = None) -> dict[int, tuple[float, ...]]:
        return {a: title_vector(self.rows[a], now_ms or self.now_ms) for a in anime_ids if a in self.rows}


class RealtimeCounts:
    def __init__(self, store, every_s: float = 2.0):
        self.store, self.every_s = store, every_s
        self._snapshot: dict[int, dict] = {}
        self._started = threading.Event()
        self._lock = threading.Lock()

    def vectors(self, anime_ids, now_ms: int | None = None) -> dict[int, tuple[float, ...]]:
        """:func:`title_vector` of each of ``anime_ids`` that has features."""
        self._start_once()
        snapshot, now_ms = self._snapshot, now_ms or int(time.time() * 1000)
        return {a: title_vector(snapshot[a], now_ms) for a in anime_ids if a in snapshot}

    def refresh(self) -> None:
        self._snapshot = self.store.all_title_features()

    def _start_once(self) -> None:
        if self._started.is_set():
            return
        with self._lock:
            if self._started.is_set():
                return
            self._refresh_logged()
            threading.Thread(target=self._loop, name="realtime-counts", daemon=True).start()
            self._started.set()

    def _loop(self) -> None:
        stop = threading.Event()
        while not stop.wait(self.every_s):
            self._refresh_logged()

    def _refresh_logged(self) -> None:
        try:
            self.refresh()
        except Exception:  # keep serving the last snapshot; the next round tries again
            log.exception("refreshing real-time counts failed")

"""Real-time features for ranking: per title from a per-process snapshot, per user from their row.

Reading 300 titles' counts per request (a multi-partition ``IN``) cost ~20 ms; the whole
table is one row per title that ever had an event (at most the catalog), so each API
process re-reads it every ``every_s`` seconds and ranks from memory: counts are at most that
stale, which is within the "seconds" the streaming path promises anyway. A user's row
(``user_features``) is read per request: it changes with every event of theirs.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping

import numpy as np

from config.registry import CTR_PRIOR_CLICKS, CTR_PRIOR_VIEWS, SESSION_WINDOW, TITLE_WINDOWS

# The ranker's real-time inputs per title, in this order (ranking.features.REALTIME names them).
VECTOR = ("clicks", "views", "ctr", "clicks_24h", "views_24h", "trending")
# ... and per user (plus the candidate's share of the user's decayed genre affinity, ranking.features).
USER_VECTOR = ("events", "clicks", "hours_since_last", "session_events")
NEVER_HOURS = 24.0 * 365   # hours_since_last of a user without events (and the cap for everyone)
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


def activity_vector(row: Mapping | None, now_ms: int) -> tuple[float, ...]:
    """:data:`USER_VECTOR` of one user as of ``now_ms`` from their ``user_features`` row (None: no events yet).

    ``session_events`` counts the events of the current session window, 0 once it has passed.
    """
    last = None if row is None else row.get("last_event_at")
    if last is None:
        return 0.0, 0.0, NEVER_HOURS, 0.0
    hours = min(max(now_ms - last, 0) / 3_600_000, NEVER_HOURS)
    at = row.get("session_at")
    live = at is not None and at >= now_ms - SESSION_WINDOW.minutes * 60_000
    session = float(row.get(f"events_{SESSION_WINDOW.name}") or 0) if live else 0.0
    return float(row.get("events") or 0), float(row.get("clicks") or 0), hours, session


def affinity_shares(row: Mapping | None, genres: tuple[str, ...]) -> np.ndarray:
    """The user's decayed genre affinity over ``genres`` as shares summing to 1 (zeros without events).

    The stored sums are forward-decayed from one anchor, so every genre decays by the same factor
    up to any "now": their shares are the same at every moment, and no clock is needed.
    """
    affinity = (row or {}).get("genre_affinity") or {}
    values = np.array([float(affinity.get(g, 0.0)) for g in genres], dtype=np.float64)
    total = values.sum()
    return (values / total if total > 0 else values).astype(np.float32)


log = logging.getLogger("animerec.ranking")


class FrozenFeatures:
    """Features fixed at one moment (training's point-in-time examples): same answers as
    :class:`RealtimeCounts`, from title and user rows given up front."""

    def __init__(self, rows: Mapping[int, Mapping], now_ms: int, users: Mapping[int, Mapping] | None = None):
        self.rows, self.now_ms, self.users = rows, now_ms, users or {}

    def vectors(self, anime_ids, now_ms: int | None = None) -> dict[int, tuple[float, ...]]:
        return {a: title_vector(self.rows[a], now_ms or self.now_ms) for a in anime_ids if a in self.rows}

    def user(self, user_id: int) -> tuple[dict | None, int]:
        """The user's ``user_features`` row (None: no events) and the moment it holds for."""
        return self.users.get(user_id), self.now_ms


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

    def user(self, user_id: int) -> tuple[dict | None, int]:
        """The user's ``user_features`` row as stored now (None: no events), and now."""
        return self.store.user_features(user_id), int(time.time() * 1000)

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

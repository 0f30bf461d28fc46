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


class TitleTable:
    """Title feature rows as column arrays: :data:`VECTOR` of many titles at once (what :func:`title_vector`
    gives one by one, vectorised over a request's candidates)."""

    _COUNTS = ("clicks", "views", *(f"{k}_{w.name}" for w in (_HOUR, _DAY) for k in ("clicks", "views")))
    _AT = tuple(f"window_at_{w.name}" for w in (_HOUR, _DAY))

    def __init__(self, rows: Mapping[int, Mapping]):
        self.index = {int(a): i for i, a in enumerate(rows)}
        values = list(rows.values())
        self.counts = np.array([[float(r.get(c) or 0) for c in self._COUNTS] for r in values],
                               dtype=np.float64).reshape(len(values), len(self._COUNTS))
        self.at = np.array([[-np.inf if r.get(c) is None else float(r[c]) for c in self._AT] for r in values],
                           dtype=np.float64).reshape(len(values), len(self._AT))

    def __len__(self) -> int:
        return len(self.index)

    def vectors(self, anime_ids, now_ms: int) -> np.ndarray:
        """(len(anime_ids), len(VECTOR)) float32; a title without features gets ``title_vector(None)``."""
        out = np.tile(np.array(title_vector(None, now_ms), dtype=np.float64), (len(anime_ids), 1))
        pairs = [(i, self.index[a]) for i, a in enumerate(anime_ids) if a in self.index]
        if pairs:
            at, rows = map(np.array, zip(*pairs))
            counts, window_at = self.counts[rows], self.at[rows]
            live = window_at >= np.array([now_ms - w.minutes * 60_000 for w in (_HOUR, _DAY)], dtype=np.float64)
            clicks, views = counts[:, 0], counts[:, 1]
            c1, v1 = counts[:, 2] * live[:, 0], counts[:, 3] * live[:, 0]
            c24, v24 = counts[:, 4] * live[:, 1], counts[:, 5] * live[:, 1]
            out[at] = np.stack([clicks, views, (clicks + CTR_PRIOR_CLICKS) / (views + CTR_PRIOR_VIEWS), c24, v24,
                                (c1 + v1 + 1.0) / ((c24 + v24) / 24.0 + 1.0)], axis=1)
        return out.astype(np.float32)


class FrozenFeatures:
    """Features fixed at one moment (training's point-in-time examples): same answers as
    :class:`RealtimeCounts`, from title and user rows given up front."""

    def __init__(self, rows: Mapping[int, Mapping], now_ms: int, users: Mapping[int, Mapping] | None = None):
        self.rows, self.now_ms, self.users = rows, now_ms, users or {}
        self.table = TitleTable(rows)

    def titles(self, anime_ids) -> np.ndarray:
        return self.table.vectors(anime_ids, self.now_ms)

    def user(self, user_id: int, stored: Mapping | None = None) -> tuple[dict | None, int]:
        """The user's frozen ``user_features`` row (None: no events) and the moment it holds for; what the
        store holds now (``stored``) does not count."""
        return self.users.get(user_id), self.now_ms


class RealtimeCounts:
    """Title features from a per-process snapshot of ``title_features`` (re-read every ``every_s``), user
    features as the request read them."""

    def __init__(self, store, every_s: float = 2.0):
        self.store, self.every_s = store, every_s
        self._table = TitleTable({})
        self._started = threading.Event()
        self._lock = threading.Lock()

    def titles(self, anime_ids) -> np.ndarray:
        """:func:`title_vector` of each of ``anime_ids``, now."""
        self._start_once()
        return self._table.vectors(anime_ids, int(time.time() * 1000))

    def user(self, user_id: int, stored: Mapping | None = None) -> tuple[Mapping | None, int]:
        """The user's ``user_features`` row as the request read it (``stored``; None: no events), and now."""
        return stored, int(time.time() * 1000)

    def refresh(self) -> None:
        self._table = TitleTable(self.store.all_title_features())

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

"""The streaming features, defined in plain Python over a list of events.

This is what the Flink job (streaming/job.py) computes, written the slow, obvious way: training
uses it to give each example the features as they were at its moment (point-in-time, from the
replayed stream), and the integration test checks every feature the job wrote against it.
Events are :func:`ingest.replay.replay_events` rows (or dicts with the same keys, plus ``genres``).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from config.registry import (CTR_PRIOR_CLICKS, CTR_PRIOR_VIEWS, DAY_MS, DECAY_ANCHOR_MS, GENRE_HALF_LIFE_DAYS,
                             RECENT_EVENTS, SESSION_WINDOW, TITLE_WINDOWS, Window)


def _unique(events: pd.DataFrame) -> pd.DataFrame:
    return events.drop_duplicates("event_id", keep="first")


def in_window(ts_ms, latest_ms, window: Window) -> np.ndarray:
    """Whether each event time is inside ``window`` as of ``latest_ms``: its bucket is one of the last
    ``window.buckets`` up to the latest event's (the job's ``SLIDING_COUNT``, jars/flink/src)."""
    buckets = np.floor_divide(np.asarray(ts_ms, dtype=np.int64), window.bucket_ms)
    return buckets > latest_ms // window.bucket_ms - window.buckets


def title_rows(events: pd.DataFrame, before_ms: int | None = None) -> dict[int, dict]:
    """anime_id -> the ``title_features`` row after every click/view strictly before ``before_ms`` (all: None).

    Windows are as of the title's latest event (:func:`in_window`).
    """
    ev = _unique(events)
    ev = ev[ev["kind"].isin(("click", "view"))]
    if before_ms is not None:
        ev = ev[ev["timestamp"] < before_ms]
    out: dict[int, dict] = {}
    if ev.empty:
        return out
    ev = ev.assign(click=(ev["kind"] == "click").astype(np.int64), view=(ev["kind"] == "view").astype(np.int64))
    totals = ev.groupby("anime_id").agg(clicks=("click", "sum"), views=("view", "sum"), last=("timestamp", "max"))
    last = ev["anime_id"].map(totals["last"])
    for anime_id, row in totals.iterrows():
        out[int(anime_id)] = {"clicks": int(row["clicks"]), "views": int(row["views"]),
                              "ctr": (row["clicks"] + CTR_PRIOR_CLICKS) / (row["views"] + CTR_PRIOR_VIEWS),
                              "last_event_at": int(row["last"])}
    for w in TITLE_WINDOWS:
        inside = ev[in_window(ev["timestamp"], last, w)]
        counts = inside.groupby("anime_id").agg(c=("click", "sum"), v=("view", "sum"))
        for anime_id, row in counts.iterrows():
            out[int(anime_id)].update({f"clicks_{w.name}": int(row["c"]), f"views_{w.name}": int(row["v"]),
                                       f"window_at_{w.name}": out[int(anime_id)]["last_event_at"]})
    return out


def decay_weight(ts_ms) -> np.ndarray:
    """The forward-decay weight of an event at ``ts_ms`` (config.registry.GENRE_HALF_LIFE_DAYS)."""
    return np.power(2.0, (np.asarray(ts_ms, dtype=np.float64) - DECAY_ANCHOR_MS) / (GENRE_HALF_LIFE_DAYS * 86_400_000))


def newest(events: pd.DataFrame) -> list[dict]:
    """The newest :data:`config.registry.RECENT_EVENTS` of ``events``, newest first, equal times by event_id."""
    ordered = events.sort_values(["timestamp", "event_id"], ascending=[False, True]).head(RECENT_EVENTS)
    return [{"event_id": r.event_id, "anime_id": int(r.anime_id), "kind": r.kind, "ts": int(r.timestamp)}
            for r in ordered.itertuples(index=False)]


def user_rows(events: pd.DataFrame, genres_of: Callable[[int], list[str]]) -> dict[int, dict]:
    """user_id -> the ``user_features`` row after every event (of any kind but impressions).

    ``genre_affinity`` maps each genre the user met to the sum of :func:`decay_weight` over the
    user's events on titles of that genre; ``events_30m`` counts the user's events in the session
    window as of their latest event (:func:`in_window`); ``recent`` lists their newest
    :data:`config.registry.RECENT_EVENTS` events (``event_id, anime_id, kind, ts``), newest first,
    equal times by event_id.
    """
    ev = _unique(events)
    ev = ev[ev["kind"] != "impression"]
    out: dict[int, dict] = {}
    for user_id, group in ev.groupby("user_id"):
        ts = group["timestamp"].to_numpy()
        weights = decay_weight(ts)
        affinity: dict[str, float] = {}
        for anime_id, weight in zip(group["anime_id"].tolist(), weights):
            for genre in genres_of(int(anime_id)):
                affinity[genre] = affinity.get(genre, 0.0) + float(weight)
        last = int(ts.max())
        out[int(user_id)] = {"events": len(group), "clicks": int((group["kind"] == "click").sum()),
                             "last_event_at": last, "genre_affinity": affinity,
                             f"events_{SESSION_WINDOW.name}": int(in_window(ts, last, SESSION_WINDOW).sum()),
                             "session_at": last,
                             "recent": newest(group[["event_id", "anime_id", "kind", "timestamp"]])}
    return out


def genre_activity_rows(events: pd.DataFrame, genres_of: Callable[[int], list[str]]) -> dict[tuple[int, str], dict]:
    """(UTC day number, genre) -> ``{clicks, views, ratings}`` of the events on titles of that genre that day
    (impressions are not counted)."""
    out: dict[tuple[int, str], dict] = {}
    for row in _unique(events).itertuples(index=False):
        if row.kind == "impression":
            continue
        for genre in genres_of(int(row.anime_id)):
            counts = out.setdefault((int(row.timestamp) // DAY_MS, genre), {"clicks": 0, "views": 0, "ratings": 0})
            counts[{"click": "clicks", "view": "views", "rating": "ratings"}[row.kind]] += 1
    return out

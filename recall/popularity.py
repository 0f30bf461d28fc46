"""Popularity source: global and per-genre lists from watch counts plus trending events.

``score = (1 - w) * watch_share + w * event_share`` where

* ``watch_share`` is the title's share of all (user, title) rows in the ratings, a -1
  ("watched, no score") counting as much as a scored watch;
* ``event_share`` is the title's share of the recency-weighted click and view counts of
  the streaming job's ``anime_event_windows``: a window counts ``2 ** (-age / half_life)``
  times its events, ``age`` running from ``window_start`` to now;
* ``w`` is the trend weight; when there are no events at all the score is the watch share.

Shares (not raw counts) keep the two signals on one scale whatever the history length, so a
title drawing, say, 5% of today's clicks climbs the list even if its all-time share is small.

The Spark job aggregates the big tables per title (:func:`recency_weight` runs inside it as a
vectorised UDF); everything here works on per-title pandas frames, catalog-sized.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

ALL = "all"
GENRE_PREFIX = "genre:"
LIST_COLUMNS = ["segment", "rank", "anime_id", "score"]


def recency_weight(age_seconds, half_life_hours: float) -> np.ndarray:
    """``2 ** (-age / half_life)``; windows from the future (clock skew) count fully."""
    age = np.maximum(np.asarray(age_seconds, dtype=np.float64), 0.0)
    return np.exp2(-age / (half_life_hours * 3600.0))


def score_titles(watches: pd.DataFrame, recent: pd.DataFrame | None = None, trend_weight: float = 0.3) -> pd.DataFrame:
    """``(anime_id, score)`` from per-title ``watches`` (``anime_id, watches``) and ``recent``
    (``anime_id, recent``: recency-weighted event counts), positive scores only."""
    w = watches.groupby("anime_id", as_index=False)["watches"].sum()
    w["watch_share"] = w["watches"] / max(float(w["watches"].sum()), 1.0)
    total_recent = 0.0 if recent is None or recent.empty else float(recent["recent"].sum())
    if total_recent <= 0 or trend_weight <= 0:
        out = w.assign(score=w["watch_share"])
    else:
        r = recent.groupby("anime_id", as_index=False)["recent"].sum()
        out = w.merge(r, on="anime_id", how="outer").fillna({"watch_share": 0.0, "recent": 0.0})
        out["score"] = (1.0 - trend_weight) * out["watch_share"] + trend_weight * out["recent"] / total_recent
    out = out[out["score"] > 0]
    return out[["anime_id", "score"]].astype({"anime_id": "int64", "score": "float64"}).reset_index(drop=True)


def popular_lists(scores: pd.DataFrame, anime: pd.DataFrame | None, list_size: int) -> pd.DataFrame:
    """Ranked lists ``(segment, rank, anime_id, score)``: segment ``all`` and one per genre.

    ``anime``: catalog rows ``anime_id, genres`` (a list or None); ranks start at 1, ties go
    to the smaller ``anime_id``.
    """
    frames = [scores.assign(segment=ALL)]
    if anime is not None and not anime.empty:
        genres = anime[["anime_id", "genres"]].explode("genres").dropna(subset=["genres"])
        genres["genres"] = genres["genres"].astype(str).str.strip()
        genres = genres[genres["genres"] != ""].drop_duplicates()
        per_genre = scores.merge(genres, on="anime_id")
        frames.append(per_genre.assign(segment=GENRE_PREFIX + per_genre.pop("genres")))
    lists = pd.concat(frames, ignore_index=True).sort_values(["segment", "score", "anime_id"],
                                                             ascending=[True, False, True])
    lists["rank"] = lists.groupby("segment").cumcount() + 1
    lists = lists[lists["rank"] <= list_size]
    return lists[LIST_COLUMNS].astype({"rank": "int32", "anime_id": "int32", "score": "float64"}).reset_index(drop=True)

"""The read interface served from data frames: recall lists built offline, ratings of a split."""
from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from store.base import RecommendationReads

OFFLINE_VERSION = 0


class MemoryStore(RecommendationReads):
    """Offline store for evaluation and training; nothing here reaches a service.

    ``candidates``: user_id, source, rank, anime_id, score; ``similar``: anime_id, signal,
    rank, similar_id, score; ``popular``: rank, anime_id, score (segment 'all');
    ``ratings``: user_id, anime_id, rating.
    """

    def __init__(self, ratings: pd.DataFrame, candidates: pd.DataFrame, similar: pd.DataFrame, popular: pd.DataFrame):
        self._ratings = _group(ratings, "user_id", ["anime_id", "rating"])
        self._candidates = _group(candidates.sort_values("rank"), ["user_id", "source"], ["rank", "anime_id", "score"])
        self._similar = _group(similar.sort_values("rank"), ["anime_id", "signal"], ["rank", "similar_id", "score"])
        self._popular = popular.sort_values("rank")[["rank", "anime_id", "score"]].to_dict("records")
        self._pointers = {"popular": OFFLINE_VERSION}
        self._pointers.update({f"candidates:{s}": OFFLINE_VERSION for s in candidates["source"].unique()})
        self._pointers.update({f"similar:{s}": OFFLINE_VERSION for s in similar["signal"].unique()})

    def list_versions(self) -> dict[str, int]:
        return dict(self._pointers)

    def popular(self, segment: str = "all", limit: int = 100) -> list[dict]:
        return self._popular[:limit] if segment == "all" else []

    def user_candidates_at(self, version: int, user_id: int, source: str, limit: int = 1000) -> list[dict]:
        return self._candidates.get((user_id, source), [])[:limit]

    def similar_at(self, version: int, anime_id: int, signal: str, limit: int = 1000) -> list[dict]:
        return self._similar.get((anime_id, signal), [])[:limit]

    def user_ratings(self, user_id: int) -> list[dict]:
        return self._ratings.get(user_id, [])

    def recent_events(self, user_id: int, limit: int = 50) -> list[dict]:
        return []

    def event_counts(self, anime_ids: Sequence[int]) -> dict[int, dict]:
        return {}

    def all_event_counts(self) -> dict[int, tuple[int, int]]:
        return {}


def _group(frame: pd.DataFrame, keys, columns: list[str]) -> dict:
    if frame.empty:
        return {}
    return {key: rows[columns].to_dict("records") for key, rows in frame.groupby(keys, sort=False)}

"""What recall and ranking read, as one small interface.

``CassandraStore`` serves it online; ``MemoryStore`` serves the same reads from data frames
built offline (evaluation and ranker training), so the serving code runs unchanged on both.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence


class RecommendationReads(ABC):
    @abstractmethod
    def list_versions(self) -> dict[str, int]:
        """Pointer name (e.g. ``candidates:als``) -> the version readers use."""

    @abstractmethod
    def popular(self, segment: str = "all", limit: int = 100) -> list[dict]:
        """``{rank, anime_id, score}`` of the current popularity list, best first."""

    @abstractmethod
    def user_candidates_at(self, version: int, user_id: int, source: str, limit: int = 1000) -> list[dict]:
        """``{rank, anime_id, score}`` of one user's list from one source, best first."""

    @abstractmethod
    def similar_at(self, version: int, anime_id: int, signal: str, limit: int = 1000) -> list[dict]:
        """``{rank, similar_id, score}`` neighbours of one title by one signal, best first."""

    @abstractmethod
    def user_ratings(self, user_id: int) -> list[dict]:
        """``{anime_id, rating}`` of one user (-1 = watched without a score)."""

    @abstractmethod
    def recent_events(self, user_id: int, limit: int = 50) -> list[dict]:
        """``{ts, event_id, kind, anime_id}`` newest first."""

    @abstractmethod
    def event_counts(self, anime_ids: Sequence[int]) -> dict[int, dict]:
        """anime_id -> ``{clicks, views}`` for titles that have any."""

    @abstractmethod
    def all_event_counts(self) -> dict[int, tuple[int, int]]:
        """Every title's ``(clicks, views)`` (one row per title that had an event)."""

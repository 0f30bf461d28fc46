"""The reads of one request, sent to Cassandra together (see :class:`store.interfaces.ServingReads`)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from store.cassandra.events import features_of, recent_of
from store.cassandra.session import CassandraSession
from store.interfaces import EventStore, FeatureStore, ServingReads, UserReads

_RATINGS = "SELECT anime_id, rating FROM {ratings_by_user} WHERE user_id = ?"
# one row holds the user's real-time features and their recent events
_USER_ROW = (f"SELECT user_id, {', '.join((*FeatureStore.USER_COLUMNS, *EventStore.RECENT_COLUMNS))} "
             "FROM {user_features} WHERE user_id = ?")
_CANDIDATES = ("SELECT rank, anime_id, score FROM {user_candidates} WHERE version = ? AND user_id = ? AND source = ? "
               "LIMIT ?")
_SIMILAR = "SELECT rank, similar_id, score FROM {similar_items} WHERE version = ? AND anime_id = ? AND signal = ? LIMIT ?"


class CassandraServingReads(ServingReads):
    _db: CassandraSession

    def read_user(self, user_id: int, lists: Mapping[str, int], limit: int = 1000) -> UserReads:
        sources = list(lists)
        ratings, user_row, *candidates = self._db.rows_together(
            [(_RATINGS, (user_id,)), (_USER_ROW, (user_id,)),
             *((_CANDIDATES, (lists[s], user_id, s, limit)) for s in sources)])
        row = user_row[0] if user_row else None
        return UserReads(ratings, features_of(row), recent_of(row),
                         {source: rows for source, rows in zip(sources, candidates) if rows})

    def similar_many(self, keys: Iterable[tuple[int, int, str]], limit: int = 1000) -> dict[tuple[int, int, str], list[dict]]:
        keys = list(dict.fromkeys(keys))
        answers = self._db.rows_together([(_SIMILAR, (*key, limit)) for key in keys])
        return dict(zip(keys, answers))

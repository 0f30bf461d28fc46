"""The reads of one request, sent to Cassandra together (see :class:`store.interfaces.ServingReads`)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from store.cassandra.events import USER_STORED_COLUMNS, features_of, recent_of
from store.cassandra.lists import SIMILAR, USER_CANDIDATES
from store.cassandra.ratings import USER_RATINGS
from store.cassandra.session import CassandraSession
from store.interfaces import EventStore, ServingReads, UserReads

# one row holds the user's real-time features and their recent events
_USER_ROW = (f"SELECT user_id, {', '.join((*USER_STORED_COLUMNS, *EventStore.RECENT_COLUMNS))} "
             "FROM {user_features} WHERE user_id = ?")


class CassandraServingReads(ServingReads):
    _db: CassandraSession

    def read_user(self, user_id: int, lists: Mapping[str, int], limit: int = 1000) -> UserReads:
        sources = list(lists)
        ratings, user_row, *candidates = self._db.rows_together(
            [(USER_RATINGS, (user_id,)), (_USER_ROW, (user_id,)),
             *((USER_CANDIDATES, (lists[s], user_id, s, limit)) for s in sources)])
        row = user_row[0] if user_row else None
        return UserReads(ratings, features_of(row), recent_of(row),
                         {source: rows for source, rows in zip(sources, candidates) if rows})

    def similar_many(self, keys: Iterable[tuple[int, int, str]],
                     limit: int = 1000) -> dict[tuple[int, int, str], list[dict]]:
        keys = list(dict.fromkeys(keys))
        return dict(zip(keys, self._db.rows_together([(SIMILAR, (*key, limit)) for key in keys])))

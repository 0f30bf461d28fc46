"""Events and the real-time features the streaming job writes, on Cassandra."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from store.cassandra.session import CassandraSession
from store.interfaces import EventStore, FeatureStore, from_ms, now_utc, to_ms, utc


class CassandraEvents(EventStore):
    _db: CassandraSession

    def write_event(self, event: Mapping) -> None:
        ts = from_ms(event["timestamp"])
        self._db.write("INSERT INTO {events} (event_id, kind, user_id, anime_id, rating, ts, written_at) "
                       "VALUES (?,?,?,?,?,?,?)", event["event_id"], event["kind"], event["user_id"],
                       event["anime_id"], event.get("rating"), ts, now_utc())
        self._db.write("INSERT INTO {user_events} (user_id, ts, event_id, kind, anime_id) VALUES (?,?,?,?,?)",
                       event["user_id"], ts, event["event_id"], event["kind"], event["anime_id"])

    def get_event(self, event_id: str) -> dict | None:
        row = self._db.one("SELECT event_id, kind, user_id, anime_id, rating, ts, written_at FROM {events} "
                           "WHERE event_id = ?", event_id)
        if row is not None:
            row["ts"], row["written_at"] = utc(row["ts"]), utc(row["written_at"])
        return row

    def recent_events(self, user_id: int, limit: int = 50) -> list[dict]:
        rows = self._db.rows("SELECT ts, event_id, kind, anime_id FROM {user_events} WHERE user_id = ? LIMIT ?",
                             user_id, limit)
        for row in rows:
            row["ts"] = utc(row["ts"])
        return rows


class CassandraFeatures(FeatureStore):
    _db: CassandraSession

    def set_event_counts(self, anime_id: int, clicks: int, views: int) -> None:
        self._db.write("INSERT INTO {anime_event_counts} (anime_id, clicks, views, updated_at) VALUES (?,?,?,?)",
                       anime_id, clicks, views, now_utc())

    def set_window_counts(self, anime_id: int, window_start_ms: int, clicks: int, views: int) -> None:
        self._db.write("INSERT INTO {anime_event_windows} (anime_id, window_start, clicks, views) VALUES (?,?,?,?)",
                       anime_id, from_ms(window_start_ms), clicks, views)

    def event_counts(self, anime_ids: Sequence[int]) -> dict[int, dict]:
        if not anime_ids:
            return {}
        rows = self._db.rows("SELECT anime_id, clicks, views FROM {anime_event_counts} WHERE anime_id IN ?",
                             list(anime_ids))
        return {r["anime_id"]: r for r in rows}

    def all_event_counts(self) -> dict[int, tuple[int, int]]:
        rows = self._db.statement("SELECT anime_id, clicks, views FROM {anime_event_counts}", timeout=30,
                                  fetch_size=5000)
        return {r["anime_id"]: (r["clicks"] or 0, r["views"] or 0) for r in rows}

    def window_counts(self, anime_id: int, limit: int | None = None) -> list[dict]:
        cql = "SELECT window_start, clicks, views FROM {anime_event_windows} WHERE anime_id = ?"
        rows = self._db.rows(cql + " LIMIT ?", anime_id, limit) if limit is not None else self._db.rows(cql, anime_id)
        return [{"window_start_ms": to_ms(r["window_start"]), "clicks": r["clicks"], "views": r["views"]}
                for r in rows]

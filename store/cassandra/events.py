"""Events and the real-time features the streaming job writes, on Cassandra."""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from config.registry import GENRE_ACTIVITY_COLUMNS, RECENT_EVENTS
from store.cassandra.session import CassandraSession
from store.interfaces import EventStore, FeatureStore, from_ms, newest_first, now_utc, to_ms, utc

# The user_features column of a feature stored under another name: the genre affinity is JSON text (an object,
# genre -> weight) in ``genre_weights``. The job writes it whole; as a bound map Cassandra decoded, and the sink
# converted, every entry (docs/RESULTS.md). Keyspaces made before keep their unused ``genre_affinity`` map.
STORED_AS = {"genre_affinity": "genre_weights"}
USER_STORED_COLUMNS = tuple(STORED_AS.get(c, c) for c in FeatureStore.USER_COLUMNS)


class CassandraEvents(EventStore):
    _db: CassandraSession

    def write_event(self, event: Mapping) -> None:
        """The event row, and the event merged into the user's recent lists (read, merge, write: a tool's
        and test's path; the streaming job keeps the lists in its state and writes them whole)."""
        ts = from_ms(event["timestamp"])
        self._db.write("INSERT INTO {events} (event_id, kind, user_id, anime_id, rating, ts, written_at) "
                       "VALUES (?,?,?,?,?,?,?)", event["event_id"], event["kind"], event["user_id"],
                       event["anime_id"], event.get("rating"), ts, now_utc())
        recent = [e for e in self.recent_events(event["user_id"], RECENT_EVENTS) if e["event_id"] != event["event_id"]]
        recent.append({"ts": utc(ts), "event_id": event["event_id"], "kind": event["kind"],
                       "anime_id": event["anime_id"]})
        recent = newest_first(recent)[:RECENT_EVENTS]
        self._db.write("INSERT INTO {user_features} (user_id, recent) VALUES (?,?)", event["user_id"],
                       json.dumps([[e["event_id"], e["anime_id"], e["kind"], to_ms(e["ts"])] for e in recent]))

    def get_event(self, user_id: int, event_id: str) -> dict | None:
        row = self._db.one("SELECT event_id, kind, user_id, anime_id, rating, ts, written_at FROM {events} "
                           "WHERE user_id = ? AND event_id = ?", user_id, event_id)
        if row is not None:
            row["ts"], row["written_at"] = utc(row["ts"]), utc(row["written_at"])
        return row

    def recent_events(self, user_id: int, limit: int = RECENT_EVENTS) -> list[dict]:
        row = self._db.one(f"SELECT {', '.join(self.RECENT_COLUMNS)} FROM {{user_features}} WHERE user_id = ?",
                           user_id)
        return recent_of(row, limit)


def recent_of(row: dict | None, limit: int = RECENT_EVENTS) -> list[dict]:
    """The recent events held in a ``user_features`` row, newest first (its ``recent``: JSON text, a list of
    ``[event_id, anime_id, kind, ts_ms]``)."""
    if row is None or not row.get("recent"):
        return []
    return [{"ts": from_ms(at), "event_id": event_id, "kind": kind, "anime_id": anime_id}
            for event_id, anime_id, kind, at in json.loads(row["recent"])[:limit]]


class CassandraFeatures(FeatureStore):
    _db: CassandraSession

    def _write(self, table: str, key: str, key_value: int, fields: Mapping, allowed: tuple[str, ...]) -> None:
        fields = {k: (from_ms(v) if k in self.TIME_COLUMNS and v is not None else v)
                  for k, v in self._checked(fields, allowed).items()}
        if not fields:
            return
        columns = [key, *fields]
        self._db.write(f"INSERT INTO {{{table}}} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                       key_value, *fields.values())

    def write_title_features(self, anime_id: int, fields: Mapping) -> None:
        self._write("title_features", "anime_id", anime_id, fields, self.TITLE_COLUMNS)

    def write_user_features(self, user_id: int, fields: Mapping) -> None:
        stored = {STORED_AS.get(k, k): (json.dumps(v) if k in STORED_AS and v is not None else v)
                  for k, v in self._checked(fields, self.USER_COLUMNS).items()}
        self._write("user_features", "user_id", user_id, stored, USER_STORED_COLUMNS)

    def title_features(self, anime_ids: Sequence[int]) -> dict[int, dict]:
        if not anime_ids:
            return {}
        rows = self._db.rows(f"SELECT anime_id, {_TITLE_SELECT} FROM {{title_features}} WHERE anime_id IN ?",
                             list(anime_ids))
        return {r["anime_id"]: r for r in rows}

    def all_title_features(self) -> dict[int, dict]:
        rows = self._db.statement(f"SELECT anime_id, {_TITLE_SELECT} FROM {{title_features}}", timeout=30,
                                  fetch_size=5000)
        return {r["anime_id"]: r for r in rows}

    def user_features(self, user_id: int) -> dict | None:
        row = self._db.one(f"SELECT user_id, {', '.join(USER_STORED_COLUMNS)} FROM {{user_features}} "
                           "WHERE user_id = ?", user_id)
        return features_of(row)

    def write_genre_activity(self, day: int, genre: str, fields: Mapping) -> None:
        fields = self._checked(fields, GENRE_ACTIVITY_COLUMNS)
        names = ["day", "genre", *fields]
        self._db.write(f"INSERT INTO {{genre_activity}} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                       day, genre, *fields.values())

    def genre_activity(self, days: Sequence[int]) -> list[dict]:
        if not days:
            return []
        rows = self._db.rows(f"SELECT day, genre, {', '.join(GENRE_ACTIVITY_COLUMNS)} FROM {{genre_activity}} "
                             "WHERE day IN ?", sorted(set(days)))
        return sorted((self._activity_row(r) for r in rows), key=lambda r: (r["day"], r["genre"]))


def features_of(row: dict | None) -> dict | None:
    """The features of a ``user_features`` row (timestamps as epoch ms, ``genre_affinity`` a dict); None
    when the user has no row or the row holds no features yet."""
    if row is None or all(row.get(c) is None for c in USER_STORED_COLUMNS):
        return None
    features = _ms({"user_id": row.get("user_id"),
                    **{c: row.get(STORED_AS.get(c, c)) for c in FeatureStore.USER_COLUMNS}})
    features["genre_affinity"] = json.loads(features["genre_affinity"]) if features["genre_affinity"] else {}
    return features


# The title columns with timestamps read as epoch ms by Cassandra (toUnixTimestamp): every API worker reads the
# whole table every few seconds (ranking.realtime.RealtimeCounts), and building a datetime per value and
# converting it back was most of that read's CPU.
_TITLE_SELECT = ", ".join(f"toUnixTimestamp({c}) AS {c}" if c in FeatureStore.TIME_COLUMNS else c
                          for c in FeatureStore.TITLE_COLUMNS)


def _ms(row: dict) -> dict:
    return {k: (to_ms(utc(v)) if k in FeatureStore.TIME_COLUMNS and v is not None else v) for k, v in row.items()}

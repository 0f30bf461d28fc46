"""Versioned recall lists and their pointers on Cassandra."""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from config.registry import LIST_TABLES
from store.cassandra.schema import LIST_PARTITION_KEYS
from store.cassandra.session import CassandraSession
from store.interfaces import ListStore, now_utc


USER_CANDIDATES = ("SELECT rank, anime_id, score FROM {user_candidates} "
                   "WHERE version = ? AND user_id = ? AND source = ? LIMIT ?")
SIMILAR = ("SELECT rank, similar_id, score FROM {similar_items} "
           "WHERE version = ? AND anime_id = ? AND signal = ? LIMIT ?")


class CassandraLists(ListStore):
    _db: CassandraSession

    def list_versions(self) -> dict[str, int]:
        return {r["list_name"]: r["version"] for r in self._db.rows("SELECT list_name, version FROM {list_versions}")}

    def current_version(self, list_name: str) -> int | None:
        row = self._db.one("SELECT version FROM {list_versions} WHERE list_name = ?", list_name)
        return row["version"] if row else None

    def publish_version(self, list_name: str, version: int, rows: int) -> None:
        self._db.write("INSERT INTO {list_versions} (list_name, version, built_at, rows) VALUES (?,?,?,?)",
                       list_name, version, now_utc(), rows)

    def _partitions(self, list_name: str) -> tuple[str, tuple[str, str], list[dict]]:
        """The table of a list kind, its partition key columns, and every partition key in it."""
        table = LIST_TABLES[list_name]
        columns = LIST_PARTITION_KEYS[table]
        keys = self._db.statement(f"SELECT DISTINCT {', '.join(columns)} FROM {{{table}}}", timeout=120,
                                  fetch_size=5000)
        return table, columns, keys

    def drop_versions(self, list_name: str, keep: set[int]) -> int:
        table, columns, keys = self._partitions(list_name)
        stale = [tuple(k[c] for c in columns) for k in keys if k["version"] not in keep]
        where = " AND ".join(f"{c} = ?" for c in columns)
        return self._db.many(f"DELETE FROM {{{table}}} WHERE {where}", stale)

    def stored_versions(self, list_name: str) -> set[int]:
        return {k["version"] for k in self._partitions(list_name)[2]}

    def popular_at(self, version: int, segment: str = "all", limit: int = 100) -> list[dict]:
        return self._db.rows("SELECT rank, anime_id, score FROM {popular_items} WHERE version = ? AND segment = ? "
                             "LIMIT ?", version, segment, limit)

    def user_candidates_at(self, version: int, user_id: int, source: str, limit: int = 1000) -> list[dict]:
        return self._db.rows(USER_CANDIDATES, version, user_id, source, limit)

    def similar_at(self, version: int, anime_id: int, signal: str, limit: int = 1000) -> list[dict]:
        return self._db.rows(SIMILAR, version, anime_id, signal, limit)

    def write_popular(self, version: int, rows: Iterable[Mapping]) -> int:
        return self._db.many("INSERT INTO {popular_items} (version, segment, rank, anime_id, score) VALUES (?,?,?,?,?)",
                             ((version, r["segment"], r["rank"], r["anime_id"], r["score"]) for r in rows))

    def write_candidates(self, version: int, rows: Iterable[Mapping]) -> int:
        return self._db.many("INSERT INTO {user_candidates} (version, user_id, source, rank, anime_id, score) "
                             "VALUES (?,?,?,?,?,?)",
                             ((version, r["user_id"], r["source"], r["rank"], r["anime_id"], r["score"]) for r in rows))

    def write_similar(self, version: int, rows: Iterable[Mapping]) -> int:
        return self._db.many("INSERT INTO {similar_items} (version, anime_id, signal, rank, similar_id, score) "
                             "VALUES (?,?,?,?,?,?)",
                             ((version, r["anime_id"], r["signal"], r["rank"], r["similar_id"], r["score"])
                              for r in rows))

"""The catalog and per-title rating statistics on Cassandra."""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from store.cassandra.session import CassandraSession
from store.interfaces import ANIME_COLUMNS, CatalogStore

_COLUMNS = ", ".join(ANIME_COLUMNS)


class CassandraCatalog(CatalogStore):
    _db: CassandraSession

    def upsert_anime(self, rows: Iterable[Mapping]) -> int:
        return self._db.many(f"INSERT INTO {{anime}} ({_COLUMNS}) VALUES ({','.join('?' * len(ANIME_COLUMNS))})",
                             (tuple(r.get(c) for c in ANIME_COLUMNS) for r in rows))

    def set_synopses(self, pairs: Iterable[tuple[int, str]]) -> int:
        return self._db.many("UPDATE {anime} SET synopsis = ? WHERE anime_id = ?", ((s, a) for a, s in pairs))

    def get_anime(self, anime_id: int) -> dict | None:
        return self._db.one(f"SELECT {_COLUMNS}, synopsis FROM {{anime}} WHERE anime_id = ?", anime_id)

    def all_anime(self, with_synopsis: bool = False) -> list[dict]:
        columns = _COLUMNS + (", synopsis" if with_synopsis else "")
        return self._db.statement(f"SELECT {columns} FROM {{anime}}", timeout=60, fetch_size=5000)

    def anime_ids(self) -> set[int]:
        return {r["anime_id"] for r in self._db.statement("SELECT anime_id FROM {anime}", timeout=120,
                                                          fetch_size=5000)}

    def set_rating_stats(self, rows: Iterable[Mapping]) -> int:
        return self._db.many("INSERT INTO {anime_rating_stats} (anime_id, ratings, scored, mean_score) "
                             "VALUES (?,?,?,?)",
                             ((r["anime_id"], r.get("ratings"), r.get("scored"), r.get("mean_score")) for r in rows))

    def anime_rating_stats(self, anime_id: int) -> dict | None:
        return self._db.one("SELECT ratings, scored, mean_score FROM {anime_rating_stats} WHERE anime_id = ?", anime_id)

"""Cassandra-backed store: schema migration, and the reads and writes every stage needs."""
from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from cassandra.cluster import Cluster, Session
from cassandra.concurrent import execute_concurrent, execute_concurrent_with_args
from cassandra.policies import DCAwareRoundRobinPolicy
from cassandra.query import BatchStatement, BatchType, SimpleStatement, dict_factory

from infra.config import Settings, get_settings
from store import schema
from store.base import RecommendationReads


def _now() -> datetime:
    return datetime.now(timezone.utc)


class CassandraStore(RecommendationReads):
    def __init__(self, settings: Settings | None = None, connect_timeout_s: float = 10.0):
        self.settings = settings or get_settings()
        self.keyspace = self.settings.cassandra_keyspace
        self._cluster = Cluster(self.settings.cassandra_contact_points, port=self.settings.cassandra_port,
                                load_balancing_policy=DCAwareRoundRobinPolicy(), protocol_version=5,
                                connect_timeout=connect_timeout_s)
        self.session: Session = self._cluster.connect()
        self.session.row_factory = dict_factory
        self._prepared: dict[str, Any] = {}

    def close(self) -> None:
        self._cluster.shutdown()

    # --- schema -------------------------------------------------------------------------
    def migrate(self) -> list[str]:
        """Create the keyspace and every table that is missing; safe to run any number of times."""
        self.session.execute(schema.KEYSPACE_CQL.format(
            keyspace=self.keyspace, replication_factor=self.settings.cassandra_replication_factor), timeout=60)
        self.session.set_keyspace(self.keyspace)
        for cql in schema.TABLES_CQL.values():
            self.session.execute(cql, timeout=60)
        self._cluster.control_connection.wait_for_schema_agreement(wait_time=30)
        return list(schema.TABLES_CQL)

    def use_keyspace(self) -> None:
        self.session.set_keyspace(self.keyspace)

    def ping(self) -> bool:
        self.session.execute("SELECT release_version FROM system.local", timeout=2)
        return True

    def _stmt(self, cql: str):
        stmt = self._prepared.get(cql)
        if stmt is None:
            stmt = self._prepared[cql] = self.session.prepare(cql.format(ks=self.keyspace))
        return stmt

    def _many(self, cql: str, rows: Iterable[Sequence], concurrency: int = 64) -> int:
        results = execute_concurrent_with_args(self.session, self._stmt(cql), list(rows), concurrency=concurrency,
                                               raise_on_first_error=True)
        return len(results)

    def _all(self, cql: str, *params) -> list[dict]:
        return list(self.session.execute(self._stmt(cql), params))

    # --- catalog and ratings ------------------------------------------------------------
    def upsert_anime(self, rows: Iterable[dict]) -> int:
        return self._many(
            "INSERT INTO {ks}.anime (anime_id, name, genres, type, episodes, rating, members) VALUES (?,?,?,?,?,?,?)",
            ((r["anime_id"], r["name"], r["genres"], r["type"], r["episodes"], r["rating"], r["members"]) for r in rows))

    def set_synopses(self, pairs: Iterable[tuple[int, str]]) -> int:
        return self._many("UPDATE {ks}.anime SET synopsis = ? WHERE anime_id = ?", ((s, a) for a, s in pairs))

    def get_anime(self, anime_id: int) -> dict | None:
        rows = self._all("SELECT * FROM {ks}.anime WHERE anime_id = ?", anime_id)
        return rows[0] if rows else None

    def all_anime(self, with_synopsis: bool = False) -> list[dict]:
        columns = "anime_id, name, genres, type, episodes, rating, members" + (", synopsis" if with_synopsis else "")
        return list(self.session.execute(f"SELECT {columns} FROM {self.keyspace}.anime", timeout=60))

    def upsert_ratings(self, rows: Iterable[tuple[int, int, int]]) -> int:
        now = _now()
        return self._many("INSERT INTO {ks}.ratings_by_user (user_id, anime_id, rating, updated_at) VALUES (?,?,?,?)",
                          ((u, a, r, now) for u, a, r in rows), concurrency=128)

    def delete_rating(self, user_id: int, anime_id: int) -> None:
        self.session.execute(self._stmt("DELETE FROM {ks}.ratings_by_user WHERE user_id = ? AND anime_id = ?"),
                             (user_id, anime_id))

    def user_ratings(self, user_id: int) -> list[dict]:
        return self._all("SELECT anime_id, rating FROM {ks}.ratings_by_user WHERE user_id = ?", user_id)

    def all_ratings(self, fetch_size: int = 5000) -> list[tuple[int, int, int]]:
        """Every (user_id, anime_id, rating), paged; for offline training."""
        statement = SimpleStatement(f"SELECT user_id, anime_id, rating FROM {self.keyspace}.ratings_by_user",
                                    fetch_size=fetch_size)
        return [(r["user_id"], r["anime_id"], r["rating"]) for r in self.session.execute(statement, timeout=120)]

    def anime_rating_stats(self, anime_id: int) -> dict | None:
        rows = self._all("SELECT ratings, scored, mean_score FROM {ks}.anime_rating_stats WHERE anime_id = ?", anime_id)
        return rows[0] if rows else None

    def count_rows(self, table: str) -> int:
        return self.session.execute(f"SELECT count(*) AS n FROM {self.keyspace}.{table}", timeout=120).one()["n"]

    # --- events and real-time features (written by the streaming job) -------------------
    def write_event(self, event: dict) -> None:
        """Store one event idempotently: same event_id, same rows."""
        ts = datetime.fromtimestamp(event["timestamp"] / 1000, tz=timezone.utc)
        self.session.execute(self._stmt(
            "INSERT INTO {ks}.events (event_id, kind, user_id, anime_id, rating, ts, written_at) VALUES (?,?,?,?,?,?,?)"),
            (event["event_id"], event["kind"], event["user_id"], event["anime_id"], event.get("rating"), ts, _now()))
        self.session.execute(self._stmt(
            "INSERT INTO {ks}.user_events (user_id, ts, event_id, kind, anime_id) VALUES (?,?,?,?,?)"),
            (event["user_id"], ts, event["event_id"], event["kind"], event["anime_id"]))

    def get_event(self, event_id: str) -> dict | None:
        rows = self._all("SELECT * FROM {ks}.events WHERE event_id = ?", event_id)
        return rows[0] if rows else None

    def recent_events(self, user_id: int, limit: int = 50) -> list[dict]:
        return self._all("SELECT ts, event_id, kind, anime_id FROM {ks}.user_events WHERE user_id = ? LIMIT ?",
                         user_id, limit)

    def set_event_counts(self, anime_id: int, clicks: int, views: int) -> None:
        self.session.execute(self._stmt(
            "INSERT INTO {ks}.anime_event_counts (anime_id, clicks, views, updated_at) VALUES (?,?,?,?)"),
            (anime_id, clicks, views, _now()))

    def set_window_counts(self, anime_id: int, window_start_ms: int, clicks: int, views: int) -> None:
        self.session.execute(self._stmt(
            "INSERT INTO {ks}.anime_event_windows (anime_id, window_start, clicks, views) VALUES (?,?,?,?)"),
            (anime_id, datetime.fromtimestamp(window_start_ms / 1000, tz=timezone.utc), clicks, views))

    def event_counts(self, anime_ids: Sequence[int]) -> dict[int, dict]:
        if not anime_ids:
            return {}
        rows = self._all("SELECT anime_id, clicks, views FROM {ks}.anime_event_counts WHERE anime_id IN ?",
                         list(anime_ids))
        return {r["anime_id"]: r for r in rows}

    def all_event_counts(self) -> dict[int, tuple[int, int]]:
        rows = self.session.execute(SimpleStatement(
            f"SELECT anime_id, clicks, views FROM {self.keyspace}.anime_event_counts", fetch_size=5000), timeout=30)
        return {r["anime_id"]: (r["clicks"] or 0, r["views"] or 0) for r in rows}

    # --- versioned batch outputs ---------------------------------------------------------
    def current_version(self, list_name: str) -> int | None:
        rows = self._all("SELECT version FROM {ks}.list_versions WHERE list_name = ?", list_name)
        return rows[0]["version"] if rows else None

    def publish_version(self, list_name: str, version: int, rows: int) -> None:
        """Make ``version`` the one readers see; the single-row write is the atomic switch."""
        self.session.execute(self._stmt(
            "INSERT INTO {ks}.list_versions (list_name, version, built_at, rows) VALUES (?,?,?,?)"),
            (list_name, version, _now(), rows))

    def drop_versions(self, list_name: str, keep: set[int]) -> int:
        """Delete partitions of old builds (found through the table's partition keys)."""
        table = schema.VERSIONED_TABLES[list_name]
        key_cols = {"popular": "version, segment", "candidates": "version, user_id", "similar": "version, anime_id"}
        cols = key_cols[list_name]
        stale = [tuple(r.values()) for r in self.session.execute(
            f"SELECT DISTINCT {cols} FROM {self.keyspace}.{table}", timeout=120) if r["version"] not in keep]
        where = " AND ".join(f"{c.strip()} = ?" for c in cols.split(","))
        return self._many(f"DELETE FROM {{ks}}.{table} WHERE {where}", stale)

    def popular(self, segment: str = "all", limit: int = 100) -> list[dict]:
        version = self.current_version("popular")
        if version is None:
            return []
        return self._all("SELECT rank, anime_id, score FROM {ks}.popular_items WHERE version = ? AND segment = ? "
                         "LIMIT ?", version, segment, limit)

    # --- bulk ingest (ingest/catalog.py) ---------------------------------------------------
    def upsert_ratings_batched(self, rows: Iterable[tuple[int, int, int]], updated_at: datetime | None = None,
                               max_batch: int = 100, concurrency: int = 32) -> int:
        """Write ratings as single-partition UNLOGGED batches (one user, up to ``max_batch`` rows each).

        About ten times the rate of row-by-row inserts on one node, and each batch is applied
        atomically and in isolation for its user. Within one call a repeated (user, anime) pair
        keeps its last rating; batches of one call run concurrently, so callers that need
        ordering between calls must let one call return before making the next. Returns the
        number of distinct rows written.
        """
        by_user: dict[int, dict[int, int]] = {}
        for u, a, r in rows:
            by_user.setdefault(u, {})[a] = r
        stamp = updated_at or _now()
        stmt = self._stmt("INSERT INTO {ks}.ratings_by_user (user_id, anime_id, rating, updated_at) VALUES (?,?,?,?)")
        batches, written = [], 0
        for u, ratings in by_user.items():
            items = list(ratings.items())
            written += len(items)
            for i in range(0, len(items), max_batch):
                batch = BatchStatement(batch_type=BatchType.UNLOGGED)
                for a, r in items[i:i + max_batch]:
                    batch.add(stmt, (u, a, r, stamp))
                batches.append((batch, ()))
        if batches:
            execute_concurrent(self.session, batches, concurrency=concurrency, raise_on_first_error=True)
        return written

    def anime_ids(self) -> set[int]:
        """Ids of every title in the catalog."""
        return {r["anime_id"] for r in self.session.execute(f"SELECT anime_id FROM {self.keyspace}.anime",
                                                            timeout=120)}

    # Load manifest (table load_runs): 'running' before a file's first row, 'complete' only after its last.
    _LOAD_RUN_COLUMNS = ("dataset", "run_id", "file_name", "sha256", "status", "rows_read", "rows_loaded",
                         "rows_rejected", "rows_skipped", "started_at", "completed_at", "seconds", "error")

    def ensure_load_runs_table(self) -> None:
        """The table comes with ``migrate``; kept so loaders work against an older keyspace."""
        if not getattr(self, "_load_runs_ready", False):
            self.session.execute(schema.TABLES_CQL[schema.LOAD_RUNS].replace(
                "load_runs", f"{self.keyspace}.load_runs", 1), timeout=60)
            self._load_runs_ready = True

    def record_load_run(self, run: dict) -> None:
        """Insert or overwrite one load attempt (all columns; missing ones are written as null)."""
        self.ensure_load_runs_table()
        cols = self._LOAD_RUN_COLUMNS
        self.session.execute(self._stmt(
            f"INSERT INTO {{ks}}.load_runs ({', '.join(cols)}) VALUES ({','.join('?' * len(cols))})"),
            tuple(run.get(c) for c in cols))

    def load_runs(self, dataset: str, limit: int = 10) -> list[dict]:
        """Load attempts of one dataset, newest first."""
        self.ensure_load_runs_table()
        return self._all("SELECT * FROM {ks}.load_runs WHERE dataset = ? LIMIT ?", dataset, limit)

    def drop_keyspace(self, force: bool = False) -> None:
        """Drop this store's keyspace (scratch keyspaces of tests and benchmarks)."""
        if self.keyspace == Settings.model_fields["cassandra_keyspace"].default and not force:
            raise ValueError(f"refusing to drop the default keyspace {self.keyspace!r} without force=True")
        self.session.execute(f"DROP KEYSPACE IF EXISTS {self.keyspace}", timeout=120)
        self._prepared.clear()
    # --- per-source versioned outputs ------------------------------------------------------
    # The batch jobs publish one pointer per source ("candidates:als", "similar:cowatch", ...)
    # so each source swaps atomically on its own; readers resolve them with list_versions().
    def list_versions(self) -> dict[str, int]:
        """Every pointer of ``list_versions``: list name -> version (a handful of rows)."""
        return {r["list_name"]: r["version"]
                for r in self.session.execute(f"SELECT list_name, version FROM {self.keyspace}.list_versions")}

    def user_candidates_at(self, version: int, user_id: int, source: str, limit: int = 1000) -> list[dict]:
        return self._all("SELECT rank, anime_id, score FROM {ks}.user_candidates "
                         "WHERE version = ? AND user_id = ? AND source = ? LIMIT ?", version, user_id, source, limit)

    def similar_at(self, version: int, anime_id: int, signal: str, limit: int = 1000) -> list[dict]:
        return self._all("SELECT rank, similar_id, score FROM {ks}.similar_items "
                         "WHERE version = ? AND anime_id = ? AND signal = ? LIMIT ?", version, anime_id, signal, limit)


def open_store(settings: Settings | None = None, retries: int = 1, migrate: bool = False) -> CassandraStore:
    """Connect (retrying while Cassandra starts) and select the keyspace."""
    last: Exception | None = None
    for attempt in range(max(1, retries)):
        try:
            store = CassandraStore(settings)
            break
        except Exception as exc:  # NoHostAvailable and friends while the node boots
            last = exc
            time.sleep(min(2.0, 0.2 * (attempt + 1)))
    else:
        raise ConnectionError(f"cannot reach Cassandra: {last}") from last
    if migrate:
        store.migrate()
    else:
        store.use_keyspace()
    return store

"""The one place that talks to the Cassandra driver: connection, prepared statements, concurrent
writes, and the translation of driver errors into :class:`store.errors.StoreUnavailable`."""
from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from cassandra import OperationTimedOut, RequestExecutionException, UnresolvableContactPoints
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, NoHostAvailable
from cassandra.concurrent import execute_concurrent
from cassandra.connection import ConnectionException
from cassandra.policies import DCAwareRoundRobinPolicy, ExponentialReconnectionPolicy
from cassandra.query import BatchStatement, BatchType, SimpleStatement, dict_factory

from config.settings import CassandraSettings
from store.cassandra.schema import table_names
from store.errors import StoreUnavailable

# "Down or slow", as the driver says it: no node reachable (connection refused, every host
# failed), the client-side timeout, a coordinator's Unavailable / ReadTimeout / WriteTimeout /
# Overloaded / IsBootstrapping / Read- and WriteFailure (all RequestExecutionException), a
# connection lost mid-request, a contact point that does not resolve. Invalid requests
# (RequestValidationException: syntax, unknown table) are bugs and pass through unchanged.
RECONNECT_MAX_S = 5.0
DRIVER_UNAVAILABLE = (NoHostAvailable, OperationTimedOut, RequestExecutionException, ConnectionException,
                      UnresolvableContactPoints)


@contextmanager
def unavailable_as_store_error(what: str) -> Iterator[None]:
    """Re-raise the driver's "down or slow" errors of the block as StoreUnavailable (the original chained)."""
    try:
        yield
    except DRIVER_UNAVAILABLE as exc:
        raise StoreUnavailable(f"Cassandra unavailable ({what}): {type(exc).__name__}: {exc}") from exc


class CassandraSession:
    """A driver session bound to one keyspace.

    CQL templates name the keyspace ``{ks}`` and tables by placeholder (``{ratings_by_user}``,
    see :func:`store.cassandra.schema.table_names`); statements are prepared once and cached.
    Every call materialises its rows inside the error translation, so paging past the first
    page cannot leak a driver exception either.
    """

    def __init__(self, session: Any, keyspace: str, cluster: Any = None):
        self._session = session
        self._cluster = cluster
        self.keyspace = keyspace
        self._names = {"ks": keyspace, **table_names(keyspace)}
        self._prepared: dict[str, Any] = {}
        self._lock = threading.Lock()

    @classmethod
    def connect(cls, settings: CassandraSettings, connect_timeout_s: float = 10.0,
                request_timeout_s: float = 10.0) -> "CassandraSession":
        """Connect to the cluster (no keyspace selected yet); StoreUnavailable when no node answers."""
        profile = ExecutionProfile(load_balancing_policy=DCAwareRoundRobinPolicy(), row_factory=dict_factory,
                                   request_timeout=request_timeout_s)
        where = f"connect to {','.join(settings.contact_points)}:{settings.port}"
        with unavailable_as_store_error(where):  # a contact point that does not resolve fails here
            # A node that comes back is tried again within RECONNECT_MAX_S (the driver's default waits up to
            # 10 minutes after a long outage, answering 503 all that time).
            cluster = Cluster(settings.contact_points, port=settings.port, protocol_version=5,
                              connect_timeout=connect_timeout_s, execution_profiles={EXEC_PROFILE_DEFAULT: profile},
                              reconnection_policy=ExponentialReconnectionPolicy(0.5, RECONNECT_MAX_S))
        try:
            with unavailable_as_store_error(where):
                session = cluster.connect()
        except BaseException:
            cluster.shutdown()
            raise
        return cls(session, settings.keyspace, cluster)

    # --- statements -------------------------------------------------------------------------
    def cql(self, template: str, **values) -> str:
        return template.format(**self._names, **values)

    def prepare(self, template: str):
        stmt = self._prepared.get(template)
        if stmt is None:
            with unavailable_as_store_error("prepare"):
                stmt = self._session.prepare(self.cql(template))
            with self._lock:
                self._prepared[template] = stmt
        return stmt

    def rows(self, template: str, *params, timeout: float | None = None, fetch_size: int | None = None) -> list[dict]:
        """Every row of a prepared query (all pages)."""
        with unavailable_as_store_error("read"):
            bound = self.prepare(template).bind(params)
            if fetch_size:
                bound.fetch_size = fetch_size
            return list(self._session.execute(bound, timeout=timeout) if timeout else self._session.execute(bound))

    def rows_together(self, queries: Sequence[tuple[str, Sequence]], timeout: float | None = None) -> list[list[dict]]:
        """The rows of several prepared queries ``(template, params)``, sent at once (the driver's asynchronous
        execution: the requests are in flight together) and returned in order."""
        with unavailable_as_store_error("read"):
            options = {"timeout": timeout} if timeout else {}
            futures = [self._session.execute_async(self.prepare(template).bind(tuple(params)), **options)
                       for template, params in queries]
            return [list(future.result()) for future in futures]

    def one(self, template: str, *params) -> dict | None:
        rows = self.rows(template, *params)
        return rows[0] if rows else None

    def write(self, template: str, *params) -> None:
        with unavailable_as_store_error("write"):
            self._session.execute(self.prepare(template), params)

    def conditional(self, template: str, *params) -> tuple[bool, dict]:
        """A lightweight transaction (``... IF ...``): whether it applied, and the row Cassandra returned
        (the current values of the condition's columns when it did not)."""
        with unavailable_as_store_error("lightweight transaction"):
            row = self._session.execute(self.prepare(template), params).one() or {}
        return bool(row.get("[applied]")), row

    def many(self, template: str, rows: Iterable[Sequence], concurrency: int = 64) -> int:
        """Run one prepared statement for each parameter tuple, ``concurrency`` at a time; the count."""
        stmt = self.prepare(template)
        return self.concurrent(((stmt, tuple(params)) for params in rows), concurrency)

    def concurrent(self, statements: Iterable[tuple[Any, Sequence]], concurrency: int = 64) -> int:
        """Run ``(statement, params)`` pairs concurrently; raise the first failure."""
        statements = list(statements)
        if not statements:
            return 0
        with unavailable_as_store_error("write"):
            execute_concurrent(self._session, statements, concurrency=concurrency, raise_on_first_error=True)
        return len(statements)

    def batches(self, template: str, partitions: Iterable[list[Sequence]], max_batch: int = 100,
                concurrency: int = 32) -> int:
        """Write each partition's parameter tuples as UNLOGGED batches of at most ``max_batch`` rows (a
        single-partition batch is applied atomically and in isolation); a lone row is a plain write."""
        stmt = self.prepare(template)
        statements, written = [], 0
        for rows in partitions:
            written += len(rows)
            for i in range(0, len(rows), max_batch):
                chunk = rows[i:i + max_batch]
                if len(chunk) == 1:
                    statements.append((stmt, tuple(chunk[0])))
                    continue
                batch = BatchStatement(batch_type=BatchType.UNLOGGED)
                for params in chunk:
                    batch.add(stmt, tuple(params))
                statements.append((batch, ()))
        self.concurrent(statements, concurrency)
        return written

    def statement(self, template: str, timeout: float = 60.0, fetch_size: int | None = None, **values) -> list[dict]:
        """A plain (unprepared) statement: schema changes, full-table scans, system queries."""
        with unavailable_as_store_error("statement"):
            return list(self._session.execute(SimpleStatement(self.cql(template, **values), fetch_size=fetch_size),
                                              timeout=timeout))

    def table_columns(self, table: str) -> set[str]:
        """The column names ``table`` (a :class:`config.registry.Tables` name) has in this keyspace."""
        rows = self.rows("SELECT column_name FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?",
                         self.keyspace, table)
        return {r["column_name"] for r in rows}

    # --- keyspace and lifecycle ---------------------------------------------------------------
    def use_keyspace(self) -> None:
        with unavailable_as_store_error("set keyspace"):
            self._session.set_keyspace(self.keyspace)

    def wait_for_schema_agreement(self, wait_s: float = 30.0) -> None:
        if self._cluster is not None:
            with unavailable_as_store_error("schema agreement"):
                self._cluster.control_connection.wait_for_schema_agreement(wait_time=wait_s)

    def forget_prepared(self) -> None:
        with self._lock:
            self._prepared.clear()

    def close(self) -> None:
        if self._cluster is not None:
            self._cluster.shutdown()
        else:
            self._session.shutdown()

"""The Cassandra store: every interface on one shared session, and ``open_store``."""
from __future__ import annotations

import time

from config import Settings
from config.settings import CassandraSettings
from store.cassandra.accounts import CassandraAccounts
from store.cassandra.catalog import CassandraCatalog
from store.cassandra.conversations import CassandraConversations
from store.cassandra.embeddings import CassandraEmbeddings
from store.cassandra.experiments import CassandraExperiments
from store.cassandra.events import CassandraEvents, CassandraFeatures
from store.cassandra.lists import CassandraLists
from store.cassandra.ratings import CassandraRatings
from store.cassandra.runs import CassandraLoadManifest, CassandraTrainingQueue
from store.cassandra.schema import ADDED_COLUMNS, KEYSPACE_CQL, TABLES_CQL
from store.cassandra.serving import CassandraServingReads
from store.cassandra.session import CassandraSession
from store.errors import StoreUnavailable
from store.interfaces import Store

DEFAULT_KEYSPACE = CassandraSettings.model_fields["keyspace"].default


class CassandraStore(CassandraCatalog, CassandraRatings, CassandraEvents, CassandraFeatures, CassandraLists,
                     CassandraServingReads, CassandraLoadManifest, CassandraTrainingQueue, CassandraAccounts,
                     CassandraConversations, CassandraEmbeddings, CassandraExperiments, Store):
    """All store interfaces on one keyspace; build it with :func:`open_store`."""

    def __init__(self, db: CassandraSession, settings: CassandraSettings):
        self._db = db
        self._settings = settings
        self.keyspace = db.keyspace

    def ping(self) -> bool:
        self._db.statement("SELECT release_version FROM system.local", timeout=2)
        return True

    def close(self) -> None:
        self._db.close()

    def migrate(self) -> list[str]:
        """Create the keyspace, every missing table and every missing column; safe to run any number of times."""
        self._db.statement(KEYSPACE_CQL, timeout=60, replication_factor=self._settings.replication_factor)
        self._db.use_keyspace()
        for cql in TABLES_CQL.values():
            self._db.statement(cql, timeout=60)
        for table, columns in ADDED_COLUMNS.items():
            have = self._db.table_columns(table)
            for name, cql_type in columns.items():
                if name not in have:
                    self._db.statement(f"ALTER TABLE {{{table}}} ADD {name} {cql_type}", timeout=60)
        self._db.wait_for_schema_agreement()
        return list(TABLES_CQL)

    def use_keyspace(self) -> None:
        self._db.use_keyspace()

    # --- maintenance of scratch keyspaces (tests, benchmarks); not part of the interfaces ---------
    def drop_keyspace(self, force: bool = False) -> None:
        """Drop this store's keyspace; the default keyspace only with ``force=True``."""
        if self.keyspace == DEFAULT_KEYSPACE and not force:
            raise ValueError(f"refusing to drop the default keyspace {self.keyspace!r} without force=True")
        self._db.statement("DROP KEYSPACE IF EXISTS {ks}", timeout=120)
        self._db.forget_prepared()

    def truncate(self) -> None:
        """Empty every table of this keyspace (scratch keyspaces of tests); the default one is refused."""
        if self.keyspace == DEFAULT_KEYSPACE:
            raise ValueError(f"refusing to truncate the default keyspace {self.keyspace!r}")
        for table in TABLES_CQL:
            self._db.statement(f"TRUNCATE {{{table}}}", timeout=60)

    def count_rows(self, table: str) -> int:
        """Rows of one table (a full scan: benchmarks and checks, not request paths)."""
        return self._db.statement(f"SELECT count(*) AS n FROM {{{table}}}", timeout=120)[0]["n"]


def open_store(settings: Settings, retries: int = 1, migrate: bool = False,
               connect_timeout_s: float = 10.0) -> CassandraStore:
    """Connect to Cassandra (``retries`` attempts while it starts), then migrate the schema or select the
    keyspace. Raises StoreUnavailable when no attempt reaches a node."""
    for attempt in range(max(1, retries)):
        try:
            db = CassandraSession.connect(settings.cassandra, connect_timeout_s=connect_timeout_s)
            break
        except StoreUnavailable:
            if attempt + 1 >= max(1, retries):
                raise
            time.sleep(min(2.0, 0.2 * (attempt + 1)))
    store = CassandraStore(db, settings.cassandra)
    try:
        if migrate:
            store.migrate()
        else:
            store.use_keyspace()
    except BaseException:
        store.close()
        raise
    return store

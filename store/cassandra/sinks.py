"""The streaming job's writes, as CQL that the job's JVM sink binds (``animerec.flink.UpsertSink``, one table of
the SQL connector ``animerec-cassandra`` per sink).

The streaming job runs its SQL in Flink and hands each result to a sink built from one
:class:`SinkSpec`: the sink binds the result's fields, in order, to ``cql``. Keeping the
statements here keeps every line of CQL in ``store/``; the job names a sink by its key.
Each write is an upsert keyed by the event or the entity, so a replay after a restart
rewrites the same rows (at-least-once delivery, exactly-once effect).
"""
from __future__ import annotations

from dataclasses import dataclass

from config.registry import (EXPERIMENT_ATTRIBUTED_COUNTERS, EXPERIMENT_SERVED_COUNTERS, GENRE_ACTIVITY_COLUMNS,
                             Tables)
from store.cassandra.events import USER_STORED_COLUMNS
from store.cassandra.schema import table_names
from store.interfaces import EventStore, FeatureStore

@dataclass(frozen=True)
class SinkSpec:
    cql: str                  # binds the row's fields in order
    columns: tuple[str, ...]  # the row's fields, in order (the job's SELECT must produce exactly these)
    key: tuple[str, ...]      # primary key columns: the sink coalesces rows by them within a flush
    partition: int = 1        # how many of ``key`` form the partition key (a batch groups rows by it)
    # What a DELETE row of the changelog does, binding the key fields in order (None: the query never deletes;
    # a DELETE reaching such a sink fails the job rather than being dropped).
    on_delete: str | None = None
    # A counter no request waits on (per title, genre or experiment): flushed every ``flink.counter_flush_ms``
    # rather than ``flink.sink_flush_ms``, so a flush coalesces more of a key's updates into one row.
    counter: bool = False

TITLE_COLUMNS = ("anime_id", *FeatureStore.TITLE_COLUMNS)
EXPERIMENT_KEY = ("experiment_id", "variant", "bucket")
USER_COLUMNS = ("user_id", *USER_STORED_COLUMNS, *EventStore.RECENT_COLUMNS)


def _insert(table: str, columns: tuple[str, ...], key: tuple[str, ...], partition: int = 1,
            using_timestamp: bool = False, zero_on_delete: bool = False, counter: bool = False) -> SinkSpec:
    """An upsert of ``columns``; ``zero_on_delete``: a DELETE row sets its non-key columns to 0 (the row and
    the columns other sinks write stay)."""
    names = [c for c in columns if c != "write_us"]
    cql = (f"INSERT INTO {{{table}}} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
           + (" USING TIMESTAMP ?" if using_timestamp else ""))
    zeroed = ", ".join(f"{c} = 0" for c in names if c not in key)
    on_delete = (f"UPDATE {{{table}}} SET {zeroed} WHERE {' AND '.join(f'{k} = ?' for k in key)}"
                 if zero_on_delete else None)
    return SinkSpec(cql, columns, key, partition, on_delete, counter)

SINKS: dict[str, SinkSpec] = {
    # Every event once, by id, in its user's partition (a batch groups a user's events into one mutation).
    "events": _insert(Tables.EVENTS, ("event_id", "kind", "user_id", "anime_id", "rating", "ts", "written_at"),
                      ("user_id", "event_id")),
    # Ratings posted as events. The write carries the event time as its Cassandra timestamp, so a later
    # rating wins over an earlier one (and over a deletion) whatever order the two sinks send them in.
    "rating_upserts": _insert(Tables.RATINGS_BY_USER, ("user_id", "anime_id", "rating", "updated_at", "write_us"),
                              ("user_id", "anime_id"), using_timestamp=True),
    "rating_deletes": SinkSpec("DELETE FROM {ratings_by_user} USING TIMESTAMP ? WHERE user_id = ? AND anime_id = ?",
                               ("write_us", "user_id", "anime_id"), ("user_id", "anime_id")),
    # Per title, one row: all-time counts and CTR, sliding-window counts (as of the title's latest event).
    "title_features": _insert(Tables.TITLE_FEATURES, TITLE_COLUMNS, ("anime_id",), counter=True),
    # Per user, one row: all-time counts, decayed genre affinity, session activity, newest events.
    "user_features": _insert(Tables.USER_FEATURES, USER_COLUMNS, ("user_id",)),
    # Per experiment, variant and hour bucket: three aggregates fill different columns of one row.
    "experiment_served": _insert(Tables.EXPERIMENT_METRICS, EXPERIMENT_KEY + EXPERIMENT_SERVED_COUNTERS,
                                 EXPERIMENT_KEY, counter=True),
    "experiment_coverage": _insert(Tables.EXPERIMENT_METRICS, EXPERIMENT_KEY + ("titles_shown",), EXPERIMENT_KEY,
                                   counter=True),
    # An event moves to a later list when one pairs with it (last touch): a group can lose its last event, and
    # its counts then go back to zero (the row keeps the other aggregates' columns).
    "experiment_attributed": _insert(Tables.EXPERIMENT_METRICS, EXPERIMENT_KEY + EXPERIMENT_ATTRIBUTED_COUNTERS,
                                     EXPERIMENT_KEY, zero_on_delete=True, counter=True),
    # Per UTC day and genre, one row: the day's clicks, views and ratings of the genre's titles.
    "genre_activity": _insert(Tables.GENRE_ACTIVITY, ("day", "genre", *GENRE_ACTIVITY_COLUMNS), ("day", "genre"),
                              counter=True),
}


def sink_cql(name: str, keyspace: str) -> str:
    """The statement of sink ``name`` with its table qualified by ``keyspace``."""
    return SINKS[name].cql.format(**table_names(keyspace))


def sink_delete_cql(name: str, keyspace: str) -> str | None:
    """What sink ``name`` does with a DELETE row, its table qualified by ``keyspace`` (None: it never gets one)."""
    spec = SINKS[name]
    return None if spec.on_delete is None else spec.on_delete.format(**table_names(keyspace))

"""The streaming job's writes, as CQL that the job's JVM sink (``animerec.flink.UpsertSink``) binds.

The streaming job runs its SQL in Flink and hands each result to a sink built from one
:class:`SinkSpec`: the sink binds the result's fields, in order, to ``cql``. Keeping the
statements here keeps every line of CQL in ``store/``; the job names a sink by its key.
Each write is an upsert keyed by the event or the entity, so a replay after a restart
rewrites the same rows (at-least-once delivery, exactly-once effect).
"""
from __future__ import annotations

from dataclasses import dataclass

from config.registry import SESSION_WINDOW, TITLE_WINDOWS, Tables
from store.cassandra.schema import table_names

@dataclass(frozen=True)
class SinkSpec:
    cql: str                  # binds the row's fields in order
    columns: tuple[str, ...]  # the row's fields, in order (the job's SELECT must produce exactly these)
    key: tuple[str, ...]      # primary key columns: the sink coalesces rows by them within a flush
    partition: int = 1        # how many of ``key`` form the partition key (a batch groups rows by it)

    def key_fields(self) -> list[int]:
        return [self.columns.index(k) for k in self.key]

def _insert(table: str, columns: tuple[str, ...], key: tuple[str, ...], partition: int = 1,
            using_timestamp: bool = False) -> SinkSpec:
    names = [c for c in columns if c != "write_us"]
    cql = (f"INSERT INTO {{{table}}} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
           + (" USING TIMESTAMP ?" if using_timestamp else ""))
    return SinkSpec(cql, columns, key, partition)

SINKS: dict[str, SinkSpec] = {
    # Every event once, by id; and per user, newest first (the user's recent titles).
    "events": _insert(Tables.EVENTS, ("event_id", "kind", "user_id", "anime_id", "rating", "ts", "written_at"),
                      ("event_id",)),
    "user_events": _insert(Tables.USER_EVENTS, ("user_id", "ts", "event_id", "kind", "anime_id"),
                           ("user_id", "ts", "event_id")),
    # Ratings posted as events. The write carries the event time as its Cassandra timestamp, so a later
    # rating wins over an earlier one (and over a deletion) whatever order the two sinks send them in.
    "rating_upserts": _insert(Tables.RATINGS_BY_USER, ("user_id", "anime_id", "rating", "updated_at", "write_us"),
                              ("user_id", "anime_id"), using_timestamp=True),
    "rating_deletes": SinkSpec("DELETE FROM {ratings_by_user} USING TIMESTAMP ? WHERE user_id = ? AND anime_id = ?",
                               ("write_us", "user_id", "anime_id"), ("user_id", "anime_id")),
    # Per title: all-time counts and CTR; sliding-window counts (as of the title's latest event).
    "title_totals": _insert(Tables.TITLE_FEATURES, ("anime_id", "clicks", "views", "ctr", "last_event_at"),
                            ("anime_id",)),
    **{f"title_window_{w.name}": _insert(Tables.TITLE_FEATURES,
                                         ("anime_id", f"clicks_{w.name}", f"views_{w.name}", f"window_at_{w.name}"),
                                         ("anime_id",))
       for w in TITLE_WINDOWS},
    # Per user: all-time counts, decayed genre affinity, and activity in the session window.
    "user_totals": _insert(Tables.USER_FEATURES, ("user_id", "events", "clicks", "last_event_at"), ("user_id",)),
    # One entry of the genre-affinity map per (user, genre): a genre new to the catalog needs no restart.
    "user_affinity": SinkSpec("UPDATE {user_features} SET genre_affinity[?] = ? WHERE user_id = ?",
                              ("genre", "weight", "user_id"), ("user_id", "genre")),
    "user_session": _insert(Tables.USER_FEATURES,
                            ("user_id", f"events_{SESSION_WINDOW.name}", "session_at"), ("user_id",)),
}


def sink_cql(name: str, keyspace: str) -> str:
    """The statement of sink ``name`` with its table qualified by ``keyspace``."""
    return SINKS[name].cql.format(**table_names(keyspace))

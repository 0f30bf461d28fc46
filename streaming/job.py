"""The streaming job: Kafka clicks/views/ratings/impressions -> Flink SQL -> Cassandra.

Everything per event runs in Flink's JVM: the Kafka source parses JSON, a keep-first
deduplication on ``event_id`` (``animerec.flink.KeepFirst``) drops repeats (a producer retry, a replay within
``flink.dedup_hours``), and SQL aggregates compute the real-time features named in
:mod:`config.registry`. The whole job is one SQL statement set: every query is an ``INSERT INTO`` a
table of the connector ``animerec-cassandra`` (``animerec.flink.UpsertSinkFactory``, jars/flink/src),
whose sink takes Flink's internal rows as they are, coalesces them by key and writes UNLOGGED batches
asynchronously, flushing before every checkpoint. With checkpoints restored on restart, Kafka offsets
and the aggregates' state rewind together, and every write is an upsert of an absolute value keyed by
event or entity: what lands in Cassandra is what one pass over each event would have written.

Python builds the plan and watches the job; no event passes through a Python worker.
"""
from __future__ import annotations

import hashlib
import logging
import shutil
import sys
import time
from pathlib import Path

from pyflink.common import Configuration
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.java_gateway import get_gateway
from pyflink.table import Schema, StreamTableEnvironment, TableDescriptor

from config import Settings, registry
from config.registry import CTR_PRIOR_CLICKS, CTR_PRIOR_VIEWS, SESSION_WINDOW, TITLE_WINDOWS
from jars import fetch
from store.cassandra.sinks import SINKS, sink_cql, sink_delete_cql
from streaming.status import status_file, write_status

log = logging.getLogger("animerec.streaming")
JOB_NAME = "animerec-features"


def checkpoint_dir(settings: Settings) -> Path:
    """Checkpoints of the job's current plan: a changed plan (a new feature, another window) gets a
    directory of its own, so its state is never restored into operators it does not fit."""
    return settings.run_dir / "streaming" / "checkpoints" / plan_id(settings)


def latest_checkpoint(settings: Settings) -> Path | None:
    found = sorted(checkpoint_dir(settings).glob("*/chk-*/_metadata"), key=lambda p: p.stat().st_mtime)
    return found[-1].parent if found else None


def prune_checkpoints(settings: Settings, keep: Path | None) -> list[Path]:
    """Remove what no start can restore, before a job starts from ``keep`` (its latest checkpoint, or None):
    the directories of earlier jobs of this plan other than ``keep``'s (Flink retains checkpoints per job,
    so each restart would leave its predecessor's behind, a full copy of the state each), and those of
    other plans (a changed plan rebuilds from the Kafka log instead). Returns what was removed."""
    root = checkpoint_dir(settings).parent
    kept_job = None if keep is None else keep.parent
    doomed = [d for d in root.glob("*") if d.is_dir() and d != checkpoint_dir(settings)]
    doomed += [d for d in checkpoint_dir(settings).glob("*") if d.is_dir() and d != kept_job]
    for directory in doomed:
        shutil.rmtree(directory, ignore_errors=True)
    return doomed


def _configuration(settings: Settings, checkpoint: Path | None) -> Configuration:
    config = Configuration()
    config.set_string("pipeline.jars", ";".join(p.as_uri() for p in fetch.jars(settings, "flink")))
    config.set_string("pipeline.name", JOB_NAME)
    config.set_string("execution.checkpointing.interval", f"{settings.flink.checkpoint_interval_ms} ms")
    config.set_string("execution.checkpointing.mode", "EXACTLY_ONCE")
    config.set_string("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION")
    config.set_string("state.checkpoints.num-retained", "2")
    config.set_string("state.backend.type", settings.flink.state_backend)
    if settings.flink.state_backend == "rocksdb":  # a checkpoint uploads the files written since the last one
        config.set_string("execution.checkpointing.incremental", "true")
    # Chained operators hand records on without a defensive copy each (SQL operators and the sink never
    # keep a record they were handed: the sink buffers the Row the external conversion created for it).
    config.set_string("pipeline.object-reuse", "true")
    config.set_string("state.checkpoints.dir", checkpoint_dir(settings).as_uri())
    config.set_string("python.client.executable", sys.executable)
    if settings.flink.jobmanager:  # a Flink cluster
        host, port = settings.flink.jobmanager.rsplit(":", 1)
        config.set_string("execution.target", "remote")
        config.set_string("rest.address", host)
        config.set_string("rest.port", port)
    config.set_string("taskmanager.memory.process.size", "1g")
    config.set_string("restart-strategy.type", "fixed-delay")
    config.set_string("restart-strategy.fixed-delay.attempts", "1000000")
    config.set_string("restart-strategy.fixed-delay.delay", "5 s")
    if checkpoint is not None:  # Kafka offsets come from the checkpoint, with the aggregates' state
        log.info("restoring from %s", checkpoint)
        config.set_string("execution.savepoint.path", checkpoint.as_uri())
        config.set_string("execution.savepoint.ignore-unclaimed-state", "true")
    return config


def _table_config(t_env, settings: Settings, minibatch: bool) -> None:
    config = t_env.get_config()
    # State expires after dedup_hours unless a query's STATE_TTL hint keeps it longer (all-time totals).
    config.set("table.exec.state.ttl", f"{settings.flink.dedup_hours} h")
    on = minibatch and settings.flink.minibatch_ms > 0
    config.set("table.exec.mini-batch.enabled", str(on).lower())
    if on:
        config.set("table.exec.mini-batch.allow-latency", f"{settings.flink.minibatch_ms} ms")
        config.set("table.exec.mini-batch.size", "5000")
    # Each sink's key is its query's group key (or the event's id): rows of a key arrive in order, and a
    # materializer before the sink (state per key, to reorder them) would only cost.
    config.set("table.exec.sink.upsert-materialize", "NONE")


# -- the plan ---------------------------------------------------------------------------------------
def keep(source: str = "e") -> str:
    """The hint that keeps an all-time aggregate's state (on its input ``source``, a table or alias) forever:
    a TTL of 0 is no TTL, so the state also skips the heap backend's incremental TTL cleanup, which visits
    entries on every access (a third of the job's CPU when these aggregates had a 100-year TTL instead)."""
    return f"/*+ STATE_TTL('{source}'='0 ms') */"


KEEP = keep()


def _kafka_table(name: str, columns: str, topics: str, settings: Settings, startup: str) -> str:
    """A JSON Kafka table read by the job's consumer group (``columns``: its schema, computed columns included)."""
    return f"""
    CREATE TEMPORARY TABLE {name} (
        {columns}
    ) WITH (
        'connector' = 'kafka', 'topic' = '{topics}',
        'properties.bootstrap.servers' = '{settings.kafka.bootstrap_servers}',
        'properties.group.id' = '{registry.STREAMING_GROUP}',
        'properties.partition.discovery.interval.ms' = '30000', 'properties.auto.offset.reset' = 'earliest',
        'scan.startup.mode' = '{startup}',
        'format' = 'json', 'json.ignore-parse-errors' = 'true', 'json.fail-on-missing-field' = 'false'
    )"""


EVENT_COLUMNS = """event_id STRING, kind STRING, user_id INT, anime_id INT, `timestamp` BIGINT, rating INT,
        genres ARRAY<STRING>,
        ts AS TO_TIMESTAMP_LTZ(`timestamp`, 3)"""
SERVED_COLUMNS = """request_id STRING, user_id INT, surface STRING, experiment_id STRING, variant STRING,
        items ARRAY<ROW<anime_id INT, `position` INT>>, `timestamp` BIGINT,
        pt AS PROCTIME()"""


def source_ddl(settings: Settings, startup: str = "group-offsets") -> str:
    """The topics as one table. A job restored from a checkpoint reads on from the checkpoint's
    offsets; a plan with no checkpoint of its own reads each topic from the start (``earliest-offset``),
    so its aggregates are rebuilt from the log rather than begun at zero."""
    return _kafka_table("kafka_events", EVENT_COLUMNS, ";".join(t.name for t in registry.TOPICS), settings, startup)


# Only well-formed events go on: a record someone produced to the topics without the API's validation
# (valid JSON lacking an id, a user or a title, or of an unknown kind) is dropped here, never written.
KINDS = ", ".join(f"'{kind}'" for kind in registry.TOPIC_OF_KIND)
WELL_FORMED = (f"event_id IS NOT NULL AND kind IN ({KINDS}) AND user_id IS NOT NULL AND anime_id IS NOT NULL "
               "AND `timestamp` IS NOT NULL")

# The well-formed events, each once: keep-first on event_id in processing order by our ``animerec.flink.KeepFirst``
# (jars/flink/src), for ``flink.dedup_hours``: a repeat (a producer retry, a replay) is dropped. Its ids expire by
# the bucket, with no TTL state (whose incremental cleanup on every access cost more than the lookup).
DEDUP = f"""SELECT event_id, kind, user_id, anime_id, `timestamp` AS ts_ms, rating, genres, ts FROM kafka_events
           WHERE {WELL_FORMED}"""
KEEP_FIRST = "animerec.flink.KeepFirst"


def served_source_ddl(settings: Settings, startup: str = "group-offsets") -> str:
    """The lists the API served (``served_lists``), read like the events."""
    return _kafka_table("kafka_served", SERVED_COLUMNS, registry.SERVED_LISTS.name, settings, startup)


# Each served list once (keep-first on request_id), one row per title shown, with its position and the
# hour bucket of the serving.
SERVED_ITEMS = f"""SELECT request_id, user_id, experiment_id, variant, ts_ms, bucket, it.anime_id, it.`position`
    FROM (SELECT request_id, user_id, experiment_id, variant, items, `timestamp` AS ts_ms,
                 `timestamp` / {registry.EXPERIMENT_BUCKET_MS} AS bucket
          FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY request_id ORDER BY pt) AS rn FROM kafka_served
                WHERE request_id IS NOT NULL AND user_id IS NOT NULL AND experiment_id IS NOT NULL
                      AND variant IS NOT NULL AND `timestamp` IS NOT NULL)
          WHERE rn = 1) AS s
    CROSS JOIN UNNEST(s.items) AS it(anime_id, `position`)
    WHERE it.anime_id IS NOT NULL AND it.`position` > 0"""

# A click, view or rating of a title in a list served to the same user, within the attribution window after
# it (event time), paired by our keyed co-process ``animerec.flink.Attribution`` (jars/flink/src): a list waits
# in its state for twice the window (events arrive after it, some late); an event only for the read skew between
# the two topics (its list was served, so published, before it). It holds no SQL state with a TTL (whose
# incremental cleanup on every access was most of a SQL join's CPU). The events side carries only what the
# pairing needs (view ``ev``); the served titles are ``si``, in its column order.
ATTRIBUTED_EVENTS = """SELECT event_id, kind, user_id, anime_id, ts_ms FROM e WHERE kind IN ('click', 'view', 'rating')"""
ATTRIBUTION = "animerec.flink.Attribution"
ATTRIBUTION_KEEP_MS = {"events": registry.ATTRIBUTION_SKEW_MS, "lists": 2 * registry.ATTRIBUTION_MS}


# Java aggregate functions of ours (jars/flink/src), by the name the queries call them.
FUNCTIONS = {"SLIDING_COUNT": "animerec.flink.SlidingCount", "DECAYED_SUM": "animerec.flink.DecayedSum",
             "LATEST": "animerec.flink.Latest"}


def _sliding(weight: str, window) -> str:
    return f"SLIDING_COUNT(ts_ms, {weight}, {window.buckets}, CAST({window.bucket_ms} AS BIGINT))"


# Each query names the sink (store/cassandra/sinks.py) it feeds and produces exactly its columns.
# One aggregate per entity (title, user) computes all of that entity's features in one operator, so an
# event touches each entity's state once and each entity's row is written once per flush.
def queries() -> dict[str, str]:
    click = "CASE WHEN kind = 'click' THEN 1 ELSE 0 END"
    view = "CASE WHEN kind = 'view' THEN 1 ELSE 0 END"
    rating = "CASE WHEN kind = 'rating' THEN 1 ELSE 0 END"
    windows = ",\n".join(f"{_sliding(click, w)} AS clicks_{w.name}, {_sliding(view, w)} AS views_{w.name}, "
                         f"MAX(ts) AS window_at_{w.name}" for w in TITLE_WINDOWS)
    return {
        "events": "SELECT event_id, kind, user_id, anime_id, rating, ts, CURRENT_TIMESTAMP AS written_at FROM e",
        "rating_upserts": "SELECT user_id, anime_id, rating, ts AS updated_at, ts_ms * 1000 AS write_us FROM e "
                          "WHERE kind = 'rating' AND rating IS NOT NULL",
        "rating_deletes": "SELECT ts_ms * 1000 AS write_us, user_id, anime_id FROM e "
                          "WHERE kind = 'rating' AND rating IS NULL",
        "title_features": f"""SELECT {KEEP} anime_id, CAST(SUM({click}) AS BIGINT) AS clicks,
                CAST(SUM({view}) AS BIGINT) AS `views`,
                CAST((SUM({click}) + {CTR_PRIOR_CLICKS}) / (SUM({view}) + {CTR_PRIOR_VIEWS}) AS DOUBLE) AS ctr,
                MAX(ts) AS last_event_at,
                {windows}
            FROM e WHERE kind IN ('click', 'view') GROUP BY anime_id""",
        "user_features": f"""SELECT user_id, events, clicks, last_event_at, genre_weights,
                events_{SESSION_WINDOW.name}, session_at, recent
            FROM (SELECT {KEEP} user_id, CAST(COUNT(*) AS BIGINT) AS events,
                    CAST(SUM({click}) AS BIGINT) AS clicks, MAX(ts) AS last_event_at,
                    DECAYED_SUM(genres, ts_ms, CAST({registry.DECAY_ANCHOR_MS} AS BIGINT),
                                CAST({int(registry.GENRE_HALF_LIFE_DAYS * 86_400_000)} AS BIGINT)) AS genre_weights,
                    {_sliding("1", SESSION_WINDOW)} AS events_{SESSION_WINDOW.name}, MAX(ts) AS session_at,
                    LATEST(anime_id, kind, ts_ms, event_id, {registry.RECENT_EVENTS}) AS recent
                  FROM e WHERE kind <> 'impression' GROUP BY user_id)""",
        # Experiments: per variant and hour, the lists served and titles shown; all-time distinct titles shown;
        # and what viewers did with them (each event once, for the latest list served before it: a top-1 per
        # event_id that moves, retracting the earlier pairing, when a later list pairs with it).
        "experiment_served": f"""SELECT {keep('si')} experiment_id, variant, bucket,
                CAST(SUM(CASE WHEN `position` = 1 THEN 1 ELSE 0 END) AS BIGINT) AS impressions,
                CAST(COUNT(*) AS BIGINT) AS items_shown
            FROM si GROUP BY experiment_id, variant, bucket""",
        "experiment_coverage": f"""SELECT {keep('si')} experiment_id, variant,
                CAST({registry.EXPERIMENT_ALL_TIME} AS BIGINT) AS bucket,
                CAST(COUNT(DISTINCT anime_id) AS BIGINT) AS titles_shown
            FROM si GROUP BY experiment_id, variant""",
        "experiment_attributed": f"""SELECT {keep('fa')} experiment_id, variant, bucket,
                CAST(SUM({click}) AS BIGINT) AS clicks,
                CAST(COUNT(DISTINCT CASE WHEN kind = 'click' THEN request_id END) AS BIGINT) AS lists_clicked,
                CAST(SUM(CASE WHEN kind = 'click' AND `position` <= 5 THEN 1 ELSE 0 END) AS BIGINT) AS clicks_at_5,
                CAST(SUM(CASE WHEN kind = 'click' AND `position` <= 10 THEN 1 ELSE 0 END) AS BIGINT) AS clicks_at_10,
                CAST(SUM(CASE WHEN kind = 'click' THEN 1.0E0 / CAST(`position` AS DOUBLE) ELSE 0.0E0 END) AS DOUBLE)
                    AS rr_sum,
                CAST(SUM({view}) AS BIGINT) AS `views`, CAST(SUM({rating}) AS BIGINT) AS ratings
            FROM (SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY event_id
                                                       ORDER BY served_ms DESC, request_id DESC) AS rn FROM a)
                  WHERE rn = 1) AS fa
            GROUP BY experiment_id, variant, bucket""",
        # One row per UTC day and genre (an event counts for each of its title's genres); kept for all time.
        "genre_activity": f"""SELECT {KEEP} `day`, genre, CAST(SUM({click}) AS BIGINT) AS clicks,
                CAST(SUM({view}) AS BIGINT) AS `views`, CAST(SUM({rating}) AS BIGINT) AS ratings
            FROM (SELECT CAST((ts_ms - MOD(ts_ms, {registry.DAY_MS})) / {registry.DAY_MS} AS INT) AS `day`, genre,
                         kind
                  FROM e CROSS JOIN UNNEST(e.genres) AS g(genre) WHERE kind <> 'impression') AS e
            GROUP BY `day`, genre""",
    }


def plan_id(settings: Settings) -> str:
    """A digest of everything that shapes the job's state: SQL, sinks' CQL, the aggregate functions' Java
    sources (their accumulators are state), the settings the plan reads (whether aggregates run in
    mini-batches, not how long a batch is: that changes no state)."""
    parts = [source_ddl(settings), DEDUP, served_source_ddl(settings), SERVED_ITEMS, ATTRIBUTED_EVENTS,
             *(fetch.class_source("flink", cls) for cls in (KEEP_FIRST, ATTRIBUTION)),
             str(sorted(ATTRIBUTION_KEEP_MS.items())), *queries().values(),
             *(f"{SINKS[name].cql} {SINKS[name].on_delete}" for name in sorted(SINKS)),
             *(f"{name}={fetch.class_source('flink', cls)}" for name, cls in sorted(FUNCTIONS.items())),
             str(settings.flink.parallelism), str(settings.flink.minibatch_ms > 0), str(settings.flink.dedup_hours),
             settings.flink.state_backend]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def sink_table(settings: Settings, name: str, table) -> TableDescriptor:
    """The ``animerec-cassandra`` table that query ``name``'s rows (``table``) go into: its columns are the
    query's, its primary key the sink's Cassandra key (store/cassandra/sinks.py)."""
    spec = SINKS[name]
    jvm = get_gateway().jvm
    keys = get_gateway().new_array(jvm.String, len(spec.key))
    for i, column in enumerate(spec.key):
        keys[i] = column
    builder = jvm.org.apache.flink.table.api.Schema.newBuilder()
    for column in table._j_table.getResolvedSchema().getColumns():   # a primary key's columns are NOT NULL
        data_type = column.getDataType()
        builder.column(column.getName(), data_type.notNull() if column.getName() in spec.key else data_type)
    schema = builder.primaryKey(keys).build()
    keyspace = settings.cassandra.keyspace
    descriptor = TableDescriptor.for_connector("animerec-cassandra").schema(Schema(schema)) \
        .option("hosts", ",".join(settings.cassandra.contact_points)) \
        .option("port", str(settings.cassandra.port)) \
        .option("upsert", sink_cql(name, keyspace)) \
        .option("partition-fields", str(spec.partition)) \
        .option("batch-rows", str(settings.flink.sink_batch_rows)) \
        .option("in-flight", str(settings.flink.sink_in_flight)) \
        .option("flush-ms", str(settings.flink.counter_flush_ms if spec.counter else settings.flink.sink_flush_ms))
    if spec.on_delete is not None:
        descriptor = descriptor.option("delete", sink_delete_cql(name, keyspace))
    return descriptor.build()


def _java(name: str):
    """Our Java class ``name`` (``animerec.flink.KeepFirst``) through the gateway."""
    target = get_gateway().jvm
    for part in name.split("."):
        target = getattr(target, part)
    return target


def _internal_rows(t_env, table):
    """``table`` compiled now, with the table config of this moment, as a Java DataStream of Flink's internal
    ``RowData`` (an identity conversion: the boundary costs nothing per row)."""
    internal = get_gateway().jvm.Class.forName("org.apache.flink.table.data.RowData")
    j_table = table._j_table
    return t_env._j_tenv.toDataStream(j_table,
                                      j_table.getResolvedSchema().toPhysicalRowDataType().bridgedTo(internal))


def _internal_view(t_env, name: str, table, keep_first_ms: int | None = None) -> None:
    """Register ``table``'s rows (:func:`_internal_rows`) as view ``name``: every query reading the view shares
    this one translation. ``keep_first_ms``: only the first row of each id (the first column) within that long
    goes on (:data:`KEEP_FIRST`)."""
    rows = _internal_rows(t_env, table)
    if keep_first_ms is not None:
        rows = _java(KEEP_FIRST).keepFirst(rows, keep_first_ms)
    t_env._j_tenv.createTemporaryView(name, t_env._j_tenv.fromDataStream(rows))


def _attribution_view(t_env, name: str, events, served) -> None:
    """Register as view ``name`` the pairings of ``events`` (``ev``) with ``served`` (``si``) that
    :data:`ATTRIBUTION` finds (internal rows in and out, as :func:`_internal_view`)."""
    pairs = _java(ATTRIBUTION).attribute(_internal_rows(t_env, events), _internal_rows(t_env, served),
                                         registry.ATTRIBUTION_MS, ATTRIBUTION_KEEP_MS["events"],
                                         ATTRIBUTION_KEEP_MS["lists"])
    t_env._j_tenv.createTemporaryView(name, t_env._j_tenv.fromDataStream(pairs))


def build(t_env, settings: Settings, startup: str = "group-offsets"):
    """The job's topology in ``t_env``, as a statement set: one source, one dedup, then one SQL query and one
    Cassandra table per sink.

    The deduplicated events (view ``e``, :data:`KEEP_FIRST`) and the served lists' titles (``si``) are each
    compiled once, without mini-batches, and read back as views that every query shares; their
    pairing (``a``) is our Java co-process (:data:`ATTRIBUTION`); the queries' aggregates then run in
    mini-batches. Nothing in the plan uses event-time watermarks:
    windows are counted in buckets of event time by the aggregates themselves, so an event that arrives late
    still counts wherever its time falls inside a window.
    """
    for name, cls in FUNCTIONS.items():
        t_env.create_java_temporary_function(name, cls)
    _table_config(t_env, settings, minibatch=False)
    t_env.execute_sql(source_ddl(settings, startup))
    _internal_view(t_env, "e", t_env.sql_query(DEDUP), keep_first_ms=settings.flink.dedup_hours * 3_600_000)
    t_env.execute_sql(served_source_ddl(settings, startup))
    _internal_view(t_env, "si", t_env.sql_query(SERVED_ITEMS))
    _attribution_view(t_env, "a", t_env.sql_query(ATTRIBUTED_EVENTS), t_env.from_path("si"))
    _table_config(t_env, settings, minibatch=True)
    statements = t_env.create_statement_set()
    for name, sql in queries().items():
        table = t_env.sql_query(sql)
        if table.get_schema().get_field_names() != list(SINKS[name].columns):
            raise ValueError(f"query {name} produces {table.get_schema().get_field_names()}, "
                             f"sink expects {list(SINKS[name].columns)}")
        t_env.create_temporary_table(f"cassandra_{name}", sink_table(settings, name, table))
        statements.add_insert(f"cassandra_{name}", table)
    return statements


def run(settings: Settings) -> None:
    status_file(settings).parent.mkdir(parents=True, exist_ok=True)
    checkpoint = latest_checkpoint(settings)
    for removed in prune_checkpoints(settings, checkpoint):
        log.info("removed checkpoints %s", removed)
    env = StreamExecutionEnvironment.get_execution_environment(_configuration(settings, checkpoint))
    env.set_parallelism(settings.flink.parallelism)
    t_env = StreamTableEnvironment.create(env)
    statements = build(t_env, settings, "earliest-offset" if checkpoint is None else "group-offsets")
    client = statements.execute().get_job_client()
    log.info("submitted job %s (plan %s)", client.get_job_id(), plan_id(settings))
    last = None
    while True:
        state = client.get_job_status().result().name
        write_status(settings, state, str(client.get_job_id()))
        if state != last and state in ("RESTARTING", "FAILING"):
            log.warning("job %s is %s: a task failed; Flink's log (pyflink/log/flink-*.log in the virtual "
                        "environment) has the cause", client.get_job_id(), state)
        last = state
        if state in ("FAILED", "CANCELED", "FINISHED"):
            raise SystemExit(f"streaming job ended: {state}")
        time.sleep(2)

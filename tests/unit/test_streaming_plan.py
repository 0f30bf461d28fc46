"""The streaming job's plan, without a JVM: each query feeds exactly its sink, state is kept per plan, and the
plain-Python definitions of windows and recent lists the integration test compares the job with."""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from config import Settings, registry
from config.registry import RECENT_EVENTS, Window
from store.cassandra.sinks import SINKS, sink_delete_cql
from streaming import job
from streaming.definitions import in_window, newest

JAVA_SOURCES = Path(__file__).resolve().parents[2] / "jars" / "flink" / "src" / "main" / "java"


def test_every_sink_has_one_query_and_every_query_a_sink():
    assert set(job.queries()) == set(SINKS)


def test_each_query_selects_its_sinks_columns_in_order():
    for name, sql in job.queries().items():
        select = sql.split(" FROM ")[0].split("\n            FROM ")[0]
        at = 0
        for column in SINKS[name].columns:  # each found after the one before it
            found = re.compile(rf"\b{column}\b").search(select, at)
            assert found, (name, column)
            at = found.end()


def test_a_changed_plan_gets_its_own_checkpoints(tmp_path):
    base = Settings(run_dir=tmp_path)
    changed = Settings(run_dir=tmp_path, flink={"state_backend": "rocksdb"})
    assert job.plan_id(base) == job.plan_id(Settings(run_dir=tmp_path))
    assert job.checkpoint_dir(base) != job.checkpoint_dir(changed)
    (job.checkpoint_dir(base) / "some-job" / "chk-3").mkdir(parents=True)
    (job.checkpoint_dir(base) / "some-job" / "chk-3" / "_metadata").write_text("x")
    assert job.latest_checkpoint(base) is not None
    assert job.latest_checkpoint(changed) is None  # never restored into a plan it does not fit
    longer_batches = Settings(run_dir=tmp_path, flink={"minibatch_ms": base.flink.minibatch_ms + 100})
    assert job.checkpoint_dir(longer_batches) == job.checkpoint_dir(base)  # the same state, emitted less often


def test_a_start_removes_checkpoints_it_can_never_restore(tmp_path):
    settings = Settings(run_dir=tmp_path)
    other_plan = Settings(run_dir=tmp_path, flink={"state_backend": "rocksdb"})
    for s, run, checkpoint in ((settings, "old-job", 2), (settings, "last-job", 7), (other_plan, "job", 1)):
        (job.checkpoint_dir(s) / run / f"chk-{checkpoint}").mkdir(parents=True)
        (job.checkpoint_dir(s) / run / f"chk-{checkpoint}" / "_metadata").write_text("x")
    (job.checkpoint_dir(settings) / "crashed-before-a-checkpoint").mkdir()
    latest = job.checkpoint_dir(settings) / "last-job" / "chk-7"
    os.utime(latest / "_metadata", (2e9, 2e9))
    assert job.latest_checkpoint(settings) == latest
    job.prune_checkpoints(settings, latest)
    assert [p.name for p in job.checkpoint_dir(settings).iterdir()] == ["last-job"]
    assert (latest / "_metadata").exists() and not job.checkpoint_dir(other_plan).exists()
    job.prune_checkpoints(settings, None)       # a new plan starts from the log: nothing of it is kept
    assert list(job.checkpoint_dir(settings).iterdir()) == []


def test_every_function_the_queries_call_is_registered_and_has_its_java_source():
    sql = "\n".join(job.queries().values())
    called = set(re.findall(r"\b([A-Z_]{3,})\(", sql)) - {"CAST", "CASE", "SUM", "MAX", "COUNT", "STATE_TTL", "MOD",
                                                              "UNNEST", "ROW_NUMBER"}
    assert called == set(job.FUNCTIONS)
    for cls in job.FUNCTIONS.values():
        assert (JAVA_SOURCES / f"{cls.replace('.', '/')}.java").exists(), cls


def test_a_changed_aggregate_function_is_a_changed_plan(tmp_path, monkeypatch):
    settings = Settings(run_dir=tmp_path)
    before = job.plan_id(settings)
    source = job.fetch.class_source
    monkeypatch.setattr(job.fetch, "class_source", lambda component, cls: source(component, cls) + "// changed")
    assert job.plan_id(settings) != before   # an accumulator's layout is state: never restored into another


def test_a_window_counts_the_last_buckets_up_to_the_latest_event():
    hour = Window("1h", 60)                       # 60 buckets of one minute
    latest = 10 * 3_600_000 + 30 * 60_000 + 5_000  # 10:30:05
    ts = np.array([latest, latest - 59 * 60_000,   # the latest event; the oldest minute still in
                   10 * 3_600_000 + 30 * 60_000 - 59 * 60_000 - 1,  # the last millisecond before that minute
                   latest - 3_600_000])            # an hour before
    assert in_window(ts, latest, hour).tolist() == [True, True, False, False]


def test_recent_is_newest_first_equal_times_by_event_id_and_capped():
    n = RECENT_EVENTS + 5
    events = pd.DataFrame({"event_id": [f"e{i:03d}" for i in range(n)] + ["b", "a"],
                           "anime_id": list(range(n)) + [7, 8], "kind": ["view"] * (n + 2),
                           "timestamp": list(range(n)) + [10_000, 10_000]})
    recent = newest(events)
    assert len(recent) == RECENT_EVENTS
    assert [e["event_id"] for e in recent[:3]] == ["a", "b", f"e{n - 1:03d}"]
    assert recent[-1]["event_id"] == f"e{n - RECENT_EVENTS + 2:03d}"


def test_only_the_attributed_counts_take_deletes_and_a_delete_zeroes_them_keeping_the_row():
    # Last-touch attribution moves an event to a later list: a (experiment, variant, hour) group can lose its
    # last attributed event, and Flink then sends a DELETE for that aggregate's row.
    takes = {name for name in SINKS if SINKS[name].on_delete}
    assert takes == {"experiment_attributed"}
    cql = sink_delete_cql("experiment_attributed", "ks")
    assert cql.startswith("UPDATE ks.experiment_metrics SET ") and "DELETE" not in cql
    assert all(f"{column} = 0" in cql for column in SINKS["experiment_attributed"].columns[3:])
    assert cql.endswith("WHERE experiment_id = ? AND variant = ? AND bucket = ?")


def test_the_attribution_keeps_events_only_for_the_read_skew_and_lists_for_the_window():
    """Every event enters the attribution's state; holding each for an hour made it a third of the job's state."""
    assert job.ATTRIBUTION_KEEP_MS["events"] == registry.ATTRIBUTION_SKEW_MS < registry.ATTRIBUTION_MS
    assert job.ATTRIBUTION_KEEP_MS["lists"] >= registry.ATTRIBUTION_MS


def test_all_time_aggregates_keep_their_state_with_no_ttl_at_all():
    """A TTL of 0 is none: the heap backend then runs no incremental TTL cleanup on every state access (it
    was a third of the job's CPU with the all-time aggregates' state on a 100-year TTL)."""
    for name in ("title_features", "user_features", "genre_activity", "experiment_served",
                 "experiment_coverage", "experiment_attributed"):
        hint = re.search(r"/\*\+ STATE_TTL\('(\w+)'='([^']+)'\) \*/", job.queries()[name])
        assert hint and hint.group(2) == "0 ms", name


def test_what_a_viewers_next_request_reads_flushes_at_the_fast_interval_and_only_counters_wait_longer():
    """The freshness promise (a click in /recommends within a second) rests on the events, ratings and user
    features; the counters flush every ``flink.counter_flush_ms`` so a flush coalesces more updates per row."""
    fresh = {name for name, spec in SINKS.items() if not spec.counter}
    assert fresh == {"events", "rating_upserts", "rating_deletes", "user_features"}
    flink = Settings().flink
    assert flink.sink_flush_ms < flink.counter_flush_ms <= 1000

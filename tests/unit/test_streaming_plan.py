"""The streaming job's plan, without a JVM: each query feeds exactly its sink, and state is kept per plan."""
from __future__ import annotations

import re

from config import Settings
from store.cassandra.sinks import SINKS
from streaming import job


def test_every_sink_has_one_query_and_every_query_a_sink():
    assert set(job.queries()) == set(SINKS)


def test_each_query_selects_its_sinks_columns_in_order():
    for name, sql in job.queries().items():
        select = sql.split(" FROM ")[0] if "WINDOW" not in sql else sql.split("\n            FROM ")[0]
        at = 0
        for column in SINKS[name].columns:  # each found after the one before it
            found = re.compile(rf"\b{column}\b").search(select, at)
            assert found, (name, column)
            at = found.end()


def test_a_changed_plan_gets_its_own_checkpoints(tmp_path):
    base = Settings(run_dir=tmp_path)
    changed = Settings(run_dir=tmp_path, flink={"minibatch_ms": base.flink.minibatch_ms + 100})
    assert job.plan_id(base) == job.plan_id(Settings(run_dir=tmp_path))
    assert job.checkpoint_dir(base) != job.checkpoint_dir(changed)
    (job.checkpoint_dir(base) / "some-job" / "chk-3").mkdir(parents=True)
    (job.checkpoint_dir(base) / "some-job" / "chk-3" / "_metadata").write_text("x")
    assert job.latest_checkpoint(base) is not None
    assert job.latest_checkpoint(changed) is None  # never restored into a plan it does not fit

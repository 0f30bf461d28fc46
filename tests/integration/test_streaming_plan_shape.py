"""The streaming job's compiled plan (Flink's planner in the JVM, no job submitted): what each event costs
is decided here -- how many times it is read, deduplicated and written."""
from __future__ import annotations

import re

from pyflink.datastream import StreamExecutionEnvironment
from pyflink.table import ExplainDetail, StreamTableEnvironment

from store.cassandra.sinks import SINKS
from streaming import job


def _execution_plan(settings) -> str:
    env = StreamExecutionEnvironment.get_execution_environment(job._configuration(settings, None))
    t_env = StreamTableEnvironment.create(env)
    plan = job.build(t_env, settings, "earliest-offset").explain(ExplainDetail.JSON_EXECUTION_PLAN)
    return plan[plan.index("== Physical Execution Plan =="):]


def test_events_are_read_and_deduplicated_once_and_every_sink_is_a_cassandra_table(settings):
    plan = _execution_plan(settings)
    assert len(re.findall(r"TableSourceScan\(table=\[\[default_catalog, default_database, kafka_events\]\]", plan)) == 1
    # one keep-first on event_id (ours, no TTL state), shared by every query; SQL's on the served lists' request_id
    assert len(re.findall(r'"type" : "KeepFirst"', plan)) == 1
    assert len(re.findall(r"Deduplicate\(keep=\[FirstRow\], key=\[event_id\]", plan)) == 0
    assert len(re.findall(r"Deduplicate\(keep=\[FirstRow\], key=\[request_id\]", plan)) == 1
    # the experiments' attribution is ours too (a keyed co-process), not a SQL join with TTL state
    assert len(re.findall(r'"type" : "Attribution"', plan)) == 1
    assert not re.findall(r'"type" : "Join', plan)
    # every query writes into its own table of the animerec-cassandra connector (internal rows, no Row conversion)
    sinks = set(re.findall(r"Sink: cassandra_(\w+)\[", plan)) | set(
        re.findall(r"table=\[default_catalog\.default_database\.cassandra_(\w+)\]", plan))
    assert sinks == set(SINKS)

"""The streaming job: Kafka clicks/views/ratings -> Flink -> Cassandra.

Every event is written once per event_id (an idempotent upsert), and each title's running
click/view counts live in Flink keyed state and are written as absolute values. With
checkpoints restored on restart, a replayed event recomputes the same counts, so what lands
in Cassandra is the same as if each event had been processed exactly once.
"""
from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from pyflink.common import Configuration, Types, WatermarkStrategy
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.datastream.connectors.kafka import KafkaOffsetsInitializer, KafkaSource
from pyflink.datastream.functions import SinkFunction
from pyflink.java_gateway import get_gateway

from config import Settings, registry
from jars import fetch
from streaming.operators import ParseEvent, WriteFeatures
from streaming.status import status_file, write_status

log = logging.getLogger("animerec.streaming")
JOB_NAME = "animerec-features"


def checkpoint_dir(settings: Settings) -> Path:
    return settings.run_dir / "streaming" / "checkpoints"


def latest_checkpoint(settings: Settings) -> Path | None:
    found = sorted(checkpoint_dir(settings).glob("*/chk-*/_metadata"), key=lambda p: p.stat().st_mtime)
    return found[-1].parent if found else None


def _configuration(settings: Settings) -> Configuration:
    config = Configuration()
    config.set_string("pipeline.jars", ";".join(p.as_uri() for p in fetch.jars(settings, "flink")))
    config.set_string("pipeline.name", JOB_NAME)
    config.set_string("execution.checkpointing.interval", f"{settings.flink.checkpoint_interval_ms} ms")
    config.set_string("execution.checkpointing.mode", "EXACTLY_ONCE")
    config.set_string("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION")
    config.set_string("state.checkpoints.num-retained", "2")
    config.set_string("state.backend.type", "hashmap")
    config.set_string("state.checkpoints.dir", checkpoint_dir(settings).as_uri())
    # Small Python bundles: an event reaches Cassandra in well under a second.
    config.set_string("python.fn-execution.bundle.time", "50")
    config.set_string("python.fn-execution.bundle.size", "100")
    config.set_string("python.client.executable", sys.executable)
    if settings.flink.jobmanager:  # a Flink cluster: its task managers run their own python3
        host, port = settings.flink.jobmanager.rsplit(":", 1)
        config.set_string("execution.target", "remote")
        config.set_string("rest.address", host)
        config.set_string("rest.port", port)
        config.set_string("python.executable", "python3")
    else:
        config.set_string("python.executable", sys.executable)
    config.set_string("taskmanager.memory.process.size", "1g")
    config.set_string("restart-strategy.type", "fixed-delay")
    config.set_string("restart-strategy.fixed-delay.attempts", "1000000")
    config.set_string("restart-strategy.fixed-delay.delay", "5 s")
    checkpoint = latest_checkpoint(settings)
    if checkpoint is not None:
        log.info("restoring from %s", checkpoint)
        config.set_string("execution.savepoint.path", checkpoint.as_uri())
        config.set_string("execution.savepoint.ignore-unclaimed-state", "true")
    return config


def _committed_or_earliest():
    """Start from the group's committed offsets, else the beginning.

    PyFlink's own helper names the *shaded* Kafka classes of flink-sql-connector-kafka;
    we ship the plain connector and kafka-clients, so build the initializer directly.
    """
    jvm = get_gateway().jvm
    reset = jvm.org.apache.kafka.clients.consumer.OffsetResetStrategy.EARLIEST
    initializer = jvm.org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer
    return KafkaOffsetsInitializer(initializer.committedOffsets(reset))


def build(env, settings: Settings) -> None:
    """Add the job's topology to ``env``."""
    source = (KafkaSource.builder()
              .set_bootstrap_servers(settings.kafka.bootstrap_servers)
              .set_topics(*(t.name for t in registry.TOPICS))
              .set_group_id("animerec-streaming")
              .set_starting_offsets(_committed_or_earliest())
              .set_value_only_deserializer(SimpleStringSchema())
              .set_property("partition.discovery.interval.ms", "30000")
              .build())
    raw = env.from_source(source, WatermarkStrategy.no_watermarks(), "kafka-events").uid("kafka-events")
    events = raw.flat_map(ParseEvent(), output_type=Types.PICKLED_BYTE_ARRAY()).uid("parse-events")
    written = (events.key_by(lambda e: e["anime_id"], key_type=Types.INT())
               .process(WriteFeatures(settings), output_type=Types.INT()).uid("write-features"))
    discard = get_gateway().jvm.org.apache.flink.streaming.api.functions.sink.DiscardingSink()
    written.add_sink(SinkFunction(discard)).name("done")


def run(settings: Settings) -> None:
    status_file(settings).parent.mkdir(parents=True, exist_ok=True)
    env = StreamExecutionEnvironment.get_execution_environment(_configuration(settings))
    env.set_parallelism(settings.flink.parallelism)
    build(env, settings)
    client = env.execute_async(JOB_NAME)
    log.info("submitted job %s", client.get_job_id())
    while True:
        state = client.get_job_status().result().name
        write_status(settings, state, str(client.get_job_id()))
        if state in ("FAILED", "CANCELED", "FINISHED"):
            raise SystemExit(f"streaming job ended: {state}")
        time.sleep(2)

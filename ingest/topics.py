"""Kafka topic administration: the topics of :data:`config.registry.ALL_TOPICS`, created once."""
from __future__ import annotations

from confluent_kafka import Consumer as RdConsumer
from confluent_kafka import TopicPartition as RdPartition
from kafka import KafkaConsumer, TopicPartition
from kafka.partitioner.default import DefaultPartitioner
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from config import Settings, registry


def _admin(settings: Settings) -> KafkaAdminClient:
    return KafkaAdminClient(bootstrap_servers=settings.kafka.bootstrap_servers, client_id="animerec-admin",
                            request_timeout_ms=settings.kafka.request_timeout_ms)


def broker_ready(settings: Settings) -> bool:
    try:
        admin = _admin(settings)
    except (KafkaError, OSError, ValueError):
        return False
    try:
        admin.list_topics()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        admin.close()


def ensure_topics(settings: Settings) -> None:
    """Create any missing topic; existing ones are left as they are."""
    replication = settings.kafka.replication_factor
    admin = _admin(settings)
    try:
        existing = set(admin.list_topics())
        missing = [NewTopic(t.name, num_partitions=t.partitions, replication_factor=replication,
                            topic_configs={"retention.ms": str(t.retention_ms),
                                           "min.insync.replicas": str(min(2, replication))})
                   for t in registry.ALL_TOPICS if t.name not in existing]
        if missing:
            try:
                admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()


def end_offsets(settings: Settings, topics=registry.TOPICS) -> dict:
    """The end offset of every partition of ``topics`` (default: the event topics)."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka.bootstrap_servers, enable_auto_commit=False)
    try:
        parts = [TopicPartition(t.name, p) for t in topics for p in consumer.partitions_for_topic(t.name) or ()]
        return consumer.end_offsets(parts)
    finally:
        consumer.close()


def read_range(settings: Settings, start: dict, end: dict) -> int:
    """Read every message in [start, end) of each partition with one plain consumer (librdkafka, the fastest
    client Python has: the reference ceiling of the streaming benchmark); return how many."""
    consumer = RdConsumer({"bootstrap.servers": settings.kafka.bootstrap_servers, "group.id": "animerec-reference",
                           "enable.auto.commit": False, "fetch.max.bytes": 64 * 1024 * 1024})
    try:
        consumer.assign([RdPartition(p.topic, p.partition, offset) for p, offset in start.items() if p in end])
        want, seen = sum(end[p] - start[p] for p in end), 0
        while seen < want:
            seen += sum(1 for m in consumer.consume(num_messages=10_000, timeout=1.0) if m.error() is None)
        return seen
    finally:
        consumer.close()


def consumer_lag(settings: Settings, group: str = registry.STREAMING_GROUP) -> dict[str, int]:
    """Per topic of the registry, the messages ``group`` has not committed yet (end offset - committed)."""
    admin = _admin(settings)
    try:
        committed = admin.list_consumer_group_offsets(group)
    finally:
        admin.close()
    lag = {t.name: 0 for t in registry.ALL_TOPICS}
    for partition, end in end_offsets(settings, registry.ALL_TOPICS).items():
        done = committed.get(partition)
        lag[partition.topic] += max(0, end - (done.offset if done is not None and done.offset >= 0 else 0))
    return lag


def partition_marks(settings: Settings, events, shares=(0.0, 1.0)) -> list[list[str]]:
    """For each of ``shares`` (0 = first, 1 = last): the id of the event that far through each partition's
    share of ``events`` (in send order), as the producers' default partitioner places them by user_id.
    A partition is read in order, so once its mark is stored, so is everything before it in that partition."""
    partitioner = DefaultPartitioner()
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka.bootstrap_servers, enable_auto_commit=False)
    try:
        parts = {t.name: sorted(consumer.partitions_for_topic(t.name) or ()) for t in registry.ALL_TOPICS}
    finally:
        consumer.close()
    ids: dict = {}
    for event in events:
        topic = registry.TOPIC_OF_KIND[event.kind].name
        ids.setdefault((topic, partitioner(str(event.user_id).encode(), parts[topic], parts[topic])), []).append(
            event.event_id)
    return [[ordered[round(share * (len(ordered) - 1))] for ordered in ids.values()] for share in shares]

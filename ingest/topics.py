"""Kafka topic administration: the topics of :data:`config.registry.TOPICS`, created once."""
from __future__ import annotations

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
                   for t in registry.TOPICS if t.name not in existing]
        if missing:
            try:
                admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()

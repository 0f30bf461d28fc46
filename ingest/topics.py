"""Every Kafka topic of animerec, defined here and nowhere else."""
from __future__ import annotations

from dataclasses import dataclass

from infra.config import Settings


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int = 3
    # Events are keyed by user_id, so one user's events stay in order within a partition.
    retention_ms: int = 7 * 24 * 3600 * 1000


CLICKS = Topic("clicks")
VIEWS = Topic("views")
RATINGS = Topic("ratings")
ALL_TOPICS = (CLICKS, VIEWS, RATINGS)
EVENT_TOPICS = {"click": CLICKS, "view": VIEWS, "rating": RATINGS}


def _admin(settings: Settings):
    from kafka.admin import KafkaAdminClient
    return KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, client_id="animerec-admin",
                            request_timeout_ms=settings.kafka_request_timeout_ms)


def broker_ready(settings: Settings) -> bool:
    from kafka.errors import KafkaError
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
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError
    admin = _admin(settings)
    try:
        existing = set(admin.list_topics())
        missing = [NewTopic(t.name, num_partitions=t.partitions, replication_factor=1,
                            topic_configs={"retention.ms": str(t.retention_ms), "min.insync.replicas": "1"})
                   for t in ALL_TOPICS if t.name not in existing]
        if missing:
            try:
                admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()

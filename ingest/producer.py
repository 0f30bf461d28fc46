"""The only place that produces to Kafka."""
from __future__ import annotations

import threading

from kafka import KafkaProducer
from kafka.errors import KafkaError

from infra.config import Settings, get_settings
from ingest.events import Event
from ingest.topics import EVENT_TOPICS


class EventBusUnavailable(RuntimeError):
    """Kafka did not acknowledge the event; the caller must not report success."""


class EventProducer:
    """Publishes events keyed by user_id and waits for the broker's acknowledgement (acks=all)."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or get_settings()
        self._producer: KafkaProducer | None = None
        self._lock = threading.Lock()

    def _client(self) -> KafkaProducer:
        with self._lock:
            if self._producer is None:
                try:
                    self._producer = KafkaProducer(
                        bootstrap_servers=self.settings.kafka_bootstrap_servers, client_id="animerec-api",
                        acks="all", retries=3, retry_backoff_ms=200, linger_ms=0,
                        max_in_flight_requests_per_connection=1,  # keeps a user's events in order across retries
                        request_timeout_ms=self.settings.kafka_request_timeout_ms,
                        max_block_ms=self.settings.kafka_request_timeout_ms,
                        key_serializer=lambda k: str(k).encode())
                except (KafkaError, OSError) as exc:
                    raise EventBusUnavailable(f"Kafka is unreachable: {exc}") from exc
            return self._producer

    def publish(self, event: Event) -> dict:
        """Send one event; return its topic/partition/offset once Kafka has it."""
        topic = EVENT_TOPICS[event.kind].name
        try:
            future = self._client().send(topic, key=event.user_id, value=event.to_bytes())
            meta = future.get(timeout=self.settings.kafka_request_timeout_ms / 1000)
        except (KafkaError, OSError) as exc:
            raise EventBusUnavailable(f"Kafka did not acknowledge the event: {exc}") from exc
        return {"topic": meta.topic, "partition": meta.partition, "offset": meta.offset}

    def close(self) -> None:
        with self._lock:
            if self._producer is not None:
                self._producer.close(timeout=5)
                self._producer = None

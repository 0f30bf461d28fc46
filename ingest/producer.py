"""The only place that produces to Kafka."""
from __future__ import annotations

import threading

from kafka import KafkaProducer
from kafka.errors import KafkaError

from config import Settings, registry
from ingest.events import Event


class EventBusUnavailable(RuntimeError):
    """Kafka did not acknowledge the event; the caller must not report success."""


class EventProducer:
    """Publishes events keyed by user_id and waits for the broker's acknowledgement (acks=all)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._producer: KafkaProducer | None = None
        self._lock = threading.Lock()

    def _client(self) -> KafkaProducer:
        with self._lock:
            if self._producer is None:
                try:
                    self._producer = KafkaProducer(
                        bootstrap_servers=self.settings.kafka.bootstrap_servers, client_id="animerec-api",
                        acks="all", retries=3, retry_backoff_ms=200, linger_ms=0,
                        max_in_flight_requests_per_connection=1,  # keeps a user's events in order across retries
                        request_timeout_ms=self.settings.kafka.request_timeout_ms,
                        max_block_ms=self.settings.kafka.request_timeout_ms,
                        key_serializer=lambda k: str(k).encode())
                except (KafkaError, OSError) as exc:
                    raise EventBusUnavailable(f"Kafka is unreachable: {exc}") from exc
            return self._producer

    def publish(self, event: Event) -> dict:
        """Send one event; return its topic/partition/offset once Kafka has it."""
        topic = registry.TOPIC_OF_KIND[event.kind].name
        try:
            future = self._client().send(topic, key=event.user_id, value=event.to_bytes())
            meta = future.get(timeout=self.settings.kafka.request_timeout_ms / 1000)
        except (KafkaError, OSError) as exc:
            raise EventBusUnavailable(f"Kafka did not acknowledge the event: {exc}") from exc
        return {"topic": meta.topic, "partition": meta.partition, "offset": meta.offset}

    def close(self) -> None:
        with self._lock:
            if self._producer is not None:
                self._producer.close(timeout=5)
                self._producer = None

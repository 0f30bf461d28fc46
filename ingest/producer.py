"""The only place that produces to Kafka."""
from __future__ import annotations

import threading
import time

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

    def publish_many(self, events: list[Event]) -> None:
        """Send a batch; return once Kafka acknowledged every one of them (all sent before any wait)."""
        try:
            client = self._client()
            futures = [client.send(registry.TOPIC_OF_KIND[e.kind].name, key=e.user_id, value=e.to_bytes())
                       for e in events]
            deadline = time.monotonic() + self.settings.kafka.request_timeout_ms / 1000
            for future in futures:
                future.get(timeout=max(0.0, deadline - time.monotonic()))
        except (KafkaError, OSError) as exc:
            raise EventBusUnavailable(f"Kafka did not acknowledge the batch: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            if self._producer is not None:
                self._producer.close(timeout=5)
                self._producer = None


class BulkProducer:
    """Publishes a stream of events as fast as Kafka takes them (the replay): batched sends, acks=all,
    keyed by user_id; :meth:`flush` returns once every event sent so far is acknowledged."""

    def __init__(self, settings: Settings):
        try:
            self._producer = KafkaProducer(
                bootstrap_servers=settings.kafka.bootstrap_servers, client_id="animerec-replay",
                acks="all", retries=5, linger_ms=50, batch_size=1024 * 1024, buffer_memory=256 * 1024 * 1024,
                enable_idempotence=True,  # retries keep each partition's order with several requests in flight
                key_serializer=lambda k: str(k).encode())
        except (KafkaError, OSError) as exc:
            raise EventBusUnavailable(f"Kafka is unreachable: {exc}") from exc
        self._failed: list[Exception] = []

    def send(self, event: Event) -> None:
        future = self._producer.send(registry.TOPIC_OF_KIND[event.kind].name, key=event.user_id,
                                     value=event.to_bytes())
        future.add_errback(self._failed.append)

    def flush(self) -> None:
        self._producer.flush()
        if self._failed:
            raise EventBusUnavailable(f"{len(self._failed)} events were not acknowledged: {self._failed[0]}")

    def close(self) -> None:
        self.flush()
        self._producer.close(timeout=10)

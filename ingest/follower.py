"""Following the event topics as they are written: which users just did something, and up to when that is known.

An API process keeps computed answers (api/answers.py) that a user's own event must make stale at once. It
learns of events from Kafka itself, not from the store: :class:`EventFollower` reads the event topics from their
end (its own consumer, no group, nothing committed) and hands each event's ``(user_id, event_id)`` to a callback.

It also says how far it can be trusted. Every ``every_s`` it asks the brokers for each partition's high
watermark; an event acknowledged to a producer (acks=all) lies below it. Once the follower has read every
partition up to the watermarks it asked for at moment ``t``, every event acknowledged before ``t`` has reached
the callback: :attr:`EventFollower.seen_until` is that ``t``. When Kafka is slow or gone, or the follower falls
behind, ``seen_until`` stops moving, and a cache that checks it stops answering from memory.
"""
from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from config import Settings

log = logging.getLogger("animerec.kafka.follower")

OnEvent = Callable[[int, str | None], None]


class EventFollower:
    """Reads ``topics`` from their end in a daemon thread; ``on_event(user_id, event_id)`` for each event."""

    def __init__(self, settings: Settings, topics: Sequence[str], on_event: OnEvent, every_s: float = 0.2,
                 clock: Callable[[], float] = time.monotonic):
        self.settings, self.topics, self.on_event, self.every_s, self.clock = settings, list(topics), on_event, \
            every_s, clock
        self.seen_until: float = float("-inf")   # clock() before which every acknowledged event was handed on
        self.events = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="event-follower", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def lag_s(self) -> float:
        """Seconds since the last moment up to which every acknowledged event is known (inf: never yet)."""
        return self.clock() - self.seen_until

    # --- the thread ----------------------------------------------------------------------------
    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self._follow()
            except Exception as exc:   # Kafka gone or refusing: seen_until stands still, and we try again
                failures += 1
                (log.warning if failures == 1 else log.debug)(
                    "cannot follow the event topics (%s); answers are computed afresh until it can", exc)
                self._stop.wait(min(0.5 * failures, 5.0))
            else:
                failures = 0

    def _clients(self) -> tuple[Consumer, AdminClient]:
        servers = self.settings.kafka.bootstrap_servers
        timeout = self.settings.kafka.request_timeout_ms
        consumer = Consumer({"bootstrap.servers": servers, "group.id": f"animerec-follower-{uuid.uuid4().hex}",
                             "enable.auto.commit": False, "enable.auto.offset.store": False,
                             "fetch.wait.max.ms": 50, "fetch.error.backoff.ms": 50, "socket.timeout.ms": timeout,
                             "logger": log, "log_level": 2})   # the client's own lines: critical ones only
        admin = AdminClient({"bootstrap.servers": servers, "socket.timeout.ms": timeout, "logger": log,
                             "log_level": 2})
        return consumer, admin

    def _watermarks(self, admin: AdminClient, partitions: list[TopicPartition]) -> dict[tuple[str, int], int]:
        timeout = self.settings.kafka.request_timeout_ms / 1000
        futures = admin.list_offsets({p: OffsetSpec.latest() for p in partitions}, request_timeout=timeout)
        return {(p.topic, p.partition): f.result(timeout=timeout).offset for p, f in futures.items()}

    def _follow(self) -> None:
        consumer, admin = self._clients()
        try:
            timeout = self.settings.kafka.request_timeout_ms / 1000
            topics = consumer.list_topics(timeout=timeout).topics
            partitions = [TopicPartition(t, p) for t in self.topics if t in topics for p in topics[t].partitions]
            if not partitions:
                raise KafkaException(f"none of the topics {self.topics} exists yet")
            asked_at = self.clock()
            target = self._watermarks(admin, partitions)
            # Nothing before the end matters to a cache that starts empty: start there, caught up as of now.
            consumer.assign([TopicPartition(t, p, offset) for (t, p), offset in target.items()])
            position = dict(target)
            self.seen_until = asked_at
            while not self._stop.is_set():
                for message in consumer.consume(num_messages=1000, timeout=0.1):
                    if message.error() is not None:
                        continue
                    position[(message.topic(), message.partition())] = message.offset() + 1
                    self._hand_on(message.key(), message.value())
                if all(position[p] >= offset for p, offset in target.items()):
                    self.seen_until = asked_at
                    wait = self.every_s - (self.clock() - asked_at)
                    if wait > 0 and self._stop.wait(wait):
                        return
                    asked_at = self.clock()
                    target = self._watermarks(admin, partitions)
        finally:
            consumer.close()

    def _hand_on(self, key: bytes | None, value: bytes | None) -> None:
        try:
            user_id = int(key)
        except (TypeError, ValueError):
            return
        try:
            event_id = json.loads(value).get("event_id") if value else None
        except (ValueError, AttributeError):
            event_id = None
        self.events += 1
        self.on_event(user_id, event_id)

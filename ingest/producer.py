"""The only place that produces to Kafka."""
from __future__ import annotations

import logging
import threading
import time

from confluent_kafka import KafkaError as RdKafkaError
from confluent_kafka import KafkaException, Producer

from config import Settings, registry
from ingest.events import Event

log = logging.getLogger("animerec.kafka")


class EventBusUnavailable(RuntimeError):
    """Kafka did not acknowledge the event in time; the caller must not report success."""


class PendingLimit:
    """At most ``limit`` events sent and not yet acknowledged, per process: beyond it a publish waits, and
    gives up after its deadline, instead of piling up memory while the broker is slow or gone."""

    def __init__(self, limit: int):
        self.limit, self.pending = limit, 0
        self._cond = threading.Condition()

    def reserve(self, n: int, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self.pending + n > max(self.limit, n):
                left = deadline - time.monotonic()
                if left <= 0 or not self._cond.wait(left):
                    return False
            self.pending += n
            return True

    def release(self, n: int = 1) -> None:
        with self._cond:
            self.pending -= n
            self._cond.notify_all()


class Receipt:
    """The acknowledgements of one publish's ``n`` events, filled in by the producer's delivery callbacks."""

    def __init__(self, n: int, on_settled):
        self.left, self.error, self.first = n, None, None
        self._on_settled = on_settled
        self._done = threading.Event()
        self._lock = threading.Lock()

    def settle(self, err, msg) -> None:
        with self._lock:
            self.left -= 1
            if err is not None and self.error is None:
                self.error = err
            elif err is None and self.first is None:
                self.first = {"topic": msg.topic(), "partition": msg.partition(), "offset": msg.offset()}
            finished = self.left == 0
        self._on_settled(err is None)
        if finished:
            self._done.set()

    def wait(self, timeout_s: float) -> bool:
        return self._done.wait(timeout_s)


def _config(settings: Settings, client_id: str, **overrides) -> dict:
    """What every producer of ours asks of librdkafka: acks=all, idempotent (a partition keeps its order with
    several requests in flight), and the Java client's partitioner (as kafka-python's): a user's events share
    one partition whichever of our producers sent them."""
    k = settings.kafka
    return {"bootstrap.servers": k.bootstrap_servers, "client.id": client_id, "acks": "all",
            "enable.idempotence": True, "partitioner": "murmur2_random",
            "delivery.timeout.ms": k.delivery_timeout_ms,
            "logger": log,  # librdkafka's lines go to our logs (when the producer is polled)
            **overrides}


def _record(event: Event) -> tuple[str, bytes, bytes]:
    """An event as (topic, key, value): on its kind's topic, keyed by user."""
    return registry.TOPIC_OF_KIND[event.kind].name, str(event.user_id).encode(), event.to_bytes()


class EventProducer:
    """Publishes events keyed by user_id; a publish returns once the broker acknowledged (acks=all).

    One producer per process (librdkafka: its own threads, off the GIL), shared by the request threads:
    sends never wait for one another, the idempotent producer keeps each partition in order with several
    requests in flight, and at most ``kafka.max_pending_events`` are unacknowledged at once (beyond it a
    publish waits for room, at most ``kafka.publish_timeout_ms``). A background thread serves the delivery
    reports. A publish raises :class:`EventBusUnavailable` when Kafka refuses an event; when the client has
    lost every broker and nothing was acknowledged for ``publish_timeout_ms`` (the broker is down: the
    caller hears so within that time, never a hang); or after ``request_timeout_ms`` without an answer
    (a broker that is up but too slow, or one still being connected to).
    An event answered that way may still land once the broker is back (the producer retries it for
    ``kafka.delivery_timeout_ms``): a retry with the same event id is counted once.
    """

    POLL_S = 0.05

    def __init__(self, settings: Settings):
        self.settings = settings
        self._producer: Producer | None = None
        self._lock = threading.Lock()
        self._pending = PendingLimit(settings.kafka.max_pending_events)
        self._last_ack = 0.0  # time.monotonic() of the latest acknowledgement
        self._brokers_down = False  # librdkafka reported every broker down, and nothing was acknowledged since
        self._stop = threading.Event()

    @property
    def timeout_s(self) -> float:
        return self.settings.kafka.publish_timeout_ms / 1000

    def _client(self) -> Producer:
        with self._lock:
            if self._producer is None:
                k = self.settings.kafka
                try:
                    self._producer = Producer(_config(
                        self.settings, "animerec-api", **{
                            "linger.ms": k.linger_ms, "request.timeout.ms": k.request_timeout_ms,
                            "queue.buffering.max.messages": 2 * k.max_pending_events,
                            "error_cb": self._client_error}))
                except KafkaException as exc:
                    raise EventBusUnavailable(f"Kafka producer: {exc}") from exc
                self._stop.clear()
                threading.Thread(target=self._serve_reports, args=(self._producer,), name="kafka-delivery",
                                 daemon=True).start()
            return self._producer

    def _serve_reports(self, producer: Producer) -> None:
        while not self._stop.is_set():
            producer.poll(self.POLL_S)

    def _client_error(self, error) -> None:
        if error.code() == RdKafkaError._ALL_BROKERS_DOWN:
            self._brokers_down = True
        log.warning("Kafka client: %s", error.str())

    def _settled(self, acknowledged: bool) -> None:
        self._pending.release()
        if acknowledged:
            self._last_ack = time.monotonic()
            self._brokers_down = False

    def _send(self, events: list[Event]) -> Receipt:
        """Send every one of ``events``; their receipt. Nothing is sent unless there is room for all."""
        if not self._pending.reserve(len(events), self.timeout_s):
            raise EventBusUnavailable(f"{self._pending.pending} events are already waiting for Kafka")
        receipt = Receipt(len(events), self._settled)
        sent = 0
        try:
            client = self._client()
            for event in events:
                topic, key, value = _record(event)
                client.produce(topic, key=key, value=value, on_delivery=receipt.settle)
                sent += 1
        except (KafkaException, BufferError) as exc:
            self._pending.release(len(events) - sent)
            raise EventBusUnavailable(f"Kafka did not take the event: {exc}") from exc
        except BaseException:
            self._pending.release(len(events) - sent)
            raise
        return receipt

    def _wait(self, receipt: Receipt) -> Receipt:
        started = time.monotonic()
        give_up = started + self.settings.kafka.request_timeout_ms / 1000
        while not receipt.wait(self.POLL_S):
            now = time.monotonic()
            silent = now - max(self._last_ack, started)
            if (self._brokers_down and silent >= self.timeout_s) or now >= give_up:
                raise EventBusUnavailable(f"no acknowledgement from Kafka for {silent:.1f} s"
                                          f"{' (no broker reachable)' if self._brokers_down else ''}")
        if receipt.error is not None:
            raise EventBusUnavailable(f"Kafka did not acknowledge: {receipt.error.str()}")
        return receipt

    def offer(self, topic: str, key: int, value: bytes, on_done) -> bool:
        """Hand one record to the producer without waiting for anything: False at once when there is no room
        (``max_pending_events`` unacknowledged) or the client refuses it; else ``on_done(acknowledged)`` is
        called from the delivery thread later. For what must not slow a response (served lists)."""
        if not self._pending.reserve(1, 0.0):
            return False

        def settled(err, _msg) -> None:
            self._settled(err is None)
            on_done(err is None)
        try:
            self._client().produce(topic, key=str(key).encode(), value=value, on_delivery=settled)
        except (KafkaException, BufferError, EventBusUnavailable):
            self._pending.release()
            return False
        return True

    def publish(self, event: Event) -> dict:
        """Send one event; return its topic/partition/offset once Kafka has it."""
        return self._wait(self._send([event])).first

    def publish_many(self, events: list[Event]) -> None:
        """Send a batch; return once Kafka acknowledged every one of them (all sent before any wait)."""
        self._wait(self._send(events))

    def close(self) -> None:
        with self._lock:
            if self._producer is not None:
                self._producer.flush(5)
                self._stop.set()
                self._producer = None


class BulkProducer:
    """Publishes a stream of events as fast as Kafka takes them (the replay): librdkafka batches them off the
    GIL, with :class:`EventProducer`'s guarantees; :meth:`flush` returns once every event sent so far is
    acknowledged."""

    QUEUED = 500_000    # events librdkafka may hold unacknowledged; beyond it send() waits for room

    def __init__(self, settings: Settings):
        try:
            self._producer = Producer(_config(settings, "animerec-replay", **{
                "linger.ms": 50, "queue.buffering.max.messages": self.QUEUED,
                "queue.buffering.max.kbytes": 512 * 1024}))
        except KafkaException as exc:
            raise EventBusUnavailable(f"Kafka producer: {exc}") from exc
        self._failed: list = []
        self._unserved = 0

    def _delivered(self, err, _msg) -> None:
        if err is not None:
            self._failed.append(err)

    def send(self, event: Event) -> None:
        topic, key, value = _record(event)
        while True:
            try:
                self._producer.produce(topic, key=key, value=value, on_delivery=self._delivered)
                break
            except BufferError:        # the queue is full: serve acknowledgements until there is room
                self._producer.poll(0.05)
        self._unserved += 1
        if self._unserved >= 10_000:
            self._producer.poll(0)
            self._unserved = 0

    def flush(self) -> None:
        left = self._producer.flush()    # each event is acknowledged or failed within delivery.timeout.ms
        if left:
            raise EventBusUnavailable(f"{left} events were neither acknowledged nor failed")
        if self._failed:
            raise EventBusUnavailable(f"{len(self._failed)} events were not acknowledged: {self._failed[0].str()}")

    def close(self) -> None:
        self.flush()

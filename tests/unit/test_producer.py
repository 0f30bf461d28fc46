"""The API's event producer without a broker: its bound on unacknowledged events, its receipts, and an
answer within its publish timeout when no broker answers."""
from __future__ import annotations

import socket
import threading
import time

import pytest

from config import Settings
from ingest.events import Event, EventIn
from ingest.producer import EventBusUnavailable, EventProducer, PendingLimit, Receipt


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_pending_limit_waits_for_room_and_gives_up_at_its_deadline():
    limit = PendingLimit(3)
    assert limit.reserve(2, 0.1) and limit.reserve(1, 0.1)
    started = time.monotonic()
    assert not limit.reserve(1, 0.2)
    assert 0.15 <= time.monotonic() - started < 2
    threading.Timer(0.1, limit.release, args=(2,)).start()
    assert limit.reserve(2, 2.0)
    assert limit.pending == 3


def test_a_batch_larger_than_the_limit_goes_alone():
    limit = PendingLimit(3)
    assert limit.reserve(10, 0.1)
    assert not limit.reserve(1, 0.05)
    limit.release(10)
    assert limit.reserve(1, 0.05)


class _Message:
    def topic(self):
        return "clicks"

    def partition(self):
        return 2

    def offset(self):
        return 41


def test_receipt_is_done_when_every_event_is_settled_and_keeps_the_first_error():
    settled = []
    receipt = Receipt(3, settled.append)
    receipt.settle(None, _Message())
    assert not receipt.wait(0.01)
    receipt.settle("broker said no", None)
    receipt.settle("later error", None)
    assert receipt.wait(0.01)
    assert receipt.error == "broker said no"
    assert receipt.first == {"topic": "clicks", "partition": 2, "offset": 41}
    assert settled == [True, False, False]


def test_publish_without_a_broker_fails_within_its_timeout_and_frees_nothing_twice():
    settings = Settings(kafka={"bootstrap_servers": f"127.0.0.1:{_closed_port()}", "publish_timeout_ms": 500,
                               "delivery_timeout_ms": 1_000, "request_timeout_ms": 900})
    producer = EventProducer(settings)
    try:
        started = time.monotonic()
        with pytest.raises(EventBusUnavailable, match="no broker reachable"):
            producer.publish(Event.from_request("click", EventIn(user_id=7, anime_id=5114), rating=None, genres=[]))
        assert time.monotonic() - started < 2.0  # publish_timeout_ms is 0.5 s: an answer, never a hang
        # Once the producer gives the event up (delivery timeout), its room is free again.
        deadline = time.monotonic() + 10
        while producer._pending.pending and time.monotonic() < deadline:
            time.sleep(0.05)
        assert producer._pending.pending == 0
    finally:
        producer.close()

"""What operators see without services: /metrics counts each request by route and status, caches report
hits and misses, every answer carries a request id, and log lines carry it too."""
from __future__ import annotations

import io
import json
import logging
import re

import pytest

from api.app import create_app
from api.logs import REQUEST_ID_HEADER, json_handler
from config import Settings
from tests.unit.test_api_catalog import _closed_port, memory_store


def counting_store():
    """The catalog routes' in-memory store; ``store.reads`` counts title reads."""
    store = memory_store()
    store.reads = 0
    read = store.get_anime

    def get_anime(anime_id):
        store.reads += 1
        return read(anime_id)

    store.get_anime = get_anime
    return store


@pytest.fixture
def app():
    settings = Settings(kafka={"bootstrap_servers": f"127.0.0.1:{_closed_port()}", "publish_timeout_ms": 300,
                               "request_timeout_ms": 500},
                        cassandra={"port": _closed_port()})
    return create_app(settings, counting_store())


def _reads(app) -> int:
    return app.extensions["animerec"].store.reads


def _sample(text: str, name: str, **labels) -> float:
    """The value of the sample ``name{labels}`` in Prometheus text (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_by_route_and_status(app):
    client = app.test_client()
    before = client.get("/metrics").text
    client.get("/anime/1")
    client.get("/anime/777")
    client.get("/anime/777")
    after = client.get("/metrics").text
    route = "/anime/<anime_id>"
    for status, n in (("200", 1), ("404", 2)):
        assert (_sample(after, "animerec_http_responses_total", route=route, status=status)
                - _sample(before, "animerec_http_responses_total", route=route, status=status)) == n
    assert (_sample(after, "animerec_http_request_duration_seconds_count", route=route)
            - _sample(before, "animerec_http_request_duration_seconds_count", route=route)) == 3


def test_title_details_are_cached_until_an_upload_refreshes_the_catalog(app):
    client = app.test_client()
    text = client.get("/metrics").text
    hits = _sample(text, "animerec_cache_lookups_total", cache="details", result="hit")
    first = client.get("/anime/1").get_json()
    assert client.get("/anime/1").get_json() == first
    assert _reads(app) == 1
    text = client.get("/metrics").text
    assert _sample(text, "animerec_cache_lookups_total", cache="details", result="hit") == hits + 1
    app.extensions["animerec"].refresh_catalog()
    client.get("/anime/1")
    assert _reads(app) == 2


def test_details_cache_off_reads_the_store_each_time():
    settings = Settings(api={"details_ttl_s": 0}, cassandra={"port": _closed_port()})
    app = create_app(settings, counting_store())
    app.test_client().get("/anime/1")
    app.test_client().get("/anime/1")
    assert _reads(app) == 2


def test_publish_errors_are_counted_and_answered_with_the_event_id(app):
    client = app.test_client()
    before = _sample(client.get("/metrics").text, "animerec_kafka_publish_errors_total", route="/clicks")
    response = client.post("/clicks", json={"user_id": 1, "anime_id": 1, "event_id": "retry-me-1"})
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert response.get_json()["event_id"] == "retry-me-1"
    after = _sample(client.get("/metrics").text, "animerec_kafka_publish_errors_total", route="/clicks")
    assert after == before + 1


def test_every_answer_carries_a_request_id(app):
    client = app.test_client()
    made = client.get("/anime/1").headers[REQUEST_ID_HEADER]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert client.get("/anime/1").headers[REQUEST_ID_HEADER] != made
    assert client.get("/anime/777", headers={REQUEST_ID_HEADER: "edge-42"}).headers[REQUEST_ID_HEADER] == "edge-42"
    odd = client.get("/anime/1", headers={REQUEST_ID_HEADER: "bad id\twith spaces"}).headers[REQUEST_ID_HEADER]
    assert re.fullmatch(r"[0-9a-f]{32}", odd)


def test_log_lines_are_json_with_the_request_id(app):
    out = io.StringIO()
    handler = json_handler(out)
    log = logging.getLogger("animerec.test")
    log.addHandler(handler)
    try:
        with app.test_request_context("/anime/1", headers={REQUEST_ID_HEADER: "trace-7"}):
            app.preprocess_request()
            log.warning("inside", extra={"anime_id": 1})
        log.warning("outside")
    finally:
        log.removeHandler(handler)
    inside, outside = (json.loads(line) for line in out.getvalue().splitlines())
    assert inside["message"] == "inside" and inside["request_id"] == "trace-7" and inside["anime_id"] == 1
    assert inside["level"] == "WARNING" and inside["logger"] == "animerec.test"
    assert outside["request_id"] is None


def test_slow_and_failed_requests_are_logged_even_without_the_access_log(caplog):
    settings = Settings(api={"slow_request_ms": 0}, cassandra={"port": _closed_port()})
    client = create_app(settings, counting_store()).test_client()
    with caplog.at_level(logging.INFO, logger="animerec.access"):
        client.get("/anime/1", headers={REQUEST_ID_HEADER: "slow-1"})
    (record,) = [r for r in caplog.records if r.name == "animerec.access"]
    assert record.levelno == logging.WARNING and record.route == "/anime/<anime_id>" and record.status == 200
    caplog.clear()
    quiet = create_app(Settings(cassandra={"port": _closed_port()}), counting_store()).test_client()
    with caplog.at_level(logging.INFO, logger="animerec.access"):
        quiet.get("/anime/1")
    assert not [r for r in caplog.records if r.name == "animerec.access"]

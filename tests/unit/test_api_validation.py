"""Input validation needs no services: bad requests are answered before anything is touched."""
import socket

import pytest

from api.app import create_app
from config import Settings


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def client():
    port = _closed_port()
    settings = Settings(kafka={"bootstrap_servers": f"127.0.0.1:{port}", "request_timeout_ms": 1500},
                        cassandra={"port": _closed_port()})
    return create_app(settings).test_client()


@pytest.mark.parametrize("path,field", [
    ("/recall/abc", "user_id"), ("/rank/0", "user_id"), ("/recommends/-1", "user_id"),
    ("/recommends/5?k=0", "k"), ("/recommends/5?k=many", "k"), ("/recommend/5?k=1000", "k"),
    ("/sim/x", "anime_id"), ("/anime/1.5", "anime_id"), ("/recall/5?k=5&bogus=1", "bogus"),
])
def test_bad_parameters_are_400_naming_the_parameter(client, path, field):
    response = client.get(path)
    assert response.status_code == 400
    body = response.get_json()
    assert field in body["error"]
    assert any(d["field"] == field for d in body["details"])


@pytest.mark.parametrize("body", [{"anime_id": 5}, {"user_id": "1", "anime_id": "x"}, [1, 2], "text"])
def test_bad_event_bodies_are_400(client, body):
    response = client.post("/clicks", json=body)
    assert response.status_code == 400
    assert response.get_json()["error"].startswith("invalid request")


def test_unknown_route_and_method_are_json(client):
    assert client.get("/nowhere").get_json()["error"]
    response = client.delete("/clicks")
    assert response.status_code == 405 and response.get_json()["error"]


def test_event_is_503_when_kafka_cannot_take_it(client):
    response = client.post("/clicks", json={"user_id": 1, "anime_id": 5114})
    assert response.status_code == 503
    assert "not acknowledged" in response.get_json()["error"]


def test_openapi_describes_every_route(client):
    paths = client.get("/openapi/openapi.json").get_json()["paths"]
    for route in ("/clicks", "/views", "/recall/{user_id}", "/rank/{user_id}", "/recommends/{user_id}",
                  "/sim/{anime_id}", "/anime/{anime_id}", "/health"):
        assert route in paths


def test_metrics_report_dependencies_down_and_no_lag_when_kafka_is_unreachable(client):
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert 'animerec_dependency_up{dependency="kafka"} 0.0' in text
    assert "animerec_streaming_consumer_lag{" not in text  # no figure rather than a made-up zero


def _click(**fields):
    return {"kind": "click", "user_id": 1, "anime_id": 5114, **fields}


@pytest.mark.parametrize("events,field", [
    ([_click(), _click(), _click(user_id="abc")], "events.2.user_id"),
    ([_click(), {"kind": "rating", "user_id": 1, "anime_id": 5114}], "events.1"),
    ([_click(rating=7)], "events.0"),
    ([_click(kind="like")], "events.0.kind"),
    ([_click(extra=1)], "events.0.extra"),
    ([_click()] * 1_001, "events"),
    ([], "events"),
])
def test_batch_errors_name_the_event_by_index(client, events, field):
    response = client.post("/events", json={"events": events})
    assert response.status_code == 400
    assert any(d["field"] == field for d in response.get_json()["details"]), response.get_json()


def test_batch_is_503_with_retry_after_when_kafka_cannot_take_it(client):
    response = client.post("/events", json={"events": [_click(), _click(kind="view")]})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "not acknowledged" in response.get_json()["error"]

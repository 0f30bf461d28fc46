"""A click travels API -> Kafka -> Flink -> Cassandra and changes /recommends; bad events write nothing."""
from __future__ import annotations

import uuid

from kafka import KafkaProducer

from config import registry
from tests.integration.conftest import wait_for

NEW_USER = 990_001


def test_health_reports_every_dependency_up(api_url, http):
    # Right after Kafka starts, the consumer group's coordinator may not be ready: the lag reads
    # "down: CoordinatorNotAvailableError" for a few seconds, then the per-topic counts.
    body = wait_for(lambda: isinstance((b := http.get(f"{api_url}/health", timeout=10).json())["dependencies"]
                                       .get("streaming_lag"), dict) and b, timeout_s=60, interval_s=1)
    deps = body["dependencies"]
    assert body["status"] == "ok"
    assert deps["kafka"] == "up" and deps["cassandra"] == "up"
    assert deps["streaming"] == "up"
    assert deps["ranker"] not in ("none", None) and not str(deps["ranker"]).startswith("down")
    assert deps["recall"]["popular"] is not None
    assert set(deps["streaming_lag"]) == {t.name for t in registry.ALL_TOPICS}
    assert all(isinstance(n, int) and n >= 0 for n in deps["streaming_lag"].values())


def test_metrics_expose_consumer_lag_per_topic(api_url, http):
    text = http.get(f"{api_url}/metrics", timeout=10).text
    for topic in ("clicks", "views", "ratings"):
        assert f'animerec_streaming_consumer_lag{{topic="{topic}"}}' in text
    assert 'animerec_dependency_up{dependency="cassandra"} 1.0' in text


def _count(text: str, prefix: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix))


def test_metrics_sum_the_requests_of_every_worker(api_url, http):
    """gunicorn runs several workers; a scrape answered by one of them still counts them all."""
    series = 'animerec_http_responses_total{method="GET",route="/anime/<anime_id>",status="200"}'
    before = _count(http.get(f"{api_url}/metrics", timeout=10).text, series)
    for _ in range(40):  # fresh connections: each lands on whichever worker accepts it
        assert http.get(f"{api_url}/anime/5114", timeout=10, headers={"Connection": "close"}).status_code == 200
    text = http.get(f"{api_url}/metrics", timeout=10).text
    assert _count(text, series) == before + 40
    assert 'animerec_http_request_duration_seconds_bucket{le="0.05",method="GET",route="/anime/<anime_id>"}' in text
    assert 'animerec_ranker_info{version="' in text and 'animerec_recall_list_version{list="popular"}' in text


def test_new_user_gets_ranked_recommendations(api_url, http):
    body = http.get(f"{api_url}/recommends/{NEW_USER + 1}?k=10", timeout=30).json()
    assert len(body["items"]) == 10
    assert body["model_version"]
    ids = [item["anime_id"] for item in body["items"]]
    assert len(set(ids)) == 10
    assert all(item["name"] for item in body["items"])


def test_click_lands_in_cassandra_once_and_changes_recommendations(api_url, http, store):
    before = http.get(f"{api_url}/recommends/{NEW_USER}?k=10", timeout=30).json()
    clicked = before["items"][0]["anime_id"]
    counts_before = (store.title_features([clicked]).get(clicked) or {}).get("clicks") or 0
    event_id = f"test-{uuid.uuid4().hex}"
    payload = {"user_id": NEW_USER, "anime_id": clicked, "event_id": event_id}

    first = http.post(f"{api_url}/clicks", json=payload, timeout=30)
    retry = http.post(f"{api_url}/clicks", json=payload, timeout=30)  # a client retry: same event_id

    assert first.status_code == 202 and retry.status_code == 202
    assert first.json()["event_id"] == event_id
    stored = wait_for(lambda: store.get_event(NEW_USER, event_id))
    assert (stored["user_id"], stored["anime_id"], stored["kind"]) == (NEW_USER, clicked, "click")
    wait_for(lambda: ((store.title_features([clicked]).get(clicked) or {}).get("clicks") or 0) > counts_before)
    after = wait_for(lambda: (body := http.get(f"{api_url}/recommends/{NEW_USER}?k=10", timeout=30).json())["recent"]
                     and body)
    assert [e["anime_id"] for e in after["recent"]] == [clicked]
    assert clicked not in [item["anime_id"] for item in after["items"]]
    assert store.title_features([clicked])[clicked]["clicks"] == counts_before + 1


def test_view_is_counted(api_url, http, store):
    anime_id = 5114
    views_before = (store.title_features([anime_id]).get(anime_id) or {}).get("views") or 0
    response = http.post(f"{api_url}/views", json={"user_id": NEW_USER + 2, "anime_id": anime_id}, timeout=30)
    assert response.status_code == 202
    wait_for(lambda: ((store.title_features([anime_id]).get(anime_id) or {}).get("views") or 0) == views_before + 1)


def bad_events(user: int) -> list[tuple[dict, str]]:
    """(body, the field the error must name); each with an event_id we can look for afterwards."""
    def with_id(body):
        return {**body, "event_id": f"bad-{uuid.uuid4().hex}"}
    return [
        (with_id({"anime_id": 5114}), "user_id"),
        (with_id({"user_id": "abc", "anime_id": 5114}), "user_id"),
        (with_id({"user_id": user, "anime_id": -5}), "anime_id"),
        (with_id({"user_id": user, "anime_id": 5114, "extra": True}), "extra"),
        (with_id({"user_id": 1.5, "anime_id": 5114}), "user_id"),
        (with_id({"user_id": user, "anime_id": 5114, "timestamp": "not-a-time"}), "timestamp"),
        ({"user_id": user, "anime_id": 5114, "event_id": "has spaces"}, "event_id"),
    ]


def test_bad_events_get_400_and_nothing_is_written(api_url, http, store):
    user = NEW_USER + 3
    bad_ids = []
    for body, field in bad_events(user):
        response = http.post(f"{api_url}/clicks", json=body, timeout=10)
        assert response.status_code == 400, body
        error = response.json()
        assert field in error["error"] and error["details"], error
        bad_ids.append(body["event_id"])
    not_json = http.post(f"{api_url}/clicks", data="{oops", headers={"Content-Type": "application/json"}, timeout=10)
    assert not_json.status_code == 400 and "error" in not_json.json()

    # A good event after the bad ones, same user (same partition): once it has landed,
    # anything the bad ones had written would have landed too.
    sentinel = http.post(f"{api_url}/clicks", json={"user_id": user, "anime_id": 1}, timeout=10).json()
    # Each table has its own sink: wait for the sentinel in both before looking for the bad ones there.
    wait_for(lambda: store.get_event(user, sentinel["event_id"]) and store.recent_events(user))
    assert [e["event_id"] for e in store.recent_events(user)] == [sentinel["event_id"]]
    assert all(store.get_event(user, event_id) is None for event_id in bad_ids)


def test_unknown_anime_is_404_json(api_url, http):
    for path in ("/anime/999999", "/sim/999999"):
        response = http.get(f"{api_url}{path}", timeout=10)
        assert response.status_code == 404
        assert "999999" in response.json()["error"]


def test_anime_details_come_from_cassandra(api_url, http):
    body = http.get(f"{api_url}/anime/5114", timeout=10).json()
    assert body["name"] == "Fullmetal Alchemist: Brotherhood"
    assert "Action" in body["genres"]


def test_event_batch_lands_every_event_once(api_url, http, store):
    user = NEW_USER + 4
    batch = [{"kind": "view", "user_id": user, "anime_id": 5114, "event_id": f"batch-{uuid.uuid4().hex}"},
             {"kind": "click", "user_id": user, "anime_id": 5114, "event_id": f"batch-{uuid.uuid4().hex}"},
             {"kind": "rating", "user_id": user, "anime_id": 5114, "rating": 9, "event_id": f"batch-{uuid.uuid4().hex}"}]
    first = http.post(f"{api_url}/events", json={"events": batch}, timeout=30)
    again = http.post(f"{api_url}/events", json={"events": batch}, timeout=30)  # a client retrying the whole batch
    assert first.status_code == 202 and again.status_code == 202
    assert first.json()["event_ids"] == [e["event_id"] for e in batch]
    wait_for(lambda: len(store.recent_events(user, limit=10)) >= 3 and store.user_ratings(user))
    assert sorted(e["event_id"] for e in store.recent_events(user, limit=10)) == sorted(e["event_id"] for e in batch)
    assert [(r["anime_id"], r["rating"]) for r in store.user_ratings(user)] == [(5114, 9)]


def test_malformed_records_produced_around_the_api_are_dropped_by_the_job(api_url, http, store, settings):
    """Someone writes to the topics directly, without the API's validation: the streaming job drops what it
    cannot count and goes on (before, a record without a user_id failed the job on every restart)."""
    user = NEW_USER + 5
    topic = registry.TOPIC_OF_KIND["click"].name
    producer = KafkaProducer(bootstrap_servers=settings.kafka.bootstrap_servers, acks="all")
    try:
        key = str(user).encode()  # the user's partition: the sentinel below lands after these
        for value in (b"{}", b"not json", b'{"event_id": "no-user", "kind": "click", "anime_id": 1, "timestamp": 1}',
                      b'{"event_id": "odd-kind", "kind": "like", "user_id": %d, "anime_id": 1, "timestamp": 1}' % user):
            producer.send(topic, key=key, value=value).get(timeout=10)
    finally:
        producer.close()
    sentinel = http.post(f"{api_url}/clicks", json={"user_id": user, "anime_id": 1}, timeout=10).json()
    wait_for(lambda: store.get_event(user, sentinel["event_id"]) and store.recent_events(user), timeout_s=90)
    assert [e["event_id"] for e in store.recent_events(user)] == [sentinel["event_id"]]
    assert store.get_event(user, "odd-kind") is None
    assert http.get(f"{api_url}/health", timeout=10).json()["dependencies"]["streaming"] == "up"

"""With Kafka down the API answers 503 (Retry-After) at once instead of hanging; once Kafka is back, a
retry of the refused event with the same id is accepted and lands in Cassandra exactly once."""
from __future__ import annotations

import time
import uuid

from ops.services import KafkaService
from tests.integration.conftest import wait_for

ANIME = 5114
USER = 990_300
OTHER = 990_301  # the refused batch's user: its event may still land by the producer's own retries


def _landed(store, event_ids) -> bool:
    return all(store.get_event(USER, e) for e in event_ids)


def test_a_down_broker_is_a_prompt_503_and_a_retry_lands_once(api_url, http, store, settings):
    warm = http.post(f"{api_url}/clicks", json={"user_id": USER, "anime_id": ANIME}, timeout=10)
    assert warm.status_code == 202
    kafka = KafkaService(settings)
    assert kafka.running(), "the test stack's Kafka is run by the local launcher"
    kafka.stop(timeout_s=0)  # SIGTERM then SIGKILL at once: a crash
    try:
        refused_id = f"down-{uuid.uuid4().hex}"
        started = time.monotonic()
        response = http.post(f"{api_url}/clicks", json={"user_id": USER, "anime_id": ANIME, "event_id": refused_id},
                             timeout=30)
        elapsed = time.monotonic() - started
        assert response.status_code == 503
        assert response.headers["Retry-After"] and response.json()["event_id"] == refused_id
        assert elapsed < 2.5, f"503 took {elapsed:.2f}s (publish_timeout_ms is 1 s)"
        batch = http.post(f"{api_url}/events", json={"events": [{"kind": "view", "user_id": OTHER, "anime_id": ANIME}]},
                          timeout=30)
        assert batch.status_code == 503 and len(batch.json()["event_ids"]) == 1
        metrics = http.get(f"{api_url}/metrics", timeout=10).text
        assert 'animerec_kafka_publish_errors_total{route="/clicks"}' in metrics
    finally:
        kafka.start()

    def retried():
        answer = http.post(f"{api_url}/clicks", json={"user_id": USER, "anime_id": ANIME, "event_id": refused_id},
                           timeout=30)
        return answer.status_code == 202
    wait_for(retried, timeout_s=90, interval_s=1.0)
    wait_for(lambda: _landed(store, [warm.json()["event_id"], refused_id]), timeout_s=120)
    # The refused event may also have been delivered by the producer's own retries: still counted once.
    wait_for(lambda: (store.user_features(USER) or {}).get("events") == 2, timeout_s=30)
    time.sleep(3)
    assert (store.user_features(USER) or {}).get("events") == 2

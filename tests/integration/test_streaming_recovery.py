"""Events posted while the streaming job is down are not lost, and a restart counts nothing twice."""
from __future__ import annotations

import time
import uuid

from tests.integration.conftest import wait_for

ANIME = 32281  # Kimi no Na wa.
USER = 990_100


def _clicks(store) -> int:
    return (store.title_features([ANIME]).get(ANIME) or {}).get("clicks") or 0


def test_job_restart_resumes_from_checkpoint_without_loss_or_double_counting(api_url, http, store, streaming, settings):
    from streaming.job import latest_checkpoint

    initial = _clicks(store)
    warmup = http.post(f"{api_url}/clicks", json={"user_id": USER, "anime_id": ANIME}, timeout=10).json()
    wait_for(lambda: store.get_event(USER, warmup["event_id"]) and _clicks(store) == initial + 1)  # both sinks wrote it
    wait_for(lambda: latest_checkpoint(settings) is not None and
             latest_checkpoint(settings).stat().st_mtime > time.time() - 30, timeout_s=60)
    before = _clicks(store)

    streaming.stop()
    ids = [f"recovery-{uuid.uuid4().hex}" for _ in range(5)]
    for event_id in ids:
        response = http.post(f"{api_url}/clicks", json={"user_id": USER, "anime_id": ANIME, "event_id": event_id},
                             timeout=10)
        assert response.status_code == 202  # Kafka holds them while the job is down
    assert all(store.get_event(USER, event_id) is None for event_id in ids)

    streaming.start()
    wait_for(lambda: all(store.get_event(USER, event_id) for event_id in ids), timeout_s=120)
    wait_for(lambda: _clicks(store) == before + len(ids), timeout_s=30)
    time.sleep(3)  # any replayed duplicate would show up by now
    assert _clicks(store) == before + len(ids)
    assert len([e for e in store.recent_events(USER, limit=50) if e["event_id"] in ids]) == len(ids)

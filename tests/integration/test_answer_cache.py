"""The answer cache keeps the freshness contract over HTTP, across API processes (api/answers.py, README "Freshness").

Two API servers run (the session's, two workers, and a second one on its own port, one worker): nothing in
memory is shared between their processes. Each probe warms a user's kept answer in both, clicks, then polls
``/recommends`` every 20 ms on both, each poll on a new connection (so any worker may answer), and checks that
no answer computed before the click and not reflecting it is served later than 1 s after the 202: with the
stream writing, and with the stream stopped (lagging without end). A model flip is served within 5 s.
"""
from __future__ import annotations

import random
import shutil
import socket
import time

import pytest
import requests

from ops.services import ApiService
from ranking.registry import ModelRegistry
from tests.integration.conftest import wait_for

CLICKED = 32281      # Kimi no Na wa.
POLL_S = 0.02
CONTRACT_S = 1.0


class SecondApi(ApiService):
    name = "api-second"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def api_urls(prepared, api_url):
    settings = prepared.model_copy(update={"api": prepared.api.model_copy(update={"port": _free_port(),
                                                                                 "workers": 1})})
    second = SecondApi(settings)
    second.start()
    try:
        yield [api_url, settings.api_url]
    finally:
        second.stop()


def _get(url: str, user: int, key: str) -> dict:
    """One /recommends on a new connection: when it arrived, when it was computed, hit or miss, its recent titles."""
    response = requests.get(f"{url}/recommends/{user}?k=10", headers={"X-API-Key": key, "Connection": "close"},
                            timeout=10)
    assert response.status_code == 200, response.text
    return {"at": time.time(), "computed_at": float(response.headers["X-Computed-At"]),
            "cache": response.headers["X-Cache"], "recent": [e["anime_id"] for e in response.json()["recent"]],
            "model_version": response.json()["model_version"], "url": url}


def _warm(urls: list[str], user: int, key: str) -> None:
    """Until every process has a kept answer for the user: a run of hits on each server."""
    for url in urls:
        wait_for(lambda: all(_get(url, user, key)["cache"] == "hit" for _ in range(6)), timeout_s=30)


def _poll(urls: list[str], user: int, key: str, seconds: float) -> list[dict]:
    seen, end = [], time.time() + seconds
    while time.time() < end:
        seen.extend(_get(url, user, key) for url in urls)
        time.sleep(POLL_S)
    return seen


def _click(url: str, user: int, key: str) -> float:
    response = requests.post(f"{url}/clicks", json={"user_id": user, "anime_id": CLICKED}, headers={"X-API-Key": key},
                             timeout=10)
    assert response.status_code == 202, response.text
    return time.time()


def _stale_after_contract(seen: list[dict], acked: float) -> list[dict]:
    """Answers served more than 1 s after the 202 that were computed before it and do not show the click."""
    return [s for s in seen if s["at"] > acked + CONTRACT_S and s["computed_at"] < acked and CLICKED not in s["recent"]]


def test_a_click_reaches_every_api_process_within_a_second_while_the_stream_writes(api_urls, admin_key):
    user = 993_000 + random.randrange(1_000)
    _warm(api_urls, user, admin_key)
    acked = _click(api_urls[0], user, admin_key)
    seen = _poll(api_urls, user, admin_key, 3.0)
    assert not _stale_after_contract(seen, acked), _stale_after_contract(seen, acked)[:3]
    assert {s["url"] for s in seen if CLICKED in s["recent"]} == set(api_urls)     # the stream wrote it: shown
    # once shown, answers are kept again (the cache is in use, not merely bypassed)
    wait_for(lambda: all(_get(url, user, admin_key)["cache"] == "hit" for url in api_urls for _ in range(4)),
             timeout_s=30)


def test_a_click_is_never_hidden_by_a_kept_answer_while_the_stream_lags(api_urls, admin_key, streaming):
    user = 994_000 + random.randrange(1_000)
    _warm(api_urls, user, admin_key)
    streaming.stop()
    try:
        acked = _click(api_urls[0], user, admin_key)
        seen = _poll(api_urls, user, admin_key, 2.5)
        late = [s for s in seen if s["at"] > acked + CONTRACT_S]
        assert late and all(s["computed_at"] >= acked for s in late), \
            [s for s in late if s["computed_at"] < acked][:3]
        assert all(s["cache"] == "miss" for s in late)    # nothing reflecting the click exists yet: none is kept
    finally:
        streaming.start()
    wait_for(lambda: all(CLICKED in _get(url, user, admin_key)["recent"] for url in api_urls for _ in range(3)),
             timeout_s=180)


def test_a_new_model_version_is_served_by_every_process_within_five_seconds(api_urls, admin_key, prepared):
    registry = ModelRegistry(prepared)
    active = registry.active()
    assert active is not None and registry.pinned() is None
    user = 995_000 + random.randrange(1_000)
    _warm(api_urls, user, admin_key)
    flipped = "99991231T235959999999Z"       # sorts after every real version: the newest, so the active one
    staging = registry.root / f".{flipped}.partial"
    shutil.copytree(registry.root / active, staging)
    try:
        staging.rename(registry.root / flipped)
        started = time.time()

        def everywhere() -> bool:
            return all(_get(url, user, admin_key)["model_version"] == flipped for url in api_urls for _ in range(4))
        wait_for(everywhere, timeout_s=30, interval_s=0.05)
        assert time.time() - started <= 5.0
    finally:
        shutil.rmtree(registry.root / flipped, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)
    wait_for(lambda: all(_get(url, user, admin_key)["model_version"] == active for url in api_urls for _ in range(4)),
             timeout_s=30)


def test_the_answer_cache_is_counted_in_metrics(api_urls, admin_key):
    text = requests.get(f"{api_urls[0]}/metrics", timeout=10).text
    for result in ("hit", "miss", "stored", "invalidated"):
        assert f'animerec_answer_cache_total{{result="{result}"}}' in text
    assert "animerec_answer_cache_bytes" in text



def test_the_follower_hands_on_each_acknowledged_event_and_knows_up_to_when(settings):
    from config import registry
    from ingest.events import Event
    from ingest.follower import EventFollower
    from ingest.producer import EventProducer

    seen = []
    follower = EventFollower(settings, [t.name for t in registry.ANSWER_TOPICS],
                             lambda user, event_id: seen.append((user, event_id)))
    follower.start()
    producer = EventProducer(settings)
    try:
        wait_for(lambda: follower.lag_s() < 1.0, timeout_s=30)
        user = 996_000 + random.randrange(1_000)
        event = Event(event_id=f"follow-{user}", kind="view", user_id=user, anime_id=CLICKED,
                      timestamp=int(time.time() * 1000))
        producer.publish(event)
        acked = time.monotonic()
        # once the follower vouches for a moment after the acknowledgement, it has handed the event on
        wait_for(lambda: follower.seen_until > acked, timeout_s=10, interval_s=0.01)
        assert (user, event.event_id) in seen
    finally:
        producer.close()
        follower.stop()

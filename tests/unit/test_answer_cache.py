"""The answer cache's contract (api/answers.py): what it may serve, when it must stop, what it keeps."""
from __future__ import annotations

import pytest

from api.answers import ENTRY_OVERHEAD, AnswerCache


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


def cache_of(clock, max_bytes=1 << 20, ttl_s=30.0, lag_s=0.5, seen=None, **kw) -> AnswerCache:
    """A cache whose follower is caught up to ``seen`` (default: always up to now)."""
    return AnswerCache(max_bytes, ttl_s=ttl_s, max_lag_s=lag_s,
                       seen_until=seen if seen is not None else (lambda: clock.now), clock=clock, **kw)


def keep(cache, user=1, key="k", versions=(1,), reflected=(), started=None, body=b'{"items":[1,2]}'):
    return cache.put(user, key, versions, body, [1, 2], started or cache.begin(), reflected)


def test_a_kept_answer_is_served_under_the_same_versions(clock):
    cache = cache_of(clock)
    keep(cache)
    assert cache.get(1, "k", (1,)).body == b'{"items":[1,2]}'
    assert cache.counts["hit"] == 1


def test_another_version_or_key_or_user_is_a_miss(clock):
    cache = cache_of(clock)
    keep(cache)
    assert cache.get(1, "k", (2,)) is None
    assert cache.get(1, "other", (1,)) is None
    assert cache.get(2, "k", (1,)) is None
    assert cache.counts["miss"] == 3


def test_an_answer_does_not_outlive_the_global_staleness_bound(clock):
    cache = cache_of(clock, ttl_s=30.0)
    keep(cache)
    clock.now += 29.9
    assert cache.get(1, "k", (1,)) is not None
    clock.now += 0.2
    assert cache.get(1, "k", (1,)) is None


def test_an_event_drops_the_users_answers_and_only_theirs(clock):
    cache = cache_of(clock)
    keep(cache, user=1)
    keep(cache, user=2)
    clock.now += 1
    cache.invalidate(1, "e1")
    assert cache.get(1, "k", (1,)) is None
    assert cache.get(2, "k", (1,)) is not None


def test_an_answer_whose_computation_overlapped_an_event_is_not_kept(clock):
    cache = cache_of(clock)
    started = cache.begin()
    clock.now += 0.01
    cache.invalidate(1, "e1")        # seen while the answer was being computed
    clock.now += 0.01
    keep(cache, started=started, reflected=["e1"])
    assert cache.get(1, "k", (1,)) is None
    assert cache.counts["refused"] == 1


def test_after_an_event_nothing_is_kept_until_an_answer_reflects_it(clock):
    cache = cache_of(clock)
    cache.invalidate(1, "e1")
    clock.now += 0.1
    keep(cache, reflected=["older"])          # computed before the stream wrote e1
    assert cache.get(1, "k", (1,)) is None
    clock.now += 0.1
    keep(cache, reflected=["e1", "older"])    # the stream has written it
    assert cache.get(1, "k", (1,)) is not None


def test_a_pending_event_never_reflected_stops_blocking_after_its_bound(clock):
    cache = cache_of(clock, pending_max_s=5.0)
    cache.invalidate(1, "lost")
    clock.now += 5.1
    keep(cache, reflected=[])
    assert cache.get(1, "k", (1,)) is not None


def test_nothing_is_served_while_the_follower_is_behind(clock):
    seen = {"until": clock.now}
    cache = cache_of(clock, lag_s=0.5, seen=lambda: seen["until"])
    keep(cache)
    clock.now += 0.4
    assert cache.get(1, "k", (1,)) is not None
    clock.now += 0.2                 # the follower has not confirmed anything for 0.6 s: an event may be unseen
    assert cache.get(1, "k", (1,)) is None
    assert cache.counts["bypassed"] == 1
    seen["until"] = clock.now
    assert cache.get(1, "k", (1,)) is not None


def test_without_a_follower_nothing_is_served(clock):
    cache = AnswerCache(1 << 20, seen_until=None, clock=clock)
    keep(cache)
    assert cache.get(1, "k", (1,)) is None


def test_memory_stays_under_its_bound_with_the_least_recently_used_out(clock):
    body = b"{" + b"x" * 2000 + b"}"
    size = len(body) + 16 + ENTRY_OVERHEAD
    cache = cache_of(clock, max_bytes=50 * size)
    for user in range(1, 1001):
        keep(cache, user=user, body=body)
        assert cache.size_bytes <= 50 * size
    assert cache.counts["evicted"] > 900
    assert cache.get(1000, "k", (1,)) is not None
    assert cache.get(1, "k", (1,)) is None


def test_zero_memory_keeps_nothing(clock):
    cache = cache_of(clock, max_bytes=0)
    keep(cache)
    assert cache.get(1, "k", (1,)) is None
    assert cache.size_bytes == 0

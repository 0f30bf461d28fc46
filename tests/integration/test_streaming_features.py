"""A replayed file goes Kafka -> Flink SQL -> Cassandra, and every feature the job wrote matches the
plain-Python definition (streaming/definitions.py) computed from the same events."""
from __future__ import annotations

import random
import time

import pytest

from ingest.events import Event
from ingest.frames import read_anime, read_ratings
from ingest.producer import BulkProducer
from ingest.replay import Clock, as_events, genre_lookup, replay_events
from config.registry import TITLE_WINDOWS
from streaming.definitions import title_rows, user_rows
from tests.integration.conftest import wait_for

USERS = 25
RUN = random.randrange(1, 10_000)
# ids no other test (or earlier session on a restored checkpoint) uses, so totals are this replay's alone
USER_BASE, ANIME_BASE = 1_000_000 + RUN * 1_000, RUN * 100_000


@pytest.fixture(scope="module")
def replayed(settings, store, streaming):
    ratings = read_ratings(settings.ratings_csv)
    ratings = ratings[ratings["user_id"].isin(sorted(ratings["user_id"].unique())[:USERS])].head(400)
    ratings = ratings.assign(user_id=ratings["user_id"] + USER_BASE, anime_id=ratings["anime_id"] + ANIME_BASE)
    real_genres = genre_lookup(read_anime(settings.anime_csv))
    genres_of = lambda anime_id: real_genres(anime_id - ANIME_BASE)  # noqa: E731
    # A clock ahead of anything the job has seen (400 days from now, or later than an earlier run of this test
    # on the same stack), so its event-time windows see only these events and none of them is late; a fresh
    # seed gives fresh event ids, so a job restored from an earlier session's checkpoint counts them.
    seen = max((r["last_event_at"] or 0 for r in store.all_title_features().values()), default=0)
    start = max(int(time.time() * 1000) + 400 * 86_400_000, seen + 2 * 86_400_000)
    events = replay_events(ratings, Clock(seed=RUN, start_ms=start))
    producer = BulkProducer(settings)
    for event in as_events(events, genres_of):
        producer.send(event)
    for event in as_events(events.head(20), genres_of):   # a replay of the first events: must count once
        producer.send(event)
    # Event-time windows close as the stream's time moves on (a live stream does that by itself): events of
    # other users and a title of their own, two days after the replay, on every partition of every topic.
    later = int(events["timestamp"].max()) + 2 * 86_400_000
    for i in range(60):
        for kind in ("view", "click", "rating"):
            producer.send(Event(event_id=f"tick-{RUN}-{i}-{kind}", kind=kind, user_id=USER_BASE + 900 + i,
                                anime_id=ANIME_BASE + 99_999, timestamp=later, rating=5 if kind == "rating" else None))
    producer.close()
    wait_for(lambda: all(store.get_event(e) for e in events["event_id"].tail(5)), timeout_s=120)
    users = sorted(events["user_id"].unique())
    wait_for(lambda: all((store.user_features(int(u)) or {}).get("events") == n
                         for u, n in events.groupby("user_id").size().items()), timeout_s=60)
    # A window row is written as the watermark passes each event; the last one is as of the title's latest event.
    titles = [int(a) for a in events["anime_id"].unique()]
    def windows_current(rows: dict) -> bool:
        return len(rows) == len(titles) and all(r.get(f"window_at_{w.name}") == r["last_event_at"]
                                                for r in rows.values() for w in TITLE_WINDOWS)
    wait_for(lambda: windows_current(store.title_features(titles)), timeout_s=60)
    return events, genres_of, users


def test_every_event_lands_once(replayed, store):
    events, _, users = replayed
    stored = sum(len(store.recent_events(int(u), limit=10_000)) for u in users)
    assert stored == len(events)


def test_title_features_match_the_python_definition(replayed, store):
    events, _, _ = replayed
    expected = title_rows(events)
    got = store.title_features(list(expected))
    assert set(got) == set(expected)
    for anime_id, want in expected.items():
        row = got[anime_id]
        for column, value in want.items():
            assert row[column] == pytest.approx(value), (anime_id, column)


def test_user_features_match_the_python_definition(replayed, store):
    events, genres_of, users = replayed
    expected = user_rows(events, genres_of)
    for user_id, want in expected.items():
        row = store.user_features(user_id)
        for column, value in want.items():
            if column == "genre_affinity":
                assert row[column] == pytest.approx(value, rel=1e-9), user_id
            else:
                assert row[column] == value, (user_id, column)


def test_ratings_in_the_stream_reach_ratings_by_user(replayed, store):
    events, _, users = replayed
    rated = events[events["kind"] == "rating"]
    user = int(users[0])
    want = {int(a): int(r) for a, r in rated[rated["user_id"] == user][["anime_id", "rating"]].itertuples(index=False)}
    got = {r["anime_id"]: r["rating"] for r in store.user_ratings(user)}
    assert got == want

"""A replayed file goes Kafka -> Flink SQL -> Cassandra, and every feature the job wrote matches the
plain-Python definition (streaming/definitions.py) computed from the same events."""
from __future__ import annotations

import random
import time

import pytest

from ingest.frames import read_anime, read_ratings
from ingest.producer import BulkProducer
from ingest.replay import Clock, as_events, genre_lookup, replay_events
from config.registry import DAY_MS, RECENT_EVENTS
from store.interfaces import to_ms
from streaming.definitions import genre_activity_rows, title_rows, user_rows
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
    # A fresh seed gives fresh event ids, so a job restored from an earlier session's checkpoint counts them.
    events = replay_events(ratings, Clock(seed=RUN, start_ms=int(time.time() * 1000) - 30 * 86_400_000))
    past_days = sorted({int(t) // DAY_MS for t in events["timestamp"]} - {int(time.time() * 1000) // DAY_MS})
    activity_before = _activity(store, past_days)
    producer = BulkProducer(settings)
    for event in as_events(events, genres_of):
        producer.send(event)
    for event in as_events(events.head(20), genres_of):   # a replay of the first events: must count once
        producer.send(event)
    producer.close()
    users = sorted(events["user_id"].unique())
    wait_for(lambda: all((store.user_features(int(u)) or {}).get("events") == n
                         for u, n in events.groupby("user_id").size().items()), timeout_s=120)
    expected_titles = title_rows(events)
    def titles_done(rows: dict) -> bool:
        return len(rows) == len(expected_titles) and all(
            (r["clicks"], r["views"]) == (expected_titles[a]["clicks"], expected_titles[a]["views"])
            for a, r in rows.items())
    wait_for(lambda: titles_done(store.title_features(list(expected_titles))), timeout_s=60)
    return events, genres_of, users, (past_days, activity_before)


def _activity(store, days) -> dict:
    return {(r["day"], r["genre"]): {c: r[c] for c in ("clicks", "views", "ratings")}
            for r in store.genre_activity(days)}


def test_genre_activity_per_day_matches_the_python_definition(replayed, store):
    """Only days before today: the other tests' events (sent now) count today."""
    events, genres_of, _, (past_days, before) = replayed
    want = {key: counts for key, counts in genre_activity_rows(events, genres_of).items() if key[0] in past_days}
    seen = []

    def added() -> dict:
        after = _activity(store, past_days)
        grown = {key: {c: n - before.get(key, {}).get(c, 0) for c, n in counts.items()} for key, counts in after.items()}
        seen.append({key: counts for key, counts in grown.items() if any(counts.values())})
        return seen[-1]
    wait_for(lambda: added() == want, timeout_s=30, interval_s=1, seen=seen)


def test_every_event_lands_once(replayed, store):
    events, _, users, _ = replayed
    assert all(store.get_event(int(u), e) for u, e in zip(events["user_id"], events["event_id"]))
    counted = sum(store.user_features(int(u))["events"] for u in users)   # the 20 replayed ones count once
    assert counted == len(events)


def test_title_features_match_the_python_definition(replayed, store):
    events, _, _, _ = replayed
    expected = title_rows(events)
    got = store.title_features(list(expected))
    assert set(got) == set(expected)
    for anime_id, want in expected.items():
        row = got[anime_id]
        for column, value in want.items():
            assert row[column] == pytest.approx(value), (anime_id, column)


def test_user_features_match_the_python_definition(replayed, store):
    events, genres_of, users, _ = replayed
    expected = user_rows(events, genres_of)
    for user_id, want in expected.items():
        row = store.user_features(user_id)
        for column, value in want.items():
            if column == "genre_affinity":
                assert row[column] == pytest.approx(value, rel=1e-9), user_id
            elif column == "recent":
                got = [{**e, "ts": to_ms(e["ts"])} for e in store.recent_events(user_id, RECENT_EVENTS)]
                assert got == value, user_id
            else:
                assert row[column] == value, (user_id, column)


def test_ratings_in_the_stream_reach_ratings_by_user(replayed, store):
    events, _, users, _ = replayed
    rated = events[events["kind"] == "rating"]
    user = int(users[0])
    want = {int(a): int(r) for a, r in rated[rated["user_id"] == user][["anime_id", "rating"]].itertuples(index=False)}
    got = {r["anime_id"]: r["rating"] for r in store.user_ratings(user)}
    assert got == want

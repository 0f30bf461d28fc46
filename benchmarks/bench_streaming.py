"""Streaming throughput: Kafka -> Flink -> Cassandra events/s, beside a plain Kafka consumer on the same topics.

A backlog of replayed events (ingest/replay.py, the real ratings of the first users, fresh ids) is
published while the streaming job is stopped; the job is started and the benchmark times from the
first of those events reaching Cassandra to the last (per-user event totals, summed). The reference
ceiling, measured in the same run: a plain Python Kafka consumer reading the same backlog.
Needs the stack up (``make bench`` starts it); the API stays up throughout.
"""
from __future__ import annotations

import random
import sys
import time

from config import load_settings
from ingest.frames import read_anime, read_ratings
from ingest.producer import BulkProducer
from ingest.topics import end_offsets, read_range
from ingest.replay import Clock, as_events, genre_lookup, replay_events
from ops.services import StreamingService
from store import open_store

USERS = 600


def main(argv: list[str]) -> int:
    settings = load_settings()
    store = open_store(settings)
    run = random.randrange(1, 10_000)
    ratings = read_ratings(settings.ratings_csv)
    users = sorted(ratings["user_id"].unique())[:USERS]
    ratings = ratings[ratings["user_id"].isin(users)].assign(user_id=lambda f: f["user_id"] + 3_000_000 + run * 10_000)
    events = replay_events(ratings, Clock(seed=run, start_ms=int(time.time() * 1000) + 800 * 86_400_000))
    per_user = events.groupby("user_id").size()
    streaming = StreamingService(settings)
    streaming.stop()
    start = end_offsets(settings)
    producer = BulkProducer(settings)
    began = time.perf_counter()
    for event in as_events(events, genre_lookup(read_anime(settings.anime_csv))):
        producer.send(event)
    producer.close()
    produce_s = time.perf_counter() - began
    end = end_offsets(settings)
    print(f"backlog: {len(events):,} replayed events of {len(per_user)} users published in {produce_s:.1f} s "
          f"({len(events) / produce_s:,.0f}/s, kafka-python producer)")

    began = time.perf_counter()
    seen = read_range(settings, start, end)
    seconds = time.perf_counter() - began
    print(f"reference  plain Kafka consumer (kafka-python, 1 thread): {seen:,} messages in {seconds:.1f} s = "
          f"{seen / seconds:,.0f} events/s")

    streaming.start()
    ids = [int(u) for u in per_user.index]
    first = last = None
    deadline = time.time() + 900
    while time.time() < deadline:
        landed = sum((store.user_features(u) or {}).get("events") or 0 for u in ids)
        now = time.perf_counter()
        if landed and first is None:
            first, first_n = now, landed
        if landed >= len(events):
            last = now
            break
        time.sleep(0.5)
    if last is None:
        print("streaming job did not drain the backlog within 15 minutes")
        return 1
    rate = (len(events) - first_n) / max(last - first, 1e-9)
    print(f"streaming  Kafka -> Flink -> Cassandra: {len(events):,} events, {len(events) - first_n:,} of them in "
          f"{last - first:.1f} s after the first landed = {rate:,.0f} events/s (API up)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Streaming throughput: Kafka -> Flink -> Cassandra events/s, beside a plain Kafka consumer on the same topics.

A backlog of replayed events (ingest/replay.py, the real ratings of the first users, fresh ids) is
published while the streaming job is stopped; the job is started and the benchmark times from the
first of those events reaching Cassandra to the last (the last event of every partition stored), then
checks that the per-user event totals add up to exactly what was published. The reference
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
from ingest.topics import end_offsets, partition_ends, read_range
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
    genres = genre_lookup(read_anime(settings.anime_csv))
    for event in as_events(events, genres):
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

    # Each partition is read in order: once its last event is in Cassandra, so is the rest of it.
    # Polling those few rows (not every user's totals) keeps the benchmark off the CPU it measures.
    sent = list(as_events(events, genres))
    firsts, lasts = partition_ends(settings, sent)
    streaming.start()
    first = last = None
    deadline = time.time() + 900
    while time.time() < deadline:
        now = time.perf_counter()
        if first is None and any(store.get_event(e) for e in firsts):
            first = now
        if first is not None and all(store.get_event(e) for e in lasts):
            last = now
            break
        time.sleep(0.1)
    if last is None:
        print("streaming job did not drain the backlog within 15 minutes")
        return 1
    def totals() -> int:
        return sum((store.user_features(int(u)) or {}).get("events") or 0 for u in per_user.index)

    landed, settle = totals(), time.time() + 15  # the other sinks' last flushes
    while landed != len(events) and time.time() < settle:
        time.sleep(1)
        landed = totals()
    rate = len(events) / max(last - first, 1e-9)
    print(f"streaming  Kafka -> Flink -> Cassandra: {len(events):,} events from first landed to last landed in "
          f"{last - first:.1f} s = {rate:,.0f} events/s (API up); user totals count {landed:,} "
          f"({landed - len(events):+,} vs published: lost < 0, double counted > 0)")
    return 0 if landed == len(events) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

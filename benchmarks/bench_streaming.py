"""Streaming throughput: Kafka -> Flink -> Cassandra events/s, beside a plain Kafka consumer on the same topics.

A backlog of replayed events (ingest/replay.py: every user of the ratings sample, three copies under fresh
ids and seeds -- ~3M events, so that the drain spans several checkpoints) is published while the streaming job is stopped; the job is started and the benchmark times the drain:
from the first of those events reaching Cassandra to the last (the last event of every partition stored,
and the features of those events' users complete), and the steady part of it: the job's consumer group commits
its Kafka offsets when a checkpoint completes (each event's writes done), so the events committed from the first
checkpoint of the drain to its last, over the time between them, is the rate with the restarted JVM's start
left out (its lag is sampled twice a second; a quarter-of-each-partition mark polled in Cassandra fired with
the first flush, not after a quarter of the drain, so it no longer decides the window). Then it
checks that the per-user event totals add up to exactly what was published. The reference ceiling,
measured in the same run: a plain Kafka consumer (librdkafka, the fastest client Python has) reading the
same backlog. Also printed: the rate over the drain's second half (the job's JVM, new for the drain, has
compiled its hot code by then), and the CPU each service used during the drain, with its JVMs' JIT share.
Needs the stack up (``make bench`` starts it); the API stays up. The benchmark holds every batch job's lock
throughout, so the scheduler skips a slot that falls in it (a Spark job on the same two cores would halve the
drain); the scheduler's CPU is printed with the others to show it idle.
"""
from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from contextlib import ExitStack

import pandas as pd

from config import load_settings
from ingest.frames import read_anime, read_ratings
from ingest.producer import BulkProducer
from ingest.topics import consumer_lag, end_offsets, partition_marks, read_range
from ingest.replay import Clock, as_events, ending_at, genre_lookup, replay_events
from batch.runner import JobBusy, job_lock
from benchmarks.timing import CpuMeter
from config.registry import JOBS
from ops.services import ApiService, CassandraService, KafkaService, SchedulerService, StreamingService
from store import open_store
from streaming.job import latest_checkpoint

COPIES = 3   # the sample's 4,000 users replayed 3 times under fresh ids: ~3M events, a drain of several checkpoints


def backlog(settings, run: int, copies: int) -> pd.DataFrame:
    """The replayed stream of every user of the sample, ``copies`` times over (each copy its own user ids and
    seeded clock: a workload fitted to the real sample, larger than it), ending now."""
    ratings = read_ratings(settings.ratings_csv)   # user ids below 10,000: each copy shifts them by 10,000
    now = int(time.time() * 1000)
    # history up to now: future times would hold the dev stack's title windows for as long
    copy = lambda c: ratings.assign(user_id=ratings["user_id"] + 3_000_000 + (run * 10 + c) * 10_000)  # noqa: E731
    return pd.concat([ending_at(replay_events(copy(c), Clock(seed=run * 10 + c)), now) for c in range(copies)],
                     ignore_index=True)


def hold_batch_jobs(settings, stack: ExitStack, wait_s: float = 1800) -> None:
    """Take every batch job's lock (waiting for a run in progress to end) and hold it until ``stack`` closes:
    a scheduled Spark job then skips its slot instead of sharing the two cores with the drain it would spoil."""
    deadline = time.time() + wait_s
    for job in JOBS:
        while True:
            try:
                stack.enter_context(job_lock(settings, job))
                break
            except JobBusy:
                if time.time() > deadline:
                    raise
                print(f"waiting for the batch job {job} to finish before timing")
                time.sleep(10)


def main(argv: list[str]) -> int:
    with ExitStack() as stack:
        hold_batch_jobs(load_settings(), stack)
        return drain(argv)


def drain(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_streaming")
    parser.add_argument("--copies", type=int, default=COPIES, help=f"copies of the sample's users (default {COPIES})")
    args = parser.parse_args(argv)
    settings = load_settings()
    store = open_store(settings)
    run = random.randrange(1, 1_000)
    events = backlog(settings, run, args.copies)
    per_user = events.groupby("user_id").size()
    streaming = StreamingService(settings)
    streaming.stop()
    start = end_offsets(settings)
    sent = list(as_events(events, genre_lookup(read_anime(settings.anime_csv))))
    producer = BulkProducer(settings)
    began = time.perf_counter()
    for event in sent:
        producer.send(event)
    producer.close()
    produce_s = time.perf_counter() - began
    end = end_offsets(settings)
    print(f"backlog: {len(events):,} replayed events of {len(per_user)} users published in {produce_s:.1f} s "
          f"({len(events) / produce_s:,.0f}/s, librdkafka producer)")

    began = time.perf_counter()
    seen = read_range(settings, start, end)
    seconds = time.perf_counter() - began
    print(f"reference  plain Kafka consumer (librdkafka, 1 thread): {seen:,} messages in {seconds:.1f} s = "
          f"{seen / seconds:,.0f} events/s")

    # Each partition is read in order: once an event is in Cassandra, so is the rest of its partition before it.
    # Polling those few rows (not every user's totals) keeps the benchmark off the CPU it measures.
    firsts, lasts = partition_marks(settings, sent, (0.0, 1.0))
    user_of = {e.event_id: e.user_id for e in sent}
    last_users = {user_of[e] for e in lasts}
    if streaming.running() or any(store.get_event(user_of[e], e) for e in firsts):
        print("the streaming job ran while the backlog was published (something started it again): no drain to time")
        return 1
    state_before = checkpoint_mb(settings)
    lags = LagSampler(settings)
    streaming.start()
    lags.start()
    cpu = CpuMeter({"flink": streaming, "cassandra": CassandraService(settings), "kafka": KafkaService(settings),
                    "api": ApiService(settings), "batch": SchedulerService(settings)})
    at: dict[str, float] = {}
    checkpoint_at: dict[str, int] = {}
    marks = {"first": lambda: any(store.get_event(user_of[e], e) for e in firsts),
             "last": lambda: all(store.get_event(user_of[e], e) for e in lasts) and all(
                 (store.user_features(u) or {}).get("events") == per_user[u] for u in last_users)}
    deadline = time.time() + 900
    while len(at) < len(marks) and time.time() < deadline:
        now = time.perf_counter()
        for name, reached in marks.items():
            if name not in at and reached():
                at[name] = now
                checkpoint_at[name] = checkpoint_number(settings)
                if name == "first":
                    cpu.start()
                break
        time.sleep(0.05)
    if len(at) < len(marks):
        print("streaming job did not drain the backlog within 15 minutes")
        return 1
    cpu.stop()
    lags.stop()

    def totals() -> int:
        return sum((store.user_features(int(u)) or {}).get("events") or 0 for u in per_user.index)

    landed, settle = totals(), time.time() + 15  # the other users' last flushes
    while landed != len(events) and time.time() < settle:
        time.sleep(1)
        landed = totals()
    seconds = at["last"] - at["first"]
    commits = lags.commits()
    # From the first commit of the drain to its last -- only meaningful when most of the backlog was committed
    # between them (a drain of one or two checkpoint intervals commits most of it at the first).
    (t0, lag0), (t1, lag1) = commits[0] if commits else (0.0, 0), commits[-1] if commits else (0.0, 0)
    if len(commits) >= 3 and lag0 - lag1 >= len(events) / 2:
        steady = (f"steady (offsets committed from the drain's first checkpoint to its last) "
                  f"{(lag0 - lag1) / (t1 - t0):,.0f} events/s over {t1 - t0:.1f} s and {len(commits) - 1} "
                  f"checkpoint interval(s)")
    else:
        steady = (f"steady: the drain spanned too few checkpoints to measure between them ({len(commits)} commit(s) "
                  f"seen, {lag0 - lag1:,} events committed from the first to the last)")
    # The second half of the drain: the JVM just started for it has compiled its hot code by then (the JIT's
    # share is printed below), so this is nearer what a job that has been running for a while sustains.
    late = [(t, lag) for t, lag in commits if t >= (at["first"] + at["last"]) / 2]
    if len(late) >= 2 and late[0][1] > late[-1][1]:
        (u0, lag_u0), (u1, lag_u1) = late[0], late[-1]
        steady += (f"; second half (commits from the drain's midpoint on) {(lag_u0 - lag_u1) / (u1 - u0):,.0f} "
                   f"events/s over {u1 - u0:.1f} s")
    print(f"streaming  Kafka -> Flink -> Cassandra (API up): {len(events):,} events drained in {seconds:.1f} s = "
          f"{len(events) / seconds:,.0f} events/s from the first landed; {steady} (checkpoints every "
          f"{settings.flink.checkpoint_interval_ms / 1000:g} s; {checkpoint_at['last'] - checkpoint_at['first']} "
          f"completed from the first landed to the last); user totals count {landed:,} "
          f"({landed - len(events):+,} vs published: lost < 0, double counted > 0)")
    print(f"job state (size of its latest checkpoint): {state_before:,.0f} MB before the drain, "
          f"{checkpoint_mb(settings):,.0f} MB after (the dedup window's event ids and the attribution's "
          f"waiting events grow with each event; each checkpoint copies it all)")
    print("CPU during the drain (cores busy on average, of 2): " + ", ".join(
        f"{name} {used / seconds:.2f}" for name, used in cpu.used.items())
          + "; per 1,000 events: " + ", ".join(f"{name} {used / len(events) * 1e6:.0f} ms"
                                             for name, used in cpu.used.items())
          + "; of which JIT compilation (a JVM's warm-up): " + ", ".join(
              f"{name} {cpu.jit[name] / seconds:.2f} cores" for name in ("flink", "cassandra", "kafka")))
    return 0 if landed == len(events) else 1


class LagSampler(threading.Thread):
    """The streaming group's total consumer lag, sampled every ``every_s`` until stopped."""

    def __init__(self, settings, every_s: float = 0.5):
        super().__init__(daemon=True)
        self.settings, self.every_s, self.samples = settings, every_s, []
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.samples.append((time.perf_counter(), sum(consumer_lag(self.settings).values())))
            except Exception:    # a sample missed is only a coarser curve
                pass
            self._stop_event.wait(self.every_s)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)

    def commits(self) -> list[tuple[float, int]]:
        """(time, lag) at each sample where the lag fell: the checkpoints' offset commits."""
        return [(t, lag) for (_, before), (t, lag) in zip(self.samples, self.samples[1:]) if lag < before]


def checkpoint_mb(settings) -> float:
    try:   # Flink may remove a retained checkpoint under our feet: then the newer one
        latest = latest_checkpoint(settings)
        return sum(f.stat().st_size for f in latest.rglob("*") if f.is_file()) / 1e6 if latest else 0.0
    except FileNotFoundError:
        return checkpoint_mb(settings)


def checkpoint_number(settings) -> int:
    """The number of the streaming job's latest completed checkpoint (they count on across restores)."""
    latest = latest_checkpoint(settings)
    return int(latest.name.split("-")[1]) if latest else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

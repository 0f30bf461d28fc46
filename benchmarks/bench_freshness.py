"""Freshness under load: a click's effect on ``/recommends``, while replay posts ≥ 1,000 events/s through the API.

A probe posts a click for a fresh user on a popular title, then polls until the user's
``/recommends`` lists it in ``recent`` and leaves it out of ``items`` and ``/recall`` offers
candidates of the ``recent`` (seed-neighbour) source; the time from the click's 202 to that
answer is its freshness. Probes run first on the idle stack (the in-run reference), then while
the replay of real ratings (ingest/replay.py; fresh user ids, a clock ending before now, so its
events move no event-time window) is posted through ``POST /events`` at a fixed rate. The server's
own ``/health`` latency is printed beside them. Needs the stack up (``make bench`` starts it).
"""
from __future__ import annotations

import random
import sys
import threading
import time

import numpy as np
import requests

from benchmarks.load import api_key
from config import load_settings, registry
from ingest.frames import read_anime, read_ratings
from ingest.poster import ApiPoster
from ingest.replay import Clock, Pacer, as_events, genre_lookup, publish, replay_events

RATE = 1_000          # events/s posted by the replay
BATCH = 50            # events per POST /events
SECONDS = 75          # load duration
PROBES_IDLE, PROBES_LOADED = 15, 50
PROBE_TITLES = (5114, 1535, 16498, 1575, 11757, 4224, 9253, 6547, 20, 30276)
POLL_S = 0.02


def _visible(http: requests.Session, url: str, user: int, anime_id: int) -> bool:
    body = http.get(f"{url}/recommends/{user}?k=10", timeout=10).json()
    if anime_id not in [e["anime_id"] for e in body.get("recent", [])]:
        return False
    if anime_id in [i["anime_id"] for i in body.get("items", [])]:
        return False
    recall = http.get(f"{url}/recall/{user}?k=100", timeout=10).json()
    return any(registry.SEED_SOURCE in (c.get("ranks") or {}) for c in recall.get("items", []))


def probe(http: requests.Session, url: str, user: int, anime_id: int, timeout_s: float = 30.0) -> float:
    """Seconds from a click's 202 to its visibility in /recommends (inf if never within ``timeout_s``)."""
    answer = http.post(f"{url}/clicks", json={"user_id": user, "anime_id": anime_id}, timeout=10)
    answer.raise_for_status()
    acked = time.perf_counter()
    while time.perf_counter() - acked < timeout_s:
        if _visible(http, url, user, anime_id):
            return time.perf_counter() - acked
        time.sleep(POLL_S)
    return float("inf")


def _line(name: str, seconds: list[float]) -> str:
    a = np.array(seconds) * 1000
    return (f"{name:<34} n={len(a):>3}  p50 {np.percentile(a, 50):7.0f} ms  p99 {np.percentile(a, 99):7.0f} ms  "
            f"max {a.max():7.0f} ms")


def health_latency(http: requests.Session, url: str, n: int = 200) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        http.get(f"{url}/health", timeout=10)
        out.append(time.perf_counter() - t0)
    return out


def main(argv: list[str]) -> int:
    settings = load_settings()
    url = settings.api_url
    http = requests.Session()
    key = api_key(settings)
    if key:
        http.headers["X-API-Key"] = key
    run = random.randrange(1, 10_000)
    users = iter(range(7_000_000 + run * 1_000, 7_000_000 + run * 1_000 + 1_000))

    print(_line("reference: GET /health (idle)", health_latency(http, url)))
    idle = [probe(http, url, next(users), PROBE_TITLES[i % len(PROBE_TITLES)]) for i in range(PROBES_IDLE)]
    print(_line("reference: click -> /recommends idle", idle))

    ratings = read_ratings(settings.ratings_csv)
    ratings = ratings.assign(user_id=ratings["user_id"] + 8_000_000 + run * 10_000)
    span_ms = 28 * 86_400_000
    events = replay_events(ratings, Clock(seed=run, start_ms=int(time.time() * 1000) - span_ms - 86_400_000))
    events = events.head(RATE * SECONDS)
    stream = as_events(events, genre_lookup(read_anime(settings.anime_csv)))
    acked = [0]

    def done(_event, ok):
        if ok:
            acked[0] += 1

    poster = ApiPoster(url, workers=4, batch=BATCH, on_done=done, api_key=key)
    began = time.perf_counter()
    load = threading.Thread(target=lambda: (publish(stream, poster.send, RATE), poster.close()), daemon=True)
    load.start()
    time.sleep(5)  # the load settles
    loaded, pacer = [], Pacer(PROBES_LOADED / (SECONDS - 15))
    for i in range(PROBES_LOADED):
        pacer.wait()
        if not load.is_alive():
            break
        loaded.append(probe(http, url, next(users), PROBE_TITLES[i % len(PROBE_TITLES)]))
    health_loaded = health_latency(http, url, 100) if load.is_alive() else []
    load.join()
    seconds = time.perf_counter() - began
    print(f"load: replay -> POST /events ({BATCH}/request) at {RATE:,}/s target: {acked[0]:,} events acknowledged "
          f"in {seconds:.1f} s = {acked[0] / seconds:,.0f}/s, {poster.failures} refused")
    if health_loaded:
        print(_line("reference: GET /health (loaded)", health_loaded))
    print(_line("click -> /recommends under load", loaded))
    missed = sum(1 for s in loaded if s == float("inf"))
    if missed:
        print(f"{missed} probes never became visible within 30 s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

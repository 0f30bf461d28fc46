"""``/recommends`` as traffic: many users, skewed popularity, cold users, events arriving all the while.

* **Population**: 50,000 user ids, the sample's users (with history) first in a seeded shuffle, then ids that
  have none (a fresh block per run); each request's user is drawn Zipf-like over that order (exponent
  ``ZIPF_S``), so ~78 % of requests are for users with history and a few users are asked for very often.
* **Events all the while**: the replay of real ratings (ingest/replay.py) is posted through ``POST /events`` at
  ``EVENTS_PER_S`` for users of the population's cold block (they gain a history during the run, and their
  events make the API processes drop their kept answers), from before the first phase to after the last.
* **Phases**, each beside ``GET /health`` measured the same way in the same run:
  closed loop (wrk, 8 connections): ``/health``, ``/recommends`` over the Zipf draw, the same with every answer
  computed (``Cache-Control: no-cache, no-store``: the cold path); open loop (vegeta at fixed rates, latency
  from each request's scheduled start, read from vegeta's per-request results): ``/recommends`` at ``RATES``,
  the cold path at ``COLD_RATE``; the freshness probe (a click, then ``/recommends`` polled every 20 ms until it
  shows it: benchmarks/bench_freshness.py) during ``FRESH_RATE`` req/s of ``/recommends``.
* Per phase it prints the answer cache's hit rate (the API's ``/metrics``, summed over its workers) and what
  the load generator itself cost in CPU.

Needs the stack up and wrk and vegeta (``make bench`` installs both).
"""
from __future__ import annotations

import argparse
import csv
import io
import random
import re
import resource
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import requests

from benchmarks.bench_freshness import probe
from benchmarks.bench_serving import settle
from benchmarks.load import api_key, replay_load, vegeta_binary, wrk
from config import load_settings

POPULATION = 50_000
ZIPF_S = 1.0
EVENTS_PER_S = 1_000
SECONDS = 15
RATES = (200, 500, 1_000)
COLD_RATE = 200
FRESH_RATE = 500
PROBES = 30
WARM_S = 30          # the API processes meet the population first (recall lists and neighbours not yet in memory)
NO_CACHE = "Cache-Control: no-cache, no-store"
CODES = "codes"


def population(ratings_csv: Path, cold_base: int, seed: int = 5) -> np.ndarray:
    """The population's ids in popularity order: the sample's users shuffled, then ids without history."""
    users = sorted(int(u) for u in pd.read_csv(ratings_csv, usecols=["user_id"])["user_id"].unique())
    random.Random(seed).shuffle(users)
    return np.array(users + list(range(cold_base, cold_base + POPULATION - len(users))), dtype=np.int64)


def zipf_draw(ids: np.ndarray, n: int, seed: int = 11) -> np.ndarray:
    weights = 1.0 / np.arange(1, len(ids) + 1) ** ZIPF_S
    return np.random.default_rng(seed).choice(ids, size=n, p=weights / weights.sum())


def cache_counts(url: str) -> dict[str, float]:
    text = requests.get(f"{url}/metrics", timeout=60).text
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r'^animerec_answer_cache_total\{result="(\w+)"\} ([0-9.e+]+)$', text, re.M)}


def hit_rate(before: dict, after: dict) -> str:
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    looked = delta.get("hit", 0) + delta.get("miss", 0) + delta.get("bypassed", 0)
    return (f"hit rate {delta.get('hit', 0) / looked:6.1%} ({int(delta.get('bypassed', 0))} bypassed, "
            f"{int(delta.get('invalidated', 0))} invalidations)" if looked else "no lookups")


def vegeta(url: str, paths: list[str], rate: float, seconds: float, key: str | None, header: str | None = None) -> dict:
    """GET ``paths`` in order at a fixed ``rate`` with vegeta; latency of each answer from its scheduled start
    (the attack's start + its sequence number / rate), whatever vegeta's workers were doing."""
    n = int(rate * seconds)
    with tempfile.TemporaryDirectory() as tmp:
        targets = Path(tmp) / "targets"
        targets.write_text("".join(f"GET {url}{paths[i % len(paths)]}\n" for i in range(n)))
        headers = [arg for h in (f"X-API-Key: {key}" if key else None, header) if h for arg in ("-header", h)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.perf_counter()
        attack = subprocess.run([vegeta_binary(), "attack", f"-rate={rate:g}/s", f"-duration={seconds:g}s",
                                 f"-targets={targets}", "-timeout=10s", "-max-workers=2000", *headers],
                                capture_output=True, timeout=seconds + 60, check=True)
        wall = time.perf_counter() - began
        encoded = subprocess.run([vegeta_binary(), "encode", "-to", "csv"], input=attack.stdout,
                                 capture_output=True, timeout=120, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    rows = list(csv.reader(io.StringIO(encoded.stdout.decode())))
    # columns: timestamp (ns), status, latency (ns), bytes out, bytes in, error, body, attack, seq, ...
    start = min(int(r[0]) for r in rows)
    done = [(int(r[8]), int(r[0]) + int(r[2]), int(r[1])) for r in rows]
    late = np.array([(end - start - seq * 1e9 / rate) / 1e6 for seq, end, code in done if 200 <= code < 300])
    codes: dict[int, int] = {}
    for _, _, code in done:
        codes[code] = codes.get(code, 0) + 1
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return {"requests": n, "ok": len(late), "codes": codes, "p50_ms": float(np.percentile(late, 50)) if len(late) else
            float("nan"), "p99_ms": float(np.percentile(late, 99)) if len(late) else float("nan"),
            "max_ms": float(late.max()) if len(late) else float("nan"), "cpu_cores": cpu / wall}


def _closed(name: str, result: dict, reference: float | None, target: float | None, rates: str) -> None:
    share = result["per_s"] / reference if reference else 1.0
    goal = "" if target is None else f"  {'met' if share >= target else 'MISSED'} (>= {target:.0%} of /health)"
    bad = result["status_4xx"] + result["status_5xx"] + result["socket_errors"]
    print(f"  {name:<46} {result['per_s']:>8.0f} {share:>8.1%} {result['p50_ms']:>8.1f} {result['p99_ms']:>8.1f}"
          f"  {rates}{goal}{f'  ({bad} not 2xx)' if bad else ''}", flush=True)


def _open(name: str, r: dict, target_ms: float | None, rates: str) -> None:
    goal = "" if target_ms is None else f"  {'met' if r['p99_ms'] <= target_ms else 'MISSED'} (p99 <= {target_ms:g} ms)"
    bad = r["requests"] - r["ok"]
    print(f"  {name:<46} {r['ok']:>6}/{r['requests']} 2xx  p50 {r['p50_ms']:7.1f}  p99 {r['p99_ms']:7.1f}  "
          f"max {r['max_ms']:7.1f} ms  generator {r['cpu_cores']:.2f} cores  {rates}{goal}"
          f"{f'  ({bad} not 2xx: {r[CODES]})' if bad else ''}",
          flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=SECONDS)
    parser.add_argument("--no-events", action="store_true", help="no replay load during the phases")
    parser.add_argument("--rates", type=lambda v: tuple(int(x) for x in v.split(",")), default=RATES,
                        help="open-loop rates, comma-separated (default: %(default)s)")
    args = parser.parse_args(argv)
    settings = load_settings()
    url, key = settings.api_url, api_key(settings)
    run = random.randrange(1, 1_000)
    cold_base = 60_000_000 + run * 100_000
    ids = population(settings.ratings_csv, cold_base)
    draw = [f"/recommends/{u}?k=10" for u in zipf_draw(ids, 200_000, seed=run)]
    history = sum(1 for u in zipf_draw(ids, 20_000, seed=run) if u < cold_base) / 20_000
    print(f"population: {POPULATION:,} ids (users with history first), Zipf s={ZIPF_S}: {history:.0%} of requests "
          f"for users with history; cold ids from {cold_base}")

    stop = threading.Event()
    load = None
    if not args.no_events:
        load = replay_load(settings, key, EVENTS_PER_S, stop, user_base=cold_base)
        print(f"events: replay -> POST /events at {EVENTS_PER_S:,}/s for users {cold_base}.. during every phase")
        time.sleep(5)
    try:
        warm = wrk(url, [f"GET {p}" for p in draw], seconds=WARM_S, key=key)
        print(f"\nwarm-up: {WARM_S} s of the Zipf mix ({warm['per_s']:.0f} req/s), not counted", flush=True)
        settle(url)
        print(f"\nclosed loop: wrk, 8 connections, {args.seconds:g} s each")
        print(f"  {'route':<46} {'2xx/s':>8} {'share':>8} {'p50 ms':>8} {'p99 ms':>8}")
        health = wrk(url, ["GET /health"], seconds=args.seconds, key=key)
        _closed("GET /health (reference)", health, None, None, "")
        before = cache_counts(url)
        warm = wrk(url, [f"GET {p}" for p in draw], seconds=args.seconds, key=key)
        _closed("GET /recommends, Zipf mix", warm, health["per_s"], 0.30, hit_rate(before, cache_counts(url)))
        settle(url)
        before = cache_counts(url)
        cold = wrk(url, [f"GET {p}" for p in draw], seconds=args.seconds, key=key, header=NO_CACHE)
        _closed("GET /recommends, Zipf mix, every answer computed", cold, health["per_s"], None,
                f"{'met' if cold['per_s'] >= 300 else 'MISSED'} (>= 300 req/s)  {hit_rate(before, cache_counts(url))}")
        settle(url)

        print(f"\nopen loop: vegeta, fixed rate, {args.seconds:g} s each, latency from each scheduled start")
        health_open = vegeta(url, ["/health"], max(args.rates), args.seconds, key)
        _open(f"GET /health at {max(args.rates)}/s (reference)", health_open, None, "")
        settle(url)
        for rate in args.rates:
            before = cache_counts(url)
            r = vegeta(url, draw, rate, args.seconds, key)
            _open(f"GET /recommends, Zipf mix, {rate}/s", r, 25.0 if rate == 1_000 else None,
                  hit_rate(before, cache_counts(url)))
            settle(url)
        r = vegeta(url, draw, COLD_RATE, args.seconds, key, header=NO_CACHE)
        _open(f"GET /recommends, every answer computed, {COLD_RATE}/s", r, 50.0, "")
        settle(url)

        print(f"\nfreshness: a click, then /recommends polled every 20 ms until it shows it, during {FRESH_RATE} "
              f"req/s of /recommends" + ("" if args.no_events else f" and {EVENTS_PER_S:,} events/s"))
        fresh = _freshness(url, key, draw, max(args.seconds, 45), run)
        print(f"  click -> changed list: n={len(fresh)}  p50 {np.percentile(fresh, 50):.0f} ms  "
              f"p99 {np.percentile(fresh, 99):.0f} ms  max {max(fresh):.0f} ms  "
              f"{'met' if np.percentile(fresh, 99) <= 1000 else 'MISSED'} (p99 <= 1,000 ms)")
    finally:
        stop.set()
        if load is not None:
            load.join(timeout=60)
    return 0


def _freshness(url: str, key: str | None, draw: list[str], seconds: float, run: int) -> list[float]:
    result: dict = {}
    background = threading.Thread(target=lambda: result.update(vegeta(url, draw, FRESH_RATE, seconds, key)))
    background.start()
    time.sleep(3)
    http = requests.Session()
    if key:
        http.headers["X-API-Key"] = key
    users = iter(range(90_000_000 + run * 1_000, 90_000_000 + run * 1_000 + 1_000))
    out, deadline = [], time.monotonic() + seconds - 8
    while time.monotonic() < deadline and len(out) < PROBES:
        out.append(probe(http, url, next(users), 5114) * 1000)
        time.sleep(0.2)
    background.join()
    _open(f"  (the load: /recommends at {FRESH_RATE}/s)", result, None, "")
    return out


if __name__ == "__main__":
    raise SystemExit(main())

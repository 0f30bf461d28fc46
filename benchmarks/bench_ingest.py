"""Ingest throughput: catalog, synopsis and ratings loads into a scratch keyspace, rows/s.

Every figure is printed next to two references measured in the same run against the same
Cassandra, so that a result can be read on a noisy or differently sized machine:

* ``ping``: sequential ``SELECT release_version FROM system.local`` round trips per second
  (``store.ping``), i.e. the per-request latency floor;
* ``row insert``: ratings written through ``store.upsert_ratings``, the plain prepared
  single-row INSERT path (``execute_concurrent_with_args``), rows per second.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_ingest.py                 # the real files
    PYTHONPATH=. .venv/bin/python benchmarks/bench_ingest.py --scale 4       # + synthetic ratings, 4x

``--scale K`` adds a synthetic ratings load of K times the sample's users: each synthetic user
is a real sample user's rating list drawn with replacement (bootstrap over users), so the
ratings-per-user, title popularity and score distributions are those of the sample; figures
from it are labelled synthetic. The scratch keyspace is dropped at the end unless ``--keep``.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config import load_settings  # noqa: E402
from ingest.catalog import load  # noqa: E402
from ingest.csv_rows import RATINGS, CsvParser  # noqa: E402


def ping_rate(store, seconds: float = 2.0) -> float:
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        store.ping()
        n += 1
    return n / (time.perf_counter() - t0)


def row_insert_rate(store, path: Path, rows: int, chunk: int = 5_000) -> float:
    with CsvParser(path, RATINGS) as parser:
        sample = [r for _, r in zip(range(rows), parser)]
    t0 = time.perf_counter()
    for i in range(0, len(sample), chunk):
        store.upsert_ratings(sample[i:i + chunk])
    return len(sample) / (time.perf_counter() - t0)


def synthetic_ratings(path: Path, scale: float, seed: int = 7) -> Iterator[str]:
    """CSV lines of ``scale`` x the sample's users, each a resampled real user's ratings."""
    by_user: dict[int, list[tuple[int, int]]] = {}
    with CsvParser(path, RATINGS) as parser:
        for u, a, r in parser:
            by_user.setdefault(u, []).append((a, r))
    profiles = list(by_user.values())
    rng = random.Random(seed)
    yield "user_id,anime_id,rating\n"
    for new_id in range(1, int(len(profiles) * scale) + 1):
        for a, r in rng.choice(profiles):
            yield f"{new_id},{a},{r}\n"


def main(argv: list[str] | None = None) -> int:
    s = load_settings()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keyspace", default="bench_ingest")
    ap.add_argument("--anime", type=Path, default=s.anime_csv)
    ap.add_argument("--synopsis", type=Path, default=s.synopsis_csv)
    ap.add_argument("--ratings", type=Path, default=s.ratings_csv)
    ap.add_argument("--batch-rows", type=int, default=5_000)
    ap.add_argument("--reference-rows", type=int, default=20_000, help="rows for the single-row INSERT reference")
    ap.add_argument("--scale", type=float, default=0.0, help="also load synthetic ratings, this many x the users")
    ap.add_argument("--keep", action="store_true", help="keep the scratch keyspace")
    args = ap.parse_args(argv)
    if args.keyspace == s.cassandra.keyspace:
        ap.error(f"use a scratch keyspace, not the configured one ({s.cassandra.keyspace})")

    from store.cassandra import open_store
    store = open_store(load_settings(cassandra={"keyspace": args.keyspace}), retries=3, migrate=True)
    store.drop_keyspace()
    store.migrate()
    lines: list[tuple[str, str, float, str]] = []

    def row(name: str, rows: int, seconds: float, note: str = "") -> None:
        rate = rows / seconds if seconds else 0.0
        lines.append((name, f"{rows:,}", seconds, f"{rate:,.0f}") + (note,))

    try:
        print(f"cpus: {os.cpu_count()}  keyspace: {args.keyspace}  batch rows: {args.batch_rows}", flush=True)
        ping = ping_rate(store)
        ref = row_insert_rate(store, args.ratings, args.reference_rows, args.batch_rows)
        store.drop_keyspace()
        store.migrate()

        for dataset, path in (("anime", args.anime), ("ratings", args.ratings)):
            dry = load(None, dataset, path, dry_run=True)
            row(f"{dataset} parse only", dry.rows_read, dry.seconds)

        results = {}
        t_all = time.perf_counter()
        for dataset, path in (("anime", args.anime), ("synopsis", args.synopsis), ("ratings", args.ratings)):
            r = results[dataset] = load(store, dataset, path, batch_rows=args.batch_rows, force=True)
            assert r.status == "complete", r
            row(f"{dataset} load", r.rows_read, r.seconds, f"{r.rows_loaded:,} loaded, {r.rows_rejected} rejected")
        t_all = time.perf_counter() - t_all
        n_cat_rat = results["anime"].rows_read + results["ratings"].rows_read
        s_cat_rat = results["anime"].seconds + results["ratings"].seconds
        row("catalog + ratings", n_cat_rat, s_cat_rat, "target <= 60 s")
        row("all three files", sum(r.rows_read for r in results.values()), t_all)
        stored = store.count_rows("ratings_by_user")

        if args.scale > 0:
            r = load(store, "ratings", synthetic_ratings(args.ratings, args.scale), name="synthetic",
                     batch_rows=args.batch_rows)
            row(f"ratings load, SYNTHETIC x{args.scale:g}", r.rows_read, r.seconds,
                "bootstrap of sample users; time includes generating the lines")
    finally:
        if not args.keep:
            store.drop_keyspace()
        store.close()

    print(f"\nreference  ping (system.local round trips): {ping:,.0f}/s")
    print(f"reference  row insert (store.upsert_ratings, {args.reference_rows:,} rows): {ref:,.0f} rows/s\n")
    print(f"{'measure':<34} {'rows':>10} {'seconds':>8} {'rows/s':>9} {'x row insert':>12} {'rows/ping':>9}  note")
    for name, n, secs, rate, note in lines:
        r = float(rate.replace(",", ""))
        print(f"{name:<34} {n:>10} {secs:>8.2f} {rate:>9} {r / ref:>12.1f} {r / ping:>9.1f}  {note}")
    print(f"\nratings rows stored: {stored:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

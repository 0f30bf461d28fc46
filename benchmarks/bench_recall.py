"""Recall quality of each candidate source and of the merge, and batch build times.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_recall.py                  # quality only
    PYTHONPATH=. .venv/bin/python benchmarks/bench_recall.py --build          # + build time, 4,000-user sample
    PYTHONPATH=. .venv/bin/python benchmarks/bench_recall.py --synthetic 73000  # + SYNTHETIC 73k-user build

**Quality**: the ratings sample is split per user -- 20% of each user's titles held out
(at least one for users with two or more; fixed seed) -- every source is built on the rest
with the batch jobs' own code (:func:`training.offline.build_offline_store`: Spark local, no
Cassandra), and recall@K is the share of a user's held-out titles found in their top K,
averaged over users with held-out titles. ``merged`` is what ``/recall`` serves
(:func:`recall.candidates_for_user` on the offline store). The ``recent`` source needs live
events and is not measured here.

**Build time**: the real jobs (``python -m batch run``) against Cassandra, in scratch
keyspaces: the sample as loaded by ingest's loaders, and with ``--synthetic N`` a generated
workload of N users fitted to the sample (:func:`evaluation.synthetic.synthetic_ratings`), labelled
SYNTHETIC wherever it is printed. Both keyspaces are dropped at the end unless ``--keep``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from config import Settings, load_settings  # noqa: E402
from config.registry import JOBS, USER_SOURCES  # noqa: E402

KS = (100, 300)


def split(ratings: pd.DataFrame, frac: float = 0.2, seed: int = 42) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-user hold-out: ``round(frac * n)`` titles (at least 1 when n >= 2) of each user go to test."""
    rng = np.random.default_rng(seed)
    shuffled = ratings.iloc[rng.permutation(len(ratings))]
    position = shuffled.groupby("user_id").cumcount()
    n = shuffled.groupby("user_id")["anime_id"].transform("size")
    n_test = np.where(n >= 2, np.maximum(1, np.round(frac * n)), 0)
    test = position < n_test
    return shuffled[~test].reset_index(drop=True), shuffled[test].reset_index(drop=True)


def recall_at(lists: dict[int, list[int]], test: dict[int, set[int]], k: int) -> float:
    return float(np.mean([len(set(lists.get(u, [])[:k]) & items) / len(items) for u, items in test.items()]))


def quality(spark, settings: Settings) -> None:
    from ingest.frames import read_catalog, read_ratings
    from recall import candidates_for_user
    from training.offline import build_offline_store

    ratings = read_ratings(settings.ratings_csv)
    train, test = split(ratings)
    test_sets = {u: set(g) for u, g in test.groupby("user_id")["anime_id"]}
    print(f"ratings sample: {len(ratings):,} rows, {ratings.user_id.nunique():,} users, "
          f"{ratings.anime_id.nunique():,} titles; held out {len(test):,} rows of {len(test_sets):,} users "
          f"(20% per user, seed 42); lists of {max(KS)} per source")
    seconds: dict[str, float] = {}
    store = build_offline_store(spark, train, read_catalog(settings.anime_csv, settings.synopsis_csv), settings,
                                sources=USER_SOURCES, timings=seconds)
    k = max(KS)
    lists = {source: {u: [r["anime_id"] for r in store.user_candidates_at(0, u, source, k)] for u in test_sets}
             for source in USER_SOURCES}
    ranked = [r["anime_id"] for r in store.popular("all", limit=10 * k)]
    seen = {u: {r["anime_id"] for r in store.user_ratings(u)} for u in test_sets}
    lists["popular"] = {u: [a for a in ranked if a not in seen[u]][:k] for u in test_sets}
    t = time.perf_counter()
    lists["merged"] = {u: [c["anime_id"] for c in candidates_for_user(store, u, k)] for u in test_sets}
    seconds["merged"] = time.perf_counter() - t
    print(f"\n  {'source':<12}" + "".join(f"{f'recall@{k}':>12}" for k in KS) + f"{'built in':>12}")
    for name in ("popular", *USER_SOURCES, "merged"):
        print(f"  {name:<12}" + "".join(f"{recall_at(lists[name], test_sets, k):>12.4f}" for k in KS)
              + f"{seconds.get(name, float('nan')):>11.1f}s")
    print("  (built in: in-memory build on 2 cores; merged = recall.candidates_for_user over all sources, "
          "for every user)")


def _scratch(settings: Settings, keyspace: str) -> Settings:
    return settings.model_copy(update={"cassandra": settings.cassandra.model_copy(update={"keyspace": keyspace})})


def build_times(label: str, settings: Settings) -> dict:
    from batch.runner import run_jobs
    t = time.perf_counter()
    results = run_jobs(settings, list(JOBS))
    total = time.perf_counter() - t
    print(f"\nbuild time, {label} (all jobs, one process, incl. Spark start-up):")
    for r in results:
        rows = {k: v for k, v in r.details.items() if "rows" in k}
        print(f"  {r.job:<12} {r.seconds:>8.1f} s  {'ok' if r.ok else 'FAILED ' + str(r.error)}  {rows}")
    print(f"  {'total':<12} {total:>8.1f} s")
    return {r.job: r for r in results}


def load_sample_keyspace(settings: Settings, keyspace: str) -> Settings:
    from ingest.catalog import load_many
    from store import open_store
    settings = _scratch(settings, keyspace)
    store = open_store(settings, migrate=True)
    t = time.perf_counter()
    results = load_many(store, {"anime": settings.anime_csv, "synopsis": settings.synopsis_csv,
                                "ratings": settings.ratings_csv})
    loaded = {r.dataset: (r.status, r.rows_loaded) for r in results}
    print(f"\nloading the sample into {keyspace}: {loaded} in {time.perf_counter() - t:.0f} s")
    store.close()
    return settings


def load_synthetic_keyspace(settings: Settings, keyspace: str, n_users: int) -> Settings:
    from batch.spark import spark_session, write_table
    from evaluation.synthetic import synthetic_ratings
    from ingest.catalog import load_many
    from ingest.frames import read_ratings
    from config.registry import Tables
    from store import open_store
    settings = _scratch(settings, keyspace)
    t = time.perf_counter()
    synth = synthetic_ratings(read_ratings(settings.ratings_csv), n_users)
    print(f"\nSYNTHETIC workload: {n_users:,} users, {len(synth):,} ratings "
          f"(median {synth.groupby('user_id').size().median():.0f}/user), generated in {time.perf_counter() - t:.0f} s")
    t = time.perf_counter()
    store = open_store(settings, migrate=True)          # the catalog through ingest, as in production
    load_many(store, {"anime": settings.anime_csv, "synopsis": settings.synopsis_csv})
    store.close()
    spark = spark_session(settings)                     # the ratings through the Spark connector (faster)
    write_table(spark.createDataFrame(synth), Tables.RATINGS_BY_USER, settings)
    spark.stop()
    print(f"SYNTHETIC catalog + ratings written to {keyspace} in {time.perf_counter() - t:.0f} s")
    return settings


def drop_keyspace(settings: Settings, keyspace: str) -> None:
    from store import open_store
    store = open_store(_scratch(settings, keyspace), migrate=True)   # migrate: it may not exist yet
    store.drop_keyspace()
    store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", action="store_true", help="also time the jobs on the 4,000-user sample")
    parser.add_argument("--synthetic", type=int, default=0, metavar="N", help="also time them on N synthetic users")
    parser.add_argument("--no-quality", action="store_true", help="skip the recall figures")
    parser.add_argument("--keep", action="store_true", help="keep the scratch keyspaces")
    args = parser.parse_args(argv)
    from batch.spark import spark_session
    settings = load_settings(batch={"candidates_per_source": max(KS)})
    scratch = []
    try:
        if not args.no_quality:
            spark = spark_session(settings)
            quality(spark, settings)
            spark.stop()                                # build times include the jobs' own Spark start-up
        if args.build:
            scratch.append("bench_recall_sample")
            build_times("4,000-user sample", load_sample_keyspace(settings, scratch[-1]))
        if args.synthetic:
            scratch.append("bench_recall_synth")
            build_times(f"SYNTHETIC {args.synthetic:,} users",
                        load_synthetic_keyspace(settings, scratch[-1], args.synthetic))
    finally:
        if not args.keep:
            for keyspace in scratch:
                drop_keyspace(settings, keyspace)
    return 0


if __name__ == "__main__":
    sys.exit(main())

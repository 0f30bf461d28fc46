"""Command line of the ingest package.

    python -m ingest load                       # all three files, paths from the settings
    python -m ingest load --anime PATH          # only the files named (a flag without PATH: settings' path)
    python -m ingest load --ratings --force     # load again even if this exact file was loaded
    python -m ingest load --dry-run --anime X   # parse and validate only; no Cassandra needed
    python -m ingest load status                # the load manifest: what was loaded, when, complete or not
    python -m ingest replay [--ratings PATH] [--rate N] [--users N] [--target kafka|api]
                                                # the ratings as a timestamped event stream (ingest/replay.py)

Exit status: 0 when every file was usable (some rejected rows are not an error: they are
listed), 2 when a file is missing or not of its format, 1 when Cassandra fails.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from tqdm import tqdm

from config import Settings, load_settings
from ingest.frames import read_anime, read_ratings
from ingest.poster import ApiPoster
from ingest.producer import BulkProducer
from ingest.replay import Clock, as_events, ending_at, genre_lookup, publish, replay_events

EXIT_OK, EXIT_STORE, EXIT_UNUSABLE = 0, 1, 2


def _settings(args) -> Settings:
    if getattr(args, "keyspace", None):
        return load_settings(cassandra={"keyspace": args.keyspace})
    return load_settings()


def _open_store(settings: Settings, migrate: bool):
    from store import open_store
    return open_store(settings, retries=3, migrate=migrate)


def _open_store_or_report(settings: Settings, migrate: bool):
    """The store, or None after saying on stderr why Cassandra (or the keyspace) cannot be used."""
    try:
        return _open_store(settings, migrate=migrate)
    except Exception as exc:
        print(f"error: cannot open keyspace {settings.cassandra.keyspace!r} at "
              f"{settings.cassandra.contact_points}:{settings.cassandra.port}: {exc}", file=sys.stderr)
        return None


def _fmt_n(n: int) -> str:
    return f"{n:,}"


def _print_summary(results, show: int, out) -> None:
    head = f"{'dataset':<9} {'status':<9} {'read':>9} {'loaded':>9} {'rejected':>8} {'skipped':>8} {'dup':>5} " \
           f"{'seconds':>8} {'rows/s':>9}  file"
    print(head, file=out)
    print("-" * len(head), file=out)
    tot_read = tot_loaded = tot_rej = 0
    tot_s = 0.0
    for r in results:
        print(f"{r.dataset:<9} {r.status:<9} {_fmt_n(r.rows_read):>9} {_fmt_n(r.rows_loaded):>9} "
              f"{_fmt_n(r.rows_rejected):>8} {_fmt_n(r.rows_skipped):>8} {_fmt_n(r.duplicates):>5} "
              f"{r.seconds:>8.1f} {r.rows_per_s:>9,.0f}  {r.file_name}", file=out)
        tot_read += r.rows_read
        tot_loaded += r.rows_loaded
        tot_rej += r.rows_rejected
        tot_s += r.seconds
    if len(results) > 1:
        rate = tot_read / tot_s if tot_s > 0 else 0.0
        print(f"{'total':<9} {'':<9} {_fmt_n(tot_read):>9} {_fmt_n(tot_loaded):>9} {_fmt_n(tot_rej):>8} "
              f"{'':>8} {'':>5} {tot_s:>8.1f} {rate:>9,.0f}", file=out)
    for r in results:
        if r.error:
            print(f"\n{r.dataset}: {r.status.upper()}: {r.error}", file=out)
        for w in r.warnings:
            print(f"{r.dataset}: note: {w}", file=out)
        for why, n in r.skipped.items():
            print(f"{r.dataset}: skipped {n:,} row(s): {why}", file=out)
        if r.rows_rejected:
            reasons = ", ".join(f"{code} {n:,}" for code, n in r.report.reasons.most_common())
            print(f"\n{r.dataset}: {r.rows_rejected:,} rejected row(s) ({reasons}):", file=out)
            for rej in r.rejections[:show]:
                print(f"  {rej}", file=out)
            if r.rows_rejected > show:
                print(f"  ... and {r.rows_rejected - show:,} more", file=out)


def cmd_load(args) -> int:
    from tqdm import tqdm

    from ingest.catalog import DATASETS, LoadResult, load
    from ingest.csv_rows import FormatError

    settings = _settings(args)
    defaults = {"anime": settings.anime_csv, "synopsis": settings.synopsis_csv, "ratings": settings.ratings_csv}
    chosen = {d: getattr(args, d) for d in DATASETS if getattr(args, d) is not None}
    sources = {d: (defaults[d] if p == "" else Path(p)) for d, p in chosen.items()} if chosen else dict(defaults)

    store = None
    if not args.dry_run:
        store = _open_store_or_report(settings, migrate=True)
        if store is None:
            return EXIT_STORE
    results: list[LoadResult] = []
    code = EXIT_OK
    try:
        for dataset in DATASETS:
            if dataset not in sources:
                continue
            path = sources[dataset]
            size = os.path.getsize(path) if os.path.isfile(path) else None
            bar = tqdm(total=size, unit="B", unit_scale=True, unit_divisor=1024, desc=f"{dataset:<8}",
                       disable=True if args.no_progress else None, file=sys.stderr, leave=True)

            def progress(report, bar=bar):
                bar.update(report.bytes_read - bar.n)
                bar.set_postfix_str(f"{report.rows_read:,} rows, {report.rows_rejected:,} rejected", refresh=False)

            try:
                results.append(load(store, dataset, path, batch_rows=args.batch_rows, force=args.force,
                                    dry_run=args.dry_run, keep_rejections=max(args.show_rejects, 1),
                                    progress=progress))
            except FormatError as exc:
                results.append(LoadResult(dataset, str(path), status="unusable", error=str(exc)))
                code = EXIT_UNUSABLE
            finally:
                bar.close()
    except KeyboardInterrupt:
        print("\ninterrupted: the load in progress stays incomplete in the manifest", file=sys.stderr)
        code = 130
    except Exception as exc:  # the store failed after retries
        print(f"\nerror: loading failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        code = EXIT_STORE
    finally:
        if store is not None:
            store.close()
    print(file=sys.stdout)
    _print_summary(results, args.show_rejects, sys.stdout)
    return code


def cmd_status(args) -> int:
    from ingest.catalog import load_status

    settings = _settings(args)
    store = _open_store_or_report(settings, migrate=False)
    if store is None:
        return EXIT_STORE
    try:
        status = load_status(store, limit=args.limit)
    finally:
        store.close()
    print(f"load manifest of keyspace {settings.cassandra.keyspace!r} (newest first)")
    for dataset, runs in status.items():
        if not runs:
            print(f"\n{dataset}: never loaded")
            continue
        latest_complete = next((r for r in runs if r["status"] == "complete"), None)
        state = "COMPLETE" if runs[0]["status"] == "complete" else (
            f"INCOMPLETE (latest attempt {runs[0]['status']})" + ("" if latest_complete else ", no complete load"))
        print(f"\n{dataset}: {state}")
        for r in runs:
            when = r["completed_at"] or r["started_at"]
            rows = (f"loaded {r['rows_loaded']:,} rejected {r['rows_rejected']:,}"
                    if r["rows_loaded"] is not None else "")
            secs = f"{r['seconds']:.1f}s" if r["seconds"] is not None else ""
            print(f"  {r['status']:<9} {when:%Y-%m-%d %H:%M:%S} {secs:>7} sha256 {(r['sha256'] or '?')[:12]} "
                  f"{rows}  {r['file_name']}" + (f"  error: {r['error']}" if r["error"] else ""))
    return EXIT_OK


def cmd_replay(args) -> int:
    settings = load_settings()
    ratings = read_ratings(args.ratings or settings.ratings_csv)
    if args.users:
        ratings = ratings[ratings["user_id"].isin(sorted(ratings["user_id"].unique())[:args.users])]
    if args.start_ms is not None:
        events = replay_events(ratings, Clock(seed=args.seed, start_ms=args.start_ms))
    else:
        events = ending_at(replay_events(ratings, Clock(seed=args.seed)), int(time.time() * 1000))
    if args.limit:
        events = events.head(args.limit)
    genres = genre_lookup(read_anime(args.anime or settings.anime_csv))
    stream = as_events(events, genres)
    started = time.perf_counter()
    with tqdm(total=len(events), unit="ev", disable=args.no_progress, desc=f"replay -> {args.target}") as bar:
        if args.target == "kafka":
            producer = BulkProducer(settings)
            sent = publish(stream, producer.send, args.rate, bar)
            producer.close()
        else:
            url = args.api_url or settings.api_url
            key = args.api_key or (settings.admin_key_file.read_text().strip() if settings.admin_key_file.exists()
                                    else None)
            with ApiPoster(url, args.workers, batch=args.batch, api_key=key) as poster:
                sent = publish(stream, poster.send, args.rate, bar)
            if poster.failures:
                print(f"error: {poster.failures} of {sent} events were refused by the API", file=sys.stderr)
                return EXIT_STORE
    seconds = time.perf_counter() - started
    print(f"replayed {sent:,} events in {seconds:.1f} s ({sent / max(seconds, 1e-9):,.0f}/s) to {args.target}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest", description="Load the anime datasets into Cassandra.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("load", help="load CSV files (or 'load status': show the load manifest)",
                       description="Load the catalog, synopsis and ratings CSV files. With no file option, all "
                                   "three are loaded from the configured data directory.")
    p.add_argument("action", nargs="?", choices=("run", "status"), default="run",
                   help="'status' shows the load manifest instead of loading")
    for dataset, what in (("anime", "catalog"), ("synopsis", "synopses"), ("ratings", "ratings")):
        p.add_argument(f"--{dataset}", nargs="?", const="", default=None, metavar="PATH",
                       help=f"{what} CSV to load (without PATH: the configured one)")
    p.add_argument("--force", action="store_true", help="load even files whose exact content was loaded already")
    p.add_argument("--dry-run", action="store_true", help="parse and validate only; write nothing")
    p.add_argument("--batch-rows", type=int, default=5_000, help="rows per write batch (default 5000)")
    p.add_argument("--show-rejects", type=int, default=20, metavar="N", help="rejected rows to list per file")
    p.add_argument("--keyspace", help="Cassandra keyspace (default: the configured one)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--limit", type=int, default=5, help="('status') attempts to show per dataset")

    s = sub.add_parser("status", help="show the load manifest (same as 'load status')")
    s.add_argument("--keyspace")
    s.add_argument("--limit", type=int, default=5)

    r = sub.add_parser("replay", help="publish a ratings file as a timestamped stream of views, clicks, ratings",
                       description="Turn a ratings file into views, clicks and ratings on a seeded synthetic clock "
                                   "(ingest/replay.py) and publish them to Kafka, or POST them to the API.")
    r.add_argument("--ratings", type=Path, default=None, help="ratings CSV (default: the configured one)")
    r.add_argument("--anime", type=Path, default=None, help="catalog CSV, for the events' genres (default: configured)")
    r.add_argument("--rate", type=float, default=None, help="events per second (default: as fast as possible)")
    r.add_argument("--users", type=int, default=None, help="replay only the first N users")
    r.add_argument("--limit", type=int, default=None, help="stop after N events")
    r.add_argument("--seed", type=int, default=7, help="seed of the synthetic clock (default 7)")
    r.add_argument("--start-ms", type=int, default=None,
                   help="epoch ms where the synthetic clock starts (default: the stream ends now)")
    r.add_argument("--target", choices=("kafka", "api"), default="kafka")
    r.add_argument("--api-url", default=None, help="with --target api (default: the configured API)")
    r.add_argument("--workers", type=int, default=16, help="with --target api: concurrent requests")
    r.add_argument("--api-key", default=None, help="with --target api: a producer key (default: the admin key "
                                                   "make up wrote to run/secrets/admin-key)")
    r.add_argument("--batch", type=int, default=1, choices=range(1, 1001), metavar="1..1000",
                   help="with --target api: events per request (>1: POST /events)")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")

    args = parser.parse_args(argv)
    if args.command == "replay":
        return cmd_replay(args)
    if args.command == "status" or getattr(args, "action", None) == "status":
        return cmd_status(args)
    if args.batch_rows < 1:
        parser.error("--batch-rows must be at least 1")
    return cmd_load(args)


if __name__ == "__main__":
    sys.exit(main())

"""``python -m training``: train a ranker now, or serve the training queue (the trainer role).

    python -m training run                        # once, on what Cassandra holds
    python -m training run --ratings PATH [--anime PATH] [--synopsis PATH]   # once, on files
    python -m training worker                     # the trainer role: run queued requests until stopped
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from config import load_settings
from store import open_store
from training.runs import inputs_from_files, inputs_from_store, work
from training.train import summary, train


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="train and register one ranker version now")
    run.add_argument("--ratings", help="ratings CSV (Kaggle format); default: read from Cassandra")
    run.add_argument("--anime", help="with --ratings: catalog CSV (default: the configured one)")
    run.add_argument("--synopsis", help="with --ratings: synopses CSV (default: the configured one)")
    sub.add_parser("worker", help="the trainer role: execute queued training requests, one at a time")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = load_settings()

    if args.command == "run":
        if args.ratings:
            ratings, catalog = inputs_from_files(settings, args.ratings, args.anime, args.synopsis)
            source = args.ratings
        else:
            store = open_store(settings, retries=5)
            try:
                ratings, catalog = inputs_from_store(store)
            finally:
                store.close()
            source = "cassandra"
        print(summary(train(ratings, catalog, settings, source_name=source)))
        return 0

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    store = open_store(settings, retries=30)
    try:
        work(store, settings, stop)
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

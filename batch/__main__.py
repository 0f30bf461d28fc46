"""``python -m batch run [job ...]``: run batch jobs once (all of them when none is named)."""
from __future__ import annotations

import argparse
import logging
import sys

from config import load_settings
from config.registry import JOBS
from batch.runner import run_jobs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m batch", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run jobs once: " + ", ".join(JOBS))
    run.add_argument("jobs", nargs="*", metavar="job", help="default: all, in this order")
    args = parser.parse_args(argv)
    unknown = [j for j in args.jobs if j not in JOBS]
    if unknown:
        parser.error(f"unknown job(s) {', '.join(unknown)}; choose from {', '.join(JOBS)}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    results = run_jobs(load_settings(), args.jobs or list(JOBS))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

"""What ranking 300 candidates adds to a request: features + TensorFlow scoring.

Reference in the same run: the recall step alone (Cassandra reads + merge) for the same users.
Needs Cassandra with data, recall lists and a trained ranker (``make up``).
"""
from __future__ import annotations

import argparse
import random

from benchmarks.timing import measure, print_table, summary
from config import load_settings
from ranking.catalog import Catalog
from ranking.realtime import RealtimeCounts
from ranking.recommender import Recommender
from ranking.registry import ModelRegistry
from store import open_store


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--candidates", type=int, default=300)
    args = parser.parse_args(argv)
    settings = load_settings()
    store = open_store(settings)
    recommender = Recommender(store, Catalog.from_store(store), ModelRegistry(settings), realtime=RealtimeCounts(store))
    if recommender.model_version is None:
        raise SystemExit("no trained ranker: run `make train` first")
    rng = random.Random(3)
    users = [rng.randint(1, 5000) for _ in range(64)]
    pools = {u: recommender.recall(u, args.candidates) for u in users}
    pools = {u: c for u, c in pools.items() if len(c) == args.candidates}
    user_cycle = iter(lambda: rng.choice(list(pools)), None)
    rows = [summary(f"recall {args.candidates} candidates (reference)",
                    measure(lambda: recommender.recall(next(user_cycle), args.candidates), args.n)),
            summary(f"rank {args.candidates} candidates (features + TF)",
                    measure(lambda: recommender.score(u := next(user_cycle), pools[u]), args.n))]
    print_table(f"Ranker cost, model {recommender.model_version}", rows)
    print(f"\n  ranking adds p99 {rows[1]['p99_ms']:.2f} ms (target <= 5 ms) next to recall p99 {rows[0]['p99_ms']:.2f} ms")


if __name__ == "__main__":
    main()

"""What ranking 300 candidates adds to a request: features + scoring, TensorFlow beside TF Lite (served).

Reference in the same run: reading a user's context (one concurrent Cassandra round) for the same users.
Needs Cassandra with data, recall lists and a trained ranker (``make up``).
"""
from __future__ import annotations

import argparse
import random

import numpy as np

from benchmarks.timing import measure, print_table, summary
from config import load_settings
from ranking.catalog import Catalog
from ranking.model import LiteScorer, Scorer
from ranking.realtime import RealtimeCounts
from ranking.recommender import Recommender
from ranking.registry import ModelRegistry
from recall import ListReader
from store import open_store


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--candidates", type=int, default=300)
    args = parser.parse_args(argv)
    settings = load_settings()
    store = open_store(settings)
    registry = ModelRegistry(settings)
    recommender = Recommender(store, Catalog.from_store(store), registry, realtime=RealtimeCounts(store),
                              lists=ListReader(store))
    if recommender.model_version is None:
        raise SystemExit("no trained ranker: run `make train` first")
    rng = random.Random(3)
    users = [rng.randint(1, 5000) for _ in range(64)]
    contexts = {u: recommender.context(u) for u in users}
    pools = {u: recommender.recall(contexts[u], args.candidates) for u in users}
    pools = {u: c for u, c in pools.items() if len(c) == args.candidates}
    user_cycle = iter(lambda: rng.choice(list(pools)), None)
    version = registry.active()
    model = registry.load(version).model
    tf_scorer, lite_scorer = Scorer(model), LiteScorer(model)
    features = {u: recommender.features(contexts[u], pools[u]) for u in pools}
    rows = [summary("read a user's context (reference)", measure(lambda: recommender.context(next(user_cycle)), args.n)),
            summary(f"recall {args.candidates} candidates from a context",
                    measure(lambda: recommender.recall(contexts[next(user_cycle)], args.candidates), args.n)),
            summary(f"features of {args.candidates} candidates",
                    measure(lambda: recommender.features(contexts[u := next(user_cycle)], pools[u]), args.n)),
            summary(f"score {args.candidates}: TF (tf.function)", measure(lambda: tf_scorer(features[next(user_cycle)]), args.n)),
            summary(f"score {args.candidates}: TF Lite (served)",
                    measure(lambda: lite_scorer(features[next(user_cycle)]), args.n)),
            summary(f"rank {args.candidates} candidates (features + TF Lite)",
                    measure(lambda: recommender.score(contexts[u := next(user_cycle)], pools[u]), args.n))]
    print_table(f"Ranker cost, model {version}", rows)
    same = max(float(np.abs(tf_scorer(x) - lite_scorer(x)).max()) for x in features.values())
    print(f"  TF Lite vs TF: largest score difference {same:.2e} over {len(features)} users")
    print(f"\n  ranking adds p99 {rows[-1]['p99_ms']:.2f} ms next to the context read's p99 {rows[0]['p99_ms']:.2f} ms")


if __name__ == "__main__":
    main()

"""Train the ranker on recall candidates and register a new version: ``python -m ranking.train``.

1. Split each user's ratings: 80 % build the recall lists (all sources, the batch jobs' own
   code, in memory), 20 % are the labels -- titles those lists never saw.
2. For sampled users, the serving pipeline (:class:`ranking.recommender.Recommender`) recalls
   candidates and builds their features exactly as at serving; a candidate is positive when
   it is among the user's held-out titles.
3. A Keras model is fitted on 80 % of those users; the other 20 % measure it: AUC, and
   NDCG@10 of the ranker's order against the recall merge's own order.
"""
from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from infra.config import Settings, get_settings
from ranking.catalog import Catalog
from ranking.recommender import Recommender
from ranking.registry import ModelRegistry

log = logging.getLogger("animerec.ranking")
HOLDOUT = 0.2


def split_per_user(ratings: pd.DataFrame, holdout: float = HOLDOUT, seed: int = 42,
                   min_items: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(kept, held out): ``holdout`` of each user's titles, for users with at least ``min_items``."""
    rng = np.random.default_rng(seed)
    shuffled = ratings.iloc[rng.permutation(len(ratings))]
    position = shuffled.groupby("user_id").cumcount().to_numpy()
    size = shuffled.groupby("user_id")["anime_id"].transform("size").to_numpy()
    held = (size >= min_items) & (position < np.round(holdout * size))
    return shuffled[~held].reset_index(drop=True), shuffled[held].reset_index(drop=True)


def ndcg_at(order_relevance: np.ndarray, n_relevant: int, k: int = 10) -> float:
    gains = order_relevance[:k] / np.log2(np.arange(2, min(k, len(order_relevance)) + 2))
    ideal = (1.0 / np.log2(np.arange(2, min(k, n_relevant) + 2))).sum()
    return float(gains.sum() / ideal) if ideal else 0.0


def candidate_samples(recommender: Recommender, labels: dict[int, set[int]], users) -> tuple[list, list, list]:
    """Per user: features of the recalled candidates, their 0/1 labels, and the number of held-out titles."""
    xs, ys, n_relevant = [], [], []
    for user_id in users:
        candidates = recommender.recall(int(user_id), Recommender.CANDIDATES)
        if not candidates:
            continue
        xs.append(recommender.features(int(user_id), candidates))
        ys.append(np.array([c["anime_id"] in labels[user_id] for c in candidates], dtype=np.float32))
        n_relevant.append(len(labels[user_id]))
    return xs, ys, n_relevant


def mean_ndcg(scores_per_user, ys, n_relevant, k: int = 10) -> float:
    return float(np.mean([ndcg_at(y[np.argsort(-s, kind="stable")], n, k)
                          for s, y, n in zip(scores_per_user, ys, n_relevant)]))


def fit_ranker(recommender: Recommender, held_out: pd.DataFrame, max_users: int, epochs: int, seed: int):
    """Fit on candidates of sampled users; return (model, metrics)."""
    from ranking.model import Scorer, build_model
    rng = np.random.default_rng(seed)
    labels = {u: set(g) for u, g in held_out.groupby("user_id")["anime_id"]}
    users = rng.permutation(sorted(labels))[:max_users]
    xs, ys, n_relevant = candidate_samples(recommender, labels, users)
    n_val = max(1, len(xs) // 5)
    x_train, y_train = np.concatenate(xs[n_val:]), np.concatenate(ys[n_val:])
    model = build_model(x_train.shape[1], x_train)
    # Measured on the sample: plain (unweighted) pointwise BCE ranked better than class weights
    # or a listwise softmax loss; small data still gets enough gradient steps.
    model.fit(x_train, y_train, epochs=epochs, batch_size=int(np.clip(len(y_train) // 200, 64, 1024)), verbose=0)
    scorer = Scorer(model)
    val_scores = [scorer(x) for x in xs[:n_val]]
    recall_order = [-np.arange(len(y), dtype=np.float32) for y in ys[:n_val]]
    y_val = np.concatenate(ys[:n_val])
    metrics = {"validation_users": n_val, "training_users": len(xs) - n_val,
               "samples": int(len(y_train)), "positive_share": round(float(y_train.mean()), 4),
               "validation_auc": _auc(np.concatenate(val_scores), y_val),
               "validation_ndcg@10_ranker": mean_ndcg(val_scores, ys[:n_val], n_relevant[:n_val]),
               "validation_ndcg@10_recall_order": mean_ndcg(recall_order, ys[:n_val], n_relevant[:n_val])}
    return model, metrics


def _auc(scores: np.ndarray, labels: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score
    return float(roc_auc_score(labels, scores)) if 0 < labels.sum() < len(labels) else float("nan")


def train(ratings: pd.DataFrame, catalog_frame: pd.DataFrame, settings: Settings | None = None, *, spark=None,
          epochs: int = 6, seed: int = 42, max_users: int = 1500, sources=None, source_name: str = "cassandra",
          register: bool = True) -> dict:
    """Build recall on a split, fit the ranker on its candidates, and (by default) register it."""
    from batch.offline import ALL_SOURCES, build_offline_store
    from batch.spark import spark_session
    settings = settings or get_settings()
    started = time.time()
    kept, held_out = split_per_user(ratings, seed=seed)
    own_spark = spark is None
    spark = spark or spark_session(settings)
    try:
        timings: dict = {}
        store = build_offline_store(spark, kept, catalog_frame, sources=tuple(sources or ALL_SOURCES), timings=timings)
    finally:
        if own_spark:
            spark.stop()
    catalog = Catalog.from_rows(catalog_frame.to_dict("records"))
    model, metrics = fit_ranker(Recommender(store, catalog), held_out, max_users, epochs, seed)
    result = {"data": {"source": source_name, "ratings": int(len(ratings)), "users": int(ratings.user_id.nunique()),
                       "recall_sources": list(sources or ALL_SOURCES), "holdout": HOLDOUT},
              "n_features": int(model.input_shape[-1]), "epochs": epochs, "seed": seed, "metrics": metrics,
              "recall_build_seconds": {k: round(v, 1) for k, v in timings.items()},
              "train_seconds": round(time.time() - started, 1)}
    if register:
        registry = ModelRegistry(settings)
        result["version"] = registry.save(model, result)
        registry.prune()
    result["model"] = model
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Train the ranker on recall candidates and register a new version.")
    parser.add_argument("--ratings", help="ratings CSV (Kaggle format); default: read from Cassandra")
    parser.add_argument("--anime", help="with --ratings: catalog CSV (default: the configured one)")
    parser.add_argument("--synopsis", help="with --ratings: synopses CSV (default: the configured one)")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--max-users", type=int, default=get_settings().ranker_max_users)
    parser.add_argument("--sources", default=get_settings().ranker_sources, help="recall sources to build")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    ratings, catalog, source_name = _inputs(args)
    result = train(ratings, catalog, epochs=args.epochs, max_users=args.max_users,
                   sources=tuple(args.sources.split(",")), source_name=source_name)
    m = result["metrics"]
    print(f"ranker version {result['version']}: validation AUC {m['validation_auc']:.3f}, NDCG@10 "
          f"{m['validation_ndcg@10_ranker']:.4f} (recall order {m['validation_ndcg@10_recall_order']:.4f}), "
          f"{m['samples']} samples, {result['train_seconds']}s")


def _inputs(args) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Ratings and catalog (with synopses) from the given CSV files, else from Cassandra."""
    if args.ratings:
        from batch.sample import read_catalog, read_ratings
        return read_ratings(Path(args.ratings)), read_catalog(get_settings(), args.anime, args.synopsis), args.ratings
    from store import open_store
    store = open_store()
    try:
        ratings = pd.DataFrame(store.all_ratings(), columns=["user_id", "anime_id", "rating"])
        catalog = pd.DataFrame(store.all_anime(with_synopsis=True))
    finally:
        store.close()
    catalog["genres"] = catalog["genres"].apply(lambda g: list(g) if g else [])
    return ratings, catalog, "cassandra"


if __name__ == "__main__":
    main()

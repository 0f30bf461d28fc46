"""Train the ranker on recall candidates and register a new version.

1. Split each user's ratings: 80 % build the recall lists (the configured sources, the batch
   jobs' own code, in memory), 20 % are the labels -- titles those lists never saw.
2. For sampled users, the serving pipeline (:class:`ranking.recommender.Recommender`) recalls
   candidates and builds their features exactly as at serving; a candidate is positive when
   it is among the user's held-out titles.
3. A Keras model is fitted on 80 % of those users; the other 20 % measure it: AUC, and
   NDCG@10 of the ranker's order against the recall merge's own order.
4. The model is saved with its feature schema (names, vocabularies) and normalisation.
"""
from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from batch.spark import spark_session
from config import Settings
from ranking.catalog import Catalog
from ranking.model import Scorer, build_model
from ranking.recommender import Recommender
from ranking.registry import ModelRegistry
from training.offline import build_offline_store

log = logging.getLogger("animerec.training")
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
    """Fit on candidates of sampled users; return (model, metrics). Features follow ``recommender.schema``."""
    rng = np.random.default_rng(seed)
    labels = {u: set(g) for u, g in held_out.groupby("user_id")["anime_id"]}
    users = rng.permutation(sorted(labels))[:max_users]
    xs, ys, n_relevant = candidate_samples(recommender, labels, users)
    if len(xs) < 2:
        raise ValueError(f"too few users with candidates and held-out titles to train on ({len(xs)})")
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
    return float(roc_auc_score(labels, scores)) if 0 < labels.sum() < len(labels) else float("nan")


def train(ratings: pd.DataFrame, catalog_frame: pd.DataFrame, settings: Settings, *, spark=None,
          source_name: str = "cassandra", register: bool = True) -> dict:
    """Build recall on a split, fit the ranker on its candidates, and (by default) register it.

    Knobs come from ``settings.ranker`` (sources, users, epochs, seed) and ``settings.batch``.
    """
    knobs = settings.ranker
    started = time.time()
    kept, held_out = split_per_user(ratings, seed=knobs.seed)
    own_spark = spark is None
    spark = spark or spark_session(settings)
    try:
        timings: dict = {}
        store = build_offline_store(spark, kept, catalog_frame, settings, sources=knobs.sources, timings=timings)
    finally:
        if own_spark:
            spark.stop()
    recommender = Recommender(store, Catalog.from_rows(catalog_frame.to_dict("records")))
    model, metrics = fit_ranker(recommender, held_out, knobs.max_users, knobs.epochs, knobs.seed)
    result = {"data": {"source": source_name, "ratings": int(len(ratings)), "users": int(ratings.user_id.nunique()),
                       "recall_sources": list(knobs.sources), "holdout": HOLDOUT},
              "n_features": int(model.input_shape[-1]), "epochs": knobs.epochs, "seed": knobs.seed,
              "metrics": metrics, "recall_build_seconds": {k: round(v, 1) for k, v in timings.items()},
              "train_seconds": round(time.time() - started, 1)}
    if register:
        registry = ModelRegistry(settings)
        result["version"] = registry.save(model, recommender.schema, result)
        registry.prune()
    result["model"] = model
    result["schema"] = recommender.schema
    return result


def summary(result: dict) -> str:
    m = result["metrics"]
    return (f"ranker version {result.get('version', '(not registered)')}: validation AUC {m['validation_auc']:.3f}, "
            f"NDCG@10 {m['validation_ndcg@10_ranker']:.4f} (recall order {m['validation_ndcg@10_recall_order']:.4f}), "
            f"{m['samples']} samples, {result['train_seconds']}s")

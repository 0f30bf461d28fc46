"""Train the ranker offline and register a new version: ``python -m ranking.train``.

Samples: for each user, 20 % of their titles are held out as positives, the rest is their
profile; negatives are unseen titles drawn by popularity (so the model must learn more
than popularity). Features come from ``ranking.features.build_features``, as at serving.
"""
from __future__ import annotations

import argparse
import logging
import time

import numpy as np
import pandas as pd

from infra.config import Settings, get_settings
from ranking.catalog import Catalog
from ranking.features import UserProfile, build_features, item_features
from ranking.registry import ModelRegistry

log = logging.getLogger("animerec.ranking")


def popularity_scores(ratings: pd.DataFrame, catalog: Catalog) -> np.ndarray:
    counts = ratings["anime_id"].value_counts()
    per_row = np.zeros(len(catalog), dtype=np.float32)
    known = counts[counts.index.isin(list(catalog.position))]
    per_row[catalog.rows_of(known.index.tolist())] = known.to_numpy()
    return np.log1p(per_row) / max(np.log1p(per_row.max()), 1.0)


def training_samples(catalog: Catalog, ratings: pd.DataFrame, rng: np.random.Generator, max_users: int = 2000,
                     negatives: int = 4, holdout: float = 0.2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    items = item_features(catalog)
    popularity = popularity_scores(ratings, catalog)
    draw = popularity / popularity.sum()
    all_ids = np.fromiter(catalog.position, dtype=np.int64)
    ratings = ratings[ratings["anime_id"].isin(list(catalog.position))]
    users = ratings["user_id"].unique()
    users = rng.choice(users, size=min(max_users, len(users)), replace=False)
    grouped = ratings[ratings["user_id"].isin(users)].groupby("user_id")
    xs, ys, groups = [], [], []
    for user_id, rows in grouped:
        if len(rows) < 5:
            continue
        rows = rows.sample(frac=1.0, random_state=int(rng.integers(1 << 31)))
        n_hold = max(1, int(len(rows) * holdout))
        held, kept = rows.iloc[:n_hold], rows.iloc[n_hold:]
        seen = set(rows["anime_id"])
        negs = [a for a in rng.choice(all_ids, size=n_hold * negatives * 2, p=draw) if a not in seen][: n_hold * negatives]
        candidates = held["anime_id"].tolist() + negs
        profile = UserProfile.from_pairs(zip(kept["anime_id"], kept["rating"]))
        features = build_features(catalog, items, profile, candidates, popularity[catalog.rows_of(candidates)],
                                  [{"popular"}] * len(candidates), {})
        xs.append(features)
        ys.append(np.r_[np.ones(len(held)), np.zeros(len(negs))])
        groups.append(np.full(len(candidates), user_id))
    return np.concatenate(xs), np.concatenate(ys).astype(np.float32), np.concatenate(groups)


def train(catalog: Catalog, ratings: pd.DataFrame, settings: Settings | None = None, epochs: int = 3,
          seed: int = 42, max_users: int = 2000, source: str = "cassandra") -> dict:
    from ranking.model import build_model
    started = time.time()
    rng = np.random.default_rng(seed)
    x, y, groups = training_samples(catalog, ratings, rng, max_users=max_users)
    validation_users = set(rng.choice(np.unique(groups), size=max(1, len(np.unique(groups)) // 5), replace=False))
    is_val = np.isin(groups, list(validation_users))
    model = build_model(x.shape[1], x[~is_val])
    batch_size = int(np.clip(len(y) // 100, 32, 512))  # small data still gets enough gradient steps
    model.fit(x[~is_val], y[~is_val], epochs=epochs, batch_size=batch_size, verbose=0,
              validation_data=(x[is_val], y[is_val]))
    _, val_auc = model.evaluate(x[is_val], y[is_val], verbose=0, batch_size=4096)
    metadata = {"data": {"source": source, "ratings": int(len(ratings)), "users_sampled": int(len(np.unique(groups))),
                         "samples": int(len(y)), "positives": int(y.sum())},
                "n_features": int(x.shape[1]), "epochs": epochs, "seed": seed,
                "metrics": {"validation_auc": float(val_auc)}, "train_seconds": round(time.time() - started, 1)}
    version = ModelRegistry(settings).save(model, metadata)
    ModelRegistry(settings).prune()
    return {"version": version, **metadata}


def ratings_from_store(store) -> pd.DataFrame:
    return pd.DataFrame(store.all_ratings(), columns=["user_id", "anime_id", "rating"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Train the ranker and register a new version.")
    parser.add_argument("--ratings", help="ratings CSV (user_id,anime_id,rating); default: read from Cassandra")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max-users", type=int, default=2000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    from store import open_store
    store = open_store()
    catalog = Catalog.from_store(store)
    if args.ratings:
        ratings, source = pd.read_csv(args.ratings, dtype={"user_id": "int64", "anime_id": "int64", "rating": "int64"}), args.ratings
    else:
        ratings, source = ratings_from_store(store), "cassandra"
    result = train(catalog, ratings, epochs=args.epochs, max_users=args.max_users, source=source)
    print(f"ranker version {result['version']}: validation AUC {result['metrics']['validation_auc']:.3f}, "
          f"{result['data']['samples']} samples, {result['train_seconds']}s")


if __name__ == "__main__":
    main()

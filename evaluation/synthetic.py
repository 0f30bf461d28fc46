"""Synthetic interaction sets: small ones with a known structure (tests), and large workloads
fitted to a real sample (benchmarks). Whatever they produce is SYNTHETIC, not data about people."""
from __future__ import annotations

import numpy as np
import pandas as pd


def clustered_interactions(n_users: int = 80, n_clusters: int = 4, items_per_cluster: int = 10,
                           watch_probability: float = 0.7, stray_items: int = 1,
                           unscored_share: float = 0.2, seed: int = 0) -> pd.DataFrame:
    """Kaggle-shaped ratings where user u mostly watches the titles of cluster ``u % n_clusters``.

    In-cluster titles get scores 7..10, ``stray_items`` random other titles 1..5; a share of
    all rows is unscored (-1). Anime ids are ``100 + item`` so they never equal an index.
    """
    rng = np.random.default_rng(seed)
    n_items = n_clusters * items_per_cluster
    rows = []
    for user in range(n_users):
        cluster_items = np.arange(items_per_cluster) + (user % n_clusters) * items_per_cluster
        watched = cluster_items[rng.random(items_per_cluster) < watch_probability]
        strays = rng.choice(np.setdiff1d(np.arange(n_items), cluster_items), stray_items, replace=False)
        for item in watched:
            rows.append((user + 1, 100 + item, int(rng.integers(7, 11))))
        for item in strays:
            rows.append((user + 1, 100 + item, int(rng.integers(1, 6))))
    frame = pd.DataFrame(rows, columns=["user_id", "anime_id", "rating"])
    unscored = rng.random(len(frame)) < unscored_share
    frame.loc[unscored, "rating"] = -1
    return frame


def catalog_for(ratings: pd.DataFrame) -> pd.DataFrame:
    """A Kaggle-shaped ``anime.csv`` frame covering every anime id of ``ratings``."""
    ids = np.unique(ratings["anime_id"].to_numpy())
    return pd.DataFrame({
        "anime_id": ids,
        "name": [f"Title &quot;{i}&quot;" for i in ids],
        "genre": "Action, Comedy",
        "type": "TV",
        "episodes": ["Unknown" if i % 7 == 0 else "12" for i in ids],
        "rating": 7.5,
        "members": 1000,
    })


def synthetic_ratings(sample: pd.DataFrame, n_users: int, seed: int = 7) -> pd.DataFrame:
    """SYNTHETIC ratings for ``n_users`` users, fitted to the sample's distributions.

    Each synthetic user copies the history length of a random sample user; the titles are
    drawn from a mixture of that user's own history (taste) and the global title popularity,
    and the scores from the per-title score distribution of the sample (including -1). The
    result keeps the sample's user-length and item-popularity shapes and some co-watch
    structure; it is a load generator, not data about real people.
    """
    rng = np.random.default_rng(seed)
    sample = sample.sort_values("anime_id", kind="stable")
    hist = [g.to_numpy() for _, g in sample.groupby("user_id")["anime_id"]]
    item_ids, first, item_counts = np.unique(sample["anime_id"].to_numpy(), return_index=True, return_counts=True)
    item_p = item_counts / item_counts.sum()
    all_scores = sample["rating"].to_numpy()          # grouped by title: title i owns [first[i], first[i]+count[i])
    rows_u, rows_a = [], []
    for new_id in range(1, n_users + 1):
        template = hist[rng.integers(len(hist))]
        n = len(template)
        own = rng.choice(template, size=rng.binomial(n, 0.6), replace=False)
        rest = rng.choice(item_ids, size=2 * n + 8, replace=True, p=item_p)
        items = pd.unique(np.concatenate([own, rest]))[:n]
        rows_u.append(np.full(len(items), new_id, dtype=np.int32))
        rows_a.append(items.astype(np.int32))
    anime = np.concatenate(rows_a)
    pos = np.searchsorted(item_ids, anime)
    rating = all_scores[first[pos] + (rng.random(len(anime)) * item_counts[pos]).astype(np.int64)]
    return pd.DataFrame({"user_id": np.concatenate(rows_u), "anime_id": anime, "rating": rating.astype(np.int16)})

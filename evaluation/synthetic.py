"""Small synthetic interaction sets with a known structure, for tests and benchmarks."""
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

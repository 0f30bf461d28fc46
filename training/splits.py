"""Per-user random hold-out: the one procedure the evaluation harness and ranker training share.

A frame of ratings (sorted by user, then title) is split per user: each user's titles are shuffled
with one seeded generator and the first ``round(holdout * n)`` are held out (at least 1, never all;
none for users below ``min_user_items``). The split depends only on the seed and the set of
interactions, not on the order of the input file's rows.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def holdout_counts(n_items: np.ndarray, holdout: float, min_user_items: int) -> np.ndarray:
    """Held-out titles per user: round(holdout * n), at least 1, at most n - 1; 0 below the minimum."""
    counts = np.floor(holdout * n_items + 0.5).astype(np.int64)
    counts = np.clip(counts, 1, np.maximum(n_items - 1, 0))
    counts[n_items < max(min_user_items, 2)] = 0
    return counts


def shuffled_rank_in_user(users: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each row's position among its user's rows in a random order (``users`` sorted ascending)."""
    _, starts, sizes = np.unique(users, return_index=True, return_counts=True)
    order = np.lexsort((rng.random(len(users)), users))
    rank = np.empty(len(users), dtype=np.int64)
    rank[order] = np.arange(len(users)) - np.repeat(starts, sizes)
    return rank


def holdout_mask(frame: pd.DataFrame, holdout: float, min_user_items: int, seed: int) -> np.ndarray:
    """Boolean mask over ``frame`` rows (sorted by user, anime) selecting the held-out ones."""
    users = frame["user_id"].to_numpy()
    _, sizes = np.unique(users, return_counts=True)
    per_row_holdout = np.repeat(holdout_counts(sizes, holdout, min_user_items), sizes)
    return shuffled_rank_in_user(users, np.random.default_rng(seed)) < per_row_holdout

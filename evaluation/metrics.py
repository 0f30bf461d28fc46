"""Top-K ranking metrics, catalog coverage, novelty and rating-prediction errors.

Ranking metrics work on a boolean ``hits`` matrix (one row per evaluated user, one column
per rank, True where the recommended title is relevant) plus each user's number of
relevant titles. Definitions (averaged over users with at least one relevant title):

* Precision@K = hits in top K / K
* Recall@K    = hits in top K / |relevant|
* NDCG@K      = DCG@K / ideal DCG@K, binary gains, discount 1 / log2(rank + 1),
                ideal = min(K, |relevant|) hits at the top
* MAP@K       = mean of AP@K = sum over hit ranks r <= K of Precision@r / min(K, |relevant|)
* HitRate@K   = share of users with at least one hit in the top K
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

EMPTY_SLOT = -1  # recommendation slot a model could not fill


def hit_matrix(recommended: np.ndarray, user_indices: np.ndarray,
               relevant_users: np.ndarray, relevant_items: np.ndarray) -> np.ndarray:
    """``hits[u, r]``: is ``recommended[u, r]`` among user ``user_indices[u]``'s relevant items?"""
    recommended = np.asarray(recommended, dtype=np.int64)
    relevant_items = np.asarray(relevant_items, dtype=np.int64)
    in_catalog = relevant_items >= 0
    n_cols = int(max(recommended.max(initial=0), relevant_items.max(initial=0))) + 1
    relevant_keys = np.asarray(relevant_users, dtype=np.int64)[in_catalog] * n_cols + relevant_items[in_catalog]
    recommended_keys = np.asarray(user_indices, dtype=np.int64)[:, None] * n_cols + recommended
    return np.isin(recommended_keys, relevant_keys) & (recommended != EMPTY_SLOT)


def _top(hits: np.ndarray, k: int) -> np.ndarray:
    if hits.shape[1] < k:
        raise ValueError(f"need at least {k} ranks, got {hits.shape[1]}")
    return hits[:, :k].astype(np.float64)


def precision_at_k(hits: np.ndarray, k: int) -> np.ndarray:
    return _top(hits, k).sum(axis=1) / k


def recall_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    return _top(hits, k).sum(axis=1) / n_relevant


def ndcg_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ideal_dcg = np.cumsum(discounts)[np.minimum(n_relevant, k) - 1]
    return (_top(hits, k) @ discounts) / ideal_dcg


def average_precision_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    top = _top(hits, k)
    precision_at_rank = np.cumsum(top, axis=1) / np.arange(1, k + 1)
    return (precision_at_rank * top).sum(axis=1) / np.minimum(n_relevant, k)


def hit_rate_at_k(hits: np.ndarray, k: int) -> np.ndarray:
    return _top(hits, k).any(axis=1).astype(np.float64)


def ranking_metrics(hits: np.ndarray, n_relevant: np.ndarray, ks: Iterable[int]) -> dict[str, float]:
    """Mean of every ranking metric at every K, keyed ``"ndcg@10"`` etc."""
    n_relevant = np.asarray(n_relevant, dtype=np.int64)
    if len(n_relevant) != hits.shape[0] or (n_relevant <= 0).any():
        raise ValueError("every evaluated user needs at least one relevant item")
    results: dict[str, float] = {}
    for k in ks:
        results[f"precision@{k}"] = float(precision_at_k(hits, k).mean())
        results[f"recall@{k}"] = float(recall_at_k(hits, n_relevant, k).mean())
        results[f"ndcg@{k}"] = float(ndcg_at_k(hits, n_relevant, k).mean())
        results[f"map@{k}"] = float(average_precision_at_k(hits, n_relevant, k).mean())
        results[f"hit_rate@{k}"] = float(hit_rate_at_k(hits, k).mean())
    return results


def catalog_coverage(recommended: np.ndarray, n_items: int, k: int) -> float:
    """Share of the catalog that appears in at least one user's top K."""
    top = recommended[:, :k]
    return len(np.unique(top[top != EMPTY_SLOT])) / n_items


def novelty(recommended: np.ndarray, item_counts: np.ndarray, n_users: int, k: int) -> float:
    """Mean self-information -log2(popularity) of recommended titles.

    Popularity = share of training users who watched the title; every catalog title has
    at least one training watch, so the logarithm is finite.
    """
    top = recommended[:, :k]
    shown = top[top != EMPTY_SLOT]
    if len(shown) == 0:
        return float("nan")
    popularity = item_counts[shown] / n_users
    return float(np.mean(-np.log2(popularity)))


def rare_share(recommended: np.ndarray, item_counts: np.ndarray, below: int, k: int) -> float:
    """Share of filled top-K slots holding a title fewer than ``below`` training users watched."""
    top = recommended[:, :k]
    shown = top[top != EMPTY_SLOT]
    return float(np.mean(item_counts[shown] < below)) if len(shown) else float("nan")


def rmse(predicted: np.ndarray, actual: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(predicted) - np.asarray(actual)) ** 2)))


def mae(predicted: np.ndarray, actual: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(predicted) - np.asarray(actual))))

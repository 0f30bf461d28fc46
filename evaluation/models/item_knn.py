"""Item-based k-nearest neighbours on the co-watch matrix."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from evaluation.data import InteractionData
from evaluation.models.base import ScoringRecommender


def cooccurrence(watched: sp.csr_matrix) -> np.ndarray:
    """Dense item x item co-watch counts ``X^T X`` (float32; counts are exact below 2^24)."""
    return (watched.T @ watched).toarray().astype(np.float32, copy=False)


def shrunk_cosine(co_counts: np.ndarray, shrinkage: float) -> np.ndarray:
    """cos(i, j) = co(i, j) / (sqrt(n_i * n_j) + shrinkage), zero diagonal.

    Shrinkage damps similarities supported by only a handful of co-watchers.
    """
    norms = np.sqrt(np.diag(co_counts)).astype(np.float32)
    denominator = np.outer(norms, norms)
    denominator += shrinkage
    denominator[denominator == 0] = 1.0  # titles nobody watched: similarity 0, not NaN
    similarity = co_counts / denominator
    np.fill_diagonal(similarity, 0.0)
    return similarity


def keep_top_neighbours(similarity: np.ndarray, n_neighbours: int) -> sp.csr_matrix:
    """Sparse copy keeping, in each column j, the ``n_neighbours`` most similar items i."""
    n_items = similarity.shape[0]
    if n_neighbours >= n_items:
        return sp.csr_matrix(similarity)
    top_rows = np.argpartition(-similarity, n_neighbours - 1, axis=0)[:n_neighbours]
    columns = np.broadcast_to(np.arange(n_items), top_rows.shape)
    values = similarity[top_rows, columns]
    pruned = sp.csr_matrix((values.ravel(), (top_rows.ravel(), columns.ravel())), shape=similarity.shape)
    pruned.eliminate_zeros()
    return pruned


class ItemKNN(ScoringRecommender):
    """score(u, j) = sum over watched i of sim(i, j), neighbours pruned per target item j."""

    def __init__(self, seed: int = 42, n_neighbours: int = 50, shrinkage: float = 10.0) -> None:
        super().__init__(seed)
        self.n_neighbours = n_neighbours
        self.shrinkage = shrinkage

    def _fit(self, train: InteractionData) -> None:
        similarity = shrunk_cosine(cooccurrence(train.watched), self.shrinkage)
        self._similarity = keep_top_neighbours(similarity, self.n_neighbours)

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        return (self._train.watched[user_indices] @ self._similarity).toarray()

"""User-based k-nearest neighbours on the co-watch matrix (the seeds' user-KNN baseline).

sim(u, v) = |W_u ∩ W_v| / (sqrt(|W_u| |W_v|) + shrinkage) over watched sets; each user keeps
their ``n_neighbours`` most similar other users, and score(u, j) = sum of the similarities of
those neighbours who watched j. Users who share a history vote for what else they watched.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from evaluation.data import InteractionData
from evaluation.models.base import ScoringRecommender


class UserKNN(ScoringRecommender):
    tuning_grid = {"n_neighbours": (50, 100, 200)}
    batch_size = 512

    def __init__(self, seed: int = 42, n_neighbours: int = 100, shrinkage: float = 10.0) -> None:
        super().__init__(seed)
        self.n_neighbours = n_neighbours
        self.shrinkage = shrinkage

    def _fit(self, train: InteractionData) -> None:
        self._watched = train.watched
        self._counts = np.diff(self._watched.indptr).astype(np.float32)

    def _neighbours(self, user_indices: np.ndarray) -> sp.csr_matrix:
        """(len(user_indices), n_users) similarities, each row cut to its ``n_neighbours`` largest."""
        co = (self._watched[user_indices] @ self._watched.T).toarray().astype(np.float32)
        norms = np.sqrt(self._counts)
        similarity = co / (np.outer(norms[user_indices], norms) + self.shrinkage)
        similarity[np.arange(len(user_indices)), user_indices] = 0.0
        keep = min(self.n_neighbours, similarity.shape[1])
        if keep < similarity.shape[1]:
            cut = np.argpartition(-similarity, keep - 1, axis=1)[:, keep:]
            np.put_along_axis(similarity, cut, 0.0, axis=1)
        return sp.csr_matrix(similarity)

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        return (self._neighbours(np.asarray(user_indices)) @ self._watched).toarray()


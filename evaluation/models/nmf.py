"""The original design's recommender: scikit-learn NMF on the user x anime rating matrix.

``X ~ W H`` with ``W`` (users x groups) and ``H`` (groups x titles).

* ``NMFGroup`` (the design as written): a user belongs to the group with the largest
  weight in their row of ``W``; titles are ranked by that group's row of ``H``, so every
  member of a group gets the same list.
* ``NMFWeighted``: rank by the full reconstruction ``W[u] @ H`` (every group, weighted).
  It also "predicts scores", but note that NMF treats missing entries as observed zeros,
  so the reconstruction is shrunk towards 0 and its RMSE is only a reference point.

Input matrix and fitting: :mod:`recall.nmf` (the batch job ``nmf`` serves the same model to experiments).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from evaluation.data import InteractionData
from evaluation.models.base import ScoringRecommender
from recall import nmf


def nmf_input(train: InteractionData) -> sp.csr_matrix:
    """Rating matrix with every unscored watch imputed by the user's mean score."""
    return nmf.impute_unscored(train.ratings)


class _NMFBase(ScoringRecommender):
    def __init__(self, seed: int = 42, n_components: int = nmf.COMPONENTS, max_iter: int = nmf.MAX_ITER) -> None:
        super().__init__(seed)
        self.n_components = n_components
        self.max_iter = max_iter

    def _fit(self, train: InteractionData) -> None:
        self._user_weights, self._group_items = nmf.fit(nmf_input(train), self.seed, self.n_components,
                                                        self.max_iter)


class NMFGroup(_NMFBase):
    """Rank by the user's dominant group's title weights."""

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        groups = self._user_weights[user_indices].argmax(axis=1)
        return self._group_items[groups]


class NMFWeighted(_NMFBase):
    """Rank by the reconstruction ``W[u] @ H`` (all groups, weighted)."""

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        return self._user_weights[user_indices] @ self._group_items

    def predict_scores(self, user_indices: np.ndarray, item_indices: np.ndarray) -> np.ndarray:
        reconstruction = np.einsum("nf,fn->n", self._user_weights[user_indices],
                                   self._group_items[:, item_indices])
        return np.clip(reconstruction, 1.0, 10.0)

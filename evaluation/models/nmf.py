"""The original design's recommender: scikit-learn NMF on the user x anime rating matrix.

``X ~ W H`` with ``W`` (users x groups) and ``H`` (groups x titles).

* ``NMFGroup`` (the design as written): a user belongs to the group with the largest
  weight in their row of ``W``; titles are ranked by that group's row of ``H``, so every
  member of a group gets the same list.
* ``NMFWeighted``: rank by the full reconstruction ``W[u] @ H`` (every group, weighted).
  It also "predicts scores", but note that NMF treats missing entries as observed zeros,
  so the reconstruction is shrunk towards 0 and its RMSE is only a reference point.

Input matrix: scores 1..10 as given; an unscored watch (-1) is replaced by the user's
mean explicit score (global mean for users who never score), because NMF needs
non-negative values and a watch is positive evidence.
"""
from __future__ import annotations

import logging
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning

from evaluation.data import UNSCORED, InteractionData
from evaluation.models.base import ScoringRecommender

log = logging.getLogger(__name__)


def nmf_input(train: InteractionData) -> sp.csr_matrix:
    """Rating matrix with every unscored watch imputed by the user's mean score."""
    explicit = train.explicit
    n_scored = np.diff(explicit.indptr)
    score_sums = np.asarray(explicit.sum(axis=1)).ravel()
    global_mean = score_sums.sum() / max(n_scored.sum(), 1) if n_scored.sum() else 7.0
    user_means = np.where(n_scored > 0, score_sums / np.maximum(n_scored, 1), global_mean)
    matrix = train.ratings.copy().astype(np.float32)
    rows = np.repeat(np.arange(train.n_users), np.diff(matrix.indptr))
    unscored = matrix.data == UNSCORED
    matrix.data[unscored] = user_means[rows[unscored]]
    return matrix


class _NMFBase(ScoringRecommender):
    def __init__(self, seed: int = 42, n_components: int = 20, max_iter: int = 200) -> None:
        super().__init__(seed)
        self.n_components = n_components
        self.max_iter = max_iter

    def _fit(self, train: InteractionData) -> None:
        model = NMF(n_components=self.n_components, random_state=self.seed, max_iter=self.max_iter)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            self._user_weights = model.fit_transform(nmf_input(train)).astype(np.float32)
        if any(issubclass(w.category, ConvergenceWarning) for w in caught):
            log.info("%s: NMF stopped at max_iter=%d before converging", type(self).__name__, self.max_iter)
        self._group_items = model.components_.astype(np.float32)


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

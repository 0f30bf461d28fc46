"""EASE: embarrassingly shallow autoencoder (Steck, WWW 2019), closed form.

B = I - P diag(1 / diag(P)),  P = (X^T X + lambda I)^-1,  score(u) = X_u B.

The Gram inverse costs O(items^3); titles watched by fewer than ``min_item_count``
training users are left out of B (never recommended, and ignored as inputs). With the
default of 5 this keeps ~4,700 of ~7,000 titles of the shared sample: a few seconds
per inverse on two cores instead of ~20 s, at no visible cost in top-20 quality since
such titles almost never make a top-20 list anyway.
"""
from __future__ import annotations

import numpy as np

from evaluation.data import InteractionData
from evaluation.models.base import ScoringRecommender
from evaluation.models.item_knn import cooccurrence
from recall.ease import ease_weights


class EASE(ScoringRecommender):
    tuning_grid = {"l2": (50.0, 100.0, 300.0, 1000.0)}

    def __init__(self, seed: int = 42, l2: float = 100.0, min_item_count: int = 5) -> None:
        super().__init__(seed)
        self.l2 = l2
        self.min_item_count = min_item_count

    def _fit(self, train: InteractionData) -> None:
        self._kept = np.flatnonzero(train.item_counts >= self.min_item_count)
        self._inputs = train.watched[:, self._kept].tocsr()
        self._weights = ease_weights(cooccurrence(self._inputs), self.l2).astype(np.float32)

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        scores = np.full((len(user_indices), self._train.n_items), -np.inf, dtype=np.float32)
        scores[:, self._kept] = self._inputs[user_indices] @ self._weights
        return scores

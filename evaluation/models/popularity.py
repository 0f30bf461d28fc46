"""Most-watched titles first: the baseline every personalised model must beat."""
from __future__ import annotations

import numpy as np

from evaluation.data import InteractionData
from evaluation.models.base import ScoringRecommender


class Popularity(ScoringRecommender):
    """Score = number of training users who watched the title (same list for everyone)."""

    def _fit(self, train: InteractionData) -> None:
        self._counts = train.item_counts.astype(np.float32)

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self._counts, (len(user_indices), len(self._counts)))

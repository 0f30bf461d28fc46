"""The one interface every evaluated model implements.

A model sees only the training ``InteractionData`` and answers, for a batch of user
*indices* (rows of that matrix), the top-k item *indices* (its columns). Models that
work with raw ids (e.g. a serving pipeline) translate through ``train.user_ids`` /
``train.item_ids``.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from evaluation.data import InteractionData
from evaluation.metrics import EMPTY_SLOT


class Recommender(ABC):
    """Minimal contract: ``fit`` once, then ``recommend`` for any batch of users.

    ``recommend`` returns an int array of shape (len(user_indices), k); each row holds
    distinct item indices, best first, padded with ``EMPTY_SLOT`` (-1) when the model
    has fewer than k candidates. With ``exclude_seen`` no training title of the user
    may appear.

    Optional: ``predict_scores`` (rating on the 1..10 scale) enables RMSE/MAE, and a
    non-empty ``tuning_grid`` makes the harness pick constructor arguments on a
    validation split carved from the training data.
    """

    tuning_grid: ClassVar[Mapping[str, Sequence[Any]]] = {}

    def __init__(self, seed: int = 42) -> None:
        self.seed = seed

    @abstractmethod
    def fit(self, train: InteractionData) -> "Recommender":
        ...

    @abstractmethod
    def recommend(self, user_indices: np.ndarray, k: int, exclude_seen: bool = True) -> np.ndarray:
        ...

    def predict_scores(self, user_indices: np.ndarray, item_indices: np.ndarray) -> np.ndarray:
        """Predicted rating of each (user, item) pair; only for score-predicting models."""
        raise NotImplementedError(f"{type(self).__name__} does not predict scores")

    @property
    def predicts_scores(self) -> bool:
        return type(self).predict_scores is not Recommender.predict_scores

    def params(self) -> dict[str, Any]:
        """Hyper-parameters worth reporting (public scalar attributes)."""
        return {name: value for name, value in vars(self).items()
                if not name.startswith("_") and isinstance(value, (int, float, str, bool))}


class ScoringRecommender(Recommender):
    """A model that can score every catalog title for a user; ranking is done here.

    Subclasses implement ``_fit`` and ``score_users`` (dense scores, ``-inf`` for titles
    the model refuses to recommend).
    """

    batch_size: ClassVar[int] = 1024

    def fit(self, train: InteractionData) -> "ScoringRecommender":
        self._train = train
        self._fit(train)
        return self

    @abstractmethod
    def _fit(self, train: InteractionData) -> None:
        ...

    @abstractmethod
    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        ...

    def recommend(self, user_indices: np.ndarray, k: int, exclude_seen: bool = True) -> np.ndarray:
        user_indices = np.asarray(user_indices, dtype=np.int64)
        batches = [
            self._recommend_batch(user_indices[start:start + self.batch_size], k, exclude_seen)
            for start in range(0, len(user_indices), self.batch_size)
        ]
        return np.vstack(batches) if batches else np.empty((0, k), dtype=np.int64)

    def _recommend_batch(self, user_indices: np.ndarray, k: int, exclude_seen: bool) -> np.ndarray:
        scores = np.array(self.score_users(user_indices), dtype=np.float32)
        scores[np.isnan(scores)] = -np.inf
        if exclude_seen:
            seen = self._train.ratings[user_indices].tocoo()
            scores[seen.row, seen.col] = -np.inf
        return top_k_indices(scores, k)


def top_k_indices(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the k highest scores per row, best first; ``-inf`` slots become -1."""
    n_rows, n_cols = scores.shape
    take = min(k, n_cols)
    candidates = np.argpartition(-scores, take - 1, axis=1)[:, :take] if take < n_cols \
        else np.tile(np.arange(n_cols), (n_rows, 1))
    candidate_scores = np.take_along_axis(scores, candidates, axis=1)
    order = np.argsort(-candidate_scores, axis=1, kind="stable")
    best = np.take_along_axis(candidates, order, axis=1)
    best[np.take_along_axis(candidate_scores, order, axis=1) == -np.inf] = EMPTY_SLOT
    if take < k:
        best = np.hstack([best, np.full((n_rows, k - take), EMPTY_SLOT, dtype=best.dtype)])
    return best.astype(np.int64)

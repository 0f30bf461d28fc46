"""Implicit-feedback ALS (Hu, Koren & Volinsky 2008) with batched conjugate gradient.

Preference p_ui = 1 for every watched title, 0 otherwise; confidence
c_ui = 1 + alpha * s_ui / 10 where s_ui is the user's score, and an unscored watch (-1)
counts as s = 7 (a notch under the median score of 8: people leave lukewarm titles
unscored more often than favourites). Low scores still mean "watched", which is what
the harness treats as relevant, so they lower confidence instead of flipping preference.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from evaluation.data import UNSCORED, InteractionData
from evaluation.models.base import ScoringRecommender
from evaluation.models.solvers import conjugate_gradient_rows, initial_factors, row_operator

UNSCORED_AS = 7.0


def confidence_strength(train: InteractionData) -> sp.csr_matrix:
    """s_ui / 10 in (0, 1] for every watched title."""
    strength = train.ratings.copy().astype(np.float32)
    strength.data[strength.data == UNSCORED] = UNSCORED_AS
    strength.data /= 10.0
    return strength


class ImplicitALS(ScoringRecommender):
    """score(u, i) = x_u . y_i with factors from weighted implicit ALS."""

    # Defaults and grid picked on the validation split of the shared sample (NDCG@10).
    tuning_grid = {"alpha": (2.0, 4.0), "regularization": (10.0, 30.0)}

    def __init__(self, seed: int = 42, factors: int = 128, alpha: float = 4.0,
                 regularization: float = 30.0, iterations: int = 12, cg_steps: int = 3) -> None:
        super().__init__(seed)
        self.factors = factors
        self.alpha = alpha
        self.regularization = regularization
        self.iterations = iterations
        self.cg_steps = cg_steps

    def _fit(self, train: InteractionData) -> None:
        extra = confidence_strength(train)
        extra.data *= self.alpha  # c - 1
        extra_t = extra.T.tocsr()
        self._users, self._items = initial_factors(self.seed, train.n_users, train.n_items, self.factors)
        for _ in range(self.iterations):
            self._users = self._half_step(extra, self._items, self._users)
            self._items = self._half_step(extra_t, self._users, self._items)

    def _half_step(self, extra: sp.csr_matrix, fixed: np.ndarray, current: np.ndarray) -> np.ndarray:
        regularization = np.full(extra.shape[0], self.regularization, dtype=np.float32)
        apply = row_operator(extra, fixed, regularization, fixed.T @ fixed)
        confidence = extra.copy()
        confidence.data += 1.0
        rhs = np.asarray(confidence @ fixed, dtype=np.float32)  # sum_i c_ui * p_ui * y_i, p_ui = 1
        return conjugate_gradient_rows(apply, rhs, current, self.cg_steps)

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        return self._users[user_indices] @ self._items.T

"""Biased matrix factorisation ("SVD"-style) for explicit scores, fitted by ALS.

r_ui ~ mu + b_u + b_i + x_u . y_i, trained on scored interactions only (unscored
watches carry no score), with ALS-WR regularisation lambda * n_u (Zhou et al. 2008).
Biases are learnt as one extra factor against a constant 1 column. Used for RMSE/MAE;
its top-k list (highest predicted score) is reported too, as a reminder that a good
score predictor is not automatically a good ranker.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from evaluation.data import InteractionData
from evaluation.models.base import ScoringRecommender
from evaluation.models.solvers import conjugate_gradient_rows, initial_factors, row_operator


def _with_ones(matrix: np.ndarray) -> np.ndarray:
    return np.hstack([matrix, np.ones((matrix.shape[0], 1), dtype=matrix.dtype)])


def _with_data(pattern: sp.csr_matrix, data: np.ndarray) -> sp.csr_matrix:
    return sp.csr_matrix((data.astype(np.float32), pattern.indices, pattern.indptr), shape=pattern.shape)


class BiasedMF(ScoringRecommender):
    # Defaults picked by validation RMSE on the shared sample (factors=0 gives biases only).
    def __init__(self, seed: int = 42, factors: int = 32, regularization: float = 0.1,
                 iterations: int = 15, cg_steps: int = 4) -> None:
        super().__init__(seed)
        self.factors = factors
        self.regularization = regularization
        self.iterations = iterations
        self.cg_steps = cg_steps

    def _fit(self, train: InteractionData) -> None:
        scores = train.explicit.astype(np.float32)
        scores_t = scores.T.tocsr()
        self._mean = float(scores.data.mean()) if scores.nnz else 0.0
        self._users, self._items = initial_factors(self.seed, train.n_users, train.n_items, self.factors)
        self._user_bias = np.zeros(train.n_users, dtype=np.float32)
        self._item_bias = np.zeros(train.n_items, dtype=np.float32)
        for _ in range(self.iterations):
            self._users, self._user_bias = self._half_step(scores, self._items, self._item_bias,
                                                           self._users, self._user_bias)
            self._items, self._item_bias = self._half_step(scores_t, self._users, self._user_bias,
                                                           self._items, self._item_bias)

    def _half_step(self, scores: sp.csr_matrix, fixed: np.ndarray, fixed_bias: np.ndarray,
                   current: np.ndarray, current_bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Solve one side's [factors, bias] with the other side's [factors, 1] held fixed."""
        fixed_aug = _with_ones(fixed)
        residual_target = scores.data - self._mean - fixed_bias[scores.indices]
        counts = np.maximum(np.diff(scores.indptr), 1).astype(np.float32)
        apply = row_operator(_with_data(scores, np.ones(scores.nnz)), fixed_aug,
                             self.regularization * counts, shared_gram=None)
        rhs = np.asarray(_with_data(scores, residual_target) @ fixed_aug, dtype=np.float32)
        start = np.hstack([current, current_bias[:, None]])
        solved = conjugate_gradient_rows(apply, rhs, start, self.cg_steps)
        return solved[:, :-1], solved[:, -1]

    def _predict(self, user_indices: np.ndarray, item_indices: np.ndarray) -> np.ndarray:
        interaction = np.einsum("nf,nf->n", self._users[user_indices], self._items[item_indices])
        return self._mean + self._user_bias[user_indices] + self._item_bias[item_indices] + interaction

    def predict_scores(self, user_indices: np.ndarray, item_indices: np.ndarray) -> np.ndarray:
        return np.clip(self._predict(np.asarray(user_indices), np.asarray(item_indices)), 1.0, 10.0)

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        return self._users[user_indices] @ self._items.T + self._item_bias

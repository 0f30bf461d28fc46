"""NMF (the seeds' design): ``X ~ W H`` on the user x title rating matrix, a user's scores ``W[u] @ H``.

NMF needs non-negative values and reads a missing entry as an observed 0; a watch without a score (-1)
is positive evidence, so it is replaced by the user's mean score (the global mean for users who never
score). Used by the batch job (``nmf``: a list served only to a variant that asks for it) and by the
evaluation harness (``nmf-weighted``, ``nmf-group``).
"""
from __future__ import annotations

import logging
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning

from recall.topk import topk_rows

log = logging.getLogger(__name__)

UNSCORED = -1
DEFAULT_GLOBAL_MEAN = 7.0
COMPONENTS = 20
MAX_ITER = 200


def impute_unscored(ratings: sp.csr_matrix) -> sp.csr_matrix:
    """A float copy of ``ratings`` (users x titles: 1..10 scores, -1 unscored watches) with every unscored
    watch replaced by the user's mean score."""
    matrix = ratings.tocsr(copy=True).astype(np.float32)
    unscored = matrix.data == UNSCORED
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    scored = ~unscored
    n_scored = np.bincount(rows[scored], minlength=matrix.shape[0])
    sums = np.bincount(rows[scored], weights=matrix.data[scored], minlength=matrix.shape[0])
    global_mean = sums.sum() / n_scored.sum() if n_scored.sum() else DEFAULT_GLOBAL_MEAN
    means = np.where(n_scored > 0, sums / np.maximum(n_scored, 1), global_mean)
    matrix.data[unscored] = means[rows[unscored]]
    return matrix


def fit(matrix: sp.csr_matrix, seed: int = 42, n_components: int = COMPONENTS, max_iter: int = MAX_ITER
        ) -> tuple[np.ndarray, np.ndarray]:
    """``(W, H)`` of a non-negative users x titles matrix (``impute_unscored`` first)."""
    model = NMF(n_components=n_components, random_state=seed, max_iter=max_iter)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        user_weights = model.fit_transform(matrix).astype(np.float32)
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        log.info("NMF stopped at max_iter=%d before converging", max_iter)
    return user_weights, model.components_.astype(np.float32)


def top_candidates(seen: sp.csr_matrix, user_weights: np.ndarray, group_items: np.ndarray, k: int,
                   block: int = 1024):
    """Top-``k`` titles per user by ``W[u] @ H``, titles in ``seen`` left out; yields ``(rows, cols, scores)``
    per block of users (rows global)."""
    seen = seen.tocsr()
    for start in range(0, seen.shape[0], block):
        stop = min(start + block, seen.shape[0])
        rows, cols, vals = topk_rows(user_weights[start:stop] @ group_items, k, exclude=seen[start:stop],
                                     min_score=0.0)
        yield rows + start, cols, vals

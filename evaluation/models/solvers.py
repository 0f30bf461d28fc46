"""Batched conjugate gradient for the least-squares steps of alternating factorisation.

Each row u of the unknown matrix solves its own small f x f system

    (G + sum_{i in Omega_u} a_ui y_i y_i^T + lambda_u I) x_u = b_u

where ``Omega_u`` are the stored entries of row u of a sparse matrix (its data = the
extra weights ``a_ui``), ``y_i`` rows of the fixed factor matrix and ``G`` an optional
Gram matrix shared by every row (``Y^T Y`` for implicit feedback). All rows run CG in
lock-step, so one iteration is a handful of vectorised gathers and one sparse product,
never a Python loop over users. A few warm-started steps per ALS sweep are enough
(Takacs et al. 2011; the approach of the ``implicit`` library).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp


def initial_factors(seed: int, n_users: int, n_items: int, factors: int) -> tuple[np.ndarray, np.ndarray]:
    """Small random user and item factors, N(0, 0.01) in float32: where every ALS fit here starts."""
    rng = np.random.default_rng(seed)
    return (rng.normal(0, 0.01, (n_users, factors)).astype(np.float32),
            rng.normal(0, 0.01, (n_items, factors)).astype(np.float32))


def row_operator(weights: sp.csr_matrix, fixed: np.ndarray, regularization: np.ndarray,
                 shared_gram: np.ndarray | None) -> Callable[[np.ndarray], np.ndarray]:
    """Return ``v -> A v`` applying every row's system matrix to that row of ``v``."""
    rows = np.repeat(np.arange(weights.shape[0]), np.diff(weights.indptr))
    gathered = fixed[weights.indices]

    def apply(vectors: np.ndarray) -> np.ndarray:
        projections = np.einsum("nf,nf->n", gathered, vectors[rows])
        weighted = sp.csr_matrix((weights.data * projections, weights.indices, weights.indptr),
                                 shape=weights.shape)
        product = weighted @ fixed + regularization[:, None] * vectors
        if shared_gram is not None:
            product += vectors @ shared_gram
        return product

    return apply


def conjugate_gradient_rows(apply: Callable[[np.ndarray], np.ndarray], rhs: np.ndarray,
                            start: np.ndarray, steps: int) -> np.ndarray:
    """Run ``steps`` CG iterations for every row's system at once, from ``start``."""
    solution = start.copy()
    residual = rhs - apply(solution)
    direction = residual.copy()
    residual_norm = np.einsum("nf,nf->n", residual, residual)
    for _ in range(steps):
        applied = apply(direction)
        curvature = np.einsum("nf,nf->n", direction, applied)
        step = np.divide(residual_norm, curvature, out=np.zeros_like(residual_norm), where=curvature > 0)
        solution += step[:, None] * direction
        residual -= step[:, None] * applied
        new_norm = np.einsum("nf,nf->n", residual, residual)
        ratio = np.divide(new_norm, residual_norm, out=np.zeros_like(new_norm), where=residual_norm > 0)
        direction = residual + ratio[:, None] * direction
        residual_norm = new_norm
    return solution

"""Top-k selection on dense score blocks, with items to exclude."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def topk_rows(scores: np.ndarray, k: int, exclude: sp.csr_matrix | None = None,
              min_score: float = -np.inf) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best ``k`` columns of each row of ``scores`` (modified in place).

    ``exclude``: a sparse matrix of the same shape whose non-zeros are masked out (seen items,
    the item itself). Entries ``<= min_score`` or non-finite never make a list. Returns flat
    ``(row, col, score)`` arrays, rows in order and each row's entries best first.
    """
    n_rows, n_cols = scores.shape
    if exclude is not None and exclude.nnz:
        ex = exclude.tocoo()
        scores[ex.row, ex.col] = -np.inf
    scores[~np.isfinite(scores)] = -np.inf
    k = min(k, n_cols)
    if k <= 0 or n_rows == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0)
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k < n_cols else np.tile(np.arange(n_cols), (n_rows, 1))
    vals = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    cols = np.take_along_axis(part, order, axis=1)
    vals = np.take_along_axis(vals, order, axis=1)
    rows = np.repeat(np.arange(n_rows), k).reshape(n_rows, k)
    keep = vals > min_score
    return rows[keep], cols[keep], vals[keep]


def ranks(rows: np.ndarray) -> np.ndarray:
    """1-based rank of each entry within its row (entries grouped by row, best first)."""
    if len(rows) == 0:
        return np.empty(0, dtype=np.int32)
    starts = np.r_[0, np.flatnonzero(np.diff(rows)) + 1]
    lengths = np.diff(np.r_[starts, len(rows)])
    return (np.arange(len(rows)) - np.repeat(starts, lengths) + 1).astype(np.int32)

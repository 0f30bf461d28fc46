"""Collaborative filtering with Spark MLlib ALS on implicit feedback.

How ratings become ALS input is decided in :mod:`recall.preference`: every (user, title) row
is a watch (preference 1), and its *strength* -- 1.0 for a -1 "watched, no score", and for a
score ``2 ** ((r - user_mean) / 2)`` clipped to [0.25, 4], i.e. mean-centred per user -- is the
``ratingCol``. MLlib's implicit ALS turns it into confidence ``1 + alpha * strength`` and fits
``p_ui ~ x_u . y_i`` weighted by it, so scores modulate how much a watch counts, never its sign.

Candidates are then exact: every user's factor row times all item factors (a dense block per
batch of users), seen titles masked out, top-k by score (:func:`topk_unseen`).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recall.topk import topk_rows


def als_estimator(rank: int = 64, iterations: int = 12, reg: float = 0.1, alpha: float = 5.0, seed: int = 42,
                  user_col: str = "user_id", item_col: str = "anime_id", rating_col: str = "strength"):
    from pyspark.ml.recommendation import ALS
    return ALS(rank=rank, maxIter=iterations, regParam=reg, alpha=alpha, implicitPrefs=True, nonnegative=False,
               userCol=user_col, itemCol=item_col, ratingCol=rating_col, coldStartStrategy="drop", seed=seed,
               checkpointInterval=-1, intermediateStorageLevel="MEMORY_ONLY", finalStorageLevel="MEMORY_ONLY")


def topk_unseen(user_factors: np.ndarray, item_factors: np.ndarray, seen: sp.csr_matrix | None, k: int,
                block: int = 1024):
    """Top-``k`` items per user by ``u . v`` excluding ``seen`` (users x items); yields ``(row, item, score)``."""
    for start in range(0, user_factors.shape[0], block):
        stop = min(start + block, user_factors.shape[0])
        scores = user_factors[start:stop].astype(np.float64) @ item_factors.T.astype(np.float64)
        r, c, v = topk_rows(scores, k, exclude=None if seen is None else seen[start:stop])
        yield r + start, c, v

"""NMF job: the seeds' matrix factorisation as a per-user list (``user_candidates``, source ``nmf``).

Served only to an experiment variant that names it (``"model": "nmf"``): it is not in the default merge,
the ranker's features or its training (``merged=False`` in the registry). Fitting is a few seconds on the
driver (scikit-learn); users are scored in blocks, rated and watched titles masked (:mod:`recall.nmf`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from batch.common import CANDIDATE_SCHEMA, load_ratings, publish_frame
from batch.versions import Build
from config import registry
from recall import nmf
from recall.topk import ranks

SOURCE = registry.source_built_by("nmf").name
COLUMNS = ["user_id", "source", "rank", "anime_id", "score"]


def candidates(ratings: pd.DataFrame, k: int, seed: int = 42) -> pd.DataFrame:
    """Top-``k`` NMF candidates for every user of ``ratings`` (``user_id, anime_id, rating``; -1 = unscored)."""
    if ratings.empty:
        return pd.DataFrame(columns=COLUMNS)
    users, user_rows = np.unique(ratings["user_id"].to_numpy(), return_inverse=True)
    items, item_cols = np.unique(ratings["anime_id"].to_numpy(), return_inverse=True)
    matrix = sp.csr_matrix((ratings["rating"].to_numpy(np.float32), (user_rows, item_cols)),
                           shape=(len(users), len(items)))
    user_weights, group_items = nmf.fit(nmf.impute_unscored(matrix), seed=seed)
    parts = [pd.DataFrame({"user_id": users[rows].astype(np.int32), "source": SOURCE, "rank": ranks(rows),
                           "anime_id": items[cols].astype(np.int32), "score": vals.astype(np.float64)})
             for rows, cols, vals in nmf.top_candidates(matrix, user_weights, group_items, k)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)


def run(spark, store, settings) -> dict:
    ratings = load_ratings(spark, settings).select("user_id", "anime_id", "rating").toPandas()
    out = candidates(ratings, settings.batch.candidates_per_source)
    frame = spark.createDataFrame(out, CANDIDATE_SCHEMA)
    rows = publish_frame(spark, frame, Build(store, "candidates", SOURCE), settings)
    return {"ratings": len(ratings), "rows": rows, "version": store.current_version(registry.SOURCE[SOURCE].pointer)}

"""EASE job: item-item regression candidates per user (``user_candidates``, source ``ease``).

The model is one dense items x items matrix (a few seconds on the driver); users are scored
in blocks against it, seen titles masked (:mod:`recall.ease`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from batch.common import CANDIDATE_SCHEMA, load_ratings, publish_frame
from batch.versions import Build
from config import registry
from recall import ease
from recall.itemsim import watch_matrix, weighted_matrix
from recall.topk import ranks

SOURCE = registry.source_built_by("ease").name


def candidates(pairs: pd.DataFrame, k: int, values: str | None = None, source: str = SOURCE) -> pd.DataFrame:
    """Top-``k`` EASE candidates for every user in ``pairs`` (``user_id, anime_id``), as list ``source``;
    ``values``: a column of ``pairs`` to fit on instead of the bare watch (1)."""
    if values is None:
        watched, users, item_ids = watch_matrix(pairs["user_id"], pairs["anime_id"])
    else:
        watched, users, item_ids = weighted_matrix(pairs["user_id"], pairs["anime_id"], pairs[values])
    kept, weights = ease.fit(watched)
    parts = [pd.DataFrame({"user_id": users[rows].astype(np.int32), "source": source,
                           "rank": ranks(rows), "anime_id": item_ids[cols].astype(np.int32),
                           "score": vals.astype(np.float64)})
             for rows, cols, vals in ease.top_candidates(watched, kept, weights, k)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["user_id", "source", "rank",
                                                                                    "anime_id", "score"])


def run(spark, store, settings) -> dict:
    pairs = load_ratings(spark, settings).select("user_id", "anime_id").toPandas()
    out = candidates(pairs, settings.batch.candidates_per_source)
    frame = spark.createDataFrame(out, CANDIDATE_SCHEMA)
    rows = publish_frame(spark, frame, Build(store, "candidates", SOURCE), settings)
    return {"ratings": len(pairs), "rows": rows, "version": store.current_version(registry.SOURCE[SOURCE].pointer)}

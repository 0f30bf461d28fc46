"""EASE job: item-item regression candidates per user (``user_candidates``, source ``ease``).

The model is one dense items x items matrix (a few seconds on the driver); users are scored
in blocks against it, seen titles masked (:mod:`recall.ease`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from batch.common import CANDIDATE_SCHEMA, load_ratings, publish_frame
from batch.options import BatchOptions
from batch.versions import Build
from recall import ease
from recall.itemsim import interaction_matrix
from recall.topk import ranks
from store import schema

SOURCE = "ease"


def candidates(pairs: pd.DataFrame, k: int) -> pd.DataFrame:
    """Top-``k`` EASE candidates for every user in ``pairs`` (``user_id, anime_id``)."""
    item_ids = np.sort(pairs["anime_id"].unique())
    user_codes, users = pd.factorize(pairs["user_id"])
    watched = interaction_matrix(user_codes, np.searchsorted(item_ids, pairs["anime_id"].to_numpy()),
                                 np.ones(len(pairs)), len(users), len(item_ids))
    watched.data[:] = 1.0
    kept, weights = ease.fit(watched)
    parts = [pd.DataFrame({"user_id": np.asarray(users)[rows].astype(np.int32), "source": SOURCE,
                           "rank": ranks(rows), "anime_id": item_ids[cols].astype(np.int32),
                           "score": vals.astype(np.float64)})
             for rows, cols, vals in ease.top_candidates(watched, kept, weights, k)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["user_id", "source", "rank",
                                                                                    "anime_id", "score"])


def run(spark, store, settings, opts: BatchOptions) -> dict:
    pairs = load_ratings(spark, settings).select("user_id", "anime_id").toPandas()
    out = candidates(pairs, opts.candidates_per_source)
    frame = spark.createDataFrame(out, CANDIDATE_SCHEMA)
    rows = publish_frame(spark, frame, Build(store, "candidates", SOURCE), schema.USER_CANDIDATES, settings)
    return {"ratings": len(pairs), "rows": rows, "version": store.current_version(f"candidates:{SOURCE}")}

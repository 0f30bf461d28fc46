"""ALS job: collaborative-filtering candidates per user (``user_candidates``, source ``als``).

Ratings become implicit-feedback strengths (:mod:`recall.preference`), MLlib ALS fits user and
item factors, and each user partition scores all titles against the broadcast item factors,
masking what the user has seen (:func:`recall.als.topk_unseen`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from pyspark.sql import functions as F

from batch.common import CANDIDATE_SCHEMA, load_ratings, publish_frame
from batch.versions import Build
from config import registry
from config.settings import BatchSettings
from recall.als import als_estimator, topk_unseen
from recall.itemsim import interaction_matrix
from recall.topk import ranks

SOURCE = registry.source_built_by("als").name


def candidates(ratings, opts: BatchSettings, k: int, partitions: int):
    """Fit ALS on ``ratings`` (``user_id, anime_id, strength``) and return the candidate DataFrame."""
    spark = ratings.sparkSession
    model = als_estimator(opts.als_rank, opts.als_iterations, opts.als_reg, opts.als_alpha).fit(ratings)
    items = model.itemFactors.toPandas().sort_values("id")
    item_ids = items["id"].to_numpy()
    b_items = spark.sparkContext.broadcast((item_ids, np.stack(items["features"].to_numpy()).astype(np.float32)))
    seen = ratings.groupBy("user_id").agg(F.collect_list("anime_id").alias("seen"))
    users = model.userFactors.withColumnRenamed("id", "user_id").join(seen, "user_id")

    def score(batches):
        ids, factors = b_items.value
        for pdf in batches:
            if pdf.empty:
                continue
            lengths = pdf["seen"].apply(len).to_numpy()
            seen_items = np.concatenate(pdf["seen"].to_numpy()) if lengths.sum() else np.empty(0, np.int64)
            pos = np.minimum(np.searchsorted(ids, seen_items), len(ids) - 1)
            known = ids[pos] == seen_items
            rows = np.repeat(np.arange(len(pdf)), lengths)
            mask = interaction_matrix(rows[known], pos[known], np.ones(known.sum()), len(pdf), len(ids))
            user_factors = np.stack(pdf["features"].to_numpy())
            for r, c, v in topk_unseen(user_factors, factors, mask, k):
                yield pd.DataFrame({"user_id": pdf["user_id"].to_numpy()[r].astype(np.int32), "source": SOURCE,
                                    "rank": ranks(r), "anime_id": ids[c].astype(np.int32), "score": v})

    return users.repartition(partitions).mapInPandas(score, CANDIDATE_SCHEMA)


def run(spark, store, settings) -> dict:
    ratings = load_ratings(spark, settings).select("user_id", "anime_id", "strength").cache()
    n = ratings.count()
    out = candidates(ratings, settings.batch, settings.batch.candidates_per_source, settings.spark.shuffle_partitions)
    rows = publish_frame(spark, out, Build(store, "candidates", SOURCE), settings)
    ratings.unpersist()
    return {"ratings": n, "rows": rows, "version": store.current_version(registry.SOURCE[SOURCE].pointer)}

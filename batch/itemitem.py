"""Item-item job: co-watch neighbours (``similar_items``, signal ``cowatch``) and the per-user
candidates they imply (``user_candidates``, source ``itemitem``).

The watch matrix is built once on the driver and broadcast; Spark spreads the title blocks of
``X_block^T X`` (:func:`recall.itemsim.cowatch_block`) and then the user partitions of the
history-times-similarity scoring over its workers.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from batch.common import (concat_triples, fan_out, load_ratings, neighbour_candidates, publish_frame,
                          similar_frame)
from batch.options import BatchOptions
from batch.versions import Build
from recall.itemsim import blocks, cowatch_block, interaction_matrix, similarity_matrix
from store import schema

SIGNAL, SOURCE = "cowatch", "itemitem"
BLOCK = 512


def cowatch(spark, pairs: pd.DataFrame, opts: BatchOptions, k: int):
    """``(item_ids, src, dst, score)`` co-watch neighbours (row-index space) of the titles in ``pairs``."""
    item_ids = np.sort(pairs["anime_id"].unique())
    user_codes, users = pd.factorize(pairs["user_id"])
    watched = interaction_matrix(user_codes, np.searchsorted(item_ids, pairs["anime_id"].to_numpy()),
                                 np.ones(len(pairs)), len(users), len(item_ids))
    watched.data[:] = 1.0
    counts = np.asarray(watched.sum(axis=0)).ravel()
    b = spark.sparkContext.broadcast((watched, watched.T.tocsr(), counts))
    shrink, min_common = opts.cowatch_shrinkage, opts.cowatch_min_common

    def block(items):
        x, xt, n = b.value
        return cowatch_block(xt, x, n, items, k, shrink, min_common)

    src, dst, score = concat_triples(fan_out(spark, blocks(len(item_ids), BLOCK), block))
    b.unpersist()
    return item_ids, src, dst, score


def run(spark, store, settings, opts: BatchOptions) -> dict:
    ratings = load_ratings(spark, settings).select("user_id", "anime_id", "strength").cache()
    pairs = ratings.select("user_id", "anime_id").toPandas()
    item_ids, src, dst, score = cowatch(spark, pairs, opts, opts.neighbours_k)
    similar = similar_frame(item_ids, src, dst, score, SIGNAL, opts.similar_per_item)
    sim_rows = publish_frame(spark, spark.createDataFrame(similar), Build(store, "similar", SIGNAL),
                             schema.SIMILAR_ITEMS, settings)
    S = similarity_matrix(src, dst, score, len(item_ids))
    out = neighbour_candidates(ratings, item_ids, S, opts.candidates_per_source, SOURCE,
                               opts.spark_shuffle_partitions)
    rows = publish_frame(spark, out, Build(store, "candidates", SOURCE), schema.USER_CANDIDATES, settings)
    ratings.unpersist()
    return {"titles": len(item_ids), "similar_rows": sim_rows, "rows": rows}

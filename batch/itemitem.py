"""Item-item job: co-watch neighbours (``similar_items``, signal ``cowatch``) and the per-user
candidates they imply (``user_candidates``, source ``itemitem``).

The watch matrix is built once on the driver and broadcast; Spark spreads the title blocks of
``X_block^T X`` (:func:`recall.itemsim.cowatch_block`) and then the user partitions of the
history-times-similarity scoring over its workers.
"""
from __future__ import annotations

import pandas as pd

from batch.common import concat_triples, fan_out, load_ratings, publish_neighbours
from config import registry
from config.settings import BatchSettings
from recall.itemsim import blocks, cowatch_block, cowatch_operands, watch_matrix

SIGNAL = registry.signal_built_by("itemitem").name
SOURCE = registry.source_built_by("itemitem").name
BLOCK = 512


def cowatch(spark, pairs: pd.DataFrame, opts: BatchSettings, k: int):
    """``(item_ids, src, dst, score)`` co-watch neighbours (row-index space) of the titles in ``pairs``."""
    watched, _, item_ids = watch_matrix(pairs["user_id"], pairs["anime_id"])
    b = spark.sparkContext.broadcast(cowatch_operands(watched))
    shrink, min_common = opts.cowatch_shrinkage, opts.cowatch_min_common
    try:
        src, dst, score = concat_triples(fan_out(spark, blocks(len(item_ids), BLOCK),
                                                 lambda items: cowatch_block(b.value, items, k, shrink, min_common)))
    finally:
        b.unpersist()
    return item_ids, src, dst, score


def run(spark, store, settings) -> dict:
    opts = settings.batch
    ratings = load_ratings(spark, settings).select("user_id", "anime_id", "strength").cache()
    pairs = ratings.select("user_id", "anime_id").toPandas()
    result = publish_neighbours(spark, store, settings, ratings, cowatch(spark, pairs, opts, opts.neighbours_k),
                                SIGNAL, SOURCE)
    ratings.unpersist()
    return result

"""Content job: content neighbours of every catalog title (``similar_items``, signal ``content``)
and per-user candidates through them (``user_candidates``, source ``content``).

Features (:func:`recall.content.content_features`) are built on the driver from the catalog,
broadcast, and Spark spreads the blocks of the cosine top-k and then the user partitions.
Titles nobody has watched get neighbours too: the catalog, not the ratings, is the index.
"""
from __future__ import annotations

import numpy as np

from batch.common import concat_triples, fan_out, load_ratings, publish_neighbours
from batch.spark import read_table
from config import registry
from config.registry import Tables
from config.settings import BatchSettings
from recall.content import ContentWeights, content_features, content_neighbours
from recall.itemsim import blocks

SIGNAL = registry.signal_built_by("content").name
SOURCE = registry.source_built_by("content").name
BLOCK = 512


def neighbours(spark, catalog, opts: BatchSettings, k: int):
    """``(item_ids, src, dst, score)``: content neighbours of the ``catalog`` frame's titles."""
    catalog = catalog.sort_values("anime_id").reset_index(drop=True)
    weights = ContentWeights(opts.content_text_weight, opts.content_genre_weight, opts.content_type_weight,
                             opts.content_episodes_weight)
    features = content_features(catalog, weights)
    b = spark.sparkContext.broadcast(features)

    def block(items):
        return next(content_neighbours(b.value, k, block=len(items), items=items))

    src, dst, score = concat_triples(fan_out(spark, blocks(len(catalog), BLOCK), block))
    b.unpersist()
    return catalog["anime_id"].to_numpy(), src, dst, score


def run(spark, store, settings) -> dict:
    opts = settings.batch
    catalog = read_table(spark, Tables.ANIME, settings).select(
        "anime_id", "name", "genres", "type", "episodes", "synopsis").toPandas()
    if catalog.empty:
        raise RuntimeError("the anime catalog is empty; load it before building content neighbours")
    ratings = load_ratings(spark, settings).select("user_id", "anime_id", "strength")
    return publish_neighbours(spark, store, settings, ratings, neighbours(spark, catalog, opts, opts.neighbours_k),
                              SIGNAL, SOURCE)

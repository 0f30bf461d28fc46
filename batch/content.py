"""Content job: content neighbours of every catalog title (``similar_items``, signal ``content``)
and per-user candidates through them (``user_candidates``, source ``content``).

Features (:func:`recall.content.content_features`) are built on the driver from the catalog,
broadcast, and Spark spreads the blocks of the cosine top-k and then the user partitions.
Titles nobody has watched get neighbours too: the catalog, not the ratings, is the index.
"""
from __future__ import annotations

import numpy as np

from batch.common import concat_triples, fan_out, load_ratings, neighbour_candidates, publish_frame, similar_frame
from batch.options import BatchOptions
from batch.spark import read_table
from batch.versions import Build
from recall.content import ContentWeights, content_features, content_neighbours
from recall.itemsim import blocks, similarity_matrix
from store import schema

SIGNAL = SOURCE = "content"
BLOCK = 512


def neighbours(spark, catalog, opts: BatchOptions, k: int):
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


def run(spark, store, settings, opts: BatchOptions) -> dict:
    catalog = read_table(spark, schema.ANIME, settings).select(
        "anime_id", "name", "genres", "type", "episodes", "synopsis").toPandas()
    if catalog.empty:
        raise RuntimeError("the anime catalog is empty; load it before building content neighbours")
    item_ids, src, dst, score = neighbours(spark, catalog, opts, opts.neighbours_k)
    similar = similar_frame(item_ids, src, dst, score, SIGNAL, opts.similar_per_item)
    sim_rows = publish_frame(spark, spark.createDataFrame(similar), Build(store, "similar", SIGNAL),
                             schema.SIMILAR_ITEMS, settings)
    ratings = load_ratings(spark, settings).select("user_id", "anime_id", "strength")
    S = similarity_matrix(src, dst, score, len(item_ids))
    out = neighbour_candidates(ratings, item_ids, S, opts.candidates_per_source, SOURCE,
                               opts.spark_shuffle_partitions)
    rows = publish_frame(spark, out, Build(store, "candidates", SOURCE), schema.USER_CANDIDATES, settings)
    return {"titles": len(item_ids), "similar_rows": sim_rows, "rows": rows}

"""Pieces the candidate jobs share: ratings with strengths, item indexes, block fan-out, writes."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.functions import pandas_udf

from batch.spark import read_table, write_table
from batch.versions import Build
from config.registry import LIST_TABLES, Tables
from recall.itemsim import interaction_matrix, score_users, similarity_matrix
from recall.preference import strength
from recall.topk import ranks

CANDIDATE_SCHEMA = "user_id int, source string, rank int, anime_id int, score double"


def ratings_with_strength(ratings: DataFrame) -> DataFrame:
    """``user_id, anime_id, rating, strength`` (see :mod:`recall.preference`), computed in Spark."""
    scored = ratings.where(F.col("rating") > 0)
    global_mean = scored.agg(F.avg("rating").alias("m")).collect()[0]["m"] or 0.0
    means = scored.groupBy("user_id").agg(F.avg("rating").alias("user_mean"))

    @pandas_udf("double")
    def strength_udf(rating: pd.Series, user_mean: pd.Series) -> pd.Series:
        return pd.Series(strength(rating.to_numpy(), user_mean.to_numpy()))

    return (ratings.join(means, "user_id", "left")
            .fillna({"user_mean": float(global_mean)})
            .withColumn("strength", strength_udf("rating", "user_mean"))
            .select("user_id", "anime_id", "rating", "strength"))


def load_ratings(spark, settings) -> DataFrame:
    return ratings_with_strength(read_table(spark, Tables.RATINGS_BY_USER, settings)
                                 .select("user_id", "anime_id", "rating"))


def fan_out(spark, tasks: Sequence, fn: Callable) -> list:
    """Run ``fn(task)`` for every task on the cluster (one Spark task each) and collect the results."""
    if not tasks:
        return []
    return spark.sparkContext.parallelize(list(tasks), len(tasks)).map(fn).collect()


def concat_triples(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]):
    if not parts:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    return tuple(np.concatenate(x) for x in zip(*parts))


def similar_frame(item_ids: np.ndarray, src, dst, score, signal: str, per_item: int) -> pd.DataFrame:
    """``similar_items`` rows (without version) for triples in row-index space, ``per_item`` per title."""
    rank = ranks(src)
    keep = rank <= per_item
    return pd.DataFrame({"anime_id": item_ids[src[keep]].astype(np.int32), "signal": signal, "rank": rank[keep],
                         "similar_id": item_ids[dst[keep]].astype(np.int32), "score": score[keep].astype(np.float64)})


def neighbour_candidates(ratings: DataFrame, item_ids: np.ndarray, similarity, k: int, source: str,
                         partitions: int) -> DataFrame:
    """Per-user candidates through an item-item similarity (broadcast), computed per user partition."""
    sc = ratings.sparkSession.sparkContext
    b_items, b_sim = sc.broadcast(item_ids), sc.broadcast(similarity)

    def score_partition(batches):
        pdf = pd.concat(list(batches), ignore_index=True)
        if pdf.empty:
            return
        items, sim = b_items.value, b_sim.value
        pos = np.searchsorted(items, pdf["anime_id"].to_numpy())
        pos = np.minimum(pos, len(items) - 1)
        known = items[pos] == pdf["anime_id"].to_numpy()
        user_codes, users = pd.factorize(pdf["user_id"])
        history = interaction_matrix(user_codes[known], pos[known], pdf["strength"].to_numpy()[known],
                                     len(users), len(items))
        for rows, cols, vals in score_users(history, sim, k):
            yield pd.DataFrame({"user_id": np.asarray(users)[rows].astype(np.int32), "source": source,
                                "rank": ranks(rows), "anime_id": items[cols].astype(np.int32),
                                "score": vals.astype(np.float64)})

    return (ratings.select("user_id", "anime_id", "strength").repartition(partitions, "user_id")
            .mapInPandas(score_partition, CANDIDATE_SCHEMA))


def neighbour_lists(ratings: DataFrame, neighbours: tuple, signal: str, source: str, settings
                    ) -> tuple[pd.DataFrame, DataFrame]:
    """What a similarity signal publishes: its ``similar_items`` rows and the per-user candidates it implies.

    ``neighbours``: ``(item_ids, src, dst, score)`` in row-index space (a job's neighbour
    builder); ``ratings``: ``user_id, anime_id, strength``. The candidates are a lazy Spark frame.
    """
    item_ids, src, dst, score = neighbours
    opts = settings.batch
    similar = similar_frame(item_ids, src, dst, score, signal, opts.similar_per_item)
    matrix = similarity_matrix(src, dst, score, len(item_ids))
    candidates = neighbour_candidates(ratings, item_ids, matrix, opts.candidates_per_source, source,
                                      settings.spark.shuffle_partitions)
    return similar, candidates


def publish_neighbours(spark, store, settings, ratings: DataFrame, neighbours: tuple, signal: str,
                       source: str) -> dict:
    """Publish :func:`neighbour_lists` as new versions of ``similar:<signal>`` and ``candidates:<source>``."""
    similar, candidates = neighbour_lists(ratings, neighbours, signal, source, settings)
    sim_rows = publish_frame(spark, spark.createDataFrame(similar), Build(store, "similar", signal), settings)
    rows = publish_frame(spark, candidates, Build(store, "candidates", source), settings)
    return {"titles": len(neighbours[0]), "similar_rows": sim_rows, "rows": rows}


def write_versioned(df: DataFrame, table: str, version: int, settings) -> None:
    write_table(df.withColumn("version", F.lit(version).cast("long")), table, settings)


def publish_frame(spark, df: DataFrame, build, settings) -> int:
    """Write ``df`` as ``build``'s new version of its list's table, flip the pointer, drop stale versions.

    Returns the number of rows written (counted while writing, without a second pass).
    """
    counter = spark.sparkContext.accumulator(0)

    def count(batches):
        for pdf in batches:
            counter.add(len(pdf))
            yield pdf

    version = build.begin()
    write_versioned(df.mapInPandas(count, df.schema), LIST_TABLES[build.list_name], version, settings)
    rows = int(counter.value)
    build.publish(rows)
    return rows

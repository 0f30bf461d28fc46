"""Popularity job: ``popular_items`` (segment ``all`` and ``genre:<Genre>``), a new version each run.

Spark scans the ratings and the streaming job's title features (events in the last 24 h, as of
each title's latest event) and reduces them to one row per title; scoring and ranking (:mod:`recall.popularity`) run on those catalog-sized frames.
"""
from __future__ import annotations

import time

import pandas as pd
from pyspark.sql import functions as F
from pyspark.sql.functions import pandas_udf

from batch.spark import read_table, write_table
from batch.versions import Build
from recall.popularity import popular_lists, recency_weight, score_titles
from config.registry import Tables


def title_aggregates(ratings, windows, now_s: float, half_life_hours: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-title ``watches`` and recency-weighted ``recent`` event counts, as pandas frames.

    ``windows``: ``anime_id, window_start, clicks, views`` -- events counted up to ``window_start``.
    """
    @pandas_udf("double")
    def weight(window_start: pd.Series) -> pd.Series:
        age = now_s - window_start.astype("int64").to_numpy() / 1e9
        return pd.Series(recency_weight(age, half_life_hours))

    watches = ratings.groupBy("anime_id").agg(F.count(F.lit(1)).alias("watches")).toPandas()
    events = F.coalesce(F.col("clicks"), F.lit(0)) + F.coalesce(F.col("views"), F.lit(0))
    recent = (windows.where(events > 0)
              .groupBy("anime_id").agg(F.sum(events.cast("double") * weight(F.col("window_start"))).alias("recent"))
              .toPandas())
    return watches, recent


def run(spark, store, settings) -> dict:
    opts = settings.batch
    ratings = read_table(spark, Tables.RATINGS_BY_USER, settings).select("anime_id")
    windows = read_table(spark, Tables.TITLE_FEATURES, settings).select(
        "anime_id", F.col("window_at_24h").alias("window_start"), F.col("clicks_24h").alias("clicks"),
        F.col("views_24h").alias("views")).where(F.col("window_start").isNotNull())
    catalog = read_table(spark, Tables.ANIME, settings).select("anime_id", "genres").toPandas()
    watches, recent = title_aggregates(ratings, windows, time.time(), opts.popular_half_life_hours)
    scores = score_titles(watches, recent, opts.popular_trend_weight)
    lists = popular_lists(scores, catalog, opts.popular_list_size)
    build = Build(store, "popular")
    version = build.begin()
    out = spark.createDataFrame(lists.assign(version=version),
                                "segment string, rank int, anime_id int, score double, version long")
    write_table(out, Tables.POPULAR_ITEMS, settings)
    dropped = build.publish(len(lists))
    return {"version": version, "rows": len(lists), "segments": int(lists["segment"].nunique()),
            "titles_with_events": len(recent), "dropped_partitions": dropped}

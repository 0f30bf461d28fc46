"""Rating statistics job: per title, how many users rated or watched it and their mean score.

Fills ``anime_rating_stats`` (read by ``GET /anime/<id>``). Rows are upserts of whole
aggregates, so a re-run converges on the current ratings; -1 ("watched, no score") counts
as a rating but not towards the mean.
"""
from __future__ import annotations

from pyspark.sql import functions as F

from batch.spark import read_table, write_table
from config.registry import Tables


def rating_stats(ratings):
    """``anime_id, ratings, scored, mean_score`` from ``user_id, anime_id, rating`` rows."""
    scored = F.when(F.col("rating") > 0, F.col("rating"))
    return (ratings.groupBy("anime_id")
            .agg(F.count(F.lit(1)).cast("int").alias("ratings"), F.count(scored).cast("int").alias("scored"),
                 F.avg(scored).cast("float").alias("mean_score")))


def run(spark, store, settings) -> dict:
    stats = rating_stats(read_table(spark, Tables.RATINGS_BY_USER, settings).select("anime_id", "rating")).cache()
    titles = stats.count()
    write_table(stats, Tables.ANIME_RATING_STATS, settings)
    stats.unpersist()
    return {"rows": titles}

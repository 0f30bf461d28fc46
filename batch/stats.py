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
    """Also counts every rating and every user who rated (the run's details: the dashboard's totals)."""
    ratings = read_table(spark, Tables.RATINGS_BY_USER, settings).select("user_id", "anime_id", "rating").cache()
    stats = rating_stats(ratings).cache()
    titles = stats.count()
    write_table(stats, Tables.ANIME_RATING_STATS, settings)
    totals = ratings.agg(F.count(F.lit(1)).alias("ratings"), F.countDistinct("user_id").alias("users")).first()
    stats.unpersist()
    ratings.unpersist()
    return {"rows": titles, "ratings": int(totals["ratings"]), "users": int(totals["users"])}

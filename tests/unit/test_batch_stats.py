import pytest



def test_rating_stats_count_watches_and_average_scores_only():
    from pyspark.sql import SparkSession

    from batch.stats import rating_stats
    spark = SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false").getOrCreate()
    rows = [(1, 10, 8), (2, 10, -1), (3, 10, 6), (1, 20, -1)]
    out = {r["anime_id"]: r.asDict() for r in rating_stats(spark.createDataFrame(rows, "user_id int, anime_id int, rating int")).collect()}
    assert out[10]["ratings"] == 3 and out[10]["scored"] == 2 and out[10]["mean_score"] == pytest.approx(7.0)
    assert out[20]["ratings"] == 1 and out[20]["scored"] == 0 and out[20]["mean_score"] is None

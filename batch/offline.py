"""Every recall source built from a ratings frame in memory, by the batch jobs' own code.

Used where the lists must come from a split of the data, not from Cassandra: ranker training
(labels are titles the lists never saw) and offline evaluation. The result is a
:class:`store.memory.MemoryStore`, which serves the same reads as Cassandra, so the serving
pipeline (:class:`ranking.recommender.Recommender`) runs on it unchanged.
"""
from __future__ import annotations

import time

import pandas as pd

from batch.options import BatchOptions
from store.memory import MemoryStore

ALL_SOURCES = ("als", "ease", "itemitem", "content")


def build_offline_store(spark, ratings: pd.DataFrame, catalog: pd.DataFrame, opts: BatchOptions | None = None,
                        sources: tuple[str, ...] = ALL_SOURCES, timings: dict | None = None) -> MemoryStore:
    """``ratings``: user_id, anime_id, rating; ``catalog``: anime_id, name, genres, type, episodes, synopsis.

    Popularity is always built; ``sources`` picks the others (ALS is the slow one).
    """
    from batch import als, content, ease, itemitem
    from batch.common import neighbour_candidates, ratings_with_strength, similar_frame
    from recall.itemsim import similarity_matrix
    from recall.popularity import popular_lists, score_titles

    opts = opts or BatchOptions.from_env()
    k = opts.candidates_per_source
    timings = {} if timings is None else timings
    lists, similar = [], []

    def timed(name, fn):
        start = time.perf_counter()
        result = fn()
        timings[name] = time.perf_counter() - start
        return result

    watches = ratings.groupby("anime_id", as_index=False).size().rename(columns={"size": "watches"})
    popular = timed("popular", lambda: popular_lists(score_titles(watches), None, opts.candidates_per_source))

    strengths = ratings_with_strength(spark.createDataFrame(ratings[["user_id", "anime_id", "rating"]])).cache()
    strengths.count()
    if "als" in sources:
        lists.append(timed("als", lambda: als.candidates(strengths.select("user_id", "anime_id", "strength"), opts,
                                                           k).toPandas()))
    if "ease" in sources:
        lists.append(timed("ease", lambda: ease.candidates(ratings[["user_id", "anime_id"]], k)))
    for source, signal, neighbours in (
            ("itemitem", "cowatch", lambda: itemitem.cowatch(spark, ratings[["user_id", "anime_id"]], opts, opts.neighbours_k)),
            ("content", "content", lambda: content.neighbours(spark, catalog, opts, opts.neighbours_k))):
        if source not in sources:
            continue

        def build(neighbours=neighbours, source=source, signal=signal):
            item_ids, src, dst, score = neighbours()
            similar.append(similar_frame(item_ids, src, dst, score, signal, opts.similar_per_item))
            matrix = similarity_matrix(src, dst, score, len(item_ids))
            return neighbour_candidates(strengths, item_ids, matrix, k, source,
                                        opts.spark_shuffle_partitions).toPandas()
        lists.append(timed(source, build))
    strengths.unpersist()
    return MemoryStore(ratings[["user_id", "anime_id", "rating"]], pd.concat(lists, ignore_index=True),
                       pd.concat(similar, ignore_index=True), popular)

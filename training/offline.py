"""Every recall source built from a ratings frame in memory, by the batch jobs' own code.

Used where the lists must come from a split of the data, not from Cassandra: ranker training
(labels are titles the lists never saw) and offline evaluation. The result is a
:class:`store.MemoryStore`, which implements the same store interfaces as Cassandra, so the
serving pipeline (:class:`ranking.recommender.Recommender`) runs on it unchanged.
"""
from __future__ import annotations

import time
from collections.abc import Sequence

import pandas as pd

from batch import als, content, ease, ease_scored, itemitem
from batch.common import neighbour_lists, ratings_with_strength
from config import Settings, registry
from recall.popularity import popular_lists, score_titles
from store import MemoryStore


def build_offline_store(spark, ratings: pd.DataFrame, catalog: pd.DataFrame, settings: Settings,
                        sources: Sequence[str] | None = None, timings: dict | None = None) -> MemoryStore:
    """``ratings``: user_id, anime_id, rating; ``catalog``: anime_id, name, genres, type, episodes, synopsis.

    Popularity is always built; ``sources`` (default ``settings.ranker.sources``) picks the
    per-user batch sources of :data:`config.registry.USER_SOURCES` (ALS is the slow one).
    """
    sources = tuple(sources or settings.ranker.sources)
    unknown = set(sources) - set(registry.USER_SOURCES)
    if unknown:
        raise ValueError(f"not offline recall sources: {sorted(unknown)}; choose from {registry.USER_SOURCES}")
    opts, partitions = settings.batch, settings.spark.shuffle_partitions
    k = opts.candidates_per_source
    timings = {} if timings is None else timings
    lists, similar = [], []

    def timed(name, fn):
        start = time.perf_counter()
        result = fn()
        timings[name] = time.perf_counter() - start
        return result

    watches = ratings.groupby("anime_id", as_index=False).size().rename(columns={"size": "watches"})
    popular = timed(registry.POPULAR_SOURCE, lambda: popular_lists(score_titles(watches), None, k))

    strengths = ratings_with_strength(spark.createDataFrame(ratings[["user_id", "anime_id", "rating"]])).cache()
    strengths.count()
    pairs = ratings[["user_id", "anime_id"]]

    def through(signal: str, source: str, neighbours) -> pd.DataFrame:
        similar_rows, candidates = neighbour_lists(strengths, neighbours(), signal, source, settings)
        similar.append(similar_rows)
        return candidates.toPandas()

    builders = {
        als.SOURCE: lambda: als.candidates(strengths.select("user_id", "anime_id", "strength"), opts, k,
                                           partitions).toPandas(),
        ease.SOURCE: lambda: ease.candidates(pairs, k),
        ease_scored.SOURCE: lambda: ease_scored.candidates(
            strengths.select("user_id", "anime_id", "strength").toPandas(), k),
        itemitem.SOURCE: lambda: through(itemitem.SIGNAL, itemitem.SOURCE,
                                         lambda: itemitem.cowatch(spark, pairs, opts, opts.neighbours_k)),
        content.SOURCE: lambda: through(content.SIGNAL, content.SOURCE,
                                        lambda: content.neighbours(spark, catalog, opts, opts.neighbours_k)),
    }
    for source in registry.USER_SOURCES:     # registry order, whatever order ``sources`` names them in
        if source in sources:
            lists.append(timed(source, builders[source]))
    strengths.unpersist()
    return MemoryStore.from_frames(ratings[["user_id", "anime_id", "rating"]], pd.concat(lists, ignore_index=True),
                                   pd.concat(similar, ignore_index=True) if similar else _no_similar(), popular)


def _no_similar() -> pd.DataFrame:
    return pd.DataFrame({"anime_id": pd.Series(dtype="int32"), "signal": pd.Series(dtype="str"),
                         "rank": pd.Series(dtype="int32"), "similar_id": pd.Series(dtype="int32"),
                         "score": pd.Series(dtype="float64")})

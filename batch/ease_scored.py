"""Score-weighted EASE job: ``user_candidates`` of source ``ease_scored``.

The EASE model of :mod:`batch.ease`, fitted on each watch's preference strength (the score against the viewer's
own mean, :mod:`recall.preference`) instead of a bare 1: titles loved by those who loved the same titles. A
second opinion beside ``ease`` that the ranker weighs (the design study in docs/RESULTS.md measured it).
"""
from __future__ import annotations

import pandas as pd

from batch import ease
from batch.common import CANDIDATE_SCHEMA, load_ratings, publish_frame
from batch.versions import Build
from config import registry

SOURCE = registry.source_built_by("ease_scored").name


def candidates(strengths: pd.DataFrame, k: int) -> pd.DataFrame:
    """Top-``k`` candidates for every user in ``strengths`` (``user_id, anime_id, strength``)."""
    return ease.candidates(strengths, k, values="strength", source=SOURCE)


def run(spark, store, settings) -> dict:
    strengths = load_ratings(spark, settings).select("user_id", "anime_id", "strength").toPandas()
    out = candidates(strengths, settings.batch.candidates_per_source)
    rows = publish_frame(spark, spark.createDataFrame(out, CANDIDATE_SCHEMA), Build(store, "candidates", SOURCE),
                         settings)
    return {"ratings": len(strengths), "rows": rows, "version": store.current_version(registry.SOURCE[SOURCE].pointer)}

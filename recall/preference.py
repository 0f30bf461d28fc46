"""From ratings to implicit-feedback strengths (shared by ALS and the neighbour sources).

Decision (the ratings carry 1..10 scores and -1 = "watched, no score"):

* **Preference** is binary: every (user, title) row is a watch, so p = 1, whatever the score.
  Recall predicts what a user will watch next; a title watched and scored low was still chosen,
  and treating it as a negative would teach the model to hide franchises people do watch.
* **Strength** says how sure we are of that preference, from the score *relative to the user's
  own scale* (mean-centred: a 7 from a user who averages 9 is lukewarm, from one who averages 5
  it is enthusiastic): ``strength = clip(2 ** ((r - mean_u) / scale), lo, hi)``; with the
  defaults, one ``scale`` (2 points) above the user's mean doubles it, two points below halves
  it, clipped to [0.25, 4]. A -1 carries no score information and gets the neutral 1.0, as does
  any score of a user who never scores (mean_u falls back to the global mean).
* ALS (implicit prefs, Hu-Koren-Volinsky) then uses confidence ``c = 1 + alpha * strength``:
  every watch is trusted, well-liked ones more, unwatched titles have c = 1 and p = 0.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

SCALE = 2.0
LOW, HIGH = 0.25, 4.0
WATCHED_NO_SCORE = -1


def strength(rating, user_mean, scale: float = SCALE, low: float = LOW, high: float = HIGH) -> np.ndarray:
    """Elementwise strength of ``rating`` given the rater's mean explicit score ``user_mean``."""
    r = np.asarray(rating, dtype=np.float64)
    mu = np.asarray(user_mean, dtype=np.float64)
    scored = r > 0
    out = np.ones_like(r)
    centred = np.where(scored & np.isfinite(mu), r - mu, 0.0)
    out[scored] = np.clip(np.exp2(centred[scored] / scale), low, high)
    return out


def user_means(ratings: pd.DataFrame) -> pd.Series:
    """Mean explicit (>0) score per ``user_id``; users with none get the global mean."""
    scored = ratings[ratings["rating"] > 0]
    means = scored.groupby("user_id")["rating"].mean()
    global_mean = float(scored["rating"].mean()) if len(scored) else 0.0
    return means.reindex(ratings["user_id"].unique()).fillna(global_mean)


def with_strength(ratings: pd.DataFrame) -> pd.DataFrame:
    """``ratings`` (``user_id, anime_id, rating``) plus a ``strength`` column."""
    mu = ratings["user_id"].map(user_means(ratings))
    return ratings.assign(strength=strength(ratings["rating"].to_numpy(), mu.to_numpy()))

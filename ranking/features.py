"""Ranking features: one function builds them, for training and for serving alike."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ranking.catalog import TYPES, Catalog

SOURCES = ("popular", "als", "ease", "itemitem", "content", "recent")
USER_SCALARS = 4
CROSSES = 2
REALTIME = 3


@dataclass
class UserProfile:
    """What the ranker knows of a user: their ratings (-1 = watched, no score)."""

    anime_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    ratings: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))

    @classmethod
    def from_pairs(cls, pairs) -> "UserProfile":
        pairs = list(pairs)
        if not pairs:
            return cls()
        ids, ratings = zip(*pairs)
        return cls(np.asarray(ids, dtype=np.int64), np.asarray(ratings, dtype=np.float32))


def item_features(catalog: Catalog) -> np.ndarray:
    """(n_items, d_item): popularity, score, length, type one-hot, genres."""
    f = catalog.frame
    members = np.log1p(f["members"].fillna(0).to_numpy(dtype=np.float32)) / 14.0
    rating = f["rating"].to_numpy(dtype=np.float32)
    has_rating = ~np.isnan(rating)
    fill = float(np.nanmean(rating)) if has_rating.any() else 0.0
    rating = np.where(has_rating, rating, fill) / 10.0
    episodes = np.log1p(f["episodes"].fillna(12).to_numpy(dtype=np.float32)) / 7.0
    types = np.stack([(f["type"] == t).to_numpy() for t in TYPES], axis=1).astype(np.float32)
    scalars = np.stack([members, rating, has_rating.astype(np.float32), episodes], axis=1)
    return np.concatenate([scalars, types, catalog.genre_matrix], axis=1).astype(np.float32)


def user_vector(profile: UserProfile, catalog: Catalog, items: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The user's scale (count, mean, spread, share unscored), genre affinity, and mean log-episodes."""
    known = np.array([a in catalog for a in profile.anime_ids], dtype=bool)
    rows = catalog.rows_of(profile.anime_ids[known]) if known.any() else np.zeros(0, dtype=np.int64)
    scores = profile.ratings[profile.ratings > 0]
    n = len(profile.anime_ids)
    scalars = np.array([np.log1p(n) / 8.0,
                        (scores.mean() / 10.0) if len(scores) else 0.0,
                        (scores.std() / 5.0) if len(scores) > 1 else 0.0,
                        (1.0 - len(scores) / n) if n else 0.0], dtype=np.float32)
    if len(rows):
        return scalars, catalog.genre_matrix[rows].mean(axis=0), float(items[rows, 3].mean())
    return scalars, np.zeros(len(catalog.genres), dtype=np.float32), -1.0


_SOURCE_COLUMN = {source: j for j, source in enumerate(SOURCES)}


def recall_signals(candidates: list[dict]) -> np.ndarray:
    """Per candidate: fused recall score, then per source 1/log2(1+rank) (0 when absent), and source count."""
    ranks = np.zeros((len(candidates), len(SOURCES)), dtype=np.float32)
    for i, c in enumerate(candidates):
        for source, rank in (c.get("ranks") or {c["source"]: 1}).items():
            if source in _SOURCE_COLUMN:
                ranks[i, _SOURCE_COLUMN[source]] = rank
    present = ranks > 0
    per_source = np.where(present, 1.0 / np.log2(1.0 + np.maximum(ranks, 1.0)), 0.0)
    fused = np.fromiter((c["score"] for c in candidates), dtype=np.float32, count=len(candidates))
    # fused reciprocal-rank scores are ~0.001-0.05
    return np.concatenate([fused[:, None] * 100.0, per_source, present.sum(axis=1, keepdims=True) / len(SOURCES)],
                          axis=1).astype(np.float32)


def build_features(catalog: Catalog, items: np.ndarray, profile: UserProfile, candidates: list[dict],
                   counts: dict[int, tuple[int, int]]) -> np.ndarray:
    """(n_candidates, d): item features, user scale, user x item crosses, recall signals, real-time counts."""
    ids = [c["anime_id"] for c in candidates]
    rows = catalog.rows_of(ids)
    item = items[rows]
    user_scalars, affinity, user_episodes = user_vector(profile, catalog, items)
    genres = catalog.genre_matrix[rows]
    genre_match = (genres @ affinity) / np.maximum(genres.sum(axis=1), 1.0)
    episode_gap = np.abs(item[:, 3] - user_episodes) if user_episodes >= 0 else np.full(len(rows), 0.5)
    clicks_views = np.array([counts.get(int(a), (0, 0)) for a in ids], dtype=np.float32).reshape(-1, 2)
    realtime = np.concatenate([np.log1p(clicks_views) / 10.0,
                               (clicks_views[:, :1] / np.maximum(clicks_views[:, 1:], 1.0)).clip(0, 1)], axis=1)
    return np.concatenate([item, np.broadcast_to(user_scalars, (len(rows), USER_SCALARS)),
                           np.stack([genre_match, episode_gap], axis=1), recall_signals(candidates), realtime],
                          axis=1).astype(np.float32)


def n_features(catalog: Catalog) -> int:
    return 4 + len(TYPES) + len(catalog.genres) + USER_SCALARS + CROSSES + 2 + len(SOURCES) + REALTIME

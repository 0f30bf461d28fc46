"""Ranking features: one function builds them, for training and for serving alike."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ranking.catalog import TYPES, Catalog

SOURCES = ("popular", "als", "itemitem", "content", "recent")


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
    rating = np.where(has_rating, rating, np.nanmean(rating)) / 10.0
    episodes = np.log1p(f["episodes"].fillna(12).to_numpy(dtype=np.float32)) / 7.0
    types = np.stack([(f["type"] == t).to_numpy() for t in TYPES], axis=1).astype(np.float32)
    scalars = np.stack([members, rating, has_rating.astype(np.float32), episodes], axis=1)
    return np.concatenate([scalars, types, catalog.genre_matrix], axis=1).astype(np.float32)


def user_vector(profile: UserProfile, catalog: Catalog, items: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The user's scalar features, genre affinity (n_genres) and mean log-episodes."""
    known = np.array([a in catalog for a in profile.anime_ids], dtype=bool)
    rows = catalog.rows_of(profile.anime_ids[known]) if known.any() else np.zeros(0, dtype=np.int64)
    scores = profile.ratings[profile.ratings > 0]
    n = len(profile.anime_ids)
    scalars = np.array([np.log1p(n) / 8.0,
                        (scores.mean() / 10.0) if len(scores) else 0.0,
                        (scores.std() / 5.0) if len(scores) > 1 else 0.0,
                        (1.0 - len(scores) / n) if n else 0.0], dtype=np.float32)
    if len(rows):
        affinity = catalog.genre_matrix[rows].mean(axis=0)
        episodes = float(items[rows, 3].mean())
    else:
        affinity = np.zeros(len(catalog.genres), dtype=np.float32)
        episodes = -1.0
    return scalars, affinity, episodes


def build_features(catalog: Catalog, items: np.ndarray, profile: UserProfile, candidate_ids,
                   recall_scores: np.ndarray, sources: list[set[str]], counts: dict[int, tuple[int, int]]) -> np.ndarray:
    """(n_candidates, d): item features, user scalars, user x item crosses, recall and real-time signals."""
    rows = catalog.rows_of(candidate_ids)
    item = items[rows]
    user_scalars, affinity, user_episodes = user_vector(profile, catalog, items)
    genre_norm = np.maximum(catalog.genre_matrix[rows].sum(axis=1), 1.0)
    genre_match = (catalog.genre_matrix[rows] @ affinity) / genre_norm
    episode_gap = np.abs(item[:, 3] - user_episodes) if user_episodes >= 0 else np.full(len(rows), 0.5)
    source_hot = np.array([[s in src for s in SOURCES] for src in sources], dtype=np.float32).reshape(len(rows), -1)
    clicks_views = np.array([counts.get(int(a), (0, 0)) for a in candidate_ids], dtype=np.float32).reshape(-1, 2)
    realtime = np.concatenate([np.log1p(clicks_views) / 10.0,
                               (clicks_views[:, :1] / np.maximum(clicks_views[:, 1:], 1.0)).clip(0, 1)], axis=1)
    return np.concatenate([
        item, np.broadcast_to(user_scalars, (len(rows), len(user_scalars))),
        np.stack([genre_match, episode_gap, recall_scores.astype(np.float32), source_hot.sum(axis=1) / len(SOURCES)], axis=1),
        source_hot, realtime], axis=1).astype(np.float32)

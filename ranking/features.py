"""Ranking features: one schema, one function that builds them, for training and serving alike.

A :class:`FeatureSchema` names every column and fixes the vocabularies (genres, types, recall
sources) that decide the width of the input. It is saved with each ranker version and used at
serving, so a catalog that gains a genre after training changes nothing the model sees: titles
keep the columns of the genres the model knows, and an unknown genre is simply not a column.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from config import registry
from ranking.catalog import TYPES, Catalog
from ranking.realtime import NEVER_HOURS, USER_VECTOR, VECTOR, activity_vector, affinity_shares, title_vector

ITEM_SCALARS = ("item_members", "item_rating", "item_has_rating", "item_episodes")
USER_SCALARS = ("user_titles", "user_mean_score", "user_score_spread", "user_unscored_share")
CROSSES = ("cross_genre_match", "cross_episode_gap")
TITLE_REALTIME = tuple(f"rt_{name}" for name in VECTOR)
USER_REALTIME = (*(f"rt_user_{name}" for name in USER_VECTOR), "rt_affinity_match")
REALTIME = (*TITLE_REALTIME, *USER_REALTIME)
EPISODES_COLUMN = ITEM_SCALARS.index("item_episodes")


@dataclass(frozen=True)
class FeatureSchema:
    """Feature names and vocabularies of one ranker version (JSON-serialisable)."""

    genres: tuple[str, ...]
    types: tuple[str, ...] = TYPES
    sources: tuple[str, ...] = registry.SOURCE_NAMES
    realtime: tuple[str, ...] = REALTIME   # the real-time columns it has (of REALTIME, in that order)

    @classmethod
    def for_catalog(cls, catalog: Catalog) -> "FeatureSchema":
        return cls(genres=catalog.genres)

    @classmethod
    def from_dict(cls, data: dict) -> "FeatureSchema":
        # versions saved before the per-user columns have the title ones only
        realtime = tuple(data.get("realtime", TITLE_REALTIME))
        unknown = [n for n in realtime if n not in REALTIME]
        if unknown:
            raise ValueError(f"unknown real-time feature(s) in the saved schema: {', '.join(unknown)}")
        schema = cls(genres=tuple(data["genres"]), types=tuple(data["types"]), sources=tuple(data["sources"]),
                     realtime=realtime)
        if data.get("names") is not None and list(data["names"]) != schema.names:
            raise ValueError("the saved feature names do not match the schema's vocabularies")
        return schema

    def to_dict(self) -> dict:
        return {**{k: list(v) for k, v in asdict(self).items()}, "names": self.names}

    @property
    def item_names(self) -> list[str]:
        return [*ITEM_SCALARS, *(f"type_{t}" for t in self.types), *(f"genre_{g}" for g in self.genres)]

    @property
    def names(self) -> list[str]:
        return [*self.item_names, *USER_SCALARS, *CROSSES, "recall_fused",
                *(registry.SOURCE[s].feature if s in registry.SOURCE else f"source_{s}" for s in self.sources),
                "recall_source_count", *self.realtime]

    @property
    def width(self) -> int:
        return len(self.names)

    def genre_matrix(self, catalog: Catalog) -> np.ndarray:
        """(n_items, len(genres)) 0/1 in this schema's genre order; genres it does not know are left out."""
        known = {g: j for j, g in enumerate(self.genres)}
        columns = np.array([known.get(g, -1) for g in catalog.genres], dtype=np.int64)
        matrix = np.zeros((len(catalog), len(self.genres)), dtype=np.float32)
        rows, cats = np.nonzero(catalog.genre_matrix[:, columns >= 0])
        matrix[rows, columns[columns >= 0][cats]] = 1.0
        return matrix


@dataclass
class ItemFeatures:
    """The catalog seen through one schema: per-title features and genre rows, aligned with the catalog."""

    catalog: Catalog
    schema: FeatureSchema
    matrix: np.ndarray = field(init=False)
    genres: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        f = self.catalog.frame
        members = np.log1p(f["members"].fillna(0).to_numpy(dtype=np.float32)) / 14.0
        rating = f["rating"].to_numpy(dtype=np.float32)
        has_rating = ~np.isnan(rating)
        fill = float(np.nanmean(rating)) if has_rating.any() else 0.0
        rating = np.where(has_rating, rating, fill) / 10.0
        episodes = np.log1p(f["episodes"].fillna(12).to_numpy(dtype=np.float32)) / 7.0
        types = np.array([(f["type"] == t).to_numpy() for t in self.schema.types], dtype=np.float32).T.reshape(
            len(f), len(self.schema.types))
        scalars = np.stack([members, rating, has_rating.astype(np.float32), episodes], axis=1)
        self.genres = self.schema.genre_matrix(self.catalog)
        self.matrix = np.concatenate([scalars, types, self.genres], axis=1).astype(np.float32)


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


def user_vector(profile: UserProfile, items: ItemFeatures) -> tuple[np.ndarray, np.ndarray, float]:
    """The user's scale (count, mean, spread, share unscored), genre affinity, and mean log-episodes."""
    catalog = items.catalog
    known = np.array([a in catalog for a in profile.anime_ids], dtype=bool)
    rows = catalog.rows_of(profile.anime_ids[known]) if known.any() else np.zeros(0, dtype=np.int64)
    scores = profile.ratings[profile.ratings > 0]
    n = len(profile.anime_ids)
    scalars = np.array([np.log1p(n) / 8.0,
                        (scores.mean() / 10.0) if len(scores) else 0.0,
                        (scores.std() / 5.0) if len(scores) > 1 else 0.0,
                        (1.0 - len(scores) / n) if n else 0.0], dtype=np.float32)
    if len(rows):
        return scalars, items.genres[rows].mean(axis=0), float(items.matrix[rows, EPISODES_COLUMN].mean())
    return scalars, np.zeros(len(items.schema.genres), dtype=np.float32), -1.0


def recall_signals(candidates: list[dict], sources: tuple[str, ...]) -> np.ndarray:
    """Per candidate: fused recall score, then per source 1/log2(1+rank) (0 when absent), and source count."""
    column = {source: j for j, source in enumerate(sources)}
    ranks = np.zeros((len(candidates), len(sources)), dtype=np.float32)
    for i, c in enumerate(candidates):
        for source, rank in (c.get("ranks") or {c["source"]: 1}).items():
            if source in column:
                ranks[i, column[source]] = rank
    present = ranks > 0
    per_source = np.where(present, 1.0 / np.log2(1.0 + np.maximum(ranks, 1.0)), 0.0)
    fused = np.fromiter((c["score"] for c in candidates), dtype=np.float32, count=len(candidates))
    # fused reciprocal-rank scores are ~0.001-0.05
    return np.concatenate([fused[:, None] * 100.0, per_source, present.sum(axis=1, keepdims=True) / len(sources)],
                          axis=1).astype(np.float32)


def realtime_block(vectors, ids) -> np.ndarray:
    """The :data:`TITLE_REALTIME` columns: log-scaled counts, CTR, log trending. ``vectors``: the candidates'
    :data:`VECTOR` rows as an array aligned with ``ids`` (:class:`ranking.realtime.TitleTable`), or a mapping
    anime_id -> :func:`ranking.realtime.title_vector` (a title it lacks: the defaults of one without events)."""
    if isinstance(vectors, np.ndarray):
        raw = vectors.reshape(-1, len(VECTOR)).astype(np.float32)
    else:
        default = title_vector(None, 0)
        raw = np.array([vectors.get(int(a), default) for a in ids], dtype=np.float32).reshape(-1, len(VECTOR))
    counts = [VECTOR.index(c) for c in ("clicks", "views", "clicks_24h", "views_24h")]
    out = raw.copy()
    out[:, counts] = np.log1p(raw[:, counts]) / 10.0
    out[:, VECTOR.index("trending")] = np.log(raw[:, VECTOR.index("trending")])
    return out


@dataclass(frozen=True)
class UserMoment:
    """A user's ``user_features`` row (None: no events yet) and the moment the features are taken at."""

    row: dict | None = None
    now_ms: int = 0


def user_realtime_block(moment: UserMoment, genres: np.ndarray, schema: FeatureSchema) -> np.ndarray:
    """The :data:`USER_REALTIME` columns: log-scaled counts, log hours since the user's last event, and per
    candidate (``genres``: its genre rows) the share of the user's decayed genre affinity its genres hold."""
    events, clicks, hours, session = activity_vector(moment.row, moment.now_ms)
    scalars = np.array([np.log1p(events) / 8.0, np.log1p(clicks) / 8.0, np.log1p(hours) / np.log1p(NEVER_HOURS),
                        np.log1p(session) / 3.0], dtype=np.float32)
    match = genres @ affinity_shares(moment.row, schema.genres)
    return np.concatenate([np.broadcast_to(scalars, (len(genres), len(scalars))), match[:, None]], axis=1)


def build_features(items: ItemFeatures, profile: UserProfile, candidates: list[dict],
                   vectors: dict[int, tuple[float, ...]], user: UserMoment = UserMoment()) -> np.ndarray:
    """(n_candidates, schema.width): item features, user scale, user x item crosses, recall signals, real-time
    title features (``vectors``: see :func:`realtime_block`) and real-time user features
    (``user``), the latter two as far as the schema has them."""
    ids = [c["anime_id"] for c in candidates]
    rows = items.catalog.rows_of(ids)
    item = items.matrix[rows]
    user_scalars, affinity, user_episodes = user_vector(profile, items)
    genres = items.genres[rows]
    genre_match = (genres @ affinity) / np.maximum(genres.sum(axis=1), 1.0)
    episode_gap = (np.abs(item[:, EPISODES_COLUMN] - user_episodes) if user_episodes >= 0
                   else np.full(len(rows), 0.5, dtype=np.float32))
    realtime = np.concatenate([realtime_block(vectors, ids), user_realtime_block(user, genres, items.schema)], axis=1)
    kept = [REALTIME.index(n) for n in items.schema.realtime]
    return np.concatenate([item, np.broadcast_to(user_scalars, (len(rows), len(USER_SCALARS))),
                           np.stack([genre_match, episode_gap], axis=1),
                           recall_signals(candidates, items.schema.sources), realtime[:, kept]],
                          axis=1).astype(np.float32)

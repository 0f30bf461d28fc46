"""Ranking features: one schema, one function that builds them, for training and serving alike.

Per candidate: the title (catalog scalars, type, genres), the user's scale, user x title crosses, what
recall knew of it (fused score, rank and raw score in each source), how close it is to the user's
history (co-watch similarity to the titles they watched), the real-time title and user features, and
each per-candidate column again standardised within the user's list (``z_``: where it stands among this
user's candidates, which a row alone cannot say). The design study in docs/RESULTS.md chose these.

A :class:`FeatureSchema` names every column and fixes the vocabularies (genres, types, recall
sources) that decide the width of the input. It is saved with each ranker version and used at
serving, so a catalog that gains a genre after training changes nothing the model sees: titles
keep the columns of the genres the model knows, and an unknown genre is simply not a column.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property

import numpy as np

from config import registry
from ranking.catalog import TYPES, Catalog
from ranking.realtime import NEVER_HOURS, USER_VECTOR, VECTOR, activity_vector, affinity_shares, title_vector

ITEM_SCALARS = ("item_members", "item_rating", "item_has_rating", "item_episodes")
USER_SCALARS = ("user_titles", "user_mean_score", "user_score_spread", "user_unscored_share")
CROSSES = ("cross_genre_match", "cross_episode_gap")
# Co-watch similarity of the candidate to the user's titles: the largest, the mean of the five largest, and the
# mean over all their titles (a title's neighbour lists hold its nearest titles only: the rest count as 0).
HISTORY = ("history_sim_max", "history_sim_top5", "history_sim_mean")
HISTORY_TOP = 5
LAYOUT = 2      # the column layout build_features makes; a version saved with another cannot be served
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
    history: bool = True                   # the HISTORY columns (False: no co-watch lists to measure them with)

    @classmethod
    def for_catalog(cls, catalog: Catalog) -> "FeatureSchema":
        return cls(genres=catalog.genres)

    @classmethod
    def from_dict(cls, data: dict) -> "FeatureSchema":
        if data.get("layout", 1) != LAYOUT:
            raise ValueError(f"the ranker was saved with feature layout {data.get('layout', 1)}; this version builds "
                             f"layout {LAYOUT}: train a new ranker")
        realtime = tuple(data["realtime"])
        unknown = [n for n in realtime if n not in REALTIME]
        if unknown:
            raise ValueError(f"unknown real-time feature(s) in the saved schema: {', '.join(unknown)}")
        schema = cls(genres=tuple(data["genres"]), types=tuple(data["types"]), sources=tuple(data["sources"]),
                     realtime=realtime, history=bool(data["history"]))
        if list(data["names"]) != schema.names:
            raise ValueError("the saved feature names do not match the schema's vocabularies")
        return schema

    def to_dict(self) -> dict:
        return {**{k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}, "names": self.names,
                "layout": LAYOUT}

    @property
    def scored_sources(self) -> tuple[str, ...]:
        """The sources whose raw scores are features: the per-user batch lists."""
        return tuple(s for s in self.sources if s in registry.SOURCE and registry.SOURCE[s].kind == "user")

    def source_columns(self, source: str) -> list[str]:
        """Every column that exists because the schema has ``source`` (its rank, raw score and their z copies)."""
        own = [self.rank_name(source), *([f"score_{source}"] if source in self.scored_sources else [])]
        return [*own, *(f"z_{n}" for n in own)]

    @staticmethod
    def rank_name(source: str) -> str:
        return registry.SOURCE[source].feature if source in registry.SOURCE else f"source_{source}"

    @property
    def recall_names(self) -> list[str]:
        return ["recall_fused", *(self.rank_name(s) for s in self.sources), "recall_source_count",
                *(f"score_{s}" for s in self.scored_sources)]

    @property
    def standardised(self) -> list[str]:
        """The per-candidate columns that get a copy standardised within the list (``z_<name>``)."""
        title_realtime = [n for n in self.realtime if n in TITLE_REALTIME or n == "rt_affinity_match"]
        return [*ITEM_SCALARS, *CROSSES, *self.recall_names, *self.history_names, *title_realtime]

    @property
    def history_names(self) -> tuple[str, ...]:
        return HISTORY if self.history else ()

    @property
    def item_names(self) -> list[str]:
        return [*ITEM_SCALARS, *(f"type_{t}" for t in self.types), *(f"genre_{g}" for g in self.genres)]

    @cached_property
    def names(self) -> list[str]:
        return [*self.item_names, *USER_SCALARS, *CROSSES, *self.recall_names, *self.history_names, *self.realtime,
                *(f"z_{n}" for n in self.standardised)]

    @property
    def width(self) -> int:
        return len(self.names)

    @cached_property
    def standardised_columns(self) -> list[int]:
        return [self.names.index(n) for n in self.standardised]

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


def recall_signals(candidates: list[dict], sources: tuple[str, ...], scored: tuple[str, ...] = ()) -> np.ndarray:
    """Per candidate: fused recall score, then per source 1/log2(1+rank) (0 when absent), the source count, and
    the raw score of each ``scored`` source (0 when absent)."""
    column = {source: j for j, source in enumerate(sources)}
    score_column = {source: j for j, source in enumerate(scored)}
    at, values, score_at, scores = [], [], [], []      # flat positions and values, set in one assignment each
    for i, c in enumerate(candidates):
        for source, rank in (c.get("ranks") or {c["source"]: 1}).items():
            j = column.get(source)
            if j is not None:
                at.append(i * len(sources) + j)
                values.append(rank)
        for source, score in (c.get("scores") or {}).items():
            j = score_column.get(source)
            if j is not None:
                score_at.append(i * len(scored) + j)
                scores.append(score)
    ranks = np.zeros(len(candidates) * len(sources), dtype=np.float32)
    ranks[at] = values
    ranks = ranks.reshape(len(candidates), len(sources))
    raw = np.zeros(len(candidates) * len(scored), dtype=np.float32)
    raw[score_at] = scores
    raw = raw.reshape(len(candidates), len(scored))
    present = ranks > 0
    per_source = np.where(present, 1.0 / np.log2(1.0 + np.maximum(ranks, 1.0)), 0.0)
    fused = np.fromiter((c["score"] for c in candidates), dtype=np.float32, count=len(candidates))
    # fused reciprocal-rank scores are ~0.001-0.05
    return np.concatenate([fused[:, None] * 100.0, per_source, present.sum(axis=1, keepdims=True) / len(sources),
                           raw], axis=1).astype(np.float32)


def history_similarity(ids, neighbours: Iterable[tuple[Sequence[int], Sequence[float]]], n_titles: int) -> np.ndarray:
    """The :data:`HISTORY` columns of the candidates ``ids``: ``neighbours`` holds, per title of the user's
    history, its nearest titles and their co-watch similarities (two aligned arrays); ``n_titles`` is the
    history's length. Vectorised over every pair at once (a request has ~200 titles x 100 neighbours)."""
    ids = np.asarray(ids, dtype=np.int64)
    out = np.zeros((len(ids), len(HISTORY)), dtype=np.float32)
    pairs = [(np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.float64)) for a, b in neighbours if len(a)]
    if not pairs or not len(ids):
        return out
    similar = np.concatenate([a for a, _ in pairs])
    sims = np.concatenate([b for _, b in pairs])
    order = np.argsort(ids, kind="stable")
    at = np.minimum(np.searchsorted(ids[order], similar), len(ids) - 1)
    found = ids[order][at] == similar
    rows, sims = order[at[found]], sims[found]
    if not len(rows):
        return out
    by_row = np.lexsort((-sims, rows))                 # per candidate, its similarities largest first
    rows, sims = rows[by_row], sims[by_row]
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    rank = np.arange(len(rows)) - np.repeat(starts, np.diff(np.r_[starts, len(rows)]))
    top = rank < HISTORY_TOP
    out[rows[starts], 0] = sims[starts]
    out[:, 1] = np.bincount(rows[top], weights=sims[top], minlength=len(ids)) / HISTORY_TOP
    out[:, 2] = np.bincount(rows, weights=sims, minlength=len(ids)) / max(n_titles, 1)
    return out


def standardise_within(x: np.ndarray) -> np.ndarray:
    """Each column of one user's candidate list as standard scores within that list (0 where it is constant)."""
    if len(x) == 0:
        return x
    spread = x.std(axis=0)
    return np.where(spread > 1e-6, (x - x.mean(axis=0)) / np.maximum(spread, 1e-6), 0.0).astype(np.float32)


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
                   vectors: dict[int, tuple[float, ...]], user: UserMoment = UserMoment(),
                   history: np.ndarray | None = None) -> np.ndarray:
    """(n_candidates, schema.width): item features, user scale, user x item crosses, recall signals, similarity
    to the user's history (``history``: :func:`history_similarity`'s columns; none: zeros), real-time title
    features (``vectors``: see :func:`realtime_block`) and real-time user features (``user``), the latter two as
    far as the schema has them, then the :attr:`FeatureSchema.standardised` columns standardised within the list."""
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
    schema = items.schema
    if not schema.history:
        history = np.zeros((len(rows), 0), dtype=np.float32)
    elif history is None:
        history = np.zeros((len(rows), len(HISTORY)), dtype=np.float32)
    x = np.concatenate([item, np.broadcast_to(user_scalars, (len(rows), len(USER_SCALARS))),
                        np.stack([genre_match, episode_gap], axis=1),
                        recall_signals(candidates, schema.sources, schema.scored_sources), history, realtime[:, kept]],
                       axis=1).astype(np.float32)
    return np.concatenate([x, standardise_within(x[:, schema.standardised_columns])], axis=1)

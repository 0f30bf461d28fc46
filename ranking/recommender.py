"""The serving pipeline: recall candidates -> features -> ranker scores -> top k.

``/recall``, ``/rank`` and ``/recommends`` call this; ranker training and offline evaluation
run the very same object over a :class:`store.MemoryStore`, so what is measured is what is
served. Features are built with the feature schema of the model that scores them (its genre,
type and source vocabularies), whatever the catalog holds now.
"""
from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

import recall
from ranking.catalog import Catalog
from config.registry import HISTORY_SIGNAL
from ranking.features import (FeatureSchema, ItemFeatures, UserMoment, UserProfile, build_features,
                              history_similarity)
from ranking.model import LiteScorer
from ranking.realtime import RealtimeCounts, TitleTable
from ranking.registry import ModelRegistry, RankerVersion
from recall import ListReader, UserContext
from recall.serving import EXTRA

log = logging.getLogger("animerec.ranking")


@dataclass(frozen=True)
class Pipeline:
    """How one list is built: the served ranker or recall order, which recall sources with which merge
    weights (None: all, the registry's), how many candidates are ranked at most (None: the default), and how
    deep into each source the ranker's candidates reach (None: the default)."""

    ranker: bool = True
    sources: tuple[str, ...] | None = None
    weights: Mapping[str, float] | None = None
    candidates: int | None = None
    per_source: int | None = None


DEFAULT = Pipeline()


class Recommender:
    CANDIDATES = 300        # ranked at most: the union below, in fused order
    PER_SOURCE = 100        # the ranker's candidates: every source's first 100 unseen titles (design study)
    HISTORY_TITLES = 200    # the user's titles whose neighbours measure a candidate's history similarity,
    HISTORY_NEIGHBOURS = 100  # read this deep (batch.similar_per_item stores as many)
    RELOAD_EVERY_S = 1.0    # a new or pinned version starts loading within this (the contract: served within 5 s)

    def __init__(self, store, catalog: Catalog, registry: ModelRegistry | None = None,
                 ranker: RankerVersion | None = None, realtime: RealtimeCounts | None = None,
                 lists: ListReader | None = None):
        """Scores with ``ranker`` when given, else with the registry's active version (reloaded as it changes).

        Without either, candidates keep their recall order and features follow the catalog's
        own vocabularies (what training uses). ``realtime``: where the real-time title and user
        features come from (default: the store, per request). ``lists``: how recall lists are read
        (default: straight from the store, nothing cached).
        """
        self.store = store
        self.realtime = realtime
        self.lists = lists or ListReader(store, cache_mb=0)
        self.registry = registry
        self._lock = threading.Lock()
        self._checked_at = 0.0
        self._loading: str | None = None   # the version being loaded in the background
        self._broken: set[str] = set()      # versions that failed to load
        self._generations = itertools.count()
        self.generation = next(self._generations)   # moves with every change of the view below
        # (item features, scorer, version): replaced as one, so a request never mixes a model
        # with features built for another schema.
        if ranker is not None:
            self._use_ranker(ranker, catalog)
        else:
            self._view: tuple[ItemFeatures, LiteScorer | None, str | None] = (
                ItemFeatures(catalog, FeatureSchema.for_catalog(catalog)), None, None)

    def _use_ranker(self, ranker: RankerVersion, catalog: Catalog) -> None:
        scorer = ranker.scorer if ranker.scorer is not None else LiteScorer(ranker.model)
        self._set_view((ItemFeatures(catalog, ranker.schema), scorer, ranker.version))

    def _set_view(self, view: tuple[ItemFeatures, LiteScorer | None, str | None]) -> None:
        self._view = view
        self.generation = next(self._generations)

    def use_schema(self, schema: FeatureSchema) -> None:
        """Build features with ``schema`` (training narrows the vocabularies to what its data has)."""
        with self._lock:
            items, scorer, version = self._view
            self._set_view((ItemFeatures(items.catalog, schema), scorer, version))

    def use_catalog(self, catalog: Catalog) -> None:
        """Serve a new catalog; the loaded model stays. Catalog and item features swap as one."""
        with self._lock:
            items, scorer, version = self._view
            self._set_view((ItemFeatures(catalog, items.schema), scorer, version))

    @property
    def catalog(self) -> Catalog:
        return self._view[0].catalog

    @property
    def schema(self) -> FeatureSchema:
        return self._view[0].schema

    @property
    def model_version(self) -> str | None:
        self._refresh_model()
        return self._view[2]

    def _refresh_model(self) -> None:
        """Serve the registry's active version once it differs from the one serving (checked every RELOAD_EVERY_S).
        The first is loaded at once; a later one is loaded in the background while the old one keeps serving."""
        if self.registry is None:
            return
        with self._lock:
            if self._checked_at and time.monotonic() - self._checked_at < self.RELOAD_EVERY_S:
                return
            self._checked_at = time.monotonic()
            active, current = self.registry.active(), self._view[2]
            if active is None or active in (current, self._loading) or active in self._broken:
                return
            self._loading = active
        if current is None:
            self._load(active, current)
        else:
            threading.Thread(target=self._load, args=(active, current), name="ranker-load", daemon=True).start()

    def _load(self, active: str, current: str | None) -> None:
        try:
            ranker = self.registry.load_serving(active)
            with self._lock:
                self._use_ranker(ranker, self.catalog)
            log.info("serving ranker version %s (%d features)", active, ranker.schema.width)
        except Exception:  # a broken version must not take serving down: keep the old one, and do not retry it
            log.exception("cannot load ranker version %s; keeping %s", active, current)
            self._broken.add(active)
        finally:
            self._loading = None

    def versions(self) -> tuple[int, dict[str, int]]:
        """What an answer computed now depends on besides the user and the request: the model, schema and catalog
        in use (their generation) and every recall list's version. An answer kept under other versions is stale."""
        self._refresh_model()
        return self.generation, self.lists.pointers()

    def context(self, user_id: int, k: int = 0) -> UserContext:
        """What this request knows of the user (one concurrent read; lists cached by version), deep enough
        for ``k`` candidates and for ranking."""
        return self.lists.user(user_id, max(k, self.CANDIDATES) + EXTRA)

    def recall(self, context: UserContext, k: int, catalog: Catalog | None = None,
               pipeline: Pipeline = DEFAULT, per_source: int | None = None) -> list[dict]:
        """Merged candidates that are in the served catalog (or ``catalog``); ``per_source``: see
        :func:`recall.candidates`."""
        catalog = catalog or self.catalog
        return [c for c in recall.candidates(context, self.lists, k, pipeline.sources, pipeline.weights, per_source)
                if c["anime_id"] in catalog]

    def ranking_candidates(self, context: UserContext, k: int = 0, catalog: Catalog | None = None,
                           pipeline: Pipeline = DEFAULT) -> list[dict]:
        """What the ranker orders (in training as at serving): the union of every source's first
        ``PER_SOURCE`` unseen titles, at most ``CANDIDATES`` (or ``k``, if more) of them, in fused order."""
        return self.recall(context, max(k, pipeline.candidates or self.CANDIDATES), catalog, pipeline,
                           pipeline.per_source or self.PER_SOURCE)

    def history(self, context: UserContext) -> list[int]:
        """The user's titles a candidate's closeness is measured to: what they just did, then their ratings
        best first (at most ``HISTORY_TITLES``)."""
        rated = sorted(context.ratings, key=lambda r: (-(r["rating"] or 0), r["anime_id"]))
        return list(dict.fromkeys([*context.recent_titles, *(int(r["anime_id"]) for r in rated)]))[:self.HISTORY_TITLES]

    def features(self, context: UserContext, candidates: list[dict], items: ItemFeatures | None = None) -> np.ndarray:
        profile = UserProfile.from_pairs((r["anime_id"], r["rating"]) for r in context.ratings)
        ids = [c["anime_id"] for c in candidates]
        if self.realtime is not None:
            vectors, user = self.realtime.titles(ids), UserMoment(*self.realtime.user(context.user_id, context.features))
        else:
            vectors = TitleTable(self.store.title_features(ids)).vectors(ids, context.now_ms)
            user = UserMoment(context.features, context.now_ms)
        titles = self.history(context)
        neighbours = self.lists.neighbour_arrays(titles, self.HISTORY_NEIGHBOURS, context.pointers,
                                                 signals=(HISTORY_SIGNAL,))
        history = history_similarity(ids, [n[HISTORY_SIGNAL] for n in neighbours.values() if HISTORY_SIGNAL in n],
                                     len(titles))
        return build_features(items or self._view[0], profile, candidates, vectors, user, history)

    def _scores(self, view, context: UserContext, candidates: list[dict]) -> tuple[np.ndarray, np.ndarray] | None:
        """(features, scores) of the candidates by the view's model; None without one."""
        items, scorer, _ = view
        if scorer is None:
            return None
        features = self.features(context, candidates, items)
        return features, scorer(features)

    def score(self, context: UserContext, candidates: list[dict]) -> np.ndarray:
        """Scores of the served model for these candidates (recall order when there is no model)."""
        self._refresh_model()
        scored = self._scores(self._view, context, candidates)
        return -np.arange(len(candidates), dtype=np.float32) if scored is None else scored[1]

    def rank(self, context: UserContext | int, k: int, pipeline: Pipeline = DEFAULT,
             with_features: bool = False) -> list[dict]:
        """The top ``k`` of the user's candidates by the served model (``context``: a user's context, or their
        id to read one), built as ``pipeline`` says; ``with_features``: each ranked item also carries the
        ``features`` row the model scored (built over the whole candidate list, as scored; without a model, the
        row a model would see)."""
        self._refresh_model()
        view = self._view       # one consistent view for this request
        if not isinstance(context, UserContext):
            context = self.context(context, k)
        if pipeline.ranker and view[1] is not None:
            candidates = self.ranking_candidates(context, k, view[0].catalog, pipeline)
        else:   # no model yet, or recall order asked for
            candidates = self.recall(context, max(k, pipeline.candidates or self.CANDIDATES), view[0].catalog, pipeline)
        if not candidates:
            return []
        scored = self._scores(view, context, candidates) if pipeline.ranker else None
        if scored is None:
            features = self.features(context, candidates, view[0]) if with_features else None
            return [{**c, "recall_score": c["score"], **({"features": features[i]} if with_features else {})}
                    for i, c in enumerate(candidates[:k])]
        features, scores = scored
        order = np.argsort(-scores, kind="stable")[:k]
        return [{**candidates[i], "score": float(scores[i]), "recall_score": candidates[i]["score"],
                 **({"features": features[i]} if with_features else {})} for i in order]

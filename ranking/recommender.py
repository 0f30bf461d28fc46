"""The serving pipeline: recall candidates -> features -> ranker scores -> top k.

``/recall``, ``/rank`` and ``/recommends`` call this; ranker training and offline evaluation
run the very same object over a :class:`store.memory.MemoryStore`, so what is measured is
what is served.
"""
from __future__ import annotations

import logging
import threading
import time

import numpy as np

import recall
from ranking.catalog import Catalog
from ranking.features import UserProfile, build_features, item_features
from ranking.realtime import RealtimeCounts
from ranking.registry import ModelRegistry

log = logging.getLogger("animerec.ranking")


class Recommender:
    CANDIDATES = 300
    RELOAD_EVERY_S = 30.0

    def __init__(self, store, catalog: Catalog, registry: ModelRegistry | None = None, scorer=None,
                 realtime: RealtimeCounts | None = None):
        """Scores with ``scorer`` when given, else with the registry's active model (reloaded as it changes).

        ``realtime``: where click/view counts come from (default: the store, per request).
        """
        self.store = store
        self.realtime = realtime
        self.use_catalog(catalog)
        self.registry = registry
        self._lock = threading.Lock()
        self._checked_at = 0.0
        self._scorer = scorer
        self._version: str | None = "in-memory" if scorer is not None else None

    def use_catalog(self, catalog: Catalog) -> None:
        """Serve a new catalog; the loaded model stays. Catalog and item features swap as one."""
        self._view = (catalog, item_features(catalog))

    @property
    def catalog(self) -> Catalog:
        return self._view[0]

    @property
    def items(self):
        return self._view[1]

    @property
    def model_version(self) -> str | None:
        self._refresh_model()
        return self._version

    def _refresh_model(self) -> None:
        if self.registry is None:
            return
        with self._lock:
            if self._checked_at and time.monotonic() - self._checked_at < self.RELOAD_EVERY_S:
                return
            self._checked_at = time.monotonic()
            active = self.registry.active()
            if active is None or active == self._version:
                return
            try:
                from ranking.model import Scorer
                self._scorer, self._version = Scorer(self.registry.load(active)), active
                log.info("serving ranker version %s", active)
            except Exception:  # a broken version must not take serving down: keep the old one
                log.exception("cannot load ranker version %s; keeping %s", active, self._version)

    def recall(self, user_id: int, k: int) -> list[dict]:
        candidates = recall.candidates_for_user(self.store, user_id, k)
        return [c for c in candidates if c["anime_id"] in self.catalog]

    def features(self, user_id: int, candidates: list[dict]) -> np.ndarray:
        profile = UserProfile.from_pairs((r["anime_id"], r["rating"]) for r in self.store.user_ratings(user_id))
        ids = [c["anime_id"] for c in candidates]
        if self.realtime is not None:
            counts = self.realtime.counts(ids)
        else:
            counts = {a: (r["clicks"] or 0, r["views"] or 0) for a, r in self.store.event_counts(ids).items()}
        catalog, items = self._view
        return build_features(catalog, items, profile, candidates, counts)

    def score(self, user_id: int, candidates: list[dict]) -> np.ndarray:
        return self._scorer(self.features(user_id, candidates))

    def rank(self, user_id: int, k: int) -> list[dict]:
        candidates = self.recall(user_id, self.CANDIDATES)
        if not candidates:
            return []
        self._refresh_model()
        if self._scorer is None:  # no model yet: recall order
            return [{**c, "recall_score": c["score"]} for c in candidates[:k]]
        scores = self.score(user_id, candidates)
        order = np.argsort(-scores, kind="stable")[:k]
        return [{**candidates[i], "score": float(scores[i]), "recall_score": candidates[i]["score"]} for i in order]

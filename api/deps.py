"""Per-process resources of the API, created on first use (after gunicorn forks)."""
from __future__ import annotations

import threading
import time
from functools import cached_property

from infra.config import Settings
from ingest.producer import EventProducer
from ingest.topics import broker_ready


class Resources:
    HEALTH_TTL_S = 3.0
    CATALOG_TTL_S = 300.0  # new titles (an upload) appear in every worker within this

    def __init__(self, settings: Settings):
        self.settings = settings
        self._lock = threading.Lock()
        self._catalog_lock = threading.Lock()
        self._health: tuple[float, dict] | None = None
        self._catalog_state: tuple[float, object, object] | None = None  # (loaded at, catalog, recommender)

    @cached_property
    def store(self):
        from store import open_store
        return open_store(self.settings)

    @cached_property
    def producer(self) -> EventProducer:
        return EventProducer(self.settings)

    def _catalog_and_recommender(self):
        """The cached catalog and the recommender built on it, reloaded once they are CATALOG_TTL_S old."""
        with self._catalog_lock:
            state = self._catalog_state
            if state is None or time.monotonic() - state[0] > self.CATALOG_TTL_S:
                from ranking.catalog import Catalog
                state = self._set_catalog(Catalog.from_store(self.store))
            return state

    @cached_property
    def realtime(self):
        from ranking.realtime import RealtimeCounts
        return RealtimeCounts(self.store)

    def _set_catalog(self, catalog):
        """A refresh hands the new catalog to the same recommender: its loaded model stays loaded."""
        if self._catalog_state is None:
            from ranking.recommender import Recommender
            from ranking.registry import ModelRegistry
            recommender = Recommender(self.store, catalog, ModelRegistry(self.settings), realtime=self.realtime)
        else:
            recommender = self._catalog_state[2]
            recommender.use_catalog(catalog)
        self._catalog_state = (time.monotonic(), catalog, recommender)
        return self._catalog_state

    def use_catalog(self, catalog) -> None:
        """Serve this catalog (until it expires); for tools and tests that bring their own."""
        with self._catalog_lock:
            self._set_catalog(catalog)

    @property
    def catalog(self):
        return self._catalog_and_recommender()[1]

    @property
    def recommender(self):
        return self._catalog_and_recommender()[2]

    def health(self) -> dict:
        """Each dependency's state, cached for a few seconds so /health stays cheap."""
        with self._lock:
            if self._health and time.monotonic() - self._health[0] < self.HEALTH_TTL_S:
                return self._health[1]
            states = {"kafka": self._check(lambda: "up" if broker_ready(self.settings) else "down"),
                      "cassandra": self._check(lambda: "up" if self.store.ping() else "down"),
                      "streaming": self._streaming_state(),
                      "ranker": self._check(lambda: self.recommender.model_version or "none"),
                      "recall": self._check(self._recall_versions)}
            self._health = (time.monotonic(), states)
            return states

    @staticmethod
    def _check(probe) -> str | dict:
        try:
            return probe()
        except Exception as exc:  # a health probe reports, never raises
            return f"down: {type(exc).__name__}"

    def _streaming_state(self) -> str:
        from streaming.job import job_is_running, status_file
        if not status_file(self.settings).exists():
            return "unknown"
        return "up" if job_is_running(self.settings) else "down"

    def _recall_versions(self) -> dict:
        return {name: self.store.current_version(name) for name in ("popular", "candidates", "similar")}

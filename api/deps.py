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

    def __init__(self, settings: Settings):
        self.settings = settings
        self._lock = threading.Lock()
        self._health: tuple[float, dict] | None = None

    @cached_property
    def store(self):
        from store import open_store
        return open_store(self.settings)

    @cached_property
    def producer(self) -> EventProducer:
        return EventProducer(self.settings)

    @cached_property
    def catalog(self):
        from ranking.catalog import Catalog
        return Catalog.from_store(self.store)

    @cached_property
    def recommender(self):
        from ranking.recommender import Recommender
        from ranking.registry import ModelRegistry
        return Recommender(self.store, self.catalog, ModelRegistry(self.settings))

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

"""Per-process resources of the API, created on first use (after gunicorn forks)."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import cached_property

from cachetools import TTLCache

from accounts import KeyRing
from api.answers import AnswerCache
from api.instruments import ANSWER_CACHE, ANSWER_CACHE_BYTES, count_lookup
from config import Settings, registry
from experiments import ExperimentSpec
from ingest.follower import EventFollower
from ingest.producer import EventProducer
from ingest.topics import broker_ready, consumer_lag
from ranking.catalog import Catalog
from ranking.realtime import RealtimeCounts
from ranking.recommender import Recommender
from ranking.registry import ModelRegistry
from recall import ListReader
from search import KeywordIndex, Searcher
from search.encoder import SentenceEncoder
from search.packaged import ModelDirError
from search.searcher import Fusion
from search.semantic import SemanticIndex
from store import Store, open_store
from streaming.status import job_is_running, status_file

# The pointers /health reports: every recall source's and signal's list.
POINTERS = tuple(p for p in (*(s.pointer for s in registry.RECALL_SOURCES), *(s.pointer for s in registry.SIGNALS))
                 if p is not None)


def _count_answer(cache: AnswerCache, name: str) -> None:
    ANSWER_CACHE.labels(name).inc()
    if name in ("stored", "evicted", "invalidated"):
        ANSWER_CACHE_BYTES.set(cache.size_bytes)


class Resources:
    HEALTH_TTL_S = 3.0
    CATALOG_TTL_S = 300.0  # new titles (an upload) appear in every worker within this

    def __init__(self, settings: Settings, store: Store | None = None):
        """``store``: a store to serve from (tests bring the in-memory one); default: Cassandra, opened on first use."""
        self.settings = settings
        if store is not None:
            self.store = store
        self._lock = threading.Lock()
        self._catalog_lock = threading.Lock()
        self._health: tuple[float, dict] | None = None
        self._catalog_state: tuple[float, Catalog, Recommender] | None = None
        ttl = settings.api.details_ttl_s
        self._details: TTLCache | None = TTLCache(maxsize=20_000, ttl=ttl) if ttl > 0 else None
        self._details_lock = threading.Lock()
        # The latest event this process had Kafka acknowledge: the dashboard looks it up to time the stream.
        self.last_published = None
        self._search_lock = threading.Lock()
        self._keyword: tuple[Catalog, KeywordIndex] | None = None
        self._semantic: tuple[float, SemanticIndex | None, str | None] | None = None
        self._search: Searcher | None = None
        self._encoder: SentenceEncoder | None = None
        self._experiments_lock = threading.Lock()
        self._experiments: tuple[float, dict] | None = None

    @cached_property
    def store(self) -> Store:
        return open_store(self.settings)

    @cached_property
    def producer(self) -> EventProducer:
        return EventProducer(self.settings)

    @cached_property
    def lists(self) -> ListReader:
        return ListReader(self.store, cache_mb=self.settings.api.list_cache_mb, on_lookup=count_lookup)

    @cached_property
    def follower(self) -> EventFollower:
        """Reads the topics of the events that change a user's answers, from their end (started on first use)."""
        follower = EventFollower(self.settings, [t.name for t in registry.ANSWER_TOPICS],
                                 lambda user_id, event_id: self.answers.invalidate(user_id, event_id))
        follower.start()
        return follower

    @cached_property
    def answers(self) -> AnswerCache:
        """Computed answers kept within the freshness contract (api/answers.py), dropped as :attr:`follower` reads
        each user's events; with ``api.answer_cache_mb`` 0, none are kept and nothing follows the topics."""
        api = self.settings.api
        cache = AnswerCache(int(api.answer_cache_mb * 2 ** 20), ttl_s=api.global_staleness_s,
                            max_lag_s=api.follower_lag_ms / 1000, on_count=lambda name: _count_answer(cache, name))
        if cache.enabled:
            cache.seen_until = lambda: self.follower.seen_until
        return cache

    @cached_property
    def realtime(self) -> RealtimeCounts:
        return RealtimeCounts(self.store)

    @cached_property
    def keyring(self) -> KeyRing:
        return KeyRing(self.store, ttl_s=self.settings.security.key_cache_s)

    @cached_property
    def models(self) -> ModelRegistry:
        return ModelRegistry(self.settings)

    def _catalog_and_recommender(self) -> tuple[float, Catalog, Recommender]:
        """The cached catalog and the recommender built on it, reloaded once they are CATALOG_TTL_S old."""
        with self._catalog_lock:
            state = self._catalog_state
            if state is None or time.monotonic() - state[0] > self.CATALOG_TTL_S:
                state = self._set_catalog(Catalog.from_store(self.store))
            return state

    def _set_catalog(self, catalog: Catalog) -> tuple[float, Catalog, Recommender]:
        """A refresh hands the new catalog to the same recommender: its loaded model stays loaded."""
        if self._catalog_state is None:
            recommender = Recommender(self.store, catalog, self.models, realtime=self.realtime, lists=self.lists)
        else:
            recommender = self._catalog_state[2]
            recommender.use_catalog(catalog)
        self._catalog_state = (time.monotonic(), catalog, recommender)
        return self._catalog_state

    def use_catalog(self, catalog: Catalog) -> None:
        """Serve this catalog (until it expires); for tools and tests that bring their own."""
        with self._catalog_lock:
            self._set_catalog(catalog)

    def refresh_catalog(self) -> None:
        """Read the catalog again now (after an upload), instead of when it expires."""
        with self._catalog_lock:
            self._set_catalog(Catalog.from_store(self.store))
        if self._details is not None:
            with self._details_lock:
                self._details.clear()

    def title_details(self, anime_id: int, read: Callable[[int], dict | None]) -> dict | None:
        """One title's details (``read(anime_id)``: None when there is no such title), kept for
        ``api.details_ttl_s``: the stored row changes only by an upload (which clears this cache) and the rating
        statistics only when the batch job runs. A title that does not exist is not kept."""
        if self._details is None:
            return read(anime_id)
        with self._details_lock:
            found = self._details.get(anime_id)
        count_lookup("details", int(found is not None), int(found is None))
        if found is None:
            found = read(anime_id)
            if found is not None:
                with self._details_lock:
                    self._details[anime_id] = found
        return found

    @property
    def catalog(self) -> Catalog:
        return self._catalog_and_recommender()[1]

    EXPERIMENTS_TTL_S = 5.0   # a started or stopped experiment reaches every worker within this

    def running_experiment(self, surface: str, fresh: bool = False) -> dict | None:
        """The running experiment of ``surface`` with its parsed ``variants`` (None: the default pipeline),
        read from the store at most every EXPERIMENTS_TTL_S (``fresh``: now)."""
        with self._experiments_lock:
            state = self._experiments
            if fresh or state is None or time.monotonic() - state[0] > self.EXPERIMENTS_TTL_S:
                running = {}
                for e in self.store.experiments():
                    if e["state"] == "running" and e["surface"] not in running:
                        running[e["surface"]] = {**e, "variants": ExperimentSpec.model_validate(e["spec"]).variants}
                state = self._experiments = (time.monotonic(), running)
            return state[1].get(surface)

    def forget_experiments(self) -> None:
        with self._experiments_lock:
            self._experiments = None

    SEMANTIC_RETRY_S = 60.0     # without stored embeddings, look for them again this often
    SEMANTIC_TTL_S = 3600.0     # with them, read them again this often (the embeddings job runs hourly)

    def searcher(self) -> Searcher:
        """Keyword search over the served catalog, built again when the catalog is; semantic search read from
        the stored embeddings on its own clock (SEMANTIC_TTL_S, or SEMANTIC_RETRY_S while it has none)."""
        catalog = self.catalog
        with self._search_lock:
            keyword = self._keyword
            if keyword is None or keyword[0] is not catalog:
                keyword = self._keyword = (catalog, KeywordIndex.build(self.store.all_anime(with_synopsis=True)))
                self._search = None
            semantic = self._semantic
            if semantic is None or time.monotonic() - semantic[0] > (
                    self.SEMANTIC_TTL_S if semantic[1] is not None else self.SEMANTIC_RETRY_S):
                semantic = self._semantic = (time.monotonic(), *self._semantic_index(keyword[1]))
                self._search = None
            if self._search is None:
                opts = self.settings.search
                self._search = Searcher(keyword[1], semantic[1],
                                        Fusion(opts.rrf_k, opts.semantic_weight, opts.meaning_depth), semantic[2])
            return self._search

    def _semantic_index(self, keyword: KeywordIndex) -> tuple[SemanticIndex | None, str | None]:
        opts = self.settings.search
        try:
            if self._encoder is None:
                self._encoder = SentenceEncoder.load(opts.embedding_model_dir, opts.max_tokens)
        except ModelDirError as exc:
            return None, f"semantic search is not available: {exc}"
        fields = {f: self.store.embeddings(self._encoder.version, f) for f in registry.EMBEDDED_FIELDS}
        if not any(len(e) for e in fields.values()):
            return None, (f"semantic search is not available yet: no title embeddings of {self._encoder.version} "
                          f"(the embeddings batch job has not run)")
        popularity = dict(zip(keyword.ids.tolist(), keyword.popularity.tolist()))   # the keyword prior's
        return SemanticIndex(self._encoder, fields, popularity, opts.semantic_prior), None

    @property
    def recommender(self) -> Recommender:
        return self._catalog_and_recommender()[2]

    def health(self) -> dict:
        """Each dependency's state, cached for a few seconds so /health stays cheap; while one thread probes
        again, the others answer the last states instead of queueing behind it."""
        cached = self._health
        if cached and time.monotonic() - cached[0] < self.HEALTH_TTL_S:
            return cached[1]
        if not self._lock.acquire(blocking=cached is None):
            return cached[1]
        try:
            if self._health is not cached:  # another thread probed while this one waited
                return self._health[1]
            kafka = self._check(lambda: "up" if broker_ready(self.settings) else "down")
            cassandra = self._check(lambda: "up" if self.store.ping() else "down")
            # probes that read the store wait out its timeouts when it is down: skipped then, so /health says so now
            states = {"kafka": kafka, "cassandra": cassandra,
                      "streaming": self._streaming_state(),
                      # events in Kafka the job has not yet checkpointed into Cassandra, per topic
                      "streaming_lag": self._check(lambda: consumer_lag(self.settings)) if kafka == "up" else None,
                      "ranker": self._check(lambda: self.recommender.model_version or "none")
                      if cassandra == "up" else "unknown: cassandra down",
                      "recall": self._check(self._recall_versions) if cassandra == "up" else None}
            self._health = (time.monotonic(), states)
            return states
        finally:
            self._lock.release()

    @staticmethod
    def _check(probe) -> str | dict:
        try:
            return probe()
        except Exception as exc:  # a health probe reports, never raises
            return f"down: {type(exc).__name__}"

    def _streaming_state(self) -> str:
        if not status_file(self.settings).exists():
            return "unknown"
        return "up" if job_is_running(self.settings) else "down"

    def _recall_versions(self) -> dict:
        versions = self.lists.pointers()
        return {name: versions.get(name) for name in POINTERS}

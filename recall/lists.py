"""Recall lists as serving reads them: one user context per request, lists cached by version.

Batch lists never change under a version (a build writes a new version, then flips its pointer),
so a list read once is valid until its pointer moves: popular, similar and per-user candidate
lists are cached in-process keyed by ``(kind, version, key)``. Pointers are re-read at most every
``pointer_ttl_s`` seconds; when one flips, the entries of the old version are dropped. What changes
with every event (the user's ratings, real-time features and recent events) is read per request,
together with whichever of the user's lists are not cached, in one concurrent round
(:meth:`store.interfaces.ServingReads.read_user`).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field

import numpy as np
from cachetools import LRUCache

from config import registry
from store.interfaces import Store


@dataclass
class UserContext:
    """Everything one request knows of one user, read once and shared by recall and ranking."""

    user_id: int
    ratings: list[dict]                      # {anime_id, rating}
    features: dict | None                    # the user_features row (None: no events yet)
    recent: list[dict]                       # {ts, event_id, kind, anime_id}, newest first
    lists: dict[str, list[int]]              # user source -> anime ids, best first
    pointers: dict[str, int] = field(default_factory=dict)
    now_ms: int = 0
    genres: tuple[str, ...] = ()             # the user's favourite genres (their profile): cold-start popularity
    scores: dict[str, list[float]] = field(default_factory=dict)   # user source -> raw scores, aligned with lists

    @property
    def recent_titles(self) -> list[int]:
        """Distinct titles of the recent events, most recent first."""
        return list(dict.fromkeys(int(e["anime_id"]) for e in self.recent))


def _entry_bytes(entry: tuple) -> int:
    """A cached list's memory: its arrays and ~200 bytes for the tuple, the key and the arrays' headers."""
    return 200 + sum(a.nbytes for a in entry[1:])


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0


class ListReader:
    """Reads recall lists for serving, keeping at most ``cache_mb`` of them (by their arrays' bytes, least recently
    used out); ``cache_mb=0`` reads every list from the store each time."""

    def __init__(self, store: Store, pointer_ttl_s: float = 1.0, cache_mb: float = 64.0,
                 clock: Callable[[], float] = time.monotonic,
                 on_lookup: Callable[[str, int, int], None] | None = None):
        """``on_lookup(kind, hits, misses)`` is told of the cache lookups of each read (the API counts them in its
        metrics)."""
        self.store, self.pointer_ttl_s, self.clock, self.on_lookup = store, pointer_ttl_s, clock, on_lookup
        self._cache: LRUCache | None = (LRUCache(int(cache_mb * 2 ** 20), getsizeof=_entry_bytes) if cache_mb > 0
                                        else None)
        self._lock = threading.Lock()
        self._pointers: tuple[float, dict[str, int]] | None = None
        self.stats = {kind: CacheStats() for kind in ("candidates", "popular", "similar")}

    # --- pointers ---------------------------------------------------------------------------
    def pointers(self) -> dict[str, int]:
        """Every list pointer, re-read at most every ``pointer_ttl_s``; a flip drops the old version's lists."""
        cached = self._pointers
        if cached is not None and self.clock() - cached[0] < self.pointer_ttl_s and self._cache is not None:
            return cached[1]
        fresh = self.store.list_versions()
        with self._lock:
            if cached is not None and self._cache is not None:
                moved = {(name, version) for name, version in cached[1].items() if fresh.get(name) != version}
                if moved:
                    for key in [k for k in self._cache if k[:2] in moved]:
                        self._cache.pop(key, None)
            self._pointers = (self.clock(), fresh)
        return fresh

    # --- the cache ------------------------------------------------------------------------------
    def _get(self, kind: str, key: tuple, depth: int):
        """The cached list under ``key`` = ``(pointer, version, what)``, if it holds ``depth`` entries or is the
        whole list."""
        return self._get_many(kind, [key], depth)[0]

    def _get_many(self, kind: str, keys: list[tuple], depth: int) -> list:
        """:meth:`_get` of each key, under one lock and counted once."""
        if self._cache is None:
            return [None] * len(keys)
        with self._lock:
            entries = [self._cache.get(key) for key in keys]
        found = [entry[1:] if entry is not None and (entry[0] >= depth or len(entry[1]) < entry[0]) else None
                 for entry in entries]
        hits = sum(1 for f in found if f is not None)
        self.stats[kind].hits += hits
        self.stats[kind].misses += len(keys) - hits
        if self.on_lookup is not None and keys:
            self.on_lookup(kind, hits, len(keys) - hits)
        return found

    def _put(self, key: tuple, depth: int, *arrays: np.ndarray) -> None:
        if self._cache is not None:
            with self._lock:
                self._cache[key] = (depth, *arrays)

    # --- reads ----------------------------------------------------------------------------------
    def user(self, user_id: int, depth: int) -> UserContext:
        """The user's context: ratings, real-time row and recent events (always read) and each user source's
        candidate list at its current version, ``depth`` deep (cached ones are not read again)."""
        pointers = self.pointers()
        sources = {s.name: s for s in registry.RECALL_SOURCES
                   if s.kind == "user" and s.merged and pointers.get(s.pointer) is not None}
        wanted = {name: pointers[s.pointer] for name, s in sources.items()}
        hits = self._get_many("candidates", [(sources[source].pointer, version, user_id)
                                             for source, version in wanted.items()], depth)
        lists = {source: hit for source, hit in zip(wanted, hits) if hit is not None}
        missing = {source: version for source, version in wanted.items() if source not in lists}
        reads = self.store.read_user(user_id, missing, depth)
        for source, version in missing.items():
            rows = reads.candidates.get(source, ())
            entry = (np.fromiter((r["anime_id"] for r in rows), dtype=np.int64, count=len(rows)),
                     np.fromiter((r["score"] or 0.0 for r in rows), dtype=np.float64, count=len(rows)))
            self._put((sources[source].pointer, version, user_id), depth, *entry)
            lists[source] = entry
        kept = {s: entry for s, entry in lists.items() if len(entry[0])}
        return UserContext(user_id, reads.ratings, reads.features, reads.recent,
                           {s: ids.tolist() for s, (ids, _) in kept.items()}, pointers,
                           int(time.time() * 1000), scores={s: sc.tolist() for s, (_, sc) in kept.items()})

    def user_list(self, user_id: int, source: str, depth: int, pointers: dict[str, int] | None = None) -> list[int]:
        """One user source's list for the user, best first (a source outside the merge, read only when a variant
        asks for it); empty without a published version."""
        return self._ids("candidates", registry.SOURCE[source].pointer, pointers, user_id, depth, depth,
                         lambda version: self.store.user_candidates_at(version, user_id, source, depth))

    def popular(self, limit: int, segment: str = "all", pointers: dict[str, int] | None = None) -> list[int]:
        """The popular list's first ``limit`` titles (``pointers``: a request's snapshot; default: current)."""
        depth = max(limit, 200)
        return self._ids("popular", registry.SOURCE[registry.POPULAR_SOURCE].pointer, pointers, segment, limit, depth,
                         lambda version: self.store.popular_at(version, segment, depth))

    def _ids(self, kind: str, pointer: str, pointers: dict[str, int] | None, what, limit: int, depth: int,
             read) -> list[int]:
        """The first ``limit`` titles of list ``what`` at ``pointer``'s version (in ``pointers``, default: current;
        none published: empty): from the cache, or ``read(version)`` (``depth`` rows of ``anime_id``), cached."""
        version = (pointers if pointers is not None else self.pointers()).get(pointer)
        if version is None:
            return []
        key = (pointer, version, what)
        hit = self._get(kind, key, limit)
        if hit is None:
            rows = read(version)
            hit = (np.fromiter((r["anime_id"] for r in rows), dtype=np.int64, count=len(rows)),)
            self._put(key, depth, *hit)
        return hit[0][:limit].tolist()

    def neighbours(self, anime_ids: Iterable[int], depth: int, pointers: dict[str, int] | None = None,
                   signals: Collection[str] | None = None) -> dict[int, dict[str, list[tuple[int, float]]]]:
        """``anime_id -> {signal: [(similar_id, similarity), ...]}`` of every signal (or those in ``signals``)
        with a published version (in ``pointers``, a request's snapshot; default: current); lists not cached are
        read in one round."""
        return {anime_id: {signal: list(zip(ids.tolist(), scores.tolist())) for signal, (ids, scores) in lists.items()}
                for anime_id, lists in self.neighbour_arrays(anime_ids, depth, pointers, signals).items()}

    def neighbour_arrays(self, anime_ids: Iterable[int], depth: int, pointers: dict[str, int] | None = None,
                         signals: Collection[str] | None = None) -> dict[int, dict[str, tuple[np.ndarray, np.ndarray]]]:
        """:meth:`neighbours` as arrays: ``anime_id -> {signal: (similar ids, similarities)}``, at most ``depth``
        each (views of the cached arrays: read only)."""
        pointers = pointers if pointers is not None else self.pointers()
        wanted = signals
        signals = {s.name: s.pointer for s in registry.SIGNALS
                   if pointers.get(s.pointer) is not None and (wanted is None or s.name in wanted)}
        versions = {name: pointers[pointer] for name, pointer in signals.items()}
        out: dict[int, dict[str, tuple[np.ndarray, np.ndarray]]] = {a: {} for a in dict.fromkeys(anime_ids)}
        missing: list[tuple[int, int, str]] = []
        keys = [(anime_id, signal, (signals[signal], version, anime_id))
                for anime_id in out for signal, version in versions.items()]
        hits = self._get_many("similar", [key for _, _, key in keys], depth)
        for (anime_id, signal, key), hit in zip(keys, hits):
            if hit is None:
                missing.append((key[1], anime_id, signal))
            else:
                out[anime_id][signal] = (hit[0][:depth], hit[1][:depth])
        if missing:
            for (version, anime_id, signal), rows in self.store.similar_many(missing, depth).items():
                ids = np.fromiter((r["similar_id"] for r in rows), dtype=np.int64, count=len(rows))
                scores = np.fromiter((r["score"] for r in rows), dtype=np.float64, count=len(rows))
                self._put((signals[signal], version, anime_id), depth, ids, scores)
                out[anime_id][signal] = (ids, scores)
        for anime_id in out:  # signals in registry order, whatever came from the cache or the store
            out[anime_id] = {s: out[anime_id][s] for s in versions if s in out[anime_id]}
        return out

    def hit_rates(self) -> dict[str, float]:
        return {kind: (s.hits / (s.hits + s.misses) if s.hits + s.misses else 0.0) for kind, s in self.stats.items()}

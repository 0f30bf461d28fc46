"""Computed answers kept per API process, within the platform's freshness contract.

The contract (README, "Freshness"): a user's own event is reflected in their next answer within 1 s of its
202; global signals (other users' activity, title counts) may be ``ttl_s`` old; a new model, list or catalog
version is served as soon as this process sees it. So an answer is kept per user and per request shape, and
is dropped or bypassed as follows:

* **The user's events.** An :class:`ingest.follower.EventFollower` reads the event topics and calls
  :meth:`AnswerCache.invalidate` for each event, which drops the user's answers and marks the user *pending*:
  their answers are computed afresh and not kept until one is computed from a context that holds the event
  (``reflected``: the event ids the stream has written to the user's recent events), so an answer computed
  before the stream wrote the event is never kept.
* **The follower's own lag.** Answers are served from memory only while the follower has seen every event
  acknowledged up to ``max_lag_s`` ago (:attr:`ingest.follower.EventFollower.seen_until`): with Kafka slow or
  gone every request is computed, so the cache can never hide a click.
* **A computation that overlaps an event.** An answer is not kept when one of the user's events was seen
  after its computation started.
* **Versions and age.** Each answer carries the versions it was computed with (model, catalog, recall lists,
  experiment arm: whatever the caller passes) and is not served under others, nor after ``ttl_s``.

Memory is bounded by ``max_bytes`` (the answers' JSON bodies plus a fixed overhead per entry), least recently
used first out. Nothing is shared between processes: each keeps and invalidates its own.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Hashable
from dataclasses import dataclass, field

from cachetools import LRUCache, TTLCache

ENTRY_OVERHEAD = 400        # bytes per kept answer beyond its body: the entry, its key, the items tuple
USER_OVERHEAD = 300         # bytes per user with kept answers: their dict in the LRU


@dataclass(frozen=True)
class Answer:
    """One computed answer: its JSON object without the per-request fields, and the titles it serves."""

    body: bytes
    items: tuple[int, ...]
    versions: object          # compared with ==: whatever the caller says the answer depends on
    computed_at: float          # wall clock (time.time()) when its computation started
    born: float                 # the cache's clock then

    @property
    def size(self) -> int:
        return len(self.body) + 8 * len(self.items) + ENTRY_OVERHEAD


@dataclass
class _Pending:
    """A user's events seen and not yet reflected in an answer; when the latest one was seen."""

    first: float
    last: float
    events: set[str] = field(default_factory=set)


# What the cache counts (AnswerCache.counts, and ``on_count`` of each): lookups answered from memory (hit), not
# (miss), or not looked up because the follower is behind (bypassed); answers kept (stored) or computed and not
# kept, an event of the user overlapping or not yet reflected (refused); answers pushed out by the memory bound
# (evicted); users whose answers an event dropped (invalidated).
COUNTS = ("hit", "miss", "bypassed", "stored", "refused", "evicted", "invalidated")


class _Entries(LRUCache):
    def __init__(self, maxsize: int, on_evict: Callable[[], None]):
        super().__init__(maxsize, getsizeof=lambda answers: USER_OVERHEAD + sum(a.size for a in answers.values()))
        self._on_evict = on_evict

    def popitem(self):
        item = super().popitem()
        self._on_evict()
        return item


class AnswerCache:
    def __init__(self, max_bytes: int, ttl_s: float = 30.0, max_lag_s: float = 0.5,
                 seen_until: Callable[[], float] | None = None, pending_max_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic, on_count: Callable[[str], None] | None = None):
        """``seen_until()``: the clock moment before which every event has been handed to :meth:`invalidate`
        (None: nothing follows the events, so nothing is ever served from memory). ``on_count(name)`` is told of
        each of :data:`COUNTS` as it happens (the API's metrics)."""
        self.max_bytes, self.ttl_s, self.max_lag_s = max_bytes, ttl_s, max_lag_s
        self.seen_until, self.pending_max_s, self.clock, self.on_count = seen_until, pending_max_s, clock, on_count
        self.counts = dict.fromkeys(COUNTS, 0)
        self._entries = _Entries(max(max_bytes, 1), lambda: self._count("evicted"))
        # Users with an event seen lately, kept longer than any computation lasts (a computation that started
        # before an event must not be kept) and than pending_max_s.
        self._events = TTLCache(maxsize=500_000, ttl=max(pending_max_s, 60.0), timer=clock)
        self._lock = threading.Lock()

    def _count(self, name: str) -> None:
        self.counts[name] += 1
        if self.on_count is not None:
            self.on_count(name)

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    @property
    def size_bytes(self) -> int:
        return int(self._entries.currsize)

    def following(self) -> bool:
        """Whether every event acknowledged more than ``max_lag_s`` ago is known here."""
        return self.seen_until is not None and self.clock() - self.seen_until() <= self.max_lag_s

    def get(self, user_id: int, key: Hashable, versions: Hashable) -> Answer | None:
        """The kept answer of this user and request shape computed with ``versions``, if it may still be served."""
        if not self.enabled:
            return None
        if not self.following():
            self._count("bypassed")
            return None
        with self._lock:
            answers = self._entries.get(user_id)
            answer = None if answers is None else answers.get(key)
            if answer is not None and (answer.versions != versions or self.clock() - answer.born > self.ttl_s):
                answer = None
            self._count("miss" if answer is None else "hit")
            return answer

    def begin(self) -> tuple[float, float]:
        """Call before reading what an answer is computed from: (the cache's clock, the wall clock) then."""
        return self.clock(), time.time()

    def put(self, user_id: int, key: Hashable, versions: Hashable, body: bytes, items: Collection[int],
            started: tuple[float, float], reflected: Collection[str]) -> Answer:
        """Keep an answer computed from a read that began at ``started`` (:meth:`begin`), if the contract allows:
        no event of the user seen since then, and every pending event of theirs in ``reflected``. The answer,
        kept or not."""
        answer = Answer(body, tuple(items), versions, started[1], started[0])
        if not self.enabled:
            return answer
        with self._lock:
            pending: _Pending | None = self._events.get(user_id)
            if pending is not None:
                if pending.last >= started[0] or (pending.events and not pending.events <= set(reflected)
                                                  and self.clock() - pending.first < self.pending_max_s):
                    self._count("refused")
                    return answer
                pending.events.clear()
            if answer.size > self.max_bytes:
                return answer
            answers = dict(self._entries.get(user_id) or {})
            answers[key] = answer
            self._entries[user_id] = answers     # re-inserted: its size is counted again
            self._count("stored")
        return answer

    def invalidate(self, user_id: int, event_id: str | None = None) -> None:
        """The user did something (``event_id``: the event, if known): drop their answers; keep none until one
        reflects the event."""
        now = self.clock()
        with self._lock:
            self._entries.pop(user_id, None)
            pending: _Pending | None = self._events.get(user_id)
            if pending is None:
                pending = _Pending(now, now)
            pending.last = now
            if not pending.events:
                pending.first = now
            if event_id is not None:
                pending.events.add(event_id)
            self._events[user_id] = pending
            self._count("invalidated")

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def hit_rate(self) -> float:
        looked = self.counts["hit"] + self.counts["miss"] + self.counts["bypassed"]
        return self.counts["hit"] / looked if looked else 0.0

"""The store, as a few small interfaces by concern, and their composition :class:`Store`.

Each interface is a handful of abstract methods a backend implements, with the logic every
backend shares written once above them (the shape of a new training run, the pointer a
``popular`` read follows, the validation of a finished run's state). Two backends implement
all of them: ``store.cassandra`` (online: the API, the streaming job, the loaders, the batch
jobs' pointers) and ``store.memory`` (offline evaluation, ranker training, and tests); one
contract suite (``tests/store_contract.py``) runs against both.

Conventions every backend keeps:

* Rows are plain dicts (or tuples where documented); callers treat them as read-only.
* Timestamps come back as timezone-aware UTC datetimes, truncated to milliseconds (the
  precision Cassandra keeps), whatever the backend.
* Writes are upserts: writing the same key again overwrites, so retrying a write is safe.
* A backend raises :class:`store.errors.StoreUnavailable` when it is down or too slow; that
  is the only error callers need to handle.
"""
from __future__ import annotations

import json
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from config.registry import GENRE_ACTIVITY_COLUMNS, RECENT_EVENTS, SESSION_WINDOW, TITLE_WINDOWS

ANIME_COLUMNS = ("anime_id", "name", "genres", "type", "episodes", "rating", "members")
LOAD_RUN_COLUMNS = ("dataset", "run_id", "file_name", "sha256", "status", "rows_read", "rows_loaded",
                    "rows_rejected", "rows_skipped", "started_at", "completed_at", "seconds", "error")
TRAINING_STATES = ("queued", "running", "succeeded", "failed")
FINISHED_STATES = ("succeeded", "failed")
ACCOUNT_FIELDS = ("username", "user_id", "email", "password_hash", "display_name", "favourite_genres", "created_at",
                  "updated_at")
API_KEY_FIELDS = ("key_id", "secret_hash", "role", "name", "created_at", "revoked_at")
TRAINING_RUN_FIELDS = ("run_id", "state", "requested_at", "requested_by", "params", "worker", "started_at",
                       "finished_at", "version", "error", "log_tail")


# --- helpers shared by the backends ----------------------------------------------------------------

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def utc(value: datetime | None) -> datetime | None:
    """``value`` as an aware UTC datetime at millisecond precision (naive values are taken as UTC)."""
    if value is None:
        return None
    value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def newest_first(events: Iterable[Mapping]) -> list:
    """Events (``ts``, ``event_id``) newest first, equal times by event_id: the order of recent lists."""
    by_id = sorted(events, key=lambda e: e["event_id"])
    return sorted(by_id, key=lambda e: e["ts"], reverse=True)


def now_utc() -> datetime:
    return utc(datetime.now(timezone.utc))


def from_ms(ms: int) -> datetime:
    """Milliseconds since the epoch -> aware UTC datetime."""
    return EPOCH + timedelta(milliseconds=int(ms))


def to_ms(value: datetime) -> int:
    """Aware (or naive UTC) datetime -> milliseconds since the epoch (exact integer arithmetic)."""
    delta = utc(value) - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def run_uuid(run_id: Any) -> uuid.UUID | None:
    """A run id (a time-based UUID) given as UUID or string -> UUID; None when it is not one."""
    if not isinstance(run_id, uuid.UUID):
        try:
            run_id = uuid.UUID(str(run_id))
        except ValueError:
            return None
    return run_id if run_id.version == 1 else None


def timeuuid_key(value: uuid.UUID) -> tuple[int, bytes]:
    """Sort key of a time-based UUID: its timestamp first (the order Cassandra gives timeuuids)."""
    return value.time, value.bytes


# --- the interfaces ---------------------------------------------------------------------------------

class CatalogStore(ABC):
    """The anime catalog (table ``anime``) and per-title rating statistics (``anime_rating_stats``)."""

    @abstractmethod
    def upsert_anime(self, rows: Iterable[Mapping]) -> int:
        """Insert or overwrite titles; each row has the keys of :data:`ANIME_COLUMNS` (missing ones are
        written as null). A title's synopsis is left as it is. Returns the number of rows written."""

    @abstractmethod
    def set_synopses(self, pairs: Iterable[tuple[int, str]]) -> int:
        """Set the synopsis of titles, ``(anime_id, text)`` pairs. An update in place: a title that is not
        in the catalog would get a row holding nothing but its synopsis, so callers pass catalog titles
        only (the loader does). Returns the number of pairs written."""

    @abstractmethod
    def get_anime(self, anime_id: int) -> dict | None:
        """One title: the :data:`ANIME_COLUMNS` and ``synopsis``; None when unknown."""

    @abstractmethod
    def all_anime(self, with_synopsis: bool = False) -> list[dict]:
        """Every title (the :data:`ANIME_COLUMNS`, plus ``synopsis`` when asked), in no particular order."""

    def anime_ids(self) -> set[int]:
        """Ids of every title in the catalog."""
        return {row["anime_id"] for row in self.all_anime()}

    @abstractmethod
    def set_rating_stats(self, rows: Iterable[Mapping]) -> int:
        """Insert or overwrite ``{anime_id, ratings, scored, mean_score}`` rows (the stats job writes them
        through Spark; this writer serves the memory backend and tests)."""

    @abstractmethod
    def anime_rating_stats(self, anime_id: int) -> dict | None:
        """``{ratings, scored, mean_score}`` of one title, None when it has none."""


class RatingStore(ABC):
    """Users' ratings (table ``ratings_by_user``); rating -1 means watched without a score."""

    def upsert_ratings(self, rows: Iterable[tuple[int, int, int]]) -> int:
        """Insert or overwrite ``(user_id, anime_id, rating)`` rows, stamped now: the few rows of a live
        update (the streaming job). Same guarantees as :meth:`upsert_ratings_batched`, which bulk loads
        use; a backend may write these row by row instead of in batches."""
        return self.upsert_ratings_batched(rows)

    @abstractmethod
    def upsert_ratings_batched(self, rows: Iterable[tuple[int, int, int]], updated_at: datetime | None = None) -> int:
        """Insert or overwrite ``(user_id, anime_id, rating)`` rows, stamped ``updated_at`` (default now).

        Within one call a repeated (user, anime) pair keeps its last rating; a call returns once
        every row is written, so a later call wins over an earlier one. Returns the number of
        distinct (user, anime) pairs written. Backends may take tuning keywords besides these.
        """

    @abstractmethod
    def delete_rating(self, user_id: int, anime_id: int) -> None:
        """Remove one rating (nothing happens when there is none)."""

    @abstractmethod
    def user_ratings(self, user_id: int) -> list[dict]:
        """``{anime_id, rating}`` of one user, by anime_id; empty for an unknown user."""

    @abstractmethod
    def all_ratings(self) -> list[tuple[int, int, int]]:
        """Every ``(user_id, anime_id, rating)``, in no particular order (offline work and tests)."""


class EventStore(ABC):
    """Every user event once (``events``) and each user's newest ones (the recent lists of ``user_features``,
    at most :data:`config.registry.RECENT_EVENTS`)."""

    # The user_features column holding the newest events, newest first: JSON text, a list of
    # ``[event_id, anime_id, kind, ts_ms]``. One text value, not parallel collections: Cassandra decodes every
    # element of a bound collection, and four lists of 50 were a fifth of its CPU under a backlog (docs/RESULTS.md).
    RECENT_COLUMNS = ("recent",)

    @abstractmethod
    def write_event(self, event: Mapping) -> None:
        """Store one event (``event_id, kind, user_id, anime_id, timestamp`` in ms, optional ``rating``)
        idempotently: the same event written again leaves the same rows."""

    @abstractmethod
    def get_event(self, user_id: int, event_id: str) -> dict | None:
        """``{event_id, kind, user_id, anime_id, rating, ts, written_at}`` of the user's event; None when unknown.
        Events are stored by user; an event id is kept once across all users (the stream keeps the first)."""

    @abstractmethod
    def recent_events(self, user_id: int, limit: int = RECENT_EVENTS) -> list[dict]:
        """``{ts, event_id, kind, anime_id}`` of one user, newest first (equal times by event_id), at most
        ``limit`` and :data:`config.registry.RECENT_EVENTS`."""


class FeatureStore(ABC):
    """Real-time features the streaming job writes (``title_features``, ``user_features``; names in
    :mod:`config.registry`). Values are absolute, from the job's state, so a replayed write overwrites
    with the same value. The job writes through its own sink; the writers here serve tests and tools."""

    TITLE_COLUMNS = ("clicks", "views", "ctr", "last_event_at",
                     *(f"{k}_{w.name}" for w in TITLE_WINDOWS for k in ("clicks", "views", "window_at")))
    USER_COLUMNS = ("events", "clicks", "last_event_at", "genre_affinity", f"events_{SESSION_WINDOW.name}",
                    "session_at")
    # timestamps, epoch ms in the rows these methods take and give
    TIME_COLUMNS = frozenset(c for c in (*TITLE_COLUMNS, *USER_COLUMNS) if c.endswith("_at") or "_at_" in c)

    @classmethod
    def _checked(cls, fields: Mapping, allowed: tuple[str, ...]) -> dict:
        unknown = set(fields) - set(allowed)
        if unknown:
            raise ValueError(f"unknown feature columns: {sorted(unknown)}")
        return dict(fields)

    @abstractmethod
    def write_title_features(self, anime_id: int, fields: Mapping) -> None:
        """Overwrite the given columns of a title's features (timestamps as epoch ms)."""

    @abstractmethod
    def write_user_features(self, user_id: int, fields: Mapping) -> None:
        """Overwrite the given columns of a user's features (timestamps as epoch ms)."""

    @abstractmethod
    def title_features(self, anime_ids: Sequence[int]) -> dict[int, dict]:
        """anime_id -> ``{anime_id, <TITLE_COLUMNS>}`` (timestamps as epoch ms, absent = None) for those
        of ``anime_ids`` that have features."""

    @abstractmethod
    def all_title_features(self) -> dict[int, dict]:
        """Every title with features, as :meth:`title_features` gives them."""

    @abstractmethod
    def user_features(self, user_id: int) -> dict | None:
        """``{user_id, <USER_COLUMNS>}`` (timestamps as epoch ms, ``genre_affinity`` a dict), or None."""

    @abstractmethod
    def write_genre_activity(self, day: int, genre: str, fields: Mapping) -> None:
        """Overwrite a genre's counts of one day (days since 1970-01-01, UTC)."""

    @abstractmethod
    def genre_activity(self, days: Sequence[int]) -> list[dict]:
        """``{day, genre, clicks, views, ratings, events}`` of every genre with counts on one of ``days``
        (``events``: the three summed; a count not written is 0), by day then genre."""

    @staticmethod
    def _activity_row(row: Mapping) -> dict:
        counts = {c: int(row.get(c) or 0) for c in GENRE_ACTIVITY_COLUMNS}
        return {"day": int(row["day"]), "genre": row["genre"], **counts, "events": sum(counts.values())}


class ListStore(ABC):
    """Versioned recall lists built by the batch jobs.

    Rows carry the build ``version``; ``list_versions`` holds pointers (``popular``,
    ``candidates:<source>``, ``similar:<signal>``, and the ``@previous``/``@building`` markers of
    :mod:`batch.versions`) to the version readers use. A build writes a whole new version, then
    flips its pointer with one write. The list kinds are the keys of
    :data:`config.registry.LIST_TABLES`: ``popular``, ``candidates``, ``similar``. The Spark jobs
    write rows through the Spark connector; ``write_*`` serve the memory backend, offline code and
    tests. Rows within a version are keyed by their rank: writing a rank again overwrites it.
    """

    @abstractmethod
    def list_versions(self) -> dict[str, int]:
        """Every pointer: name -> version (a handful of rows)."""

    def current_version(self, list_name: str) -> int | None:
        """The version pointer ``list_name`` names, None when it was never published."""
        return self.list_versions().get(list_name)

    @abstractmethod
    def publish_version(self, list_name: str, version: int, rows: int) -> None:
        """Point ``list_name`` at ``version`` (``rows``: its size, for operators); one atomic write."""

    @abstractmethod
    def drop_versions(self, list_name: str, keep: set[int]) -> int:
        """Delete every version of the ``list_name`` kind's rows not in ``keep``; returns the number of
        partitions deleted (popular: per segment, candidates: per user, similar: per title)."""

    @abstractmethod
    def stored_versions(self, list_name: str) -> set[int]:
        """Versions that still have rows in the ``list_name`` kind's table."""

    def popular(self, segment: str = "all", limit: int = 100) -> list[dict]:
        """``{rank, anime_id, score}`` of the published popularity list, best first (empty before one)."""
        version = self.current_version("popular")
        return [] if version is None else self.popular_at(version, segment, limit)

    @abstractmethod
    def popular_at(self, version: int, segment: str = "all", limit: int = 100) -> list[dict]:
        """``{rank, anime_id, score}`` of one popularity version and segment (``all``, ``genre:<name>``)."""

    @abstractmethod
    def user_candidates_at(self, version: int, user_id: int, source: str, limit: int = 1000) -> list[dict]:
        """``{rank, anime_id, score}`` of one user's list from one source, best first."""

    @abstractmethod
    def similar_at(self, version: int, anime_id: int, signal: str, limit: int = 1000) -> list[dict]:
        """``{rank, similar_id, score}`` neighbours of one title by one signal, best first."""

    @abstractmethod
    def write_popular(self, version: int, rows: Iterable[Mapping]) -> int:
        """Write ``{segment, rank, anime_id, score}`` rows of ``version``; returns the number written."""

    @abstractmethod
    def write_candidates(self, version: int, rows: Iterable[Mapping]) -> int:
        """Write ``{user_id, source, rank, anime_id, score}`` rows of ``version``."""

    @abstractmethod
    def write_similar(self, version: int, rows: Iterable[Mapping]) -> int:
        """Write ``{anime_id, signal, rank, similar_id, score}`` rows of ``version``."""


@dataclass(frozen=True)
class UserReads:
    """What serving reads of one user per request (see :meth:`ServingReads.read_user`)."""

    ratings: list[dict]                      # {anime_id, rating}, by anime_id
    features: dict | None                    # the user_features row as FeatureStore.user_features gives it
    recent: list[dict]                       # {ts, event_id, kind, anime_id}, newest first
    candidates: dict[str, list[dict]] = field(default_factory=dict)   # source -> {rank, anime_id, score}


class ServingReads(ABC):
    """Reads a request makes together. A backend that can runs them concurrently (one round trip's
    latency instead of one per read); the defaults here compose the single reads one after another."""

    def read_user(self, user_id: int, lists: Mapping[str, int], limit: int = 1000) -> UserReads:
        """The user's ratings, ``user_features`` row and recent events, and their candidate list of each
        source in ``lists`` (``{source: version}``), at most ``limit`` rows each (sources without rows
        are left out)."""
        candidates = {source: self.user_candidates_at(version, user_id, source, limit)
                      for source, version in lists.items()}
        return UserReads(self.user_ratings(user_id), self.user_features(user_id), self.recent_events(user_id),
                         {source: rows for source, rows in candidates.items() if rows})

    def similar_many(self, keys: Iterable[tuple[int, int, str]],
                     limit: int = 1000) -> dict[tuple[int, int, str], list[dict]]:
        """``(version, anime_id, signal) -> [{rank, similar_id, score}, ...]`` for every key, best first."""
        return {key: self.similar_at(*key, limit) for key in dict.fromkeys(keys)}


class LoadManifest(ABC):
    """One row per load attempt of a dataset file (``load_runs``): see :mod:`ingest.catalog`."""

    @abstractmethod
    def record_load_run(self, run: Mapping) -> None:
        """Insert or overwrite the attempt ``(run["dataset"], run["run_id"])`` (a time-based UUID) with
        every column of :data:`LOAD_RUN_COLUMNS`; missing ones are written as null."""

    @abstractmethod
    def load_runs(self, dataset: str, limit: int = 10) -> list[dict]:
        """Attempts of one dataset (all :data:`LOAD_RUN_COLUMNS`), newest run_id first, at most ``limit``."""


class TrainingQueue(ABC):
    """Ranker training requests, claimed by workers one at a time (table ``training_runs``).

    A run goes ``queued`` -> ``running`` (a worker claimed it) -> ``succeeded`` or ``failed``; a
    queued run may also be finished directly (cancelled, refused). Runs are dicts with
    :data:`TRAINING_RUN_FIELDS`: ``run_id`` (str, a time-based UUID: the queue's order), ``state``,
    ``requested_at``, ``requested_by``, ``params`` (a JSON object), ``worker``, ``started_at``,
    ``finished_at``, ``version`` (of the model built), ``error``, ``log_tail`` (list of lines).
    """

    def request_training(self, requested_by: str, params: Mapping | None = None) -> dict:
        """Queue a new run and return it (state ``queued``)."""
        run = {"run_id": uuid.uuid1(), "state": "queued", "requested_at": now_utc(), "requested_by": requested_by,
               "params": json.loads(json.dumps(dict(params or {}))), "worker": None, "started_at": None,
               "finished_at": None, "version": None, "error": None, "log_tail": []}
        self._insert_training_run(run)
        return {**run, "run_id": str(run["run_id"])}

    @abstractmethod
    def _insert_training_run(self, run: dict) -> None:
        """Store a new run (``run_id`` a UUID, ``params`` plain JSON data)."""

    @abstractmethod
    def claim_training(self, worker: str) -> dict | None:
        """Atomically move the oldest queued run to ``running`` (``worker``, ``started_at`` set) and return
        it; None when nothing is queued. Concurrent claimers never get the same run."""

    def finish_training(self, run_id: str | uuid.UUID, state: str, version: str | None = None,
                        error: str | None = None, log_tail: Sequence[str] | None = None) -> bool:
        """Record the outcome of a queued or running run: ``state`` ``succeeded`` or ``failed``.

        Returns False (and changes nothing) when the run had finished already; raises KeyError for
        an unknown run and ValueError for another state.
        """
        if state not in FINISHED_STATES:
            raise ValueError(f"a run finishes as one of {FINISHED_STATES}, not {state!r}")
        key = run_uuid(run_id)
        if key is None:
            raise KeyError(f"no training run {run_id!r}")
        return self._finish_training_run(key, {"state": state, "finished_at": now_utc(), "version": version,
                                               "error": error, "log_tail": [str(line) for line in log_tail or ()]})

    @abstractmethod
    def _finish_training_run(self, run_id: uuid.UUID, fields: dict) -> bool:
        """Apply ``fields`` if the run is queued or running (True), else False; KeyError when unknown."""

    @abstractmethod
    def training_runs(self, limit: int = 20) -> list[dict]:
        """The newest ``limit`` runs, newest first."""

    @abstractmethod
    def training_run(self, run_id: str | uuid.UUID) -> dict | None:
        """One run; None when unknown (or not a run id at all)."""


class AccountStore(ABC):
    """Viewers' accounts (``accounts``, with unique usernames and emails) and machines' API keys (``api_keys``).

    Accounts are dicts with :data:`ACCOUNT_FIELDS`: ``username`` (the key, lower case), ``user_id``
    (from :data:`config.registry.ACCOUNT_USER_IDS`, allocated by :meth:`next_user_id`), ``email``
    (lower case, unique), ``password_hash`` (what the API's hasher made; never the password),
    ``display_name``, ``favourite_genres`` (list), ``created_at``, ``updated_at``. Keys are dicts with
    :data:`API_KEY_FIELDS`: ``secret_hash`` is a digest of the key's secret, never the secret.
    """

    PROFILE_FIELDS = ("display_name", "favourite_genres", "password_hash")

    def create_account(self, account: Mapping) -> str | None:
        """Insert a new account; None when created, else the field that is taken (``username`` or
        ``email``), and nothing is stored. Two concurrent sign-ups never both get a name or an email."""
        row = {f: account.get(f) for f in ACCOUNT_FIELDS}
        row["username"], row["email"] = row["username"].lower(), row["email"].lower()
        row["favourite_genres"] = list(row["favourite_genres"] or [])
        row["created_at"] = row["updated_at"] = now_utc()
        if not self._claim_username(row):
            return "username"
        if not self._claim_email(row["email"], row["username"]):
            self._release_username(row["username"])
            return "email"
        return None

    @abstractmethod
    def _claim_username(self, row: dict) -> bool:
        """Store the account row unless its username exists (atomically); whether it was stored."""

    @abstractmethod
    def _claim_email(self, email: str, username: str) -> bool:
        """Record that ``email`` belongs to ``username`` unless it is someone's (atomically)."""

    @abstractmethod
    def _release_username(self, username: str) -> None:
        """Remove an account row whose email turned out to be taken."""

    @abstractmethod
    def account(self, username: str) -> dict | None:
        """One account by username (any case); None when there is none."""

    @abstractmethod
    def account_by_email(self, email: str) -> dict | None:
        """One account by email (any case); None when there is none."""

    def update_account(self, username: str, fields: Mapping) -> dict | None:
        """Change :data:`PROFILE_FIELDS` of an account; the account afterwards, None when there is none."""
        unknown = set(fields) - set(self.PROFILE_FIELDS)
        if unknown:
            raise ValueError(f"not changeable: {sorted(unknown)}")
        if self.account(username) is None:
            return None
        changes = dict(fields)
        if "favourite_genres" in changes:
            changes["favourite_genres"] = list(changes["favourite_genres"] or [])
        self._update_account(username.lower(), {**changes, "updated_at": now_utc()})
        return self.account(username)

    @abstractmethod
    def _update_account(self, username: str, fields: dict) -> None:
        """Overwrite these columns of an existing account."""

    @abstractmethod
    def next_user_id(self) -> int:
        """A user id from :data:`config.registry.ACCOUNT_USER_IDS` no other call has returned (atomically)."""

    def put_api_key(self, key: Mapping) -> dict:
        """Store a new key (:data:`API_KEY_FIELDS`; ``created_at`` set here) and return it."""
        row = {f: key.get(f) for f in API_KEY_FIELDS}
        row["created_at"], row["revoked_at"] = now_utc(), None
        self._put_api_key(row)
        return row

    @abstractmethod
    def _put_api_key(self, row: dict) -> None:
        """Insert or overwrite a key row."""

    @abstractmethod
    def api_key(self, key_id: str) -> dict | None:
        """One key (revoked ones too: ``revoked_at`` set); None when unknown."""

    @abstractmethod
    def api_keys(self) -> list[dict]:
        """Every key, oldest first."""

    def revoke_api_key(self, key_id: str) -> bool:
        """Mark a key revoked; False when unknown or revoked already."""
        key = self.api_key(key_id)
        if key is None or key["revoked_at"] is not None:
            return False
        self._revoke_api_key(key_id, now_utc())
        return True

    @abstractmethod
    def _revoke_api_key(self, key_id: str, at: datetime) -> None:
        """Set ``revoked_at`` of an existing key."""


class ConversationStore(ABC):
    """The last turn of each /talk conversation (``conversations``): what was understood, so the next turn
    can refer to it ("shorter than that"). A turn expires after :data:`config.registry.CONVERSATION_TTL_S`."""

    @abstractmethod
    def save_turn(self, conversation_id: str, user_id: int, turn: Mapping) -> None:
        """Keep ``turn`` (JSON-serialisable) as the conversation's last, replacing the one before."""

    @abstractmethod
    def last_turn(self, conversation_id: str) -> dict | None:
        """``{user_id, turn, updated_at}`` of the conversation's last turn, or None (unknown or expired)."""


@dataclass(frozen=True)
class Embeddings:
    """One model's vectors of one field (``config.registry.EMBEDDED_FIELDS``): row ``i`` of ``vectors``
    (float32, unit length) belongs to ``anime_ids[i]`` and was made from a text whose hash is ``text_hashes[i]``."""

    anime_ids: np.ndarray
    vectors: np.ndarray
    text_hashes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.anime_ids)


class EmbeddingStore(ABC):
    """Titles' text embeddings (``title_embeddings``), kept per model version and field so that vectors of two
    models are never compared, and a changed text is embedded again (its hash differs)."""

    @abstractmethod
    def write_embeddings(self, model_version: str, field: str,
                         rows: Iterable[tuple[int, str, np.ndarray]]) -> int:
        """Store ``(anime_id, text_hash, vector)`` rows (replacing a title's earlier vector); how many."""

    @abstractmethod
    def embeddings(self, model_version: str, field: str) -> Embeddings:
        """Every stored vector of ``field`` made by ``model_version`` (empty arrays when none)."""


class ExperimentStore(ABC):
    """Experiments (``experiments``: the spec as JSON, state running/stopped) and the per-variant counts the
    streaming job writes for them (``experiment_metrics``)."""

    @abstractmethod
    def create_experiment(self, experiment_id: str, name: str, surface: str, spec: Mapping) -> dict:
        """Store a running experiment; returns it as :meth:`experiment` would."""

    @abstractmethod
    def experiments(self) -> list[dict]:
        """``{experiment_id, name, surface, state, spec, created_at, stopped_at}`` of every experiment, newest
        first."""

    @abstractmethod
    def experiment(self, experiment_id: str) -> dict | None: ...

    @abstractmethod
    def stop_experiment(self, experiment_id: str) -> bool:
        """Mark it stopped (its users go back to the default pipeline); False when it is unknown."""

    @abstractmethod
    def experiment_metrics(self, experiment_id: str) -> list[dict]:
        """``{variant, bucket, <EXPERIMENT_COUNTERS>, titles_shown}`` rows of the experiment."""

    @abstractmethod
    def write_experiment_metrics(self, experiment_id: str, variant: str, bucket: int, values: Mapping) -> None:
        """Set some counters of one row (what the streaming job's sinks do; tools and tests use this)."""


class Store(CatalogStore, RatingStore, EventStore, FeatureStore, ListStore, ServingReads, LoadManifest, TrainingQueue,
            AccountStore, ConversationStore, EmbeddingStore, ExperimentStore):
    """Everything above, on one backend: what :func:`store.open_store` returns."""

    @abstractmethod
    def ping(self) -> bool:
        """True when the store answers; raises StoreUnavailable when it does not."""

    @abstractmethod
    def close(self) -> None:
        """Release connections; the store is not used afterwards."""

    @abstractmethod
    def migrate(self) -> list[str]:
        """Create whatever storage is missing (idempotent); the names of the tables."""

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

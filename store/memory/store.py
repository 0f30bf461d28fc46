"""Every store interface in memory: offline evaluation and ranker training, and tests.

Nothing here reaches a service. One lock serialises writes and reads, which is enough for the
tests' threads (the training queue's claim is atomic). Behaviour follows the Cassandra backend
wherever the contract suite looks (ordering, upserts, limits, timestamp precision); rows handed
out are shared with the store and must not be modified.
"""
from __future__ import annotations

import copy
import threading
import uuid
from bisect import bisect_left
from collections.abc import Hashable, Iterable, Mapping, Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from config.registry import (ACCOUNT_USER_IDS, CONVERSATION_TTL_S, EXPERIMENT_METRIC_COLUMNS,
                             GENRE_ACTIVITY_COLUMNS, LIST_TABLES, RECENT_EVENTS,
                             pointer)
from store.interfaces import (ANIME_COLUMNS, LOAD_RUN_COLUMNS, TRAINING_RUN_FIELDS, Embeddings, Store, from_ms, now_utc,
                              run_uuid, timeuuid_key, to_ms, utc)

OFFLINE_VERSION = 0

_LOAD_TIMES = ("started_at", "completed_at")


class _SortedRows:
    """Rows of a partition kept in clustering order; writing a clustering key again replaces its row."""

    __slots__ = ("keys", "rows")

    def __init__(self, keys: list | None = None, rows: list | None = None):
        self.keys, self.rows = keys or [], rows or []

    def put(self, key, row) -> None:
        i = bisect_left(self.keys, key)
        if i < len(self.keys) and self.keys[i] == key:
            self.rows[i] = row
        else:
            self.keys.insert(i, key)
            self.rows.insert(i, row)


class _ListTable:
    """One versioned list table: ``(version, partition, sub-key)`` -> rows by rank.

    ``partition`` is the part of Cassandra's partition key after the version (segment, user,
    title), which is what ``drop_versions`` counts; ``sub`` is a clustering prefix read as a unit
    (source, signal), ``None`` where there is none.
    """

    def __init__(self):
        self.parts: dict[tuple, _SortedRows] = {}

    def put(self, version: int, partition: Hashable, sub: Hashable, rank: int, row: dict) -> None:
        self.parts.setdefault((version, partition, sub), _SortedRows()).put(rank, row)

    def read(self, version: int, partition: Hashable, sub: Hashable, limit: int) -> list[dict]:
        part = self.parts.get((version, partition, sub))
        return part.rows[:limit] if part else []

    def versions(self) -> set[int]:
        return {key[0] for key in self.parts}

    def drop(self, keep: set[int]) -> int:
        stale = [key for key in self.parts if key[0] not in keep]
        for key in stale:
            del self.parts[key]
        return len({key[:2] for key in stale})


class MemoryStore(Store):
    """All store interfaces in process memory; :meth:`from_frames` fills one from offline frames."""

    def __init__(self):
        self._lock = threading.RLock()
        self._anime: dict[int, dict] = {}
        self._stats: dict[int, dict] = {}
        self._ratings: dict[int, dict[int, int]] = {}
        self._rating_rows: dict[int, list[dict]] = {}          # user -> sorted rows, built on read
        self._events: dict[str, dict] = {}
        self._user_events: dict[int, _SortedRows] = {}
        self._title_features: dict[int, dict] = {}
        self._user_features: dict[int, dict] = {}
        self._genre_activity: dict[tuple[int, str], dict] = {}
        self._conversations: dict[str, dict] = {}
        self._experiments: dict[str, dict] = {}
        self._experiment_metrics: dict[tuple[str, str, int], dict] = {}
        self._embeddings: dict[tuple[str, str], dict[int, tuple[str, np.ndarray]]] = {}
        self._pointers: dict[str, int] = {}
        self._lists = {kind: _ListTable() for kind in LIST_TABLES}
        self._load_runs: dict[str, dict[uuid.UUID, dict]] = {}
        self._training: dict[uuid.UUID, dict] = {}
        self._accounts: dict[str, dict] = {}
        self._emails: dict[str, str] = {}
        self._keys: dict[str, dict] = {}
        self._next_account = 0

    @classmethod
    def from_frames(cls, ratings: pd.DataFrame, candidates: pd.DataFrame, similar: pd.DataFrame,
                    popular: pd.DataFrame) -> "MemoryStore":
        """A store serving lists built offline, all at :data:`OFFLINE_VERSION` and published.

        ``ratings``: user_id, anime_id, rating; ``candidates``: user_id, source, rank, anime_id,
        score; ``similar``: anime_id, signal, rank, similar_id, score; ``popular``: rank,
        anime_id, score (segment ``all``). Grouped with one sort per frame, not per group.
        """
        store = cls()
        v = OFFLINE_VERSION
        for (user, source), (ranks, rows) in _grouped(candidates, ["user_id", "source"],
                                                      ["rank", "anime_id", "score"]).items():
            store._lists["candidates"].parts[(v, user, source)] = _SortedRows(ranks, rows)
        for (anime_id, signal), (ranks, rows) in _grouped(similar, ["anime_id", "signal"],
                                                          ["rank", "similar_id", "score"]).items():
            store._lists["similar"].parts[(v, anime_id, signal)] = _SortedRows(ranks, rows)
        for _, (ranks, rows) in _grouped(popular.assign(segment="all"), ["segment"],
                                         ["rank", "anime_id", "score"]).items():
            store._lists["popular"].parts[(v, "all", None)] = _SortedRows(ranks, rows)
        if not ratings.empty:
            ordered = ratings.sort_values(["user_id", "anime_id"], kind="stable")
            users = ordered["user_id"].to_numpy()
            anime, scores = ordered["anime_id"].to_numpy().tolist(), ordered["rating"].to_numpy().tolist()
            starts, ends = _runs(users)
            for user, s, e in zip(users[starts].tolist(), starts.tolist(), ends.tolist()):
                store._ratings[user] = dict(zip(anime[s:e], scores[s:e]))
        store._pointers = {pointer("popular"): v}
        store._pointers.update({pointer("candidates", s): v for s in candidates["source"].unique()})
        store._pointers.update({pointer("similar", s): v for s in similar["signal"].unique()})
        return store

    # --- Store ------------------------------------------------------------------------------
    # --- ExperimentStore -----------------------------------------------------------------------
    def create_experiment(self, experiment_id: str, name: str, surface: str, spec) -> dict:
        with self._lock:
            self._experiments[experiment_id] = {"experiment_id": experiment_id, "name": name, "surface": surface,
                                                "state": "running", "spec": copy.deepcopy(dict(spec)),
                                                "created_at": now_utc(), "stopped_at": None}
        return self.experiment(experiment_id)

    def experiments(self) -> list[dict]:
        with self._lock:
            rows = [copy.deepcopy(e) for e in self._experiments.values()]
        return sorted(rows, key=lambda e: (e["created_at"], e["experiment_id"]), reverse=True)

    def experiment(self, experiment_id: str) -> dict | None:
        with self._lock:
            found = self._experiments.get(experiment_id)
            return copy.deepcopy(found) if found else None

    def stop_experiment(self, experiment_id: str) -> bool:
        with self._lock:
            found = self._experiments.get(experiment_id)
            if found is None:
                return False
            found.update(state="stopped", stopped_at=now_utc())
            return True

    def experiment_metrics(self, experiment_id: str) -> list[dict]:
        with self._lock:
            return [{"variant": v, "bucket": b, **{c: row.get(c) for c in EXPERIMENT_METRIC_COLUMNS}}
                    for (e, v, b), row in sorted(self._experiment_metrics.items()) if e == experiment_id]

    def write_experiment_metrics(self, experiment_id: str, variant: str, bucket: int, values) -> None:
        unknown = set(values) - set(EXPERIMENT_METRIC_COLUMNS)
        if unknown:
            raise ValueError(f"unknown experiment_metrics columns {sorted(unknown)}")
        with self._lock:
            self._experiment_metrics.setdefault((experiment_id, variant, int(bucket)), {}).update(values)

    # --- EmbeddingStore ------------------------------------------------------------------------
    def write_embeddings(self, model_version: str, field: str, rows) -> int:
        n = 0
        with self._lock:
            table = self._embeddings.setdefault((model_version, field), {})
            for anime_id, text_hash, vector in rows:
                table[int(anime_id)] = (text_hash, np.asarray(vector, dtype=np.float32).copy())
                n += 1
        return n

    def embeddings(self, model_version: str, field: str) -> Embeddings:
        with self._lock:
            table = sorted(self._embeddings.get((model_version, field), {}).items())
        if not table:
            return Embeddings(np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32), ())
        return Embeddings(np.array([a for a, _ in table], dtype=np.int64), np.stack([v for _, (_, v) in table]),
                          tuple(h for _, (h, _) in table))

    # --- ConversationStore ---------------------------------------------------------------------
    def save_turn(self, conversation_id: str, user_id: int, turn: Mapping) -> None:
        with self._lock:
            self._conversations[conversation_id] = {"user_id": user_id, "turn": copy.deepcopy(dict(turn)),
                                                    "updated_at": now_utc()}

    def last_turn(self, conversation_id: str) -> dict | None:
        with self._lock:
            found = self._conversations.get(conversation_id)
            if found is None or (now_utc() - found["updated_at"]).total_seconds() > CONVERSATION_TTL_S:
                return None
            return copy.deepcopy(found)

    def ping(self) -> bool:
        return True

    def close(self) -> None:
        pass

    def migrate(self) -> list[str]:
        return []

    # --- CatalogStore -----------------------------------------------------------------------
    def upsert_anime(self, rows: Iterable[Mapping]) -> int:
        rows = [{c: r.get(c) for c in ANIME_COLUMNS} for r in rows]
        with self._lock:
            for row in rows:
                old = self._anime.get(row["anime_id"])
                self._anime[row["anime_id"]] = {**row, "synopsis": old["synopsis"] if old else None}
        return len(rows)

    def set_synopses(self, pairs: Iterable[tuple[int, str]]) -> int:
        pairs = list(pairs)
        with self._lock:
            for anime_id, text in pairs:
                row = self._anime.get(anime_id) or {**dict.fromkeys(ANIME_COLUMNS), "anime_id": anime_id}
                self._anime[anime_id] = {**row, "synopsis": text}
        return len(pairs)

    def get_anime(self, anime_id: int) -> dict | None:
        with self._lock:
            row = self._anime.get(anime_id)
            return dict(row) if row else None

    def all_anime(self, with_synopsis: bool = False) -> list[dict]:
        columns = ANIME_COLUMNS + (("synopsis",) if with_synopsis else ())
        with self._lock:
            return [{c: row[c] for c in columns} for row in self._anime.values()]

    def anime_ids(self) -> set[int]:
        with self._lock:
            return set(self._anime)

    def set_rating_stats(self, rows: Iterable[Mapping]) -> int:
        rows = list(rows)
        with self._lock:
            for r in rows:
                self._stats[r["anime_id"]] = {"ratings": r.get("ratings"), "scored": r.get("scored"),
                                              "mean_score": r.get("mean_score")}
        return len(rows)

    def anime_rating_stats(self, anime_id: int) -> dict | None:
        with self._lock:
            row = self._stats.get(anime_id)
            return dict(row) if row else None

    # --- RatingStore ------------------------------------------------------------------------
    def upsert_ratings_batched(self, rows: Iterable[tuple[int, int, int]], updated_at: datetime | None = None,
                               **tuning) -> int:
        latest: dict[tuple[int, int], int] = {}
        for u, a, r in rows:
            latest[(u, a)] = r
        with self._lock:
            for (u, a), r in latest.items():
                self._ratings.setdefault(u, {})[a] = r
                self._rating_rows.pop(u, None)
        return len(latest)

    def delete_rating(self, user_id: int, anime_id: int) -> None:
        with self._lock:
            self._ratings.get(user_id, {}).pop(anime_id, None)
            self._rating_rows.pop(user_id, None)

    def user_ratings(self, user_id: int) -> list[dict]:
        with self._lock:
            rows = self._rating_rows.get(user_id)
            if rows is None:
                ratings = self._ratings.get(user_id, {})
                rows = self._rating_rows[user_id] = [{"anime_id": a, "rating": ratings[a]} for a in sorted(ratings)]
            return list(rows)

    def all_ratings(self) -> list[tuple[int, int, int]]:
        with self._lock:
            return [(u, a, r) for u, ratings in self._ratings.items() for a, r in ratings.items()]

    # --- EventStore -------------------------------------------------------------------------
    def write_event(self, event: Mapping) -> None:
        ts = from_ms(event["timestamp"])
        row = {"event_id": event["event_id"], "kind": event["kind"], "user_id": event["user_id"],
               "anime_id": event["anime_id"], "rating": event.get("rating"), "ts": ts, "written_at": now_utc()}
        with self._lock:
            self._events[(event["user_id"], event["event_id"])] = row
            # Newest first, equal times by event_id (store.interfaces.newest_first); the newest RECENT_EVENTS.
            recent = self._user_events.setdefault(event["user_id"], _SortedRows())
            recent.put((-to_ms(ts), event["event_id"]),
                       {"ts": ts, "event_id": event["event_id"], "kind": event["kind"], "anime_id": event["anime_id"]})
            del recent.keys[RECENT_EVENTS:], recent.rows[RECENT_EVENTS:]

    def get_event(self, user_id: int, event_id: str) -> dict | None:
        with self._lock:
            row = self._events.get((user_id, event_id))
            return dict(row) if row else None

    def recent_events(self, user_id: int, limit: int = RECENT_EVENTS) -> list[dict]:
        with self._lock:
            part = self._user_events.get(user_id)
            return [dict(r) for r in part.rows[:limit]] if part else []

    # --- FeatureStore -----------------------------------------------------------------------
    def write_title_features(self, anime_id: int, fields: Mapping) -> None:
        fields = self._checked(fields, self.TITLE_COLUMNS)
        with self._lock:
            row = self._title_features.setdefault(anime_id, {"anime_id": anime_id,
                                                             **dict.fromkeys(self.TITLE_COLUMNS)})
            row.update(fields)

    def write_user_features(self, user_id: int, fields: Mapping) -> None:
        fields = self._checked(fields, self.USER_COLUMNS)
        with self._lock:
            row = self._user_features.setdefault(user_id, {"user_id": user_id, **dict.fromkeys(self.USER_COLUMNS)})
            row.update({k: dict(v) if k == "genre_affinity" and v is not None else v for k, v in fields.items()})

    def title_features(self, anime_ids: Sequence[int]) -> dict[int, dict]:
        with self._lock:
            return {a: dict(self._title_features[a]) for a in anime_ids if a in self._title_features}

    def all_title_features(self) -> dict[int, dict]:
        with self._lock:
            return {a: dict(r) for a, r in self._title_features.items()}

    def user_features(self, user_id: int) -> dict | None:
        with self._lock:
            row = self._user_features.get(user_id)
            return None if row is None else {**row, "genre_affinity": dict(row["genre_affinity"] or {})}

    def write_genre_activity(self, day: int, genre: str, fields: Mapping) -> None:
        fields = self._checked(fields, GENRE_ACTIVITY_COLUMNS)
        with self._lock:
            self._genre_activity.setdefault((day, genre), {"day": day, "genre": genre}).update(fields)

    def genre_activity(self, days: Sequence[int]) -> list[dict]:
        wanted = set(days)
        with self._lock:
            rows = [self._activity_row(r) for (day, _), r in self._genre_activity.items() if day in wanted]
        return sorted(rows, key=lambda r: (r["day"], r["genre"]))

    # --- ListStore --------------------------------------------------------------------------
    def list_versions(self) -> dict[str, int]:
        with self._lock:
            return dict(self._pointers)

    def publish_version(self, list_name: str, version: int, rows: int) -> None:
        with self._lock:
            self._pointers[list_name] = version

    def drop_versions(self, list_name: str, keep: set[int]) -> int:
        with self._lock:
            return self._lists[list_name].drop(set(keep))

    def stored_versions(self, list_name: str) -> set[int]:
        with self._lock:
            return self._lists[list_name].versions()

    def popular_at(self, version: int, segment: str = "all", limit: int = 100) -> list[dict]:
        with self._lock:
            return self._lists["popular"].read(version, segment, None, limit)

    def user_candidates_at(self, version: int, user_id: int, source: str, limit: int = 1000) -> list[dict]:
        with self._lock:
            return self._lists["candidates"].read(version, user_id, source, limit)

    def similar_at(self, version: int, anime_id: int, signal: str, limit: int = 1000) -> list[dict]:
        with self._lock:
            return self._lists["similar"].read(version, anime_id, signal, limit)

    def _write_list(self, kind: str, version: int, rows: Iterable[Mapping], partition: str, sub: str | None,
                    columns: tuple[str, ...]) -> int:
        rows = list(rows)
        table = self._lists[kind]
        with self._lock:
            for r in rows:
                table.put(version, r[partition], r[sub] if sub else None, r["rank"], {c: r[c] for c in columns})
        return len(rows)

    def write_popular(self, version: int, rows: Iterable[Mapping]) -> int:
        return self._write_list("popular", version, rows, "segment", None, ("rank", "anime_id", "score"))

    def write_candidates(self, version: int, rows: Iterable[Mapping]) -> int:
        return self._write_list("candidates", version, rows, "user_id", "source", ("rank", "anime_id", "score"))

    def write_similar(self, version: int, rows: Iterable[Mapping]) -> int:
        return self._write_list("similar", version, rows, "anime_id", "signal", ("rank", "similar_id", "score"))

    # --- LoadManifest -----------------------------------------------------------------------
    def record_load_run(self, run: Mapping) -> None:
        row = {c: run.get(c) for c in LOAD_RUN_COLUMNS}
        for column in _LOAD_TIMES:
            row[column] = utc(row[column])
        with self._lock:
            self._load_runs.setdefault(row["dataset"], {})[row["run_id"]] = row

    def load_runs(self, dataset: str, limit: int = 10) -> list[dict]:
        with self._lock:
            runs = sorted(self._load_runs.get(dataset, {}).values(), key=lambda r: timeuuid_key(r["run_id"]),
                          reverse=True)
            return [dict(r) for r in runs[:limit]]

    # --- TrainingQueue ----------------------------------------------------------------------
    def _insert_training_run(self, run: dict) -> None:
        with self._lock:
            if run["run_id"] in self._training:
                raise RuntimeError(f"training run {run['run_id']} exists already")
            self._training[run["run_id"]] = dict(run)

    def _runs_in_order(self) -> list[dict]:
        return sorted(self._training.values(), key=lambda r: timeuuid_key(r["run_id"]))

    def claim_training(self, worker: str) -> dict | None:
        with self._lock:
            run = next((r for r in self._runs_in_order() if r["state"] == "queued"), None)
            if run is None:
                return None
            run.update(state="running", worker=worker, started_at=now_utc())
            return _public(run)

    def _finish_training_run(self, run_id: uuid.UUID, fields: dict) -> bool:
        with self._lock:
            run = self._training.get(run_id)
            if run is None:
                raise KeyError(f"no training run {run_id}")
            if run["state"] not in ("queued", "running"):
                return False
            run.update(fields)
            return True

    def training_runs(self, limit: int = 20) -> list[dict]:
        with self._lock:
            return [_public(r) for r in reversed(self._runs_in_order())][:limit]

    def training_run(self, run_id: str | uuid.UUID) -> dict | None:
        key = run_uuid(run_id)
        with self._lock:
            run = self._training.get(key) if key else None
            return _public(run) if run else None

    # --- AccountStore -----------------------------------------------------------------------
    def _claim_username(self, row: dict) -> bool:
        with self._lock:
            if row["username"] in self._accounts:
                return False
            self._accounts[row["username"]] = dict(row)
            return True

    def _claim_email(self, email: str, username: str) -> bool:
        with self._lock:
            return self._emails.setdefault(email, username) == username

    def _release_username(self, username: str) -> None:
        with self._lock:
            self._accounts.pop(username, None)

    def account(self, username: str) -> dict | None:
        with self._lock:
            row = self._accounts.get(username.lower())
            return None if row is None else {**row, "favourite_genres": list(row["favourite_genres"])}

    def account_by_email(self, email: str) -> dict | None:
        with self._lock:
            username = self._emails.get(email.lower())
            return None if username is None else self.account(username)

    def _update_account(self, username: str, fields: dict) -> None:
        with self._lock:
            self._accounts[username].update({k: utc(v) if isinstance(v, datetime) else v for k, v in fields.items()})

    def next_user_id(self) -> int:
        with self._lock:
            user_id = ACCOUNT_USER_IDS[self._next_account]
            self._next_account += 1
            return user_id

    def _put_api_key(self, row: dict) -> None:
        with self._lock:
            self._keys[row["key_id"]] = dict(row)

    def api_key(self, key_id: str) -> dict | None:
        with self._lock:
            row = self._keys.get(key_id)
            return None if row is None else dict(row)

    def api_keys(self) -> list[dict]:
        with self._lock:
            return sorted((dict(k) for k in self._keys.values()), key=lambda k: (k["created_at"], k["key_id"]))

    def _revoke_api_key(self, key_id: str, at: datetime) -> None:
        with self._lock:
            self._keys[key_id]["revoked_at"] = utc(at)


def _public(run: dict) -> dict:
    """A copy of a stored run as the interface hands it out (``run_id`` as str, lists copied)."""
    out = {field: run.get(field) for field in TRAINING_RUN_FIELDS}
    out.update(run_id=str(run["run_id"]), params=_copy_json(run["params"]), log_tail=list(run["log_tail"] or []))
    return out


def _copy_json(value):
    if isinstance(value, dict):
        return {k: _copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_json(v) for v in value]
    return value


def _runs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end positions of the runs of equal values in a sorted array."""
    change = np.ones(len(keys), dtype=bool)
    change[1:] = keys[1:] != keys[:-1]
    starts = np.flatnonzero(change)
    return starts, np.append(starts[1:], len(keys))


def _grouped(frame: pd.DataFrame, keys: list[str], columns: list[str]) -> dict[tuple, tuple[list, list[dict]]]:
    """``frame`` grouped by ``keys``: key tuple -> (ranks, rows of ``columns``) in rank order."""
    if frame.empty:
        return {}
    frame = frame.sort_values([*keys, "rank"], kind="stable")
    records = frame[columns].to_dict("records")
    ranks = frame["rank"].to_numpy().tolist()
    change = np.zeros(len(frame), dtype=bool)
    change[0] = True
    arrays = [frame[k].to_numpy() for k in keys]
    for values in arrays:
        change[1:] |= values[1:] != values[:-1]
    starts = np.flatnonzero(change)
    ends = np.append(starts[1:], len(frame)).tolist()
    key_tuples = zip(*(values[starts].tolist() for values in arrays))
    return {key: (ranks[s:e], records[s:e]) for key, s, e in zip(key_tuples, starts.tolist(), ends)}

"""The Cassandra backend reports an outage as StoreUnavailable, never as a driver exception.

No Cassandra here: a closed port for a store that cannot open, and a driver session whose
node is gone (every request fails the way the driver fails then) for a store that loses its
node after opening. The real node-loss case runs in tests/integration/test_store_cassandra.py.
"""
from __future__ import annotations

import inspect
import socket
import time
import uuid

import pytest
from cassandra import InvalidRequest, OperationTimedOut, ReadTimeout, Unavailable, WriteTimeout
from cassandra.cluster import NoHostAvailable
from cassandra.connection import ConnectionShutdown

from config import Settings
from store import Store, StoreUnavailable, open_store
from store.cassandra import CassandraStore
from store.cassandra.session import CassandraSession


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_opening_a_store_on_a_closed_port_raises_store_unavailable():
    settings = Settings(cassandra={"port": _closed_port()})
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as caught:
        open_store(settings, retries=2)
    assert isinstance(caught.value.__cause__, NoHostAvailable)
    assert time.monotonic() - started < 30


class _Prepared:
    def __init__(self, cql: str):
        self.cql = cql

    def bind(self, params):
        return self


class _DeadNodeSession:
    """A driver session whose node went away after the store opened: every request raises ``error``."""

    def __init__(self, error: Exception):
        self.error = error

    def prepare(self, cql):
        return _Prepared(cql)

    def execute(self, *args, **kwargs):
        raise self.error

    def execute_async(self, *args, **kwargs):
        raise self.error

    def set_keyspace(self, keyspace):
        raise self.error

    def shutdown(self):
        pass


def _store(error: Exception) -> CassandraStore:
    return CassandraStore(CassandraSession(_DeadNodeSession(error), "ks"), Settings().cassandra)


RUN_ID = str(uuid.uuid1())
EVENT = {"event_id": "e", "kind": "click", "user_id": 1, "anime_id": 2, "timestamp": 1_700_000_000_000}
CALLS = {
    "upsert_anime": lambda s: s.upsert_anime([{"anime_id": 1, "name": "A"}]),
    "set_synopses": lambda s: s.set_synopses([(1, "text")]),
    "get_anime": lambda s: s.get_anime(1),
    "all_anime": lambda s: s.all_anime(with_synopsis=True),
    "anime_ids": lambda s: s.anime_ids(),
    "set_rating_stats": lambda s: s.set_rating_stats([{"anime_id": 1, "ratings": 1, "scored": 1, "mean_score": 5.0}]),
    "anime_rating_stats": lambda s: s.anime_rating_stats(1),
    "upsert_ratings": lambda s: s.upsert_ratings([(1, 2, 3)]),
    "upsert_ratings_batched": lambda s: s.upsert_ratings_batched([(u, 1, 3) for u in range(5)]),
    "delete_rating": lambda s: s.delete_rating(1, 2),
    "user_ratings": lambda s: s.user_ratings(1),
    "all_ratings": lambda s: s.all_ratings(),
    "write_event": lambda s: s.write_event(EVENT),
    "get_event": lambda s: s.get_event(1, "e"),
    "recent_events": lambda s: s.recent_events(1),
    "write_title_features": lambda s: s.write_title_features(1, {"clicks": 2}),
    "write_user_features": lambda s: s.write_user_features(1, {"events": 2}),
    "title_features": lambda s: s.title_features([1]),
    "all_title_features": lambda s: s.all_title_features(),
    "user_features": lambda s: s.user_features(1),
    "write_genre_activity": lambda s: s.write_genre_activity(20_000, "Drama", {"clicks": 1}),
    "genre_activity": lambda s: s.genre_activity([20_000]),
    "save_turn": lambda s: s.save_turn("c-1", 1, {"genres": []}),
    "last_turn": lambda s: s.last_turn("c-1"),
    "write_embeddings": lambda s: s.write_embeddings("m@1", "name", [(1, "h", [1.0, 0.0])]),
    "embeddings": lambda s: s.embeddings("m@1", "name"),
    "create_experiment": lambda s: s.create_experiment("e", "n", "recommends", {}),
    "experiments": lambda s: s.experiments(),
    "experiment": lambda s: s.experiment("e"),
    "stop_experiment": lambda s: s.stop_experiment("e"),
    "experiment_metrics": lambda s: s.experiment_metrics("e"),
    "write_experiment_metrics": lambda s: s.write_experiment_metrics("e", "a", 1, {"clicks": 1}),
    "list_versions": lambda s: s.list_versions(),
    "current_version": lambda s: s.current_version("popular"),
    "publish_version": lambda s: s.publish_version("popular", 1, 1),
    "drop_versions": lambda s: s.drop_versions("popular", {1}),
    "stored_versions": lambda s: s.stored_versions("similar"),
    "popular": lambda s: s.popular(),
    "popular_at": lambda s: s.popular_at(1),
    "user_candidates_at": lambda s: s.user_candidates_at(1, 1, "als"),
    "similar_at": lambda s: s.similar_at(1, 1, "cowatch"),
    "read_user": lambda s: s.read_user(1, {"als": 1}),
    "similar_many": lambda s: s.similar_many([(1, 1, "cowatch"), (1, 2, "content")]),
    "write_popular": lambda s: s.write_popular(1, [{"segment": "all", "rank": 1, "anime_id": 1, "score": 1.0}]),
    "write_candidates": lambda s: s.write_candidates(1, [{"user_id": 1, "source": "als", "rank": 1, "anime_id": 1,
                                                          "score": 1.0}]),
    "write_similar": lambda s: s.write_similar(1, [{"anime_id": 1, "signal": "cowatch", "rank": 1, "similar_id": 2,
                                                    "score": 1.0}]),
    "record_load_run": lambda s: s.record_load_run({"dataset": "anime", "run_id": uuid.uuid1(), "status": "running"}),
    "load_runs": lambda s: s.load_runs("anime"),
    "request_training": lambda s: s.request_training("admin", {}),
    "claim_training": lambda s: s.claim_training("w"),
    "finish_training": lambda s: s.finish_training(RUN_ID, "failed", error="x"),
    "training_runs": lambda s: s.training_runs(),
    "training_run": lambda s: s.training_run(RUN_ID),
    "create_account": lambda s: s.create_account({"username": "a", "email": "a@example.org", "user_id": 1}),
    "account": lambda s: s.account("a"),
    "account_by_email": lambda s: s.account_by_email("a@example.org"),
    "update_account": lambda s: s.update_account("a", {"display_name": "A"}),
    "next_user_id": lambda s: s.next_user_id(),
    "put_api_key": lambda s: s.put_api_key({"key_id": "k", "secret_hash": "h", "role": "reader"}),
    "api_key": lambda s: s.api_key("k"),
    "api_keys": lambda s: s.api_keys(),
    "revoke_api_key": lambda s: s.revoke_api_key("k"),
    "ping": lambda s: s.ping(),
    "migrate": lambda s: s.migrate(),
}


def test_every_store_method_is_exercised_here():
    public = {name for name, member in inspect.getmembers(Store, inspect.isfunction) if not name.startswith("_")}
    assert public - {"close"} == set(CALLS)


@pytest.mark.parametrize("method", sorted(CALLS))
def test_every_method_raises_store_unavailable_when_the_node_is_gone(method):
    lost = NoHostAvailable("Unable to complete the operation against any hosts", {"127.0.0.1:9042": OSError()})
    with pytest.raises(StoreUnavailable) as caught:
        CALLS[method](_store(lost))
    assert caught.value.__cause__ is lost


@pytest.mark.parametrize("error", [OperationTimedOut("client timeout"), ReadTimeout("read timeout"),
                                   WriteTimeout("write timeout", write_type=0), Unavailable("not enough replicas"),
                                   ConnectionShutdown("connection lost")], ids=type)
@pytest.mark.parametrize("method", ["get_anime", "upsert_ratings_batched", "claim_training"])
def test_every_outage_error_of_the_driver_becomes_store_unavailable(error, method):
    with pytest.raises(StoreUnavailable, match=type(error).__name__):
        CALLS[method](_store(error))


def test_an_invalid_request_is_a_bug_not_an_outage():
    with pytest.raises(InvalidRequest):
        _store(InvalidRequest("unconfigured table anime")).get_anime(1)

"""The store contract on MemoryStore, and what only the memory backend does (``from_frames``)."""
from __future__ import annotations

import pandas as pd
import pytest

from store import MemoryStore, OFFLINE_VERSION
from tests.store_contract import StoreContract


class TestMemoryStoreContract(StoreContract):
    @pytest.fixture
    def store(self):
        return MemoryStore()


def _frames():
    ratings = pd.DataFrame({"user_id": [2, 1, 1, 2], "anime_id": [10, 11, 10, 12], "rating": [5, -1, 8, 7]})
    candidates = pd.DataFrame({"user_id": [1, 1, 1, 2], "source": ["als", "als", "ease", "als"],
                               "rank": [2, 1, 1, 1], "anime_id": [30, 31, 32, 33], "score": [0.5, 0.9, 0.4, 0.3]})
    similar = pd.DataFrame({"anime_id": [10, 10, 10], "signal": ["cowatch", "cowatch", "content"],
                            "rank": [2, 1, 1], "similar_id": [20, 21, 22], "score": [0.2, 0.8, 0.6]})
    popular = pd.DataFrame({"rank": [2, 1], "anime_id": [10, 11], "score": [1.0, 2.0]})
    return ratings, candidates, similar, popular


def test_from_frames_serves_the_lists_at_the_offline_version():
    store = MemoryStore.from_frames(*_frames())
    assert OFFLINE_VERSION == 0
    assert store.list_versions() == {"popular": 0, "candidates:als": 0, "candidates:ease": 0,
                                     "similar:cowatch": 0, "similar:content": 0}
    assert store.user_candidates_at(0, 1, "als") == [{"rank": 1, "anime_id": 31, "score": 0.9},
                                                     {"rank": 2, "anime_id": 30, "score": 0.5}]
    assert [r["anime_id"] for r in store.user_candidates_at(0, 2, "als")] == [33]
    assert [r["similar_id"] for r in store.similar_at(0, 10, "cowatch")] == [21, 20]
    assert store.popular("all", limit=1) == [{"rank": 1, "anime_id": 11, "score": 2.0}]
    assert store.user_ratings(1) == [{"anime_id": 10, "rating": 8}, {"anime_id": 11, "rating": -1}]
    assert sorted(store.all_ratings()) == [(1, 10, 8), (1, 11, -1), (2, 10, 5), (2, 12, 7)]


def test_from_frames_values_are_plain_python_types():
    store = MemoryStore.from_frames(*_frames())
    row = store.user_candidates_at(0, 1, "als")[0]
    assert type(row["anime_id"]) is int and type(row["score"]) is float
    assert all(type(v) is int for r in store.user_ratings(2) for v in r.values())


def test_a_store_from_frames_takes_writes_like_any_other():
    store = MemoryStore.from_frames(*_frames())
    store.write_candidates(0, [{"user_id": 1, "source": "als", "rank": 1, "anime_id": 99, "score": 1.0}])
    assert [r["anime_id"] for r in store.user_candidates_at(0, 1, "als")] == [99, 30]
    store.upsert_ratings([(1, 10, 3)])
    assert store.user_ratings(1)[0] == {"anime_id": 10, "rating": 3}


def test_from_empty_frames_is_an_empty_store_with_the_popular_pointer():
    empty = [f.iloc[0:0] for f in _frames()]
    store = MemoryStore.from_frames(*empty)
    assert store.list_versions() == {"popular": 0}
    assert store.popular() == [] and store.user_ratings(1) == []

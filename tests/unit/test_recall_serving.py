"""The serving side of recall against an in-memory store (no Cassandra)."""
import dataclasses

import numpy as np

from recall import ListReader, candidates, candidates_for_user, similar_titles
from store import MemoryStore
from recall.merge import merge_candidates, merge_signals, neighbours_of_seeds


def filled_store(pointers=None, ratings=None, events=None, candidates=None, similar=None, popular=()):
    """The in-memory store backend filled with the given lists (the same interface Cassandra serves).

    ``candidates``: (version, user, source) -> [anime ids]; ``similar``: (version, anime, signal)
    -> [(id, score)]; ``events``: user -> [anime ids], newest first.
    """
    store = MemoryStore()
    for name, version in (pointers or {}).items():
        store.publish_version(name, version, 0)
    store.upsert_ratings((u, a, r) for u, pairs in (ratings or {}).items() for a, r in pairs)
    for user, anime_ids in (events or {}).items():
        for age, anime_id in enumerate(anime_ids):         # first is newest
            store.write_event({"event_id": f"{user}-{age}", "kind": "click", "user_id": user, "anime_id": anime_id,
                               "timestamp": 1_700_000_000_000 - age * 1000})
    for (version, user, source), ids in (candidates or {}).items():
        store.write_candidates(version, [{"user_id": user, "source": source, "rank": i + 1, "anime_id": a,
                                          "score": 1.0 / (i + 1)} for i, a in enumerate(ids)])
    for (version, anime, signal), rows in (similar or {}).items():
        store.write_similar(version, [{"anime_id": anime, "signal": signal, "rank": i + 1, "similar_id": a,
                                       "score": s} for i, (a, s) in enumerate(rows)])
    if "popular" in (pointers or {}):
        store.write_popular(pointers["popular"], [{"segment": "all", "rank": i + 1, "anime_id": a, "score": 1.0}
                                                  for i, a in enumerate(popular)])
    return store


POP = [1, 2, 3, 4, 5, 6, 7, 8]


def test_new_user_gets_popular_titles():
    store = filled_store(pointers={"popular": 1}, popular=POP)
    out = candidates_for_user(store, 42, 5)
    assert [c["anime_id"] for c in out] == [1, 2, 3, 4, 5]
    assert {c["source"] for c in out} == {"popular"}
    assert all(set(c) == {"anime_id", "score", "source", "ranks", "scores"} for c in out)
    assert all(c["scores"] == {} for c in out)       # the popular list's scores are not ranker features
    assert [c["ranks"] for c in out] == [{"popular": r} for r in range(1, 6)]


def test_a_new_user_with_favourite_genres_gets_those_genres_popular_titles_in_turn():
    store = filled_store(pointers={"popular": 1}, popular=POP)
    store.write_popular(1, [{"segment": f"genre:{g}", "rank": i + 1, "anime_id": a, "score": 1.0}
                            for g, ids in (("Comedy", [11, 12, 13]), ("Sports", [21, 12, 22])) for i, a in enumerate(ids)])
    reader = ListReader(store, cache_mb=0)
    context = dataclasses.replace(reader.user(42, 60), genres=("Comedy", "Sports"))
    assert [c["anime_id"] for c in candidates(context, reader, 5)] == [11, 21, 12, 13, 22]
    unknown = dataclasses.replace(context, genres=("Cooking",))       # no list for it: the overall one
    assert [c["anime_id"] for c in candidates(unknown, reader, 3)] == [1, 2, 3]


def test_no_lists_at_all_is_an_empty_answer():
    assert candidates_for_user(filled_store(), 1, 10) == []
    assert candidates_for_user(filled_store(pointers={"popular": 1}, popular=POP), 1, 0) == []


def test_known_user_merges_sources_without_duplicates_or_seen_titles():
    store = filled_store(
        pointers={"popular": 1, "candidates:als": 7, "candidates:itemitem": 8, "similar:cowatch": 9},
        ratings={5: [(1, 9), (50, -1)]},
        events={5: [60, 61]},                              # just clicked
        candidates={(7, 5, "als"): [10, 11, 60, 12], (8, 5, "itemitem"): [11, 13, 50]},
        similar={(9, 60, "cowatch"): [(14, 0.9), (10, 0.5)]},
        popular=POP)
    out = candidates_for_user(store, 5, 20)
    ids = [c["anime_id"] for c in out]
    assert len(ids) == len(set(ids))
    assert not {1, 50, 60, 61} & set(ids)
    assert ids[0] in (10, 11)                              # found by two sources
    assert {"als", "itemitem", "recent", "popular"} == {c["source"] for c in out}
    assert 14 in ids
    assert [c["score"] for c in out] == sorted((c["score"] for c in out), reverse=True)


def test_user_rated_after_the_build_is_seeded_with_favourites():
    store = filled_store(pointers={"similar:content": 3}, ratings={8: [(100, 10), (101, 2)]},
                      similar={(3, 100, "content"): [(200, 0.8), (101, 0.7)]})
    out = candidates_for_user(store, 8, 5)
    assert [c["anime_id"] for c in out] == [200]
    assert out[0]["source"] == "recent"


def test_similar_titles_fuse_signals_and_new_titles_get_content_neighbours():
    store = filled_store(pointers={"similar:cowatch": 1, "similar:content": 2},
                      similar={(1, 5114, "cowatch"): [(121, 0.6), (9253, 0.5)],
                               (2, 5114, "content"): [(121, 0.7), (430, 0.4), (5114, 0.99)],
                               (2, 99999, "content"): [(5114, 0.3)]})
    out = similar_titles(store, 5114, 10)
    assert out[0] == {"anime_id": 121, "score": 0.6 + 0.7 * 0.7, "signals": ["cowatch", "content"]}
    assert 5114 not in [o["anime_id"] for o in out]
    assert similar_titles(store, 5114, 1) == out[:1]
    assert similar_titles(store, 99999, 5) == [{"anime_id": 5114, "score": 0.7 * 0.3, "signals": ["content"]}]
    assert similar_titles(filled_store(), 1, 5) == []


def test_merge_candidates_rrf():
    out = merge_candidates({"a": [1, 2, 3], "b": [3, 4]}, 3, exclude={4}, weights={"a": 1.0, "b": 1.0})
    assert [c["anime_id"] for c in out] == [3, 1, 2]
    assert out[0]["source"] == "b"                          # rank 1 in b beats rank 3 in a
    assert merge_candidates({"a": [1]}, 0) == []


def test_neighbours_of_seeds_prefers_fresh_seeds():
    assert neighbours_of_seeds([[(1, 0.5)], [(2, 0.9)]]) == [1, 2]
    assert neighbours_of_seeds([[(1, 0.5), (2, 0.1)], [(2, 0.9)]]) == [2, 1]   # near both seeds


def test_merge_signals_excludes_and_caps():
    out = merge_signals({"cowatch": [(1, 0.5), (2, 0.4)]}, 1, exclude={1})
    assert out == [{"anime_id": 2, "score": 0.4, "signals": ["cowatch"]}]


class _Counting(MemoryStore):
    """The memory store, counting the list reads that reach it."""

    def __init__(self):
        super().__init__()
        self.reads = {"read_user_lists": 0, "similar": 0, "popular": 0}

    def read_user(self, user_id, lists, limit=1000):
        self.reads["read_user_lists"] += len(lists)
        return super().read_user(user_id, lists, limit)

    def similar_many(self, keys, limit=1000):
        keys = list(keys)
        self.reads["similar"] += len(keys)
        return super().similar_many(keys, limit)

    def popular_at(self, version, segment="all", limit=100):
        self.reads["popular"] += 1
        return super().popular_at(version, segment, limit)


def _counting_store():
    store = _Counting()
    store.publish_version("popular", 1, 0)
    store.publish_version("candidates:als", 7, 0)
    store.publish_version("similar:cowatch", 9, 0)
    store.write_popular(1, [{"segment": "all", "rank": i + 1, "anime_id": a, "score": 1.0} for i, a in enumerate(POP)])
    store.write_candidates(7, [{"user_id": 5, "source": "als", "rank": 1, "anime_id": 10, "score": 1.0}])
    store.write_similar(9, [{"anime_id": 60, "signal": "cowatch", "rank": 1, "similar_id": 14, "score": 0.9}])
    return store


def test_every_cache_lookup_is_reported_with_its_kind_and_outcome():
    seen = []
    lists = ListReader(_counting_store(), on_lookup=lambda kind, hits, misses: seen.append((kind, hits, misses)))
    for _ in range(2):
        candidates(lists.user(5, 100), lists, 5)
    assert seen.count(("candidates", 0, 1)) == 1 and seen.count(("candidates", 1, 0)) == 1
    assert ("popular", 0, 1) in seen and ("popular", 1, 0) in seen


def test_lists_are_read_once_per_version_and_a_flip_reads_the_new_one():
    store, now = _counting_store(), [0.0]
    lists = ListReader(store, pointer_ttl_s=1.0, clock=lambda: now[0])
    for _ in range(3):
        context = lists.user(5, 100)
        assert candidates(context, lists, 5)[0]["anime_id"] == 10
        assert lists.neighbours([60], 50)[60] == {"cowatch": [(14, 0.9)]}
    assert store.reads == {"read_user_lists": 1, "similar": 1, "popular": 1}
    assert lists.stats["candidates"].hits == 2 and lists.hit_rates()["similar"] == 2 / 3

    store.write_candidates(8, [{"user_id": 5, "source": "als", "rank": 1, "anime_id": 11, "score": 1.0}])
    store.publish_version("candidates:als", 8, 0)
    assert lists.user(5, 100).lists == {"als": [10]}        # the pointer is re-read after the ttl only
    now[0] = 2.0
    assert lists.user(5, 100).lists == {"als": [11]}
    assert store.reads["read_user_lists"] == 2
    assert not any(key[:2] == ("candidates:als", 7) for key in lists._cache)   # the old version's lists dropped


def test_a_deeper_read_than_the_cached_one_goes_to_the_store():
    store = _counting_store()
    store.write_candidates(7, [{"user_id": 6, "source": "als", "rank": r, "anime_id": 100 + r, "score": 1.0}
                               for r in range(1, 11)])
    lists = ListReader(store)
    assert lists.user(6, 5).lists["als"] == [101, 102, 103, 104, 105]
    assert lists.user(6, 3).lists["als"][:3] == [101, 102, 103]          # served from the 5-deep entry
    assert lists.user(6, 20).lists["als"] == list(range(101, 111))      # deeper: read again
    assert lists.user(6, 50).lists["als"] == list(range(101, 111))      # the whole list is cached now
    assert store.reads["read_user_lists"] == 2


def test_the_context_holds_the_users_reads_and_recent_titles_once_each():
    store = filled_store(ratings={5: [(1, 9)]}, events={5: [60, 61, 60]})
    context = ListReader(store).user(5, 10)
    assert context.ratings == [{"anime_id": 1, "rating": 9}] and context.recent_titles == [60, 61]


def _merge_reference(lists, k, exclude, weights):
    """The fusion written out item by item: what merge_candidates computes."""
    fused, best, ranks = {}, {}, {}
    for source, items in lists.items():
        rank = 0
        for anime_id in items:
            if anime_id in exclude:
                continue
            rank += 1
            term = weights.get(source, 1.0) / (60 + rank)
            fused[anime_id] = fused.get(anime_id, 0.0) + term
            ranks.setdefault(anime_id, {})[source] = rank
            if term > best.get(anime_id, (0.0, ""))[0]:
                best[anime_id] = (term, source)
    top = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
    return [{"anime_id": a, "score": s, "source": best[a][1], "ranks": ranks[a]} for a, s in top]


def test_merge_candidates_matches_the_item_by_item_fusion():
    rng = np.random.default_rng(4)
    weights = {"als": 1.0, "ease": 1.2, "popular": 0.1, "recent": 1.2, "tie": 1.0}
    for _ in range(30):
        lists = {s: [int(a) for a in rng.permutation(400)[:rng.integers(0, 300)]] for s in weights}
        exclude = {int(a) for a in rng.integers(0, 400, 40)}
        k = int(rng.integers(1, 400))
        out, expected = merge_candidates(lists, k, exclude, weights), _merge_reference(lists, k, exclude, weights)
        assert [c["anime_id"] for c in out] == [c["anime_id"] for c in expected]
        assert [c["source"] for c in out] == [c["source"] for c in expected]
        assert [c["ranks"] for c in out] == [c["ranks"] for c in expected]
        np.testing.assert_allclose([c["score"] for c in out], [c["score"] for c in expected], rtol=1e-12)


def test_with_a_per_source_depth_the_merge_is_the_union_of_each_sources_unseen_top():
    lists = {"a": [1, 2, 3, 4, 5], "b": [9, 2, 8, 7]}
    out = merge_candidates(lists, 100, exclude={1}, weights={"a": 1.0, "b": 1.0}, depth=2)
    assert {c["anime_id"] for c in out} == {2, 3, 9}             # a: 2, 3 (1 is seen), b: 9, 2
    assert [c["ranks"] for c in out if c["anime_id"] == 2] == [{"a": 1, "b": 2}]
    assert merge_candidates(lists, 3, depth=2) == merge_candidates(lists, 100, depth=2)[:3]


def test_candidates_carry_each_batch_lists_raw_score_read_and_cached_with_the_list():
    store = _counting_store()
    store.write_candidates(7, [{"user_id": 6, "source": "als", "rank": r, "anime_id": 100 + r, "score": 10.0 - r}
                               for r in range(1, 6)])
    lists = ListReader(store)
    for _ in range(2):
        context = lists.user(6, 10)
        assert context.scores == {"als": [9.0, 8.0, 7.0, 6.0, 5.0]}
        out = {c["anime_id"]: c for c in candidates(context, lists, 5)}
        assert out[103]["scores"] == {"als": 7.0} and out[103]["ranks"]["als"] == 3
    assert store.reads["read_user_lists"] == 1

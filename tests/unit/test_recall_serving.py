"""The serving side of recall against an in-memory store (no Cassandra)."""
from recall import candidates_for_user, similar_titles
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
    assert all(set(c) == {"anime_id", "score", "source", "ranks"} for c in out)
    assert [c["ranks"] for c in out] == [{"popular": r} for r in range(1, 6)]


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

"""The serving side of recall against an in-memory store (no Cassandra)."""
from recall import candidates_for_user, similar_titles
from recall.merge import merge_candidates, merge_signals, neighbours_of_seeds


class FakeStore:
    def __init__(self, pointers=None, ratings=None, events=None, candidates=None, similar=None, popular=()):
        self.pointers = pointers or {}
        self.ratings = ratings or {}
        self.events = events or {}
        self.candidates = candidates or {}    # (version, user, source) -> [anime ids]
        self.similar = similar or {}          # (version, anime, signal) -> [(id, score)]
        self._popular = list(popular)

    def list_versions(self):
        return dict(self.pointers)

    def user_ratings(self, user_id):
        return [{"anime_id": a, "rating": r} for a, r in self.ratings.get(user_id, [])]

    def recent_events(self, user_id, limit=50):
        return [{"anime_id": a, "kind": "click", "event_id": str(i), "ts": None}
                for i, a in enumerate(self.events.get(user_id, []))][:limit]

    def user_candidates_at(self, version, user_id, source, limit=1000):
        ids = self.candidates.get((version, user_id, source), [])
        return [{"rank": i + 1, "anime_id": a, "score": 1.0 / (i + 1)} for i, a in enumerate(ids)][:limit]

    def similar_at(self, version, anime_id, signal, limit=1000):
        rows = self.similar.get((version, anime_id, signal), [])
        return [{"rank": i + 1, "similar_id": a, "score": s} for i, (a, s) in enumerate(rows)][:limit]

    def popular(self, segment="all", limit=100):
        if "popular" not in self.pointers:
            return []
        return [{"rank": i + 1, "anime_id": a, "score": 1.0} for i, a in enumerate(self._popular)][:limit]


POP = [1, 2, 3, 4, 5, 6, 7, 8]


def test_new_user_gets_popular_titles():
    store = FakeStore(pointers={"popular": 1}, popular=POP)
    out = candidates_for_user(store, 42, 5)
    assert [c["anime_id"] for c in out] == [1, 2, 3, 4, 5]
    assert {c["source"] for c in out} == {"popular"}
    assert all(set(c) == {"anime_id", "score", "source", "ranks"} for c in out)
    assert [c["ranks"] for c in out] == [{"popular": r} for r in range(1, 6)]


def test_no_lists_at_all_is_an_empty_answer():
    assert candidates_for_user(FakeStore(), 1, 10) == []
    assert candidates_for_user(FakeStore(pointers={"popular": 1}, popular=POP), 1, 0) == []


def test_known_user_merges_sources_without_duplicates_or_seen_titles():
    store = FakeStore(
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
    store = FakeStore(pointers={"similar:content": 3}, ratings={8: [(100, 10), (101, 2)]},
                      similar={(3, 100, "content"): [(200, 0.8), (101, 0.7)]})
    out = candidates_for_user(store, 8, 5)
    assert [c["anime_id"] for c in out] == [200]
    assert out[0]["source"] == "recent"


def test_similar_titles_fuse_signals_and_new_titles_get_content_neighbours():
    store = FakeStore(pointers={"similar:cowatch": 1, "similar:content": 2},
                      similar={(1, 5114, "cowatch"): [(121, 0.6), (9253, 0.5)],
                               (2, 5114, "content"): [(121, 0.7), (430, 0.4), (5114, 0.99)],
                               (2, 99999, "content"): [(5114, 0.3)]})
    out = similar_titles(store, 5114, 10)
    assert out[0] == {"anime_id": 121, "score": 0.6 + 0.7 * 0.7, "signals": ["cowatch", "content"]}
    assert 5114 not in [o["anime_id"] for o in out]
    assert similar_titles(store, 5114, 1) == out[:1]
    assert similar_titles(store, 99999, 5) == [{"anime_id": 5114, "score": 0.7 * 0.3, "signals": ["content"]}]
    assert similar_titles(FakeStore(), 1, 5) == []


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

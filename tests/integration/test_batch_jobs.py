"""Every batch job on the real sample data in a scratch keyspace, and recall served from it.

Runs on the session's real Cassandra (tests/integration/conftest.py). Loads the shared
catalog, synopses and ratings with ingest's loaders into ``batch_it`` (dropped afterwards),
runs popularity, als, itemitem and content, and checks the lists and the atomic swap.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

pytestmark = pytest.mark.integration

KEYSPACE = "batch_it"
K = 100


@pytest.fixture(scope="module")
def env(settings):
    """A scratch keyspace on the session's real Cassandra, the shared sample loaded."""
    from batch.runner import Context
    from ingest.catalog import load_many
    from store import open_store

    settings = settings.model_copy(update={
        "cassandra": settings.cassandra.model_copy(update={"keyspace": KEYSPACE}),
        "batch": settings.batch.model_copy(update={"candidates_per_source": K, "similar_per_item": 30,
                                                   "als_iterations": 6, "als_rank": 32})})
    store = open_store(settings, retries=10, migrate=True)
    store.drop_keyspace()             # leftovers of an interrupted run
    store.migrate()
    load_many(store, {"anime": settings.anime_csv, "synopsis": settings.synopsis_csv, "ratings": settings.ratings_csv})
    # a trending title: lots of fresh clicks on something nobody in the sample watches much
    now_ms = int(time.time() * 1000)
    store.write_title_features(TRENDING, {"clicks_24h": 4000, "views_24h": 1000, "window_at_24h": now_ms - 3_600_000})
    ctx = Context(settings)
    yield settings, store, ctx
    ctx.close()
    store.drop_keyspace()
    store.close()


TRENDING = 30                   # Neon Genesis Evangelion: popular enough to rate, far from the top on watches


def _run(ctx, job):
    from batch.runner import run_job
    result = run_job(ctx, job)
    assert result.ok, result.error
    return result


def test_popularity_lists_and_atomic_swap(env):
    settings, store, ctx = env
    first = _run(ctx, "popularity")
    v1 = store.current_version("popular")
    top = store.popular("all", limit=1000)
    assert len(top) == settings.batch.popular_list_size
    ids = [r["anime_id"] for r in top]
    assert len(ids) == len(set(ids)) and [r["rank"] for r in top] == list(range(1, len(top) + 1))
    assert TRENDING in ids[:5]                                      # fresh events surface it
    assert len(store.popular("genre:Action", limit=1000)) == settings.batch.popular_list_size
    assert first.details["segments"] > 30

    # A reader polling while the second build runs sees the whole first list or the whole
    # second one, never a partial or mixed list; then the pointer has flipped.
    import threading
    from store import open_store
    reader, seen, done = open_store(settings), [], threading.Event()

    def poll():
        while not done.is_set():
            rows = reader.popular("all", limit=1000)
            seen.append((len(rows), len({r["rank"] for r in rows})))
            done.wait(0.05)
    thread = threading.Thread(target=poll)
    thread.start()
    try:
        _run(ctx, "popularity")
    finally:
        done.set()
        thread.join()
        reader.close()
    v2 = store.current_version("popular")
    assert seen and all(n == ranks == settings.batch.popular_list_size for n, ranks in seen)
    assert v2 > v1 and store.stored_versions("popular") == {v1, v2}     # previous one kept
    _run(ctx, "popularity")
    v3 = store.current_version("popular")
    assert store.stored_versions("popular") == {v2, v3}                  # the oldest dropped


@pytest.fixture(scope="module")
def built(env):
    settings, store, ctx = env
    for job in ("als", "ease_scored", "itemitem", "content"):
        _run(ctx, job)
    if store.current_version("popular") is None:
        _run(ctx, "popularity")
    return env


def _sample_users(store, n=40):
    users = sorted({user for user, _, _ in store.all_ratings()})
    return users[::max(1, len(users) // n)][:n]


def test_user_candidate_lists(built):
    settings, store, ctx = built
    pointers = store.list_versions()
    for user in _sample_users(store):
        rated = {r["anime_id"] for r in store.user_ratings(user)}
        for source in ("als", "ease_scored", "itemitem", "content"):
            rows = store.user_candidates_at(pointers[f"candidates:{source}"], user, source, 1000)
            ids = [r["anime_id"] for r in rows]
            assert 0 < len(ids) <= K, (user, source)
            assert len(ids) == len(set(ids)), (user, source)
            assert not rated & set(ids), (user, source)
            assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
            assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
        assert len(store.user_candidates_at(pointers["candidates:als"], user, "als", 1000)) == K


def test_candidates_for_user_merges_and_excludes_seen(built):
    from recall import candidates_for_user
    settings, store, ctx = built
    for user in _sample_users(store, 15):
        out = candidates_for_user(store, user, 200)
        ids = [c["anime_id"] for c in out]
        assert len(ids) == 200 and len(set(ids)) == 200
        assert not {r["anime_id"] for r in store.user_ratings(user)} & set(ids)
        assert {c["source"] for c in out} <= {"als", "ease", "ease_scored", "itemitem", "content", "recent", "popular"}
    # a user nobody has seen: popularity
    out = candidates_for_user(store, 987_654_321, 20)
    assert [c["anime_id"] for c in out] == [r["anime_id"] for r in store.popular("all", 20)]
    # a click is excluded at once and its neighbours join the list
    user = _sample_users(store, 1)[0]
    clicked = next(c["anime_id"] for c in candidates_for_user(store, user, 5))
    store.write_event({"event_id": f"it-{time.time()}", "kind": "click", "user_id": user, "anime_id": clicked,
                       "timestamp": int(datetime.now(timezone.utc).timestamp() * 1000)})
    after = candidates_for_user(store, user, 200)
    assert clicked not in {c["anime_id"] for c in after}
    assert "recent" in {c["source"] for c in after}


def test_similar_titles_of_fmab_and_of_a_title_nobody_watched(built):
    from recall import similar_titles
    settings, store, ctx = built
    names = {r["anime_id"]: r["name"] for r in store.all_anime()}
    sims = similar_titles(store, 5114, 10)
    print("\nneighbours of 5114 (Fullmetal Alchemist: Brotherhood):")
    for s in sims:
        print(f"  {s['anime_id']:>6}  {s['score']:.3f}  {'+'.join(s['signals']):<16} {names.get(s['anime_id'])}")
    ids = [s["anime_id"] for s in sims]
    assert len(ids) == 10 and len(set(ids)) == 10 and 5114 not in ids
    assert 121 in ids[:3]                                           # Fullmetal Alchemist (2003)
    assert any("cowatch" in s["signals"] and "content" in s["signals"] for s in sims)
    rated_titles = {anime_id for _, anime_id, _ in store.all_ratings()}
    cold = next(a for a in sorted(names) if a not in rated_titles)
    cold_sims = similar_titles(store, cold, 5)
    assert len(cold_sims) == 5 and all(s["signals"] == ["content"] for s in cold_sims)


def test_rebuild_swaps_candidates_and_drops_stale_versions(built):
    settings, store, ctx = built
    before = store.list_versions()
    _run(ctx, "itemitem")
    after = store.list_versions()
    assert after["candidates:itemitem"] > before["candidates:itemitem"]
    assert after["candidates:itemitem@previous"] == before["candidates:itemitem"]
    assert after["candidates:als"] == before["candidates:als"]       # other sources untouched
    live = {v for name, v in after.items() if name.startswith("candidates")}
    assert store.stored_versions("candidates") <= live

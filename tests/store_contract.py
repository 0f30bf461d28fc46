"""The contract every store backend keeps, as one suite run against each of them.

A backend's test module subclasses :class:`StoreContract` (pytest collects the subclass, named
``Test...``) and provides a ``store`` fixture: an empty, migrated store of that backend for each
test. ``tests/unit/test_store_memory.py`` runs it on :class:`store.MemoryStore`,
``tests/integration/test_store_cassandra.py`` on Cassandra.
"""
from __future__ import annotations

import threading
import uuid
from datetime import datetime, timezone

import numpy as np
import pytest

from config.registry import ACCOUNT_USER_IDS
from store.interfaces import LOAD_RUN_COLUMNS, TRAINING_RUN_FIELDS

T0 = 1_700_000_000_000          # an event time, ms since the epoch (2023-11-14T22:13:20Z)


def _anime(anime_id: int, name: str, **extra) -> dict:
    row = {"anime_id": anime_id, "name": name, "genres": ["Action", "Drama"], "type": "TV", "episodes": 12,
           "rating": 8.5, "members": 1000}
    return {**row, **extra}


def _event(event_id: str, user_id: int, anime_id: int, ts_ms: int, kind: str = "click", rating=None) -> dict:
    return {"event_id": event_id, "kind": kind, "user_id": user_id, "anime_id": anime_id, "timestamp": ts_ms,
            "rating": rating}


def _load_run(dataset: str, status: str = "running", **extra) -> dict:
    return {"dataset": dataset, "run_id": uuid.uuid1(), "file_name": f"/data/{dataset}.csv", "sha256": "ab" * 32,
            "status": status, "started_at": datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=timezone.utc), **extra}


def _ms(dt: datetime) -> datetime:
    return dt.replace(microsecond=dt.microsecond // 1000 * 1000)


class StoreContract:
    """Behaviour of every interface method, on an empty store (fixture ``store``)."""

    # --- CatalogStore -------------------------------------------------------------------------
    def test_upserted_anime_is_read_back_with_every_column(self, store):
        assert store.upsert_anime([_anime(1, "Cowboy Bebop"), _anime(2, "Trigun", genres=None, episodes=None)]) == 2
        assert store.get_anime(1) == {**_anime(1, "Cowboy Bebop"), "synopsis": None}
        second = store.get_anime(2)
        assert second["genres"] is None and second["episodes"] is None and second["name"] == "Trigun"

    def test_upsert_anime_overwrites_a_title_and_keeps_its_synopsis(self, store):
        store.upsert_anime([_anime(1, "Old name", members=5)])
        store.set_synopses([(1, "Bounty hunters in space.")])
        store.upsert_anime([_anime(1, "New name", members=7, type=None)])
        row = store.get_anime(1)
        assert (row["name"], row["members"], row["type"]) == ("New name", 7, None)
        assert row["synopsis"] == "Bounty hunters in space."

    def test_get_anime_of_an_unknown_title_is_none(self, store):
        store.upsert_anime([_anime(1, "A")])
        assert store.get_anime(2) is None

    def test_set_synopses_sets_the_text_of_each_title(self, store):
        store.upsert_anime([_anime(1, "A"), _anime(2, "B"), _anime(3, "C")])
        assert store.set_synopses([(1, "first"), (2, "second")]) == 2
        assert [store.get_anime(a)["synopsis"] for a in (1, 2, 3)] == ["first", "second", None]

    def test_all_anime_lists_every_title_with_synopsis_only_when_asked(self, store):
        store.upsert_anime([_anime(a, f"T{a}") for a in (3, 1, 2)])
        store.set_synopses([(2, "two")])
        plain = sorted(store.all_anime(), key=lambda r: r["anime_id"])
        assert [r["anime_id"] for r in plain] == [1, 2, 3]
        assert set(plain[0]) == {"anime_id", "name", "genres", "type", "episodes", "rating", "members"}
        full = {r["anime_id"]: r for r in store.all_anime(with_synopsis=True)}
        assert full[2]["synopsis"] == "two" and full[1]["synopsis"] is None

    def test_anime_ids_are_the_catalog_ids(self, store):
        assert store.anime_ids() == set()
        store.upsert_anime([_anime(a, f"T{a}") for a in (5, 7, 9)])
        assert store.anime_ids() == {5, 7, 9}

    def test_rating_stats_are_read_back_and_overwritten_and_none_when_missing(self, store):
        store.set_rating_stats([{"anime_id": 1, "ratings": 10, "scored": 8, "mean_score": 7.5}])
        store.set_rating_stats([{"anime_id": 1, "ratings": 11, "scored": 9, "mean_score": 8.0}])
        assert store.anime_rating_stats(1) == {"ratings": 11, "scored": 9, "mean_score": 8.0}
        assert store.anime_rating_stats(2) is None

    # --- RatingStore --------------------------------------------------------------------------
    def test_upsert_ratings_overwrites_the_previous_rating(self, store):
        store.upsert_ratings([(1, 10, 5), (1, 11, -1)])
        store.upsert_ratings([(1, 10, 9)])
        assert store.user_ratings(1) == [{"anime_id": 10, "rating": 9}, {"anime_id": 11, "rating": -1}]

    def test_user_ratings_are_ordered_by_anime_id(self, store):
        store.upsert_ratings([(1, a, 5) for a in (30, 10, 20)])
        assert [r["anime_id"] for r in store.user_ratings(1)] == [10, 20, 30]

    def test_upsert_ratings_batched_keeps_the_last_row_per_key_and_counts_distinct_rows(self, store):
        rows = [(7, a, 1) for a in range(250)] + [(7, 3, 9), (8, 1, 4), (8, 1, 6)]
        stamp = datetime(2024, 1, 1, tzinfo=timezone.utc)
        assert store.upsert_ratings_batched(rows, updated_at=stamp) == 251
        ratings = {r["anime_id"]: r["rating"] for r in store.user_ratings(7)}
        assert len(ratings) == 250 and ratings[3] == 9 and ratings[4] == 1
        assert store.user_ratings(8) == [{"anime_id": 1, "rating": 6}]

    def test_a_later_batched_call_wins_over_an_earlier_one(self, store):
        store.upsert_ratings_batched([(1, 1, 3)])
        store.upsert_ratings_batched([(1, 1, 4)])
        assert store.user_ratings(1) == [{"anime_id": 1, "rating": 4}]

    def test_delete_rating_removes_only_that_rating(self, store):
        store.upsert_ratings([(1, 10, 5), (1, 11, 6), (2, 10, 7)])
        store.delete_rating(1, 10)
        store.delete_rating(3, 99)                      # nothing there: no error
        assert store.user_ratings(1) == [{"anime_id": 11, "rating": 6}]
        assert store.user_ratings(2) == [{"anime_id": 10, "rating": 7}]

    def test_user_ratings_of_an_unknown_user_are_empty(self, store):
        assert store.user_ratings(12345) == []

    def test_all_ratings_lists_every_triple(self, store):
        store.upsert_ratings([(1, 10, 5), (2, 10, -1), (2, 11, 8)])
        store.delete_rating(2, 11)
        assert sorted(store.all_ratings()) == [(1, 10, 5), (2, 10, -1)]

    # --- EventStore ---------------------------------------------------------------------------
    def test_written_event_is_read_back_with_every_field(self, store):
        store.write_event(_event("e-1", 42, 5114, T0 + 123, kind="rating", rating=9))
        event = store.get_event(42, "e-1")
        assert {k: event[k] for k in ("event_id", "kind", "user_id", "anime_id", "rating")} == \
            {"event_id": "e-1", "kind": "rating", "user_id": 42, "anime_id": 5114, "rating": 9}
        assert event["ts"] == datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=timezone.utc)
        assert event["ts"].tzinfo is not None and event["written_at"].tzinfo is not None
        assert abs((datetime.now(timezone.utc) - event["written_at"]).total_seconds()) < 60

    def test_get_event_of_an_unknown_id_is_none(self, store):
        store.write_event(_event("e-1", 42, 5114, T0))
        assert store.get_event(42, "nope") is None

    def test_get_event_is_scoped_to_its_user(self, store):
        store.write_event(_event("e-1", 42, 5114, T0))
        assert store.get_event(43, "e-1") is None and store.get_event(42, "e-1")["user_id"] == 42

    def test_writing_an_event_again_leaves_one_event(self, store):
        event = _event("e-1", 42, 1, T0)
        store.write_event(event)
        store.write_event(event)
        assert [e["event_id"] for e in store.recent_events(42)] == ["e-1"]

    def test_recent_events_are_newest_first_and_limited(self, store):
        for i, ts in enumerate([T0 + 2000, T0, T0 + 1000, T0 + 3000]):
            store.write_event(_event(f"e-{i}", 42, 100 + i, ts, kind="view" if i % 2 else "click"))
        store.write_event(_event("other-user", 43, 1, T0 + 9000))
        events = store.recent_events(42)
        assert [e["event_id"] for e in events] == ["e-3", "e-0", "e-2", "e-1"]
        assert set(events[0]) == {"ts", "event_id", "kind", "anime_id"}
        assert (events[0]["anime_id"], events[0]["kind"]) == (103, "view")
        assert [e["ts"] for e in events] == sorted((e["ts"] for e in events), reverse=True)
        assert [e["event_id"] for e in store.recent_events(42, limit=2)] == ["e-3", "e-0"]
        assert store.recent_events(44) == []

    def test_recent_events_at_the_same_time_are_ordered_by_event_id(self, store):
        for event_id in ("b", "c", "a"):
            store.write_event(_event(event_id, 42, 1, T0))
        assert [e["event_id"] for e in store.recent_events(42)] == ["a", "b", "c"]

    # --- FeatureStore -------------------------------------------------------------------------
    def test_title_features_are_overwritten_column_by_column(self, store):
        store.write_title_features(1, {"clicks": 5, "views": 2, "ctr": 0.5, "last_event_at": T0})
        store.write_title_features(1, {"clicks_1h": 3, "views_1h": 1, "window_at_1h": T0 + 1000})
        store.write_title_features(1, {"clicks": 6})
        row = store.title_features([1])[1]
        assert (row["clicks"], row["views"], row["ctr"], row["last_event_at"]) == (6, 2, 0.5, T0)
        assert (row["clicks_1h"], row["views_1h"], row["window_at_1h"]) == (3, 1, T0 + 1000)
        assert row["clicks_24h"] is None and row["window_at_24h"] is None

    def test_title_features_only_for_titles_that_have_them(self, store):
        store.write_title_features(1, {"clicks": 5})
        store.write_title_features(2, {"views": 4})
        assert set(store.title_features([1, 2, 3])) == {1, 2}
        assert store.title_features([3]) == {} and store.title_features([]) == {}
        assert {a: r["views"] for a, r in store.all_title_features().items()} == {1: None, 2: 4}

    def test_user_features_round_trip_with_genre_affinity(self, store):
        assert store.user_features(9) is None
        store.write_user_features(9, {"events": 3, "clicks": 1, "last_event_at": T0,
                                      "genre_affinity": {"Action": 1.5, "Drama": 0.25}})
        store.write_user_features(9, {"events_30m": 2, "session_at": T0})
        row = store.user_features(9)
        assert (row["events"], row["clicks"], row["events_30m"], row["last_event_at"]) == (3, 1, 2, T0)
        assert row["genre_affinity"] == {"Action": 1.5, "Drama": 0.25}

    def test_genre_activity_of_the_asked_days_only_with_events_summed(self, store):
        store.write_genre_activity(20_000, "Drama", {"clicks": 3, "views": 2})
        store.write_genre_activity(20_000, "Action", {"ratings": 1})
        store.write_genre_activity(20_001, "Drama", {"clicks": 1, "views": 0, "ratings": 0})
        store.write_genre_activity(19_000, "Drama", {"clicks": 9})
        store.write_genre_activity(20_000, "Drama", {"clicks": 4})          # the stream's newer total wins
        assert store.genre_activity([20_001, 20_000, 20_005]) == [
            {"day": 20_000, "genre": "Action", "clicks": 0, "views": 0, "ratings": 1, "events": 1},
            {"day": 20_000, "genre": "Drama", "clicks": 4, "views": 2, "ratings": 0, "events": 6},
            {"day": 20_001, "genre": "Drama", "clicks": 1, "views": 0, "ratings": 0, "events": 1}]
        assert store.genre_activity([]) == []
        with pytest.raises(ValueError, match="impressions"):
            store.write_genre_activity(20_000, "Drama", {"impressions": 1})

    def test_a_conversation_keeps_its_last_turn_only(self, store):
        assert store.last_turn("c-1") is None
        store.save_turn("c-1", 7, {"genres": ["Comedy"], "titles": [1535]})
        store.save_turn("c-1", 7, {"genres": ["Sports"], "max_episodes": 12})
        store.save_turn("c-2", 8, {"genres": []})
        last = store.last_turn("c-1")
        assert (last["user_id"], last["turn"]) == (7, {"genres": ["Sports"], "max_episodes": 12})
        assert last["updated_at"].tzinfo is not None

    def test_embeddings_are_kept_per_model_version_and_field_and_replaced_per_title(self, store):
        assert len(store.embeddings("m@1", "name")) == 0
        a, b = np.array([0.6, 0.8], dtype=np.float32), np.array([1.0, 0.0], dtype=np.float32)
        assert store.write_embeddings("m@1", "name", [(5114, "h1", a), (1535, "h2", b)]) == 2
        store.write_embeddings("m@1", "synopsis", [(5114, "s1", b)])
        store.write_embeddings("m@2", "name", [(5114, "x", b)])
        store.write_embeddings("m@1", "name", [(1535, "h3", a)])      # a changed text: the vector is replaced
        got = store.embeddings("m@1", "name")
        by_id = {int(i): (h, v) for i, h, v in zip(got.anime_ids, got.text_hashes, got.vectors)}
        assert set(by_id) == {5114, 1535} and got.vectors.dtype == np.float32
        assert by_id[5114][0] == "h1" and np.allclose(by_id[5114][1], a)
        assert by_id[1535][0] == "h3" and np.allclose(by_id[1535][1], a)
        assert len(store.embeddings("m@2", "name")) == 1 and len(store.embeddings("m@1", "synopsis")) == 1

    def test_an_experiment_is_created_running_listed_and_stopped(self, store):
        spec = {"name": "ranker vs recall order", "variants": [{"name": "a", "share": 0.5}, {"name": "b", "share": 0.5}]}
        made = store.create_experiment("exp-1", "ranker vs recall order", "recommends", spec)
        assert (made["state"], made["spec"], made["stopped_at"]) == ("running", spec, None)
        store.create_experiment("exp-2", "second", "recommends", spec)
        assert [e["experiment_id"] for e in store.experiments()][:2] == ["exp-2", "exp-1"]
        assert store.stop_experiment("exp-1") and not store.stop_experiment("nope")
        stopped = store.experiment("exp-1")
        assert stopped["state"] == "stopped" and stopped["stopped_at"] is not None
        assert store.experiment("nope") is None

    def test_experiment_metrics_are_set_per_variant_and_bucket(self, store):
        store.write_experiment_metrics("exp-9", "a", 480_000, {"impressions": 10, "clicks": 3, "rr_sum": 1.5})
        store.write_experiment_metrics("exp-9", "a", 480_000, {"clicks": 4})
        store.write_experiment_metrics("exp-9", "b", -1, {"titles_shown": 7})
        rows = {(r["variant"], r["bucket"]): r for r in store.experiment_metrics("exp-9")}
        assert set(rows) == {("a", 480_000), ("b", -1)}
        assert (rows["a", 480_000]["impressions"], rows["a", 480_000]["clicks"], rows["a", 480_000]["rr_sum"]) == (10, 4, 1.5)
        assert rows["b", -1]["titles_shown"] == 7 and store.experiment_metrics("exp-0") == []
        with pytest.raises(ValueError, match="nope"):
            store.write_experiment_metrics("exp-9", "a", 1, {"nope": 1})

    def test_unknown_feature_columns_are_refused(self, store):
        with pytest.raises(ValueError, match="nope"):
            store.write_title_features(1, {"nope": 1})

    # --- ListStore ----------------------------------------------------------------------------
    def test_publish_version_moves_the_pointer(self, store):
        assert store.current_version("popular") is None and store.list_versions() == {}
        store.publish_version("popular", 1, 10)
        store.publish_version("candidates:als", 5, 100)
        store.publish_version("popular", 2, 12)
        assert store.current_version("popular") == 2
        assert store.list_versions() == {"popular": 2, "candidates:als": 5}

    def test_popular_follows_the_published_version_only(self, store):
        store.write_popular(1, [{"segment": "all", "rank": 1, "anime_id": 10, "score": 1.0}])
        store.write_popular(2, [{"segment": "all", "rank": 1, "anime_id": 20, "score": 2.0}])
        assert store.popular() == []                                    # nothing published yet
        store.publish_version("popular", 1, 1)
        assert [r["anime_id"] for r in store.popular()] == [10]
        store.publish_version("popular", 2, 1)
        assert store.popular() == [{"rank": 1, "anime_id": 20, "score": 2.0}]

    def test_popular_at_reads_one_segment_in_rank_order_with_a_limit(self, store):
        rows = [{"segment": "all", "rank": r, "anime_id": 100 + r, "score": 1.0 / r} for r in (3, 1, 2, 4)]
        rows += [{"segment": "genre:Drama", "rank": 1, "anime_id": 7, "score": 0.5}]
        assert store.write_popular(1, rows) == 5
        assert [r["rank"] for r in store.popular_at(1, "all", limit=3)] == [1, 2, 3]
        assert store.popular_at(1, "genre:Drama") == [{"rank": 1, "anime_id": 7, "score": 0.5}]
        assert store.popular_at(1, "genre:None") == [] and store.popular_at(2, "all") == []

    def test_writing_a_rank_again_overwrites_its_row(self, store):
        store.write_popular(1, [{"segment": "all", "rank": 1, "anime_id": 10, "score": 1.0}])
        store.write_popular(1, [{"segment": "all", "rank": 1, "anime_id": 11, "score": 0.9}])
        assert store.popular_at(1, "all") == [{"rank": 1, "anime_id": 11, "score": 0.9}]

    def test_user_candidates_are_per_version_user_and_source_in_rank_order(self, store):
        rows = [{"user_id": 1, "source": "als", "rank": r, "anime_id": 10 + r, "score": 1.0 - r / 10}
                for r in (2, 1, 3)]
        rows += [{"user_id": 1, "source": "ease", "rank": 1, "anime_id": 99, "score": 0.1},
                 {"user_id": 2, "source": "als", "rank": 1, "anime_id": 98, "score": 0.2}]
        store.write_candidates(5, rows)
        store.write_candidates(6, [{"user_id": 1, "source": "als", "rank": 1, "anime_id": 50, "score": 0.3}])
        assert store.user_candidates_at(5, 1, "als") == [{"rank": 1, "anime_id": 11, "score": 0.9},
                                                         {"rank": 2, "anime_id": 12, "score": 0.8},
                                                         {"rank": 3, "anime_id": 13, "score": 0.7}]
        assert [r["anime_id"] for r in store.user_candidates_at(5, 1, "als", limit=2)] == [11, 12]
        assert [r["anime_id"] for r in store.user_candidates_at(5, 1, "ease")] == [99]
        assert [r["anime_id"] for r in store.user_candidates_at(6, 1, "als")] == [50]
        assert store.user_candidates_at(5, 3, "als") == [] and store.user_candidates_at(7, 1, "als") == []

    def test_similar_items_are_per_version_title_and_signal_in_rank_order(self, store):
        rows = [{"anime_id": 1, "signal": "cowatch", "rank": r, "similar_id": 20 + r, "score": 1.0 / r}
                for r in (2, 1)]
        rows += [{"anime_id": 1, "signal": "content", "rank": 1, "similar_id": 30, "score": 0.4}]
        store.write_similar(3, rows)
        assert store.similar_at(3, 1, "cowatch") == [{"rank": 1, "similar_id": 21, "score": 1.0},
                                                     {"rank": 2, "similar_id": 22, "score": 0.5}]
        assert [r["similar_id"] for r in store.similar_at(3, 1, "cowatch", limit=1)] == [21]
        assert [r["similar_id"] for r in store.similar_at(3, 1, "content")] == [30]
        assert store.similar_at(4, 1, "cowatch") == [] and store.similar_at(3, 2, "cowatch") == []

    # --- ServingReads ------------------------------------------------------------------------
    def test_read_user_gives_what_the_single_reads_give(self, store):
        store.upsert_ratings([(1, 10, 8), (1, 11, -1), (2, 12, 5)])
        store.write_event(_event("a", 1, 20, T0))
        store.write_event(_event("b", 1, 21, T0 + 1000))
        store.write_user_features(1, {"events": 2, "clicks": 2, "last_event_at": T0 + 1000,
                                      "genre_affinity": {"Action": 1.0}})
        store.write_candidates(5, [{"user_id": 1, "source": "als", "rank": r, "anime_id": 30 + r, "score": 1.0 / r}
                                   for r in (1, 2, 3)])
        reads = store.read_user(1, {"als": 5, "ease": 5, "itemitem": 9}, limit=2)
        assert reads.ratings == store.user_ratings(1)
        assert reads.features == store.user_features(1) and reads.features["events"] == 2
        assert reads.recent == store.recent_events(1) and [e["anime_id"] for e in reads.recent] == [21, 20]
        assert reads.candidates == {"als": store.user_candidates_at(5, 1, "als", 2)}   # sources without rows left out
        stranger = store.read_user(99, {"als": 5})
        assert (stranger.ratings, stranger.features, stranger.recent, stranger.candidates) == ([], None, [], {})

    def test_similar_many_reads_every_key_at_once(self, store):
        store.write_similar(3, [{"anime_id": a, "signal": s, "rank": r, "similar_id": 100 * a + r, "score": 1.0 / r}
                                for a in (1, 2) for s in ("cowatch", "content") for r in (1, 2)])
        keys = [(3, 1, "cowatch"), (3, 2, "content"), (3, 7, "cowatch"), (3, 1, "cowatch")]
        assert store.similar_many(keys, limit=1) == {key: store.similar_at(*key, 1) for key in keys}

    def test_drop_versions_deletes_every_unkept_version_and_counts_partitions(self, store):
        for version in (1, 2, 3):
            store.write_candidates(version, [{"user_id": u, "source": s, "rank": 1, "anime_id": 5, "score": 0.5}
                                             for u in (1, 2) for s in ("als", "ease")])
        assert store.stored_versions("candidates") == {1, 2, 3}
        assert store.drop_versions("candidates", keep={2, 3}) == 2          # version 1 of users 1 and 2
        assert store.stored_versions("candidates") == {2, 3}
        assert [r["anime_id"] for r in store.user_candidates_at(2, 1, "ease")] == [5]
        assert store.user_candidates_at(1, 1, "als") == []
        assert store.drop_versions("candidates", keep={2, 3}) == 0

    def test_drop_versions_touches_only_its_own_list(self, store):
        store.write_popular(1, [{"segment": "all", "rank": 1, "anime_id": 1, "score": 1.0}])
        store.write_similar(1, [{"anime_id": 1, "signal": "cowatch", "rank": 1, "similar_id": 2, "score": 1.0}])
        store.write_candidates(1, [{"user_id": 1, "source": "als", "rank": 1, "anime_id": 2, "score": 1.0}])
        store.drop_versions("popular", keep={9})
        assert store.stored_versions("popular") == set()
        assert store.stored_versions("similar") == {1} and store.stored_versions("candidates") == {1}

    def test_drop_versions_keeps_every_version_a_pointer_references(self, store):
        from batch.versions import cleanup
        for version in (1, 2, 3, 4):
            store.write_similar(version, [{"anime_id": 1, "signal": "cowatch", "rank": 1, "similar_id": 2,
                                           "score": 1.0}])
        store.publish_version("similar:cowatch", 3, 1)
        store.publish_version("similar:cowatch@previous", 2, 0)
        store.publish_version("similar:content@building", 4, 0)
        store.publish_version("candidates:als", 1, 1)                    # another list's pointer
        assert cleanup(store, "similar") == 1
        assert store.stored_versions("similar") == {2, 3, 4}

    # --- LoadManifest -------------------------------------------------------------------------
    def test_load_runs_are_newest_first_per_dataset_and_limited(self, store):
        runs = [_load_run("anime") for _ in range(3)]
        for run in (runs[1], runs[0], runs[2]):
            store.record_load_run(run)
        store.record_load_run(_load_run("ratings"))
        assert [r["run_id"] for r in store.load_runs("anime")] == [runs[2]["run_id"], runs[1]["run_id"],
                                                                   runs[0]["run_id"]]
        assert [r["run_id"] for r in store.load_runs("anime", limit=1)] == [runs[2]["run_id"]]
        assert len(store.load_runs("ratings")) == 1 and store.load_runs("synopsis") == []

    def test_recording_a_load_run_again_overwrites_it_and_missing_columns_are_null(self, store):
        run = _load_run("anime")
        store.record_load_run(run)
        [stored] = store.load_runs("anime")
        assert set(stored) == set(LOAD_RUN_COLUMNS)
        assert stored["status"] == "running" and stored["rows_loaded"] is None and stored["completed_at"] is None
        assert stored["started_at"] == _ms(run["started_at"])
        done = datetime(2024, 5, 1, 12, 5, tzinfo=timezone.utc)
        store.record_load_run({**run, "status": "complete", "rows_read": 10, "rows_loaded": 9, "rows_rejected": 1,
                               "rows_skipped": 0, "completed_at": done, "seconds": 1.5})
        [stored] = store.load_runs("anime")
        assert (stored["status"], stored["rows_loaded"], stored["completed_at"], stored["seconds"]) == \
            ("complete", 9, done, 1.5)
        assert stored["file_name"] == run["file_name"] and stored["sha256"] == run["sha256"]

    # --- TrainingQueue ------------------------------------------------------------------------
    def test_request_training_returns_a_queued_run_that_reads_back(self, store):
        run = store.request_training("admin", {"epochs": 2, "sources": ["als", "ease"], "nested": {"a": 1.5}})
        assert set(run) == set(TRAINING_RUN_FIELDS)
        assert run["state"] == "queued" and run["requested_by"] == "admin" and isinstance(run["run_id"], str)
        assert run["requested_at"].tzinfo is not None
        assert store.training_run(run["run_id"]) == run
        assert store.training_run(uuid.UUID(run["run_id"]))["params"] == {"epochs": 2, "sources": ["als", "ease"],
                                                                        "nested": {"a": 1.5}}

    def test_claim_takes_the_oldest_queued_run_first(self, store):
        ids = [store.request_training("admin", {"n": i})["run_id"] for i in range(3)]
        first = store.claim_training("worker-1")
        assert first["run_id"] == ids[0] and first["state"] == "running" and first["worker"] == "worker-1"
        assert first["started_at"] is not None and first["params"] == {"n": 0}
        assert [store.claim_training("w")["run_id"] for _ in range(2)] == ids[1:]
        assert store.training_run(ids[0])["state"] == "running"

    def test_claim_on_an_empty_queue_is_none(self, store):
        assert store.claim_training("w") is None
        run = store.request_training("admin", {})
        store.claim_training("w")
        assert store.claim_training("w") is None                       # the only run is running
        store.finish_training(run["run_id"], "succeeded", version="v1")
        assert store.claim_training("w") is None

    def test_concurrent_claimers_never_get_the_same_run(self, store):
        ids = {store.request_training("admin", {"n": i})["run_id"] for i in range(12)}
        claimed: list[tuple[str, str]] = []
        barrier = threading.Barrier(6)
        errors: list[BaseException] = []

        def worker(name: str) -> None:
            try:
                barrier.wait()
                while (run := store.claim_training(name)) is not None:
                    claimed.append((run["run_id"], name))
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors
        run_ids = [run_id for run_id, _ in claimed]
        assert sorted(run_ids) == sorted(ids)                           # each run claimed exactly once
        assert all(store.training_run(r)["worker"] == name for r, name in claimed)

    def test_finish_training_records_the_outcome(self, store):
        ok = store.request_training("admin", {})["run_id"]
        bad = store.request_training("admin", {})["run_id"]
        store.claim_training("w")
        store.claim_training("w")
        assert store.finish_training(ok, "succeeded", version="20240501-1", log_tail=["epoch 1", "done"]) is True
        assert store.finish_training(uuid.UUID(bad), "failed", error="OOM") is True
        done, failed = store.training_run(ok), store.training_run(bad)
        assert (done["state"], done["version"], done["error"], done["log_tail"]) == \
            ("succeeded", "20240501-1", None, ["epoch 1", "done"])
        assert done["finished_at"] >= done["started_at"] >= done["requested_at"]
        assert (failed["state"], failed["error"], failed["version"], failed["log_tail"]) == ("failed", "OOM", None, [])

    def test_a_queued_run_can_be_finished_without_being_claimed(self, store):
        run_id = store.request_training("admin", {})["run_id"]
        assert store.finish_training(run_id, "failed", error="cancelled") is True
        assert store.training_run(run_id)["state"] == "failed"
        assert store.claim_training("w") is None

    def test_a_finished_run_is_not_finished_again(self, store):
        run_id = store.request_training("admin", {})["run_id"]
        store.claim_training("w")
        store.finish_training(run_id, "succeeded", version="v1")
        assert store.finish_training(run_id, "failed", error="late watchdog") is False
        run = store.training_run(run_id)
        assert (run["state"], run["version"], run["error"]) == ("succeeded", "v1", None)

    def test_finish_training_refuses_a_state_that_is_not_an_outcome(self, store):
        run_id = store.request_training("admin", {})["run_id"]
        for state in ("running", "queued", "done"):
            with pytest.raises(ValueError):
                store.finish_training(run_id, state)
        assert store.training_run(run_id)["state"] == "queued"

    def test_finish_training_of_an_unknown_run_raises_key_error(self, store):
        with pytest.raises(KeyError):
            store.finish_training(str(uuid.uuid1()), "failed", error="x")
        with pytest.raises(KeyError):
            store.finish_training("not-a-uuid", "failed")
        assert store.training_runs() == []                                # no row was created

    def test_training_runs_are_newest_first_and_limited(self, store):
        ids = [store.request_training(f"user{i}", {})["run_id"] for i in range(4)]
        store.claim_training("w")
        assert [r["run_id"] for r in store.training_runs()] == ids[::-1]
        assert [r["run_id"] for r in store.training_runs(limit=2)] == ids[:1:-1]
        assert [r["state"] for r in store.training_runs()] == ["queued", "queued", "queued", "running"]

    def test_training_run_of_an_unknown_id_is_none(self, store):
        assert store.training_run(str(uuid.uuid1())) is None
        assert store.training_run("not-a-run") is None
        assert store.training_run(uuid.uuid4()) is None

    # --- AccountStore ---------------------------------------------------------------------------
    def _account(self, store, name="Ann", email="Ann@Example.org", **extra) -> dict:
        return {"username": name, "user_id": store.next_user_id(), "email": email, "password_hash": "h",
                "display_name": name, "favourite_genres": ["Drama"], **extra}

    def test_created_account_reads_back_by_name_and_email_in_any_case(self, store):
        assert store.create_account(self._account(store)) is None
        account = store.account("ANN")
        assert account["username"] == "ann" and account["email"] == "ann@example.org"
        assert account["user_id"] in ACCOUNT_USER_IDS and account["favourite_genres"] == ["Drama"]
        assert account["password_hash"] == "h" and account["created_at"].tzinfo is not None
        assert store.account_by_email("ANN@example.ORG") == account
        assert store.account("bob") is None and store.account_by_email("bob@example.org") is None
        assert store.account("") is None and store.account_by_email("") is None

    def test_a_taken_username_or_email_is_refused_and_stores_nothing(self, store):
        assert store.create_account(self._account(store)) is None
        assert store.create_account(self._account(store, name="ann", email="other@example.org")) == "username"
        assert store.account_by_email("other@example.org") is None
        assert store.create_account(self._account(store, name="bob", email="ann@example.org")) == "email"
        assert store.account("bob") is None
        assert store.account_by_email("ann@example.org")["username"] == "ann"

    def test_concurrent_sign_ups_with_one_name_create_one_account(self, store):
        results = []
        threads = [threading.Thread(target=lambda i=i: results.append(store.create_account(
            self._account(store, name="same", email=f"u{i}@example.org")))) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results, key=str) == [None] + ["username"] * 5

    def test_next_user_ids_are_distinct_and_in_the_account_range(self, store):
        ids = []
        threads = [threading.Thread(target=lambda: ids.append(store.next_user_id())) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(set(ids)) == 8 and all(i in ACCOUNT_USER_IDS for i in ids)

    def test_update_account_changes_profile_fields_only(self, store):
        store.create_account(self._account(store))
        updated = store.update_account("Ann", {"favourite_genres": ["Comedy", "Sports"], "display_name": "A."})
        assert updated["favourite_genres"] == ["Comedy", "Sports"] and updated["display_name"] == "A."
        assert store.account("ann") == updated and updated["updated_at"] >= updated["created_at"]
        with pytest.raises(ValueError):
            store.update_account("ann", {"user_id": 1})
        assert store.update_account("nobody", {"display_name": "x"}) is None

    def test_api_keys_read_back_list_oldest_first_and_revoke_once(self, store):
        first = store.put_api_key({"key_id": "k1", "secret_hash": "d1", "role": "admin", "name": "first"})
        store.put_api_key({"key_id": "k2", "secret_hash": "d2", "role": "producer", "name": None})
        assert store.api_key("k1") == first and first["revoked_at"] is None
        assert [k["key_id"] for k in store.api_keys()] == ["k1", "k2"]
        assert store.revoke_api_key("k2") is True and store.revoke_api_key("k2") is False
        assert store.api_key("k2")["revoked_at"] is not None
        assert store.revoke_api_key("nope") is False and store.api_key("nope") is None

    # --- Store ----------------------------------------------------------------------------------
    def test_ping_answers_true(self, store):
        assert store.ping() is True

    def test_migrate_again_keeps_the_data(self, store):
        store.upsert_anime([_anime(1, "A")])
        store.migrate()
        assert store.get_anime(1)["name"] == "A"

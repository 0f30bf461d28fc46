"""Recall sources' pure logic on tiny in-memory data (no Spark cluster, no Cassandra)."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recall.als import topk_unseen
from recall.content import content_features, content_neighbours
from batch import ease as ease_job, itemitem
from config.settings import BatchSettings
from recall.itemsim import interaction_matrix, score_users, similarity_matrix, watch_matrix
from recall.preference import strength, with_strength
from recall.topk import ranks, topk_rows


def test_topk_rows_masks_and_orders():
    scores = np.array([[0.1, 0.9, 0.5, 0.7], [1.0, -np.inf, 0.2, 0.3]])
    exclude = sp.csr_matrix(([1.0], ([0], [1])), shape=(2, 4))
    rows, cols, vals = topk_rows(scores.copy(), 2, exclude=exclude)
    assert rows.tolist() == [0, 0, 1, 1]
    assert cols.tolist() == [3, 2, 0, 3]
    rows, cols, _ = topk_rows(scores.copy(), 10, min_score=0.25)
    assert sorted(zip(rows.tolist(), cols.tolist())) == [(0, 1), (0, 2), (0, 3), (1, 0), (1, 3)]
    assert ranks(np.array([0, 0, 0, 2, 2, 5])).tolist() == [1, 2, 3, 1, 2, 1]


def test_strength_is_mean_centred_and_minus_one_is_neutral():
    s = strength([-1, 9, 7, 5, 10], [7, 7, 7, 7, 3])
    assert s[0] == 1.0 and s[2] == 1.0            # -1, and a score at the user's own mean
    assert s[1] == pytest.approx(2.0)             # 2 points above: doubled
    assert s[3] == pytest.approx(0.5)             # 2 points below: halved
    assert s[4] == 4.0                            # clipped
    df = with_strength(pd.DataFrame({"user_id": [1, 1, 2, 3], "anime_id": [1, 2, 1, 1], "rating": [10, 6, 8, -1]}))
    assert df["strength"].tolist() == pytest.approx([2.0, 0.5, 1.0, 1.0])   # user 3 never scores: neutral


class _InProcessSpark:
    """Just enough of a SparkSession for the jobs' driver code: broadcasts and task fan-out run here."""

    def __init__(self):
        self.tasks = 0
        self.sparkContext = self

    def broadcast(self, value):
        return SimpleNamespace(value=value, unpersist=lambda: None)

    def parallelize(self, tasks, n):
        self.tasks += n
        return SimpleNamespace(map=lambda fn: SimpleNamespace(collect=lambda: [fn(t) for t in tasks]))


def test_watch_matrix_is_binary_with_sorted_ids():
    users = [30, 10, 30, 20, 10, 30]
    anime = [7, 5, 7, 9, 9, 5]                       # (30, 7) twice: still one watch
    watched, user_ids, item_ids = watch_matrix(pd.Series(users), pd.Series(anime))
    assert user_ids.tolist() == [10, 20, 30] and item_ids.tolist() == [5, 7, 9]
    assert watched.dtype == np.float32 and watched.format == "csr"
    assert watched.toarray().tolist() == [[1, 0, 1], [0, 0, 1], [1, 1, 0]]


def _cowatch(pairs, k=5, shrinkage=4.0, min_common=1):
    """The item-item job's co-watch neighbours as ``{(anime_id, neighbour_id): score}``."""
    frame = pd.DataFrame(pairs, columns=["user_id", "anime_id"])
    spark = _InProcessSpark()
    opts = BatchSettings(cowatch_shrinkage=shrinkage, cowatch_min_common=min_common)
    item_ids, src, dst, score = itemitem.cowatch(spark, frame, opts, k)
    return {(int(item_ids[a]), int(item_ids[b])): float(s) for a, b, s in zip(src, dst, score)}, spark.tasks


def test_cowatch_cosine_with_shrinkage(monkeypatch):
    # titles 100 and 101 always watched together by 4 users; 102 shares one user with 100.
    # User and anime ids are not indices, and user 50 lists title 100 twice (one watch).
    pairs = ([(u, 100) for u in (50, 51, 52, 53, 50)] + [(u, 101) for u in (50, 51, 52, 53)]
             + [(50, 102), (54, 102), (55, 103)])
    monkeypatch.setattr(itemitem, "BLOCK", 3)        # 4 titles: two blocks, as the job splits them
    got, tasks = _cowatch(pairs, shrinkage=4, min_common=1)
    assert tasks == 2
    assert got[(100, 101)] == pytest.approx(1.0 * 4 / (4 + 4))      # cosine 1, shrunk by 4/(4+4)
    assert got[(100, 102)] == pytest.approx(1 / np.sqrt(4 * 2) * 1 / 5)
    assert got[(102, 100)] == pytest.approx(got[(100, 102)])       # the second block sees the same pair
    assert (100, 100) not in got and not any(103 in key for key in got)  # no self, no pair without co-watchers
    got, _ = _cowatch(pairs, shrinkage=4, min_common=2)
    assert set(got) == {(100, 101), (101, 100)}


def test_ease_candidates_are_in_id_space_and_unseen():
    # 6 users watch titles 10..14 (EASE keeps titles with >= 5 watchers); user 7 saw 10, 11 only
    pairs = [(u, a) for u in range(1, 7) for a in range(10, 15)] + [(7, 10), (7, 11)]
    out = ease_job.candidates(pd.DataFrame(pairs, columns=["user_id", "anime_id"]), k=2)
    seventh = out[out["user_id"] == 7]
    assert seventh["rank"].tolist() == [1, 2]
    assert set(seventh["anime_id"]) <= {12, 13, 14}
    assert out[out["user_id"] != 7].empty                  # the others have seen every kept title


def test_score_users_sums_neighbours_and_skips_seen():
    sim = similarity_matrix([0, 0, 1], [1, 2, 2], [0.9, 0.2, 0.5], 4)
    history = interaction_matrix([0, 1, 1], [0, 0, 1], [1.0, 1.0, 2.0], 2, 4)
    rows, cols, vals = (np.concatenate(a) for a in zip(*score_users(history, sim, k=3)))
    user0 = [(c, v) for r, c, v in zip(rows, cols, vals) if r == 0]
    user1 = [(c, v) for r, c, v in zip(rows, cols, vals) if r == 1]
    assert user0 == [(1, pytest.approx(0.9)), (2, pytest.approx(0.2))]
    assert user1 == [(2, pytest.approx(0.2 + 2 * 0.5))]               # 0 and 1 already seen


def test_als_topk_excludes_seen():
    users = np.array([[1.0, 0.0], [0.0, 1.0]])
    items = np.array([[0.9, 0.0], [0.5, 0.1], [0.0, 1.0]])
    seen = sp.csr_matrix(([1.0], ([0], [0])), shape=(2, 3))
    rows, cols, _ = (np.concatenate(a) for a in zip(*topk_unseen(users, items, seen, k=1)))
    assert list(zip(rows.tolist(), cols.tolist())) == [(0, 1), (1, 2)]


def test_content_neighbours_follow_genres_text_and_cover_unwatched_titles():
    anime = pd.DataFrame({
        "anime_id": [1, 2, 3, 4],
        "name": ["Steel Alchemist", "Steel Alchemist Brotherhood", "Cooking Club", "Cooking Club Movie"],
        "genres": [["Action", "Military"], ["Action", "Military"], ["Comedy", "Slice of Life"], ["Comedy"]],
        "type": ["TV", "TV", "TV", "Movie"],
        "episodes": [51, 64, 12, None],
        "synopsis": ["Two brothers use alchemy to restore their bodies.", "Brothers search for the stone with alchemy.",
                     "A club cooks food after school.", None]})
    features = content_features(anime)
    assert np.allclose(sp.linalg.norm(features, axis=1), 1.0)
    src, dst, score = (np.concatenate(a) for a in zip(*content_neighbours(features, k=1, block=3)))
    best = dict(zip(src.tolist(), dst.tolist()))
    assert best == {0: 1, 1: 0, 2: 3, 3: 2}
    assert (score > 0).all() and (score <= 1.0 + 1e-6).all()


def test_score_weighted_ease_follows_what_fans_of_the_users_favourites_loved():
    # Titles 10..14 (>= 5 watchers each). Users 1-3 loved 10 and 11, not 12; users 4-6 the other way round.
    # User 7 loved 10 (and not 13 or 14): the bare watch cannot tell 11 from 12, the scores can.
    rows = [row for u in (1, 2, 3) for row in ((u, 10, 10), (u, 11, 10), (u, 12, 2), (u, 13, 6), (u, 14, 6))]
    rows += [row for u in (4, 5, 6) for row in ((u, 10, 2), (u, 11, 2), (u, 12, 10), (u, 13, 6), (u, 14, 6))]
    rows += [(7, 10, 10), (7, 13, 4), (7, 14, 4)]
    ratings = with_strength(pd.DataFrame(rows, columns=["user_id", "anime_id", "rating"]))
    from batch import ease_scored
    scored = ease_scored.candidates(ratings, k=2)
    seventh = scored[scored["user_id"] == 7]
    assert seventh["anime_id"].tolist() == [11, 12] and (seventh["source"] == "ease_scored").all()
    bare = ease_job.candidates(ratings[["user_id", "anime_id"]], k=2)
    bare_scores = bare[bare["user_id"] == 7]["score"].tolist()
    assert bare_scores[0] == pytest.approx(bare_scores[1])          # a watch is a watch: 11 and 12 tie
    assert seventh["score"].iloc[0] > seventh["score"].iloc[1]


def test_a_title_id_near_two_to_the_31_is_merged_without_a_table_that_large():
    import tracemalloc

    from recall.merge import merge_candidates
    tracemalloc.start()
    merged = merge_candidates({"ease": [2_000_000_000, 5, 7], "als": [7, 2_000_000_001]}, 3, exclude={5})
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert [c["anime_id"] for c in merged] == [7, 2_000_000_000, 2_000_000_001]
    assert peak < 50 * 2 ** 20

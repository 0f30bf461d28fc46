"""Recall sources' pure logic on tiny in-memory data (no Spark, no Cassandra)."""
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recall.als import topk_unseen
from recall.content import content_features, content_neighbours
from recall.itemsim import cowatch_neighbours, interaction_matrix, score_users, similarity_matrix
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


def _watch(pairs, n_users, n_items):
    u, i = zip(*pairs)
    return interaction_matrix(u, i, np.ones(len(u)), n_users, n_items)


def test_cowatch_cosine_with_shrinkage():
    # items 0 and 1 always watched together by 4 users; item 2 shares one user with item 0
    pairs = [(u, 0) for u in range(4)] + [(u, 1) for u in range(4)] + [(0, 2), (4, 2)] + [(5, 3)]
    x = _watch(pairs, 6, 4)
    src, dst, score = (np.concatenate(a) for a in zip(*cowatch_neighbours(x, k=5, shrinkage=4, min_common=1)))
    got = {(int(a), int(b)): float(s) for a, b, s in zip(src, dst, score)}
    assert got[(0, 1)] == pytest.approx(1.0 * 4 / (4 + 4))          # cosine 1, shrunk by 4/(4+4)
    assert got[(0, 2)] == pytest.approx(1 / np.sqrt(4 * 2) * 1 / 5)
    assert (0, 0) not in got and not any(3 in key for key in got)   # no self, no pair without co-watchers
    src, dst, _ = (np.concatenate(a) for a in zip(*cowatch_neighbours(x, k=5, shrinkage=4, min_common=2)))
    assert set(zip(src.tolist(), dst.tolist())) == {(0, 1), (1, 0)}


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

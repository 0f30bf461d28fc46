"""Ranking metrics on cases small enough to compute by hand."""
import math

import numpy as np
import pytest

from evaluation import metrics

# user 0: relevant {1, 3}, ranked [1, 5, 3, 7]  -> hits at ranks 1 and 3
# user 1: relevant {2, 4, 6}, ranked [9, 8, 0, 2] -> hit at rank 4
RECOMMENDED = np.array([[1, 5, 3, 7], [9, 8, 0, 2]])
USERS = np.array([0, 1])
RELEVANT_USERS = np.array([0, 0, 1, 1, 1])
RELEVANT_ITEMS = np.array([1, 3, 2, 4, 6])
N_RELEVANT = np.array([2, 3])


@pytest.fixture
def hits() -> np.ndarray:
    return metrics.hit_matrix(RECOMMENDED, USERS, RELEVANT_USERS, RELEVANT_ITEMS)


def test_hit_matrix_marks_relevant_positions(hits):
    assert hits.tolist() == [[True, False, True, False], [False, False, False, True]]


def test_hit_matrix_ignores_empty_slots_and_cold_items():
    # -1 must never match, even where user*n + (-1) equals the previous user's last key
    recommended = np.array([[0, -1], [-1, -1]])
    hits = metrics.hit_matrix(recommended, np.array([0, 1]), np.array([0, 1, 1]), np.array([1, 1, -1]))
    assert not hits.any()


def test_precision_recall_hit_rate(hits):
    np.testing.assert_allclose(metrics.precision_at_k(hits, 4), [0.5, 0.25])
    np.testing.assert_allclose(metrics.recall_at_k(hits, N_RELEVANT, 4), [1.0, 1 / 3])
    np.testing.assert_allclose(metrics.precision_at_k(hits, 2), [0.5, 0.0])
    np.testing.assert_allclose(metrics.recall_at_k(hits, N_RELEVANT, 2), [0.5, 0.0])
    np.testing.assert_allclose(metrics.hit_rate_at_k(hits, 2), [1.0, 0.0])
    np.testing.assert_allclose(metrics.hit_rate_at_k(hits, 4), [1.0, 1.0])


def test_ndcg(hits):
    user0 = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    user1 = (1 / math.log2(5)) / (1 + 1 / math.log2(3) + 1 / math.log2(4))
    np.testing.assert_allclose(metrics.ndcg_at_k(hits, N_RELEVANT, 4), [user0, user1])
    np.testing.assert_allclose(metrics.ndcg_at_k(hits, N_RELEVANT, 2), [1 / (1 + 1 / math.log2(3)), 0.0])


def test_ndcg_is_one_for_a_perfect_ranking():
    perfect = np.array([[True, True, False]])
    np.testing.assert_allclose(metrics.ndcg_at_k(perfect, np.array([2]), 3), [1.0])


def test_average_precision(hits):
    # user 0: (1/1 + 2/3) / min(4, 2); user 1: (1/4) / min(4, 3)
    np.testing.assert_allclose(metrics.average_precision_at_k(hits, N_RELEVANT, 4), [(1 + 2 / 3) / 2, 0.25 / 3])
    np.testing.assert_allclose(metrics.average_precision_at_k(hits, N_RELEVANT, 2), [0.5, 0.0])


def test_ranking_metrics_averages_over_users(hits):
    result = metrics.ranking_metrics(hits, N_RELEVANT, [2, 4])
    assert result["precision@4"] == pytest.approx(0.375)
    assert result["recall@4"] == pytest.approx((1 + 1 / 3) / 2)
    assert result["hit_rate@2"] == pytest.approx(0.5)
    assert result["map@4"] == pytest.approx(((1 + 2 / 3) / 2 + 0.25 / 3) / 2)
    assert set(result) == {f"{m}@{k}" for m in ("precision", "recall", "ndcg", "map", "hit_rate") for k in (2, 4)}


def test_ranking_metrics_rejects_users_without_relevant_items(hits):
    with pytest.raises(ValueError):
        metrics.ranking_metrics(hits, np.array([2, 0]), [2])


def test_k_larger_than_the_list_is_an_error(hits):
    with pytest.raises(ValueError):
        metrics.precision_at_k(hits, 5)


def test_catalog_coverage_counts_distinct_items_in_top_k():
    recommended = np.array([[0, 1, 2], [0, 3, -1]])
    assert metrics.catalog_coverage(recommended, 10, 2) == pytest.approx(3 / 10)  # {0, 1, 3}
    assert metrics.catalog_coverage(recommended, 10, 3) == pytest.approx(4 / 10)  # -1 ignored


def test_novelty_is_mean_self_information():
    counts = np.array([8, 4, 2, 1])  # out of 8 users: popularity 1, 1/2, 1/4, 1/8
    recommended = np.array([[0, 1], [2, 3]])
    assert metrics.novelty(recommended, counts, 8, 2) == pytest.approx((0 + 1 + 2 + 3) / 4)
    assert metrics.novelty(np.array([[3, -1]]), counts, 8, 2) == pytest.approx(3.0)


def test_rmse_and_mae():
    predicted, actual = np.array([7.0, 9.0, 5.0]), np.array([8.0, 9.0, 2.0])
    assert metrics.rmse(predicted, actual) == pytest.approx(math.sqrt((1 + 0 + 9) / 3))
    assert metrics.mae(predicted, actual) == pytest.approx(4 / 3)


def test_average_precision_and_ndcg_cap_the_ideal_at_k():
    # 5 relevant titles, both of the 2 slots hit: as good as a 2-slot list can be
    perfect_prefix = np.array([[True, True]])
    np.testing.assert_allclose(metrics.average_precision_at_k(perfect_prefix, np.array([5]), 2), [1.0])
    np.testing.assert_allclose(metrics.ndcg_at_k(perfect_prefix, np.array([5]), 2), [1.0])
    np.testing.assert_allclose(metrics.recall_at_k(perfect_prefix, np.array([5]), 2), [0.4])


def test_rare_share_counts_slots_of_titles_few_users_watched():
    recommended = np.array([[0, 1, 2], [2, metrics.EMPTY_SLOT, 0]])
    counts = np.array([50, 3, 9])
    # filled slots: 0,1,2,2,0 -> titles 1 and 2 are below 10 watchers: 3 of 5 slots
    assert metrics.rare_share(recommended, counts, 10, 3) == pytest.approx(0.6)
    assert metrics.rare_share(recommended, counts, 5, 3) == pytest.approx(0.2)

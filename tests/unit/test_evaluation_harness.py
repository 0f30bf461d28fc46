"""The harness: contract checks, scoring of a known ranking, tuning, rating errors."""
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from evaluation.data import InteractionData, Split, split_interactions
from evaluation.harness import (EvaluationConfig, check_recommendations, evaluate_model, global_mean_reference,
                                validation_split,
                                tune)
from evaluation.models import MODELS, Recommender
from evaluation.models.item_knn import ItemKNN
from evaluation.models.popularity import Popularity
from evaluation.synthetic import clustered_interactions


@pytest.fixture(scope="module")
def split() -> Split:
    return split_interactions(clustered_interactions(n_users=60, seed=2, unscored_share=0.3), 0.2, 5, seed=0)


class Oracle(Recommender):
    """Knows the held-out titles: recommends them first (a plain Recommender, not a scorer)."""

    held_out: dict[int, list[int]] = {}

    def fit(self, train: InteractionData) -> "Oracle":
        self._train = train
        return self

    def recommend(self, user_indices: np.ndarray, k: int, exclude_seen: bool = True) -> np.ndarray:
        rows = []
        for user in user_indices:
            seen = set(self._train.ratings[user].indices)
            relevant = [i for i in self.held_out.get(int(user), []) if i >= 0]
            filler = [i for i in range(self._train.n_items) if i not in seen and i not in relevant]
            rows.append((relevant + filler)[:k])
        return np.array(rows)


class Broken(Popularity):
    def recommend(self, user_indices, k, exclude_seen=True):
        return super().recommend(user_indices, k, exclude_seen=False)


def test_oracle_gets_perfect_scores(split):
    Oracle.held_out = split.test.groupby("user_index")["item_index"].apply(list).to_dict()
    assert (split.test["item_index"] >= 0).all()  # no cold titles here, so perfection is reachable
    result = evaluate_model("oracle", Oracle, split, EvaluationConfig(ks=(1, 3)))
    n_relevant = split.test.groupby("user_index").size()
    assert result.metrics["ndcg@3"] == pytest.approx(1.0)
    assert result.metrics["map@3"] == pytest.approx(1.0)
    assert result.metrics["hit_rate@1"] == pytest.approx(1.0)
    assert result.metrics["precision@3"] == pytest.approx((np.minimum(n_relevant, 3) / 3).mean())
    assert result.metrics["recall@3"] == pytest.approx((np.minimum(n_relevant, 3) / n_relevant).mean())
    assert result.metrics["users"] == len(split.eval_users)
    assert result.rating is None


def test_liked_variant_only_counts_high_scores(split):
    result = evaluate_model("popularity", Popularity, split, EvaluationConfig(ks=(5,)))
    liked_users = split.test.loc[split.test["rating"] >= 8, "user_index"].nunique()
    assert result.liked_metrics["users"] == liked_users < result.metrics["users"]
    assert 0 < result.beyond_accuracy["coverage@5"] <= 1
    assert result.train_seconds >= 0 and result.inference_seconds > 0


def test_contract_violations_are_rejected(split):
    with pytest.raises(ValueError, match="training data"):
        evaluate_model("broken", Broken, split, EvaluationConfig(ks=(5,)))
    users = split.eval_users[:2]
    with pytest.raises(ValueError, match="duplicate"):
        check_recommendations(np.array([[0, 0], [1, 2]]), users, split, 2)
    with pytest.raises(ValueError, match="shape"):
        check_recommendations(np.array([[0, 1, 2]]), users, split, 2)
    check_recommendations(np.full((2, 2), -1), users, split, 2)  # empty slots are allowed


class NeighboursOrNot(ItemKNN):
    """Item-KNN, or its exact opposite (titles least like the user's): the grid has a clear winner."""

    tuning_grid = {"reverse": (True, False)}

    def __init__(self, seed: int = 42, reverse: bool = True) -> None:
        super().__init__(seed)
        self.reverse = reverse

    def score_users(self, user_indices):
        scores = super().score_users(user_indices)
        return -scores if self.reverse else scores


def test_tuning_picks_the_better_grid_point_on_a_validation_split(split):
    params, trials = tune(NeighboursOrNot, split, EvaluationConfig())
    assert params == {"reverse": False}
    assert [t["params"]["reverse"] for t in trials] == [True, False]
    assert trials[1]["ndcg@10"] > trials[0]["ndcg@10"]
    assert tune(NeighboursOrNot, split, EvaluationConfig(tune=False)) == ({"reverse": True}, [])


def test_rating_errors_for_score_predictors(split):
    result = evaluate_model("biased-mf", MODELS["biased-mf"], split, EvaluationConfig(ks=(5,)))
    reference = global_mean_reference(split, split.eval_users)
    scored = split.test[split.test["rating"] >= 1]
    assert result.rating["n"] == reference["n"] == len(scored)
    assert 0 < result.rating["mae"] <= result.rating["rmse"]
    assert reference["global_mean"] == pytest.approx(split.train.explicit.data.mean())


def test_validation_split_never_sees_the_test_holdout(split):
    validation = validation_split(split, EvaluationConfig(tuning_users=10))
    outer_train = set(zip(split.train.to_frame()["user_id"], split.train.to_frame()["anime_id"]))
    inner_train = set(zip(validation.train.to_frame()["user_id"], validation.train.to_frame()["anime_id"]))
    inner_test = set(zip(validation.train.user_ids[validation.test["user_index"]], validation.test["anime_id"]))
    assert inner_train | inner_test == outer_train and not inner_train & inner_test
    assert len(validation.eval_users) == 10


def test_ndcg_by_activity_splits_users_by_their_total_titles():
    from evaluation.harness import activity_counts, by_activity
    # user 0: 25 titles (20 train + 5 held out), user 1: 8 titles (6 + 2)
    rows = [(0, i) for i in range(20)] + [(1, i) for i in range(6)]
    ratings = sp.csr_matrix((np.ones(len(rows)), tuple(zip(*rows))), shape=(2, 40))
    train = InteractionData(ratings, np.array([1, 2]), np.arange(40))
    test = pd.DataFrame({"user_index": [0] * 5 + [1] * 2, "anime_id": list(range(20, 25)) + [30, 31],
                         "item_index": list(range(20, 25)) + [30, 31], "rating": 8})
    split = Split(train, test, np.array([0, 1]))
    recommended = np.array([[20, 21, 22, 23, 24, 25, 26, 27, 28, 29],      # perfect
                            [26, 30, 27, 28, 29, 32, 33, 34, 35, 36]])     # one hit at rank 2
    result = by_activity(recommended, split)
    assert result["20-100 titles"] == pytest.approx(1.0)
    ideal = 1 + 1 / np.log2(3)
    assert result["< 20 titles"] == pytest.approx((1 / np.log2(3)) / ideal)
    assert "> 100 titles" not in result
    assert activity_counts(split) == {"< 20 titles": 1, "20-100 titles": 1, "> 100 titles": 0}


def test_cold_start_fits_the_model_with_its_chosen_arguments_and_scores_each_group(split):
    from evaluation.data import cold_start_split, full_frame
    from evaluation.harness import cold_start
    config = EvaluationConfig(ks=(5,), tune=False)
    result = evaluate_model("item-knn", ItemKNN, split, config)
    cold = cold_start_split(full_frame(split), per_group=4, min_titles=6, seed=0)
    scores = cold_start(result, ItemKNN, cold, config)
    assert sorted(scores) == ["1", "2", "3", "4"] and all(0.0 <= v <= 1.0 for v in scores.values())
    seen = []

    class Spy(ItemKNN):
        def __init__(self, seed=42, **kwargs):
            seen.append(kwargs)
            super().__init__(seed, **kwargs)

    result.chosen = {"n_neighbours": 3}
    cold_start(result, Spy, cold, config)
    assert seen == [{"n_neighbours": 3}]

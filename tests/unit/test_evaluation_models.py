"""Every baseline honours the Recommender contract; each one learns what it should."""
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from evaluation.data import InteractionData, split_interactions
from evaluation.metrics import EMPTY_SLOT
from evaluation.models import BASELINES, MODELS, Recommender, register_model, resolve_model, top_k_indices
from evaluation.models.ease import EASE
from evaluation.models.item_knn import keep_top_neighbours
from evaluation.models.nmf import NMFGroup
from evaluation.models.popularity import Popularity
from evaluation.models.solvers import conjugate_gradient_rows, row_operator
from evaluation.synthetic import clustered_interactions
from recall.ease import ease_weights

N_CLUSTERS, ITEMS_PER_CLUSTER = 4, 10


@pytest.fixture(scope="module")
def train() -> InteractionData:
    frame = clustered_interactions(n_users=80, n_clusters=N_CLUSTERS, items_per_cluster=ITEMS_PER_CLUSTER, seed=0)
    return split_interactions(frame, 0.2, 5, seed=0).train


# the defaults are tuned for thousands of users; these suit 80 users and 40 titles
SMALL_DATA_PARAMS = {"als": {"factors": 8, "regularization": 0.5}, "nmf-weighted": {"n_components": 4},
                     "nmf-group": {"n_components": 4},
                     "neural-cf": {"factors": 8, "layers": (16, 8), "negatives": 4, "epochs": 30, "fit_batch": 256},
                     "user-knn": {"n_neighbours": 10}}


def _fit(name: str, train: InteractionData) -> Recommender:
    return MODELS[name](seed=0, **SMALL_DATA_PARAMS.get(name, {})).fit(train)


@pytest.mark.parametrize("name", sorted(BASELINES))  # the pipeline needs Spark: integration tests
def test_recommends_k_distinct_unseen_titles(name, train):
    users = np.arange(train.n_users)
    recommended = _fit(name, train).recommend(users, 5)
    assert recommended.shape == (train.n_users, 5) and recommended.dtype.kind == "i"
    assert (recommended != EMPTY_SLOT).all()
    assert ((recommended >= 0) & (recommended < train.n_items)).all()
    assert all(len(set(row)) == 5 for row in recommended.tolist())
    seen = train.watched.toarray().astype(bool)
    assert not seen[users[:, None], recommended].any()


@pytest.mark.parametrize("name", ["als", "ease", "item-knn", "nmf-weighted", "nmf-group", "user-knn", "neural-cf"])
def test_personalised_models_recommend_from_the_users_cluster(name, train):
    recommended = _fit(name, train).recommend(np.arange(train.n_users), 3)
    cluster_of_item = (train.item_ids[recommended] - 100) // ITEMS_PER_CLUSTER
    cluster_of_user = (train.user_ids - 1) % N_CLUSTERS
    assert (cluster_of_item == cluster_of_user[:, None]).mean() > 0.8


def test_popularity_without_exclusion_returns_the_global_top(train):
    recommended = Popularity().fit(train).recommend(np.array([0, 1]), 3, exclude_seen=False)
    expected = np.argsort(-train.item_counts, kind="stable")[:3]
    assert set(recommended[0]) == set(expected) and (recommended[0] == recommended[1]).all()


def test_nmf_group_gives_one_list_per_group(train):
    model = NMFGroup(seed=0, n_components=4).fit(train)
    groups = model._user_weights.argmax(axis=1)
    scores = model.score_users(np.arange(train.n_users))
    same_group = np.flatnonzero(groups == groups[0])
    assert len(same_group) > 1
    np.testing.assert_array_equal(scores[same_group], np.repeat(scores[:1], len(same_group), axis=0))


def _block_data() -> InteractionData:
    """Items 0-4 always co-watched, items 5-9 always co-watched; user 0 watched only 0, 1, 2."""
    rows = [list(range(5))] * 30 + [list(range(5, 10))] * 30 + [[0, 1, 2]]
    frame = pd.DataFrame([(u, i, 8) for u, items in enumerate(rows) for i in items],
                         columns=["user_id", "anime_id", "rating"])
    return InteractionData.from_frame(frame, np.arange(len(rows)), np.arange(10))


def test_ease_recovers_item_blocks():
    data = _block_data()
    model = EASE(l2=10.0, min_item_count=1).fit(data)
    assert set(model.recommend(np.array([60]), 2)[0]) == {3, 4}
    weights = ease_weights((data.watched.T @ data.watched).toarray(), 10.0)
    assert np.allclose(np.diag(weights), 0.0)
    assert weights[:5, :5][~np.eye(5, dtype=bool)].min() > 0.05
    assert np.abs(weights[:5, 5:]).max() < 1e-6


def test_ease_never_recommends_titles_below_the_minimum_count():
    data = _block_data()
    model = EASE(l2=10.0, min_item_count=31).fit(data)  # only items 0, 1, 2 have 31 watchers
    assert model.recommend(np.array([0]), 3).tolist() == [[EMPTY_SLOT] * 3]


def test_biased_mf_beats_the_global_mean_on_structured_scores():
    rng = np.random.default_rng(0)
    n_users, n_items = 150, 60
    user_bias, item_bias = rng.normal(0, 1.0, n_users), rng.normal(0, 1.0, n_items)
    taste = rng.normal(0, 1, (n_users, 2)) @ rng.normal(0, 1, (2, n_items))
    scores = np.clip(np.rint(6 + user_bias[:, None] + item_bias[None, :] + taste), 1, 10)
    users, items = np.nonzero(rng.random((n_users, n_items)) < 0.5)
    frame = pd.DataFrame({"user_id": users, "anime_id": items, "rating": scores[users, items].astype(int)})
    split = split_interactions(frame, 0.2, 5, seed=0)
    test = split.test[split.test["item_index"] >= 0]
    model = MODELS["biased-mf"](seed=0, factors=4, regularization=0.05).fit(split.train)
    predicted = model.predict_scores(test["user_index"].to_numpy(), test["item_index"].to_numpy())
    actual = test["rating"].to_numpy(float)
    model_rmse = np.sqrt(np.mean((predicted - actual) ** 2))
    mean_rmse = np.sqrt(np.mean((split.train.explicit.data.mean() - actual) ** 2))
    assert model.predicts_scores and model_rmse < 0.6 * mean_rmse


def test_batched_conjugate_gradient_solves_every_row_system():
    rng = np.random.default_rng(1)
    fixed = rng.normal(size=(12, 3))
    weights = (rng.random((5, 12)) < 0.5) * rng.random((5, 12))
    sparse_weights = sp.csr_matrix(weights)
    gram = fixed.T @ fixed
    regularization = np.full(5, 0.5)
    rhs = rng.normal(size=(5, 3))
    apply = row_operator(sparse_weights, fixed, regularization, gram)
    solution = conjugate_gradient_rows(apply, rhs, np.zeros_like(rhs), steps=10)
    for row in range(5):
        system = gram + (fixed.T * weights[row]) @ fixed + 0.5 * np.eye(3)
        np.testing.assert_allclose(solution[row], np.linalg.solve(system, rhs[row]), rtol=1e-6, atol=1e-8)


def test_top_k_indices_orders_and_pads():
    scores = np.array([[0.1, 0.9, -np.inf, 0.5], [-np.inf, -np.inf, 2.0, -np.inf]], dtype=np.float32)
    assert top_k_indices(scores, 3).tolist() == [[1, 3, 0], [2, EMPTY_SLOT, EMPTY_SLOT]]
    assert top_k_indices(scores, 6).shape == (2, 6)


def test_keep_top_neighbours_prunes_each_column():
    similarity = np.array([[0, 3, 1], [2, 0, 5], [4, 6, 0]], dtype=np.float32)
    pruned = keep_top_neighbours(similarity, 1).toarray()
    assert pruned.tolist() == [[0, 0, 0], [0, 0, 5], [4, 6, 0]]


def test_registry_resolves_names_and_import_paths():
    assert resolve_model("ease") is EASE
    assert resolve_model("evaluation.models.popularity:Popularity") is Popularity
    with pytest.raises(KeyError):
        resolve_model("no-such-model")
    with pytest.raises(TypeError):
        resolve_model("evaluation.data:InteractionData")


def test_register_model_adds_and_guards_names():
    @register_model("test-only-popularity")
    class Custom(Popularity):
        pass
    try:
        assert MODELS["test-only-popularity"] is Custom
        with pytest.raises(ValueError):
            register_model("test-only-popularity")(Popularity)
    finally:
        del MODELS["test-only-popularity"]


def test_user_knn_scores_are_neighbour_similarities_of_those_who_watched():
    # users 0 and 1 share titles 0-1; user 2 shares only title 2 with user 0
    watched = np.array([[1, 1, 1, 0, 0], [1, 1, 0, 1, 0], [0, 0, 1, 0, 1]], dtype=np.float32)
    train = InteractionData(sp.csr_matrix(watched), np.arange(1, 4), np.arange(10, 15))
    model = MODELS["user-knn"](n_neighbours=2, shrinkage=0.0).fit(train)
    scores = model.score_users(np.array([0]))[0]
    sim_1, sim_2 = 2 / np.sqrt(3 * 3), 1 / np.sqrt(3 * 2)
    assert scores[3] == pytest.approx(sim_1) and scores[4] == pytest.approx(sim_2)
    assert model.recommend(np.array([0]), 2).tolist() == [[3, 4]]
    # with one neighbour only the closest user votes
    assert MODELS["user-knn"](n_neighbours=1, shrinkage=0.0).fit(train).score_users(np.array([0]))[0][4] == 0.0

import numpy as np
import pandas as pd
import pytest

from infra.config import Settings
from ranking.catalog import Catalog
from ranking.features import UserProfile, build_features, item_features, n_features
from ranking.registry import ModelRegistry

ROWS = [
    {"anime_id": 1, "name": "Alpha", "genres": ["Action", "Drama"], "type": "TV", "episodes": 24, "rating": 8.5, "members": 100000},
    {"anime_id": 2, "name": "Beta", "genres": ["Comedy"], "type": "Movie", "episodes": 1, "rating": None, "members": 500},
    {"anime_id": 3, "name": "Gamma", "genres": [], "type": None, "episodes": None, "rating": 6.0, "members": None},
    {"anime_id": 4, "name": "Delta", "genres": ["Action"], "type": "OVA", "episodes": 6, "rating": 7.0, "members": 2000},
]


@pytest.fixture
def catalog():
    return Catalog.from_rows(ROWS)


def test_catalog_handles_missing_fields(catalog):
    assert catalog.genres == ("Action", "Comedy", "Drama")
    assert catalog.genre_matrix[catalog.position[1]].tolist() == [1, 0, 1]
    assert catalog.details(3) == {"anime_id": 3, "name": "Gamma", "genres": [], "type": None, "episodes": None,
                                  "rating": 6.0, "members": None}


def _candidates(ids, ranks=None):
    return [{"anime_id": a, "score": 0.01, "source": "popular", **({"ranks": ranks[i]} if ranks else {})}
            for i, a in enumerate(ids)]


def test_features_are_finite_and_shaped(catalog):
    items = item_features(catalog)
    profile = UserProfile.from_pairs([(1, 9), (4, -1)])
    x = build_features(catalog, items, profile, _candidates([2, 3], [{"popular": 1}, {"content": 3, "als": 1}]),
                       {2: (3, 10)})
    assert x.shape == (2, n_features(catalog)) and np.isfinite(x).all()


def test_recall_ranks_become_features(catalog):
    items = item_features(catalog)
    x = build_features(catalog, items, UserProfile(), _candidates([2, 3], [{"ease": 1}, {"ease": 50, "als": 2}]), {})
    assert not np.array_equal(x[0], x[1])
    assert x[0].sum() != x[1].sum()


def test_genre_affinity_prefers_titles_like_the_users(catalog):
    items = item_features(catalog)
    action_fan = UserProfile.from_pairs([(1, 10)])
    x = build_features(catalog, items, action_fan, _candidates([4, 2]), {})
    genre_match_column = items.shape[1] + 4
    assert x[0, genre_match_column] > x[1, genre_match_column]


def test_new_user_gets_features_too(catalog):
    x = build_features(catalog, item_features(catalog), UserProfile(), _candidates([1, 2, 3, 4]), {})
    assert np.isfinite(x).all()


def _tiny_model(n_features):
    from ranking.model import build_model
    return build_model(n_features, np.random.default_rng(0).normal(size=(16, n_features)).astype(np.float32))


def test_registry_versions_pin_and_rollback(tmp_path):
    registry = ModelRegistry(Settings(model_dir=tmp_path))
    assert registry.active() is None
    first = registry.save(_tiny_model(3), {"metrics": {"auc": 0.6}})
    second = registry.save(_tiny_model(3), {"metrics": {"auc": 0.7}})
    assert registry.versions() == [first, second] and registry.active() == second
    assert registry.rollback() == first and registry.active() == first
    with pytest.raises(ValueError):
        registry.rollback()
    registry.pin(None)
    assert registry.active() == second
    assert registry.metadata(second)["metrics"]["auc"] == 0.7


def test_half_written_version_is_invisible(tmp_path):
    registry = ModelRegistry(Settings(model_dir=tmp_path))
    (registry.root / ".20990101T000000Z.partial").mkdir(parents=True)
    (registry.root / "20990101T000001Z").mkdir()  # no model file: not complete
    assert registry.versions() == []


def test_ranker_learns_what_recall_order_misses(tmp_path):
    """Users like one genre; recall lists are shuffled: the ranker must recover the genre signal."""
    from ranking.recommender import Recommender
    from ranking.train import fit_ranker
    from store.memory import MemoryStore
    rng = np.random.default_rng(1)
    rows = [{"anime_id": i, "name": f"T{i}", "genres": ["Action"] if i % 2 else ["Romance"], "type": "TV",
             "episodes": 12, "rating": 7.0, "members": 1000 + i} for i in range(1, 201)]
    catalog = Catalog.from_rows(rows)
    ratings, held, candidates = [], [], []
    for user in range(1, 151):
        liked = rng.permutation(np.arange(1 + user % 2, 201, 2))
        ratings += [(user, int(a), 8) for a in liked[:10]]
        held += [(user, int(a), 8) for a in liked[10:15]]
        pool = np.r_[liked[10:30], rng.choice(np.arange(2 - user % 2, 201, 2), 20, replace=False)]
        candidates += [(user, "ease", r + 1, int(a), 1.0) for r, a in enumerate(rng.permutation(pool))]
    store = MemoryStore(pd.DataFrame(ratings, columns=["user_id", "anime_id", "rating"]),
                        pd.DataFrame(candidates, columns=["user_id", "source", "rank", "anime_id", "score"]),
                        pd.DataFrame(columns=["anime_id", "signal", "rank", "similar_id", "score"]),
                        pd.DataFrame(columns=["rank", "anime_id", "score"]))
    held_out = pd.DataFrame(held, columns=["user_id", "anime_id", "rating"])
    _, metrics = fit_ranker(Recommender(store, catalog), held_out, max_users=150, epochs=8, seed=0)
    assert metrics["validation_ndcg@10_ranker"] > metrics["validation_ndcg@10_recall_order"] + 0.1
    assert metrics["validation_auc"] > 0.7

import numpy as np
import pandas as pd
import pytest

from infra.config import Settings
from ranking.catalog import Catalog
from ranking.features import SOURCES, UserProfile, build_features, item_features
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


def test_features_are_finite_and_shaped(catalog):
    items = item_features(catalog)
    profile = UserProfile.from_pairs([(1, 9), (4, -1)])
    x = build_features(catalog, items, profile, [2, 3], np.array([0.5, 0.1]), [{"popular"}, {"content", "als"}],
                       {2: (3, 10)})
    assert x.shape[0] == 2 and np.isfinite(x).all()
    assert x.shape[1] == items.shape[1] + 4 + 4 + len(SOURCES) + 3


def test_genre_affinity_prefers_titles_like_the_users(catalog):
    items = item_features(catalog)
    action_fan = UserProfile.from_pairs([(1, 10)])
    x = build_features(catalog, items, action_fan, [4, 2], np.zeros(2), [{"popular"}] * 2, {})
    genre_match_column = items.shape[1] + 4
    assert x[0, genre_match_column] > x[1, genre_match_column]


def test_new_user_gets_features_too(catalog):
    x = build_features(catalog, item_features(catalog), UserProfile(), [1, 2, 3, 4], np.ones(4), [{"popular"}] * 4, {})
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


def test_training_learns_from_ratings(tmp_path):
    from ranking.train import train
    rng = np.random.default_rng(1)
    rows = [{"anime_id": i, "name": f"T{i}", "genres": ["Action"] if i % 2 else ["Romance"], "type": "TV",
             "episodes": 12, "rating": 7.0, "members": 1000 + i} for i in range(1, 81)]
    catalog = Catalog.from_rows(rows)
    # Users watch only titles of one genre: genre affinity should separate positives from negatives.
    ratings = pd.DataFrame([(u, int(a), 8) for u in range(1, 121)
                            for a in rng.choice(np.arange(1 + u % 2, 81, 2), size=12, replace=False)],
                           columns=["user_id", "anime_id", "rating"])
    result = train(catalog, ratings, Settings(model_dir=tmp_path), epochs=8, max_users=120, source="synthetic")
    assert result["metrics"]["validation_auc"] > 0.75
    assert ModelRegistry(Settings(model_dir=tmp_path)).active() == result["version"]

import time

import numpy as np
import pandas as pd
import pytest

from config import Settings
from ranking.catalog import Catalog
from ranking.features import (TITLE_REALTIME, USER_REALTIME, FeatureSchema, ItemFeatures, UserMoment, UserProfile,
                              build_features)
from ranking.model import LiteScorer, Scorer, build_model
from ranking.realtime import FrozenFeatures, TitleTable, title_vector
from ranking.registry import ModelRegistry, RankerVersion

ROWS = [
    {"anime_id": 1, "name": "Alpha", "genres": ["Action", "Drama"], "type": "TV", "episodes": 24, "rating": 8.5, "members": 100000},
    {"anime_id": 2, "name": "Beta", "genres": ["Comedy"], "type": "Movie", "episodes": 1, "rating": None, "members": 500},
    {"anime_id": 3, "name": "Gamma", "genres": [], "type": None, "episodes": None, "rating": 6.0, "members": None},
    {"anime_id": 4, "name": "Delta", "genres": ["Action"], "type": "OVA", "episodes": 6, "rating": 7.0, "members": 2000},
]


@pytest.fixture
def catalog():
    return Catalog.from_rows(ROWS)


@pytest.fixture
def items(catalog):
    return ItemFeatures(catalog, FeatureSchema.for_catalog(catalog))


def test_catalog_handles_missing_fields(catalog):
    assert catalog.genres == ("Action", "Comedy", "Drama")
    assert catalog.genre_matrix[catalog.position[1]].tolist() == [1, 0, 1]
    assert catalog.details(3) == {"anime_id": 3, "name": "Gamma", "genres": [], "type": None, "episodes": None,
                                  "rating": 6.0, "members": None}


def _candidates(ids, ranks=None):
    return [{"anime_id": a, "score": 0.01, "source": "popular", **({"ranks": ranks[i]} if ranks else {})}
            for i, a in enumerate(ids)]


def test_features_are_finite_and_shaped_as_the_schema_names_them(items):
    profile = UserProfile.from_pairs([(1, 9), (4, -1)])
    x = build_features(items, profile, _candidates([2, 3], [{"popular": 1}, {"content": 3, "als": 1}]),
                       {2: title_vector({"clicks": 3, "views": 10, "clicks_24h": 1, "views_24h": 2,
                                         "window_at_24h": 10, "clicks_1h": 1, "views_1h": 0, "window_at_1h": 10}, 20)})
    assert x.shape == (2, items.schema.width) and np.isfinite(x).all()
    assert len(set(items.schema.names)) == items.schema.width


def test_recall_ranks_become_their_sources_features(items):
    x = build_features(items, UserProfile(), _candidates([2, 3], [{"ease": 1}, {"ease": 50, "als": 2}]), {})
    column = {name: j for j, name in enumerate(items.schema.names)}
    ease, als, count = column["source_ease"], column["source_als"], column["recall_source_count"]
    assert x[0, ease] == pytest.approx(1.0)                     # rank 1 -> 1/log2(2)
    assert x[1, ease] == pytest.approx(1 / np.log2(51))          # rank 50
    assert x[0, als] == 0.0 and x[1, als] == pytest.approx(1 / np.log2(3))
    assert x[1, count] == pytest.approx(2 * x[0, count])


def test_genre_affinity_prefers_titles_like_the_users(items):
    action_fan = UserProfile.from_pairs([(1, 10)])
    x = build_features(items, action_fan, _candidates([4, 2]), {})
    genre_match = items.schema.names.index("cross_genre_match")
    assert x[0, genre_match] > x[1, genre_match]


def test_new_user_gets_features_too(items):
    x = build_features(items, UserProfile(), _candidates([1, 2, 3, 4]), {})
    assert np.isfinite(x).all()


def test_an_unseen_genre_keeps_the_models_width_and_columns(catalog):
    schema = FeatureSchema.for_catalog(catalog)
    grown = Catalog.from_rows([*ROWS, {"anime_id": 5, "name": "Epsilon", "genres": ["Isekai", "Action"],
                                       "type": "TV", "episodes": 12, "rating": 7.5, "members": 900}])
    items = ItemFeatures(grown, schema)
    x = build_features(items, UserProfile(), _candidates([5, 1]), {})
    assert x.shape == (2, schema.width)
    assert "genre_Isekai" not in schema.names
    assert x[0, schema.names.index("genre_Action")] == 1.0


def test_schema_survives_json_and_rejects_names_that_do_not_match(catalog):
    schema = FeatureSchema.for_catalog(catalog)
    assert FeatureSchema.from_dict(schema.to_dict()) == schema
    tampered = {**schema.to_dict(), "names": schema.names[:-1]}
    with pytest.raises(ValueError):
        FeatureSchema.from_dict(tampered)


def test_a_version_saved_with_an_older_feature_layout_is_refused_by_name(catalog):
    old = FeatureSchema.for_catalog(catalog).to_dict()
    old.pop("layout")
    with pytest.raises(ValueError, match="layout 1.*train a new ranker"):
        FeatureSchema.from_dict(old)
    assert FeatureSchema.from_dict(FeatureSchema.for_catalog(catalog).to_dict()) == FeatureSchema.for_catalog(catalog)


def test_user_features_follow_the_users_recent_taste_and_session(items):
    now = 10 * 3_600_000
    row = {"events": 12, "clicks": 3, "last_event_at": now - 60_000, "session_at": now - 60_000, "events_30m": 4,
           "genre_affinity": {"Action": 3.0, "Comedy": 1.0}}
    names = items.schema.names
    x = build_features(items, UserProfile(), _candidates([4, 2, 3]), {}, UserMoment(row, now))
    match = names.index("rt_affinity_match")
    assert x[:, match].tolist() == pytest.approx([0.75, 0.25, 0.0])     # Action, Comedy, no genre
    later = build_features(items, UserProfile(), _candidates([4]), {}, UserMoment(row, now + 3_600_000))
    assert x[0, names.index("rt_user_session_events")] > 0 and later[0, names.index("rt_user_session_events")] == 0
    assert later[0, names.index("rt_user_hours_since_last")] > x[0, names.index("rt_user_hours_since_last")]
    assert later[0, match] == pytest.approx(0.75)    # shares of a forward-decayed sum need no clock
    newcomer = build_features(items, UserProfile(), _candidates([4]), {}, UserMoment(None, now))
    assert newcomer[0, match] == 0 and newcomer[0, names.index("rt_user_hours_since_last")] == pytest.approx(1.0)


def _tiny_model(n_features):
    return build_model(n_features, np.random.default_rng(0).normal(size=(16, n_features)).astype(np.float32))


def test_a_seeded_ranker_fits_to_the_same_weights_twice():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(256, 5)).astype(np.float32), rng.integers(0, 2, 256).astype(np.float32)

    def fitted(seed):
        model = build_model(5, x, seed=seed)
        model.fit(x, y, epochs=2, batch_size=32, verbose=0)
        return np.concatenate([w.ravel() for w in model.get_weights()])

    assert np.array_equal(fitted(3), fitted(3))
    assert not np.array_equal(fitted(3), fitted(4))


def test_registry_versions_pin_and_rollback(tmp_path, catalog):
    schema = FeatureSchema.for_catalog(catalog)
    registry = ModelRegistry(Settings(model_dir=tmp_path))
    assert registry.active() is None
    first = registry.save(_tiny_model(schema.width), schema, {"metrics": {"auc": 0.6}})
    second = registry.save(_tiny_model(schema.width), schema, {"metrics": {"auc": 0.7}})
    assert registry.versions() == [first, second] and registry.active() == second
    assert registry.rollback() == first and registry.active() == first
    with pytest.raises(ValueError):
        registry.rollback()
    registry.pin(None)
    assert registry.active() == second
    assert registry.metadata(second)["metrics"]["auc"] == 0.7


def test_a_version_carries_its_schema_and_normalisation(tmp_path, catalog):
    schema = FeatureSchema.for_catalog(catalog)
    registry = ModelRegistry(Settings(model_dir=tmp_path))
    version = registry.save(_tiny_model(schema.width), schema, {})
    loaded = registry.load(version)
    assert loaded.schema == schema
    assert len(loaded.metadata["normalisation"]["mean"]) == schema.width
    with pytest.raises(ValueError):
        registry.save(_tiny_model(schema.width + 1), schema, {})


def test_half_written_version_is_invisible(tmp_path):
    registry = ModelRegistry(Settings(model_dir=tmp_path))
    (registry.root / ".20990101T000000Z.partial").mkdir(parents=True)
    (registry.root / "20990101T000001Z").mkdir()  # no model file: not complete
    assert registry.versions() == []


def _genre_world(seed=1):
    """Users like one genre; recall lists are shuffled: the ranker must recover the genre signal."""
    from store import MemoryStore
    rng = np.random.default_rng(seed)
    rows = [{"anime_id": i, "name": f"T{i}", "genres": ["Action"] if i % 2 else ["Romance"], "type": "TV",
             "episodes": int(rng.integers(1, 50)), "rating": None if i % 7 == 0 else float(rng.uniform(5, 9)),
             "members": 1000 + i} for i in range(1, 201)]
    ratings, held, candidates = [], [], []
    for user in range(1, 151):
        liked = rng.permutation(np.arange(1 + user % 2, 201, 2))
        ratings += [(user, int(a), int(rng.choice([-1, 6, 7, 8, 9, 10]))) for a in liked[:5 + user % 7]]
        held += [(user, int(a), 8) for a in liked[10:15]]
        pool = np.r_[liked[10:30], rng.choice(np.arange(2 - user % 2, 201, 2), 20, replace=False)]
        candidates += [(user, "ease", r + 1, int(a), 1.0 / (r + 1)) for r, a in enumerate(rng.permutation(pool))]
        candidates += [(user, "als", r + 1, int(a), 2.0 - r / 10) for r, a in enumerate(rng.permutation(pool)[:10])]
    store = MemoryStore.from_frames(pd.DataFrame(ratings, columns=["user_id", "anime_id", "rating"]),
                                    pd.DataFrame(candidates, columns=["user_id", "source", "rank", "anime_id", "score"]),
                                    pd.DataFrame(columns=["anime_id", "signal", "rank", "similar_id", "score"]),
                                    pd.DataFrame(columns=["rank", "anime_id", "score"]))
    return Catalog.from_rows(rows), store, pd.DataFrame(held, columns=["user_id", "anime_id", "rating"])


def _fit(recommender, held_out, realtime=True, **kw):
    """fit_ranker on the genre world: the first half of users train, the rest validate; real-time counts are
    random per title (or absent)."""
    from training.train import fit_ranker
    rng = np.random.default_rng(3)
    rows = {a: {"clicks": int(rng.integers(0, 50)), "views": int(rng.integers(50, 500)),
                "clicks_24h": int(rng.integers(0, 5)), "views_24h": int(rng.integers(0, 20)), "window_at_24h": 1_000,
                "clicks_1h": int(rng.integers(0, 2)), "views_1h": int(rng.integers(0, 3)), "window_at_1h": 1_000}
            for a in range(1, 201)}
    users = {u: {"events": int(rng.integers(1, 80)), "clicks": int(rng.integers(0, 20)),
                 "last_event_at": int(rng.integers(0, 1_000)), "session_at": 990, "events_30m": int(rng.integers(0, 4)),
                 "genre_affinity": {"Action": float(rng.uniform(0, 3)), "Romance": float(rng.uniform(0, 3))}}
             for u in range(1, 151)}
    features = FrozenFeatures(rows if realtime else {}, 1_000, users if realtime else {})
    train = held_out[held_out["user_id"] <= 100]
    return fit_ranker(recommender, train, held_out[held_out["user_id"] > 100], features, features, **kw)


def test_ranker_learns_what_recall_order_misses():
    from ranking.recommender import Recommender
    catalog, store, held_out = _genre_world()
    _, metrics = _fit(Recommender(store, catalog), held_out, max_users=150, epochs=8, seed=0)
    assert metrics["validation_ndcg@10_ranker"] > metrics["validation_ndcg@10_recall_order"] + 0.1
    assert metrics["validation_auc"] > 0.7
    assert set(metrics["ablation"]) == {"with_realtime", "title_realtime_only", "without_realtime"}


def test_training_refuses_a_constant_feature_and_names_it():
    from ranking.recommender import Recommender
    from training.train import ConstantFeature
    catalog, store, held_out = _genre_world()
    with pytest.raises(ConstantFeature, match="rt_clicks"):
        _fit(Recommender(store, catalog), held_out, realtime=False, max_users=40, epochs=1, seed=0)


def test_training_drops_vocabulary_columns_no_candidate_has():
    from ranking.recommender import Recommender
    catalog, store, held_out = _genre_world()
    trainer = Recommender(store, catalog)
    model, _ = _fit(trainer, held_out, max_users=40, epochs=1, seed=0)
    assert trainer.schema.types == () and trainer.schema.sources == ("als", "ease")   # every title is a TV series
    assert not trainer.schema.history                  # no co-watch lists were published
    assert int(model.input_shape[-1]) == trainer.schema.width


def test_scores_stay_finite_and_of_training_scale_after_a_first_click():
    from ranking.recommender import Recommender
    catalog, store, held_out = _genre_world()
    trainer = Recommender(store, catalog)
    model, _ = _fit(trainer, held_out, max_users=60, epochs=2, seed=0)
    serving = Recommender(store, catalog, ranker=RankerVersion("v1", model, trainer.schema, {}))
    before = np.array([r["score"] for r in serving.rank(1, 20)])
    store.write_title_features(int(serving.rank(1, 20)[-1]["anime_id"]),
                               {"clicks": 1, "views": 0, "clicks_1h": 1, "views_1h": 0,
                                "window_at_1h": int(time.time() * 1000)})
    after = np.array([r["score"] for r in serving.rank(1, 20)])
    assert np.isfinite(after).all() and np.abs(after).max() < 10 * max(np.abs(before).max(), 1.0)


def test_a_catalog_with_a_new_genre_still_ranks_with_the_trained_model():
    from ranking.recommender import Recommender
    catalog, store, held_out = _genre_world()
    trainer = Recommender(store, catalog)
    model, _ = _fit(trainer, held_out, max_users=60, epochs=2, seed=0)
    serving = Recommender(store, catalog, ranker=RankerVersion("v1", model, trainer.schema, {}))
    grown = Catalog.from_rows([*(catalog.details(a) for a in catalog.frame.index),
                               {"anime_id": 999, "name": "New", "genres": ["Isekai"], "type": "TV", "episodes": 12,
                                "rating": 7.0, "members": 10}])
    serving.use_catalog(grown)
    ranked = serving.rank(1, 10)
    assert len(ranked) == 10 and all(np.isfinite(r["score"]) for r in ranked)
    assert serving.schema == trainer.schema


def test_title_table_gives_title_vector_for_every_title_at_once():
    now = 1_700_000_000_000
    rows = {1: {"clicks": 3, "views": 10, "clicks_1h": 1, "views_1h": 2, "window_at_1h": now - 60_000,
                "clicks_24h": 2, "views_24h": 6, "window_at_24h": now - 60_000},
            2: {"clicks": 5, "views": None, "clicks_1h": 4, "views_1h": 4, "window_at_1h": now - 7_200_000,
                "clicks_24h": 4, "views_24h": 4, "window_at_24h": now - 7_200_000},     # the hour has passed
            3: {"clicks": 1, "views": 1, "window_at_1h": None, "window_at_24h": None}}
    ids = [2, 99, 1, 3]
    expected = np.array([title_vector(rows.get(a), now) for a in ids], dtype=np.float32)
    np.testing.assert_allclose(TitleTable(rows).vectors(ids, now), expected, rtol=1e-6)
    assert TitleTable({}).vectors([5], now).shape == (1, len(TITLE_REALTIME))


def test_the_lite_scorer_scores_as_the_tensorflow_model_does():
    x = np.random.default_rng(5).normal(size=(300, 7)).astype(np.float32)
    model = build_model(7, x, seed=2)
    model.fit(x, (x[:, 0] > 0).astype(np.float32), epochs=1, verbose=0)
    lite, reference = LiteScorer(model), Scorer(model)
    for rows in (300, 17, 300, 1):                       # the interpreter is resized as the count changes
        np.testing.assert_allclose(lite(x[:rows]), reference(x[:rows]), rtol=1e-4, atol=1e-5)
        assert np.array_equal(np.argsort(-lite(x[:rows]), kind="stable"),
                              np.argsort(-reference(x[:rows]), kind="stable"))
    assert lite(x[:0]).shape == (0,)


def test_softmax_list_loss_is_the_cross_entropy_over_each_lists_real_rows():
    from ranking.model import softmax_list_loss
    scores = np.array([[2.0, 1.0, 0.0, 50.0], [0.5, 0.5, 0.0, 0.0]], dtype=np.float32)
    labels = np.array([[1.0, 1.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]], dtype=np.float32)
    mask = np.array([[True, True, True, False], [True, True, False, False]])
    log_p = scores[0, :3] - np.log(np.exp(scores[0, :3]).sum())
    expected = -(0.5 * log_p[0] + 0.5 * log_p[1])   # the padded row (score 50, label 1) and the list without a positive count for nothing
    assert float(softmax_list_loss(labels, scores, mask)) == pytest.approx(expected, rel=1e-5)


def test_listwise_fit_learns_to_put_the_positive_first():
    from ranking.model import fit_listwise
    rng = np.random.default_rng(0)
    lists, labels = [], []
    for _ in range(64):
        n = int(rng.integers(5, 12))
        x = rng.normal(size=(n, 3)).astype(np.float32)
        y = np.zeros(n, dtype=np.float32)
        y[np.argmax(x[:, 1])] = 1.0     # the row with the largest second feature is the one clicked
        lists.append(x)
        labels.append(y)
    model = build_model(3, np.concatenate(lists), seed=0)
    history = fit_listwise(model, lists, labels, epochs=30, lists_per_batch=8, learning_rate=1e-2, seed=0)
    assert history[-1] < history[0] / 2
    top = [int(np.argmax(Scorer(model)(x))) == int(np.argmax(y)) for x, y in zip(lists, labels)]
    assert np.mean(top) > 0.9


def test_random_split_holds_out_a_fifth_of_each_users_titles_and_keeps_validation_users_apart():
    from training.train import random_split
    rng = np.random.default_rng(0)
    ratings = pd.DataFrame([(u, a, int(rng.integers(1, 11))) for u in range(1, 101) for a in range(u % 7 + 3 + u % 30)],
                           columns=["user_id", "anime_id", "rating"])
    kept, train, val = random_split(ratings, seed=5)
    together = pd.concat([kept, train, val]).sort_values(["user_id", "anime_id"]).reset_index(drop=True)
    assert together.equals(ratings.sort_values(["user_id", "anime_id"]).reset_index(drop=True))
    held = pd.concat([train, val]).groupby("user_id").size()
    sizes = ratings.groupby("user_id").size()
    assert (held == np.clip(np.floor(0.2 * sizes[held.index] + 0.5), 1, None)).all()
    assert (sizes[sizes < 5].index.isin(held.index)).sum() == 0
    assert not set(train["user_id"]) & set(val["user_id"]) and len(set(val["user_id"])) == int(0.2 * len(held))
    again = random_split(ratings, seed=5)
    assert again[1].equals(train) and again[2].equals(val)


def test_history_similarity_is_the_max_top5_and_mean_of_a_candidates_cowatch_with_the_users_titles():
    from ranking.features import history_similarity
    neighbours = {1: [(10, 0.9), (11, 0.2)], 2: [(10, 0.5), (12, 0.4)], 3: [(10, 0.1)], 4: [], 5: [(10, 0.3)],
                  6: [(10, 0.2)], 7: [(10, 0.05)]}
    x = history_similarity([10, 11, 13], [tuple(zip(*pairs)) if pairs else ((), ()) for pairs in neighbours.values()],
                           n_titles=8)
    assert x[0].tolist() == pytest.approx([0.9, (0.9 + 0.5 + 0.3 + 0.2 + 0.1) / 5, 2.05 / 8])
    assert x[1].tolist() == pytest.approx([0.2, 0.2 / 5, 0.2 / 8])
    assert x[2].tolist() == [0.0, 0.0, 0.0]                      # a neighbour of none of the user's titles


def test_history_similarity_matches_a_pair_by_pair_reading_on_random_histories():
    from ranking.features import HISTORY_TOP, history_similarity
    rng = np.random.default_rng(4)
    for _ in range(20):
        candidates = rng.choice(500, size=int(rng.integers(1, 60)), replace=False)
        lists = [(rng.choice(500, size=int(rng.integers(0, 40)), replace=False), rng.random(40))
                 for _ in range(int(rng.integers(0, 12)))]
        lists = [(ids, sims[:len(ids)]) for ids, sims in lists]
        expected = np.zeros((len(candidates), 3))
        for row, candidate in enumerate(candidates):
            sims = sorted((float(s) for ids, ss in lists for a, s in zip(ids, ss) if a == candidate), reverse=True)
            if sims:
                expected[row] = (sims[0], sum(sims[:HISTORY_TOP]) / HISTORY_TOP, sum(sims) / 15)
        np.testing.assert_allclose(history_similarity(candidates, lists, n_titles=15), expected, rtol=1e-6)


def test_raw_scores_and_standardised_copies_place_a_candidate_within_its_list(items):
    cands = [{"anime_id": a, "score": 0.01, "source": "ease", "ranks": {"ease": r}, "scores": {"ease": s}}
             for a, r, s in ((1, 1, 0.9), (2, 2, 0.5), (3, 3, 0.1))]
    cands.append({"anime_id": 4, "score": 0.005, "source": "popular", "ranks": {"popular": 1}, "scores": {}})
    names = items.schema.names
    x = build_features(items, UserProfile(), cands, {}, history=np.array([[0.5, 0.1, 0.01]] * 4, dtype=np.float32))
    assert x[:, names.index("score_ease")].tolist() == pytest.approx([0.9, 0.5, 0.1, 0.0])
    z = x[:, names.index("z_score_ease")]
    assert z.mean() == pytest.approx(0.0, abs=1e-6) and z.std() == pytest.approx(1.0, rel=1e-5) and z[0] > z[1] > z[2]
    assert (x[:, names.index("z_history_sim_max")] == 0).all()   # constant within the list: no place to tell
    assert "z_user_titles" not in names                            # the user's columns are one value per list
    assert "score_popular" not in names                            # only per-user batch lists have scores


def test_an_ensemble_scores_the_mean_of_its_members_and_is_saved_and_served_as_one_model(tmp_path, catalog):
    from ranking.model import averaged
    schema = FeatureSchema.for_catalog(catalog)
    data = np.random.default_rng(0).normal(size=(16, schema.width)).astype(np.float32)
    members = [build_model(schema.width, data, seed=s, name=f"ranker_{s}") for s in (1, 2, 3)]
    ensemble = averaged(members)
    x = np.random.default_rng(1).normal(size=(40, schema.width)).astype(np.float32)
    expected = np.mean([Scorer(m)(x) for m in members], axis=0)
    np.testing.assert_allclose(Scorer(ensemble)(x), expected, rtol=1e-5, atol=1e-6)
    registry = ModelRegistry(Settings(model_dir=tmp_path))
    version = registry.save(ensemble, schema, {})
    loaded = registry.load(version)
    np.testing.assert_allclose(LiteScorer(loaded.model)(x), expected, rtol=1e-4, atol=1e-5)
    assert len(loaded.metadata["normalisation"]["mean"]) == schema.width
    serving = registry.load_serving(version)           # the TF Lite file saved with it: no Keras load
    assert serving.model is None and serving.schema == schema
    np.testing.assert_allclose(serving.scorer(x), expected, rtol=1e-4, atol=1e-5)


def test_a_version_saved_without_its_tflite_file_is_still_served(tmp_path, catalog):
    from ranking.registry import LITE_FILE
    schema = FeatureSchema.for_catalog(catalog)
    data = np.random.default_rng(0).normal(size=(16, schema.width)).astype(np.float32)
    model = build_model(schema.width, data, seed=1)
    registry = ModelRegistry(Settings(model_dir=tmp_path))
    version = registry.save(model, schema, {})
    (registry.root / version / LITE_FILE).unlink()       # as saved before the file existed
    x = np.random.default_rng(1).normal(size=(20, schema.width)).astype(np.float32)
    np.testing.assert_allclose(registry.load_serving(version).scorer(x), Scorer(model)(x), rtol=1e-4, atol=1e-5)

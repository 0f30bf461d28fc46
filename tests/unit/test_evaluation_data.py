"""Loading the Kaggle-shaped CSVs and the per-user held-out split."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation.data import (InteractionData, holdout_counts, load_anime, load_ratings, read_user_ids,
                             restrict_eval_users, restrict_to_catalog, split_interactions)
from evaluation.synthetic import clustered_interactions


def _write(path: Path, text: str, newline: str = "\n") -> Path:
    path.write_bytes(text.replace("\n", newline).encode())
    return path


def test_load_ratings_cleans_and_keeps_the_last_duplicate(tmp_path):
    # "9.0" is no rating for ingest's loader, so none here either: 2,10,7 stays the last valid row
    path = _write(tmp_path / "r.csv", "user_id,anime_id,rating\n1,10,8\n1,11,-1\nx,12,5\n1,13,11\n"
                                      "2,10,0\n2,14,\n1,10,3\n2,10,7\n2,10,9.0\n", newline="\r\n")
    frame = load_ratings(path)
    assert frame.sort_values(["user_id", "anime_id"]).values.tolist() == [[1, 10, 3], [1, 11, -1], [2, 10, 7]]


def test_load_ratings_requires_the_kaggle_columns(tmp_path):
    with pytest.raises(ValueError, match="anime_id"):
        load_ratings(_write(tmp_path / "r.csv", "user,item,rating\n1,2,3\n"))


def test_load_anime_unescapes_names_and_parses_messy_fields(tmp_path):
    path = _write(tmp_path / "a.csv",
                  'anime_id,name,genre,type,episodes,rating,members\n'
                  '1,Gintama&#039;,"Action, Comedy",TV,Unknown,9.1,100\n'
                  '2,&quot;Bungaku Shoujo&quot; Memoire,,,1,,50\n', newline="\r\n")
    anime = load_anime(path)
    assert anime["name"].tolist() == ["Gintama'", '"Bungaku Shoujo" Memoire']
    assert np.isnan(anime.loc[0, "episodes"]) and anime.loc[1, "episodes"] == 1
    assert anime.loc[0, "genres"] == ["Action", "Comedy"]
    assert np.isnan(anime.loc[1, "rating"]) and anime.loc[1, "genres"] is None
    assert anime["members"].tolist() == [100, 50]


def test_restrict_to_catalog_drops_unknown_titles():
    ratings = pd.DataFrame({"user_id": [1, 1], "anime_id": [5, 6], "rating": [8, 9]})
    kept = restrict_to_catalog(ratings, pd.DataFrame({"anime_id": [5]}))
    assert kept["anime_id"].tolist() == [5]


def test_read_user_ids_skips_blanks_and_comments(tmp_path):
    path = _write(tmp_path / "u.txt", "3\n\n1  # first\n# only a comment\n3\n")
    assert read_user_ids(path).tolist() == [1, 3]


def test_holdout_counts_round_and_respect_the_minimum():
    sizes = np.array([1, 4, 5, 7, 8, 13, 100])
    assert holdout_counts(sizes, 0.2, 5).tolist() == [0, 0, 1, 1, 2, 3, 20]
    assert holdout_counts(np.array([2, 3]), 0.9, 1).tolist() == [1, 2]  # never the whole history


def _pairs(frame: pd.DataFrame, id_column: str = "anime_id") -> set[tuple[int, int]]:
    return set(zip(frame["user_id"], frame[id_column]))


def _test_pairs(split) -> set[tuple[int, int]]:
    users = split.train.user_ids[split.test["user_index"].to_numpy()]
    return set(zip(users.tolist(), split.test["anime_id"].tolist()))


def test_split_is_reproducible_and_independent_of_row_order():
    frame = clustered_interactions(n_users=40, seed=3)
    first = split_interactions(frame, 0.2, 5, seed=7)
    shuffled = split_interactions(frame.sample(frac=1.0, random_state=1), 0.2, 5, seed=7)
    other_seed = split_interactions(frame, 0.2, 5, seed=8)
    assert _test_pairs(first) == _test_pairs(shuffled)
    assert _test_pairs(first) != _test_pairs(other_seed)


def test_split_partitions_each_users_titles():
    frame = clustered_interactions(n_users=40, seed=3)
    split = split_interactions(frame, 0.2, 5, seed=7)
    train_pairs = _pairs(split.train.to_frame())
    test_pairs = _test_pairs(split)
    assert train_pairs.isdisjoint(test_pairs)
    assert train_pairs | test_pairs == _pairs(frame)
    sizes = frame.groupby("user_id").size()
    held = pd.Series([u for u, _ in test_pairs]).value_counts()
    for user, size in sizes.items():
        expected = int(np.floor(0.2 * size + 0.5)) if size >= 5 else 0
        assert held.get(user, 0) == max(expected, 1 if size >= 5 else 0)


def test_users_with_too_few_titles_stay_train_only():
    frame = pd.DataFrame({"user_id": [1] * 4 + [2] * 10, "anime_id": list(range(4)) + list(range(10)),
                          "rating": [8] * 14})
    split = split_interactions(frame, 0.2, 5, seed=0)
    user_ids = split.train.user_ids
    assert user_ids[split.eval_users].tolist() == [2]
    assert split.train.ratings[np.searchsorted(user_ids, 1)].nnz == 4
    assert len(split.test) == 2


def test_test_titles_unseen_in_train_are_marked_outside_the_catalog():
    # title 99 is watched by user 1 only; with holdout 0.5 and 2 titles, one of them is held out
    frame = pd.DataFrame({"user_id": [1, 1, 2, 2], "anime_id": [5, 99, 5, 6], "rating": [8, 9, 7, 6]})
    for seed in range(20):
        split = split_interactions(frame, 0.5, 2, seed=seed)
        cold = split.test[split.test["anime_id"] == 99]
        if len(cold):
            assert cold["item_index"].tolist() == [-1]
            assert 99 not in split.train.item_ids
            return
    pytest.fail("title 99 was never held out")


def test_interaction_views_keep_unscored_watches():
    frame = pd.DataFrame({"user_id": [1, 1, 2], "anime_id": [5, 6, 5], "rating": [-1, 9, 3]})
    data = InteractionData.from_frame(frame, np.array([1, 2]), np.array([5, 6]))
    assert data.watched.toarray().tolist() == [[1, 1], [1, 0]]
    assert data.explicit.toarray().tolist() == [[0, 9], [3, 0]]
    assert data.item_counts.tolist() == [2, 1]
    assert sorted(data.to_frame().itertuples(index=False, name=None)) == [(1, 5, -1), (1, 6, 9), (2, 5, 3)]


def test_restrict_eval_users_keeps_only_requested_ids():
    split = split_interactions(clustered_interactions(n_users=20, seed=1), 0.2, 5, seed=0)
    wanted = split.train.user_ids[split.eval_users[:3]]
    restricted = restrict_eval_users(split, np.append(wanted, 10_000))
    assert split.train.user_ids[restricted.eval_users].tolist() == wanted.tolist()


def test_cold_start_split_keeps_one_to_four_titles_of_chosen_users_and_holds_out_the_rest():
    from evaluation.data import cold_start_split
    frame = clustered_interactions(n_users=60, seed=3)
    cold = cold_start_split(frame, per_group=5, min_titles=6, seed=1)
    train, test = cold.split.train, cold.split.test
    assert sorted(np.bincount(cold.kept)[1:].tolist()) == [5, 5, 5, 5]
    sizes = frame.groupby("user_id").size()
    for user_index, kept in zip(cold.split.eval_users, cold.kept):
        user_id = int(train.user_ids[user_index])
        held = test[test["user_index"] == user_index]
        assert train.ratings[user_index].nnz == kept and kept + len(held) == sizes[user_id]
        assert not set(held["anime_id"]) & set(train.item_ids[train.ratings[user_index].indices])
    others = np.setdiff1d(np.arange(train.n_users), cold.split.eval_users)
    assert all(train.ratings[u].nnz == sizes[int(train.user_ids[u])] for u in others)
    again = cold_start_split(frame, per_group=5, min_titles=6, seed=1)
    assert (again.split.eval_users == cold.split.eval_users).all() and again.split.test.equals(test)


def test_full_frame_gives_back_every_interaction_of_a_split():
    from evaluation.data import full_frame
    frame = clustered_interactions(n_users=30, seed=4)
    back = full_frame(split_interactions(frame, 0.2, 5, seed=0))
    key = ["user_id", "anime_id"]
    assert back.sort_values(key).reset_index(drop=True)[key + ["rating"]].astype("int64").equals(
        frame.sort_values(key).reset_index(drop=True)[key + ["rating"]].astype("int64"))

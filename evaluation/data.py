"""The Kaggle CSVs as the harness reads them (ingest's readers), and the per-user held-out split.

Conventions used by the whole harness:

* users and items are addressed by dense *indices* (rows / columns of a sparse matrix);
  ``InteractionData.user_ids`` / ``item_ids`` map them back to the original ids;
* a rating of ``-1`` means "watched without a score" and is kept as an explicit ``-1``
  in the sparse matrix (so ``matrix != 0`` is exactly "watched");
* the item catalog of a split is the set of titles seen in the *training* part: a
  held-out title nobody watched in train cannot be scored by any collaborative model,
  so it is no candidate, but it still counts as relevant (the recall denominator).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

# The CSVs are read by ingest's readers: the same cleaning and validation as a load into Cassandra
# (ratings -1 or 1..10, last duplicate wins, bad rows dropped and logged).
from ingest.frames import read_anime as load_anime  # noqa: F401  (the harness's names)
from ingest.frames import read_ratings as load_ratings  # noqa: F401
# The per-user hold-out is ranker training's own (training.splits): one procedure for both.
from training.splits import holdout_counts, holdout_mask, shuffled_rank_in_user  # noqa: F401

log = logging.getLogger(__name__)

UNSCORED = -1


# --------------------------------------------------------------------------- loading


def restrict_to_catalog(ratings: pd.DataFrame, anime: pd.DataFrame) -> pd.DataFrame:
    """Keep ratings of titles listed in the catalog (logged when something is dropped)."""
    known = ratings["anime_id"].isin(anime["anime_id"])
    if not known.all():
        log.warning("dropped %d rating(s) of anime ids absent from the catalog", int((~known).sum()))
    return ratings[known].reset_index(drop=True)


def read_user_ids(path: Path) -> np.ndarray:
    """One user id per line; blank lines and ``#`` comments ignored."""
    entries = (line.split("#", 1)[0].strip() for line in Path(path).read_text().splitlines())
    return np.unique(np.asarray([int(entry) for entry in entries if entry], dtype=np.int64))


# --------------------------------------------------------------------------- matrices


def positions_in(universe: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of each value in the sorted ``universe``, and whether it is there at all."""
    if len(universe) == 0:
        return np.zeros(len(values), dtype=np.int64), np.zeros(len(values), dtype=bool)
    positions = np.minimum(np.searchsorted(universe, values), len(universe) - 1)
    return positions, universe[positions] == values


@dataclass(frozen=True, eq=False)
class InteractionData:
    """A users x items sparse matrix of ratings (1..10, or -1 = watched without score)."""

    ratings: sp.csr_matrix
    user_ids: np.ndarray
    item_ids: np.ndarray

    @property
    def n_users(self) -> int:
        return self.ratings.shape[0]

    @property
    def n_items(self) -> int:
        return self.ratings.shape[1]

    @cached_property
    def watched(self) -> sp.csr_matrix:
        """Binary float32 matrix: 1 where the user watched the title."""
        binary = self.ratings.copy().astype(np.float32)
        binary.data[:] = 1.0
        return binary

    @cached_property
    def explicit(self) -> sp.csr_matrix:
        """Only the scored interactions (unscored watches removed)."""
        scored = self.ratings.copy()
        scored.data[scored.data == UNSCORED] = 0
        scored.eliminate_zeros()
        return scored

    @cached_property
    def item_counts(self) -> np.ndarray:
        """Number of users who watched each title."""
        return np.asarray(self.watched.sum(axis=0)).ravel()

    def to_frame(self) -> pd.DataFrame:
        coo = self.ratings.tocoo()
        return pd.DataFrame({
            "user_id": self.user_ids[coo.row],
            "anime_id": self.item_ids[coo.col],
            "rating": coo.data.astype(np.int64),
        })

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, user_ids: np.ndarray, item_ids: np.ndarray) -> "InteractionData":
        """Build the matrix over the given (sorted) id universes; rows of unknown ids are dropped.

        ``frame`` must hold at most one row per (user, anime) pair (see ``load_ratings``).
        """
        rows, rows_found = positions_in(user_ids, frame["user_id"].to_numpy())
        cols, cols_found = positions_in(item_ids, frame["anime_id"].to_numpy())
        keep = rows_found & cols_found
        matrix = sp.csr_matrix(
            (frame["rating"].to_numpy(np.float32)[keep], (rows[keep], cols[keep])),
            shape=(len(user_ids), len(item_ids)),
        )
        matrix.sort_indices()
        return cls(matrix, user_ids, item_ids)


# --------------------------------------------------------------------------- split


@dataclass(frozen=True, eq=False)
class Split:
    """Training matrix plus held-out interactions.

    ``test`` columns: ``user_index`` (row in ``train``), ``anime_id``, ``item_index``
    (column in ``train``, or -1 when nobody watched the title in train), ``rating``.
    """

    train: InteractionData
    test: pd.DataFrame
    eval_users: np.ndarray = field(repr=False)

    def relevant(self, min_score: int | None = None) -> pd.DataFrame:
        """Held-out rows that count as relevant: all, or only scores >= ``min_score``."""
        if min_score is None:
            return self.test
        return self.test[self.test["rating"] >= min_score]


def split_interactions(frame: pd.DataFrame, holdout: float = 0.2, min_user_items: int = 5,
                       seed: int = 42) -> Split:
    """Per-user random hold-out; users with fewer than ``min_user_items`` titles stay train-only."""
    if not 0.0 < holdout < 1.0:
        raise ValueError(f"holdout must be in (0, 1), got {holdout}")
    frame = frame.sort_values(["user_id", "anime_id"], kind="stable").reset_index(drop=True)
    held = holdout_mask(frame, holdout, min_user_items, seed)
    train_frame, test_frame = frame[~held], frame[held]
    user_ids = np.unique(frame["user_id"].to_numpy())
    item_ids = np.unique(train_frame["anime_id"].to_numpy())
    train = InteractionData.from_frame(train_frame, user_ids, item_ids)
    test = _index_test_rows(test_frame, user_ids, item_ids)
    return Split(train, test, np.unique(test["user_index"].to_numpy()))


def _index_test_rows(test_frame: pd.DataFrame, user_ids: np.ndarray, item_ids: np.ndarray) -> pd.DataFrame:
    anime = test_frame["anime_id"].to_numpy()
    position, in_catalog = positions_in(item_ids, anime)
    return pd.DataFrame({
        "user_index": np.searchsorted(user_ids, test_frame["user_id"].to_numpy()),
        "anime_id": anime,
        "item_index": np.where(in_catalog, position, -1),
        "rating": test_frame["rating"].to_numpy(),
    })


def restrict_eval_users(split: Split, user_ids: np.ndarray) -> Split:
    """Evaluate only the given user ids (others still train); unknown ids are ignored."""
    wanted = np.isin(split.train.user_ids[split.eval_users], user_ids)
    missing = len(np.setdiff1d(user_ids, split.train.user_ids[split.eval_users]))
    if missing:
        log.warning("%d requested evaluation user(s) have no held-out data and are skipped", missing)
    return Split(split.train, split.test, split.eval_users[wanted])


def full_frame(split: Split) -> pd.DataFrame:
    """Every interaction of a split, train and held-out, as a ratings frame (user_id, anime_id, rating)."""
    test = split.test
    held = pd.DataFrame({"user_id": split.train.user_ids[test["user_index"].to_numpy()],
                         "anime_id": test["anime_id"].to_numpy(), "rating": test["rating"].to_numpy()})
    return pd.concat([split.train.to_frame(), held], ignore_index=True)


@dataclass(frozen=True, eq=False)
class ColdStart:
    """A split for cold-start users: ``kept[i]`` titles of ``split.eval_users[i]`` are in train, the rest held out."""

    split: Split
    kept: np.ndarray


def cold_start_split(frame: pd.DataFrame, per_group: int = 200, max_kept: int = 4, min_titles: int = 10,
                     seed: int = 42) -> ColdStart:
    """Users made cold on purpose: ``per_group`` users (of those with at least ``min_titles`` titles) keep
    1, 2, ... ``max_kept`` random titles in train and are scored on all their others; every other user
    keeps their whole history in train. One training matrix serves every group."""
    frame = frame.sort_values(["user_id", "anime_id"], kind="stable").reset_index(drop=True)
    rng = np.random.default_rng(seed)
    sizes = frame.groupby("user_id").size()
    eligible = sizes[sizes >= min_titles].index.to_numpy()
    chosen = rng.choice(eligible, min(len(eligible), per_group * max_kept), replace=False)
    keep_of = dict(zip(chosen.tolist(), np.arange(len(chosen)) % max_kept + 1))
    keep = frame["user_id"].map(keep_of).fillna(0).to_numpy(np.int64)
    held = (keep > 0) & (shuffled_rank_in_user(frame["user_id"].to_numpy(), rng) >= keep)
    user_ids = np.unique(frame["user_id"].to_numpy())
    item_ids = np.unique(frame.loc[~held, "anime_id"].to_numpy())
    train = InteractionData.from_frame(frame[~held], user_ids, item_ids)
    test = _index_test_rows(frame[held], user_ids, item_ids)
    eval_users = np.unique(test["user_index"].to_numpy())
    kept = np.array([keep_of[int(u)] for u in user_ids[eval_users]], dtype=np.int64)
    return ColdStart(Split(train, test, eval_users), kept)

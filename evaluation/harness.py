"""Fit, time, tune and score models on a ``Split``."""
from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evaluation import metrics
from evaluation.data import ColdStart, Split, split_interactions
from evaluation.models import Recommender

log = logging.getLogger(__name__)

TUNING_METRIC = "ndcg@10"
# Users by how many titles they have (train and held out): (label, at least, below).
ACTIVITY_BANDS = (("< 20 titles", 0, 20), ("20-100 titles", 20, 101), ("> 100 titles", 101, np.iinfo(np.int64).max))
RARE_WATCHERS = 10   # a title fewer training users watched counts as rare (rare@K: share of such slots)


@dataclass(frozen=True)
class EvaluationConfig:
    ks: tuple[int, ...] = (5, 10, 20)
    liked_threshold: int = 8
    holdout: float = 0.2
    min_user_items: int = 5
    seed: int = 42
    tune: bool = True
    tuning_users: int = 1500  # validation users sampled per tuning fit, to bound its cost

    @property
    def max_k(self) -> int:
        return max(self.ks)


@dataclass
class ModelResult:
    name: str
    params: dict[str, Any]
    train_seconds: float
    inference_seconds: float
    n_users: int
    metrics: dict[str, float]
    liked_metrics: dict[str, float]
    beyond_accuracy: dict[str, float]
    rating: dict[str, float] | None = None
    tuning: list[dict[str, Any]] = field(default_factory=list)
    tuning_seconds: float = 0.0
    sample_recommendations: list[int] = field(default_factory=list)
    chosen: dict[str, Any] = field(default_factory=dict)          # the constructor arguments it was built with
    by_activity: dict[str, float] = field(default_factory=dict)   # NDCG@10 per ACTIVITY_BANDS label
    cold_start: dict[str, float] = field(default_factory=dict)    # NDCG@10 per titles kept ("1".."4")

    @property
    def inference_ms_per_user(self) -> float:
        return 1000.0 * self.inference_seconds / max(self.n_users, 1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"inference_ms_per_user": self.inference_ms_per_user}


# --------------------------------------------------------------------------- scoring


def relevant_counts(relevant: pd.DataFrame, users: np.ndarray) -> np.ndarray:
    """Number of relevant held-out rows of each user in ``users`` (cold titles included)."""
    counts = relevant["user_index"].value_counts()
    return counts.reindex(users, fill_value=0).to_numpy()


def score_ranking(recommended: np.ndarray, users: np.ndarray, relevant: pd.DataFrame,
                  ks: Sequence[int]) -> dict[str, float]:
    """Ranking metrics over the users of ``users`` that have at least one relevant title."""
    n_relevant = relevant_counts(relevant, users)
    has_relevant = n_relevant > 0
    hits = metrics.hit_matrix(recommended[has_relevant], users[has_relevant],
                              relevant["user_index"].to_numpy(), relevant["item_index"].to_numpy())
    return metrics.ranking_metrics(hits, n_relevant[has_relevant], ks) | {"users": int(has_relevant.sum())}


def beyond_accuracy(recommended: np.ndarray, split: Split, ks: Sequence[int]) -> dict[str, float]:
    train = split.train
    results: dict[str, float] = {}
    for k in ks:
        results[f"coverage@{k}"] = metrics.catalog_coverage(recommended, train.n_items, k)
        results[f"novelty@{k}"] = metrics.novelty(recommended, train.item_counts, train.n_users, k)
        results[f"rare@{k}"] = metrics.rare_share(recommended, train.item_counts, RARE_WATCHERS, k)
    return results


def per_user_ndcg(recommended: np.ndarray, users: np.ndarray, relevant: pd.DataFrame, k: int = 10) -> np.ndarray:
    """NDCG@k of each user of ``users`` (NaN for a user without a relevant title)."""
    n_relevant = relevant_counts(relevant, users)
    hits = metrics.hit_matrix(recommended, users, relevant["user_index"].to_numpy(), relevant["item_index"].to_numpy())
    scores = np.full(len(users), np.nan)
    has = n_relevant > 0
    scores[has] = metrics.ndcg_at_k(hits[has], n_relevant[has], k)
    return scores


def activity_bands(split: Split) -> dict[str, np.ndarray]:
    """Per :data:`ACTIVITY_BANDS` label, which evaluated users have that many titles (train and held out)."""
    users = split.eval_users
    titles = np.diff(split.train.ratings.indptr)[users] + relevant_counts(split.test, users)
    return {label: (titles >= low) & (titles < high) for label, low, high in ACTIVITY_BANDS}


def by_activity(recommended: np.ndarray, split: Split, k: int = 10) -> dict[str, float]:
    """Mean NDCG@k of the evaluated users in each :data:`ACTIVITY_BANDS` band of their total titles."""
    ndcg = per_user_ndcg(recommended, split.eval_users, split.test, min(k, recommended.shape[1]))
    return {label: float(np.nanmean(ndcg[band])) for label, band in activity_bands(split).items() if band.any()}


def activity_counts(split: Split) -> dict[str, int]:
    return {label: int(band.sum()) for label, band in activity_bands(split).items()}


def rating_errors(model: Recommender, split: Split, users: np.ndarray) -> dict[str, float] | None:
    """RMSE/MAE on held-out explicit scores of catalog titles, for score-predicting models."""
    if not model.predicts_scores:
        return None
    test = split.test
    rows = test[test["user_index"].isin(users) & (test["rating"] >= 1) & (test["item_index"] >= 0)]
    if rows.empty:
        return None
    predicted = model.predict_scores(rows["user_index"].to_numpy(), rows["item_index"].to_numpy())
    actual = rows["rating"].to_numpy(np.float64)
    return {"rmse": metrics.rmse(predicted, actual), "mae": metrics.mae(predicted, actual), "n": int(len(rows))}


def check_recommendations(recommended: np.ndarray, users: np.ndarray, split: Split, k: int) -> None:
    """Enforce the ``Recommender`` contract: shape, valid indices, no duplicates, nothing seen."""
    if recommended.shape != (len(users), k):
        raise ValueError(f"expected recommendations of shape {(len(users), k)}, got {recommended.shape}")
    filled = recommended != metrics.EMPTY_SLOT
    if ((recommended < metrics.EMPTY_SLOT) | (recommended >= split.train.n_items)).any():
        raise ValueError("recommended item index out of range")
    ordered = np.sort(np.where(filled, recommended, -np.arange(1, k + 1)), axis=1)
    if (np.diff(ordered, axis=1) == 0).any():
        raise ValueError("duplicate item in a user's recommendations")
    seen = split.train.ratings[users].tocoo()
    if metrics.hit_matrix(recommended, np.arange(len(users)), seen.row, seen.col).any():
        raise ValueError("a recommendation repeats a title from the user's training data")


# --------------------------------------------------------------------------- tuning


def parameter_grid(grid: dict[str, Sequence[Any]]) -> list[dict[str, Any]]:
    names = list(grid)
    return [dict(zip(names, values)) for values in itertools.product(*(grid[n] for n in names))]


def validation_split(split: Split, config: EvaluationConfig) -> Split:
    """Hold out part of *train* (never the test holdout) for hyper-parameter selection."""
    inner = split_interactions(split.train.to_frame(), config.holdout, config.min_user_items, config.seed + 1)
    rng = np.random.default_rng(config.seed + 1)
    users = inner.eval_users
    if len(users) > config.tuning_users:
        users = np.sort(rng.choice(users, config.tuning_users, replace=False))
    return Split(inner.train, inner.test, users)


def tune(model_cls: type[Recommender], split: Split, config: EvaluationConfig) -> tuple[dict[str, Any], list[dict]]:
    """Grid search on a validation split; returns the best parameters and every trial."""
    grid = parameter_grid(dict(model_cls.tuning_grid))
    if not config.tune or len(grid) <= 1:
        return (grid[0] if grid else {}), []
    validation = validation_split(split, config)
    trials = []
    for params in grid:
        model = model_cls(seed=config.seed, **params).fit(validation.train)
        recommended = model.recommend(validation.eval_users, 10)
        score = score_ranking(recommended, validation.eval_users, validation.test, [10])[TUNING_METRIC]
        log.info("  tuning %s %s: validation %s = %.4f", model_cls.__name__, params, TUNING_METRIC, score)
        trials.append({"params": params, TUNING_METRIC: score})
    best = max(trials, key=lambda trial: trial[TUNING_METRIC])
    return best["params"], trials


# --------------------------------------------------------------------------- one model


def evaluate_model(name: str, model_cls: type[Recommender], split: Split, config: EvaluationConfig,
                   sample_user: int | None = None) -> ModelResult:
    started = time.perf_counter()
    params, trials = tune(model_cls, split, config)
    tuning_seconds = time.perf_counter() - started

    model = model_cls(seed=config.seed, **params)
    started = time.perf_counter()
    model.fit(split.train)
    train_seconds = time.perf_counter() - started

    users = split.eval_users
    started = time.perf_counter()
    recommended = np.asarray(model.recommend(users, config.max_k), dtype=np.int64)
    inference_seconds = time.perf_counter() - started
    check_recommendations(recommended, users, split, config.max_k)

    return ModelResult(
        name=name,
        params=model.params(),
        train_seconds=train_seconds,
        inference_seconds=inference_seconds,
        n_users=len(users),
        metrics=score_ranking(recommended, users, split.relevant(), config.ks),
        liked_metrics=score_ranking(recommended, users, split.relevant(config.liked_threshold), config.ks),
        beyond_accuracy=beyond_accuracy(recommended, split, config.ks),
        rating=rating_errors(model, split, users),
        tuning=trials,
        tuning_seconds=tuning_seconds if trials else 0.0,
        sample_recommendations=_sample_row(recommended, users, split, sample_user),
        chosen=params,
        by_activity=by_activity(recommended, split),
    )


def cold_start(result: ModelResult, model_cls: type[Recommender], cold: ColdStart, config: EvaluationConfig,
               k: int = 10) -> dict[str, float]:
    """Fit the model as evaluated (its chosen arguments) on the cold-start split; mean NDCG@k per titles kept."""
    model = model_cls(seed=config.seed, **result.chosen).fit(cold.split.train)
    users = cold.split.eval_users
    recommended = np.asarray(model.recommend(users, k), dtype=np.int64)
    ndcg = per_user_ndcg(recommended, users, cold.split.test, k)
    return {str(kept): float(np.nanmean(ndcg[cold.kept == kept])) for kept in np.unique(cold.kept)}


def _sample_row(recommended: np.ndarray, users: np.ndarray, split: Split, sample_user: int | None) -> list[int]:
    if sample_user is None or sample_user not in users:
        return []
    row = recommended[np.searchsorted(users, sample_user)]
    return [int(split.train.item_ids[item]) for item in row if item != metrics.EMPTY_SLOT]


def pick_sample_user(split: Split) -> int | None:
    """A typical evaluated user (median held-out size) whose lists the report shows."""
    if len(split.eval_users) == 0:
        return None
    counts = relevant_counts(split.test, split.eval_users)
    return int(split.eval_users[np.argsort(counts, kind="stable")[len(counts) // 2]])


def run_all(models: dict[str, type[Recommender]], split: Split, config: EvaluationConfig,
            sample_user: int | None = None, cold: ColdStart | None = None,
            cold_models: Sequence[str] | None = None) -> list[ModelResult]:
    """Evaluate every model in turn; ``sample_user``'s lists are kept for the report. With ``cold``, the
    models named in ``cold_models`` (default: all) are also fitted and scored on that cold-start split."""
    results = []
    for name, model_cls in models.items():
        log.info("evaluating %s", name)
        result = evaluate_model(name, model_cls, split, config, sample_user)
        log.info("  %s: ndcg@10 %.4f, fit %.1fs, recommend %.1fs", name, result.metrics.get("ndcg@10", float("nan")),
                 result.train_seconds, result.inference_seconds)
        if cold is not None and (cold_models is None or name in cold_models):
            result.cold_start = cold_start(result, model_cls, cold, config)
            log.info("  %s cold start: %s", name, {k: round(v, 4) for k, v in result.cold_start.items()})
        results.append(result)
    return results


def global_mean_reference(split: Split, users: np.ndarray) -> dict[str, float]:
    """RMSE/MAE of always predicting the mean training score: the bar a score predictor must clear."""
    scores = split.train.explicit.data
    test = split.test
    actual = test.loc[test["user_index"].isin(users) & (test["rating"] >= 1) & (test["item_index"] >= 0),
                      "rating"].to_numpy(np.float64)
    if len(actual) == 0 or len(scores) == 0:
        return {}
    mean = float(scores.mean())
    predicted = np.full_like(actual, mean)
    return {"global_mean": mean, "rmse": metrics.rmse(predicted, actual),
            "mae": metrics.mae(predicted, actual), "n": int(len(actual))}

"""Train the ranker on recall candidates and register a new version.

1. The ratings are replayed (:mod:`ingest.replay`: the seeded synthetic clock) into a
   timestamped stream of views, clicks and ratings, and split (``ranker.split``):
   ``random`` (the default) as the evaluation harness splits: per user, 20 % of the titles are
   labels (:mod:`training.splits`), the rest build the recall lists (the configured sources, the
   batch jobs' own code, in memory), and a fifth of the users are kept for validation; ``time``:
   titles watched before T1 (70 % of the stream) build the lists, titles watched in [T1, T2) are
   the training labels, those from T2 on (the last 15 %) the validation labels.
2. For sampled users, the serving pipeline (:class:`ranking.recommender.Recommender`) recalls
   candidates and builds their features exactly as at serving; the real-time title and user
   features are those the streaming job would have held having seen only what recall saw (the
   replay of the kept titles; on the time split, the stream before T1 for training and before T2
   for validation), computed by :mod:`streaming.definitions`: no held-out event leaks in.
3. Training refuses a feature that is constant in its training set (it cannot learn from it, and
   normalising it divides by ~0): vocabulary columns (a genre, type or source no candidate has)
   leave the schema; any other constant feature is an error naming it.
4. A Keras model is fitted (``ranker.loss``: listwise softmax cross-entropy over each user's
   candidate list by default); validation measures AUC and NDCG@10 against the recall merge's own
   order, and ablations fit the same model without the real-time user columns, and without any
   real-time column.
5. The model is saved with its feature schema (names, vocabularies) and normalisation.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import replace

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from batch.spark import spark_session
from config import Settings
from config.registry import RECENT_EVENTS
from ingest.replay import Clock, genre_lookup, replay_events
from ranking.catalog import Catalog
from ranking.features import LAYOUT, REALTIME, USER_REALTIME, FeatureSchema
from ranking.model import Scorer, averaged, build_model, fit_listwise
from ranking.realtime import FrozenFeatures
from ranking.recommender import Recommender
from ranking.registry import ModelRegistry
from streaming.definitions import title_rows, user_rows
from training.offline import build_offline_store
from training.splits import holdout_mask

log = logging.getLogger("animerec.training")
TRAIN_FROM, VALIDATE_FROM = 0.70, 0.85   # quantiles of the replayed stream's time: T1, T2
REPLAY_START_MS = 1_735_689_600_000      # the synthetic clock of training data starts 2025-01-01
HOLDOUT, MIN_USER_TITLES, VALIDATION_USERS = 0.2, 5, 0.2   # the random split: the harness's own protocol
# On the random split every example is taken at one moment, the end of the kept replay, where the synthetic
# clock tapers: the session and the 1 h / 24 h windows (and trending, their ratio) are empty or constant there
# and would be a train/serve shift anyway. That split's ranker learns the all-time title counts and CTR and the
# user's activity and affinity; the windows are learnt and measured on the time split (evaluation/time_split).
RANDOM_SPLIT_REALTIME = tuple(n for n in REALTIME
                              if not n.endswith(("_24h", "_1h", "trending", "session_events")))


class ConstantFeature(ValueError):
    """A feature has one value across the training set."""


def time_split(ratings: pd.DataFrame, events: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame,
                                                                     int, int]:
    """(before T1, [T1, T2), from T2, T1, T2): ratings by the time the replay watched them."""
    views = events[events["kind"] == "view"][["user_id", "anime_id", "timestamp"]]
    timed = ratings.merge(views, on=["user_id", "anime_id"], how="inner")
    t1, t2 = (int(np.quantile(timed["timestamp"], q)) for q in (TRAIN_FROM, VALIDATE_FROM))
    at = timed["timestamp"]
    cols = ["user_id", "anime_id", "rating"]
    return (timed[at < t1][cols].reset_index(drop=True), timed[(at >= t1) & (at < t2)][cols].reset_index(drop=True),
            timed[at >= t2][cols].reset_index(drop=True), t1, t2)


def random_split(ratings: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(kept, training labels, validation labels): per user, :data:`HOLDOUT` of the titles held out as the
    evaluation harness holds them out; the held-out titles of a :data:`VALIDATION_USERS` share of the users
    are validation labels, the others' training labels."""
    frame = ratings[["user_id", "anime_id", "rating"]].sort_values(["user_id", "anime_id"], kind="stable")
    frame = frame.reset_index(drop=True)
    held = holdout_mask(frame, HOLDOUT, MIN_USER_TITLES, seed)
    users = np.unique(frame.loc[held, "user_id"].to_numpy())
    validation = np.random.default_rng(seed).permutation(users)[:int(len(users) * VALIDATION_USERS)]
    labels = frame[held]
    for_validation = labels["user_id"].isin(validation)
    return (frame[~held].reset_index(drop=True), labels[~for_validation].reset_index(drop=True),
            labels[for_validation].reset_index(drop=True))


def ndcg_at(order_relevance: np.ndarray, n_relevant: int, k: int = 10) -> float:
    gains = order_relevance[:k] / np.log2(np.arange(2, min(k, len(order_relevance)) + 2))
    ideal = (1.0 / np.log2(np.arange(2, min(k, n_relevant) + 2))).sum()
    return float(gains.sum() / ideal) if ideal else 0.0


def candidate_samples(recommender: Recommender, labels: dict[int, set[int]], users) -> tuple[list, list, list]:
    """Per user: features of the recalled candidates, their 0/1 labels, and the number of held-out titles."""
    xs, ys, n_relevant = [], [], []
    for user_id in users:
        context = recommender.context(int(user_id))
        candidates = recommender.ranking_candidates(context)
        if not candidates:
            continue
        xs.append(recommender.features(context, candidates))
        ys.append(np.array([c["anime_id"] in labels[user_id] for c in candidates], dtype=np.float32))
        n_relevant.append(len(labels[user_id]))
    return xs, ys, n_relevant


def mean_ndcg(scores_per_user, ys, n_relevant, k: int = 10) -> float:
    return float(np.mean([ndcg_at(y[np.argsort(-s, kind="stable")], n, k)
                          for s, y, n in zip(scores_per_user, ys, n_relevant)]))


def narrowed_schema(schema: FeatureSchema, x: np.ndarray) -> tuple[FeatureSchema, list[str]]:
    """``schema`` without the genres/types/sources whose column is constant in ``x`` (a source: its rank column)
    and without the history columns if they are, and the other constant features (an empty list when there are
    none)."""
    constant = {name for name, spread in zip(schema.names, np.ptp(x, axis=0)) if spread == 0}
    keep = {vocab: tuple(v for v in getattr(schema, vocab) if f"{prefix}{v}" not in constant)
            for vocab, prefix in (("genres", "genre_"), ("types", "type_"))}
    keep["sources"] = tuple(s for s in schema.sources if schema.rank_name(s) not in constant)
    # no co-watch lists (nothing to measure a candidate's closeness to the history with): no history columns
    history = schema.history and schema.history_names[0] not in constant
    narrowed = FeatureSchema(**keep, realtime=schema.realtime, history=history)
    vocabulary = ({f"genre_{g}" for g in schema.genres} | {f"type_{t}" for t in schema.types}
                  | {n for s in schema.sources if s not in keep["sources"] for n in schema.source_columns(s)}
                  | ({n for h in schema.history_names for n in (h, f"z_{h}")} if not history else set()))
    return narrowed, sorted(constant - vocabulary, key=schema.names.index)


def fit_ranker(recommender: Recommender, train_labels: pd.DataFrame, val_labels: pd.DataFrame,
               train_features: FrozenFeatures, val_features: FrozenFeatures, max_users: int, epochs: int, seed: int,
               loss: str = "listwise", split: str = "random", ensemble: int = 1):
    """Fit on candidates of sampled users; return (model, metrics). Features follow ``recommender.schema``,
    narrowed to the vocabularies the training candidates have. The model is the mean of ``ensemble`` rankers
    fitted from seeds ``seed``, ``seed + 1``, ...; the ablations fit one each."""
    rng = np.random.default_rng(seed)
    labels = {u: set(g) for u, g in train_labels.groupby("user_id")["anime_id"]}
    held = {u: set(g) for u, g in val_labels.groupby("user_id")["anime_id"]}
    users = rng.permutation(sorted(labels))[:max_users]
    val_users = rng.permutation(sorted(held))[:max(10, max_users // 4)]
    recommender.realtime = train_features
    xs, ys, _ = candidate_samples(recommender, labels, users)
    if len(xs) < 2:
        raise ValueError(f"too few users with candidates and labels to train on ({len(xs)})")
    schema, constant = narrowed_schema(recommender.schema, np.concatenate(xs))
    if constant:
        raise ConstantFeature(f"feature(s) constant in the training set, so the ranker cannot learn from them: "
                              f"{', '.join(constant)}")
    if schema != recommender.schema:
        recommender.use_schema(schema)
        xs, ys, _ = candidate_samples(recommender, labels, users)
    recommender.realtime = val_features
    xv, yv, n_relevant = candidate_samples(recommender, held, val_users)
    x_train, y_train = np.concatenate(xs), np.concatenate(ys)
    realtime = [schema.names.index(n) for n in schema.realtime]
    user_realtime = [schema.names.index(n) for n in schema.realtime if n in USER_REALTIME]
    without = [j for j in range(schema.width) if j not in realtime]
    title_only = [j for j in range(schema.width) if j not in user_realtime]

    def member(columns, member_seed):
        model = build_model(len(columns), x_train[:, columns], seed=member_seed, name=f"ranker_{member_seed}")
        if loss == "listwise":   # the default, as in the design study of docs/RESULTS.md
            fit_listwise(model, [x[:, columns] for x in xs], ys, epochs, seed=member_seed)
        else:
            model.fit(x_train[:, columns], y_train, epochs=epochs,
                      batch_size=int(np.clip(len(y_train) // 200, 64, 1024)), verbose=0)
        return model

    def fitted(columns, members=1):
        model = averaged([member(columns, seed + i) for i in range(members)])
        scorer = Scorer(model)
        return model, [scorer(x[:, columns]) for x in xv]

    model, val_scores = fitted(list(range(schema.width)), ensemble)
    _, ablated = fitted(without)
    _, titles_only = fitted(title_only)
    recall_order = [-np.arange(len(y), dtype=np.float32) for y in yv]
    y_val = np.concatenate(yv)
    metrics = {"split": split, "loss": loss, "ensemble": ensemble, "validation_users": len(xv),
               "training_users": len(xs),
               "samples": int(len(y_train)), "positive_share": round(float(y_train.mean()), 4),
               "validation_auc": _auc(np.concatenate(val_scores), y_val),
               "validation_ndcg@10_ranker": mean_ndcg(val_scores, yv, n_relevant),
               "validation_ndcg@10_recall_order": mean_ndcg(recall_order, yv, n_relevant),
               "ablation": {"with_realtime": {"auc": _auc(np.concatenate(val_scores), y_val),
                                              "ndcg@10": mean_ndcg(val_scores, yv, n_relevant)},
                            "title_realtime_only": {"auc": _auc(np.concatenate(titles_only), y_val),
                                                    "ndcg@10": mean_ndcg(titles_only, yv, n_relevant)},
                            "without_realtime": {"auc": _auc(np.concatenate(ablated), y_val),
                                                 "ndcg@10": mean_ndcg(ablated, yv, n_relevant)}}}
    return model, metrics


def configuration(settings: Settings) -> dict:
    """Everything that decides what a trained ranker is, short of its data: the ranker's knobs, the batch knobs
    its recall lists are built with, how its candidates are drawn and the feature layout. Two rankers of one
    configuration differ only in the ratings they saw: the evaluated pipeline and the served one."""
    return {"ranker": settings.ranker.model_dump(mode="json"), "batch": settings.batch.model_dump(
                mode="json", exclude={"schedule", "schedules", "jobs", "run_at_start"}),
            "candidates": {"most": Recommender.CANDIDATES, "per_source": Recommender.PER_SOURCE,
                           "history_titles": Recommender.HISTORY_TITLES,
                           "history_neighbours": Recommender.HISTORY_NEIGHBOURS},
            "feature_layout": LAYOUT}


def configuration_id(settings: Settings) -> str:
    """A short stable name of :func:`configuration` (what the evaluation report and /admin/metrics match on)."""
    text = json.dumps(configuration(settings), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def training_stream(ratings: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The ratings replayed on the training clock (seeded, from REPLAY_START_MS): what training learns from."""
    return replay_events(ratings, Clock(seed=seed, start_ms=REPLAY_START_MS))


def write_recent(store, events: pd.DataFrame) -> None:
    """Each user's newest events (as many as the stream keeps) into ``store``: what the 'recent' source reads."""
    for event in events.groupby("user_id").tail(RECENT_EVENTS).to_dict("records"):
        store.write_event({**event, "rating": None if pd.isna(event["rating"]) else int(event["rating"])})


def frozen_features(events: pd.DataFrame, at_ms: int, users, genres_of) -> FrozenFeatures:
    """The real-time features as the streaming job held them at ``at_ms``: every title's, and those of ``users``,
    from the events before that moment."""
    before = events[events["timestamp"] < at_ms]
    return FrozenFeatures(title_rows(before), at_ms, user_rows(before[before["user_id"].isin(set(users))], genres_of))


def _auc(scores: np.ndarray, labels: np.ndarray) -> float:
    return float(roc_auc_score(labels, scores)) if 0 < labels.sum() < len(labels) else float("nan")


def train(ratings: pd.DataFrame, catalog_frame: pd.DataFrame, settings: Settings, *, spark=None,
          source_name: str = "cassandra", register: bool = True) -> dict:
    """Build recall on a split, fit the ranker on its candidates, and (by default) register it.

    Knobs come from ``settings.ranker`` (sources, users, epochs, seed) and ``settings.batch``.
    """
    knobs = settings.ranker
    started = time.time()
    events = training_stream(ratings, knobs.seed)
    # What recall is built on, the labels, the moments the real-time features are taken at (from ``stream``), the
    # events the 'recent' source reads, and the real-time columns the split can teach.
    if knobs.split == "time":
        kept, train_labels, val_labels, train_at, val_at = time_split(ratings, events)
        seen = events[events["timestamp"] < train_at]
        recent, stream, realtime = seen[seen["user_id"].isin(train_labels["user_id"].unique())], events, REALTIME
    else:
        kept, train_labels, val_labels = random_split(ratings, knobs.seed)
        seen = events.merge(kept[["user_id", "anime_id"]], on=["user_id", "anime_id"])   # what recall sees
        train_at = val_at = int(seen["timestamp"].max()) + 1
        # every user's replayed kept titles, as the evaluated pipeline serves them (evaluation/models/pipeline)
        recent, stream, realtime = seen, seen, RANDOM_SPLIT_REALTIME
    own_spark = spark is None
    spark = spark or spark_session(settings)
    try:
        timings: dict = {}
        store = build_offline_store(spark, kept, catalog_frame, settings, sources=knobs.sources, timings=timings)
    finally:
        if own_spark:
            spark.stop()
    write_recent(store, recent)
    recommender = Recommender(store, Catalog.from_rows(catalog_frame.to_dict("records")))
    recommender.use_schema(replace(recommender.schema, realtime=realtime))
    genres_of = genre_lookup(catalog_frame)
    model, metrics = fit_ranker(recommender, train_labels, val_labels,
                                frozen_features(stream, train_at, train_labels["user_id"], genres_of),
                                frozen_features(stream, val_at, val_labels["user_id"], genres_of),
                                knobs.max_users, knobs.epochs, knobs.seed, knobs.loss, knobs.split, knobs.ensemble)
    result = {"data": {"source": source_name, "ratings": int(len(ratings)), "users": int(ratings.user_id.nunique()),
                       "recall_sources": list(knobs.sources), "events_replayed": int(len(events)),
                       "split": {"kind": knobs.split, "train_features_at_ms": train_at,
                                 "validation_features_at_ms": val_at}},
              "n_features": int(model.input_shape[-1]), "epochs": knobs.epochs, "seed": knobs.seed,
              "configuration_id": configuration_id(settings), "configuration": configuration(settings),
              "metrics": metrics, "recall_build_seconds": {k: round(v, 1) for k, v in timings.items()},
              "train_seconds": round(time.time() - started, 1)}
    if register:
        registry = ModelRegistry(settings)
        result["version"] = registry.save(model, recommender.schema, result)
        registry.prune()
    result["model"] = model
    result["schema"] = recommender.schema
    return result


def summary(result: dict) -> str:
    m = result["metrics"]
    return (f"ranker version {result.get('version', '(not registered)')}: validation AUC {m['validation_auc']:.3f}, "
            f"NDCG@10 {m['validation_ndcg@10_ranker']:.4f} (recall order {m['validation_ndcg@10_recall_order']:.4f}), "
            f"{m['samples']} samples, {result['train_seconds']}s")

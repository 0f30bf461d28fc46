"""Command line: ``python -m evaluation`` / ``evaluate``."""
from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


from config import Settings, load_settings
from evaluation.data import (Split, cold_start_split, full_frame, load_anime, load_ratings, read_user_ids,
                             restrict_eval_users, restrict_to_catalog, split_interactions)
from evaluation.harness import EvaluationConfig, activity_counts, global_mean_reference, pick_sample_user, run_all
from evaluation.models import MODELS, Recommender, resolve_model
from evaluation.models.pipeline import Pipeline
from evaluation import time_split
from evaluation.report import RunInfo, print_summary, write_report
from training.runs import inputs_from_files

log = logging.getLogger("evaluation")


def _int_list(text: str) -> tuple[int, ...]:
    values = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers like 5,10,20, got {text!r}")
    return values


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"holdout must be strictly between 0 and 1, got {text}")
    return value


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    data_dir = settings.data_dir
    parser = argparse.ArgumentParser(
        prog="evaluate", description="Offline top-K evaluation of recommendation models on a per-user held-out split.")
    parser.add_argument("--ratings", type=Path, default=data_dir / "rating_sample.csv",
                        help="Kaggle rating.csv-shaped file: user_id,anime_id,rating (default: %(default)s)")
    parser.add_argument("--anime", type=Path, default=data_dir / "anime.csv",
                        help="Kaggle anime.csv-shaped catalog (default: %(default)s)")
    parser.add_argument("--synopsis", type=Path, default=data_dir / "anime_with_synopsis.csv",
                        help="synopses for the pipeline's content source (default: %(default)s)")
    parser.add_argument("--eval-users", type=Path, help="file of user ids (one per line) to evaluate; default all")
    parser.add_argument("--out", type=Path, default=settings.evaluation_dir,
                        help="output directory (default: %(default)s)")
    parser.add_argument("--models", default=",".join(MODELS),
                        help="comma list of registered names or module:Class (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--holdout", type=_fraction, default=0.2, help="share of each user's titles held out")
    parser.add_argument("--min-user-items", type=_positive_int, default=5,
                        help="users with fewer titles stay train-only")
    parser.add_argument("--k", type=_int_list, default=(5, 10, 20), help="cut-offs, comma list (default: 5,10,20)")
    parser.add_argument("--liked-threshold", type=int, default=8, help="held-out score counted as 'liked'")
    parser.add_argument("--no-tune", action="store_true", help="skip validation grid searches, use defaults")
    parser.add_argument("--tuning-users", type=_positive_int, default=1500, help="validation users per tuning fit")
    parser.add_argument("--cold-start-users", type=int, default=200,
                        help="users per cold-start group (1, 2, 3, 4 titles kept, scored on the rest); 0 skips it")
    parser.add_argument("--cold-start-models", default=None,
                        help="comma list of the evaluated models also scored on cold start (default: all of them)")
    parser.add_argument("--no-time-split", action="store_true",
                        help="skip the ranker's time-split run with and without real-time features (Spark, minutes)")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


def load_split(args: argparse.Namespace) -> tuple[Split, dict[int, str], int]:
    anime = load_anime(args.anime)
    ratings = restrict_to_catalog(load_ratings(args.ratings), anime)
    if ratings.empty:
        raise SystemExit(f"{args.ratings}: no usable ratings")
    split = split_interactions(ratings, args.holdout, args.min_user_items, args.seed)
    if args.eval_users:
        split = restrict_eval_users(split, read_user_ids(args.eval_users))
    if len(split.eval_users) == 0:
        raise SystemExit("no user has held-out data: lower --min-user-items or check --eval-users")
    names = dict(zip(anime["anime_id"].tolist(), anime["name"].tolist()))
    return split, names, len(ratings)


def dataset_summary(args: argparse.Namespace, split: Split, n_ratings: int, liked_threshold: int) -> dict[str, Any]:
    test = split.test[split.test["user_index"].isin(split.eval_users)]
    liked = test[test["rating"] >= liked_threshold]
    return {
        "ratings_file": str(args.ratings),
        "anime_file": str(args.anime),
        "interactions": n_ratings,
        "users": split.train.n_users,
        "train_catalog_titles": split.train.n_items,
        "train_interactions": int(split.train.ratings.nnz),
        "held_out_interactions_evaluated": int(len(test)),
        "held_out_titles_outside_catalog": int((test["item_index"] < 0).sum()),
        "evaluated_users": int(len(split.eval_users)),
        "evaluated_users_with_liked_title": int(liked["user_index"].nunique()),
        "unscored_share_of_train": float((split.train.ratings.data == -1).mean()),
        **{f"evaluated_users_with_{label.replace(' ', '_')}": n for label, n in activity_counts(split).items()},
    }


def sample_user_info(split: Split, user_index: int | None) -> dict[str, Any]:
    if user_index is None:
        return {}
    held_out = split.test.loc[split.test["user_index"] == user_index, "anime_id"]
    return {
        "user_id": int(split.train.user_ids[user_index]),
        "train_titles": int(split.train.ratings[user_index].nnz),
        "held_out": sorted(int(a) for a in held_out),
    }


def resolve_models(spec: str, parser: argparse.ArgumentParser) -> dict[str, type[Recommender]]:
    names = [name.strip() for name in spec.split(",") if name.strip()]
    try:
        return {name: resolve_model(name) for name in names}
    except (KeyError, TypeError, ImportError, AttributeError) as error:
        parser.error(f"--models: {error}")


def main(argv: Sequence[str] | None = None) -> int:
    settings = load_settings()
    parser = build_parser(settings)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    models = resolve_models(args.models, parser)
    Pipeline.configure(settings, args.anime, args.synopsis)
    config = EvaluationConfig(ks=args.k, liked_threshold=args.liked_threshold, holdout=args.holdout,
                              min_user_items=args.min_user_items, seed=args.seed, tune=not args.no_tune,
                              tuning_users=args.tuning_users)
    started = time.perf_counter()
    split, names, n_ratings = load_split(args)
    log.info("split: %d users, %d catalog titles, %d evaluated users", split.train.n_users,
             split.train.n_items, len(split.eval_users))
    sample_user = pick_sample_user(split)
    cold = (cold_start_split(full_frame(split), args.cold_start_users, seed=args.seed)
            if args.cold_start_users > 0 else None)
    cold_models = None if args.cold_start_models is None else [m.strip() for m in args.cold_start_models.split(",")]
    results = run_all(models, split, config, sample_user, cold, cold_models)
    info = RunInfo(
        config={"ks": list(config.ks), "liked_threshold": config.liked_threshold, "holdout": config.holdout,
                "min_user_items": config.min_user_items, "seed": config.seed, "tune": config.tune,
                "tuning_users": config.tuning_users, "models": list(models),
                "total_seconds": round(time.perf_counter() - started, 1)},
        dataset=dataset_summary(args, split, n_ratings, config.liked_threshold),
        reference=global_mean_reference(split, split.eval_users),
        sample_user=sample_user_info(split, sample_user),
    )
    print_summary(results, config.ks)
    report = write_report(args.out, results, info, names)
    if not args.no_time_split:
        ratings, catalog = inputs_from_files(settings, args.ratings, args.anime, args.synopsis)
        timed = time_split.run(ratings, catalog, settings)
        time_split.write(args.out, timed, report)
        print("\n" + time_split.markdown(timed))
    print(f"\nwrote {args.out / 'metrics.json'} and {report} ({info.config['total_seconds']} s)")
    return 0

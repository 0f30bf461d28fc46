"""Terminal tables, ``metrics.json``, ``report.md`` and PNG plots."""
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend must be chosen first)
import numpy as np  # noqa: E402

from evaluation.harness import ACTIVITY_BANDS, RARE_WATCHERS, ModelResult  # noqa: E402

RANKING_METRICS = ("precision", "recall", "ndcg", "map", "hit_rate")
SHORT_NAMES = {"precision": "P", "recall": "R", "ndcg": "NDCG", "map": "MAP", "hit_rate": "HR"}


@dataclass(frozen=True)
class RunInfo:
    """Everything about the run that is not a per-model result."""

    config: dict[str, Any]
    dataset: dict[str, Any]
    reference: dict[str, Any]
    sample_user: dict[str, Any]


# --------------------------------------------------------------------------- tables


def _format(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def ranking_rows(results: Sequence[ModelResult], ks: Sequence[int]) -> list[dict[str, Any]]:
    """One row per (model, K): ranking metrics for both relevance variants plus coverage/novelty."""
    rows = []
    for result in results:
        for k in ks:
            row: dict[str, Any] = {"model": result.name, "K": k}
            for metric in RANKING_METRICS:
                row[SHORT_NAMES[metric]] = result.metrics[f"{metric}@{k}"]
            for metric in RANKING_METRICS:
                row[f"liked {SHORT_NAMES[metric]}"] = result.liked_metrics[f"{metric}@{k}"]
            row["coverage"] = result.beyond_accuracy[f"coverage@{k}"]
            row["novelty"] = result.beyond_accuracy[f"novelty@{k}"]
            row["rare"] = result.beyond_accuracy.get(f"rare@{k}")
            rows.append(row)
    return rows


def cost_rows(results: Sequence[ModelResult]) -> list[dict[str, Any]]:
    """RMSE/MAE, timings and chosen parameters of each model."""
    return [{
        "model": r.name,
        "RMSE": r.rating["rmse"] if r.rating else None,
        "MAE": r.rating["mae"] if r.rating else None,
        "tune s": r.tuning_seconds if r.tuning else None,
        "fit s": r.train_seconds,
        "recommend s": r.inference_seconds,
        "ms/user": r.inference_ms_per_user,
        "params": ", ".join(f"{k}={v}" for k, v in r.params.items() if k != "seed"),
    } for r in results]


def text_table(rows: Sequence[dict[str, Any]], digits: int = 4) -> str:
    if not rows:
        return "(no results)"
    columns = list(rows[0])
    cells = [[_format(row[c], digits) for c in columns] for row in rows]
    widths = [max(len(c), *(len(line[i]) for line in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(_justify(c, rows[0][c], w) for c, w in zip(columns, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(_justify(cell, raw, w) for cell, raw, w in zip(line, row.values(), widths))
              for line, row in zip(cells, rows)]
    return "\n".join(lines)


def _justify(cell: str, raw: Any, width: int) -> str:
    return cell.ljust(width) if isinstance(raw, str) else cell.rjust(width)


def markdown_table(rows: Sequence[dict[str, Any]], digits: int = 4, bold_best: Sequence[str] = ()) -> str:
    if not rows:
        return "_no results_"
    columns = list(rows[0])
    best = {c: max((row[c] for row in rows if isinstance(row[c], float)), default=None) for c in bold_best}
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for row in rows:
        cells = []
        for column in columns:
            text = _format(row[column], digits)
            cells.append(f"**{text}**" if column in best and row[column] == best[column] else text)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def print_summary(results: Sequence[ModelResult], ks: Sequence[int]) -> None:
    print("\nRanking metrics (relevant = any held-out title; 'liked' = held-out score >= threshold)")
    print(text_table(ranking_rows(results, ks)))
    print("\nRating prediction and cost")
    print(text_table(cost_rows(results), digits=3))


# --------------------------------------------------------------------------- json


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_json(path: Path, results: Sequence[ModelResult], info: RunInfo) -> None:
    payload = {
        "config": info.config,
        "dataset": info.dataset,
        "reference": info.reference,
        "sample_user": info.sample_user,
        "models": {r.name: r.to_dict() for r in results},
    }
    path.write_text(json.dumps(payload, indent=2, default=_json_default, allow_nan=True) + "\n")


# --------------------------------------------------------------------------- plots


def _headline_ks(ks: Sequence[int]) -> tuple[int, int]:
    """K for the NDCG plot (10 when evaluated) and the largest K for recall."""
    return (10 if 10 in ks else sorted(ks)[len(ks) // 2]), max(ks)


def plot_accuracy(results: Sequence[ModelResult], ks: Sequence[int], path: Path) -> None:
    ndcg_k, recall_k = _headline_ks(ks)
    names = [r.name for r in results]
    series = {
        f"NDCG@{ndcg_k}": [r.metrics[f"ndcg@{ndcg_k}"] for r in results],
        f"Recall@{recall_k}": [r.metrics[f"recall@{recall_k}"] for r in results],
        f"NDCG@{ndcg_k} (liked)": [r.liked_metrics[f"ndcg@{ndcg_k}"] for r in results],
        f"Recall@{recall_k} (liked)": [r.liked_metrics[f"recall@{recall_k}"] for r in results],
    }
    positions = np.arange(len(names))
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(max(7, 1.3 * len(names)), 4.5))
    for offset, (label, values) in enumerate(series.items()):
        ax.bar(positions + (offset - (len(series) - 1) / 2) * width, values, width, label=label)
    ax.set_xticks(positions, names, rotation=20, ha="right")
    ax.set_ylabel("score")
    ax.set_title("Ranking accuracy on the held-out split")
    ax.legend(fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    _save(fig, path)


def plot_coverage_novelty(results: Sequence[ModelResult], ks: Sequence[int], path: Path) -> None:
    ndcg_k, k = _headline_ks(ks)
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for r in results:
        ax.scatter(r.beyond_accuracy[f"coverage@{k}"], r.beyond_accuracy[f"novelty@{k}"],
                   s=40 + 600 * r.metrics[f"ndcg@{ndcg_k}"], alpha=0.7)
        ax.annotate(r.name, (r.beyond_accuracy[f"coverage@{k}"], r.beyond_accuracy[f"novelty@{k}"]),
                    textcoords="offset points", xytext=(6, 4), fontsize="small")
    ax.set_xlabel(f"catalog coverage@{k}")
    ax.set_ylabel(f"novelty@{k} (mean -log2 popularity, bits)")
    ax.set_title(f"Coverage vs novelty (marker size ~ NDCG@{ndcg_k})")
    ax.grid(alpha=0.3)
    _save(fig, path)


def plot_metrics_by_k(results: Sequence[ModelResult], ks: Sequence[int], path: Path) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for ax, metric in zip(axes, ("ndcg", "recall", "precision")):
        for r in results:
            ax.plot(ks, [r.metrics[f"{metric}@{k}"] for k in ks], marker="o", label=r.name)
        ax.set_xlabel("K")
        ax.set_title(f"{SHORT_NAMES[metric]}@K")
        ax.set_xticks(list(ks))
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 7), fontsize="small")
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_timings(results: Sequence[ModelResult], path: Path) -> None:
    names = [r.name for r in results]
    positions = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(names) + 1.5))
    ax.barh(positions - 0.2, [max(r.train_seconds, 1e-3) for r in results], 0.4, label="fit")
    ax.barh(positions + 0.2, [max(r.inference_seconds, 1e-3) for r in results], 0.4, label="recommend (all users)")
    ax.set_yticks(positions, names)
    ax.set_xscale("log")
    ax.set_xlabel("seconds (log scale)")
    ax.set_title("Training and inference time")
    ax.legend(fontsize="small")
    ax.grid(axis="x", alpha=0.3)
    _save(fig, path)


def _save(fig: plt.Figure, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_plots(results: Sequence[ModelResult], ks: Sequence[int], out_dir: Path) -> list[Path]:
    plots = {
        "accuracy.png": plot_accuracy,
        "coverage_novelty.png": plot_coverage_novelty,
        "metrics_by_k.png": plot_metrics_by_k,
    }
    paths = []
    for filename, plot in plots.items():
        plot(results, ks, out_dir / filename)
        paths.append(out_dir / filename)
    plot_timings(results, out_dir / "timings.png")
    return paths + [out_dir / "timings.png"]


# --------------------------------------------------------------------------- markdown


PROTOCOL = """\
- **Split**: per user, {holdout:.0%} of their titles (rounded, at least 1, never all) are held
  out at random with seed {seed}; users with fewer than {min_user_items} titles stay
  train-only (they still help train every model). Duplicate (user, anime) rows: the last wins.
- **Candidates**: every title watched by at least one user in train that the user did not
  watch in train (full ranking, no sampled negatives). Titles only in `anime.csv` or only in
  the held-out part are not candidates (no collaborative model can score them), but a
  held-out title of that kind still counts as relevant, so recall is slightly below its
  ideal for every model alike.
- **Relevant**: any held-out title (watched, scored or not); *liked*: held-out score >=
  {liked_threshold} (users without such a title are left out of the liked averages).
- **Metrics**: P@K = hits/K; R@K = hits/|relevant|; NDCG@K with binary gains and ideal
  DCG over min(K, |relevant|) hits; MAP@K = AP@K averaged, AP normalised by
  min(K, |relevant|); HR@K = share of users with >= 1 hit; coverage@K = share of the
  train catalog in anybody's top K; novelty@K = mean -log2(share of train users who
  watched the title) over all recommended slots. RMSE/MAE on held-out *scored* titles, for
  models that predict a 1-10 score.
- **Tuning**: models with a grid are tuned on NDCG@10 over a validation split carved out of
  the training part (same procedure, seed + 1, at most {tuning_users} users), then refit on
  all of train. Validation scores are lower than test scores because the test titles are
  hidden from the validation model and count as misses there.
"""


def _measured_ranker_note(results: Sequence[ModelResult]) -> str:
    """Which ranker configuration a platform pipeline row measured (a served version of that configuration shows
    these figures in /admin/metrics)."""
    named = [(r.name, r.params["ranker_configuration"]) for r in results if r.params.get("ranker_configuration")]
    return "".join(f"\n\n`{name}` measured ranker configuration `{configuration}` (training.train.configuration_id: "
                   f"ranker and batch knobs, candidate depth, feature layout); a served ranker version of this "
                   f"configuration shows these figures in `/admin/metrics`." for name, configuration in named)


def markdown_report(results: Sequence[ModelResult], info: RunInfo, plots: Sequence[Path],
                    names: dict[int, str]) -> str:
    ks = info.config["ks"]
    headline_k, _ = _headline_ks(ks)
    headline = [{c: v for c, v in row.items() if c != "K"}
                for row in ranking_rows(results, ks) if row["K"] == headline_k]
    sections = [
        "# Offline evaluation of the recommendation baselines\n",
        f"Whole run: {info.config.get('total_seconds', '?')} s wall-clock; seed {info.config['seed']}; "
        f"K = {', '.join(map(str, ks))}. Machine-readable results: `metrics.json`.",
        _dataset_section(info),
        "## Protocol\n\n" + PROTOCOL.format(**info.config),
        f"## Headline (K = {headline_k})\n\n" + markdown_table(headline, bold_best=_metric_columns(headline))
        + _measured_ranker_note(results),
        "## All K\n\n" + markdown_table(ranking_rows(results, ks)),
        "## Rating prediction and cost\n\n" + markdown_table(cost_rows(results), digits=3) + "\n\n"
        + _reference_note(info),
        _activity_section(results, info),
        _cold_start_section(results),
        _score_predictor_section(results, info),
        _tuning_section(results),
        "## Plots\n\n" + "\n\n".join(f"![{p.stem}]({p.name})" for p in plots),
        _sample_section(results, info, names),
        NOTES,
    ]
    return "\n\n".join(s.rstrip() for s in sections if s) + "\n"


def _metric_columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    return [column for column in rows[0] if column not in ("model", "rare")] if rows else []


def _dataset_section(info: RunInfo) -> str:
    lines = [f"- {key.replace('_', ' ')}: {_format(value)}" for key, value in info.dataset.items()]
    return "## Data\n\n" + "\n".join(lines)


def _reference_note(info: RunInfo) -> str:
    ref = info.reference
    if not ref:
        return ""
    return (f"Reference: predicting the global training mean score ({ref['global_mean']:.2f}) gives "
            f"RMSE {ref['rmse']:.3f}, MAE {ref['mae']:.3f} on the same {ref['n']} held-out scores.")


def _activity_section(results: Sequence[ModelResult], info: RunInfo) -> str:
    bands = [label for label, _, _ in ACTIVITY_BANDS if any(label in r.by_activity for r in results)]
    if not bands:
        return ""
    users = {label: info.dataset.get(f"evaluated_users_with_{label.replace(' ', '_')}") for label in bands}
    header = " | ".join(f"{label} ({users[label]} users)" if users[label] is not None else label for label in bands)
    lines = [f"| {r.name} | " + " | ".join(_format(r.by_activity.get(label)) for label in bands) + " |"
             for r in results]
    return ("## NDCG@10 by user activity (titles a user has, train and held out)\n\n"
            f"| model | {header} |\n|---|" + "---|" * len(bands) + "\n" + "\n".join(lines))


def _cold_start_section(results: Sequence[ModelResult]) -> str:
    scored = [r for r in results if r.cold_start]
    if not scored:
        return ""
    kept = sorted({k for r in scored for k in r.cold_start}, key=int)
    lines = [f"| {r.name} | " + " | ".join(_format(r.cold_start.get(k)) for k in kept) + " |" for r in scored]
    return ("## Cold start: NDCG@10 of users with 1-4 titles, scored on the rest\n\n"
            "Users with at least 10 titles, made cold on purpose: each group keeps that many random titles "
            "in train and is scored on all its others (full ranking); every other user keeps their whole "
            "history. Each model is fitted as evaluated above (same chosen parameters) on that training set. "
            "Compare models within a column, not with the headline: every other title of these users counts as "
            "relevant (dozens on average), which lifts NDCG@10 for all models alike.\n\n"
            "| model | " + " | ".join(f"{k} title{'s' if k != '1' else ''}" for k in kept) + " |\n|---|"
            + "---|" * len(kept) + "\n" + "\n".join(lines))


def _score_predictor_section(results: Sequence[ModelResult], info: RunInfo) -> str:
    """Why a rating predictor ranks badly, in this run's own figures."""
    by_name = {r.name: r for r in results}
    predictor, ref = by_name.get("biased-mf"), info.reference
    if predictor is None or not predictor.rating or not ref:
        return ""
    best = max((r for r in results if r.name != "biased-mf"), key=lambda r: r.metrics.get("ndcg@10", 0.0), default=None)
    compare = (f"; {best.name}: {best.beyond_accuracy.get('rare@10', float('nan')):.1%}" if best else "")
    return (f"## Why `biased-mf` ranks badly\n\n"
            f"It is a working score predictor: RMSE {predictor.rating['rmse']:.3f} on held-out scores against "
            f"{ref['rmse']:.3f} for the global mean. But it answers \"what would this user score the title if "
            f"they watched it\", not \"will they watch it\": ranking every unseen title by predicted score puts "
            f"titles first whose few viewers scored them high. {predictor.beyond_accuracy.get('rare@10', float('nan')):.1%} "
            f"of its top-10 slots are titles fewer than {RARE_WATCHERS} training users watched{compare}. Held-out "
            f"titles are what users chose to watch, which popularity and co-watching predict and a score does "
            f"not, hence NDCG@10 {predictor.metrics['ndcg@10']:.4f}. It stays in the table for its RMSE.")


def _tuning_section(results: Sequence[ModelResult]) -> str:
    lines = []
    for r in results:
        for trial in r.tuning:
            params = ", ".join(f"{k}={v}" for k, v in trial["params"].items())
            score = next(v for k, v in trial.items() if k != "params")
            lines.append(f"| {r.name} | {params} | {score:.4f} |")
    if not lines:
        return ""
    header = "## Validation grid search (NDCG@10 on the validation split)\n\n| model | parameters | NDCG@10 |\n|---|---|---|\n"
    return header + "\n".join(lines)


def _sample_section(results: Sequence[ModelResult], info: RunInfo, names: dict[int, str]) -> str:
    sample = info.sample_user
    if not sample:
        return ""
    held_out = set(sample["held_out"])

    def label(anime_id: int) -> str:
        text = names.get(anime_id, str(anime_id))
        return f"**{text}**" if anime_id in held_out else text

    lines = [f"## Example: user {sample['user_id']} ({sample['train_titles']} titles in train, "
             f"{len(held_out)} held out; held-out titles in bold)\n"]
    lines += [f"- **{r.name}**: " + "; ".join(label(a) for a in r.sample_recommendations[:10]) for r in results]
    return "\n".join(lines)


NOTES = """\
## Notes

- `nmf-group` is the original design (one NMF group per user, the group's title weights);
  `nmf-weighted` uses the full reconstruction W[u] . H. NMF fits missing entries as zeros,
  so its "predicted scores" are shrunk towards 0: its RMSE only shows that the design is
  not a rating predictor.
- `biased-mf` predicts scores (mu + b_u + b_i + x_u . y_i); see "Why `biased-mf` ranks badly".
- `rare` = share of top-K slots holding a title fewer than 10 training users watched.
- Timings are wall-clock on the machine that ran the command (shared, 2 cores when this
  harness was written); "recommend" covers every evaluated user's top-K, masking included.
"""


def write_report(out_dir: Path, results: Sequence[ModelResult], info: RunInfo, names: dict[int, str]) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / "metrics.json", results, info)
    plots = write_plots(results, info.config["ks"], out_dir)
    report = out_dir / "report.md"
    report.write_text(markdown_report(results, info, plots, names))
    return report

"""The ranker on a time split, with and without its real-time features (``evaluate``'s last section).

The per-user random split of the rest of the report cannot judge real-time features: they exist only
in time. This runs ranker training's own procedure (:func:`training.train.train`, not registered):
the ratings replayed on the seeded clock, recall built from what was watched before T1, the ranker
fitted on labels in [T1, T2) with the title and user features as the stream held them at T1, validated on
labels from T2 with the features as of T2; and the same model fitted without the real-time user columns,
and without any real-time column. One ranker each (no ensemble), so the three rows compare like with like.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from config import Settings
from training.train import train


def run(ratings: pd.DataFrame, catalog: pd.DataFrame, settings: Settings) -> dict:
    """The training run's data description and metrics (validation AUC, NDCG@10, the ablation)."""
    timed = settings.model_copy(update={"ranker": settings.ranker.model_copy(update={"split": "time", "ensemble": 1})})
    result = train(ratings, catalog, timed, source_name="evaluation", register=False)
    return {"data": result["data"], "metrics": result["metrics"], "train_seconds": result["train_seconds"]}


def markdown(result: dict) -> str:
    m, data = result["metrics"], result["data"]
    ablation = m["ablation"]
    rows = [("recall merge's own order", "–", m["validation_ndcg@10_recall_order"]),
            ("ranker with real-time features", ablation["with_realtime"]["auc"], ablation["with_realtime"]["ndcg@10"]),
            ("ranker with real-time title features only (ablation)", ablation["title_realtime_only"]["auc"],
             ablation["title_realtime_only"]["ndcg@10"]),
            ("ranker without real-time features (ablation)", ablation["without_realtime"]["auc"],
             ablation["without_realtime"]["ndcg@10"])]
    lines = ["## Ranker on a time split, with and without real-time features", "",
             f"{data['ratings']:,} ratings of {data['users']:,} users replayed into {data['events_replayed']:,} "
             f"events; recall from titles watched before T1, training labels in [T1, T2), validation labels from "
             f"T2; {m['training_users']} training users ({m['samples']:,} samples), {m['validation_users']} "
             f"validation users; {result['train_seconds']} s.", "",
             "| model | validation AUC | NDCG@10 |", "|---|---|---|"]
    lines += [f"| {name} | {auc if isinstance(auc, str) else f'{auc:.4f}'} | {ndcg:.4f} |" for name, auc, ndcg in rows]
    return "\n".join(lines) + "\n"


def write(out_dir: Path, result: dict, report: Path) -> None:
    """``time_split.json`` beside the report, and the table appended to the report."""
    (out_dir / "time_split.json").write_text(json.dumps(result, indent=2, default=float))
    with report.open("a") as f:
        f.write("\n" + markdown(result))

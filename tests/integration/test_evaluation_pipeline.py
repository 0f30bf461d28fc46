"""`evaluate` scores the platform's pipeline (recall built with Spark + TF ranker) beside the baselines."""
from __future__ import annotations

import json

import numpy as np

from evaluation.cli import main


def test_pipeline_is_evaluated_by_the_serving_code_and_beats_popularity(settings, tmp_path, monkeypatch):
    for name, value in settings.as_env().items():  # quick ranker settings of the test session
        monkeypatch.setenv(name, value)
    data = settings.data_dir
    users = tmp_path / "users.txt"
    users.write_text("\n".join(str(u) for u in np.random.default_rng(0).choice(np.arange(1, 5001), 400, replace=False)))
    code = main(["--ratings", str(data / "rating_sample.csv"), "--anime", str(data / "anime.csv"),
                 "--eval-users", str(users), "--models", "popularity,pipeline", "--out", str(tmp_path / "out"),
                 "--no-tune", "--cold-start-users", "0"])   # cold start: unit-tested; here it would be a second Spark build
    assert code == 0
    report = json.loads((tmp_path / "out" / "metrics.json").read_text())
    pipeline, popularity = report["models"]["pipeline"], report["models"]["popularity"]
    assert pipeline["n_users"] == popularity["n_users"] > 200
    # Seeded, so the same on every run; the margin is small at this size (0.234 vs 0.204): the ranker
    # served with the real-time features of the stream's end orders worse than its own recall merge
    # (0.46) here -- a quality problem measured and left open in docs/RESULTS.md, not asserted away.
    assert pipeline["metrics"]["ndcg@10"] > popularity["metrics"]["ndcg@10"]
    # The last section: the ranker on a time split, with and without its real-time features.
    timed = json.loads((tmp_path / "out" / "time_split.json").read_text())["metrics"]["ablation"]
    assert all(0.0 < arm["ndcg@10"] <= 1.0 and 0.0 < arm["auc"] <= 1.0 for arm in timed.values())
    assert "without real-time features (ablation)" in (tmp_path / "out" / "report.md").read_text()

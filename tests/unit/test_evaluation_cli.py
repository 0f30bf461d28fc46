"""The CLI end to end on tiny Kaggle-shaped files written inside the test."""
import json
import runpy
import sys
from pathlib import Path

import pytest

from evaluation import time_split
from evaluation.cli import main
from evaluation.models import BASELINES
from evaluation.synthetic import catalog_for, clustered_interactions

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def kaggle_files(tmp_path: Path) -> tuple[Path, Path]:
    ratings = clustered_interactions(n_users=60, seed=4)
    duplicate = ratings.iloc[[0]].assign(rating=1)  # the later row must win
    ratings_path, anime_path = tmp_path / "rating.csv", tmp_path / "anime.csv"
    ratings.pipe(lambda f: f._append(duplicate)).to_csv(ratings_path, index=False)
    anime_path.write_bytes(catalog_for(ratings).to_csv(index=False, lineterminator="\r\n").encode())
    return ratings_path, anime_path


def test_module_entry_point_writes_metrics_report_and_plots(kaggle_files, tmp_path, monkeypatch, capsys):
    ratings, anime = kaggle_files
    out = tmp_path / "report"
    # what `python -m evaluation ...` runs, without paying for a second interpreter
    monkeypatch.setattr(sys, "argv", ["evaluation", "--ratings", str(ratings), "--anime", str(anime),
                                      "--out", str(out), "--tuning-users", "40", "--no-time-split", "--models", ",".join(BASELINES)])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_module("evaluation", run_name="__main__", alter_sys=True)
    assert exit_info.value.code == 0
    payload = json.loads((out / "metrics.json").read_text())
    assert list(payload["models"]) == list(BASELINES)
    ease = payload["models"]["ease"]
    assert {"ndcg@10", "recall@20", "map@5", "hit_rate@20", "precision@5"} <= set(ease["metrics"])
    assert ease["tuning"] and ease["train_seconds"] > 0
    assert payload["models"]["biased-mf"]["rating"]["rmse"] > 0
    assert payload["dataset"]["interactions"] == len(clustered_interactions(n_users=60, seed=4))
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) >= 3 and all(p.read_bytes()[:8] == PNG_MAGIC for p in pngs)
    report = (out / "report.md").read_text()
    assert "ease" in report and "accuracy.png" in report and 'Title "' in report  # names unescaped
    assert ease["by_activity"] and "## NDCG@10 by user activity" in report
    rmse = payload["models"]["biased-mf"]["rating"]["rmse"]
    assert "## Why `biased-mf` ranks badly" in report and f"RMSE {rmse:.3f}" in report
    assert "NDCG" in capsys.readouterr().out


def test_options_select_models_cutoffs_and_users(kaggle_files, tmp_path, capsys):
    ratings, anime = kaggle_files
    users_file = tmp_path / "users.txt"
    users_file.write_text("1\n2\n3\n")
    out = tmp_path / "small"
    assert main(["--ratings", str(ratings), "--anime", str(anime), "--out", str(out), "--no-time-split", "--models",
                 "popularity,evaluation.models.item_knn:ItemKNN", "--k", "3,7", "--eval-users", str(users_file),
                 "--no-tune", "--seed", "5"]) == 0
    payload = json.loads((out / "metrics.json").read_text())
    assert list(payload["models"]) == ["popularity", "evaluation.models.item_knn:ItemKNN"]
    assert payload["dataset"]["evaluated_users"] == 3
    assert payload["config"]["ks"] == [3, 7] and payload["config"]["seed"] == 5
    assert "precision@7" in payload["models"]["popularity"]["metrics"]
    assert "popularity" in capsys.readouterr().out


def test_bad_arguments_exit_with_an_error(kaggle_files, tmp_path):
    ratings, anime = kaggle_files
    with pytest.raises(SystemExit):
        main(["--ratings", str(ratings), "--anime", str(anime), "--holdout", "1.5"])
    with pytest.raises(SystemExit, match="no user has held-out data"):
        main(["--ratings", str(ratings), "--anime", str(anime), "--out", str(tmp_path), "--min-user-items", "1000"])
    for bad in (["--models", "nope"], ["--models", "evaluation.data:Split"], ["--k", "0,5"]):
        with pytest.raises(SystemExit) as exit_info:
            main(["--ratings", str(ratings), "--anime", str(anime), "--out", str(tmp_path), *bad])
        assert exit_info.value.code == 2
    assert not (tmp_path / "metrics.json").exists()


def test_the_time_split_section_reports_every_arm_of_the_ablation():
    result = {"data": {"ratings": 1000, "users": 40, "events_replayed": 2400}, "train_seconds": 12.5,
              "metrics": {"training_users": 30, "validation_users": 10, "samples": 9000,
                          "validation_ndcg@10_recall_order": 0.41,
                          "ablation": {"with_realtime": {"auc": 0.71, "ndcg@10": 0.43},
                                       "title_realtime_only": {"auc": 0.70, "ndcg@10": 0.425},
                                       "without_realtime": {"auc": 0.69, "ndcg@10": 0.42}}}}
    table = time_split.markdown(result)
    assert "| ranker with real-time features | 0.7100 | 0.4300 |" in table
    assert "| ranker with real-time title features only (ablation) | 0.7000 | 0.4250 |" in table
    assert "| ranker without real-time features (ablation) | 0.6900 | 0.4200 |" in table
    assert "| recall merge's own order | – | 0.4100 |" in table

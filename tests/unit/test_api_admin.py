"""Admin routes: token guard, metrics from the registry and the latest evaluation."""
import json

import numpy as np
import pytest

from api.app import create_app
from infra.config import Settings
from ranking.registry import ModelRegistry


@pytest.fixture
def settings(tmp_path):
    return Settings(run_dir=tmp_path / "run", model_dir=tmp_path / "models", evaluation_dir=tmp_path / "eval",
                    admin_token="s3cret", cassandra_port=1, kafka_bootstrap_servers="127.0.0.1:1")


def test_admin_needs_the_token(settings):
    client = create_app(settings).test_client()
    assert client.get("/admin/metrics").status_code == 401
    assert client.get("/admin/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/admin/metrics", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_metrics_show_the_active_ranker_and_each_evaluated_model(settings):
    from ranking.model import build_model
    version = ModelRegistry(settings).save(build_model(3, np.ones((4, 3), dtype=np.float32)),
                                           {"metrics": {"validation_auc": 0.81}})
    settings.evaluation_dir.mkdir(parents=True)
    (settings.evaluation_dir / "metrics.json").write_text(json.dumps({
        "config": {"seed": 42}, "models": {"ease": {"metrics": {"ndcg@10": 0.49, "recall@20": 0.38}},
                                            "pipeline": {"metrics": {"ndcg@10": 0.5, "recall@20": 0.4}}}}))
    body = create_app(settings).test_client().get("/admin/metrics", headers={"Authorization": "Bearer s3cret"}).get_json()
    assert body["ranker"]["active_version"] == version
    assert body["ranker"]["metadata"]["metrics"]["validation_auc"] == 0.81
    assert body["evaluation"]["models"]["pipeline"]["ndcg@10"] == 0.5
    assert set(body["evaluation"]["models"]) == {"ease", "pipeline"}


def test_no_evaluation_yet_is_reported_as_none(settings):
    body = create_app(settings).test_client().get("/admin/metrics", headers={"Authorization": "Bearer s3cret"}).get_json()
    assert body["evaluation"] is None and body["ranker"]["active_version"] is None


def test_training_status_is_idle_before_any_run(settings):
    body = create_app(settings).test_client().get("/admin/train", headers={"Authorization": "Bearer s3cret"}).get_json()
    assert body["state"] == "idle"


@pytest.mark.parametrize("module,expected", [("this", "succeeded"), ("no_such_module_here", "failed")])
def test_a_finished_run_reports_its_outcome_and_frees_the_slot(settings, module, expected):
    import time

    from ranking.training_runs import TrainingRun, TrainingRuns

    class QuickRun(TrainingRun):
        pass
    QuickRun.module = module
    runs = TrainingRuns(settings)
    runs.run = QuickRun(settings)
    assert runs.start()["state"] == "running"
    deadline = time.monotonic() + 30
    while runs.status()["state"] == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert runs.status()["state"] == expected
    assert not runs.run.running()  # an exited child is reaped, not left as a zombie that looks alive

"""Admin routes: an admin key's guard, metrics from the registry and the latest evaluation."""
import json

import numpy as np
import pytest

from accounts import create_key
from api.app import create_app
from config import Settings
from ranking.features import FeatureSchema
from ranking.registry import ModelRegistry
from store import MemoryStore

pytestmark = pytest.mark.auth_on
STORE = MemoryStore()
AUTH = {"X-API-Key": create_key(STORE, "admin")[0]}


@pytest.fixture
def store():
    STORE._training.clear()
    return STORE


@pytest.fixture
def settings(tmp_path):
    return Settings(run_dir=tmp_path / "run", model_dir=tmp_path / "models", evaluation_dir=tmp_path / "eval",
                    security={"jwt_secret": "s" * 40}, cassandra={"port": 1},
                    kafka={"bootstrap_servers": "127.0.0.1:1"})


def test_admin_needs_an_admin_key(settings, store):
    client = create_app(settings, store).test_client()
    reader = create_key(store, "reader")[0]
    assert client.get("/admin/metrics").status_code == 401
    assert client.get("/admin/metrics", headers={"X-API-Key": "ak.0123456789abcdef." + "x" * 43}).status_code == 401
    assert client.get("/admin/metrics", headers={"X-API-Key": reader}).status_code == 403
    assert client.get("/admin/metrics", headers=AUTH).status_code == 200


def test_metrics_show_the_active_ranker_and_each_evaluated_model(settings, store):
    from ranking.model import build_model
    schema = FeatureSchema(genres=("Action",))
    version = ModelRegistry(settings).save(build_model(schema.width, np.ones((4, schema.width), dtype=np.float32)),
                                           schema, {"metrics": {"validation_auc": 0.81}})
    settings.evaluation_dir.mkdir(parents=True)
    (settings.evaluation_dir / "metrics.json").write_text(json.dumps({
        "config": {"seed": 42}, "models": {"ease": {"metrics": {"ndcg@10": 0.49, "recall@20": 0.38}},
                                            "pipeline": {"metrics": {"ndcg@10": 0.5, "recall@20": 0.4}}}}))
    body = create_app(settings, STORE).test_client().get("/admin/metrics", headers=AUTH).get_json()
    assert body["ranker"]["active_version"] == version
    assert body["ranker"]["metadata"]["metrics"]["validation_auc"] == 0.81
    assert body["evaluation"]["models"]["pipeline"]["ndcg@10"] == 0.5
    assert set(body["evaluation"]["models"]) == {"ease", "pipeline"}


def test_no_evaluation_yet_is_reported_as_none(settings):
    body = create_app(settings, STORE).test_client().get("/admin/metrics", headers=AUTH).get_json()
    assert body["evaluation"] is None and body["ranker"]["active_version"] is None


def test_training_status_is_idle_before_any_run(settings, store):
    body = create_app(settings, store).test_client().get("/admin/train", headers=AUTH).get_json()
    assert body == {"state": "idle", "runs": []}


def test_train_queues_one_run_and_refuses_a_second_while_it_waits(settings, store):
    client = create_app(settings, store).test_client()
    first = client.post("/admin/train", headers=AUTH)
    second = client.post("/admin/train", headers=AUTH)
    assert first.status_code == 202 and first.get_json()["state"] == "queued"
    assert second.status_code == 409 and second.get_json()["training"]["state"] == "queued"
    assert [r["state"] for r in store.training_runs()] == ["queued"]   # queued, not started by the API


def test_train_state_follows_the_trainer(settings, store):
    client = create_app(settings, store).test_client()
    client.post("/admin/train", headers=AUTH)
    run = store.claim_training("test-worker")
    assert client.get("/admin/train", headers=AUTH).get_json()["state"] == "running"
    store.finish_training(run["run_id"], "succeeded", "20990101T000000Z", None, ["done"])
    body = client.get("/admin/train", headers=AUTH).get_json()
    assert body["state"] == "succeeded" and body["runs"][0]["version"] == "20990101T000000Z"
    assert client.post("/admin/train", headers=AUTH).status_code == 202   # the slot is free again


def test_metrics_give_the_served_rankers_offline_figures_only_for_the_configuration_evaluated(settings, store):
    from ranking.model import build_model
    from training.train import configuration_id
    schema = FeatureSchema(genres=("Action",))
    served = configuration_id(settings)
    ModelRegistry(settings).save(build_model(schema.width, np.ones((4, schema.width), dtype=np.float32)),
                                 schema, {"configuration_id": served})
    settings.evaluation_dir.mkdir(parents=True)
    figures = {"metrics": {"ndcg@10": 0.51, "recall@20": 0.4}, "beyond_accuracy": {"coverage@10": 0.2}}

    def evaluated(configuration):
        (settings.evaluation_dir / "metrics.json").write_text(json.dumps({"models": {
            "pipeline": {"params": {"seed": 42, "ranker_configuration": configuration}, **figures},
            "ease": {"params": {"l2": 100.0}, "metrics": {"ndcg@10": 0.49}}}}))
        return create_app(settings, STORE).test_client().get("/admin/metrics", headers=AUTH).get_json()

    same = evaluated(served)["ranker"]["evaluation"]
    assert same["evaluated"] and same["model"] == "pipeline"
    assert same["metrics"]["ndcg@10"] == 0.51 and same["metrics"]["coverage@10"] == 0.2
    other = configuration_id(settings.model_copy(update={"ranker": settings.ranker.model_copy(update={"epochs": 3})}))
    assert other != served
    elsewhere = evaluated(other)["ranker"]["evaluation"]
    assert not elsewhere["evaluated"] and elsewhere["metrics"] is None
    assert elsewhere["evaluated_configurations"] == [other] and elsewhere["configuration_id"] == served

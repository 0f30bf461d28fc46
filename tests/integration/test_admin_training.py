"""POST /admin/train queues a run; the trainer role executes it and registers a version the API serves."""
from __future__ import annotations

from ranking.registry import ModelRegistry
from tests.integration.conftest import wait_for


def test_queued_training_is_run_by_the_trainer_role_and_served(api_url, http, prepared, trainer):
    registry = ModelRegistry(prepared)
    before = registry.versions()

    started = http.post(f"{api_url}/admin/train", timeout=30)
    again = http.post(f"{api_url}/admin/train", timeout=30)

    assert started.status_code == 202 and started.json()["state"] == "queued"
    assert again.status_code == 409 and again.json()["training"]["state"] in ("queued", "running")
    run_id = started.json()["run"]["run_id"]
    done = wait_for(lambda: (s := http.get(f"{api_url}/admin/train", timeout=10).json())["state"]
                    not in ("queued", "running") and s, timeout_s=900, interval_s=5)
    assert done["state"] == "succeeded", done
    assert done["runs"][0]["run_id"] == run_id and done["runs"][0]["version"]
    new = [v for v in registry.versions() if v not in before]
    assert new == [done["runs"][0]["version"]]
    # The trainer is its own role: no training process was started by the API's workers.
    assert trainer.running()
    metrics = http.get(f"{api_url}/admin/metrics", timeout=10).json()
    assert metrics["ranker"]["active_version"] == new[0]
    assert metrics["ranker"]["metadata"]["metrics"]["validation_ndcg@10_ranker"] > 0
    assert metrics["ranker"]["metadata"]["feature_schema"]["names"]

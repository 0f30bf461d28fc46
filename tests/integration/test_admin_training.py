"""POST /admin/train runs one background training at a time and registers a version the API serves."""
from __future__ import annotations

from tests.integration.conftest import wait_for


def test_background_training_registers_a_new_version(api_url, http, prepared):
    from ranking.registry import ModelRegistry
    registry = ModelRegistry(prepared)
    before = registry.versions()

    started = http.post(f"{api_url}/admin/train", timeout=30)
    again = http.post(f"{api_url}/admin/train", timeout=30)

    assert started.status_code == 202 and started.json()["state"] == "running"
    assert again.status_code == 409 and again.json()["training"]["state"] == "running"
    done = wait_for(lambda: (s := http.get(f"{api_url}/admin/train", timeout=10).json())["state"] != "running" and s,
                    timeout_s=900, interval_s=5)
    assert done["state"] == "succeeded", done
    new = [v for v in registry.versions() if v not in before]
    assert len(new) == 1
    metrics = http.get(f"{api_url}/admin/metrics", timeout=10).json()
    assert metrics["ranker"]["active_version"] == new[0]
    assert metrics["ranker"]["metadata"]["metrics"]["validation_ndcg@10_ranker"] > 0

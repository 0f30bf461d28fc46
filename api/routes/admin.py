"""Admin: queue a training run, see the runs, and see the latest metrics of every model.

``POST /admin/train`` only records a request in the store's training queue; the trainer role
executes it. Guarded by a bearer token when ``ANIMEREC_API_ADMIN_TOKEN`` is set (compared in
constant time).
"""
from __future__ import annotations

import hmac

from flask import current_app, request
from flask_openapi3 import APIBlueprint, Tag

from api.errors import ApiError
from api.models import NoQuery
from evaluation.latest import latest_evaluation

tag = Tag(name="admin", description="Training and model metrics (bearer token when ANIMEREC_API_ADMIN_TOKEN is set)")
blueprint = APIBlueprint("admin", __name__, url_prefix="/admin", abp_tags=[tag])
ACTIVE_STATES = ("queued", "running")


def _resources():
    return current_app.extensions["animerec"]


@blueprint.before_request
def _authorise():
    token = _resources().settings.api.admin_token
    if token is None:
        return None
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
        raise ApiError(401, "admin routes need 'Authorization: Bearer <ANIMEREC_API_ADMIN_TOKEN>'")
    return None


def _run_json(run: dict) -> dict:
    return {k: (str(v) if k == "run_id" else v.isoformat() if hasattr(v, "isoformat") else v)
            for k, v in run.items()}


@blueprint.post("/train", summary="Queue a training run; the trainer role executes it (one at a time)")
def post_train(query: NoQuery):
    store = _resources().store
    active = [r for r in store.training_runs(limit=10) if r["state"] in ACTIVE_STATES]
    if active:
        raise ApiError(409, f"a training run is already {active[0]['state']}", training=_run_json(active[0]))
    return {"state": "queued", "run": _run_json(store.request_training("api", {}))}, 202


@blueprint.get("/train", summary="State of the latest training run, and the recent ones")
def get_train(query: NoQuery):
    runs = [_run_json(r) for r in _resources().store.training_runs(limit=10)]
    return {"state": runs[0]["state"] if runs else "idle", "runs": runs}


@blueprint.get("/metrics", summary="Latest offline evaluation of each model, and the served ranker's own metrics")
def get_metrics(query: NoQuery):
    resources = _resources()
    models_registry = resources.models
    active = models_registry.active()
    evaluation = latest_evaluation(resources.settings)
    models = {name: {"ndcg@10": m["metrics"].get("ndcg@10"), "recall@20": m["metrics"].get("recall@20"),
                     "metrics": m["metrics"], "liked_metrics": m.get("liked_metrics"),
                     "train_seconds": m.get("train_seconds")}
              for name, m in (evaluation or {}).get("models", {}).items()}
    return {"ranker": {"active_version": active, "versions": models_registry.versions(),
                       "metadata": models_registry.metadata(active) if active else None},
            "evaluation": {"file": evaluation["file"], "written_at": evaluation["written_at"],
                           "config": evaluation.get("config"), "models": models} if evaluation else None}

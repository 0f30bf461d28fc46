"""Admin (an ``admin`` API key): queue a training run, see the runs and every model's latest metrics, manage keys.

``POST /admin/train`` only records a request in the store's training queue; the trainer role
executes it.
"""
from __future__ import annotations

from flask import current_app
from flask_openapi3 import APIBlueprint, Tag

from accounts import create_key
from api.auth import ADMIN, access, principal
from api.errors import ApiError
from api.models import KeyIn, KeyPath, NoQuery
from evaluation.latest import evaluation_plots, latest_evaluation

tag = Tag(name="admin", description="Training, model metrics and API keys (an admin key)")
blueprint = APIBlueprint("admin", __name__, url_prefix="/admin", abp_tags=[tag])
ACTIVE_STATES = ("queued", "running")


def _resources():
    return current_app.extensions["animerec"]


def _key_json(key: dict) -> dict:
    return {"key_id": key["key_id"], "role": key["role"], "name": key["name"],
            "created_at": key["created_at"].isoformat() if key["created_at"] else None,
            "revoked_at": key["revoked_at"].isoformat() if key["revoked_at"] else None}


def _run_json(run: dict) -> dict:
    return {k: (str(v) if k == "run_id" else v.isoformat() if hasattr(v, "isoformat") else v)
            for k, v in run.items()}


@blueprint.post("/train", summary="Queue a training run; the trainer role executes it (one at a time)")
@access(ADMIN)
def post_train(query: NoQuery):
    store = _resources().store
    active = [r for r in store.training_runs(limit=10) if r["state"] in ACTIVE_STATES]
    if active:
        raise ApiError(409, f"a training run is already {active[0]['state']}", training=_run_json(active[0]))
    caller = principal()
    return {"state": "queued", "run": _run_json(store.request_training(f"{caller.kind}:{caller.key_id or 'local'}",
                                                                       {}))}, 202


@blueprint.get("/train", summary="State of the latest training run, and the recent ones")
@access(ADMIN)
def get_train(query: NoQuery):
    runs = [_run_json(r) for r in _resources().store.training_runs(limit=10)]
    return {"state": runs[0]["state"] if runs else "idle", "runs": runs}


@blueprint.get("/metrics", summary="Latest offline evaluation of each model, and the served ranker's own metrics")
@access(ADMIN)
def get_metrics(query: NoQuery):
    resources = _resources()
    models_registry = resources.models
    active = models_registry.active()
    evaluation = latest_evaluation(resources.settings)
    models = {name: {"ndcg@10": m["metrics"].get("ndcg@10"), "recall@20": m["metrics"].get("recall@20"),
                     "metrics": m["metrics"], "liked_metrics": m.get("liked_metrics"),
                     "train_seconds": m.get("train_seconds")}
              for name, m in (evaluation or {}).get("models", {}).items()}
    metadata = models_registry.metadata(active) if active else None
    return {"ranker": {"active_version": active, "versions": models_registry.versions(), "metadata": metadata,
                       "evaluation": _served_ranker_evaluation(metadata, evaluation)},
            "evaluation": {"file": evaluation["file"], "written_at": evaluation["written_at"],
                           "config": evaluation.get("config"), "models": models,
                           "plots": [f"/admin/plots/{name}" for name in evaluation_plots(resources.settings)]}
            if evaluation else None}


def _served_ranker_evaluation(metadata: dict | None, evaluation: dict | None) -> dict:
    """The offline figures of the served ranker: those of the evaluated pipeline whose ranker configuration
    (training.train.configuration_id: knobs, candidate settings, feature layout) is the served version's."""
    served = (metadata or {}).get("configuration_id")
    evaluated = {m.get("params", {}).get("ranker_configuration"): (name, m)
                 for name, m in (evaluation or {}).get("models", {}).items()}
    name, model = evaluated.get(served, (None, None)) if served else (None, None)
    return {"configuration_id": served, "evaluated": model is not None, "model": name,
            "evaluated_configurations": sorted(c for c in evaluated if c),
            "metrics": {"ndcg@10": model["metrics"].get("ndcg@10"), "recall@20": model["metrics"].get("recall@20"),
                        "coverage@10": model.get("beyond_accuracy", {}).get("coverage@10"),
                        "train_seconds": model.get("train_seconds")} if model else None}


@blueprint.post("/keys", summary="Make an API key (reader, producer or admin); its secret is shown only here")
@access(ADMIN)
def post_key(body: KeyIn, query: NoQuery):
    plaintext, key = create_key(_resources().store, body.role, body.name)
    return {"api_key": plaintext, "header": "X-API-Key", **_key_json(_resources().store.api_key(key.key_id))}, 201


@blueprint.get("/keys", summary="Every API key (without secrets)")
@access(ADMIN)
def get_keys(query: NoQuery):
    return {"keys": [_key_json(k) for k in _resources().store.api_keys()]}


@blueprint.delete("/keys/<key_id>", summary="Revoke an API key (every API process stops taking it within "
                                            "security.key_cache_s)")
@access(ADMIN)
def delete_key(path: KeyPath, query: NoQuery):
    store = _resources().store
    if store.api_key(path.key_id) is None:
        raise ApiError(404, f"API key {path.key_id} not found")
    store.revoke_api_key(path.key_id)
    return _key_json(store.api_key(path.key_id))

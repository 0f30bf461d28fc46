"""Admin: start a background training run, see it, and see the latest metrics of every model.

Guarded by a bearer token when ``ANIMEREC_ADMIN_TOKEN`` is set (compared in constant time).
"""
from __future__ import annotations

import hmac

from flask import current_app, request
from flask_openapi3 import APIBlueprint, Tag

from api.errors import ApiError
from api.models import NoQuery
from ranking.registry import ModelRegistry
from ranking.training_runs import TrainingBusy, TrainingRuns, latest_evaluation

tag = Tag(name="admin", description="Training and model metrics (bearer token when ANIMEREC_ADMIN_TOKEN is set)")
blueprint = APIBlueprint("admin", __name__, url_prefix="/admin", abp_tags=[tag])


@blueprint.before_request
def _authorise():
    token = current_app.extensions["animerec"].settings.admin_token
    if token is None:
        return None
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
        raise ApiError(401, "admin routes need 'Authorization: Bearer <ANIMEREC_ADMIN_TOKEN>'")
    return None


def _runs() -> TrainingRuns:
    return TrainingRuns(current_app.extensions["animerec"].settings)


@blueprint.post("/train", summary="Start training a new ranker version in the background (one at a time)")
def post_train(query: NoQuery):
    try:
        return _runs().start(), 202
    except TrainingBusy as exc:
        raise ApiError(409, str(exc), training=_runs().status()) from exc


@blueprint.get("/train", summary="State of the current or last training run")
def get_train(query: NoQuery):
    return _runs().status()


@blueprint.get("/metrics", summary="Latest offline evaluation of each model, and the served ranker's own metrics")
def get_metrics(query: NoQuery):
    settings = current_app.extensions["animerec"].settings
    registry = ModelRegistry(settings)
    active = registry.active()
    evaluation = latest_evaluation(settings)
    models = {name: {"ndcg@10": m["metrics"].get("ndcg@10"), "recall@20": m["metrics"].get("recall@20"),
                     "metrics": m["metrics"], "liked_metrics": m.get("liked_metrics"),
                     "train_seconds": m.get("train_seconds")}
              for name, m in (evaluation or {}).get("models", {}).items()}
    return {"ranker": {"active_version": active, "versions": registry.versions(),
                       "metadata": registry.metadata(active) if active else None},
            "evaluation": {"file": evaluation["file"], "written_at": evaluation["written_at"],
                           "config": evaluation.get("config"), "models": models} if evaluation else None}

"""Experiments (admin): create, list, stop, and results per variant. How /recommends serves through them:
api/arms.py."""
from __future__ import annotations

import uuid

from flask import current_app
from flask_openapi3 import APIBlueprint, Tag

from api.auth import ADMIN, access
from api.errors import ApiError, not_found
from api.models import ExperimentPath, NoQuery
from experiments import ExperimentSpec, summarise

tag = Tag(name="experiments", description="A/B tests of whole pipelines, judged by what viewers do next")
blueprint = APIBlueprint("experiments", __name__, abp_tags=[tag])


def _resources():
    return current_app.extensions["animerec"]


def _public(experiment: dict) -> dict:
    return {**experiment, "created_at": experiment["created_at"].isoformat(),
            "stopped_at": experiment["stopped_at"].isoformat() if experiment["stopped_at"] else None}


@blueprint.post("/experiments", summary="Start an experiment: variants (pipeline settings) with traffic shares",
                responses={201: None})
@access(ADMIN)
def post_experiment(body: ExperimentSpec):
    resources = _resources()
    running = resources.running_experiment(body.surface, fresh=True)
    if running is not None:
        raise ApiError(409, f"experiment {running['experiment_id']} is already running on {body.surface}; stop it "
                            f"first (a user is in at most one experiment per surface)",
                       experiment_id=running["experiment_id"])
    experiment_id = uuid.uuid4().hex[:12]
    made = resources.store.create_experiment(experiment_id, body.name, body.surface, body.model_dump())
    resources.forget_experiments()
    return _public(made), 201


@blueprint.get("/experiments", summary="Every experiment, newest first")
@access(ADMIN)
def get_experiments(query: NoQuery):
    return {"experiments": [_public(e) for e in _resources().store.experiments()]}


@blueprint.post("/experiments/<experiment_id>/stop", summary="Stop an experiment: its users go back to the "
                                                             "default pipeline")
@access(ADMIN)
def stop_experiment(path: ExperimentPath):
    resources = _resources()
    if not resources.store.stop_experiment(path.experiment_id):
        raise not_found("experiment", path.experiment_id)
    resources.forget_experiments()
    return _public(resources.store.experiment(path.experiment_id))


@blueprint.get("/experiments/<experiment_id>/results", summary="Per-variant figures with 95 % intervals, a "
                                                              "two-proportion test of CTR against the control, and "
                                                              "a sample-ratio check")
@access(ADMIN)
def get_results(path: ExperimentPath):
    resources = _resources()
    experiment = resources.store.experiment(path.experiment_id)
    if experiment is None:
        raise not_found("experiment", path.experiment_id)
    variants = ExperimentSpec.model_validate(experiment["spec"]).variants
    return {"experiment": _public(experiment),
            **summarise(variants, resources.store.experiment_metrics(path.experiment_id), len(resources.catalog))}

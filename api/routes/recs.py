"""Recommendation routes: recall, rank, recommends, sim."""
from __future__ import annotations

from flask import current_app
from flask_openapi3 import APIBlueprint, Tag

import recall
from api.auth import PUBLIC, Access, access
from api.errors import not_found
from api.models import AnimePath, SeedTopK, TopK, UserPath

tag = Tag(name="recommendations", description="Recall candidates, ranked recommendations, similar titles")
blueprint = APIBlueprint("recs", __name__, abp_tags=[tag])
# A reader key reads anyone's; a signed-in user reads their own.
READ_USER = Access(roles=("reader",), own="user_id")


def _resources():
    return current_app.extensions["animerec"]


def _with_details(rows: list[dict]) -> list[dict]:
    catalog = _resources().catalog
    return [{**catalog.brief(r["anime_id"]), **{k: v for k, v in r.items() if k != "anime_id"}} for r in rows]


@blueprint.get("/recall/<user_id>", summary="Recall candidates for a user, merged across sources")
@access(READ_USER)
def get_recall(path: UserPath, query: TopK):
    recommender = _resources().recommender
    items = recommender.recall(recommender.context(path.user_id, query.k), query.k)
    return {"user_id": path.user_id, "items": _with_details(items)}


@blueprint.get("/rank/<user_id>", summary="Candidates ordered by the ranker")
@access(READ_USER)
def get_rank(path: UserPath, query: TopK):
    recommender = _resources().recommender
    items = recommender.rank(path.user_id, query.k)
    return {"user_id": path.user_id, "model_version": recommender.model_version, "items": _with_details(items)}


def recommendations(context, k: int) -> dict:
    """The answer of /recommends for a user's context (read once: recall, ranking and ``recent`` share it)."""
    recommender = _resources().recommender
    user_id = context.user_id
    recent = [{"anime_id": e["anime_id"], "kind": e["kind"], "ts": e["ts"].isoformat()} for e in context.recent[:10]]
    return {"user_id": user_id, "model_version": recommender.model_version, "recent": recent,
            "items": _with_details(recommender.rank(context, k))}


@blueprint.get("/recommends/<user_id>", summary="Recommendations for a user (recall + ranker)")
@access(READ_USER)
def get_recommends(path: UserPath, query: TopK):
    return recommendations(_resources().recommender.context(path.user_id, query.k), query.k)


@blueprint.get("/recommend/<user_id>", summary="Alias of /recommends with the seed's k (default 5)")
@access(READ_USER)
def get_recommend(path: UserPath, query: SeedTopK):
    return recommendations(_resources().recommender.context(path.user_id, query.k), query.k)


@blueprint.get("/sim/<anime_id>", summary="Titles similar to a title")
@access(PUBLIC)
def get_sim(path: AnimePath, query: TopK):
    catalog = _resources().catalog
    if path.anime_id not in catalog:
        raise not_found("anime", path.anime_id)
    similar = [s for s in recall.similar(_resources().lists, path.anime_id, query.k) if s["anime_id"] in catalog]
    return {"anime": catalog.brief(path.anime_id), "items": _with_details(similar)}

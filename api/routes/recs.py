"""Recommendation routes: recall, rank, recommends, sim."""
from __future__ import annotations

from flask import current_app
from flask_openapi3 import APIBlueprint, Tag

import recall
from api.arms import DEFAULT_ARM, arm_for, pipeline_of, publish_served
from api.auth import PUBLIC, Access, access
from api.errors import not_found
from api.models import AnimePath, SeedTopK, TopK, TrendingQuery, UserPath
from api.query import invalid
from config.registry import EXPERIMENT_SURFACES
from recall.popularity import ALL, GENRE_PREFIX

tag = Tag(name="recommendations", description="Recall candidates, ranked recommendations, similar titles")
blueprint = APIBlueprint("recs", __name__, abp_tags=[tag])
# A reader key reads anyone's; a signed-in user reads their own.
READ_USER = Access(roles=("reader",), own="user_id")
SURFACE = EXPERIMENT_SURFACES[0]    # /recommends, /recommend and /me/recommends: the lists experiments change


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


def recommendations(context, k: int, explained: bool = False, surface: str = SURFACE) -> dict:
    """The answer of /recommends for a user's context (read once: recall, ranking and ``recent`` share it),
    built through the user's arm of a running experiment and published as a served list (api/arms.py);
    ``explained``: each item with its readable ``reason``, and ``just_clicked``."""
    resources = _resources()
    recommender = resources.recommender
    user_id = context.user_id
    recent = [{"anime_id": e["anime_id"], "kind": e["kind"], "ts": e["ts"].isoformat()} for e in context.recent[:10]]
    experiment_id, variant = arm_for(surface, user_id)
    pipeline = pipeline_of(variant)
    items = _with_details(recommender.rank(context, k, pipeline))
    arm = variant.name if variant is not None else DEFAULT_ARM
    request_id = publish_served(surface, user_id, experiment_id, arm, [i["anime_id"] for i in items])
    answer = {"user_id": user_id, "model_version": recommender.model_version if pipeline.ranker else None,
              "request_id": request_id, "experiment": {"id": experiment_id, "variant": arm},
              "recent": recent, "items": items}
    if explained:
        catalog = resources.catalog
        answer["items"] = recall.explain(items, context, resources.lists,
                                         lambda a: catalog.brief(a)["name"] if a in catalog else None)
        answer["just_clicked"] = just_clicked(context, k)
    return answer


def just_clicked(context, k: int) -> dict | None:
    """The user's latest click or view as the stream recorded it, with titles similar to it (None: none)."""
    catalog = _resources().catalog
    latest = next((e for e in context.recent if e["kind"] in ("click", "view") and e["anime_id"] in catalog), None)
    if latest is None:
        return None
    seen = {int(r["anime_id"]) for r in context.ratings}
    similar = [s for s in recall.similar(_resources().lists, latest["anime_id"], 2 * k)
               if s["anime_id"] in catalog and s["anime_id"] not in seen][:k]
    return {"anime": catalog.brief(latest["anime_id"]), "kind": latest["kind"], "at": latest["ts"].isoformat(),
            "items": _with_details(similar)}


@blueprint.get("/recommends/<user_id>", summary="Recommendations for a user (recall + ranker)")
@access(READ_USER)
def get_recommends(path: UserPath, query: TopK):
    return recommendations(_resources().recommender.context(path.user_id, query.k), query.k)


@blueprint.get("/recommend/<user_id>", summary="Alias of /recommends with the seed's k (default 5)")
@access(READ_USER)
def get_recommend(path: UserPath, query: SeedTopK):
    return recommendations(_resources().recommender.context(path.user_id, query.k), query.k)


@blueprint.get("/trending", summary="Titles popular right now (watches blended with the last hours' events), "
                                   "overall or in one genre")
@access(PUBLIC)
def get_trending(query: TrendingQuery):
    catalog = _resources().catalog
    if query.genre is not None and query.genre not in catalog.genres:
        raise invalid("genre", f"unknown genre {query.genre!r}; GET /genres lists them")
    segment = ALL if query.genre is None else GENRE_PREFIX + query.genre
    ids = [a for a in _resources().lists.popular(query.k + 20, segment=segment) if a in catalog][:query.k]
    return {"genre": query.genre, "items": [catalog.brief(a) for a in ids]}


@blueprint.get("/sim/<anime_id>", summary="Titles similar to a title")
@access(PUBLIC)
def get_sim(path: AnimePath, query: TopK):
    catalog = _resources().catalog
    if path.anime_id not in catalog:
        raise not_found("anime", path.anime_id)
    similar = [s for s in recall.similar(_resources().lists, path.anime_id, query.k) if s["anime_id"] in catalog]
    return {"anime": catalog.brief(path.anime_id), "items": _with_details(similar)}

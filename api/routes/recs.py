"""Recommendation routes: recall, rank, recommends, sim."""
from __future__ import annotations

import dataclasses

import orjson
from flask import Response, current_app, request
from flask_openapi3 import APIBlueprint, Tag

import recall
from api.answers import Answer
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


def _cache_wanted() -> tuple[bool, bool]:
    """(may answer from kept answers, may keep this one): ``Cache-Control: no-cache`` computes afresh, ``no-store``
    keeps nothing (the serving benchmark's cold path)."""
    asked = request.headers.get("Cache-Control", "").lower()
    return "no-cache" not in asked, "no-store" not in asked


def answer(route: str, user_id: int, k: int, compute, arm: tuple = (), shape: tuple = (),
           surface: str | None = None) -> Response:
    """A user's answer on ``route``: kept (api/answers.py) under the versions it was computed with, or computed by
    ``compute(context) -> (JSON object, served titles)`` from the user's context read once. ``arm`` (experiment,
    variant) and ``shape`` (whatever else the answer depends on) complete its key. With ``surface``, the served
    list is handed to Kafka for the experiments, kept answer or not (``request_id`` names it)."""
    resources = _resources()
    recommender, cache = resources.recommender, resources.answers
    versions, key = recommender.versions(), (route, k, arm, shape)
    read, keep = _cache_wanted()
    kept = cache.get(user_id, key, versions) if read else None
    hit = kept is not None
    if kept is None:
        started = cache.begin()
        context = recommender.context(user_id, k)
        body, items = compute(context)
        reflected = [e["event_id"] for e in context.recent]
        body = orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)
        kept = (cache.put(user_id, key, versions, body, items, started, reflected) if keep
                else Answer(body, tuple(items), versions, started[1], started[0]))
    head = b"{"
    if surface is not None:
        head = b'{"request_id":"%s",' % publish_served(surface, user_id, *arm, list(kept.items)).encode()
    response = Response(head + kept.body[1:], mimetype="application/json")
    response.headers["X-Computed-At"] = f"{kept.computed_at:.3f}"     # epoch seconds: when its reads began
    response.headers["X-Cache"] = "hit" if hit else "miss"
    return response


@blueprint.get("/recall/<user_id>", summary="Recall candidates for a user, merged across sources")
@access(READ_USER)
def get_recall(path: UserPath, query: TopK):
    recommender = _resources().recommender

    def compute(context):
        items = _with_details(recommender.recall(context, query.k))
        return {"user_id": path.user_id, "items": items}, [i["anime_id"] for i in items]
    return answer("recall", path.user_id, query.k, compute)


@blueprint.get("/rank/<user_id>", summary="Candidates ordered by the ranker")
@access(READ_USER)
def get_rank(path: UserPath, query: TopK):
    recommender = _resources().recommender

    def compute(context):
        items = _with_details(recommender.rank(context, query.k))
        return ({"user_id": path.user_id, "model_version": recommender.model_version, "items": items},
                [i["anime_id"] for i in items])
    return answer("rank", path.user_id, query.k, compute)


def recommendations(user_id: int, k: int, explained: bool = False, genres: tuple[str, ...] | None = None,
                    surface: str = SURFACE) -> Response:
    """The answer of /recommends for a user, built through the user's arm of a running experiment and published
    as a served list (api/arms.py); ``explained``: each item with its readable ``reason``, and ``just_clicked``;
    ``genres``: the favourite genres their account names (None: the profile's)."""
    experiment_id, variant = arm_for(surface, user_id)
    pipeline = pipeline_of(variant)
    arm = (experiment_id, variant.name if variant is not None else DEFAULT_ARM)

    def compute(context):
        if genres is not None:
            context = dataclasses.replace(context, genres=genres)
        return recommended(context, k, pipeline, arm, explained)
    return answer("recommends", user_id, k, compute, arm=arm, shape=(explained, genres), surface=surface)


def recommended(context, k: int, pipeline, arm: tuple[str, str], explained: bool) -> tuple[dict, list[int]]:
    """/recommends' JSON object (without its request id) for a user's context, built by ``pipeline`` in experiment
    ``arm``, and the titles it serves."""
    resources = _resources()
    recommender = resources.recommender
    recent = [{"anime_id": e["anime_id"], "kind": e["kind"], "ts": e["ts"].isoformat()} for e in context.recent[:10]]
    items = _with_details(recommender.rank(context, k, pipeline))
    body = {"user_id": context.user_id, "model_version": recommender.model_version if pipeline.ranker else None,
              "experiment": {"id": arm[0], "variant": arm[1]},
              "recent": recent, "items": items}
    if explained:
        catalog = resources.catalog
        body["items"] = recall.explain(items, context, resources.lists,
                                         lambda a: catalog.brief(a)["name"] if a in catalog else None)
        body["just_clicked"] = just_clicked(context, k)
    return body, [i["anime_id"] for i in items]


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
    return recommendations(path.user_id, query.k)


@blueprint.get("/recommend/<user_id>", summary="Alias of /recommends with the seed's k (default 5)")
@access(READ_USER)
def get_recommend(path: UserPath, query: SeedTopK):
    return recommendations(path.user_id, query.k)


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

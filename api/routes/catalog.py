"""Catalog routes: query the catalog, one title's details, one user's ratings."""
from __future__ import annotations

from flask import current_app, request
from flask_openapi3 import APIBlueprint, Tag

from api.auth import PUBLIC, Access, access
from api.errors import not_found
from api.models import AnimePath, AnimeQuery, NoQuery, UserRatingsQuery
from api.query import AnimeFilter, filter_user_ratings, index_of, invalid, page_links, reject_repeated

tag = Tag(name="catalog", description="The anime catalog and users' ratings")
blueprint = APIBlueprint("catalog", __name__, abp_tags=[tag])

ANIME_EXAMPLES = (
    "/anime?mt_episodes=200&lt_episodes=300&mt_rating=7&mt_members=1000&genre=Drama",
    "/anime?genre=Action&genre=Comedy&type=TV&sort=-rating&limit=10",
    "/anime?q=bebop",
    "/anime?type=Movie&mt_rating=8.5&sort=-members&page=2",
)
USER_EXAMPLES = ("/user?user_id=567", "/user?user_id=567&mt_rating=5&lt_rating=7", "/user?user_id=567&mt_rating=8")


def _resources():
    return current_app.extensions["animerec"]


def _describe(model, examples, **more) -> dict:
    return {"description": (model.__doc__ or "").strip(),
            "parameters": {name: info.description for name, info in model.model_fields.items()},
            "examples": list(examples), **more}


@blueprint.get("/anime", summary="Query the catalog: filters, sort and pages; "
                                 "no parameter at all also describes the filters")
@access(PUBLIC)
def list_anime(query: AnimeQuery):
    """Strict bounds ``mt_*`` (more than) / ``lt_*`` (less than) on episodes, rating and members;
    ``genre`` (repeatable, all must match), ``type``, ``q`` (name contains). Unknown values of a
    bounded field never match. Answers the total, this page's titles and the next page's link."""
    reject_repeated(request.args, AnimeQuery)
    index = index_of(_resources().catalog)
    filters = AnimeFilter(mt_episodes=query.mt_episodes, lt_episodes=query.lt_episodes,
                          mt_rating=query.mt_rating, lt_rating=query.lt_rating,
                          mt_members=query.mt_members, lt_members=query.lt_members,
                          genres=tuple(query.genre), type=query.type, q=query.q)
    result = index.query(filters, sort=query.sort, page=query.page, limit=query.limit)
    body = {}
    if not request.args:
        body["about"] = _describe(AnimeQuery, ANIME_EXAMPLES, genres=list(index.genres), types=list(index.types))
    body.update({"total": result.total, "page": result.page, "limit": result.limit, "pages": result.pages,
                 "sort": query.sort, **page_links(request.path, request.args, result.page, result.pages),
                 "items": result.items})
    return body


@blueprint.get("/genres", summary="Every genre of the catalog, sorted")
@access(PUBLIC)
def get_genres(query: NoQuery):
    return {"genres": list(_resources().catalog.genres)}


@blueprint.get("/anime/<anime_id>", summary="Full details of one title, with its rating count and mean")
@access(PUBLIC)
def get_anime(path: AnimePath, query: NoQuery):
    """The stored row (synopsis included) and the title's rating statistics.

    ``rating_count`` (ratings, -1 included), ``scored_count`` (1..10 only) and
    ``mean_user_score`` come from the ``anime_rating_stats`` table, which the batch job fills;
    until it has run for a title they are ``null`` and ``rating_stats`` is ``"pending"``. Each API worker
    answers a title from its cache for up to ``api.details_ttl_s`` (60 s): statistics the batch job has just
    rewritten show within that.
    """
    details = _resources().title_details(path.anime_id, _read_details)
    if details is None:
        raise not_found("anime", path.anime_id)
    return details


def _read_details(anime_id: int) -> dict | None:
    store = _resources().store
    anime = store.get_anime(anime_id)
    if anime is None:
        return None
    if anime.get("rating") is not None:
        anime["rating"] = round(anime["rating"], 2)  # stored as float32
    stats = store.anime_rating_stats(anime_id)
    if stats is None:
        return {**anime, "rating_count": None, "scored_count": None, "mean_user_score": None,
                "rating_stats": "pending"}
    mean = stats.get("mean_score")
    return {**anime, "rating_count": stats.get("ratings"), "scored_count": stats.get("scored"),
            "mean_user_score": None if mean is None else round(mean, 3), "rating_stats": "batch"}


@blueprint.get("/user", summary="One user's ratings, optionally within rating bounds; "
                                "no parameter at all describes the parameters")
@access(Access(roles=("reader",), own="user_id"))
def get_user_ratings(query: UserRatingsQuery):
    """The user's ratings strictly between ``mt_rating`` and ``lt_rating``, best first, with the
    titles' names. -1 (watched, no score) is listed only when no bound is given. 404 when the
    user has no rating at all."""
    reject_repeated(request.args, UserRatingsQuery)
    if not request.args:
        return {"about": _describe(UserRatingsQuery, USER_EXAMPLES)}
    if query.user_id is None:
        raise invalid("user_id", "user_id is required (call /user without parameters for a description)")
    resources = _resources()
    rows = resources.store.user_ratings(query.user_id)
    if not rows:
        raise not_found("user", query.user_id)
    kept = filter_user_ratings(rows, query.mt_rating, query.lt_rating)
    index = index_of(resources.catalog)
    start = (query.page - 1) * query.limit
    items = []
    for r in kept[start:start + query.limit]:
        title = index.item(r["anime_id"]) or {}
        items.append({"anime_id": r["anime_id"], "name": title.get("name"), "type": title.get("type"),
                      "genres": title.get("genres"), "rating": r["rating"]})
    pages = -(-len(kept) // query.limit)
    return {"user_id": query.user_id, "ratings": len(rows), "total": len(kept), "page": query.page,
            "limit": query.limit, "pages": pages, **page_links(request.path, request.args, query.page, pages),
            "items": items}

"""GET /search: titles found by their words (names with typos, genres, synopses) and by meaning (sentence
embeddings), each saying what matched."""
from __future__ import annotations

from flask import current_app
from flask_openapi3 import APIBlueprint, Tag

from api.auth import PUBLIC, access
from api.errors import ApiError
from api.models import SearchQuery
from search import SemanticUnavailable

SEMANTIC_RETRY_AFTER_S = 60

tag = Tag(name="search", description="Find titles by name, genre or the words of their synopsis")
blueprint = APIBlueprint("search", __name__, abp_tags=[tag])


@blueprint.get("/search", summary="Titles matching a query, best first, each with what it matched "
                                  "(name, genre, synopsis, meaning)")
@access(PUBLIC)
def get_search(query: SearchQuery):
    resources = current_app.extensions["animerec"]
    catalog = resources.catalog
    try:
        found = resources.searcher().search(query.q, query.k + 10, query.mode)
    except SemanticUnavailable as exc:
        raise ApiError(503, str(exc), retry_after_s=SEMANTIC_RETRY_AFTER_S, dependency="embeddings") from None
    hits = [h for h in found.hits if h["anime_id"] in catalog]
    answer = {"query": query.q, "mode": query.mode,
              "items": [{**catalog.brief(h["anime_id"]), "score": h["score"], "matched": h["matched"]}
                        for h in hits[:query.k]]}
    if found.note:
        answer["note"] = found.note
    return answer

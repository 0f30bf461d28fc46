"""GET /search: titles found by their words (names with typos, genres, synopses), each saying what matched."""
from __future__ import annotations

from flask import current_app
from flask_openapi3 import APIBlueprint, Tag

from api.auth import PUBLIC, access
from api.models import SearchQuery

tag = Tag(name="search", description="Find titles by name, genre or the words of their synopsis")
blueprint = APIBlueprint("search", __name__, abp_tags=[tag])


@blueprint.get("/search", summary="Titles matching a query, best first, each with the fields it matched "
                                  "(name, genre, synopsis)")
@access(PUBLIC)
def get_search(query: SearchQuery):
    resources = current_app.extensions["animerec"]
    catalog = resources.catalog
    hits = [h for h in resources.keyword_index().search(query.q, query.k + 10) if h["anime_id"] in catalog]
    return {"query": query.q, "mode": query.mode,
            "items": [{**catalog.brief(h["anime_id"]), "score": h["score"], "matched": h["matched"]}
                      for h in hits[:query.k]]}

"""Catalog routes."""
from __future__ import annotations

from flask import current_app
from flask_openapi3 import APIBlueprint, Tag

from api.errors import not_found
from api.models import AnimePath

tag = Tag(name="catalog", description="The anime catalog")
blueprint = APIBlueprint("catalog", __name__, abp_tags=[tag])


@blueprint.get("/anime/<anime_id>", summary="Full details of one title, with its rating count and mean")
def get_anime(path: AnimePath):
    resources = current_app.extensions["animerec"]
    anime = resources.store.get_anime(path.anime_id)
    if anime is None:
        raise not_found("anime", path.anime_id)
    stats = resources.store.anime_rating_stats(path.anime_id) or {}
    return {**anime, "rating_count": stats.get("ratings", 0), "scored_count": stats.get("scored", 0),
            "mean_user_score": stats.get("mean_score")}

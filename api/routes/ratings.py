"""POST /ratings and DELETE /ratings/<user_id>/<anime_id>: ratings travel as 'rating' events.

A rating is not written to Cassandra by the API: it goes onto the ``ratings`` Kafka topic like
a click, so the real-time features see it, and the streaming job applies it to
``ratings_by_user`` (an upsert; a rating of ``None`` deletes the row). The answer is 202 once
Kafka has acknowledged the event (503 when it cannot take it); the row follows within seconds.

A delete is not checked against the stored ratings: events are keyed by user id, so a user's
events stay in order, and a DELETE sent right after a POST (whose rating is not stored yet)
must still remove it. Deleting a rating that does not exist is a no-op of the streaming job.
"""
from __future__ import annotations

from flask import current_app
from flask_openapi3 import APIBlueprint, Tag

from api.auth import Access, access, limited, require_own
from api.errors import not_found
from api.models import NoQuery, RatingIn, RatingPath
from api.routes.events import publish
from ingest.events import EventIn

tag = Tag(name="ratings", description="Users' ratings; each goes onto Kafka and the streaming job stores it")
blueprint = APIBlueprint("ratings", __name__, abp_tags=[tag])


def _require_anime(anime_id: int) -> None:
    if anime_id not in current_app.extensions["animerec"].catalog:
        raise not_found("anime", anime_id)


@blueprint.post("/ratings", summary="Rate a title (1..10, or -1 for watched without a score)")
@access(Access(roles=("producer",), own="body"))
@limited("write")
def post_rating(body: RatingIn, query: NoQuery):
    require_own([body.user_id])
    return rate(body, body.rating)


def rate(event: EventIn, rating: int | None):
    """Publish ``event``'s user's rating of its title (None removes it): the answer and its status (202, or 503)."""
    _require_anime(event.anime_id)
    answer, status = publish("rating", event, rating=rating)
    return {**answer, "user_id": event.user_id, "anime_id": event.anime_id, "rating": rating}, status


@blueprint.delete("/ratings/<user_id>/<anime_id>", summary="Remove a user's rating of a title")
@access(Access(roles=("producer",), own="user_id"))
@limited("write")
def delete_rating(path: RatingPath, query: NoQuery):
    return rate(EventIn(user_id=path.user_id, anime_id=path.anime_id), None)

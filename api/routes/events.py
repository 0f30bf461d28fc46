"""POST /clicks and /views: validate, publish to Kafka, answer only once Kafka acknowledged."""
from __future__ import annotations

from flask import current_app
from flask_openapi3 import APIBlueprint, Tag

from api.errors import ApiError
from ingest.events import Event, EventIn
from ingest.producer import EventBusUnavailable
from store.errors import StoreUnavailable

tag = Tag(name="events", description="User events; each goes onto Kafka and on to the streaming job")
blueprint = APIBlueprint("events", __name__, abp_tags=[tag])


def _genres(resources, anime_id: int) -> list[str]:
    """The title's genres for the event (genre affinity); an event is still taken while Cassandra is down."""
    try:
        return resources.catalog.genres_of(anime_id)
    except StoreUnavailable:
        return []


def publish(kind: str, body: EventIn, rating: int | None = None):
    resources = current_app.extensions["animerec"]
    event = Event.from_request(kind, body, rating=rating, genres=_genres(resources, body.anime_id))
    try:
        receipt = resources.producer.publish(event)
    except EventBusUnavailable as exc:
        raise ApiError(503, "event bus unavailable; the event was not recorded", reason=str(exc)) from exc
    return {"status": "accepted", "event_id": event.event_id, "kind": kind, "timestamp": event.timestamp,
            **receipt}, 202


@blueprint.post("/clicks", summary="Record a click")
def post_click(body: EventIn):
    return publish("click", body)


@blueprint.post("/views", summary="Record a view (an impression)")
def post_view(body: EventIn):
    return publish("view", body)
